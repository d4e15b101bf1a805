"""Content-Type by our own extension map (never sniffed), shared by serve and publish."""

from __future__ import annotations

from pathlib import PurePosixPath

TEXT_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".json": "application/json",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".opml": "text/x-opml",
    ".atom": "application/atom+xml",
    ".rss": "application/rss+xml",
}
BINARY_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
DEFAULT_TYPE = "application/octet-stream"


def content_type(path: str) -> str:
    """Return the Content-Type for a published path, with charset=utf-8 for text."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in TEXT_TYPES:
        return f"{TEXT_TYPES[suffix]}; charset=utf-8"
    return BINARY_TYPES.get(suffix, DEFAULT_TYPE)

"""Content-Type by our own extension map (never sniffed) and Cache-Control by path class."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from ..config import CacheRules

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

HASHED_ASSET = re.compile(r"(?:^|/)assets/(?:.+/)?[^/]+-[0-9a-f]{8}\.[A-Za-z0-9]+$")
DATA_SUFFIXES = {".json", ".xml", ".txt", ".opml", ".webmanifest", ".atom", ".rss"}
COMPRESSIBLE = {".html", ".css", ".js", ".json", ".xml", ".txt", ".svg", ".opml",
                ".webmanifest", ".atom", ".rss"}


def path_class(path: str) -> str:
    """Return the path's class: 'assets' (hashed, immutable), 'html', 'data' or 'other'."""
    if HASHED_ASSET.search(path):
        return "assets"
    suffix = PurePosixPath(path).suffix.lower()
    if suffix == ".html":
        return "html"
    if suffix in DATA_SUFFIXES:
        return "data"
    return "other"


def cache_control(path: str, rules: CacheRules) -> str:
    """Return the Cache-Control header for a published path."""
    return getattr(rules, path_class(path))


def compressible(path: str) -> bool:
    """True for text types worth storing gzip-compressed."""
    return PurePosixPath(path).suffix.lower() in COMPRESSIBLE

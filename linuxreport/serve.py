"""A local preview server for a built report, sending the Content-Types the bucket will."""

from __future__ import annotations

import functools
import logging
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .output import MANIFEST_PATH
from .publish.headers import content_type

log = logging.getLogger(__name__)


class PreviewHandler(SimpleHTTPRequestHandler):
    """Static files from one report dir; dir/ serves dir/index.html; misses get 404.html."""

    def guess_type(self, path) -> str:
        return content_type(str(path))

    def send_head(self):
        if self.path.split("?", 1)[0].startswith("/" + MANIFEST_PATH.split("/")[0]):
            return self._not_found()
        local = Path(self.translate_path(self.path))
        if not local.exists():
            return self._not_found()
        return super().send_head()

    def _not_found(self):
        page = Path(self.directory) / "404.html"
        if not page.is_file():
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        body = page.read_bytes()
        self.send_response(HTTPStatus.NOT_FOUND)
        self.send_header("Content-Type", content_type("404.html"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return None

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:
        log.info("%s %s", self.address_string(), format % args)


def make_server(directory: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """Return a preview server for directory (not yet serving)."""
    handler = functools.partial(PreviewHandler, directory=str(directory))
    return _Server((host, port), handler)


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

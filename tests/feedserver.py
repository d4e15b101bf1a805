"""A real HTTP feed server on 127.0.0.1 for tests: ETag/Last-Modified/304, errors, delays."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What the server answers for one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    gzip: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    # Answer these statuses first, one per request, before the normal answer.
    fail_first: list[int] = field(default_factory=list)
    # Take over the connection instead (trickle, endless body, silence): raw(handler).
    raw: Callable[[BaseHTTPRequestHandler], None] | None = None


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    status: int


class FeedServer:
    """Serves Routes by path and records every request it answered."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[Hit] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def url(self, path: str) -> str:
        return self.base + path

    def statuses(self, path: str) -> list[int]:
        return [hit.status for hit in self.log if hit.path == path]

    def start(self) -> FeedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        route = self.routes.get(handler.path)
        if route and route.raw:
            self.log.append(Hit(handler.path, dict(handler.headers.items()), 200))
            try:
                route.raw(handler)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with self._lock:
                    self.active -= 1
            return
        try:
            status, body, headers = self._answer(handler)
            # Log before answering, so a test that got the response also sees the hit.
            self.log.append(Hit(handler.path, dict(handler.headers.items()), status))
            self._send(handler, status, body, headers)
        finally:
            with self._lock:
                self.active -= 1

    def _answer(self, handler: BaseHTTPRequestHandler) -> tuple[int, bytes, dict[str, str]]:
        route = self.routes.get(handler.path)
        if route is None:
            return 404, b"not found", {"Content-Type": "text/plain"}
        if route.delay:
            time.sleep(route.delay)
        if route.fail_first:
            return route.fail_first.pop(0), b"try later", {"Content-Type": "text/plain"}
        headers = {"Content-Type": route.content_type, **route.headers}
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if route.status == 200 and self._not_modified(handler, route):
            return 304, b"", {k: v for k, v in headers.items() if k in ("ETag", "Last-Modified")}
        body = route.body
        if route.gzip:
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        return route.status, body, headers

    @staticmethod
    def _not_modified(handler: BaseHTTPRequestHandler, route: Route) -> bool:
        inm = handler.headers.get("If-None-Match")
        ims = handler.headers.get("If-Modified-Since")
        if route.etag and inm:
            return inm == route.etag
        return bool(route.last_modified and ims == route.last_modified)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes,
              headers: dict[str, str]) -> None:
        try:
            handler.send_response(status)
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if body:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def rss(title: str, items: list[tuple[str, str, str]], link: str = "https://example.org/") -> bytes:
    """Return an RSS 2.0 document; items are (title, link, RFC 822 date)."""
    parts = [f"<item><title>{t}</title><link>{u}</link><guid>{u}</guid><pubDate>{d}</pubDate>"
             f"<description>About {t}</description></item>" for t, u, d in items]
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{title}</title><link>{link}</link><description>{title}</description>"
            f"{''.join(parts)}</channel></rss>").encode()


# Raw behaviours, each bounded in time so a test can never hang on them.

def trickle(handler: BaseHTTPRequestHandler, seconds: int = 30) -> None:
    """Send headers, then one byte of a feed per second."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    for byte in (b"<?xml version='1.0'?><rss version='2.0'><channel>" * 10)[:seconds]:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(1)


def endless(handler: BaseHTTPRequestHandler, limit: int = 200_000_000) -> None:
    """Send a feed whose body never ends (until the client hangs up or 200 MB)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.end_headers()
    handler.close_connection = True
    handler.wfile.write(b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</title>")
    chunk = b"<item><title>more</title><link>https://example.org/more</link></item>" * 1000
    sent = 0
    while sent < limit:
        handler.wfile.write(chunk)
        sent += len(chunk)


def silence(handler: BaseHTTPRequestHandler, seconds: float = 30) -> None:
    """Accept the request and never answer."""
    time.sleep(seconds)
    handler.close_connection = True


def gzip_bomb(inflated: int = 500_000_000) -> bytes:
    """Return a small gzip body that inflates to `inflated` bytes of zeros."""
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * 1_000_000
    parts = [compressor.compress(block) for _ in range(inflated // len(block))]
    return b"".join(parts) + compressor.flush()

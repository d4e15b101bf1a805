"""A synthetic feed server for the benchmark: many feeds on 127.0.0.1, 100 ms per response.

Feed ``/feed/<n>.xml`` is RSS 2.0 for three in five feeds and Atom 1.0 for the others,
with 30 entries and about 35 KB of XML. Every response (200 or 304) is held back by the
latency before it is sent, as a far-away server would. Validators are sent (ETag and
Last-Modified) and honoured with a 304, unless honouring is switched off: then the same
body, with the same validators, is sent again every time.

Control endpoints answer at once (no latency):

* ``/_admin/prepare?start=S&count=N``  generate the bodies of feeds S..S+N-1 now, outside
  a timing
* ``/_admin/validators?on=0|1``  honour validators or always resend the body
* ``/_admin/bump?start=S&count=N&every=10&offset=0``  give every 10th of those feeds 5 new
  entries
* ``/_admin/reset?start=S&count=N``  those feeds (all without count) back to their first
  version; counters to zero
* ``/_admin/stats``  requests answered, by status, bytes, and the server's CPU seconds

Feeds are spread round-robin over 64 loopback addresses (127.0.2.1 to 127.0.2.64, all on one
port), so the per-host limit of the fetcher acts as it would with distinct servers.
Run: ``python bench/feeds.py`` prints ``READY <port>`` once it listens.
Standard library only; one asyncio process, HTTP/1.1 keep-alive.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import socket
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

ENTRIES = 30
NEW_PER_BUMP = 5
TARGET_BYTES = 35_000
WORDS = ("kernel release driver patch scheduler memory filesystem network security update "
         "desktop wayland compositor graphics vulkan compiler toolchain rust python package "
         "distribution debian fedora arch gentoo server cloud container storage btrfs ext4 "
         "performance benchmark latency throughput developer community maintainer review "
         "merge window stable longterm regression fix feature support hardware laptop arm "
         "risc open source license foundation conference announcement interview analysis "
         "tutorial guide project version milestone roadmap energy battery audio pipewire").split()
# When the feeds' stories happened: a fixed point two days before the server started.
BASE_TIME = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)


def _paragraphs(count: int = 97) -> list[str]:
    """A pool of HTML paragraphs (like real descriptions: links, emphasis, entities)."""
    rng = random.Random(6)
    pool = []
    for n in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(58, 72))]
        words[5] = f'<a href="https://example.org/ref/{n}">{words[5]}</a>'
        words[12] = f"<em>{words[12]}</em>"
        words[20] = words[20] + " &amp;"
        text = " ".join(words)
        pool.append(f"<p>{text[:1].upper()}{text[1:]}.</p>")
    return pool


def _titles(count: int = 1009) -> list[str]:
    rng = random.Random(7)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 11))).capitalize()
            for _ in range(count)]


PARAGRAPHS = _paragraphs()
ESCAPED = [escape(p) for p in PARAGRAPHS]
TITLES = _titles()
SLUGS = ["-".join(t.split()[:3]).lower() for t in TITLES]


def is_atom(n: int) -> bool:
    """Two feeds in five are Atom, the others RSS 2.0."""
    return n % 5 in (3, 4)


def _entry_values(n: int, k: int) -> tuple[str, str, str, datetime]:
    """Title, link, escaped HTML summary and date of entry k of feed n (deterministic)."""
    t = (n * 7919 + k * 104_729) % len(TITLES)
    title = f"{TITLES[t]} ({n}.{k})"
    link = f"https://site{n}.example.org/news/{k}-{SLUGS[t]}"
    return title, link, ESCAPED[(n * 31 + k) % len(ESCAPED)], BASE_TIME + timedelta(
        minutes=20 * k + n % 17)


def render(n: int, version: int) -> tuple[bytes, datetime]:
    """Return feed n at this version (its 30 newest entries) and its newest entry's date."""
    first = version * NEW_PER_BUMP
    ks = range(first + ENTRIES - 1, first - 1, -1)  # newest first
    entries = [_entry_values(n, k) for k in ks]
    newest = entries[0][3]
    site = f"https://site{n}.example.org/"
    parts: list[str] = []
    if is_atom(n):
        parts.append('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/'
                     f'Atom">\n<title>Synthetic source {n}</title>\n<subtitle>Benchmark feed '
                     f'{n}</subtitle>\n<link href="{site}"/>\n<link rel="self" href="{site}'
                     f'atom.xml"/>\n<id>tag:site{n}.example.org,2024:feed</id>\n<updated>'
                     f"{newest.isoformat()}</updated>\n")
        for title, link, html, when in entries:
            stamp = when.isoformat()
            parts.append(f"<entry>\n <title>{escape(title)}</title>\n <link href=\"{link}\"/>\n"
                         f" <id>{link}</id>\n <published>{stamp}</published>\n <updated>"
                         f"{stamp}</updated>\n <author><name>Author {n % 13}</name></author>\n"
                         f" <summary type=\"html\">{html}</summary>\n</entry>\n")
        parts.append("</feed>\n")
    else:
        parts.append('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:dc="'
                     'http://purl.org/dc/elements/1.1/">\n<channel>\n<title>Synthetic source '
                     f"{n}</title>\n<link>{site}</link>\n<description>Benchmark feed {n}"
                     f"</description>\n<language>en</language>\n<lastBuildDate>"
                     f"{format_datetime(newest)}</lastBuildDate>\n")
        for title, link, html, when in entries:
            parts.append(f"<item>\n <title>{escape(title)}</title>\n <link>{link}</link>\n"
                         f" <guid isPermaLink=\"true\">{link}</guid>\n <pubDate>"
                         f"{format_datetime(when)}</pubDate>\n <dc:creator>Author {n % 13}"
                         f"</dc:creator>\n <category>{WORDS[(n + 3) % len(WORDS)]}</category>\n"
                         f" <description>{html}</description>\n</item>\n")
        parts.append("</channel>\n</rss>\n")
    body = "".join(parts)
    # Pad to about TARGET_BYTES with a comment (real feeds carry stylesheets, ads, and
    # such), so every feed weighs about the same.
    if len(body) < TARGET_BYTES - 20:
        body = body.replace("\n", f"\n<!-- {'x' * (TARGET_BYTES - len(body) - 10)} -->\n", 1)
    return body.encode(), newest


class Feeds:
    """The feeds' versions, their bodies (generated once per version) and the counters."""

    def __init__(self, latency: float):
        self.latency = latency
        self.validators = True
        self.versions: dict[int, int] = {}
        self.cache: dict[tuple[int, int], tuple[bytes, str, str]] = {}
        self.reset_counters()

    def reset_counters(self) -> None:
        self.counts = {"requests": 0, "200": 0, "304": 0, "404": 0, "bytes": 0, "open": 0,
                       "max_open": 0}

    def get(self, n: int) -> tuple[bytes, str, str]:
        version = self.versions.get(n, 0)
        key = (n, version)
        if key not in self.cache:
            body, newest = render(n, version)
            etag = '"' + hashlib.md5(body).hexdigest()[:16] + '"'
            self.cache[key] = (body, etag, format_datetime(newest, usegmt=True))
        return self.cache[key]

    def admin(self, path: str, query: dict[str, list[str]]) -> dict:
        arg = {k: v[0] for k, v in query.items()}
        start, count = int(arg.get("start", "0")), int(arg.get("count", "0"))
        if path == "/_admin/prepare":
            for n in range(start, start + count):
                self.get(n)
        elif path == "/_admin/validators":
            self.validators = arg.get("on", "1") == "1"
        elif path == "/_admin/bump":
            every, offset = int(arg.get("every", "10")), int(arg.get("offset", "0"))
            bumped = 0
            for n in range(start + offset, start + count, every):
                self.versions[n] = self.versions.get(n, 0) + 1
                self.get(n)
                bumped += 1
            return {"bumped": bumped}
        elif path == "/_admin/reset":
            for n in (range(start, start + count) if count else list(self.versions)):
                self.versions.pop(n, None)
            self.validators = True
            self.reset_counters()
        elif path != "/_admin/stats":
            return {"error": "unknown"}
        times = os.times()
        return {**self.counts, "cpu": times.user + times.system, "validators": self.validators,
                "cached_bodies": len(self.cache)}


async def handle(feeds: Feeds, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
    feeds.counts["open"] += 1
    feeds.counts["max_open"] = max(feeds.counts["max_open"], feeds.counts["open"])
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = (lines[0].split(" ") + ["", ""])[:3]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            url = urlsplit(target)
            if url.path.startswith("/_admin/"):
                payload = json.dumps(feeds.admin(url.path, parse_qs(url.query))).encode()
                status, extra, body = 200, {"Content-Type": "application/json"}, payload
            else:
                feeds.counts["requests"] += 1
                status, extra, body = await answer(feeds, method, url.path, headers)
                feeds.counts[str(status)] = feeds.counts.get(str(status), 0) + 1
                feeds.counts["bytes"] += len(body)
            reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
            out = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}",
                   "Server: linuxreport-bench-feeds"]
            out += [f"{k}: {v}" for k, v in extra.items()]
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + (body if method != "HEAD"
                                                                    else b""))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return
    finally:
        feeds.counts["open"] -= 1
        writer.close()


async def answer(feeds: Feeds, method: str, path: str,
                 headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    await asyncio.sleep(feeds.latency)  # the far-away server's round trips and think time
    name = path.rsplit("/", 1)[-1]
    if not (path.startswith("/feed/") and name.endswith(".xml") and name[:-4].isdigit()):
        return 404, {"Content-Type": "text/plain"}, b"not found\n"
    n = int(name[:-4])
    body, etag, modified = feeds.get(n)
    kind = "application/atom+xml" if is_atom(n) else "application/rss+xml"
    extra = {"Content-Type": f"{kind}; charset=utf-8", "Cache-Control": "max-age=300"}
    extra.update({"ETag": etag, "Last-Modified": modified})
    if feeds.validators and (headers.get("if-none-match") == etag or (
            "if-none-match" not in headers and headers.get("if-modified-since") == modified)):
        return 304, {"ETag": etag}, b""
    return 200, extra, body


def listen(hosts: list[str], port: int) -> list[socket.socket]:
    """Bind one listening socket per loopback address, all on the same port."""
    for _ in range(50):
        chosen = port or random.randint(20_000, 60_000)
        socks = []
        try:
            for host in hosts:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, chosen))
                sock.listen(4096)
                sock.setblocking(False)
            return socks
        except OSError:
            for sock in socks:
                sock.close()
            if port:
                raise
    raise OSError("no free port found")


async def main_async(hosts: list[str], port: int, latency: float) -> None:
    feeds = Feeds(latency)
    servers = [await asyncio.start_server(lambda r, w: handle(feeds, r, w), sock=sock,
                                          limit=1 << 16) for sock in listen(hosts, port)]
    print(f"READY {servers[0].sockets[0].getsockname()[1]}", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


def host_list(count: int) -> list[str]:
    """The loopback addresses feeds are spread over: 127.0.2.1, 127.0.2.2, ..."""
    return [f"127.0.2.{1 + i}" for i in range(count)]


def feed_url(n: int, hosts: int, port: int) -> str:
    """Where feed n is served (feeds are spread over the hosts round-robin)."""
    return f"http://127.0.2.{1 + n % hosts}:{port}/feed/{n}.xml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=64,
                        help="loopback addresses to spread the feeds over (127.0.2.1...), "
                             "so per-host limits act as with real, distinct servers")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per response")
    args = parser.parse_args()
    if not 1 <= args.hosts <= 254:
        sys.exit("--hosts: 1 to 254")
    try:
        asyncio.run(main_async(host_list(args.hosts), args.port, args.latency))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

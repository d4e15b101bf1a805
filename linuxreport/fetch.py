"""Fetch every feed of a report concurrently (the only async module).

Bounded concurrency overall and per host, a deadline per feed, bodies streamed
and capped after decompression, retries with backoff on connection errors and
5xx, conditional GET from the stored validators. A body whose hash matches the
last one is not parsed again; new bodies are parsed off the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import ssl
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import httpx

from .config import Feed, Report, feed_file_path
from .models import FeedState, FetchResult
from .parse import ParseError, parse_feed

log = logging.getLogger(__name__)

PERMANENT_REDIRECTS = (301, 308)


class FetchFailure(Exception):
    """A feed could not be fetched; the message is the short reason shown to admins."""


class RetryableFailure(FetchFailure):
    """A failure worth another try (connection error, HTTP 5xx)."""


class BackOff(FetchFailure):
    """The server asked us to come back later (429/503 with Retry-After)."""

    def __init__(self, reason: str, seconds: float):
        super().__init__(reason)
        self.seconds = seconds


class Gone(FetchFailure):
    """HTTP 410: the feed is gone for good."""


# Honour Retry-After up to a day; longer asks are treated as a day.
MAX_RETRY_AFTER = 86400.0


@dataclass
class _Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    final_url: str = ""
    permanent_redirect: str | None = None


class HostPools(httpx.AsyncBaseTransport):
    """A connection pool per host (scheme, host, port), sharing one TLS context.

    One pool for every host costs CPU that grows with the number of connections: the pool
    looks at each of them for every request. Each pool here holds at most per_host
    connections, and a host's pool is closed as soon as its last feed is done, so the
    number of open sockets stays near the concurrency limit however many hosts there are.
    Proxies come from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), as with httpx.
    """

    def __init__(self, per_host: int):
        self._ssl = httpx.create_ssl_context()
        self._limits = httpx.Limits(max_connections=per_host,
                                    max_keepalive_connections=per_host)
        self._proxies = getproxies()
        # By host, then by (scheme, port): a host's pools close together.
        self._pools: dict[str, dict[tuple[bytes, int | None], httpx.AsyncHTTPTransport]] = {}

    def _pool(self, url: httpx.URL) -> httpx.AsyncHTTPTransport:
        pools = self._pools.setdefault(url.host, {})
        key = (url.raw_scheme, url.port)
        pool = pools.get(key)
        if pool is None:
            proxy = self._proxies.get(url.scheme)
            if proxy and proxy_bypass(url.host):
                proxy = None
            pool = pools[key] = httpx.AsyncHTTPTransport(
                verify=self._ssl, limits=self._limits, proxy=proxy)
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._pool(request.url).handle_async_request(request)

    async def close_host(self, host: str) -> None:
        """Close the pools of host (every scheme and port)."""
        for pool in self._pools.pop(host, {}).values():
            await pool.aclose()

    async def aclose(self) -> None:
        hosts, self._pools = list(self._pools.values()), {}
        for pools in hosts:
            for pool in pools.values():
                await pool.aclose()


@dataclass
class _Context:
    report: Report
    client: httpx.AsyncClient
    executor: Executor | None
    parse: Callable
    on_done: Callable[[FetchResult], None] | None
    overall: asyncio.Semaphore
    per_host: dict[str, asyncio.Semaphore]
    pools: HostPools | None = None
    log_results: bool = True
    remaining: dict[str, int] = field(default_factory=dict)  # feeds left to fetch, by host


def fetch_all(report: Report, states: dict[str, FeedState | None], *,
              executor: Executor | None = None, parse: Callable = parse_feed,
              on_done: Callable[[FetchResult], None] | None = None,
              transport: httpx.AsyncBaseTransport | None = None,
              now: datetime | None = None, feeds: list[Feed] | None = None,
              log_results: bool = True) -> dict[str, FetchResult]:
    """Return a FetchResult per feed key (of feeds, by default all the report's); never
    raises for a single feed's failure.

    Feeds that said 410 Gone, or whose Retry-After has not passed, are not asked. Each
    result is logged (log_result) unless log_results is False.
    """
    now = now or datetime.now(UTC)
    feeds = report.feeds if feeds is None else feeds
    results = {}
    to_fetch = []
    for feed in feeds:
        held = _held_back(feed, states.get(feed.key), now)
        if held:
            results[feed.key] = held
            if log_results:
                log_result(held)
        else:
            to_fetch.append(feed)
    fetched = asyncio.run(_fetch_all(report, to_fetch, states, executor, parse, on_done,
                                     transport, now, log_results))
    results.update(fetched)
    return {feed.key: results[feed.key] for feed in feeds}


def _held_back(feed: Feed, state: FeedState | None, now: datetime) -> FetchResult | None:
    if not state or state.url != feed.url:
        return None
    if state.gone_since:
        return FetchResult(feed, "gone", http_status=410, gone=True,
                           error=f"gone (HTTP 410) since {state.gone_since:%Y-%m-%d}")
    if state.retry_after and state.retry_after > now:
        return FetchResult(feed, "waiting", retry_after=state.retry_after,
                           error=f"waiting until {state.retry_after:%Y-%m-%d %H:%M} UTC")
    return None


async def _fetch_all(report, feeds, states, executor, parse, on_done, transport, now,
                     log_results):
    limits = report.fetch
    timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout)
    pools = HostPools(limits.per_host) if transport is None else None
    async with httpx.AsyncClient(
        timeout=timeout, follow_redirects=True, transport=transport or pools,
        max_redirects=limits.max_redirects, headers={"User-Agent": report.user_agent},
    ) as client:
        per_host = defaultdict(lambda: asyncio.Semaphore(limits.per_host))
        ctx = _Context(report, client, executor, parse, on_done,
                       asyncio.Semaphore(limits.concurrency), per_host, pools, log_results)
        for feed in feeds:
            host = host_of(feed.url)
            ctx.remaining[host] = ctx.remaining.get(host, 0) + 1
        results = await asyncio.gather(
            *(_fetch_one(ctx, feed, states.get(feed.key), now) for feed in feeds))
    return {feed.key: result for feed, result in zip(feeds, results, strict=True)}


async def _fetch_one(ctx: _Context, feed: Feed, state: FeedState | None,
                     now: datetime) -> FetchResult:
    host = host_of(feed.url)
    deadline = feed.deadline or ctx.report.fetch.deadline
    # The host's slot first: a feed waiting for its busy host must not hold one of the
    # overall slots meanwhile, or a run of feeds from one host would stall all the others.
    async with ctx.per_host[host], ctx.overall:
        started = time.monotonic()
        attempts = [0]
        try:
            async with asyncio.timeout(deadline):
                result = await _fetch_and_parse(ctx, feed, state, attempts)
        except TimeoutError:
            result = FetchResult(feed, "failed", error=f"timeout after {deadline:g} s")
        except BackOff as exc:
            result = FetchResult(feed, "failed", error=str(exc),
                                 retry_after=now + timedelta(seconds=exc.seconds))
        except Gone as exc:
            result = FetchResult(feed, "failed", error=str(exc), http_status=410, gone=True)
        except FetchFailure as exc:
            result = FetchResult(feed, "failed", error=str(exc))
        result.attempts = max(attempts[0], 1)
        result.elapsed = time.monotonic() - started
        ctx.remaining[host] -= 1
        if not ctx.remaining[host] and ctx.pools:
            await ctx.pools.close_host(host)
    if ctx.log_results:
        log_result(result)
    if ctx.on_done:
        ctx.on_done(result)
    return result


def host_of(url: str) -> str:
    """Return the host of url, lower case ('' when it has none or is malformed)."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def log_result(result: FetchResult) -> None:
    """Log what fetching a feed gave: a warning for failures, a debug line otherwise."""
    name, url = result.feed.key, result.feed.url
    if result.gone:
        log.warning("%s is gone (HTTP 410, %s): remove it from the config or change its url; "
                    "it is not fetched until then", name, url)
    elif result.status == "waiting":
        log.info("%s: not asked, %s (Retry-After)", name, result.error)
    elif result.failed:
        log.warning("%s failed (%s): %s", name, url, result.error)
    else:
        log.debug("%s: %s, HTTP %s, %d bytes, %.2f s", name, result.status.replace("_", " "),
                  result.http_status or "-", result.body_bytes, result.elapsed)
    if result.permanent_redirect:
        log.warning("%s moved permanently: update its url in the config to %s",
                    name, result.permanent_redirect)


async def _fetch_and_parse(ctx: _Context, feed: Feed, state: FeedState | None,
                           attempts: list[int]) -> FetchResult:
    known = state if state and state.url == feed.url else None
    if feed.url.startswith("file:"):
        attempts[0] = 1
        response = await _read_file(ctx, feed)
    else:
        response = await _get_with_retries(ctx, feed, known, attempts)
    result = FetchResult(feed, "ok", http_status=response.status,
                         permanent_redirect=response.permanent_redirect,
                         etag=response.headers.get("etag"),
                         last_modified=response.headers.get("last-modified"),
                         body_bytes=len(response.body))
    if response.status == 304:
        result.status = "not_modified"
        return result
    result.body_hash = hashlib.sha256(response.body).hexdigest()
    if known and known.body_hash == result.body_hash:
        result.status = "unchanged"
        return result
    loop = asyncio.get_running_loop()
    try:
        result.entries = await loop.run_in_executor(
            ctx.executor, ctx.parse, response.body, response.headers, response.final_url,
            feed.url)
    except ParseError as exc:
        raise FetchFailure(str(exc)) from None
    except Exception as exc:  # a parser bug must cost one feed, never the whole build
        log.exception("%s: unexpected error while parsing", feed.key)
        raise FetchFailure(f"cannot parse: {type(exc).__name__}: {exc}") from None
    return result


async def _read_file(ctx: _Context, feed: Feed) -> _Response:
    path = feed_file_path(ctx.report, feed)
    cap = feed.max_bytes or ctx.report.fetch.max_bytes
    try:
        body = await asyncio.to_thread(_read_capped, path, cap)
    except OSError as exc:
        raise FetchFailure(f"cannot read {path}: {exc.strerror or exc}") from None
    return _Response(200, {}, body, feed.url)


def _read_capped(path: Path, cap: int) -> bytes:
    with path.open("rb") as f:
        body = f.read(cap + 1)
    if len(body) > cap:
        raise FetchFailure(f"body over {cap} bytes")
    return body


async def _get_with_retries(ctx: _Context, feed: Feed, known: FeedState | None,
                            attempts: list[int]) -> _Response:
    limits = ctx.report.fetch
    for attempt in range(limits.retries + 1):
        attempts[0] = attempt + 1
        try:
            return await _get(ctx, feed, known)
        except RetryableFailure as exc:
            if attempt == limits.retries:
                raise FetchFailure(str(exc)) from None
            delay = limits.backoff * 2**attempt
            log.debug("%s: %s; retrying in %.1f s", feed.key, exc, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


async def _get(ctx: _Context, feed: Feed, known: FeedState | None) -> _Response:
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/rdf+xml, "
                         "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"}
    if known and known.etag:
        headers["If-None-Match"] = known.etag
    if known and known.last_modified:
        headers["If-Modified-Since"] = known.last_modified
    cap = feed.max_bytes or ctx.report.fetch.max_bytes
    try:
        async with ctx.client.stream("GET", feed.url, headers=headers) as response:
            _check_status(response)
            if response.status_code not in (200, 203, 304):
                raise FetchFailure(f"HTTP {response.status_code}")
            body = await _read_body(response, cap) if response.status_code != 304 else b""
    except httpx.TooManyRedirects:
        raise FetchFailure("too many redirects") from None
    except httpx.ConnectTimeout:
        raise RetryableFailure("connect timeout") from None
    except httpx.ReadTimeout:
        raise RetryableFailure("read timeout") from None
    except httpx.ConnectError as exc:
        raise RetryableFailure(_connect_reason(exc)) from None
    except httpx.DecodingError:
        raise FetchFailure("undecodable compressed body") from None
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise RetryableFailure(f"connection broken: {exc or type(exc).__name__}") from None
    return _Response(response.status_code, {k.lower(): v for k, v in response.headers.items()},
                     body, str(response.url), _permanent_redirect(response))


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    wait = retry_after_seconds(response.headers.get("retry-after"))
    if status in (429, 503) and wait is not None:
        raise BackOff(f"HTTP {status}, retry after {wait:.0f} s", wait)
    if status == 410:
        raise Gone("HTTP 410 Gone")
    if status >= 500:
        raise RetryableFailure(f"HTTP {status}")


def retry_after_seconds(value: str | None) -> float | None:
    """Return a Retry-After header (seconds or an HTTP date) as seconds from now, capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), MAX_RETRY_AFTER)


async def _read_body(response: httpx.Response, cap: int) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > cap:
            raise FetchFailure(f"body over {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _permanent_redirect(response: httpx.Response) -> str | None:
    if any(r.status_code in PERMANENT_REDIRECTS for r in response.history):
        return str(response.url)
    return None


def _connect_reason(exc: httpx.ConnectError) -> str:
    causes = []
    cause: BaseException | None = exc
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return "TLS error: " + str(next(c for c in causes if isinstance(c, ssl.SSLError)))
    if any(isinstance(c, socket.gaierror) for c in causes):
        return "DNS lookup failed"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "connection refused"
    return f"connection failed: {causes[-1] or type(causes[-1]).__name__}"

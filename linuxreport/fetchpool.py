"""Fetch a large report in worker processes, so the build uses every core.

Each feed costs CPU in the HTTP client and in the parser, more than one core gives a
thousand feeds in a few seconds. The feeds are split by host (all of a host's feeds in
one worker, so its per_host limit still holds), and each worker runs fetch_all on its
share, parsing as bodies arrive. Every result and log record is sent back to the main
process as soon as it is ready, where it is logged and reported as if fetched there.

The main process is free meanwhile: build_report loads the feeds' last good entries while
the workers fetch. A worker that dies costs its unfinished feeds (they fail, and keep their
last good entries), never the build.
"""

from __future__ import annotations

import ctypes
import dataclasses
import fcntl
import logging
import math
import multiprocessing
import os
import queue
import signal
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, Future
from datetime import datetime
from multiprocessing.connection import Connection, wait

from .config import Feed, Report
from .fetch import fetch_all, host_of, log_result
from .models import FeedState, FetchResult

log = logging.getLogger(__name__)

# Below this many feeds, starting processes costs more than it saves.
MIN_FEEDS = 24


def worker_count(feed_count: int) -> int:
    """How many worker processes to fetch feed_count feeds with (0: fetch in-process)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    if feed_count < MIN_FEEDS or cores < 2:
        return 0
    return max(1, min(cores, 8, feed_count // (MIN_FEEDS // 2)))


def shard_by_host(feeds: list[Feed], count: int) -> list[list[Feed]]:
    """Split feeds into at most count shards of about equal size, each host in one shard."""
    by_host: dict[str, list[Feed]] = {}
    for feed in feeds:
        by_host.setdefault(host_of(feed.url), []).append(feed)
    shards: list[list[Feed]] = [[] for _ in range(count)]
    for group in sorted(by_host.values(), key=len, reverse=True):
        smallest = min(range(count), key=lambda n: len(shards[n]))
        shards[smallest].extend(group)
    # Each shard in config order, as fetch_all would take them in one process.
    order = {feed.key: n for n, feed in enumerate(feeds)}
    return [sorted(shard, key=lambda f: order[f.key]) for shard in shards if shard]


class InlineExecutor(Executor):
    """Runs each task at once in the calling thread: a worker parses between requests."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to whoever awaits the future
            future.set_exception(exc)
        return future


class _PipeHandler(logging.Handler):
    """Sends log records to the main process."""

    def __init__(self, conn: Connection):
        super().__init__()
        self.conn = conn

    def emit(self, record: logging.LogRecord) -> None:
        try:
            record.msg = record.getMessage()  # arguments may not pickle
            record.args = None
            if record.exc_info:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
                record.exc_info = None
            self.conn.send(("log", record))
        except Exception:
            self.handleError(record)


@dataclasses.dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    feeds: list[Feed]


class FetchWorkers:
    """Worker processes fetching a report; results() waits for all of them."""

    def __init__(self, report: Report, states: dict[str, FeedState | None], count: int,
                 now: datetime, on_done: Callable[[FetchResult], None] | None = None):
        self.report, self.now, self.on_done = report, now, on_done
        shards = shard_by_host(report.feeds, count)
        limits = dataclasses.replace(
            report.fetch, concurrency=math.ceil(report.fetch.concurrency / len(shards)))
        share = dataclasses.replace(report, fetch=limits)
        # fork: the workers start with the config and the modules already loaded. The main
        # process runs no other thread at this point (the progress bar refreshes from the
        # main thread), so no lock is inherited held.
        context = multiprocessing.get_context("fork")
        self.workers: list[_Worker] = []
        for n, shard in enumerate(shards):
            receive, send = context.Pipe(duplex=False)
            _widen(send)
            process = context.Process(
                target=_work, name=f"linuxreport-fetch-{n + 1}", daemon=True,
                args=(share, shard, {f.key: states.get(f.key) for f in shard}, now, send,
                      os.getpid()))
            process.start()
            send.close()
            self.workers.append(_Worker(process, receive, shard))
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.reader = threading.Thread(target=self._drain, name="linuxreport-fetch-inbox",
                                       daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        """Move every message from the workers to the inbox as it arrives (a thread): a
        worker blocks when its pipe is full, and the main process is busy meanwhile."""
        open_conns = {w.conn: w for w in self.workers}
        while open_conns:
            for conn in wait(list(open_conns)):
                # Everything that is there, in one go: between two wake-ups this thread
                # may wait for the GIL as long as the main thread keeps it (5 ms), and a
                # worker must not wait for us.
                try:
                    while True:
                        self.inbox.put(conn.recv())
                        if not conn.poll():
                            break
                except (EOFError, OSError):
                    self.inbox.put(("ended", open_conns.pop(conn)))

    def results(self) -> dict[str, FetchResult]:
        """Wait for every worker; return a FetchResult per feed, in config order."""
        results: dict[str, FetchResult] = {}
        by_key = {feed.key: feed for feed in self.report.feeds}
        running = len(self.workers)
        while running:
            kind, payload = self.inbox.get()
            if kind == "result":
                key, result = payload
                result.feed = by_key[key]
                results[key] = result
                log_result(result)
                if self.on_done:
                    self.on_done(result)
            elif kind == "held":
                for key, result in payload.items():
                    result.feed = by_key[key]
                    results[key] = result
                    log_result(result)
            elif kind == "log":
                logging.getLogger(payload.name).handle(payload)
            elif kind == "crash":
                log.error("a fetch worker failed: %s", payload)
            elif kind == "ended":
                running -= 1
                self._finish(payload, results)
        self.reader.join()
        return {feed.key: results[feed.key] for feed in self.report.feeds}

    def _finish(self, worker: _Worker, results: dict[str, FetchResult]) -> None:
        worker.conn.close()
        worker.process.join()
        code = worker.process.exitcode
        for feed in worker.feeds:
            if feed.key not in results:
                how = f"exit code {code}" if code and code > 0 else \
                    f"killed by signal {-code}" if code else "no result"
                result = FetchResult(feed, "failed", error=f"fetch worker died ({how})")
                log.warning("%s failed (%s): %s", feed.key, feed.url, result.error)
                results[feed.key] = result

    def close(self) -> None:
        """Stop any worker still running (after an error in the main process)."""
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.kill()
            worker.process.join()
        self.reader.join()
        for worker in self.workers:
            worker.conn.close()

    def __enter__(self) -> FetchWorkers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _work(report: Report, feeds: list[Feed], states: dict[str, FeedState | None],
          now: datetime, conn: Connection, parent: int) -> None:
    """A worker's life: fetch and parse its feeds, sending everything back over conn."""
    _die_with_parent(parent)
    root = logging.getLogger()
    for logger in [root, *logging.Logger.manager.loggerDict.values()]:
        if isinstance(logger, logging.Logger):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
    root.addHandler(_PipeHandler(conn))
    try:
        sent: set[str] = set()

        def done(result: FetchResult) -> None:
            # Without the feed's config, which the main process has: a third of the bytes.
            conn.send(("result", (result.feed.key, dataclasses.replace(result, feed=None))))
            sent.add(result.feed.key)

        results = fetch_all(report, states, feeds=feeds, executor=InlineExecutor(),
                            on_done=done, now=now, log_results=False)
        conn.send(("held", {k: dataclasses.replace(r, feed=None)
                            for k, r in results.items() if k not in sent}))
    except BaseException:  # reported, then the unfinished feeds fail in the main process
        conn.send(("crash", traceback.format_exc(limit=8)))
    finally:
        conn.close()


def _widen(conn: Connection) -> None:
    """Give the pipe 1 MiB instead of 64 KiB (Linux), so a worker rarely waits to send."""
    try:
        fcntl.fcntl(conn.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except OSError:  # over /proc/sys/fs/pipe-max-size, or not Linux: the default will do
        pass


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this worker if the main process dies (kill -9 included)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it died before we asked
        os._exit(1)

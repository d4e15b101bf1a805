"""Fetching in worker processes: the same results as in one process, logs and progress
reported by the main process, hosts kept whole, and a dying worker costing only its feeds."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import make_report
from feedserver import Route, rss

from linuxreport import fetchpool
from linuxreport.fetch import fetch_all
from linuxreport.fetchpool import FetchWorkers, shard_by_host, worker_count

DATE = "Tue, 10 Nov 2026 10:00:00 GMT"


def _report(feed_server, tmp_path, count: int):
    """count feeds served by feed_server, half of them through 'localhost': two hosts."""
    feeds = []
    for i in range(count):
        feed_server.routes[f"/f{i}"] = Route(
            rss(f"Feed {i}", [(f"Story {i}.{n}", f"https://s{i}.example.org/{n}", DATE)
                              for n in range(3)]), etag=f'"f{i}"')
        url = feed_server.url(f"/f{i}")
        if i % 2:
            url = url.replace("127.0.0.1", "localhost")
        feeds.append({"url": url, "title": f"Feed {i}", "id": f"f{i}"})
    feed_server.routes["/broken"] = Route(b"<rss><channel><item>", status=200)
    feeds.append({"url": feed_server.url("/broken"), "title": "Broken", "id": "broken"})
    return make_report({"feeds": feeds}, tmp_path)


def test_shards_keep_each_host_whole_and_balance_sizes(tmp_path):
    feeds = [{"url": f"https://h{i % 5}.example.org/{i}", "title": f"F{i}", "id": f"f{i}"}
             for i in range(40)]
    report = make_report({"feeds": feeds}, tmp_path)
    shards = shard_by_host(report.feeds, 2)
    assert sorted(f.key for s in shards for f in s) == sorted(f.key for f in report.feeds)
    hosts = [{f.url.split("/")[2] for f in shard} for shard in shards]
    assert not hosts[0] & hosts[1]
    assert sorted(len(s) for s in shards) == [16, 24]  # 5 hosts of 8 feeds on 2 shards
    assert worker_count(fetchpool.MIN_FEEDS - 1) == 0


def test_workers_give_the_same_results_as_one_process(feed_server, tmp_path, caplog):
    report = _report(feed_server, tmp_path, 30)
    alone = fetch_all(report, {})
    caplog.clear()
    done = []
    with caplog.at_level(logging.DEBUG, logger="linuxreport"):
        with FetchWorkers(report, {}, 2, now=None, on_done=done.append) as pool:
            pooled = pool.results()
    assert list(pooled) == [f.key for f in report.feeds]  # config order
    for key, result in alone.items():
        assert (pooled[key].status, pooled[key].entries, pooled[key].feed) == \
            (result.status, result.entries, result.feed), key
    assert pooled["broken"].failed and pooled["broken"].error == alone["broken"].error
    assert len(done) == 31  # progress reported for every feed, by the main process
    # Each result was logged once, in the main process, from what the workers sent.
    lines = [r for r in caplog.records if r.name == "linuxreport.fetch"]
    assert sorted(r.getMessage().split(":")[0].split()[0] for r in lines) == \
        sorted(f.key for f in report.feeds)
    assert all(r.processName == "MainProcess" for r in lines)


def test_a_worker_that_dies_costs_only_its_own_feeds(feed_server, tmp_path, monkeypatch,
                                                     caplog):
    report = _report(feed_server, tmp_path, 30)
    real_fetch_all = fetchpool.fetch_all

    def dying_on_localhost(report, states, *, feeds, **kwargs):
        if "localhost" in feeds[0].url:
            os._exit(3)  # as if killed mid-way
        return real_fetch_all(report, states, feeds=feeds, **kwargs)

    monkeypatch.setattr(fetchpool, "fetch_all", dying_on_localhost)  # inherited by fork
    with caplog.at_level(logging.WARNING):
        with FetchWorkers(report, {}, 2, now=None) as pool:
            results = pool.results()
    died = [k for k, r in results.items() if r.error == "fetch worker died (exit code 3)"]
    assert sorted(died) == sorted(f.key for f in report.feeds if "localhost" in f.url)
    assert all(r.status == "ok" for k, r in results.items()
               if k not in died and k != "broken")
    assert "fetch worker died" in caplog.text


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_die_with_a_killed_build(feed_server, tmp_path, write_config):
    feeds = []
    for i in range(fetchpool.MIN_FEEDS + 6):
        feed_server.routes[f"/s{i}"] = Route(rss(f"S{i}", []), delay=20)
        url = feed_server.url(f"/s{i}")
        feeds.append({"url": url.replace("127.0.0.1", "localhost") if i % 2 else url,
                      "title": f"Slow {i}"})
    write_config("slow", {"title": "Slow", "base_url": "https://s.example.org/",
                          "fetch": {"deadline": 30, "read_timeout": 30}, "feeds": feeds})
    exe = Path(sys.executable).with_name("linuxreport")
    proc = subprocess.Popen([str(exe), "build"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _children(proc.pid)
    assert len(workers) >= 2, "the build did not start its fetch workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)

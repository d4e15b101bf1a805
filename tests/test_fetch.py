"""fetch_all against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time

from conftest import make_report
from feedserver import Route, rss

from linuxreport.fetch import fetch_all
from linuxreport.models import FeedState

DATE = "Tue, 10 Nov 2026 10:00:00 GMT"
BODY = rss("One", [("First story", "https://example.org/1", DATE),
                   ("Second story", "https://example.org/2", DATE)])


def _report(server, tmp_path, paths, **extra):
    feeds = [{"url": server.url(p), "title": p.strip("/").replace("/", " ") or "root"}
             for p in paths]
    return make_report({"feeds": feeds, **extra}, tmp_path)


def test_new_body_is_parsed_and_validators_kept(feed_server, tmp_path):
    feed_server.routes["/a"] = Route(BODY, etag='"v1"', last_modified=DATE)
    report = _report(feed_server, tmp_path, ["/a"])
    (result,) = fetch_all(report, {}).values()
    assert result.status == "ok"
    assert [e.title for e in result.entries] == ["First story", "Second story"]
    assert (result.etag, result.last_modified) == ('"v1"', DATE)


def test_stored_validators_give_a_conditional_get_and_304(feed_server, tmp_path):
    feed_server.routes["/a"] = Route(BODY, etag='"v1"', last_modified=DATE)
    report = _report(feed_server, tmp_path, ["/a"])
    key = report.feeds[0].key
    state = FeedState(key=key, url=report.feeds[0].url, etag='"v1"', last_modified=DATE)
    result = fetch_all(report, {key: state})[key]
    assert result.status == "not_modified"
    hit = feed_server.log[-1]
    assert hit.headers["If-None-Match"] == '"v1"'
    assert hit.headers["If-Modified-Since"] == DATE
    assert hit.status == 304


def test_same_body_is_not_parsed_again(feed_server, tmp_path):
    feed_server.routes["/a"] = Route(BODY)
    report = _report(feed_server, tmp_path, ["/a"])
    key = report.feeds[0].key
    first = fetch_all(report, {})[key]
    state = FeedState(key=key, url=report.feeds[0].url, body_hash=first.body_hash)
    calls = []

    def counting_parse(*args):
        calls.append(args)
        raise AssertionError("must not parse an unchanged body")

    second = fetch_all(report, {key: state}, parse=counting_parse)[key]
    assert second.status == "unchanged" and calls == []


def test_user_agent_and_gzip(feed_server, tmp_path):
    feed_server.routes["/gz"] = Route(BODY, gzip=True)
    report = _report(feed_server, tmp_path, ["/gz"], user_agent="lr-test/1.0")
    (result,) = fetch_all(report, {}).values()
    assert result.status == "ok" and len(result.entries) == 2
    assert feed_server.log[-1].headers["User-Agent"] == "lr-test/1.0"
    assert "gzip" in feed_server.log[-1].headers["Accept-Encoding"]


def test_5xx_is_retried_then_succeeds(feed_server, tmp_path):
    feed_server.routes["/flaky"] = Route(BODY, fail_first=[503])
    report = _report(feed_server, tmp_path, ["/flaky"])
    (result,) = fetch_all(report, {}).values()
    assert result.status == "ok" and result.attempts == 2
    assert feed_server.statuses("/flaky") == [503, 200]


def test_persistent_500_fails_with_reason(feed_server, tmp_path):
    feed_server.routes["/broken"] = Route(b"oops", status=500)
    report = _report(feed_server, tmp_path, ["/broken"])
    (result,) = fetch_all(report, {}).values()
    assert result.failed and result.error == "HTTP 500"
    assert feed_server.statuses("/broken") == [500, 500]  # one retry configured


def test_404_is_not_retried(feed_server, tmp_path):
    report = _report(feed_server, tmp_path, ["/missing"])
    (result,) = fetch_all(report, {}).values()
    assert result.error == "HTTP 404" and feed_server.statuses("/missing") == [404]


def test_deadline_ends_a_slow_feed_without_delaying_others(feed_server, tmp_path):
    feed_server.routes["/slow"] = Route(BODY, delay=5)
    feed_server.routes["/fast"] = Route(BODY)
    report = _report(feed_server, tmp_path, ["/slow", "/fast"])
    report.feeds[0]  # the slow one
    results = fetch_all(report, {})
    slow, fast = results[report.feeds[0].key], results[report.feeds[1].key]
    assert slow.failed and slow.error in ("timeout after 3 s", "read timeout")
    assert fast.status == "ok" and fast.elapsed < 2


def test_body_over_the_cap_fails(feed_server, tmp_path):
    feed_server.routes["/big"] = Route(BODY + b" " * 5000, gzip=True)
    report = _report(feed_server, tmp_path, ["/big"])
    report = make_report({"feeds": [{"url": feed_server.url("/big"), "title": "Big",
                                     "max_bytes": 2000}]}, tmp_path)
    (result,) = fetch_all(report, {}).values()
    assert result.failed and result.error == "body over 2000 bytes"


def test_malformed_xml_fails(feed_server, tmp_path):
    feed_server.routes["/bad"] = Route(b"<rss><channel><item><title>unclosed")
    report = _report(feed_server, tmp_path, ["/bad"])
    (result,) = fetch_all(report, {}).values()
    assert result.failed and result.error.startswith("malformed XML")


def test_permanent_redirect_is_reported(feed_server, tmp_path):
    feed_server.routes["/old"] = Route(b"", status=301,
                                       headers={"Location": feed_server.url("/new")})
    feed_server.routes["/new"] = Route(BODY)
    report = _report(feed_server, tmp_path, ["/old"])
    (result,) = fetch_all(report, {}).values()
    assert result.status == "ok"
    assert result.permanent_redirect == feed_server.url("/new")


def test_redirect_loop_fails_cleanly(feed_server, tmp_path):
    feed_server.routes["/loop"] = Route(b"", status=302,
                                        headers={"Location": feed_server.url("/loop")})
    report = _report(feed_server, tmp_path, ["/loop"])
    (result,) = fetch_all(report, {}).values()
    assert result.failed and result.error == "too many redirects"


def test_connection_refused_is_named(tmp_path, unused_port):
    report = make_report({"feeds": [{"url": f"http://127.0.0.1:{unused_port}/x",
                                     "title": "Gone"}]}, tmp_path)
    (result,) = fetch_all(report, {}).values()
    assert result.failed and result.error == "connection refused"


def test_per_host_concurrency_is_bounded(feed_server, tmp_path):
    for i in range(8):
        feed_server.routes[f"/f{i}"] = Route(BODY, delay=0.2)
    report = _report(feed_server, tmp_path, [f"/f{i}" for i in range(8)],
                     fetch={"per_host": 2, "concurrency": 8, "deadline": 10})
    results = fetch_all(report, {})
    assert all(r.status == "ok" for r in results.values())
    assert feed_server.max_active == 2


def test_file_urls_are_read_relative_to_the_config(tmp_path):
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "local.xml").write_bytes(BODY)
    report = make_report({"feeds": [{"url": "file:feeds/local.xml", "title": "Local"}]},
                         tmp_path)
    (result,) = fetch_all(report, {}).values()
    assert result.status == "ok" and len(result.entries) == 2


def test_parsing_runs_off_the_event_loop(feed_server, tmp_path):
    feed_server.routes["/a"] = Route(BODY)
    report = _report(feed_server, tmp_path, ["/a"])
    loops = []

    def parse_in_worker(*args):
        try:
            loops.append(asyncio.get_running_loop())
        except RuntimeError:
            loops.append(None)
        return []

    fetch_all(report, {}, parse=parse_in_worker)
    assert loops == [None]


def test_a_busy_host_does_not_hold_back_other_hosts(feed_server, tmp_path):
    # Four slow feeds from one host first, then one from another host (localhost is the same
    # server under another name); two at a time overall, one per host.
    for i in range(4):
        feed_server.routes[f"/slow{i}"] = Route(BODY, delay=1.0)
    feed_server.routes["/quick"] = Route(BODY)
    feeds = [{"url": feed_server.url(f"/slow{i}"), "title": f"Slow {i}"} for i in range(4)]
    feeds.append({"url": feed_server.url("/quick").replace("127.0.0.1", "localhost"),
                  "title": "Quick"})
    fetch = {"concurrency": 2, "per_host": 1, "deadline": 10, "read_timeout": 5}
    report = make_report({"feeds": feeds, "fetch": fetch}, tmp_path)
    started, done = time.monotonic(), {}
    results = fetch_all(report, {},
                        on_done=lambda r: done.setdefault(r.feed.key, time.monotonic()))
    assert all(r.status == "ok" for r in results.values())
    # It got the free overall slot at once, instead of waiting behind a slow feed that
    # held one while queueing for its host.
    assert done["quick"] - started < 0.8
    assert done["slow-3"] - started > 3.5

"""End-to-end builds against a real feed server: last good data, 304s, stale marking."""

from __future__ import annotations

import re

from conftest import FAST_FETCH, run_cli
from feedserver import Route, rss

DATE = "Tue, 10 Nov 2026 10:00:00 GMT"
NOW = "2026-11-20T12:00:00+0000"
LATER = "2026-11-20T19:00:00+0000"  # 7 h later: past the 6 h stale age


def _feed(name: str) -> bytes:
    return rss(f"{name} feed", [(f"{name} story {i}", f"https://{name}.example.org/{i}", DATE)
                                for i in range(3)])


def _setup(feed_server, write_config):
    names = ["good", "err", "slow", "bad", "fine", "solid"]
    for name in names:
        feed_server.routes[f"/{name}"] = Route(_feed(name), etag=f'"{name}-1"',
                                                last_modified=DATE)
    feeds = [{"url": feed_server.url(f"/{n}"), "title": f"{n.title()} Feed",
              "site": f"https://{n}.example.org/"} for n in names]
    fetch = {**FAST_FETCH, "deadline": 2}
    return write_config("t", {"title": "Test Report", "base_url": "https://news.example.org/",
                              "stale_after_hours": 6, "fetch": fetch, "feeds": feeds})


def _box(html: str, key: str) -> str:
    match = re.search(rf'<section class="([^"]*)" id="feed-{key}".*?</section>', html, re.S)
    assert match, key
    return match.group(0)


def test_failing_feeds_keep_last_good_entries_and_turn_stale(feed_server, write_config,
                                                              tmp_path):
    _setup(feed_server, write_config)
    first = run_cli("build", "--now", NOW, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Built t: 18 entries from 6/6 feeds" in first.stderr

    feed_server.routes["/err"] = Route(b"server error", status=500)
    feed_server.routes["/slow"] = Route(_feed("slow"), delay=4)
    feed_server.routes["/bad"] = Route(b"<?xml version='1.0'?><rss><channel><item>")
    second = run_cli("build", "--now", NOW, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    summary = second.stderr.strip().splitlines()[-1]
    assert summary.startswith("Built t: 18 entries from 3/6 feeds in ")
    assert "(failed: err-feed [HTTP 500], slow-feed [timeout after 2 s], bad-feed [malformed XML"\
        in summary

    html = (tmp_path / "public/t/index.html").read_text()
    for name in ("err", "slow", "bad"):
        box = _box(html, f"{name}-feed")
        assert f"{name} story 0" in box and f"{name} story 2" in box
        assert 'class="feed"' in box  # failed just now, but not stale yet

    third = run_cli("build", "--now", LATER, cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    html = (tmp_path / "public/t/index.html").read_text()
    for name in ("err", "slow", "bad"):
        box = _box(html, f"{name}-feed")
        assert 'class="feed stale"' in box and "Stale" in box and f"{name} story 1" in box
    assert 'class="feed"' in _box(html, "good-feed")


def test_unchanged_feeds_get_conditional_requests_and_304s(feed_server, write_config,
                                                           tmp_path):
    _setup(feed_server, write_config)
    assert run_cli("build", "--now", NOW, cwd=tmp_path).returncode == 0
    before = (tmp_path / "public/t/index.html").read_bytes()
    feed_server.log.clear()

    again = run_cli("build", "-v", "--now", NOW, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    for name in ("good", "err", "slow", "bad", "fine", "solid"):
        (hit,) = [h for h in feed_server.log if h.path == f"/{name}"]
        assert hit.headers["If-None-Match"] == f'"{name}-1"'
        assert hit.headers["If-Modified-Since"] == DATE
        assert hit.status == 304
        assert f"{name}-feed: not modified, HTTP 304" in again.stderr
    assert (tmp_path / "public/t/index.html").read_bytes() == before


def test_every_feed_failing_keeps_the_previous_output(feed_server, write_config, tmp_path):
    _setup(feed_server, write_config)
    assert run_cli("build", "--now", NOW, cwd=tmp_path).returncode == 0
    before = (tmp_path / "public/t/index.html").read_bytes()
    for name in ("good", "err", "slow", "bad", "fine", "solid"):
        feed_server.routes[f"/{name}"] = Route(b"gone", status=404)
    result = run_cli("build", "--now", NOW, cwd=tmp_path)
    assert result.returncode == 1
    assert "t: every feed failed; the previous output is kept" in result.stderr
    assert (tmp_path / "public/t/index.html").read_bytes() == before


def test_permanent_redirect_tells_the_admin(feed_server, write_config, tmp_path):
    feed_server.routes["/old"] = Route(b"", status=301, headers={"Location": "/new"})
    feed_server.routes["/new"] = Route(_feed("new"))
    write_config("t", {"title": "T", "base_url": "https://news.example.org/",
                       "fetch": FAST_FETCH,
                       "feeds": [{"url": feed_server.url("/old"), "title": "Moved"}]})
    result = run_cli("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (f"moved permanently: update its url in the config to {feed_server.url('/new')}"
            in result.stderr)


def test_many_feeds_are_fetched_in_worker_processes(write_config, tmp_path):
    from linuxreport.fetchpool import MIN_FEEDS

    count = MIN_FEEDS + 6
    (tmp_path / "config" / "feeds").mkdir(parents=True)
    for i in range(count):
        (tmp_path / "config" / "feeds" / f"f{i}.xml").write_bytes(_feed(f"src{i}"))
    feeds = [{"url": f"file:feeds/f{i}.xml", "title": f"Source {i}"} for i in range(count)]
    write_config("many", {"title": "Many", "base_url": "https://news.example.org/",
                          "fetch": FAST_FETCH, "feeds": feeds})
    result = run_cli("build", "--now", NOW, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"Built many: {3 * count} entries from {count}/{count} feeds" in result.stderr
    html = (tmp_path / "public/many/index.html").read_text()
    assert f"src{count - 1} story 2" in html

"""Hostile and broken feeds over real HTTP: the build never breaks, never lies, stays bounded."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import pytest
from conftest import ROOT, run_cli
from feedserver import Route, endless, gzip_bomb, rss, silence, trickle

NOW = "2026-11-20T12:00:00+0000"
DATE = "Tue, 10 Nov 2026 10:00:00 GMT"
FETCH = {"connect_timeout": 2, "read_timeout": 2, "deadline": 3, "retries": 1, "backoff": 0.05,
         "max_bytes": 1_000_000}

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><link>https://example.org/</link>
<item><title>&lol9;</title><link>https://example.org/laugh</link></item></channel></rss>"""

QUADRATIC = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + b"x" * 50_000 + b'">]>'
             b"<rss version='2.0'><channel><title>q</title><item><title>"
             + b"&a;" * 20_000 + b"</title><link>https://example.org/q</link></item>"
             b"</channel></rss>")


def xxe(target: str) -> bytes:
    return (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "{target}">]>'
            f"<rss version='2.0'><channel><title>x</title><item><title>&xxe;</title>"
            f"<link>https://example.org/xxe</link></item></channel></rss>").encode()


LOGIN_WALL = (b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
              b"<h1>Please sign in</h1><a href='/login'>Log in</a></body></html>")


@cache
def bomb() -> bytes:
    return gzip_bomb(200_000_000)


def _story_feed(name: str, n: int = 3) -> bytes:
    return rss(f"{name} feed", [(f"{name} story {i}", f"https://{name}.example.org/{i}", DATE)
                                for i in range(n)])


def _config(write_config, feeds: list[tuple[str, str]], **extra) -> Path:
    return write_config("t", {"title": "Hostile", "base_url": "https://news.example.org/",
                              "fetch": FETCH, "max_failed_share": 1.0, **extra,
                              "feeds": [{"url": url, "title": title} for title, url in feeds]})


def _build(tmp_path: Path, *args: str, now: str = NOW):
    return run_cli("build", "--now", now, *args, cwd=tmp_path)


def _status(tmp_path: Path) -> dict[str, dict]:
    data = json.loads((tmp_path / "public/t/status.json").read_text())
    return {f["key"]: f for f in data["feeds"]}


def _box(tmp_path: Path, key: str) -> str:
    html = (tmp_path / "public/t/index.html").read_text()
    match = re.search(rf'<section class="[^"]*" id="feed-{key}".*?</section>', html, re.S)
    assert match, key
    return match.group(0)


HOSTILE = {
    # title: (route, expected reason prefix)
    "billion-laughs": (Route(BILLION_LAUGHS), "XML entity declarations are not allowed"),
    "quadratic": (Route(QUADRATIC), "XML entity declarations are not allowed"),
    "xxe-file": (Route(xxe("file:///etc/passwd")), "XML entity declarations are not allowed"),
    "xxe-url": (Route(xxe("http://127.0.0.1:9/steal")), "XML entity declarations are not allowed"),
    "gzip-bomb": (Route(b"", raw=None), "body over 1000000 bytes"),
    "endless": (Route(raw=endless), "body over 1000000 bytes"),
    "trickle": (Route(raw=trickle), "timeout after 3 s"),
    "silent": (Route(raw=silence), "timeout after 3 s"),
    "redirect-loop": (Route(status=302, headers={"Location": "/redirect-loop"}),
                      "too many redirects"),
    "login-wall": (Route(LOGIN_WALL, content_type="text/html"), "not a feed: got an HTML page"),
    "server-error": (Route(b"down", status=500), "HTTP 500"),
    "empty": (Route(b""), "empty body"),
}


def _serve_hostile(feed_server) -> list[tuple[str, str]]:
    for name, (route, _) in HOSTILE.items():
        if name == "gzip-bomb":
            route = Route(bomb(), headers={"Content-Encoding": "gzip"})
        feed_server.routes[f"/{name}"] = route
    feed_server.routes["/good"] = Route(_story_feed("good"))
    return [(name, feed_server.url(f"/{name}")) for name in HOSTILE] + [
        ("good", feed_server.url("/good"))]


def test_full_hostile_set_is_bounded_in_time_and_memory(feed_server, write_config, tmp_path,
                                                        unused_port):
    feeds = _serve_hostile(feed_server)
    feeds += [("refused", f"http://127.0.0.1:{unused_port}/feed"),
              ("tls-error", feed_server.url("/good").replace("http://", "https://"))]
    _config(write_config, feeds)
    exe = Path(sys.executable).with_name("linuxreport")
    # Measure the build's own peak memory from a fresh parent process.
    probe = ("import resource, subprocess, sys, time; t = time.monotonic(); "
             "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(p.returncode, time.monotonic() - t, "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
             "print(p.stderr, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", probe, str(exe), "build", "--now", NOW],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    code, seconds, max_rss_kb = result.stdout.split()
    print(f"hostile build: {float(seconds):.1f} s, peak RSS {int(max_rss_kb) // 1024} MB")
    assert code == "0", result.stderr
    assert float(seconds) < FETCH["deadline"] + 10
    assert int(max_rss_kb) < 300 * 1024
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("Built t: 3 entries from 1/15 feeds")
    status = _status(tmp_path)
    for name, (_, reason) in HOSTILE.items():
        assert f"{name} [{reason}" in summary
        assert status[name]["error"].startswith(reason), name
        assert status[name]["status"] == "failed"
    assert "refused [connection refused]" in summary
    assert "tls-error [TLS error" in summary
    health = (tmp_path / "public/t/health/index.html").read_text()
    assert '<meta name="robots" content="noindex, nofollow">' in health
    for name in list(HOSTILE) + ["refused", "tls-error"]:
        assert f'id="health-{name}"' in health
    assert "root:" not in (tmp_path / "public/t/index.html").read_text()  # no /etc/passwd


def test_failing_hostile_feeds_keep_last_good_entries(feed_server, write_config, tmp_path):
    names = ["billion-laughs", "gzip-bomb", "login-wall", "trickle"]
    for name in names:
        feed_server.routes[f"/{name}"] = Route(_story_feed(name))
    _config(write_config, [(n, feed_server.url(f"/{n}")) for n in names])
    assert _build(tmp_path).returncode == 0
    _serve_hostile(feed_server)
    result = _build(tmp_path)
    assert result.returncode == 1  # every feed failed: the previous output stays
    assert "every feed failed; the previous output is kept" in result.stderr
    feed_server.routes["/good"] = Route(_story_feed("good"))
    _config(write_config, [(n, feed_server.url(f"/{n}")) for n in names + ["good"]])
    result = _build(tmp_path)
    assert result.returncode == 0, result.stderr
    for name in names:
        box = _box(tmp_path, name)
        assert f"{name} story 0" in box and f"{name} story 2" in box


def test_retry_after_is_honoured_and_entries_kept(feed_server, write_config, tmp_path):
    feed_server.routes["/busy"] = Route(_story_feed("busy"))
    feed_server.routes["/good"] = Route(_story_feed("good"))
    _config(write_config, [("busy", feed_server.url("/busy")),
                           ("good", feed_server.url("/good"))])
    assert _build(tmp_path).returncode == 0
    feed_server.routes["/busy"] = Route(b"slow down", status=429,
                                        headers={"Retry-After": "3600"})
    first = _build(tmp_path)
    assert first.returncode == 0
    assert "failed: busy [HTTP 429, retry after 3600 s]" in first.stderr
    assert "busy story 1" in _box(tmp_path, "busy")
    hits = len(feed_server.statuses("/busy"))
    second = _build(tmp_path, now="2026-11-20T12:30:00+0000")
    assert len(feed_server.statuses("/busy")) == hits  # not asked before the hour is up
    assert "not asked: busy [waiting until 2026-11-20 13:00 UTC]" in second.stderr
    assert "busy story 1" in _box(tmp_path, "busy")
    feed_server.routes["/busy"] = Route(_story_feed("busy"))
    third = _build(tmp_path, now="2026-11-20T13:05:00+0000")
    assert len(feed_server.statuses("/busy")) == hits + 1
    assert "Built t: 6 entries from 2/2 feeds" in third.stderr


def test_503_with_http_date_retry_after(feed_server, write_config, tmp_path):
    feed_server.routes["/maint"] = Route(b"maintenance", status=503,
                                         headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    feed_server.routes["/good"] = Route(_story_feed("good"))
    _config(write_config, [("maint", feed_server.url("/maint")),
                           ("good", feed_server.url("/good"))])
    result = _build(tmp_path)
    assert "maint [HTTP 503, retry after 86400 s]" in result.stderr  # capped at a day
    assert feed_server.statuses("/maint") == [503]  # a Retry-After is not retried at once


def test_gone_feed_stops_being_fetched_until_its_url_changes(feed_server, write_config,
                                                              tmp_path):
    feed_server.routes["/old"] = Route(_story_feed("old"))
    feed_server.routes["/good"] = Route(_story_feed("good"))
    _config(write_config, [("old", feed_server.url("/old")), ("good", feed_server.url("/good"))])
    assert _build(tmp_path).returncode == 0
    feed_server.routes["/old"] = Route(b"gone", status=410)
    first = _build(tmp_path)
    assert "old is gone (HTTP 410" in first.stderr and "remove it from the config" in first.stderr
    assert "old [HTTP 410 Gone]" in first.stderr
    second = _build(tmp_path)
    assert feed_server.statuses("/old") == [200, 410]
    assert "not asked: old [gone (HTTP 410) since 2026-11-20]" in second.stderr
    assert _status(tmp_path)["old"]["gone_since"] == "2026-11-20T12:00:00Z"
    assert "old story 0" in _box(tmp_path, "old")
    feed_server.routes["/new"] = Route(_story_feed("new"))
    _config(write_config, [("old", feed_server.url("/new")), ("good", feed_server.url("/good"))])
    third = _build(tmp_path)
    assert third.returncode == 0 and "Built t: 9 entries from 2/2 feeds" in third.stderr
    assert _status(tmp_path)["old"]["gone_since"] is None


def _latin1_feed() -> bytes:
    return ("<?xml version='1.0'?><rss version='2.0'><channel><title>l</title>"
            "<item><title>Caf\u00e9 cr\u00e8me \u00fcber alles</title>"
            "<link>https://l.example.org/1</link></item></channel></rss>").encode("latin-1")


def _mixed_feed() -> bytes:
    good = "<item><title>Na\u00efve r\u00e9sum\u00e9s \u2014 part 2</title>" \
           "<link>https://m.example.org/1</link></item>"
    body = ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>m</title>"
            + good).encode("utf-8")
    latin = "<item><title>Gar\u00e7on</title><link>https://m.example.org/2</link></item>"
    return body + latin.encode("latin-1") + b"</channel></rss>"


@pytest.mark.parametrize("body, content_type, expected", [
    (_latin1_feed(), "application/rss+xml; charset=utf-8",
     "Caf\u00e9 cr\u00e8me \u00fcber alles"),
    (_latin1_feed(), "application/rss+xml", "Caf\u00e9 cr\u00e8me \u00fcber alles"),
    (b"\xef\xbb\xbf" + _story_feed("bom").replace(b"bom story 0", "B\u00f6m".encode()),
     "application/rss+xml", "B\u00f6m"),
    (_mixed_feed(), "application/rss+xml; charset=utf-8",
     "Na\u00efve r\u00e9sum\u00e9s \u2014 part 2"),
])
def test_charsets_come_out_as_meant(feed_server, write_config, tmp_path, body, content_type,
                                    expected):
    feed_server.routes["/cs"] = Route(body, content_type=content_type)
    _config(write_config, [("cs", feed_server.url("/cs"))])
    result = _build(tmp_path)
    assert result.returncode == 0, result.stderr
    box = _box(tmp_path, "cs")
    assert f">{expected}</a>" in box
    assert "\u00c3" not in box and "\u00e2\u20ac" not in box  # no mojibake


def test_content_oddities(feed_server, write_config, tmp_path):
    long_title = "Kernel " + "scheduling " * 40
    items = [
        ("Future story", "https://o.example.org/future", "Tue, 10 Nov 2099 10:00:00 GMT"),
        ("Dup one", "https://o.example.org/dup", DATE),
        ("Dup two", "https://o.example.org/dup", DATE),
        (long_title, "https://o.example.org/long", DATE),
        ("Relative", "/relative/story", DATE),
    ] + [(f"Filler {i}", f"https://o.example.org/f{i}", DATE) for i in range(20)]
    feed_server.routes["/odd"] = Route(rss("odd", items, link="https://o.example.org/"))
    feed_server.routes["/other"] = Route(rss("other", [
        ("Same story elsewhere", "http://www.o.example.org/dup/?utm_source=x#c", DATE),
        ("Own story", "https://x.example.org/own", DATE)]))
    _config(write_config, [("odd", feed_server.url("/odd")),
                           ("other", feed_server.url("/other"))], entries_shown=5)
    assert _build(tmp_path).returncode == 0
    odd = _box(tmp_path, "odd")
    assert odd.count("<li>") == 5  # a new feed does not flood the page
    first = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', odd.split("<ul")[1])
    assert first[0][1] == "Future story"  # clamped to when we first saw it: newest
    state = json.loads((tmp_path / ".state/t/feeds/odd.json").read_text())
    dups = [e["title"] for e in state["entries"] if e["link"].endswith("/dup")]
    assert dups == ["Dup one"]  # the same id twice in one feed collapses
    future = next(e for e in state["entries"] if e["title"] == "Future story")
    assert future["published"] == "2026-11-20T12:00:00+00:00"
    titles = {e["title"] for e in state["entries"]}
    shortened = next(t for t in titles if t.startswith("Kernel "))
    assert len(shortened) <= 200 and shortened.endswith("scheduling…")
    assert any(e["link"] == feed_server.url("/relative/story") for e in state["entries"])
    other = _box(tmp_path, "other")
    assert "Same story elsewhere" not in other and "Own story" in other


def test_missing_dates_sort_by_first_seen(feed_server, write_config, tmp_path):
    feed_server.routes["/nodate"] = Route(
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>n</title>"
        b"<item><title>Undated A</title><link>https://n.example.org/a</link></item>"
        b"</channel></rss>")
    _config(write_config, [("nodate", feed_server.url("/nodate"))])
    assert _build(tmp_path).returncode == 0
    feed_server.routes["/nodate"] = Route(
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>n</title>"
        b"<item><title>Undated A</title><link>https://n.example.org/a</link></item>"
        b"<item><title>Undated B</title><link>https://n.example.org/b</link></item>"
        b"</channel></rss>")
    assert _build(tmp_path, now="2026-11-20T13:00:00+0000").returncode == 0
    box = _box(tmp_path, "nodate")
    assert box.index("Undated B") < box.index("Undated A")  # B was seen later: newer


def test_strict_makes_any_feed_failure_fatal(feed_server, write_config, tmp_path):
    feed_server.routes["/good"] = Route(_story_feed("good"))
    feed_server.routes["/bad"] = Route(b"nope", status=404)
    _config(write_config, [("good", feed_server.url("/good")), ("bad", feed_server.url("/bad"))])
    strict = _build(tmp_path, "--strict")
    assert strict.returncode == 1
    assert "t: 1 of 2 feeds failed (--strict); the previous output is kept" in strict.stderr
    assert not (tmp_path / "public/t").exists()
    assert _build(tmp_path).returncode == 0


def test_failed_share_over_the_limit_keeps_the_output(feed_server, write_config, tmp_path):
    feed_server.routes["/good"] = Route(_story_feed("good"))
    for name in ("a", "b"):
        feed_server.routes[f"/{name}"] = Route(b"nope", status=404)
    feeds = [("good", feed_server.url("/good")), ("a", feed_server.url("/a")),
             ("b", feed_server.url("/b"))]
    _config(write_config, feeds, max_failed_share=0.5)
    result = _build(tmp_path)
    assert result.returncode == 1
    assert "t: 2 of 3 feeds failed, over max_failed_share 0.5" in result.stderr


def test_corrupt_state_is_set_aside_and_others_unaffected(feed_server, write_config, tmp_path):
    for name in ("one", "two"):
        feed_server.routes[f"/{name}"] = Route(_story_feed(name))
    _config(write_config, [("one", feed_server.url("/one")), ("two", feed_server.url("/two"))])
    assert _build(tmp_path).returncode == 0
    state = tmp_path / ".state/t/feeds/one.json"
    state.write_bytes(state.read_bytes()[:40])
    result = _build(tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{Path('.state/t/feeds/one.json')}: corrupt state" in result.stderr
    assert (tmp_path / ".state/t/feeds/one.json.corrupt-1").is_file()
    assert "Built t: 6 entries from 2/2 feeds" in result.stderr


def test_build_killed_at_any_moment_leaves_output_and_state_intact(tmp_path):
    import shutil
    import signal

    shutil.copytree(ROOT / "config", tmp_path / "config")
    assert run_cli("build", "demo", "--now", NOW, cwd=tmp_path).returncode == 0
    out = tmp_path / "public" / "demo"
    exe = Path(sys.executable).with_name("linuxreport")
    for delay in (0.2, 0.35, 0.5, 0.65, 0.8, 1.0):
        (tmp_path / "config/demo-feeds/hn.xml").write_text(
            (ROOT / "config/demo-feeds/hn.xml").read_text().replace(
                "</channel>", f"<item><title>Kill {delay}</title><link>https://k.example.org/"
                              f"{delay}</link></item></channel>"))
        proc = subprocess.Popen([str(exe), "build", "demo", "--now", NOW], cwd=tmp_path,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for state_file in (tmp_path / ".state/demo/feeds").glob("*.json"):
            json.loads(state_file.read_text())  # never half-written
        if out.exists():  # the old tree, or the complete new one
            manifest = json.loads((out / ".linuxreport/manifest.json").read_text())
            for path in manifest["files"]:
                assert (out / path).is_file(), path
    result = run_cli("build", "demo", "--now", NOW, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Kill 1.0" in (out / "index.html").read_text()
    assert not list(tmp_path.glob("public/.demo.*"))

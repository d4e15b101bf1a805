"""What a reader of the demo report sees and keeps, in a real browser (headless Chromium).

The demo report is built once through the CLI and served on 127.0.0.1. Every test opens a
fresh browser context (so localStorage starts empty) and checks what a reader would notice:
settings that survive a reload and apply before the first paint, feed boxes that stay
hidden or moved until reset, paging, the all-stories list, the column layout, auto-refresh
after a new build, the page without JavaScript, a clean console on every page, the
machine-readable files, and screenshots for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
import yaml
from conftest import ROOT, run_cli
from playwright.sync_api import expect

from linuxreport.serve import make_server

NOW = "2026-11-21T08:00:00+0000"
SCREENSHOTS = ROOT / "test-output" / "screenshots"
DARK_BG = "rgb(18, 18, 18)"  # --bg of the dark theme
LIGHT_BG = "rgb(255, 255, 255)"

# The feed boxes a reader can see, in the order they appear.
VISIBLE_KEYS = """() => [...document.querySelectorAll('.columns > .feed[data-key]')]
  .filter(box => box.checkVisibility()).map(box => box.dataset.key)"""
# The entries of one box a reader can see: [link, title] pairs.
VISIBLE_ENTRIES = """box => [...box.querySelectorAll('.entries > li')]
  .filter(li => li.checkVisibility())
  .map(li => [li.querySelector('a').href, li.textContent.trim()])"""
# Served in place of a script at the very start of <body>: what the parser had applied by
# then, before any of the page's content exists and so before anything can be painted.
PROBE_JS = """window.__lrAtBody = (function () {
  var root = document.documentElement;
  return {theme: root.getAttribute('data-theme'), font: root.getAttribute('data-font'),
          underline: root.hasAttribute('data-underline'),
          bg: getComputedStyle(root).getPropertyValue('--bg').trim(),
          font_stack: getComputedStyle(root).getPropertyValue('--font').trim(),
          content_parsed: !!document.querySelector('.masthead')};
})();"""
# Pretends the tab is hidden while window.__lrHidden is true (headless tabs are always
# visible, and Chromium offers no switch for it).
HIDDEN_TAB_JS = """for (const [name, value] of [['visibilityState', h => h ? 'hidden' : 'visible'],
                                  ['hidden', h => !!h]]) {
  Object.defineProperty(Document.prototype, name,
                        {configurable: true, get() { return value(window.__lrHidden); }});
}"""


@dataclass
class Site:
    url: str  # the front page, ending in "/"
    out: Path  # the built report dir being served
    status: dict  # status.json
    config: dict  # config/demo.yaml

    def titles(self) -> dict[str, str]:
        return {feed["key"]: feed["title"] for feed in self.status["feeds"]}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    """Build the demo report through the real CLI into a tmp dir and serve it."""
    tmp = tmp_path_factory.mktemp("reader")
    shutil.copytree(ROOT / "config", tmp / "config")
    result = run_cli("build", "demo", "--now", NOW, cwd=tmp)
    assert result.returncode == 0, result.stderr
    out = tmp / "public" / "demo"
    server = make_server(out, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(url=f"http://127.0.0.1:{server.server_port}/", out=out,
                   status=json.loads((out / "status.json").read_text()),
                   config=yaml.safe_load((tmp / "config" / "demo.yaml").read_text()))
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def reader(browser, width: int = 1280, height: int = 900, **options):
    """A page in a fresh context (empty localStorage, light system theme, service workers
    blocked so Playwright sees every request). The console must stay clean throughout."""
    settings = {"service_workers": "block", "color_scheme": "light", "locale": "en-US",
                "timezone_id": "UTC", **options}
    context = browser.new_context(viewport={"width": width, "height": height}, **settings)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(
        f"console: {m.text} (at {m.location.get('url') or '?'})"))
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    try:
        yield page
        assert not errors, "\n".join(errors)
    finally:
        context.close()


def box(page, key: str):
    return page.locator(f'.columns > .feed[data-key="{key}"]')


def storage(page, key: str) -> str | None:
    return page.evaluate("key => localStorage.getItem(key)", key)


def body_style(page, prop: str) -> str:
    return page.evaluate("p => getComputedStyle(document.body)[p]", prop)


# ---- 1. Theme, font and underline ----

def test_theme_font_and_underline_persist_and_apply_before_first_paint(browser, site):
    with reader(browser) as page:
        # A script at the start of <body> records what was applied when parsing reached it.
        def with_probe(route):
            response = route.fetch()
            html = response.text()
            assert html.count("<body>") == 1
            route.fulfill(response=response, body=html.replace(
                "<body>", '<body><script src="/__probe.js"></script>', 1))

        page.route(site.url, with_probe)
        page.route("**/__probe.js", lambda route: route.fulfill(
            body=PROBE_JS, content_type="text/javascript"))
        page.goto(site.url)
        assert page.evaluate("localStorage.length") == 0
        first = page.evaluate("window.__lrAtBody")
        assert first["content_parsed"] is False
        assert first == {**first, "theme": "light", "font": None, "underline": False,
                         "bg": "#ffffff"}
        assert body_style(page, "backgroundColor") == LIGHT_BG

        panel = page.locator("#lr-settings")
        expect(panel).to_be_hidden()
        page.locator("#lr-settings-toggle").click()
        expect(panel).to_be_visible()
        expect(page.locator("#lr-settings-toggle")).to_have_attribute("aria-expanded", "true")
        page.select_option("#lr-theme", "dark")
        page.select_option("#lr-font", "serif")
        page.check("#lr-underline")
        # Applied at once, without a reload.
        assert body_style(page, "backgroundColor") == DARK_BG
        assert body_style(page, "fontFamily").startswith("Charter")
        first_link = page.locator(".columns .entries a").first
        assert first_link.evaluate("a => getComputedStyle(a).textDecorationLine") == "underline"
        assert (storage(page, "lr-theme"), storage(page, "lr-font"),
                storage(page, "lr-underline")) == ("dark", "serif", "1")

        page.reload()
        at_body = page.evaluate("window.__lrAtBody")
        assert at_body["content_parsed"] is False
        assert at_body["theme"] == "dark" and at_body["font"] == "serif" and at_body["underline"]
        assert at_body["bg"] == "#121212"  # the stylesheet's dark colours are already in force
        assert at_body["font_stack"].startswith("Charter")
        assert body_style(page, "backgroundColor") == DARK_BG
        assert body_style(page, "fontFamily").startswith("Charter")
        assert first_link.evaluate("a => getComputedStyle(a).textDecorationLine") == "underline"
        # The controls show the saved choices, and the meta theme colour follows the theme.
        expect(page.locator("#lr-theme")).to_have_value("dark")
        expect(page.locator("#lr-font")).to_have_value("serif")
        expect(page.locator("#lr-underline")).to_be_checked()
        expect(page.locator('meta[name="theme-color"]')).to_have_attribute("content", DARK_BG)

        # Other pages of the site open with the same settings.
        page.goto(site.url + "all/")
        assert page.evaluate("[document.documentElement.dataset.theme, "
                             "document.documentElement.dataset.font]") == ["dark", "serif"]
        assert body_style(page, "backgroundColor") == DARK_BG


def test_theme_follows_the_system_until_the_reader_picks_one(browser, site):
    with reader(browser, color_scheme="dark") as page:
        page.goto(site.url)
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert body_style(page, "backgroundColor") == DARK_BG
        page.locator("#lr-settings-toggle").click()
        expect(page.locator("#lr-theme")).to_have_value("auto")
        page.select_option("#lr-theme", "light")
        page.reload()
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        assert body_style(page, "backgroundColor") == LIGHT_BG
        page.locator("#lr-settings-toggle").click()
        page.select_option("#lr-theme", "auto")
        assert storage(page, "lr-theme") is None
        page.reload()
        assert body_style(page, "backgroundColor") == DARK_BG


# ---- 2. Hiding and reordering feed boxes ----

def test_hidden_and_moved_boxes_stay_so_across_reloads_until_reset(browser, site):
    titles = site.titles()
    k = list(titles)  # the configured order
    assert len(k) == 10
    with reader(browser) as page:
        page.goto(site.url)
        assert page.evaluate("localStorage.length") == 0
        assert page.evaluate(VISIBLE_KEYS) == k
        hidden_bar = page.locator("#lr-hidden-feeds")
        expect(hidden_bar).to_be_hidden()

        box(page, k[0]).locator('[data-act="down"]').click()
        box(page, k[9]).locator('[data-act="up"]').click()
        box(page, k[2]).get_by_role("button", name=f"Hide {titles[k[2]]}").click()
        box(page, k[4]).get_by_role("button", name=f"Hide {titles[k[4]]}").click()
        moved = [k[1], k[0], k[3], k[5], k[6], k[7], k[9], k[8]]
        assert page.evaluate(VISIBLE_KEYS) == moved
        expect(page.locator("#lr-status")).to_have_text(
            f"{titles[k[4]]} hidden. Show it again from the list of hidden feeds above the "
            f"columns.")
        show_buttons = hidden_bar.locator("button[data-show]")
        expect(show_buttons).to_have_text([f"Show {titles[k[2]]}", f"Show {titles[k[4]]}"])

        page.reload()
        assert page.evaluate(VISIBLE_KEYS) == moved
        expect(show_buttons).to_have_text([f"Show {titles[k[2]]}", f"Show {titles[k[4]]}"])
        # The first box cannot go further up, the last cannot go further down.
        expect(box(page, moved[0]).locator('[data-act="up"]')).to_have_attribute(
            "aria-disabled", "true")
        expect(box(page, moved[-1]).locator('[data-act="down"]')).to_have_attribute(
            "aria-disabled", "true")

        # One hidden feed shown again comes back where it was.
        show_buttons.filter(has_text=titles[k[4]]).click()
        shown_again = [k[1], k[0], k[3], k[4], k[5], k[6], k[7], k[9], k[8]]
        assert page.evaluate(VISIBLE_KEYS) == shown_again
        page.reload()
        assert page.evaluate(VISIBLE_KEYS) == shown_again
        expect(show_buttons).to_have_text([f"Show {titles[k[2]]}"])

        # Reset from the settings panel: every box, in the configured order, for good.
        page.locator("#lr-settings-toggle").click()
        page.locator("#lr-reset").click()
        assert page.evaluate(VISIBLE_KEYS) == k
        expect(hidden_bar).to_be_hidden()
        assert storage(page, "lr-order") is None and storage(page, "lr-hidden") is None
        page.reload()
        assert page.evaluate(VISIBLE_KEYS) == k
        expect(hidden_bar).to_be_hidden()

        # The reset button in the hidden-feeds bar does the same.
        box(page, k[3]).locator('[data-act="hide"]').click()
        box(page, k[5]).locator('[data-act="up"]').click()
        assert page.evaluate(VISIBLE_KEYS) == [k[0], k[1], k[2], k[5], k[4], *k[6:]]
        hidden_bar.get_by_role("button", name="Reset feed layout").click()
        assert page.evaluate(VISIBLE_KEYS) == k
        page.reload()
        assert page.evaluate(VISIBLE_KEYS) == k


# ---- 3. Paging through a box ----

def test_paging_through_a_box_shows_other_entries_and_counts_pages(browser, site):
    feed = max(site.status["feeds"], key=lambda f: f["entries"])
    key, total = feed["key"], feed["entries"]
    with reader(browser) as page:
        page.goto(site.url)
        section = box(page, key)
        per = int(section.get_attribute("data-shown"))
        pages = -(-total // per)
        assert pages >= 2, "the demo needs a box with more than one page"
        newer, older = section.locator('[data-act="newer"]'), section.locator('[data-act="older"]')
        page_no = section.locator(".page-no")
        expect(page_no).to_have_text(f"1 / {pages}")
        expect(newer).to_be_disabled()
        expect(section.locator(".more")).to_be_hidden()  # paging replaces the no-JS link
        first_page = section.evaluate(VISIBLE_ENTRIES)
        assert len(first_page) == per

        seen = list(first_page)
        for number in range(2, pages + 1):
            older.click()
            expect(page_no).to_have_text(f"{number} / {pages}")
            shown = section.evaluate(VISIBLE_ENTRIES)
            assert shown and not set(map(tuple, shown)) & set(map(tuple, seen))
            seen += shown
        expect(older).to_be_disabled()
        expect(newer).to_be_enabled()
        assert len(seen) == total == section.locator(".entries > li").count()
        expect(page.locator("#lr-status")).to_have_text(f"{feed['title']}: page {pages} of "
                                                        f"{pages}.")

        # By keyboard: the focus stays on an enabled button at either end.
        newer.focus()
        for _ in range(pages - 1):
            page.keyboard.press("Enter")
        expect(page_no).to_have_text(f"1 / {pages}")
        assert section.evaluate(VISIBLE_ENTRIES) == first_page
        expect(newer).to_be_disabled()
        expect(older).to_be_focused()
        page.keyboard.press("Enter")
        expect(page_no).to_have_text(f"2 / {pages}")


# ---- 4. All stories ----

def test_all_stories_lists_every_entry_newest_first(browser, site):
    kept = sum(feed["entries"] for feed in site.status["feeds"])
    with reader(browser) as page:
        page.goto(site.url)
        front = page.eval_on_selector_all(".columns .entries > li a", "as => as.map(a => a.href)")
        page.goto(site.url + "all/")
        stories = page.eval_on_selector_all(".story-list > li", """lis => lis.map(li => ({
            href: li.querySelector('a').href,
            feed: li.querySelector('.story-meta').firstChild.textContent.replace(/,\\s*$/, ''),
            when: (li.querySelector('time[datetime]') || {}).dateTime}))""")
    assert len(stories) == kept == len(front)
    assert Counter(s["href"] for s in stories) == Counter(front)
    assert Counter(s["feed"] for s in stories) == {
        feed["title"]: feed["entries"] for feed in site.status["feeds"]}
    assert all(s["when"] for s in stories), [s for s in stories if not s["when"]]
    times = [datetime.fromisoformat(s["when"]) for s in stories]
    assert times == sorted(times, reverse=True)
    assert all(urlsplit(s["href"]).scheme in ("http", "https") for s in stories)


def test_times_show_how_long_ago_and_the_local_time(browser, site):
    with reader(browser, timezone_id="America/New_York") as page:
        page.clock.install(time=datetime(2026, 11, 21, 11, 0, tzinfo=UTC))
        page.goto(site.url + "all/")
        times = page.eval_on_selector_all(
            ".story-list time", "ts => ts.map(t => [t.dateTime, t.textContent, t.title])")
    assert times
    for when, text, title in times:
        title = title.replace("\u202f", " ")
        if when == "2026-11-21T08:00:00Z":
            assert (text, title) == ("3 h ago", "Nov 21, 2026, 3:00 AM")
        else:
            assert re.fullmatch(r"\d+ (min|h|d) ago|just now|[A-Z][a-z]{2} \d{1,2}, \d{4}",
                                text), text
            assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d [AP]M", title), title


# ---- 5. Columns ----

def _box_rects(page) -> list[dict]:
    return page.eval_on_selector_all(".columns > .feed", """bs => bs.map(b => {
        const r = b.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width}; })""")


@pytest.mark.parametrize(("width", "height", "columns"), [(390, 800, 1), (1280, 900, 3)])
def test_columns_for_phone_and_desktop(browser, site, width, height, columns):
    with reader(browser, width, height) as page:
        page.goto(site.url)
        rects = _box_rects(page)
        # No sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert len(rects) == 10
    xs = sorted({round(r["x"]) for r in rects})
    assert len(xs) == columns, xs
    for row in range(0, len(rects), columns):  # boxes fill rows left to right
        line = rects[row:row + columns]
        assert [round(r["x"]) for r in line] == xs[:len(line)]
        assert len({round(r["y"]) for r in line}) == 1
    if columns == 1:
        assert all(r["w"] >= width - 48 for r in rects)
    else:
        assert all(r["w"] < width / columns for r in rects)


# ---- 6. Auto-refresh ----

@contextmanager
def new_build_published(out: Path) -> Iterator[None]:
    """Change version.json as a new build would; put the original back afterwards."""
    path = out / "version.json"
    original, stat = path.read_bytes(), path.stat()
    try:
        path.write_text(json.dumps({"version": "0123456789abcdef"}))
        # The preview server's Last-Modified has whole seconds: keep the change visible to
        # the browser's conditional request even if it lands within the build's second.
        os.utime(path, (stat.st_atime + 5, stat.st_mtime + 5))
        yield
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def _open_with_fake_clock(page, url: str) -> list[str]:
    """Open url under Playwright's clock once the page has learnt the current version;
    return the list that collects later version.json requests."""
    page.clock.install()
    with page.expect_response(lambda r: r.url.endswith("/version.json")) as first:
        page.goto(url)
    first.value.finished()
    page.wait_for_timeout(250)  # the page reads the JSON in a promise chain
    checks: list[str] = []
    page.on("request", lambda r: r.url.endswith("/version.json") and checks.append(r.url))
    page.evaluate("window.__lrMarker = 'before'")
    return checks


def test_auto_refresh_reloads_after_a_new_build(browser, site):
    with reader(browser) as page:
        checks = _open_with_fake_clock(page, site.url)
        minutes = site.config.get("refresh_minutes", 5)
        expect(page.locator('meta[name="lr-refresh-minutes"]')).to_have_attribute(
            "content", str(minutes))
        assert minutes < 6
        with new_build_published(site.out):
            with page.expect_navigation(timeout=5000):
                page.clock.fast_forward("06:00")
            assert page.evaluate("window.__lrMarker") is None  # a new document
            assert checks
        assert page.url == site.url
        expect(page.locator(".columns > .feed")).to_have_count(10)


def test_auto_refresh_keeps_the_page_when_nothing_changed(browser, site):
    with reader(browser) as page:
        checks = _open_with_fake_clock(page, site.url)
        navigations: list[str] = []
        page.on("framenavigated", lambda f: f == page.main_frame and navigations.append(f.url))
        with page.expect_response(lambda r: r.url.endswith("/version.json")) as check:
            page.clock.fast_forward("06:00")
        check.value.finished()
        with page.expect_response(lambda r: r.url.endswith("/version.json")) as check:
            page.clock.fast_forward("06:00")
        check.value.finished()
        page.wait_for_timeout(300)
        assert len(checks) == 2
        assert navigations == []
        assert page.evaluate("window.__lrMarker") == "before"


def test_auto_refresh_waits_while_the_tab_is_hidden(browser, site):
    with reader(browser) as page:
        page.add_init_script(HIDDEN_TAB_JS)
        checks = _open_with_fake_clock(page, site.url)
        with new_build_published(site.out):
            page.evaluate("window.__lrHidden = true; "
                          "document.dispatchEvent(new Event('visibilitychange'))")
            page.clock.run_for("16:00")  # three checks would have been due
            page.wait_for_timeout(300)
            assert checks == []
            assert page.evaluate("window.__lrMarker") == "before"
            # Back in view: it checks at once, sees the new build and reloads.
            with page.expect_navigation(timeout=5000):
                page.evaluate("window.__lrHidden = false; "
                              "document.dispatchEvent(new Event('visibilitychange'))")
            assert page.evaluate("window.__lrMarker") is None


# ---- 7. Without JavaScript ----

def test_page_works_without_javascript(browser, site):
    titles = site.titles()
    with reader(browser, java_script_enabled=False) as page:
        page.goto(site.url)
        expect(page.locator("html")).to_have_class("no-js")
        expect(page.locator("#lr-settings-toggle")).to_be_hidden()
        expect(page.locator("#lr-settings")).to_be_hidden()
        expect(page.locator("#lr-hidden-feeds")).to_be_hidden()
        expect(page.locator(".columns > .feed")).to_have_count(len(titles))
        rest: list[str] = []
        for feed in site.status["feeds"]:
            section = box(page, feed["key"])
            expect(section).to_be_visible()
            expect(section.locator(".feed-title")).to_have_text(feed["title"])
            expect(section.locator(".feed-tools")).to_be_hidden()
            expect(section.locator(".pager")).to_be_hidden()
            per = int(section.get_attribute("data-shown"))
            entries = section.locator(".entries > li")
            expect(entries).to_have_count(feed["entries"])
            first_page = min(per, feed["entries"])
            for i in range(feed["entries"]):
                if i < first_page:
                    expect(entries.nth(i)).to_be_visible()
                else:
                    expect(entries.nth(i)).to_be_hidden()
                    rest.append(entries.nth(i).locator("a").get_attribute("href"))
            more = section.locator(".more a")
            if feed["entries"] > per:
                expect(more).to_be_visible()
                expect(more).to_have_text(f"{feed['entries'] - per} more from {feed['title']} "
                                          f"in all stories")
                assert urljoin(site.url, more.get_attribute("href")) == site.url + "all/"
            else:
                expect(more).to_have_count(0)
        assert rest, "the demo needs a box with more entries than its first page"
        # The rest is reachable: the link leads to every entry not on a first page.
        page.locator(".more a").first.click()
        page.wait_for_url(site.url + "all/")
        on_all = set(page.eval_on_selector_all(".story-list a", "as => as.map(a => "
                                                                "a.getAttribute('href'))"))
        assert set(rest) <= on_all
        expect(page.locator(".story-list > li").first).to_be_visible()
        # Without JavaScript the page still follows the system's dark preference.
        assert body_style(page, "backgroundColor") == LIGHT_BG
        page.emulate_media(color_scheme="dark")
        assert body_style(page, "backgroundColor") == DARK_BG


# ---- 8. A clean console on every page ----

def test_no_console_or_page_errors_on_any_page(browser, site):
    pages = sorted(p.relative_to(site.out).as_posix() for p in site.out.rglob("*.html"))
    assert pages == ["404.html", "about/index.html", "all/index.html", "archive/index.html",
                     "health/index.html", "index.html"]
    failed: list[str] = []
    # Service workers allowed, as for a real reader: the site registers one.
    with reader(browser, service_workers="allow") as page:
        page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
        page.on("requestfailed", lambda r: failed.append(f"{r.failure} {r.url}"))
        for path in pages:
            url = site.url + path.removesuffix("index.html")
            response = page.goto(url)
            assert response and response.ok, (url, response and response.status)
            page.wait_for_load_state("networkidle")
            assert page.title(), url
            expect(page.locator("main")).to_be_visible()
        page.goto(site.url)
        assert page.evaluate("""() => Promise.race([
            navigator.serviceWorker.ready.then(r => !!r.active),
            new Promise(done => setTimeout(() => done(false), 5000))])""")
    assert not failed, failed


def test_front_page_opens_offline_after_a_visit(browser, site):
    with reader(browser, service_workers="allow") as page:
        page.goto(site.url)
        assert page.evaluate("""() => Promise.race([
            navigator.serviceWorker.ready.then(r => !!r.active),
            new Promise(done => setTimeout(() => done(false), 5000))])""")
        page.context.set_offline(True)
        page.reload()
        expect(page.locator(".columns > .feed")).to_have_count(10)
        assert body_style(page, "backgroundColor") == LIGHT_BG  # the stylesheet came too


# ---- 9. Atom, JSON Feed, OPML, sitemap, robots.txt ----

def _page_for(site: Site, url: str) -> Path:
    base = site.config["base_url"]
    assert url.startswith(base), url
    path = site.out / url.removeprefix(base)
    return path / "index.html" if url.endswith("/") else path


def test_atom_feed_parses_and_links_out(site):
    parsed = feedparser.parse((site.out / "feed.xml").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == site.config["title"]
    assert parsed.entries
    for entry in parsed.entries:
        assert entry.title and urlsplit(entry.link).scheme in ("http", "https"), entry
    links = {link.rel: link.href for link in parsed.feed.links}
    assert _page_for(site, links["alternate"]).is_file()
    assert _page_for(site, links["self"]) == site.out / "feed.xml"


def test_json_feed_has_version_and_items(site):
    feed = json.loads((site.out / "headlines.json").read_text())
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == site.config["title"]
    assert feed["items"]
    for item in feed["items"]:
        assert item["id"] and item["title"]
        assert urlsplit(item["url"]).scheme in ("http", "https"), item
    assert _page_for(site, feed["home_page_url"]).is_file()
    assert _page_for(site, feed["feed_url"]) == site.out / "headlines.json"


def test_opml_lists_every_configured_feed(site):
    root = ET.parse(site.out / "sources.opml").getroot()
    assert root.tag == "opml" and root.get("version") == "2.0"
    outlines = root.findall("./body//outline[@xmlUrl]")
    assert [(o.get("title"), o.get("xmlUrl"), o.get("htmlUrl")) for o in outlines] == [
        (f["title"], f["url"], f["site"]) for f in site.config["feeds"]]


def test_sitemap_and_robots_point_at_pages_that_exist(site):
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [loc.text for loc in ET.parse(site.out / "sitemap.xml").getroot().findall(
        "s:url/s:loc", ns)]
    assert site.config["base_url"] in locs
    assert {site.config["base_url"] + p for p in ("all/", "archive/", "about/")} <= set(locs)
    missing = [loc for loc in locs if not _page_for(site, loc).is_file()]
    assert not missing, missing
    robots = (site.out / "robots.txt").read_text().splitlines()
    assert f"Sitemap: {site.config['base_url']}sitemap.xml" in robots


# ---- 10. Screenshots ----

def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("name", "width", "height"), [("desktop", 1280, 900),
                                                       ("phone", 390, 800)])
def test_front_page_screenshots(browser, site, name, width, height, scheme):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"front-{name}-{scheme}.png"
    path.unlink(missing_ok=True)
    with reader(browser, width, height, color_scheme=scheme) as page:
        # An hour after the build, so the times read as on a fresh report, run after run.
        page.clock.install(time=datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
        page.goto(site.url)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.dataset.theme") == scheme
        assert body_style(page, "backgroundColor") == (DARK_BG if scheme == "dark"
                                                       else LIGHT_BG)
        page.screenshot(path=path, full_page=True, animations="disabled")
        full_height = page.evaluate("document.documentElement.scrollHeight")
    data = path.read_bytes()
    assert _png_size(data) == (width, full_height)
    assert full_height > height  # the whole page, not just the first screen
    assert len(data) > 50_000, f"{path} is suspiciously small ({len(data)} bytes)"

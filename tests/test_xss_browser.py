"""Hostile feeds and config build pages that stay inert in a real browser (headless Chromium).

Three feeds (RSS 2.0, Atom 1.0, RSS 1.0/RDF in tests/fixtures/xss/) carry XSS vectors in
every field, the report's YAML carries them in every free-text field, and one feed fails
with a script-laden HTML page. The built site is served over HTTP and every page is loaded
in Chromium: no dialog may fire (not on load, not on clicking any link), no event-handler
attribute, inline script, frame, object or form may exist, every URL must be http(s), the
CSP meta tag must come first, and the console must stay clean. The hostile titles must
still be on the page as visible text, so escaping is proven rather than everything dropped.
A control page with the same vectors unescaped must trip every one of these detectors.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from conftest import FAST_FETCH, ROOT, run_cli
from feedserver import FeedServer, Route

from linuxreport.serve import make_server

NOW = "2026-11-21T08:00:00+0000"
FIXTURES = ROOT / "tests" / "fixtures" / "xss"
CSP_DIRECTIVES = ("script-src 'self'", "object-src 'none'", "base-uri 'none'")
FORBIDDEN_TAGS = "iframe, frame, frameset, object, embed, applet, form, base, style, " \
                 "meta[http-equiv='refresh' i]"
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "poster", "srcset", "data",
                  "xlink:href", "background", "cite", "ping", "srcdoc")
OUR_SCRIPT = re.compile(r"/assets/(?:site|boot)-[0-9a-f]{8}\.js")
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")  # 1x1 GIF

REPORT_TITLE = "<script>alert('report-title')</script> Report"
REPORT_DESCRIPTION = "\"><img src=x onerror=alert('report-description')>"
HEADLINE_TITLE = "<img src=x onerror=alert('headline-title')>"
HEADLINE_URL = "https://headline.example.org/?q=\"><script>alert('headline-url')</script>"
FEED_TITLES = {
    "rss2": "<img src=x onerror=alert(1)>",
    "atom": "\"><script>alert('feed-title-atom')</script>",
    "rdf": "<svg onload=alert('feed-title-rdf')>",
    "broken": "</span></h2><script>alert('feed-title-broken')</script>",
}
# Where each feed is served; the health page shows these, and where the redirect went.
FEED_PATHS = {"rss2": "/rss2?x=\"><script>alert('feed-url')</script>", "atom": "/atom",
              "rdf": "/rdf-old", "broken": "/broken"}
MISSING_PAGE = "no/such/dir/page.html"
REDIRECT_TO = "/rdf?x=\"><svg onload=alert('redirect')>"
# Entry titles as a reader must see them: the markup is text, not elements.
ENTRY_TITLES = [
    "RSS escaped <img src=x onerror=alert('rss-title-entity')> title",
    "RSS CDATA <script>alert('rss-title-cdata')</script>script title",
    "RSS quote \"><script>alert('rss-title-quote')</script> title",
    "RSS double-escaped <img src=x onerror=alert('rss-title-double')> title",
    "Atom text <img src=x onerror=alert(1)> title",
    "RDF <img src=x onerror=alert('rdf-title')> title",
    "RDF CDATA \"><svg onload=alert('rdf-title-cdata')> title",
]
# Links that must survive as one intact attribute value (quotes and brackets included).
ENTRY_LINKS = [
    "https://rss.example.org/2?q=\"><script>alert('rss-link-query')</script>",
    "https://rss.example.org/3#\"onmouseover=\"alert('rss-link-fragment')",
    "https://rdf.example.org/2?x=1&y=\"><img src=x onerror=alert('rdf-link-query')>",
]

# Everything a page can reveal about markup that escaped: run in the page, after load.
SCAN_JS = """([forbiddenTags, urlAttributes]) => {
  const all = [...document.querySelectorAll('*')];
  const describe = el => '<' + el.localName + [...el.attributes].map(
      a => ' ' + a.name + '="' + a.value + '"').join('') + '>';
  const handlers = [], styles = [], urls = [];
  for (const el of all) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on')) handlers.push(describe(el));
      if (name === 'style') styles.push(describe(el));
      if (urlAttributes.includes(name)) {
        let resolved = attr.value;
        try { resolved = new URL(attr.value, document.baseURI).href; } catch (e) {}
        urls.push({element: describe(el), tag: el.localName, name, value: attr.value,
                   resolved, rel: (el.getAttribute('rel') || '').toLowerCase()});
      }
    }
  }
  const csp = [...document.querySelectorAll("meta[http-equiv='Content-Security-Policy' i]")];
  const firstLoad = document.querySelector('script, link[rel~=stylesheet], style, body');
  return {
    handlers, styles, urls,
    scripts: [...document.scripts].map(s => ({src: s.src, text: s.textContent})),
    forbidden: [...document.querySelectorAll(forbiddenTags)].map(describe),
    csp: csp.map(m => m.getAttribute('content')),
    cspFirst: csp.length === 1 && csp[0].parentElement === document.head && !!firstLoad &&
      !!(csp[0].compareDocumentPosition(firstLoad) & Node.DOCUMENT_POSITION_FOLLOWING),
  };
}"""


@dataclass
class Inspection:
    """What loading one URL in Chromium (and clicking every link on it) revealed."""

    url: str
    status: int | None = None
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)
    scan: dict = field(default_factory=dict)
    text: str = ""  # what the reader sees (CSS text-transform applied)
    source_text: str = ""  # the page's text nodes, as written
    title: str = ""
    links: list[dict] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every sign of executable or unsafe markup, one readable line each."""
        scan, origin = self.scan, _origin(self.url)
        found = [f"dialog fired: {d}" for d in self.dialogs]
        found += [f"console error: {m}" for m in self.console_errors]
        found += [f"page error: {m}" for m in self.page_errors]
        found += [f"event handler attribute: {h}" for h in scan["handlers"]]
        found += [f"style attribute: {s}" for s in scan["styles"]]
        found += [f"forbidden element: {f}" for f in scan["forbidden"]]
        for script in scan["scripts"]:
            if script["text"].strip() or not script["src"]:
                found.append(f"inline script: {script['text'][:120]!r}")
            elif not (_origin(script["src"]) == origin
                      and OUR_SCRIPT.fullmatch(urlsplit(script["src"]).path)):
                found.append(f"foreign script: {script['src']}")
        for url in scan["urls"]:
            if not _safe_url(url):
                found.append(f"non-http(s) URL in {url['name']}: {url['element']}")
        found += [f"navigated to a non-http(s) URL: {u}" for u in self.navigations
                  if urlsplit(u).scheme not in ("http", "https")]
        if len(scan["csp"]) != 1:
            found.append(f"expected one Content-Security-Policy meta tag, got {scan['csp']}")
        else:
            found += [f"CSP lacks {d}: {scan['csp'][0]}" for d in CSP_DIRECTIVES
                      if d not in scan["csp"][0]]
            if not scan["cspFirst"]:
                found.append("CSP meta tag is not in <head> before every script and style")
        return found


def _shown(seen: Inspection, text: str) -> bool:
    """True when text is on the page as text: in a text node, and visible (in any case,
    since some headings are uppercased by CSS)."""
    return text in seen.source_text and text.casefold() in seen.text.casefold()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _safe_url(url: dict) -> bool:
    if url["name"] == "srcdoc":
        return False
    if url["tag"] == "link" and "icon" in url["rel"].split() and url["value"] == "data:,":
        return True  # the empty favicon our template sets so browsers do not ask for one
    values = [v.strip().split()[0] for v in url["value"].split(",") if v.strip()] \
        if url["name"] == "srcset" else [url["resolved"]]
    return all(urlsplit(v).scheme in ("http", "https") for v in values)


@contextmanager
def _served(directory: Path) -> Iterator[str]:
    server = make_server(directory, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def inspect(browser, url: str) -> Inspection:
    """Load url in a fresh context, scan the DOM, click every link; return what happened.

    Requests leaving 127.0.0.1 never reach the network: images get a 1x1 GIF, and any
    navigation away from the page gets HTTP 204, which leaves the page where it is (so a
    javascript: link would still run in it) and records where the click was going.
    """
    result = Inspection(url)
    context = browser.new_context(viewport={"width": 1280, "height": 4000},
                                  service_workers="block")
    page = context.new_page()
    page.on("dialog", lambda d: (result.dialogs.append(f"{d.type}: {d.message}"), d.dismiss()))
    page.on("console", lambda m: m.type == "error" and result.console_errors.append(
        f"{m.text} (at {m.location.get('url') or '?'})"))
    page.on("pageerror", lambda e: result.page_errors.append(str(e)))

    def route(request_route, request):
        if request.is_navigation_request() and request.frame == page.main_frame \
                and request.url != url:
            result.navigations.append(request.url)
            request_route.fulfill(status=204)
        elif _origin(request.url) == _origin(url):
            request_route.continue_()
        elif request.resource_type == "image":
            request_route.fulfill(status=200, content_type="image/gif", body=PIXEL)
        else:
            request_route.fulfill(status=204)

    context.route("**/*", route)
    try:
        response = page.goto(url, wait_until="load")
        result.status = response.status if response else None
        result.scan = page.evaluate(SCAN_JS, [FORBIDDEN_TAGS, list(URL_ATTRIBUTES)])
        result.text = page.inner_text("body")
        result.source_text = page.eval_on_selector("body", "b => b.textContent")
        result.title = page.title()
        result.links = page.eval_on_selector_all(
            "a[href]", "els => els.map(a => ({href: a.getAttribute('href'), "
                       "title: a.getAttribute('title'), text: a.textContent}))")
        links = page.locator("a[href]")
        for i in range(links.count()):
            links.nth(i).dispatch_event("click")
        # A javascript: URL runs in a later task; the control test proves this is enough.
        page.wait_for_timeout(150)
    finally:
        context.close()
    return result


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory) -> Iterator[tuple[str, Path, str]]:
    """Build the hostile report through the CLI; yield (served URL, output dir, stderr)."""
    tmp = tmp_path_factory.mktemp("xss")
    feeds = FeedServer().start()
    try:
        for name, content_type in (("rss2", "application/rss+xml"),
                                   ("atom", "application/atom+xml"),
                                   ("rdf", "application/rdf+xml")):
            route = Route((FIXTURES / f"{name}.xml").read_bytes(),
                          content_type=f"{content_type}; charset=utf-8")
            path = REDIRECT_TO if name == "rdf" else FEED_PATHS[name]
            feeds.routes[httpx.URL(feeds.url(path)).raw_path.decode()] = route
        # The RDF feed is reached through a permanent redirect to a hostile address.
        feeds.routes[FEED_PATHS["rdf"]] = Route(status=301, headers={"Location": REDIRECT_TO})
        feeds.routes[FEED_PATHS["broken"]] = Route(
            b"<!DOCTYPE html><html><body><script>alert('broken-feed')</script></body></html>",
            content_type="text/html; charset=utf-8")
        config = {
            "title": REPORT_TITLE,
            "description": REPORT_DESCRIPTION,
            "base_url": "https://news.example.org/?\"><script>alert('base-url')</script>",
            "entries_shown": 20,
            "fetch": FAST_FETCH,
            "headlines": [{"title": HEADLINE_TITLE, "url": HEADLINE_URL,
                           "image": "https://img.example.org/a.png?\"onerror=\"alert('img')"}],
            "feeds": [{"url": feeds.url(FEED_PATHS[name]), "title": title,
                       "site": f"https://{name}.example.org/?\"><svg onload=alert('{name}')>"}
                      for name, title in FEED_TITLES.items()],
        }
        (tmp / "config").mkdir()
        (tmp / "config" / "xss.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        result = run_cli("build", "--now", NOW, cwd=tmp)
    finally:
        feeds.stop()
    assert result.returncode == 0, result.stderr
    out = tmp / "public" / "xss"
    with _served(out) as base:
        yield base, out, result.stderr


@pytest.fixture(scope="module")
def inspected(browser, hostile_site) -> dict[str, Inspection]:
    """Every built page (and a miss deep in the tree) as Chromium saw it, by path."""
    base, out, _ = hostile_site
    paths = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    # A miss deep in the tree gets 404.html, whose asset links must still resolve there.
    return {path: inspect(browser, f"{base}/{path}") for path in [*paths, MISSING_PAGE]}


def test_control_page_with_unescaped_markup_trips_every_detector(browser, tmp_path):
    (tmp_path / "index.html").write_text(
        "<!DOCTYPE html><html><head><title>control</title></head><body>"
        "<p>A title: <img src=x onerror=\"alert('control-img')\"></p>"
        "<a href=\"javascript:alert('control-link')\">a javascript: link</a>"
        "<a href=\"https://elsewhere.example.org/\">elsewhere</a>"
        "<div style=\"color: red\">styled</div><script>void 0</script>"
        "<iframe srcdoc=\"hi\"></iframe><form action=\"/\"></form>"
        "<script>undefinedFunction()</script></body></html>")
    with _served(tmp_path) as base:
        control = inspect(browser, base + "/index.html")
    problems = "\n".join(control.problems())
    assert "dialog fired: alert: control-img" in problems
    assert "dialog fired: alert: control-link" in problems  # the click ran it
    assert control.navigations == ["https://elsewhere.example.org/"]
    assert "page error: undefinedFunction is not defined" in problems
    assert f"console error: Failed to load resource: the server responded with a status of " \
           f"404 (Not Found) (at {base}/x)" in problems
    assert "event handler attribute: <img src=\"x\" onerror=" in problems
    assert "style attribute: <div style=\"color: red\">" in problems
    assert "inline script: 'void 0'" in problems
    assert "forbidden element: <iframe srcdoc=\"hi\">" in problems
    assert "forbidden element: <form action=\"/\">" in problems
    assert "non-http(s) URL in href: <a href=\"javascript:alert('control-link')\">" in problems
    assert "non-http(s) URL in srcdoc: <iframe srcdoc=\"hi\">" in problems
    assert "expected one Content-Security-Policy meta tag, got []" in problems


def test_every_built_page_is_inert_in_the_browser(inspected):
    assert {"index.html", "404.html", "health/index.html", MISSING_PAGE} <= set(inspected)
    failures = {}
    for path, seen in inspected.items():
        problems = seen.problems()
        if path == MISSING_PAGE:
            assert seen.status == 404
            # Chromium reports the 404 of the page itself on the console; nothing else may.
            own_404 = (f"console error: Failed to load resource: the server responded with a "
                       f"status of 404 (Not Found) (at {seen.url})")
            assert own_404 in problems, problems
            problems.remove(own_404)
        if problems:
            failures[path] = problems
    assert not failures, "\n".join(f"{path}:\n  " + "\n  ".join(found)
                                   for path, found in failures.items())
    # Every link was clicked; the clicks went to http(s) addresses only (checked above).
    assert {"https://atom.example.org/1", "https://rdf.example.org/1",
            "https://headline.example.org/?q=%22%3E%3Cscript%3Ealert(%27headline-url%27)"
            "%3C/script%3E"} <= set(inspected["index.html"].navigations)


def test_hostile_text_is_shown_escaped_and_hostile_links_are_dropped(hostile_site, inspected):
    _, _, stderr = hostile_site
    assert "Built xss: " in stderr and "[not a feed: got an HTML page]" in stderr
    seen = inspected["index.html"]
    assert seen.title == REPORT_TITLE
    shown = [REPORT_TITLE, REPORT_DESCRIPTION, HEADLINE_TITLE, *FEED_TITLES.values(),
             *ENTRY_TITLES, "Stale: not a feed: got an HTML page"]
    missing = [text for text in shown if not _shown(seen, text)]
    assert not missing, f"not shown as text: {missing}\n--- page text ---\n{seen.text}"
    assert "DROPPED" not in seen.source_text  # entries whose link is not http(s) are left out
    hrefs = {link["href"] for link in seen.links}
    assert {HEADLINE_URL, *ENTRY_LINKS} <= hrefs  # hostile but http(s): kept, intact
    summaries = {link["title"] for link in seen.links if link["title"]}
    assert "Atom summary link <svg onload=alert('atom-summary-text')> \"quoted\"" in summaries
    assert "<img src=x onerror=alert('atom-summary-plain')>" in summaries
    assert _shown(inspected["404.html"], REPORT_TITLE)


def test_health_page_shows_hostile_urls_and_reasons_as_text(inspected):
    seen = inspected["health/index.html"]
    assert seen.title == f"Feed health | {REPORT_TITLE}"
    # The fetcher percent-encodes the redirect target; the page shows what it got.
    redirected = httpx.URL("http://h" + REDIRECT_TO).raw_path.decode()
    shown = [*FEED_TITLES.values(), FEED_PATHS["rss2"], "not a feed: got an HTML page",
             f"{redirected}: update the config"]
    missing = [text for text in shown if not _shown(seen, text)]
    assert not missing, f"not shown as text: {missing}\n--- page text ---\n{seen.text}"

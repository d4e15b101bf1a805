"""The report's machine-readable files: Atom, JSON Feed, OPML, sitemap, robots, web manifest.

Every file is built from the site data alone (no clock), so it changes only when the
content does.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from .models import SiteData

ATOM_NS = "http://www.w3.org/2005/Atom"
MAX_ITEMS = 100
PAGES = ("", "all/", "archive/", "about/")


@dataclass(frozen=True)
class Story:
    """One front-page story as the feeds list it."""

    title: str
    url: str
    date: datetime
    summary: str
    source: str


# Characters XML 1.0 does not allow, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """Return text without the characters XML 1.0 forbids (parse already drops them; this
    keeps every XML file we write well-formed whatever reaches it)."""
    return _NOT_XML.sub("", text)


def front_page_stories(data: SiteData) -> list[Story]:
    """Return the front page's stories, newest first: top headlines, then the boxes' shown
    entries."""
    stories = [Story(h.title, h.url, h.first_seen, "", data.report.title)
               for h in data.headlines]
    for box in data.boxes:
        stories += [Story(e.title, e.link, e.date or datetime(1970, 1, 1, tzinfo=UTC),
                          e.summary, box.feed.title) for e in box.entries[:box.shown]]
    return sorted(stories, key=lambda s: (s.date, s.url), reverse=True)[:MAX_ITEMS]


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(data: SiteData, stories: list[Story]) -> bytes:
    """Return an Atom 1.0 feed of the front page's stories."""
    report = data.report
    ET.register_namespace("", ATOM_NS)

    def sub(parent, tag, text=None, **attrs):
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}",
                                {k: xml_text(v) for k, v in attrs.items()})
        element.text = xml_text(text) if text is not None else None
        return element

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", report.base_url)
    sub(feed, "title", report.title)
    if report.description:
        sub(feed, "subtitle", report.description)
    newest = max((s.date for s in stories), default=datetime(1970, 1, 1, tzinfo=UTC))
    sub(feed, "updated", _rfc3339(newest))
    sub(feed, "link", rel="self", type="application/atom+xml",
        href=urljoin(report.base_url, "feed.xml"))
    sub(feed, "link", rel="alternate", type="text/html", href=report.base_url)
    sub(sub(feed, "author"), "name", report.title)
    for story in stories:
        entry = sub(feed, "entry")
        sub(entry, "id", story.url)
        sub(entry, "title", story.title)
        sub(entry, "link", rel="alternate", type="text/html", href=story.url)
        sub(entry, "updated", _rfc3339(story.date))
        sub(sub(entry, "author"), "name", story.source)
        if story.summary:
            sub(entry, "summary", story.summary)
    ET.indent(feed)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, "utf-8") + b"\n"


def json_feed(data: SiteData, stories: list[Story]) -> bytes:
    """Return the front page's stories as JSON Feed 1.1."""
    report = data.report
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": report.title,
        "home_page_url": report.base_url,
        "feed_url": urljoin(report.base_url, "headlines.json"),
        "description": report.description,
        "language": "en",
        "items": [{"id": s.url, "url": s.url, "title": s.title,
                   "date_published": _rfc3339(s.date), "authors": [{"name": s.source}],
                   **({"summary": s.summary} if s.summary else {})} for s in stories],
    }
    return (json.dumps(feed, indent=1, ensure_ascii=False) + "\n").encode()


def opml(data: SiteData) -> bytes:
    """Return OPML 2.0 listing the report's feeds."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = f"{data.report.title}: sources"
    body = ET.SubElement(root, "body")
    for feed in data.report.feeds:
        attrs = {"type": "rss", "text": feed.title, "title": feed.title, "xmlUrl": feed.url}
        if feed.site:
            attrs["htmlUrl"] = feed.site
        ET.SubElement(body, "outline", {k: xml_text(v) for k, v in attrs.items()})
    ET.indent(root)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "utf-8") + b"\n"


def sitemap(data: SiteData) -> bytes:
    """Return sitemap.xml listing the report's public pages."""
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    root = ET.Element("urlset", xmlns=ns)
    for page in PAGES:
        ET.SubElement(ET.SubElement(root, "url"), "loc").text = urljoin(data.report.base_url,
                                                                        page)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "utf-8") + b"\n"


def robots(data: SiteData) -> bytes:
    """Return robots.txt: everything but the health page, and where the sitemap is."""
    base = data.report.base_url
    return (f"User-agent: *\nDisallow: {urlsplit(base).path}health/\n"
            f"Sitemap: {urljoin(base, 'sitemap.xml')}\n").encode()


def web_manifest(data: SiteData, icon: str | None, theme_color: str) -> bytes:
    """Return manifest.webmanifest so the report can be added to a home screen."""
    report = data.report
    manifest = {
        "name": report.title, "short_name": report.title.split("|")[0].strip()[:30],
        "description": report.description, "start_url": "./", "scope": "./",
        "display": "standalone", "background_color": theme_color, "theme_color": theme_color,
        "icons": [{"src": icon, "sizes": "any", "type": "image/svg+xml"}] if icon else [],
    }
    return (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode()

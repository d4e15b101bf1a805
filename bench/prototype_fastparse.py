"""Prototype for the recommended parser fix: how much a fast path would save.

Not used by linuxreport. Parses well-formed RSS 2.0 and Atom 1.0 with the standard
library's C-accelerated ElementTree and the same text cleaning as linuxreport/parse.py,
then checks that it gives the same entries as ``parse_feed`` (feedparser) and compares
their CPU time on the benchmark's synthetic feeds and the demo's sample feeds:

    .venv/bin/python bench/prototype_fastparse.py

A real fast path would fall back to feedparser for anything unusual (RSS 1.0/RDF,
namespaced oddities, malformed XML, unknown encodings), so the hostile-feed behaviour
stays feedparser's.
"""

from __future__ import annotations

import sys
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from linuxreport.models import Entry  # noqa: E402
from linuxreport.parse import SUMMARY_MAX, TITLE_MAX, parse_feed, shorten  # noqa: E402
from linuxreport.sanitize import collapse, honest_text, plain_text, safe_http_url  # noqa: E402

ATOM = "{http://www.w3.org/2005/Atom}"


class NotSimple(Exception):
    """Leave this document to feedparser."""


def _date(text: str | None, rfc822: bool) -> datetime | None:
    if not text:
        return None
    try:
        value = parsedate_to_datetime(text) if rfc822 else datetime.fromisoformat(
            text.strip().replace("Z", "+00:00"))
    except (TypeError, ValueError):
        raise NotSimple("date") from None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _clean(value: str, is_html: bool) -> str:
    value = honest_text(value or "")
    return plain_text(value) if is_html else collapse(value)


def _make(entry_id: str, title: str, link: str, summary: str, published, updated,
          base: str) -> Entry | None:
    link = safe_http_url(urljoin(base, link.strip())) if link else ""
    if not link:
        return None
    summary = shorten(summary, SUMMARY_MAX)
    if not title:
        title = shorten(summary, 100) or link
    return Entry(id=entry_id.strip() or link, title=shorten(title, TITLE_MAX), link=link,
                 published=published, updated=updated, summary=summary)


def fast_parse(body: bytes, final_url: str) -> list[Entry]:
    if b"<!ENTITY" in body or b"<!entity" in body:
        raise NotSimple("entities")
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise NotSimple("malformed") from None
    entries, seen = [], set()
    if root.tag == "rss":
        for item in root.iter("item"):
            guid = item.findtext("guid") or ""
            entry = _make(guid, _clean(item.findtext("title") or "", False),
                          item.findtext("link") or "",
                          _clean(item.findtext("description") or "", True),
                          _date(item.findtext("pubDate"), True), None, final_url)
            if entry and entry.id not in seen:
                seen.add(entry.id)
                entries.append(entry)
    elif root.tag == ATOM + "feed":
        for item in root.iter(ATOM + "entry"):
            link = next((x.get("href", "") for x in item.findall(ATOM + "link")
                         if x.get("rel", "alternate") == "alternate"), "")
            title_el = item.find(ATOM + "title")
            summary_el = item.find(ATOM + "summary")
            if summary_el is None:
                summary_el = item.find(ATOM + "content")

            def text_of(el):
                if el is None:
                    return ""
                if el.get("type", "text") == "xhtml":
                    raise NotSimple("xhtml")
                return _clean(el.text or "", el.get("type", "text") == "html")

            # feedparser resolves a relative Atom id against the feed's URL: do the same, or
            # every entry id (the key of the saved state) would change with the parser.
            raw_id = (item.findtext(ATOM + "id") or "").strip()
            entry = _make(urljoin(final_url, raw_id) if raw_id else "", text_of(title_el), link,
                          text_of(summary_el), _date(item.findtext(ATOM + "published"), False),
                          _date(item.findtext(ATOM + "updated"), False), final_url)
            if entry and entry.id not in seen:
                seen.add(entry.id)
                entries.append(entry)
    else:
        raise NotSimple(root.tag)
    return entries


def _cpu_ms(func, *args, repeat: int = 10) -> float:
    func(*args)
    started = time.process_time()
    for _ in range(repeat):
        func(*args)
    return (time.process_time() - started) / repeat * 1000


def main() -> None:
    import feeds as synthetic

    samples = [(f"synthetic {'Atom' if synthetic.is_atom(n) else 'RSS 2.0'} #{n}",
                synthetic.render(n, 0)[0], f"http://127.0.2.1:1/feed/{n}.xml") for n in (0, 3)]
    for path in sorted((ROOT / "config" / "demo-feeds").glob("*.xml")):
        samples.append((f"demo {path.name}", path.read_bytes(), "https://example.org/feed.xml"))
    print(f"{'feed':34s} {'bytes':>7s} {'feedparser':>11s} {'fast path':>10s}  same entries")
    for name, body, url in samples:
        slow = parse_feed(body, {}, url)
        try:
            fast = fast_parse(body, url)
        except NotSimple as exc:
            print(f"{name:34s} {len(body):7d} {_cpu_ms(parse_feed, body, {}, url):9.1f}"
                  f"ms {'(falls back: ' + str(exc) + ')':>10s}")
            continue
        same = [(e.id, e.title, e.link, e.summary, e.published) for e in slow] == [
            (e.id, e.title, e.link, e.summary, e.published) for e in fast]
        print(f"{name:34s} {len(body):7d} {_cpu_ms(parse_feed, body, {}, url):9.1f}ms "
              f"{_cpu_ms(fast_parse, body, url):8.2f}ms  {same}")


if __name__ == "__main__":
    main()

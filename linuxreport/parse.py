"""Turn a fetched feed body into normalised Entry values (feedparser + plain-text cleaning)."""

from __future__ import annotations

import calendar
import io
import logging
import re
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import feedparser

from .fastparse import Unsupported, read_simple_feed
from .models import Entry
from .sanitize import GarbledText, collapse, honest_text, plain_text, safe_http_url

log = logging.getLogger(__name__)

_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
TITLE_MAX = 200
SUMMARY_MAX = 280


class ParseError(Exception):
    """The body is not a usable feed; the message is the short reason shown to admins."""


def parse_feed(body: bytes, headers: dict[str, str], final_url: str,
               feed_url: str = "", fast: bool = True) -> list[Entry]:
    """Return the feed's usable entries, newest-first order not guaranteed; raise ParseError.

    Plain RSS and Atom documents are read by fastparse, which gives the same entries as
    feedparser at a fifth of the cost; anything else (or fast=False) goes to feedparser.
    """
    if _ENTITY_DECLARATION.search(body):
        # Entity expansion (billion laughs) and external entities (XXE) need a declaration.
        raise ParseError("XML entity declarations are not allowed")
    name = feed_url or final_url
    content_location = final_url if urlsplit(final_url).scheme in ("http", "https") else ""
    if fast:
        try:
            feed = read_simple_feed(body, headers.get("content-type") or "", content_location)
        except Unsupported as exc:
            log.debug("%s: read with feedparser: %s", name, exc)
        else:
            entries, garbled = _usable_entries(feed.entries, _link_base(final_url, feed.link))
            if entries:  # none: feedparser says why (or finds the document empty)
                _log_garbled(name, garbled)
                return entries
    return _parse_with_feedparser(body, headers, content_location, final_url, name)


def _parse_with_feedparser(body: bytes, headers: dict[str, str], content_location: str,
                           final_url: str, name: str) -> list[Entry]:
    response_headers = {}
    if content_location:
        response_headers["content-location"] = content_location
    if headers.get("content-type"):
        response_headers["content-type"] = headers["content-type"]
    # A stream, never raw bytes or str: feedparser would treat a body that looks like a
    # path or URL as something to open. Its sanitizing and link resolving inside markup
    # are off: plain_text drops every tag (and so every link) from the markup anyway.
    parsed = feedparser.parse(io.BytesIO(body), response_headers=response_headers,
                              resolve_relative_uris=False, sanitize_html=False)
    base = _link_base(final_url, parsed.feed.get("link", ""))
    entries, garbled = _usable_entries(parsed.entries, base)
    _log_garbled(name, garbled)
    if garbled and not entries:
        raise ParseError("garbled text: wrong or mixed character encodings")
    # A broken document that still yields usable entries (the loose parser recovers
    # many) is accepted; one that yields none must not wipe the box.
    if not entries and (not parsed.get("version") or _is_broken(parsed)):
        raise ParseError(_failure_reason(parsed, body))
    return entries


def _usable_entries(raw_entries, base: str) -> tuple[list[Entry], int]:
    """Return the entries with a usable link, first of each id, and how many were garbled."""
    entries, seen, garbled = [], set(), 0
    for raw in raw_entries:
        try:
            entry = _entry(raw, base)
        except GarbledText:
            garbled += 1
            continue
        if entry and entry.id not in seen:
            seen.add(entry.id)
            entries.append(entry)
    return entries, garbled


def _log_garbled(name: str, garbled: int) -> None:
    if garbled:
        log.info("%s: skipped %d entries with garbled text (wrong character encoding)",
                 name, garbled)


def _is_broken(parsed) -> bool:
    """True when feedparser's complaint is about the XML itself, not the declared type."""
    benign = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
    return bool(parsed.bozo) and not isinstance(parsed.get("bozo_exception"), benign)


def _failure_reason(parsed, body: bytes) -> str:
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "not a feed: got an HTML page"
    if not body.strip():
        return "empty body"
    exc = parsed.get("bozo_exception")
    if exc is not None:
        return f"malformed XML: {collapse(str(exc))}"
    return "not an RSS or Atom feed"


def _link_base(final_url: str, channel_link: str) -> str:
    if urlsplit(final_url).scheme in ("http", "https"):
        return final_url
    return channel_link if safe_http_url(channel_link) else ""


def _entry(raw, base: str) -> Entry | None:
    raw_link = (raw.get("link") or "").strip()
    try:
        link = safe_http_url(urljoin(base, raw_link)) if raw_link else ""
    except ValueError:  # urljoin rejects some malformed hosts
        link = ""
    if not link:
        return None
    title = _text_of(raw, "title")
    summary = shorten(_text_of(raw, "summary"), SUMMARY_MAX)
    if not title:
        title = shorten(summary, 100) or link
    entry_id = (raw.get("id") or "").strip() or link
    return Entry(id=entry_id, title=shorten(title, TITLE_MAX), link=link,
                 published=_utc(dict.get(raw, "published_parsed")),
                 updated=_utc(dict.get(raw, "updated_parsed")), summary=summary)


def _text_of(raw, key: str) -> str:
    value = raw.get(key) or ""
    detail = raw.get(f"{key}_detail") or {}
    value = honest_text(value)  # before collapsing, so repaired controls are removed too
    return plain_text(value) if "html" in detail.get("type", "text/html") else collapse(value)


def shorten(text: str, limit: int) -> str:
    """Return text cut on a word boundary to at most limit characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if not text[limit - 1].isspace() and " " in cut[limit // 2:]:
        cut = cut[: cut.rfind(" ")]  # drop the partial last word
    return cut.rstrip(" ,;:.-") + "…"


def _utc(parsed_time) -> datetime | None:
    if not parsed_time:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed_time), UTC)
    except (OverflowError, ValueError, OSError):
        return None

"""Merge fresh entries into the last good ones, order and cap them, and mark stale feeds."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .config import Feed, Report
from .models import Entry, FeedBox, FeedState, FetchResult, HeadlineRecord, SiteData


def curate(report: Report, results: dict[str, FetchResult],
           states: dict[str, FeedState | None], now: datetime,
           history: list[HeadlineRecord] | None = None,
           updated: dict[str, FeedState] | None = None) -> tuple[SiteData,
                                                                 dict[str, FeedState]]:
    """Return what the site shows (with the updated headline history in data.archive)
    and the new state of every feed (taken from updated where update_state already ran)."""
    new_states = {}
    boxes = []
    seen_stories: set[str] = set()  # the same story from two feeds shows once, in the first
    updated = updated or {}
    for feed in report.feeds:
        state = updated.get(feed.key) or update_state(report, feed, states.get(feed.key),
                                                      results[feed.key], now)
        new_states[feed.key] = state
        keys = [story_key(e.link) for e in state.entries]
        entries = [e for e, k in zip(state.entries, keys, strict=True) if k not in seen_stories]
        seen_stories.update(keys)
        boxes.append(_box(report, feed, state, entries, results[feed.key], now))
    archive = update_history(history or [], report, now)
    current = {h.url for h in report.headlines}
    headlines = sorted((h for h in archive if h.url in current),
                       key=lambda h: [x.url for x in report.headlines].index(h.url))
    return SiteData(report=report, boxes=boxes, headlines=headlines, archive=archive), new_states


def update_history(history: list[HeadlineRecord], report: Report,
                   now: datetime) -> list[HeadlineRecord]:
    """Return the headline history with the report's current headlines added (keeping when
    each first appeared), older than archive_days dropped, newest first."""
    by_url = {h.url: h for h in history}
    for headline in report.headlines:
        known = by_url.get(headline.url)
        first_seen = known.first_seen if known else now
        by_url[headline.url] = HeadlineRecord(headline.title, headline.url, first_seen,
                                              headline.image)
    cutoff = now - timedelta(days=report.archive_days)
    kept = [h for h in by_url.values() if h.first_seen >= cutoff]
    return sorted(kept, key=lambda h: (h.first_seen, h.url), reverse=True)


def update_state(report: Report, feed: Feed, previous: FeedState | None,
                 result: FetchResult, now: datetime) -> FeedState:
    """Return the feed's state after this fetch; a failure never drops last good entries."""
    state = dataclasses.replace(previous) if previous else FeedState(key=feed.key, url=feed.url)
    if state.url != feed.url:  # the admin changed the URL: old validators mean nothing now
        state.url, state.etag, state.last_modified, state.body_hash = feed.url, None, None, None
        state.permanent_redirect = state.retry_after = state.gone_since = None
    if result.status in ("waiting", "gone"):  # not asked this time: nothing new to record
        return state
    if result.failed:
        state.last_failure, state.last_failure_reason = now, result.error
        state.consecutive_failures += 1
        state.retry_after = result.retry_after
        if result.gone:
            state.gone_since = now
        return state
    state.last_success, state.consecutive_failures, state.retry_after = now, 0, None
    state.permanent_redirect = result.permanent_redirect
    if result.status != "not_modified":
        state.etag, state.last_modified = result.etag, result.last_modified
        state.body_hash = result.body_hash
    if result.entries is not None:
        merged = merge_entries(state.entries, result.entries, now, report.kept(feed))
        if [e.id for e in merged] != [e.id for e in state.entries] or merged != state.entries:
            state.last_change = now
        state.entries = merged
    return state


def merge_entries(kept: list[Entry], fresh: list[Entry], now: datetime, cap: int) -> list[Entry]:
    """Return fresh entries merged into kept ones by id, newest first, at most cap of them.

    An entry keeps the first_seen of its first sighting; entries without a date sort by
    first_seen, and dates in the future are clamped to first_seen.
    """
    first_seen = {e.id: e.first_seen for e in kept}
    by_id = {e.id: e for e in kept}
    for entry in fresh:
        seen = first_seen.get(entry.id) or now
        by_id[entry.id] = Entry(  # not dataclasses.replace: five times slower per entry
            id=entry.id, title=entry.title, link=entry.link,
            published=_clamp(entry.published, seen, now),
            updated=_clamp(entry.updated, seen, now), summary=entry.summary, first_seen=seen)
    ordered = sorted(by_id.values(), key=lambda e: (e.date or now, e.id), reverse=True)
    return ordered[:cap]


def _clamp(value: datetime | None, first_seen: datetime, now: datetime) -> datetime | None:
    return first_seen if value and value > now else value


# A link with a plain host (no port, no user) and no query: most of them, and cheap to
# take apart without urlsplit (story_key runs for every entry of every build).
_PLAIN_LINK = re.compile(r"(?i:https?)://([A-Za-z0-9.-]+)(/[^?#\s\x00-\x1f\x7f]*)?(?:#.*)?",
                         re.DOTALL)


def story_key(link: str) -> str:
    """Return link normalised so one story's variants compare equal: no scheme, no
    'www.', no fragment, no trailing slash, no utm_* tracking parameters."""
    if plain := _PLAIN_LINK.fullmatch(link):
        host = plain.group(1).lower().removeprefix("www.")
        path = (plain.group(2) or "").rstrip("/")
        return f"//{host}{path}" if host else path
    parts = urlsplit(link)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host += f":{parts.port}"
    query = parts.query and urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
         if not k.lower().startswith("utm_")])
    return urlunsplit(("", host, parts.path.rstrip("/"), query, ""))


def _box(report: Report, feed: Feed, state: FeedState, entries: list[Entry],
         result: FetchResult, now: datetime) -> FeedBox:
    stale_after = timedelta(hours=report.stale_after_hours)
    stale = state.last_success is None or now - state.last_success > stale_after
    dates = [e.date for e in state.entries if e.date]
    return FeedBox(feed=feed, entries=entries, shown=report.shown(feed),
                   last_change=max(dates) if dates else state.last_change, stale=stale,
                   error=result.error if result.failed or result.status in ("waiting", "gone")
                   else None, status=result.status, state=state)

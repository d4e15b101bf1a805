"""Typed values passed between the pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .config import Feed, Report


@dataclass(frozen=True)
class Entry:
    """One story from a feed, normalised: plain-text title, absolute http(s) link, UTC dates."""

    id: str
    title: str
    link: str
    published: datetime | None = None
    updated: datetime | None = None
    summary: str = ""
    first_seen: datetime | None = None

    @property
    def date(self) -> datetime | None:
        """The date readers see: published, else updated, else when we first saw it."""
        return self.published or self.updated or self.first_seen


@dataclass
class FetchResult:
    """What fetching one feed gave: a new body (parsed), a 304, an unchanged body, or a failure."""

    feed: Feed
    # "ok", "not_modified", "unchanged", "failed", or not asked at all: "waiting" (a
    # Retry-After is in force) or "gone" (HTTP 410 until the URL changes).
    status: str
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    entries: list[Entry] | None = None
    error: str | None = None
    permanent_redirect: str | None = None
    attempts: int = 1
    elapsed: float = 0.0
    body_bytes: int = 0
    retry_after: datetime | None = None  # the server asked us not to come back before this
    gone: bool = False  # the server said 410 Gone

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass
class FeedState:
    """Everything remembered about one feed between builds (one JSON file in the state dir)."""

    key: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    entries: list[Entry] = field(default_factory=list)
    last_success: datetime | None = None
    last_change: datetime | None = None
    last_failure: datetime | None = None
    last_failure_reason: str | None = None
    consecutive_failures: int = 0
    permanent_redirect: str | None = None
    retry_after: datetime | None = None
    gone_since: datetime | None = None


@dataclass(frozen=True)
class FeedBox:
    """One feed as the front page shows it."""

    feed: Feed
    entries: list[Entry]
    shown: int
    last_change: datetime | None
    stale: bool
    error: str | None
    status: str = "ok"  # this build's FetchResult.status
    state: FeedState | None = None  # for the health page

    @property
    def health(self) -> str:
        """'ok' (new, unchanged or 304), 'failed', 'waiting' (Retry-After) or 'gone' (410)."""
        return self.status if self.status in ("failed", "waiting", "gone") else "ok"


@dataclass(frozen=True)
class HeadlineRecord:
    """A top headline as the archive remembers it: when it first appeared on the page."""

    title: str
    url: str
    first_seen: datetime
    image: str | None = None


@dataclass(frozen=True)
class SiteData:
    """Everything the renderer needs for one report."""

    report: Report
    boxes: list[FeedBox]
    headlines: list[HeadlineRecord] = field(default_factory=list)  # on the page now
    archive: list[HeadlineRecord] = field(default_factory=list)  # every one, newest first

    @property
    def entry_count(self) -> int:
        return sum(len(box.entries) for box in self.boxes)

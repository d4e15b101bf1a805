"""Run the pipeline for one report: load state, fetch, curate, render, write, save state."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .assets import build_assets
from .config import Report
from .curate import curate, update_state
from .errors import BuildError
from .fetch import fetch_all
from .fetchpool import FetchWorkers, worker_count
from .models import FeedState, FetchResult
from .output import previous_files, write_output
from .render import REUSABLE, RenderError, reader_fingerprint, render_site
from .state import StateStore

log = logging.getLogger(__name__)

SITE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SitePaths:
    """Where the templates and asset sources live."""

    templates: Path = SITE_ROOT / "templates"
    assets: Path = SITE_ROOT / "assets"


@dataclass
class BuildSummary:
    """What one report's build did, for the summary line and --json."""

    report: str
    feeds_total: int
    feeds_ok: int
    entries: int
    seconds: float
    failures: list[tuple[str, str]] = field(default_factory=list)
    held: list[tuple[str, str]] = field(default_factory=list)  # not asked: waiting or gone
    not_modified: int = 0
    files_written: int = 0
    files_unchanged: int = 0
    output: str = ""

    def line(self) -> str:
        text = (f"Built {self.report}: {self.entries} entries from "
                f"{self.feeds_ok}/{self.feeds_total} feeds in {self.seconds:.1f} s")
        notes = []
        if self.failures:
            notes.append("failed: " + ", ".join(f"{k} [{r}]" for k, r in self.failures))
        if self.held:
            notes.append("not asked: " + ", ".join(f"{k} [{r}]" for k, r in self.held))
        return text + (f" ({'; '.join(notes)})" if notes else "")


def build_report(report: Report, out_root: Path, state_root: Path, *,
                 paths: SitePaths = SitePaths(), now: datetime | None = None,
                 strict: bool = False,
                 on_feed_done: Callable[[FetchResult], None] | None = None) -> BuildSummary:
    """Build one report into out_root/<name>; raise BuildError and keep the old output
    when the site cannot be built."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    store = StateStore(state_root, report.name)
    keys = [feed.key for feed in report.feeds]
    updates = _StateUpdates(report, store, now, on_feed_done)
    workers = worker_count(len(report.feeds))
    if not workers:
        states = updates.states = store.load_all(keys)
        results = fetch_all(report, states, on_done=updates.add, now=now)
    else:
        # The workers need only the validators; the entries load while they fetch.
        details = store.load_fetch_details(keys)
        states = store.load_all(keys) if details is None else None
        with FetchWorkers(report, details or states, workers, now, updates.add) as pool:
            if states is None:
                states = store.load_all(keys)
            updates.states = states
            results = pool.results()
    data, new_states = curate(report, results, states, now, store.load_headlines(),
                              updates.new)
    failures = [(k, r.error or "") for k, r in results.items() if r.failed]
    refusal = _refusal(report, len(failures), strict)
    if refusal:
        store.save_all(new_states, states, updates.encoded)
        raise BuildError(f"{report.name}: {refusal}; the previous output is kept")
    target = out_root / report.name
    try:
        manifest, asset_files = build_assets(report, paths.assets)
        # What readers see is rendered again only when what it is made from changed.
        digests = {key: store.entries_digest(states.get(key), state, updates.encoded)
                   for key, state in new_states.items()}
        inputs = reader_fingerprint(data, manifest, paths.templates, digests)
        reuse = previous_files(target, REUSABLE, inputs)
        files = render_site(data, manifest, paths.templates, asset_files, reuse=reuse,
                            parallel=workers > 0)
    except (RenderError, OSError) as exc:
        raise BuildError(f"{report.name}: cannot render: {exc}") from exc
    written = write_output(target, files, {"report": report.name, "assets": manifest.to_json(),
                                           "inputs": inputs}, frozenset(reuse or ()))
    # State last: if we die before this, the next build simply fetches the same bodies again.
    store.save_all(new_states, states, updates.encoded)
    store.save_headlines(data.archive)
    return BuildSummary(
        report=report.name, feeds_total=len(report.feeds),
        feeds_ok=len(report.feeds) - len(failures), entries=data.entry_count,
        seconds=time.monotonic() - started, failures=failures,
        held=[(k, r.error or "") for k, r in results.items() if r.status in ("waiting", "gone")],
        not_modified=sum(r.status == "not_modified" for r in results.values()),
        files_written=written.written, files_unchanged=written.unchanged,
        output=str(out_root / report.name))


class _StateUpdates:
    """Each feed's new state, worked out as its result arrives (while the fetch workers are
    still busy with others), with the bytes of the entries files that changed."""

    def __init__(self, report: Report, store: StateStore, now: datetime,
                 then: Callable[[FetchResult], None] | None):
        self.report, self.store, self.now, self.then = report, store, now, then
        self.states: dict[str, FeedState | None] = {}
        self.new: dict[str, FeedState] = {}
        self.encoded: dict[str, bytes] = {}

    def add(self, result: FetchResult) -> None:
        key = result.feed.key
        before = self.states.get(key)
        state = update_state(self.report, result.feed, before, result, self.now)
        self.new[key] = state
        if self.store.entries_changed(before, state):
            self.encoded[key] = self.store.encode(state)
        if self.then:
            self.then(result)


def _refusal(report: Report, failed: int, strict: bool) -> str | None:
    """Return why this build must not replace the output, or None."""
    total = len(report.feeds)
    if failed == total:
        return "every feed failed"
    if strict and failed:
        return f"{failed} of {total} feeds failed (--strict)"
    if failed / total > report.max_failed_share:
        return (f"{failed} of {total} feeds failed, over max_failed_share "
                f"{report.max_failed_share:g}")
    return None

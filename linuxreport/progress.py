"""A progress bar while fetching on a terminal; nothing extra in cron (log lines only)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from .config import Report
from .models import FetchResult


@contextlib.contextmanager
def feed_progress(report: Report, enabled: bool) -> Iterator[Callable[[FetchResult], None] | None]:
    """Yield a per-feed callback that advances a progress bar, or None when disabled."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    # Refreshed from the main thread as results come in, not by a thread of its own: the
    # fetch workers are forked, and a fork must not happen while another thread holds a lock.
    with Progress(*columns, transient=True, auto_refresh=False) as progress:
        task = progress.add_task(f"Fetching {report.name}", total=len(report.feeds))

        def advance(_result: FetchResult) -> None:
            progress.advance(task)
            progress.refresh()

        yield advance

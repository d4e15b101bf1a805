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
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(f"Fetching {report.name}", total=len(report.feeds))
        yield lambda _result: progress.advance(task)

"""Publishing built reports to a bucket or a directory."""

from __future__ import annotations

import contextlib
from pathlib import Path

from ..config import Report
from .run import PublishOptions, PublishSummary, publish_report
from .targets import make_target

DEFAULT_TARGET_DIR = Path("published")


def target_url(report: Report, override: str | None, several: bool) -> str:
    """Return where a report goes: --target (per report when several), config, or default."""
    if override:
        return f"{override.rstrip('/')}/{report.name}" if several else override
    return report.publish.target or str(DEFAULT_TARGET_DIR / report.name)


def publish_all(reports: list[Report], out_root: Path, override: str | None, *, dry_run: bool,
                force: bool, max_deletes: int | None, workers: int | None,
                progress: bool) -> list[PublishSummary]:
    """Publish each report's built output; return one summary per report."""
    summaries = []
    for report in reports:
        config = report.publish
        options = PublishOptions(
            dry_run=dry_run, force=force,
            max_deletes=config.max_deletes if max_deletes is None else max_deletes,
            workers=workers or config.workers)
        url = target_url(report, override, len(reports) > 1)
        target = make_target(url, report.name, config.endpoint_url, config.region,
                             config.profile, options.workers)
        with _upload_progress(report.name, progress) as on_upload:
            summaries.append(publish_report(report, out_root / report.name, target, options,
                                            on_upload))
    return summaries


@contextlib.contextmanager
def _upload_progress(name: str, enabled: bool):
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed} files"), transient=True) as progress:
        task = progress.add_task(f"Uploading {name}", total=None)
        yield lambda _path: progress.advance(task)

"""Publish one built report: plan, upload in order, record the index, delete, purge the CDN.

Order matters for readers holding cached pages: hashed assets and other static
files first, then data files, then HTML with the front page last, then the index
for the next publish, then deletes. A publish killed at any point therefore leaves
every published page pointing at assets that exist, and a rerun finishes the job.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..config import Report
from ..errors import PublishError
from ..output import read_manifest
from .cdn import cloudfront_invalidate, invalidation_paths, purge_url
from .headers import cache_control, compressible, content_type
from .plan import INDEX_PATH, PHASES, Plan, RemoteObject, ShrinkRefused, make_plan, new_index

log = logging.getLogger(__name__)


@dataclass
class PublishSummary:
    """What a publish did (or, with --dry-run, would do)."""

    report: str
    target: str
    uploaded: int = 0
    unchanged: int = 0
    deleted: int = 0
    retained: int = 0
    deletes_skipped: int = 0
    bytes: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    by_class: dict[str, int] = field(default_factory=dict)
    uploads: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    invalidated: list[str] = field(default_factory=list)

    def line(self) -> str:
        verb = "Would publish" if self.dry_run else "Published"
        text = (f"{verb} {self.report} to {self.target}: {self.uploaded} uploaded "
                f"({_size(self.bytes)}), {self.unchanged} unchanged, {self.deleted} deleted, "
                f"{self.retained} retained in {self.seconds:.1f} s")
        if self.deletes_skipped:
            text += f" ({self.deletes_skipped} deletes held back by --max-deletes)"
        return text


@dataclass(frozen=True)
class PublishOptions:
    dry_run: bool = False
    force: bool = False
    max_deletes: int = 256
    workers: int = 16
    now: datetime | None = None


def publish_report(report: Report, built_dir: Path, target, options: PublishOptions,
                   on_upload: Callable[[str], None] | None = None) -> PublishSummary:
    """Publish built_dir to target; raise PublishError (changing nothing) when it cannot."""
    started = time.monotonic()
    now = options.now or datetime.now(UTC)
    manifest = read_manifest(built_dir)
    if not manifest.get("files") or not (built_dir / "index.html").is_file():
        raise PublishError(f"{built_dir}: no built site; run: linuxreport build {report.name}")
    local = manifest["files"]
    target.check()
    with ThreadPoolExecutor(1) as pool:  # the index arrives while the listing runs
        pending_index = pool.submit(target.read_index)
        remote = target.list()
        index = pending_index.result()
    plan = _plan(local, remote, index, target, now, report, options)
    summary = PublishSummary(
        report=report.name, target=target.url, uploaded=len(plan.uploads),
        unchanged=len(plan.unchanged), deleted=len(plan.deletes), retained=len(plan.retained),
        deletes_skipped=plan.deletes_skipped, bytes=plan.upload_bytes,
        dry_run=options.dry_run, by_class=plan.by_class(),
        uploads=[u.path for u in plan.uploads], deletes=list(plan.deletes))
    if plan.deletes_skipped:
        log.warning("%s: %d deletes exceed --max-deletes %d; deleting nothing this time",
                    report.name, plan.deletes_skipped, options.max_deletes)
    if not options.dry_run:
        etags, gzipped = _upload_all(report, built_dir, target, plan, options, on_upload)
        etags = {**{p: remote[p].etag for p in plan.unchanged}, **etags}
        gzipped |= {p for p in plan.unchanged if index.get("files", {}).get(p, {}).get("gzip")}
        _write_index(target, new_index(local, etags, gzipped, plan.retained), index)
        if plan.deletes:
            target.delete(plan.deletes)
        summary.invalidated = _purge_cdn(report, target, plan, local)
    summary.seconds = time.monotonic() - started
    return summary


def _plan(local, remote, index, target, now, report, options) -> Plan:
    retention = timedelta(days=report.publish.retention_days)
    try:
        plan = make_plan(local, remote, index, now, retention, options.max_deletes,
                         options.force)
        if plan.unknown_md5:  # read our MD5 from the objects' metadata, then plan again
            with ThreadPoolExecutor(options.workers) as pool:
                md5s = dict(zip(plan.unknown_md5, pool.map(target.head_md5, plan.unknown_md5),
                                strict=True))
            remote = {p: RemoteObject(o.path, o.size, o.etag, o.last_modified, md5s.get(p))
                      if p in md5s else o for p, o in remote.items()}
            plan = make_plan(local, remote, index, now, retention, options.max_deletes,
                             options.force)
    except ShrinkRefused as exc:
        raise PublishError(f"{report.name}: {exc}") from None
    return plan


def _upload_all(report, built_dir, target, plan, options, on_upload):
    etags: dict[str, str] = {}
    gzipped: set[str] = set()
    use_gzip = report.publish.gzip and target.stores_headers

    def upload(item) -> tuple[str, str, bool]:
        data = (built_dir / item.path).read_bytes()
        if hashlib.md5(data).hexdigest() != item.md5:
            raise PublishError(f"{built_dir / item.path}: changed since the build; "
                               f"rebuild, then publish")
        headers = {"Content-Type": content_type(item.path),
                   "Cache-Control": cache_control(item.path, report.publish.cache_control)}
        squeeze = use_gzip and compressible(item.path)
        if squeeze:
            data = gzip.compress(data, compresslevel=9, mtime=0)
            headers["Content-Encoding"] = "gzip"
        etag = target.put(item.path, data, headers, item.md5)
        if on_upload:
            on_upload(item.path)
        return item.path, etag, squeeze

    with ThreadPoolExecutor(options.workers) as pool:
        for phase in PHASES:  # each phase completes before the next starts
            for path, etag, squeezed in pool.map(upload, plan.phase(phase)):
                etags[path] = etag
                if squeezed:
                    gzipped.add(path)
    return etags, gzipped


def _write_index(target, index: dict, previous: dict) -> None:
    if index == previous:
        return
    data = (json.dumps(index, indent=1, sort_keys=True) + "\n").encode()
    target.put(INDEX_PATH, data, {"Content-Type": content_type(INDEX_PATH),
                                  "Cache-Control": "no-cache"}, hashlib.md5(data).hexdigest())


def _purge_cdn(report: Report, target, plan: Plan, local: dict) -> list[str]:
    config = report.publish
    changed = [u.path for u in plan.uploads if u.path.endswith(".html")]
    changed += [p for p in plan.deletes if p.endswith(".html")]
    if not changed or not (config.cloudfront_distribution or config.purge_url):
        return []
    prefix = getattr(target, "prefix", "")
    paths = invalidation_paths(changed, prefix)
    version = ",".join(local.get(p, {}).get("md5", "-") for p in sorted(changed))
    if config.cloudfront_distribution:
        invalidation = cloudfront_invalidate(config.cloudfront_distribution, paths, version)
        log.info("CloudFront invalidation %s for %d paths", invalidation, len(paths))
    if config.purge_url:
        purge_url(config.purge_url, paths, report.user_agent)
    return paths


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"

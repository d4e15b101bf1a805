"""Decide what a publish does: which files to upload in which order, what to delete or keep.

Pure: it compares the built report's manifest with the target's listing and the
index the last publish left in the target, and returns a Plan. Nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .headers import path_class

INDEX_PATH = ".linuxreport/published.json"
FRONT_PAGE = "index.html"
# Upload order: what pages reference goes up before the pages, the front page last.
PHASES = ("static", "data", "html", "front")


@dataclass(frozen=True)
class RemoteObject:
    """One object in the target, as listed; md5 only when the target stores ours."""

    path: str
    size: int
    etag: str
    last_modified: datetime
    md5: str | None = None


@dataclass(frozen=True)
class Upload:
    path: str
    size: int
    md5: str
    phase: str


@dataclass
class Plan:
    """What one publish will do."""

    uploads: list[Upload] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    retained: dict[str, datetime] = field(default_factory=dict)  # path -> unreferenced since
    deletes_skipped: int = 0  # deletes held back by max_deletes
    unknown_md5: list[str] = field(default_factory=list)

    def phase(self, name: str) -> list[Upload]:
        return [u for u in self.uploads if u.phase == name]

    @property
    def upload_bytes(self) -> int:
        return sum(u.size for u in self.uploads)

    def by_class(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for upload in self.uploads:
            cls = path_class(upload.path)
            counts[cls] = counts.get(cls, 0) + 1
        return counts


class ShrinkRefused(Exception):
    """The new site has far fewer pages than the published one."""


def phase_of(path: str) -> str:
    if path == FRONT_PAGE:
        return "front"
    cls = path_class(path)
    return {"html": "html", "data": "data"}.get(cls, "static")


def remote_md5(obj: RemoteObject, index: dict) -> str | None:
    """Return the MD5 of the bytes we uploaded for obj, or None when it cannot be known
    without reading the object's metadata.

    Our index (left by the last publish) maps each path to our MD5 and the ETag the
    store gave back; a plain single-part ETag is the MD5 of what is stored.
    """
    if obj.md5:
        return obj.md5
    known = index.get("files", {}).get(obj.path)
    if known and known.get("etag") == obj.etag:
        return known.get("md5")
    if len(obj.etag) == 32 and all(c in "0123456789abcdef" for c in obj.etag):
        return None if known and known.get("gzip") else obj.etag
    return None


def make_plan(local: dict[str, dict], remote: dict[str, RemoteObject], index: dict,
              now: datetime, retention: timedelta, max_deletes: int,
              force: bool = False) -> Plan:
    """Return the plan; raise ShrinkRefused when the site would lose over half its pages."""
    _check_shrink(local, remote, force)
    plan = Plan()
    for path in sorted(local, key=lambda p: (PHASES.index(phase_of(p)), p)):
        record = local[path]
        obj = remote.get(path)
        md5 = remote_md5(obj, index) if obj else None
        if obj and md5 is None:
            plan.unknown_md5.append(path)
        if obj and md5 == record["md5"]:
            plan.unchanged.append(path)
        else:
            plan.uploads.append(Upload(path, record["size"], record["md5"], phase_of(path)))
    _plan_removals(plan, local, remote, index, now, retention)
    if len(plan.deletes) > max_deletes:
        plan.deletes_skipped, plan.deletes = len(plan.deletes), []
    return plan


def _check_shrink(local: dict, remote: dict, force: bool) -> None:
    local_pages = sum(p.endswith(".html") for p in local)
    remote_pages = sum(p.endswith(".html") for p in remote)
    if not force and remote_pages and local_pages * 2 < remote_pages:
        raise ShrinkRefused(f"the new site has {local_pages} HTML pages, the published one "
                            f"{remote_pages}; refusing to publish (use --force if intended)")


def _plan_removals(plan: Plan, local: dict, remote: dict[str, RemoteObject], index: dict,
                   now: datetime, retention: timedelta) -> None:
    previously_published = index.get("files", {})
    retained_since = index.get("retained", {})
    for path in sorted(set(remote) - set(local)):
        if path_class(path) != "assets":
            plan.deletes.append(path)
            continue
        if path in retained_since:
            since = datetime.fromisoformat(retained_since[path])
        elif path in previously_published:
            since = now  # referenced until this publish: the retention window starts now
        else:
            since = remote[path].last_modified  # an orphan we know nothing about: its age
        if now - since < retention:
            plan.retained[path] = since
        else:
            plan.deletes.append(path)


def new_index(local: dict[str, dict], etags: dict[str, str], gzipped: set[str],
              retained: dict[str, datetime]) -> dict:
    """Return the index this publish leaves in the target for the next one."""
    files = {}
    for path, record in sorted(local.items()):
        entry = {"md5": record["md5"], "etag": etags.get(path, "")}
        if path in gzipped:
            entry["gzip"] = True
        files[path] = entry
    return {"files": files,
            "retained": {p: since.isoformat() for p, since in sorted(retained.items())}}

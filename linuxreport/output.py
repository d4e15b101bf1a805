"""Write a rendered report to its output dir: all or nothing, unchanged files kept as they were.

The new tree is assembled in a sibling temp dir (files whose MD5 matches the previous
manifest are hard-linked from the old tree, so they are not rewritten), then swapped
into place atomically with renameat2(RENAME_EXCHANGE), so readers always see a whole
tree. Where that call is missing, two renames are used; a build killed between them
leaves the old tree under ``.<name>.old``, which the next build puts back first.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

MANIFEST_PATH = ".linuxreport/manifest.json"


@dataclass(frozen=True)
class WriteSummary:
    written: int
    unchanged: int
    removed: int


def recover(target: Path) -> None:
    """Put back the previous output if a build died between the two renames of a swap."""
    old = _sibling(target, "old")
    if old.is_dir() and not target.exists():
        old.rename(target)
    shutil.rmtree(_sibling(target, "new"), ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(target: Path) -> dict:
    """Return the output manifest of a built report ({} when there is none)."""
    try:
        return json.loads((target / MANIFEST_PATH).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def previous_files(target: Path, paths: tuple[str, ...], inputs: str) -> dict[str, bytes] | None:
    """Return paths as the last build wrote them, if its manifest records the same inputs
    fingerprint and every file is still there with the MD5 the manifest says; else None."""
    manifest = read_manifest(target)
    if not inputs or manifest.get("inputs") != inputs:
        return None
    records = manifest.get("files", {})
    files = {}
    for path in paths:
        try:
            data = (target / path).read_bytes()
        except OSError:
            return None
        if records.get(path, {}).get("md5") != hashlib.md5(data).hexdigest():
            return None
        files[path] = data
    return files


def write_output(target: Path, files: dict[str, bytes], extra: dict,
                 verified: frozenset[str] = frozenset()) -> WriteSummary:
    """Replace target with exactly these files plus a manifest of their MD5s and sizes.

    verified: paths whose bytes in files were just read from target and checked against
    its manifest (previous_files): their records are taken as they are, not hashed again.
    """
    recover(target)
    previous = read_manifest(target).get("files", {})
    records = {path: previous[path] if path in verified and path in previous else
               {"md5": hashlib.md5(data).hexdigest(), "size": len(data)}
               for path, data in sorted(files.items())}
    manifest = {**extra, "files": records}
    staged = _sibling(target, "new")
    staged.mkdir(parents=True)
    unchanged = 0
    for path, data in sorted(files.items()):
        dest = staged / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        if previous.get(path) == records[path] and \
                (path in verified or _holds(target / path, records[path])) \
                and _link(target / path, dest):
            unchanged += 1
        else:
            dest.write_bytes(data)
    manifest_bytes = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    manifest_file = staged / MANIFEST_PATH
    manifest_file.parent.mkdir(parents=True, exist_ok=True)
    old_manifest = target / MANIFEST_PATH
    if not (_same_bytes(old_manifest, manifest_bytes) and _link(old_manifest, manifest_file)):
        manifest_file.write_bytes(manifest_bytes)
    _swap(target, staged)
    removed = len(set(previous) - set(files))
    return WriteSummary(written=len(files) - unchanged, unchanged=unchanged, removed=removed)


def _holds(path: Path, record: dict) -> bool:
    """True when the file on disk still has the size and MD5 of its manifest record (it
    may have been edited by hand since)."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return len(data) == record["size"] and hashlib.md5(data).hexdigest() == record["md5"]


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _link(old: Path, new: Path) -> bool:
    try:
        os.link(old, new)
        return True
    except OSError:
        return False


def _swap(target: Path, staged: Path) -> None:
    if target.exists() and _exchange(staged, target):
        shutil.rmtree(staged, ignore_errors=True)  # now holds the previous tree
        return
    old = _sibling(target, "old")
    if target.exists():
        target.rename(old)
    staged.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _sibling(target: Path, kind: str) -> Path:
    return target.parent / f".{target.name}.{kind}"

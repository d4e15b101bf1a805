"""Per-feed state between builds, under <state>/<report>/.

``feeds/<key>.json`` holds a feed's last good entries (and its fetch details as of
then); it is rewritten only when the entries change. ``fetch.json`` holds every
feed's latest fetch details (validators, body hash, last success and failure,
Retry-After, 410) and is rewritten by every build, one file instead of one per
feed. Where both have a feed's fetch details for the same URL, fetch.json wins.

Files are written atomically (temp file, flushed to disk, rename: many files share
one flush), so a build killed at any moment leaves either the old or the new file,
never half of one. Entries are saved before fetch.json: a build killed in between
leaves old validators beside new entries, so the next build fetches those bodies
again, which is harmless.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import hashlib
import json
import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path

from .errors import StateError
from .models import Entry, FeedState, HeadlineRecord

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
_DATE_FIELDS = ("last_success", "last_change", "last_failure", "retry_after", "gone_since")
_ENTRY_DATES = ("published", "updated", "first_seen")
_ENTRY_FIELDS = frozenset(("id", "title", "link", "published", "updated", "summary",
                           "first_seen"))


def atomic_write(path: Path, data: bytes) -> None:
    """Write data to path so readers see the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_many(files: dict[Path, bytes]) -> None:
    """atomic_write for many files at once, with one flush to disk for all of them (syncfs)
    instead of one per file, which is most of the cost of saving a thousand feeds."""
    if len(files) < 2 or not _syncfs_available():
        for path, data in files.items():
            atomic_write(path, data)
        return
    temps: dict[Path, str] = {}
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temps[path] = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                               suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        _syncfs(next(iter(files)).parent)  # every new file's bytes are on disk now
        for path, tmp in list(temps.items()):
            os.replace(tmp, path)
            del temps[path]
    finally:
        for tmp in temps.values():
            Path(tmp).unlink(missing_ok=True)


def _syncfs_available() -> bool:
    return hasattr(_libc(), "syncfs")


@functools.cache
def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _syncfs(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _libc().syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(directory))
    finally:
        os.close(fd)


class StateStore:
    """Reads and writes the state of one report's feeds in a local directory."""

    def __init__(self, root: Path, report_name: str):
        self.dir = root / report_name / "feeds"
        # SHA-256 of each entries file as load() read it: the file is rewritten exactly
        # when the entries change, so this stands for the entries (see entries_digest).
        self.digests: dict[str, str] = {}
        self._fetch: dict | None = None  # fetch.json, once read

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.json"

    def load(self, key: str) -> FeedState | None:
        """Return the feed's saved state, or None when there is none (or it was unreadable)."""
        path = self.path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"{path}: cannot be read: {exc.strerror or exc}") from None
        try:
            state = _decode(json.loads(raw))
            self.digests[key] = hashlib.sha256(raw).hexdigest()
            return state
        except (ValueError, TypeError, KeyError) as exc:
            aside = self._set_aside(path)
            log.warning("%s: corrupt state (%s); moved to %s, the feed starts afresh",
                        path, exc, aside.name)
            return None

    @property
    def fetch_path(self) -> Path:
        return self.dir.parent / "fetch.json"

    def load_all(self, keys: list[str]) -> dict[str, FeedState | None]:
        """Return the saved state of each feed key (None for a feed with no state)."""
        fetch = self._load_fetch()
        states = {}
        for key in keys:
            state = self.load(key)
            record = fetch.get(key)
            if state is not None and isinstance(record, dict) and record.get("url") == state.url:
                try:
                    state = _overlay(state, record)
                except (ValueError, TypeError) as exc:
                    log.warning("%s: bad fetch details for %s (%s); ignored",
                                self.fetch_path, key, exc)
            states[key] = state
        return states

    def load_fetch_details(self, keys: list[str]) -> dict[str, FeedState | None] | None:
        """Return each feed's fetch details from fetch.json alone, without its entries (all
        a fetch needs), or None when there is no readable fetch.json."""
        fetch = self._load_fetch()
        if not fetch:  # none, or unreadable
            return None
        details: dict[str, FeedState | None] = {}
        for key in keys:
            record = fetch.get(key)
            try:
                details[key] = _overlay(FeedState(key=key, url=record["url"]), record) \
                    if isinstance(record, dict) and isinstance(record.get("url"), str) else None
            except (ValueError, TypeError):
                details[key] = None
        return details

    def entries_digest(self, before: FeedState | None, state: FeedState,
                       encoded: dict[str, bytes]) -> str:
        """Return a hash that changes whenever state's entries do: of the bytes its entries
        file is about to get (kept in encoded), or had when loaded."""
        if not self.entries_changed(before, state) and state.key in self.digests:
            return self.digests[state.key]
        if state.key not in encoded:
            encoded[state.key] = self.encode(state)
        return hashlib.sha256(encoded[state.key]).hexdigest()

    @staticmethod
    def entries_changed(before: FeedState | None, state: FeedState) -> bool:
        """True when state's entries file must be written (before: as loaded)."""
        return before is None or before.url != state.url or before.entries != state.entries

    def save_all(self, states: dict[str, FeedState], previous: dict[str, FeedState | None],
                 encoded: dict[str, bytes] | None = None) -> None:
        """Save every feed's state: the entries files that changed since previous (using
        the bytes in encoded where given), then the fetch details of all in one file."""
        encoded = encoded or {}
        changed = {}
        for key, state in states.items():
            if self.entries_changed(previous.get(key), state):
                changed[self.path(key)] = encoded.get(key) or self.encode(state)
        try:
            atomic_write_many(changed)
        except OSError as exc:
            raise StateError(f"{self.dir}: cannot be written: {exc.strerror or exc}") from None
        records = {key: _encode_fetch(state) for key, state in states.items()}
        data = json.dumps({"format": FORMAT_VERSION, "feeds": records}, sort_keys=True,
                          ensure_ascii=False, separators=(",", ":"))
        self._fetch = None
        try:
            atomic_write(self.fetch_path, data.encode() + b"\n")
        except OSError as exc:
            raise StateError(f"{self.fetch_path}: cannot be written: "
                             f"{exc.strerror or exc}") from None

    def _load_fetch(self) -> dict:
        """fetch.json's records by feed key, read once per store until save_all."""
        if self._fetch is None:
            self._fetch = self._read_fetch()
        return self._fetch

    def _read_fetch(self) -> dict:
        path = self.fetch_path
        try:
            raw = json.loads(path.read_bytes())
            if not isinstance(raw, dict) or raw.get("format") != FORMAT_VERSION or \
                    not isinstance(raw.get("feeds"), dict):
                raise ValueError("unknown fetch state format")
            return raw["feeds"]
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StateError(f"{path}: cannot be read: {exc.strerror or exc}") from None
        except ValueError as exc:
            aside = self._set_aside(path)
            log.warning("%s: corrupt fetch state (%s); moved to %s, feeds are fetched afresh",
                        path, exc, aside.name)
            return {}

    @staticmethod
    def encode(state: FeedState) -> bytes:
        """Return the bytes of state's entries file."""
        # Compact (one line): the C encoder is used only without indent, and this runs for
        # every feed on every build.
        return json.dumps(_encode(state), sort_keys=True, ensure_ascii=False,
                          separators=(",", ":")).encode() + b"\n"

    def save(self, state: FeedState) -> None:
        try:
            atomic_write(self.path(state.key), self.encode(state))
        except OSError as exc:
            raise StateError(f"{self.path(state.key)}: cannot be written: "
                             f"{exc.strerror or exc}") from None

    @property
    def headlines_path(self) -> Path:
        return self.dir.parent / "headlines.json"

    def load_headlines(self) -> list[HeadlineRecord]:
        """Return the headline history (every top headline with when it first appeared)."""
        path = self.headlines_path
        try:
            raw = json.loads(path.read_bytes())
            return [HeadlineRecord(title=h["title"], url=h["url"], image=h.get("image"),
                                   first_seen=datetime.fromisoformat(h["first_seen"]))
                    for h in raw["headlines"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError, KeyError) as exc:
            if path.exists():
                aside = self._set_aside(path)
                log.warning("%s: corrupt headline history (%s); moved to %s", path, exc,
                            aside.name)
            return []

    def save_headlines(self, history: list[HeadlineRecord]) -> None:
        records = [{"title": h.title, "url": h.url, "image": h.image,
                    "first_seen": h.first_seen.isoformat()} for h in history]
        data = json.dumps({"format": FORMAT_VERSION, "headlines": records}, indent=1,
                          ensure_ascii=False)
        try:
            atomic_write(self.headlines_path, data.encode() + b"\n")
        except OSError as exc:
            raise StateError(f"{self.headlines_path}: cannot be written: "
                             f"{exc.strerror or exc}") from None

    def _set_aside(self, path: Path) -> Path:
        n = 1
        while (aside := path.with_name(f"{path.name}.corrupt-{n}")).exists():
            n += 1
        path.rename(aside)
        return aside


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _encode(state: FeedState) -> dict:
    # vars() rather than dataclasses.asdict: asdict deep-copies every value, which made
    # saving state the slowest stage of a build with no feed changes.
    data = dict(vars(state))
    for name in _DATE_FIELDS:
        data[name] = _iso(data[name])
    data["entries"] = [_encode_entry(e) for e in state.entries]
    data["format"] = FORMAT_VERSION
    return data


_FETCH_FIELDS = ("url", "etag", "last_modified", "body_hash", "last_success", "last_change",
                 "last_failure", "last_failure_reason", "consecutive_failures",
                 "permanent_redirect", "retry_after", "gone_since")


def _encode_fetch(state: FeedState) -> dict:
    data = {name: getattr(state, name) for name in _FETCH_FIELDS}
    for name in _DATE_FIELDS:
        data[name] = _iso(data[name])
    return data


def _overlay(state: FeedState, record: dict) -> FeedState:
    """Return state with the fetch details of a fetch.json record."""
    values = {name: record.get(name) for name in _FETCH_FIELDS if name != "url"}
    for name in _DATE_FIELDS:
        values[name] = _parse_dt(values[name])
    values["consecutive_failures"] = int(values["consecutive_failures"] or 0)
    return dataclasses.replace(state, **values)


def _encode_entry(entry: Entry) -> dict:
    data = dict(vars(entry))
    for name in _ENTRY_DATES:
        data[name] = _iso(data[name])
    return data


def _decode(data: dict) -> FeedState:
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        raise ValueError("unknown state format")
    data = dict(data)
    data.pop("format")
    for name in _DATE_FIELDS:
        data[name] = _parse_dt(data.get(name))
    data["entries"] = [_decode_entry(e) for e in data.get("entries", [])]
    return FeedState(**data)


def _decode_entry(e: dict) -> Entry:
    # Field by field (a thousand feeds have thirty thousand entries): an unknown key is
    # a TypeError, as Entry(**e) would give, and the file is set aside as corrupt.
    if not _ENTRY_FIELDS.issuperset(e):
        raise TypeError(f"unexpected entry keys: {sorted(set(e) - _ENTRY_FIELDS)}")
    published, updated, first_seen = e.get("published"), e.get("updated"), e.get("first_seen")
    return Entry(e["id"], e["title"], e["link"],
                 datetime.fromisoformat(published) if published else None,
                 datetime.fromisoformat(updated) if updated else None,
                 e.get("summary", ""),
                 datetime.fromisoformat(first_seen) if first_seen else None)

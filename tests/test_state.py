"""StateStore and atomic_write: feed state survives builds, crashes and corrupt files."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta

import pytest

from linuxreport.models import Entry, FeedState
from linuxreport.state import StateStore, atomic_write

T0 = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


def sample_state(key: str = "lwn") -> FeedState:
    return FeedState(
        key=key, url="https://lwn.example/rss", etag='W/"abc"',
        last_modified="Fri, 10 May 2024 11:00:00 GMT", body_hash="0f" * 32,
        entries=[
            Entry(id="tag:lwn,1", title="Café & kernels", link="https://lwn.example/1",
                  published=T0 - timedelta(hours=3), updated=T0 - timedelta(hours=2),
                  summary="Über summary…", first_seen=T0 - timedelta(hours=1)),
            Entry(id="https://lwn.example/2", title="Undated", link="https://lwn.example/2",
                  first_seen=T0),
        ],
        last_success=T0, last_change=T0 - timedelta(hours=1),
        last_failure=T0 - timedelta(days=1), last_failure_reason="HTTP 503",
        consecutive_failures=0, permanent_redirect="https://lwn.example/new-rss")


def test_round_trip_keeps_every_field(tmp_path):
    store = StateStore(tmp_path, "linux")
    state = sample_state()
    store.save(state)
    loaded = StateStore(tmp_path, "linux").load("lwn")
    assert loaded == state
    assert loaded.entries[0].published.utcoffset() == timedelta(0)
    assert loaded.last_success.utcoffset() == timedelta(0)


def test_reports_do_not_share_state(tmp_path):
    StateStore(tmp_path, "linux").save(sample_state())
    assert StateStore(tmp_path, "ai").load("lwn") is None


def test_save_leaves_no_temp_files(tmp_path):
    store = StateStore(tmp_path, "linux")
    store.save(sample_state())
    store.save(sample_state())  # overwriting, too
    assert [p.name for p in store.dir.iterdir()] == ["lwn.json"]


def test_missing_file_loads_as_none(tmp_path):
    store = StateStore(tmp_path, "linux")
    assert store.load("never-saved") is None
    assert not store.dir.exists() or list(store.dir.iterdir()) == []


def test_truncated_file_is_set_aside_with_a_warning(tmp_path, caplog):
    store = StateStore(tmp_path, "linux")
    store.save(sample_state())
    path = store.path("lwn")
    truncated = path.read_bytes()[:40]
    path.write_bytes(truncated)
    with caplog.at_level(logging.WARNING, logger="linuxreport.state"):
        assert store.load("lwn") is None
    aside = store.dir / "lwn.json.corrupt-1"
    assert aside.read_bytes() == truncated  # kept for a human to look at, not deleted
    assert not path.exists()
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert str(path) in record.getMessage()
    assert "lwn.json.corrupt-1" in record.getMessage()


def test_second_corrupt_file_does_not_overwrite_the_first(tmp_path):
    store = StateStore(tmp_path, "linux")
    store.dir.mkdir(parents=True)
    store.path("lwn").write_bytes(b"{first")
    assert store.load("lwn") is None
    store.path("lwn").write_bytes(b'{"format": 1}')  # valid JSON, not a state
    assert store.load("lwn") is None
    assert (store.dir / "lwn.json.corrupt-1").read_bytes() == b"{first"
    assert (store.dir / "lwn.json.corrupt-2").read_bytes() == b'{"format": 1}'


def test_state_starts_afresh_after_corruption(tmp_path):
    store = StateStore(tmp_path, "linux")
    store.dir.mkdir(parents=True)
    store.path("lwn").write_bytes(b"\x00\xff not json")
    assert store.load("lwn") is None
    store.save(sample_state())
    assert store.load("lwn") == sample_state()


def test_atomic_write_creates_parents_and_replaces(tmp_path):
    path = tmp_path / "a" / "b" / "file.json"
    atomic_write(path, b"old")
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in path.parent.iterdir()] == ["file.json"]


def test_atomic_write_that_fails_keeps_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "file.json"
    atomic_write(path, b"old")
    with pytest.raises(TypeError):
        atomic_write(path, "not bytes")  # fails half way, after the temp file exists
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_save_all_rewrites_only_feeds_whose_entries_changed(tmp_path):
    store = StateStore(tmp_path, "linux")
    first = {"lwn": sample_state("lwn"), "hn": sample_state("hn")}
    store.save_all(first, {})
    loaded = store.load_all(["lwn", "hn", "new"])
    assert loaded == {**first, "new": None}
    inodes = {k: store.path(k).stat().st_ino for k in first}
    # A build where both answered 304 (only fetch details change) and one where hn's
    # entries changed.
    later = T0 + timedelta(minutes=5)
    second = {k: dataclasses.replace(s, last_success=later, etag='"v2"')
              for k, s in loaded.items() if s}
    second["hn"].entries = second["hn"].entries[:1]
    store.save_all(second, loaded)
    assert store.path("lwn").stat().st_ino == inodes["lwn"]  # not rewritten
    assert store.path("hn").stat().st_ino != inodes["hn"]
    again = StateStore(tmp_path, "linux").load_all(["lwn", "hn"])
    assert again == second
    assert again["lwn"].last_success == later and again["lwn"].etag == '"v2"'


def test_fetch_details_of_an_old_url_are_ignored(tmp_path):
    store = StateStore(tmp_path, "linux")
    state = sample_state()
    store.save_all({"lwn": state}, {})
    moved = dataclasses.replace(state, url="https://lwn.example/other", etag=None)
    store.save(moved)  # the entries file says another URL than fetch.json
    assert store.load_all(["lwn"])["lwn"] == moved


def test_corrupt_fetch_state_is_set_aside_and_entries_kept(tmp_path, caplog):
    store = StateStore(tmp_path, "linux")
    store.save_all({"lwn": sample_state()}, {})
    newer = dataclasses.replace(sample_state(), etag='"newer"')
    store.save_all({"lwn": newer}, {"lwn": sample_state()})
    store.fetch_path.write_bytes(b'{"format": 1, "feeds": {"lwn": ')
    with caplog.at_level(logging.WARNING):
        loaded = store.load_all(["lwn"])
    # The entries file's own (older) fetch details are used: at worst one extra download.
    assert loaded["lwn"] == sample_state()
    assert "corrupt fetch state" in caplog.text
    assert (store.dir.parent / "fetch.json.corrupt-1").is_file()

"""Reader pages are rendered again only when what they are made from changed."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ROOT
from feedserver import rss

from linuxreport import render
from linuxreport.build import SitePaths, build_report
from linuxreport.config import load_reports

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DATE = "Tue, 10 Nov 2026 10:00:00 GMT"


@pytest.fixture
def site(tmp_path, write_config, monkeypatch):
    """A report of two file: feeds, a copy of the templates, and a count of renders."""
    feeds = tmp_path / "config" / "feeds"
    feeds.mkdir(parents=True)
    for name in ("a", "b"):
        (feeds / f"{name}.xml").write_bytes(
            rss(name, [(f"{name} story {i}", f"https://{name}.example.org/{i}", DATE)
                       for i in range(3)]))
    write_config("r", {"title": "R", "base_url": "https://r.example.org/",
                       "feeds": [{"url": "file:feeds/a.xml", "title": "A"},
                                 {"url": "file:feeds/b.xml", "title": "B"}]})
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    renders = []
    real = render._reader_files
    monkeypatch.setattr(render, "_reader_files",
                        lambda *a: renders.append(1) or real(*a))
    paths = SitePaths(tmp_path / "templates", ROOT / "assets")

    def build(now: datetime = NOW):
        report = load_reports(tmp_path / "config", paths.assets).reports[0]
        return build_report(report, tmp_path / "out", tmp_path / "state", paths=paths, now=now)

    return build, renders, tmp_path


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".linuxreport" not in p.parts}


def test_nothing_changed_reuses_the_pages_byte_for_byte(site):
    build, renders, tmp = site
    build()
    first = _tree(tmp / "out/r")
    build(NOW + timedelta(minutes=5))
    assert len(renders) == 1  # the second build took the pages as they were
    second = _tree(tmp / "out/r")
    assert set(second) == set(first)
    # Only the health page and status.json show the new fetch time.
    assert sorted(p for p in first if first[p] != second[p]) == \
        ["health/index.html", "status.json"]


@pytest.mark.parametrize("change", ["feed", "template", "stale", "tampered"])
def test_any_input_change_renders_again(site, change):
    build, renders, tmp = site
    build()
    later = NOW + timedelta(minutes=5)
    if change == "feed":
        (tmp / "config/feeds/b.xml").write_bytes(
            rss("b", [("b news", "https://b.example.org/new", DATE)]))
    elif change == "template":
        about = tmp / "templates/about.html"
        about.write_text(about.read_text().replace("</h1>", " (edited)</h1>", 1))
    elif change == "stale":
        (tmp / "config/feeds/a.xml").write_bytes(b"not a feed")
        later = NOW + timedelta(hours=7)  # past stale_after_hours: box a turns stale
    else:
        index = tmp / "out/r/index.html"
        index.write_bytes(index.read_bytes().replace(b"a story 1", b"a story X"))
    build(later)
    assert len(renders) == 2
    index = (tmp / "out/r/index.html").read_text()
    expected = {"feed": "b news", "template": "a story 1", "stale": "stale-mark",
                "tampered": "a story 1"}[change]
    assert expected in index
    if change == "template":
        assert "(edited)" in (tmp / "out/r/about/index.html").read_text()


def test_parallel_render_gives_the_same_pages(site, monkeypatch, tmp_path):
    build, renders, tmp = site
    build()
    serial = _tree(tmp / "out/r")
    shutil.rmtree(tmp / "out")
    shutil.rmtree(tmp / "state")
    # As for a big report: fetch workers, and the all-stories page in a forked process.
    monkeypatch.setattr("linuxreport.build.worker_count", lambda count: 2)
    build()
    assert _tree(tmp / "out/r") == serial


def test_an_error_in_the_forked_render_fails_the_build_and_keeps_the_output(
        site, monkeypatch):
    from linuxreport.errors import BuildError

    build, renders, tmp = site
    build()
    before = _tree(tmp / "out/r")
    monkeypatch.setattr("linuxreport.build.worker_count", lambda count: 2)
    (tmp / "templates/all.html").write_text("{% for x in nothing_here %}{% endfor %}")
    with pytest.raises(BuildError, match="cannot render: .*nothing_here"):
        build(NOW + timedelta(minutes=5))
    assert _tree(tmp / "out/r") == before

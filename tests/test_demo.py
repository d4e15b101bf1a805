"""The demo report: golden output, byte-identical rebuilds, hashed assets that exist.

Regenerate the golden files after an intended change with `make golden`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

GOLDEN = ROOT / "tests" / "golden"
NOW = "2026-11-21T08:00:00+0000"


def _build(tmp: Path, *extra: str):
    shutil.copytree(ROOT / "config", tmp / "config", dirs_exist_ok=True)
    result = run_cli("build", "demo", "--now", NOW, *extra, cwd=tmp)
    assert result.returncode == 0, result.stderr
    return result


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _listing(tree: dict[str, bytes]) -> str:
    # Not the manifest: it holds a fingerprint of linuxreport's own code (see
    # render.reader_fingerprint), so it changes with every change to the code. Its records
    # are checked by test_manifest_records_every_file, its stability by the rebuild test.
    return "".join(f"{path} {len(data)} {hashlib.md5(data).hexdigest()}\n"
                   for path, data in tree.items() if path != ".linuxreport/manifest.json")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("demo")
    _build(tmp)
    return tmp / "public" / "demo"


def test_golden_demo_site(demo):
    tree = _tree(demo)
    actual = {"index.html": tree["index.html"].decode(), "files.txt": _listing(tree)}
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        for name, text in actual.items():
            (GOLDEN / f"demo-{name}").write_text(text)
    for name, text in actual.items():
        expected = (GOLDEN / f"demo-{name}").read_text()
        assert text == expected, f"demo {name} differs from tests/golden (make golden)"


def test_front_page_has_every_feed_box(demo):
    html = (demo / "index.html").read_text()
    from linuxreport.config import load_reports

    (report,) = load_reports(ROOT / "config", ROOT / "assets", ["demo"]).reports
    for feed in report.feeds:
        assert f'id="feed-{feed.key}"' in html
    assert html.count('<section class="feed') == len(report.feeds)
    assert html.count("<li><a href=") >= 8 * 6


def test_rebuild_from_scratch_is_byte_identical(demo, tmp_path):
    _build(tmp_path)
    assert _tree(tmp_path / "public" / "demo") == _tree(demo)


def test_rebuild_in_place_rewrites_nothing(tmp_path):
    _build(tmp_path)
    out = tmp_path / "public" / "demo"
    before = {p: (p.stat().st_ino, p.read_bytes()) for p in out.rglob("*") if p.is_file()}
    _build(tmp_path)
    after = {p: (p.stat().st_ino, p.read_bytes()) for p in out.rglob("*") if p.is_file()}
    assert after == before  # same bytes, and the very same files (hard-linked, not rewritten)


def test_assets_carry_content_hashes_and_exist(demo):
    html = (demo / "index.html").read_text()
    refs = re.findall(r'(?:href|src)="(assets/[^"]+)"', html)
    assert any(r.endswith(".css") for r in refs) and any(r.endswith(".js") for r in refs)
    for ref in refs:
        data = (demo / ref).read_bytes()
        digest = re.search(r"-([0-9a-f]{8})\.\w+$", ref).group(1)
        assert hashlib.md5(data).hexdigest()[:8] == digest, ref


def test_manifest_records_every_file(demo):
    manifest = json.loads((demo / ".linuxreport" / "manifest.json").read_text())
    tree = {p: d for p, d in _tree(demo).items() if not p.startswith(".linuxreport/")}
    assert set(manifest["files"]) == set(tree)
    for path, data in tree.items():
        assert manifest["files"][path] == {"md5": hashlib.md5(data).hexdigest(),
                                           "size": len(data)}
    assert manifest["assets"]["css"] in tree and manifest["assets"]["js"] in tree



def test_page_weight_and_same_origin_requests(demo):
    import gzip

    html = (demo / "index.html").read_text()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert scripts and styles
    weight = sum(len(gzip.compress((demo / p).read_bytes(), 9)) for p in scripts + styles)
    assert weight < 20 * 1024  # CSS + JS together, gzipped
    # Everything the page loads by itself comes from its own origin (links are not loads).
    loads = re.findall(r'<(?:script|img|source|iframe)\b[^>]*\ssrc="([^"]+)"', html)
    loads += re.findall(r'<link\b[^>]*\shref="([^"]+)"', html)
    external = [u for u in loads if re.match(r"(?:https?:)?//", u)
                and not u.startswith("http://127.0.0.1:8000/")]
    assert external == []

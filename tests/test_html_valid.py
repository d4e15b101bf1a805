"""Every HTML page of the demo site passes the Nu HTML Checker (vnu) with no errors."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from conftest import ROOT, run_cli

VNU = ROOT / "tests" / "tools" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def test_demo_pages_have_no_html_errors(tmp_path):
    java = shutil.which("java")
    if java is None or not VNU.is_file():
        pytest.fail("java or vnu.jar missing: make install sets up both")
    shutil.copytree(ROOT / "config", tmp_path / "config")
    built = run_cli("build", "demo", "--now", "2026-11-21T08:00:00+0000", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    pages = sorted(str(p) for p in (tmp_path / "public" / "demo").rglob("*.html"))
    assert len(pages) >= 6
    result = subprocess.run([java, "-jar", str(VNU), "--errors-only", "--format", "json",
                             *pages], capture_output=True, text=True, timeout=120)
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    problems = [f"{m.get('url', '').rsplit('/demo/', 1)[-1]}:{m.get('lastLine')}: "
                f"{m.get('message')}" for m in messages]
    assert problems == []

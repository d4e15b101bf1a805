"""Shared fixtures: a real feed server on 127.0.0.1 and report configs written to tmp dirs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from feedserver import FeedServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def feed_server():
    server = FeedServer().start()
    yield server
    server.stop()


@pytest.fixture
def write_config(tmp_path):
    """Write a report YAML into tmp_path/config and return the config dir."""
    config_dir = tmp_path / "config"
    config_dir.mkdir(exist_ok=True)

    def write(name: str, data: dict) -> Path:
        (config_dir / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        return config_dir

    return write


FAST_FETCH = {"connect_timeout": 2, "read_timeout": 2, "deadline": 3, "retries": 1,
              "backoff": 0.05}


def make_report(data: dict, config_dir: Path, name: str = "t"):
    """Return a validated Report from a dict, as if read from config_dir/<name>.yaml."""
    from linuxreport.config import parse_report

    defaults = {"title": "Test Report", "base_url": "https://news.example.org/",
                "fetch": dict(FAST_FETCH)}
    report, problems = parse_report(config_dir / f"{name}.yaml", {**defaults, **data},
                                    ROOT / "assets", f"{name}.yaml")
    assert report is not None, problems.errors
    return report


@pytest.fixture
def unused_port():
    """A port on 127.0.0.1 that nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(*args: str, cwd: Path, env: dict | None = None):
    """Run the installed linuxreport command for real; return the CompletedProcess."""
    import os
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("linuxreport")
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run([str(exe), *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=60)

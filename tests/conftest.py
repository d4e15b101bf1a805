"""Shared fixtures: a real feed server on 127.0.0.1 and report configs written to tmp dirs."""

from __future__ import annotations

import shutil
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


AWS_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_PAGER": "", "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 (and CloudFront) server over real HTTP on a free 127.0.0.1 port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(moto_endpoint, monkeypatch):
    """A boto3 S3 client on a freshly reset moto server, and AWS_ENV in os.environ."""
    import boto3
    import httpx
    from botocore.config import Config

    httpx.post(f"{moto_endpoint}/moto-api/reset")
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}))


@pytest.fixture
def project(tmp_path):
    """A project dir with the demo config and a private copy of templates/ and assets/."""
    import shutil

    shutil.copytree(ROOT / "config", tmp_path / "config",
                    ignore=shutil.ignore_patterns("linux.yaml", "ai.yaml", "space.yaml"))
    shutil.copytree(ROOT / "templates", tmp_path / "site" / "templates")
    shutil.copytree(ROOT / "assets", tmp_path / "site" / "assets")
    return tmp_path


def set_publish(project: Path, publish: dict) -> None:
    """Set the demo report's publish: section."""
    path = project / "config" / "demo.yaml"
    data = yaml.safe_load(path.read_text())
    data["publish"] = publish
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def parse_both_ways(body: bytes, headers: dict[str, str], final_url: str) -> list:
    """parse_feed's result (entries, or the ParseError message) on its fast path and
    forced through feedparser: the two must agree."""
    from linuxreport.parse import ParseError, parse_feed

    results = []
    for fast in (True, False):
        try:
            results.append(parse_feed(body, headers, final_url, fast=fast))
        except ParseError as exc:
            results.append(f"ParseError: {exc}")
    return results


# Headless Chromium for the browser tests (test_reader_browser, test_xss_browser).
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if not chromium:
        pytest.fail("chromium is not installed: `make install` installs it (Debian package "
                    "chromium); these tests need a real browser")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True,
                                              args=CHROMIUM_FLAGS)
        yield launched
        launched.close()

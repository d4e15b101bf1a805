"""Publishing under stress: killed mid-way, and read through nginx acting as the CDN."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import AWS_ENV, set_publish
from slowproxy import SlowProxy
from test_publish import BUCKET, bucket_keys, build, built_files, change_css, publish


def html_references_exist(s3) -> list[str]:
    """Return every asset that a published page references but the bucket lacks."""
    keys = set(bucket_keys(s3))
    missing = []
    for key in keys:
        if not key.endswith(".html"):
            continue
        page = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        for ref in re.findall(r'(?:href|src)="(assets/[^"]+)"', page):
            if f"demo/{ref}" not in keys:
                missing.append(f"{key} -> {ref}")
    return missing


@pytest.fixture
def s3_project(project, s3, moto_endpoint):
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}))
    set_publish(project, {"target": f"s3://{BUCKET}/demo", "endpoint_url": moto_endpoint,
                          "workers": 1, "cache_control": {"html": "public, max-age=1"}})
    build(project)
    return project


def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_publish_killed_mid_way_stays_consistent_and_rerun_completes(s3_project, s3,
                                                                      moto_endpoint):
    """kill -9 while the new assets are going up (every PUT is slowed by a proxy):
    pages in the bucket must still reference assets that exist; a rerun finishes."""
    assert publish(s3_project).returncode == 0
    old_index = s3.get_object(Bucket=BUCKET, Key="demo/index.html")["Body"].read()
    proxy = SlowProxy(moto_endpoint, put_delay=0.3)
    set_publish(s3_project, {"target": f"s3://{BUCKET}/demo", "endpoint_url": proxy.url,
                             "workers": 1})
    exe = Path(sys.executable).with_name("linuxreport")
    try:
        change_css(s3_project)
        build(s3_project)
        new_css = next(f"demo/{p}" for p in built_files(s3_project) if p.endswith(".css"))
        proc = subprocess.Popen([str(exe), "publish", "demo"], cwd=s3_project,
                                env={**os.environ, **AWS_ENV}, stderr=subprocess.DEVNULL)
        _wait_for(lambda: new_css in bucket_keys(s3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Killed mid-way: the new stylesheet is up, the front page is still the old one.
        assert s3.get_object(Bucket=BUCKET, Key="demo/index.html")["Body"].read() == old_index
        assert html_references_exist(s3) == []

        rerun = publish(s3_project)
        assert rerun.returncode == 0, rerun.stderr
        assert "0 deleted, 1 retained" in rerun.stderr
    finally:
        proxy.stop()
    assert html_references_exist(s3) == []
    for path, data in built_files(s3_project).items():
        assert s3.get_object(Bucket=BUCKET, Key=f"demo/{path}")["Body"].read() == data


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
{user}
events {{ worker_connections 64; }}
http {{
  client_body_temp_path {dir}/tmp/body; proxy_temp_path {dir}/tmp/proxy;
  fastcgi_temp_path {dir}/tmp/fastcgi; uwsgi_temp_path {dir}/tmp/uwsgi;
  scgi_temp_path {dir}/tmp/scgi;
  access_log off;
  proxy_cache_path {dir}/cache levels=1:2 keys_zone=cdn:1m max_size=50m inactive=60m
                   use_temp_path=off;
  server {{
    listen 127.0.0.1:{port};
    rewrite ^(.*/)$ $1index.html last;
    location / {{
      proxy_pass {origin}/{bucket}/demo/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host {origin_host};
      proxy_set_header Authorization "";
      proxy_cache cdn; proxy_cache_key $uri; proxy_cache_revalidate on;
      proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;
      add_header X-Cache-Status $upstream_cache_status always;
    }}
  }}
}}
"""


@pytest.fixture
def cdn(moto_endpoint, tmp_path, unused_port):
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None:
        pytest.fail("nginx is not installed (make install installs it)")
    base = tmp_path / "cdn"
    for sub in ("cache", "tmp"):
        (base / sub).mkdir(parents=True)
    conf = base / "nginx.conf"
    conf.write_text(NGINX_CONF.format(
        dir=base, port=unused_port, origin=moto_endpoint, bucket=BUCKET,
        origin_host=moto_endpoint.removeprefix("http://"),
        user="user root;" if os.geteuid() == 0 else ""))
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(base)],
                            stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{unused_port}"
    for _ in range(100):
        try:
            httpx.get(url + "/robots.txt", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield url
    proc.send_signal(signal.SIGQUIT)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


def _get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10)


def test_through_the_cdn(s3_project, s3, cdn):
    assert publish(s3_project).returncode == 0
    css = next(p for p in built_files(s3_project) if p.endswith(".css"))
    first, second = _get(f"{cdn}/{css}"), _get(f"{cdn}/{css}")
    assert first.status_code == second.status_code == 200
    assert (first.headers["x-cache-status"], second.headers["x-cache-status"]) == ("MISS", "HIT")
    assert second.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert second.headers["content-type"] == "text/css; charset=utf-8"

    page = _get(f"{cdn}/")
    assert page.status_code == 200 and css in page.text
    assert _get(f"{cdn}/").headers["x-cache-status"] == "HIT"
    time.sleep(2.5)  # past the page's max-age=1 (nginx counts whole seconds)
    assert _get(f"{cdn}/").headers["x-cache-status"] == "REVALIDATED"

    change_css(s3_project)
    build(s3_project)
    assert publish(s3_project).returncode == 0
    new_css = next(p for p in built_files(s3_project) if p.endswith(".css"))
    time.sleep(2.5)
    fresh = _get(f"{cdn}/")
    assert new_css in fresh.text and css not in fresh.text
    assert _get(f"{cdn}/{new_css}").status_code == 200
    # A reader whose cached page still names the old stylesheet still gets it.
    old = _get(f"{cdn}/{css}")
    assert old.status_code == 200 and old.text == first.text
    assert f"demo/{css}" in bucket_keys(s3)

"""Publishing to S3 (moto's server over real HTTP) and to a local directory."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import AWS_ENV, run_cli, set_publish

from linuxreport.config import load_reports
from linuxreport.errors import PublishError
from linuxreport.publish.run import PublishOptions, publish_report
from linuxreport.publish.s3client import parse_timestamp
from linuxreport.publish.targets import make_target

NOW = "2026-11-21T08:00:00+0000"
BUCKET = "news-site"
HTML_CACHE = "public, max-age=60, s-maxage=300, stale-while-revalidate=60, stale-if-error=86400"
ASSET_CACHE = "public, max-age=31536000, immutable"


def build(project: Path):
    result = run_cli("--site-dir", "site", "build", "demo", "--now", NOW, cwd=project)
    assert result.returncode == 0, result.stderr


def publish(project: Path, *args: str):
    return run_cli("publish", "demo", *args, cwd=project, env=AWS_ENV)


def built_files(project: Path) -> dict[str, bytes]:
    root = project / "public" / "demo"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".linuxreport" not in p.parts}


def bucket_keys(s3, prefix: str = "") -> dict[str, dict]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"]: o for page in pages for o in page.get("Contents", [])}


def change_css(project: Path) -> None:
    with (project / "site" / "assets" / "css" / "site.css").open("a") as css:
        css.write("\n.feed-title { letter-spacing: .05em; }\n")


@pytest.fixture
def s3_project(project, s3, moto_endpoint):
    s3.create_bucket(Bucket=BUCKET)
    set_publish(project, {"target": f"s3://{BUCKET}/demo", "endpoint_url": moto_endpoint,
                          "region": "us-east-1", "workers": 4})
    build(project)
    return project


def test_first_publish_uploads_everything_with_headers(s3_project, s3):
    result = publish(s3_project)
    assert result.returncode == 0, result.stderr
    files = built_files(s3_project)
    assert f"Published demo to s3://{BUCKET}/demo: {len(files)} uploaded" in result.stderr
    for path, data in files.items():
        head = s3.head_object(Bucket=BUCKET, Key=f"demo/{path}")
        assert head["ContentLength"] == len(data)
        assert head["Metadata"]["md5"] == hashlib.md5(data).hexdigest()
        if path.endswith(".html"):
            assert head["ContentType"] == "text/html; charset=utf-8"
            assert head["CacheControl"] == HTML_CACHE
        elif path.endswith(".css"):
            assert head["ContentType"] == "text/css; charset=utf-8"
            assert head["CacheControl"] == ASSET_CACHE
        elif path.endswith(".svg"):
            assert head["ContentType"] == "image/svg+xml; charset=utf-8"
            assert head["CacheControl"] == ASSET_CACHE
        elif path == "robots.txt":
            assert head["ContentType"] == "text/plain; charset=utf-8"
            assert "s-maxage" in head["CacheControl"]


def test_second_publish_uploads_nothing(s3_project, s3):
    assert publish(s3_project).returncode == 0
    before = {k: o["LastModified"] for k, o in bucket_keys(s3).items()}
    build(s3_project)  # a rebuild with the same bytes
    again = publish(s3_project, "--json")
    assert again.returncode == 0, again.stderr
    (summary,) = json.loads(again.stdout)["published"]
    assert (summary["uploaded"], summary["deleted"]) == (0, 0)
    assert summary["unchanged"] == len(built_files(s3_project))
    assert {k: o["LastModified"] for k, o in bucket_keys(s3).items()} == before
    line = publish(s3_project).stderr
    assert "0 uploaded (0 B)" in line and "0 deleted" in line


def _publish_in_process(project: Path, endpoint: str, now: datetime, **options):
    (report,) = load_reports(project / "config", project / "site" / "assets", ["demo"]).reports
    target = make_target(f"s3://{BUCKET}/demo", "demo", endpoint, "us-east-1")
    order: list[str] = []
    summary = publish_report(report, project / "public" / "demo", target,
                             PublishOptions(now=now, workers=4, **options), order.append)
    return summary, order


def test_css_change_uploads_asset_before_html_and_keeps_the_old_one(s3_project, s3,
                                                                     moto_endpoint):
    now = datetime(2026, 11, 21, 8, tzinfo=UTC)
    _publish_in_process(s3_project, moto_endpoint, now)
    old_css = {k for k in bucket_keys(s3) if k.endswith(".css")}
    before = built_files(s3_project)
    change_css(s3_project)
    build(s3_project)
    summary, order = _publish_in_process(s3_project, moto_endpoint, now + timedelta(hours=1))
    after = built_files(s3_project)
    new_css = {f"demo/{p}" for p in after if p.endswith(".css")}
    assert new_css.isdisjoint(old_css)
    # Exactly the changed files: the new stylesheet, the pages that reference it, the
    # service worker that precaches it and version.json.
    changed = sorted(p for p, data in after.items() if before.get(p) != data)
    assert sorted(order) == changed
    assert {"index.html", "sw.js", "version.json"} <= set(changed)
    css_at = order.index(next(iter(new_css)).removeprefix("demo/"))
    assert all(css_at < order.index(p) for p in order if p.endswith(".html"))
    assert order[-1] == "index.html"
    keys = bucket_keys(s3)
    assert old_css <= set(keys) and new_css <= set(keys)
    assert summary.retained == 1 and summary.deleted == 0

    # Within the retention window the old asset stays; after it, it goes.
    summary, _ = _publish_in_process(s3_project, moto_endpoint, now + timedelta(days=6))
    assert old_css <= set(bucket_keys(s3)) and summary.retained == 1
    summary, order = _publish_in_process(s3_project, moto_endpoint, now + timedelta(days=8))
    assert order == [] and summary.deleted == 1 and summary.retained == 0
    assert old_css.isdisjoint(bucket_keys(s3)) and new_css <= set(bucket_keys(s3))


def test_stale_pages_are_deleted_and_only_inside_the_prefix(s3_project, s3):
    s3.put_object(Bucket=BUCKET, Key="demo/old-page.html", Body=b"<p>old</p>")
    s3.put_object(Bucket=BUCKET, Key="other/index.html", Body=b"<p>another report</p>")
    s3.put_object(Bucket=BUCKET, Key="demo-archive/keep.html", Body=b"<p>similar prefix</p>")
    result = publish(s3_project)
    assert result.returncode == 0, result.stderr
    assert "1 deleted" in result.stderr
    keys = bucket_keys(s3)
    assert "demo/old-page.html" not in keys
    assert {"other/index.html", "demo-archive/keep.html"} <= set(keys)


def test_max_deletes_holds_back_every_delete(s3_project, s3):
    for i in range(5):
        s3.put_object(Bucket=BUCKET, Key=f"demo/stale-{i}.txt", Body=b"x")
    result = publish(s3_project, "--max-deletes", "3")
    assert result.returncode == 0, result.stderr
    assert "5 deletes exceed --max-deletes 3; deleting nothing this time" in result.stderr
    assert all(f"demo/stale-{i}.txt" in bucket_keys(s3) for i in range(5))
    assert publish(s3_project, "--max-deletes", "5").returncode == 0
    assert not any("stale-" in k for k in bucket_keys(s3))


def test_shrink_guard_refuses_then_force_publishes(s3_project, s3):
    for i in range(14):
        s3.put_object(Bucket=BUCKET, Key=f"demo/page-{i}.html", Body=b"<p>page</p>")
    before = set(bucket_keys(s3))
    refused = publish(s3_project)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "Error: demo: the new site has 6 HTML pages, the published one 14; refusing to "
        "publish (use --force if intended)")
    assert set(bucket_keys(s3)) == before
    forced = publish(s3_project, "--force")
    assert forced.returncode == 0, forced.stderr
    assert not any("page-" in k for k in bucket_keys(s3))


def test_dry_run_changes_nothing(s3_project, s3):
    result = publish(s3_project, "--dry-run")
    assert result.returncode == 0, result.stderr
    files = built_files(s3_project)
    assert result.stdout.startswith(f"Would publish demo to s3://{BUCKET}/demo: "
                                    f"{len(files)} uploaded")
    assert "  upload index.html" in result.stdout
    assert bucket_keys(s3) == {}


def test_bucket_read_back_by_awscli_matches_the_tree(s3_project, moto_endpoint, tmp_path):
    assert publish(s3_project).returncode == 0
    aws = shutil.which("aws", path="/usr/bin")
    if aws is None:
        pytest.fail("Debian's awscli is not installed (make install installs it)")
    down = tmp_path / "down"
    env = {**AWS_ENV, "PATH": "/usr/bin:/bin"}
    subprocess.run([aws, "--endpoint-url", moto_endpoint, "s3", "sync", f"s3://{BUCKET}/demo",
                    str(down), "--only-show-errors"], check=True, env=env, timeout=120)
    fetched = {p.relative_to(down).as_posix(): p.read_bytes() for p in down.rglob("*")
               if p.is_file() and ".linuxreport" not in p.parts}
    assert fetched == built_files(s3_project)
    head = subprocess.run([aws, "--endpoint-url", moto_endpoint, "s3api", "head-object",
                           "--bucket", BUCKET, "--key", "demo/index.html"], check=True,
                          capture_output=True, text=True, env=env, timeout=60)
    info = json.loads(head.stdout)
    assert info["ContentType"] == "text/html; charset=utf-8"
    assert info["CacheControl"] == HTML_CACHE


def test_gzip_option_stores_compressed_text_reproducibly(project, s3, moto_endpoint):
    s3.create_bucket(Bucket=BUCKET)
    set_publish(project, {"target": f"s3://{BUCKET}/demo", "endpoint_url": moto_endpoint,
                          "gzip": True})
    build(project)
    assert publish(project).returncode == 0
    head = s3.head_object(Bucket=BUCKET, Key="demo/index.html")
    assert head["ContentEncoding"] == "gzip"
    import gzip

    body = s3.get_object(Bucket=BUCKET, Key="demo/index.html")["Body"].read()
    assert gzip.decompress(body) == built_files(project)["index.html"]
    again = publish(project)
    assert "0 uploaded" in again.stderr, again.stderr


@pytest.mark.parametrize("case, expected", [
    ("no-bucket", "Error: s3://no-such-bucket/demo: bucket 'no-such-bucket' does not exist"),
    ("unreachable", "Error: s3://news-site/demo: cannot reach the S3 endpoint"),
    ("not-built", "Error: public/demo: no built site; run: linuxreport build demo"),
])
def test_configuration_errors_are_one_line_and_change_nothing(project, s3, moto_endpoint,
                                                              unused_port, case, expected):
    s3.create_bucket(Bucket=BUCKET)
    endpoint = f"http://127.0.0.1:{unused_port}" if case == "unreachable" else moto_endpoint
    bucket = "no-such-bucket" if case == "no-bucket" else BUCKET
    set_publish(project, {"target": f"s3://{bucket}/demo", "endpoint_url": endpoint})
    if case != "not-built":
        build(project)
    result = publish(project)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(expected), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert bucket_keys(s3) == {}


def test_bad_credentials_are_named(project, tmp_path, unused_port):
    """A moto server that enforces authentication turns our unknown keys away."""
    import os
    import sys
    import time

    import httpx

    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                               "-p", str(unused_port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{unused_port}"
        for _ in range(100):
            try:
                httpx.get(endpoint, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        set_publish(project, {"target": "s3://news-site/demo", "endpoint_url": endpoint})
        build(project)
        result = publish(project)
        assert result.returncode == 1
        assert result.stderr.strip().startswith(
            "Error: s3://news-site/demo: access denied"), result.stderr
        assert "check the S3 credentials" in result.stderr
    finally:
        server.kill()
        server.wait()


def test_cloudfront_invalidation_for_changed_pages(s3_project, s3, moto_endpoint):
    import boto3

    cloudfront = boto3.client("cloudfront", endpoint_url=moto_endpoint, region_name="us-east-1")
    distribution = cloudfront.create_distribution(DistributionConfig={
        "CallerReference": "linuxreport-test", "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "bucket", "DomainName":
                                              f"{BUCKET}.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "bucket", "ViewerProtocolPolicy":
                                 "allow-all", "MinTTL": 0},
    })["Distribution"]["Id"]
    set_publish(s3_project, {"target": f"s3://{BUCKET}/demo", "endpoint_url": moto_endpoint,
                             "cloudfront_distribution": distribution})
    env = {**AWS_ENV, "AWS_ENDPOINT_URL_CLOUDFRONT": moto_endpoint}
    first = run_cli("publish", "demo", "--json", cwd=s3_project, env=env)
    assert first.returncode == 0, first.stderr
    (summary,) = json.loads(first.stdout)["published"]
    pages = [p for p in built_files(s3_project) if p.endswith(".html")]
    expected = sorted({f"/demo/{p}" for p in pages}
                      | {f"/demo/{p.removesuffix('index.html')}" for p in pages
                         if p.endswith("index.html")})
    assert summary["invalidated"] == expected
    items = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]
    (listed,) = items["Items"]
    batch = cloudfront.get_invalidation(DistributionId=distribution, Id=listed["Id"])
    paths = batch["Invalidation"]["InvalidationBatch"]["Paths"]["Items"]
    assert sorted(paths) == expected
    again = run_cli("publish", "demo", "--json", cwd=s3_project, env=env)
    assert json.loads(again.stdout)["published"][0]["invalidated"] == []


def test_default_target_is_a_local_directory_with_the_same_rules(project):
    build(project)
    first = run_cli("publish", "demo", cwd=project)
    assert first.returncode == 0, first.stderr
    published = project / "published" / "demo"
    files = built_files(project)
    assert {p.relative_to(published).as_posix(): p.read_bytes() for p in published.rglob("*")
            if p.is_file() and ".linuxreport" not in p.parts} == files
    old_css = next(p for p in files if p.endswith(".css"))
    change_css(project)
    build(project)
    changed = sum(files.get(p) != data for p, data in built_files(project).items())
    second = run_cli("publish", "demo", cwd=project)
    assert second.returncode == 0
    assert f" {changed} uploaded" in second.stderr and "1 retained" in second.stderr
    assert (published / old_css).is_file()
    assert run_cli("publish", "demo", cwd=project).stderr.count("0 uploaded") == 1


def _record_requests(target) -> list[tuple[str, dict]]:
    """Record (operation, headers) of every request the target's client sends from now on."""
    sent: list[tuple[str, dict]] = []
    target.client.meta.events.register(
        "before-send.s3", lambda request, **kw: sent.append(
            (kw["event_name"].rsplit(".", 1)[-1], dict(request.headers))))
    return sent


def test_uploads_carry_content_md5_and_no_extra_checksum(s3, moto_endpoint):
    s3.create_bucket(Bucket=BUCKET)
    target = make_target(f"s3://{BUCKET}/demo", "demo", moto_endpoint, "us-east-1")
    sent = _record_requests(target)
    small, large = b"<p>small page</p>\n" * 10, bytes(range(256)) * 5000  # 1.2 MB
    for path, data in (("a.html", small), ("b.png", large)):
        md5 = hashlib.md5(data).hexdigest()
        etag = target.put(path, data, {"Content-Type": "text/html; charset=utf-8",
                                       "Cache-Control": "no-cache"}, md5)
        assert etag == md5
        stored = s3.get_object(Bucket=BUCKET, Key=f"demo/{path}")
        assert stored["Body"].read() == data and stored["Metadata"] == {"md5": md5}
    assert [op for op, _ in sent] == ["PutObject", "PutObject"]
    small_headers, large_headers = ({k.lower(): v for k, v in h.items()} for _, h in sent)
    for recorded, data in ((small_headers, small), (large_headers, large)):
        assert base64.b64decode(recorded["content-md5"]) == hashlib.md5(data).digest()
        assert not any(k.startswith("x-amz-checksum") or k == "x-amz-sdk-checksum-algorithm"
                       for k in recorded)
    # A 100-continue round trip only pays off for a large body.
    assert "expect" not in small_headers and large_headers["expect"] == b"100-continue"


def test_listing_pages_decodes_keys_and_parses_times(s3, moto_endpoint, monkeypatch):
    s3.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("MOTO_S3_DEFAULT_MAX_KEYS", "2")  # the in-process server: tiny pages
    paths = ["a b.html", "café/index.html", "x+y.css", "z.txt", ".linuxreport/published.json"]
    for path in paths:
        s3.put_object(Bucket=BUCKET, Key=f"demo/{path}", Body=path.encode())
    s3.put_object(Bucket=BUCKET, Key="demo-other/outside.html", Body=b"not ours")
    target = make_target(f"s3://{BUCKET}/demo", "demo", moto_endpoint, "us-east-1")
    listed = target.list()
    assert sorted(listed) == sorted(paths[:-1])
    for path, obj in listed.items():
        assert obj.etag == hashlib.md5(path.encode()).hexdigest()
        assert obj.size == len(path.encode())
        assert obj.last_modified.tzinfo is not None
        assert abs(datetime.now(UTC) - obj.last_modified) < timedelta(minutes=5)


@pytest.mark.parametrize("value, expected", [
    ("2026-11-27T22:24:49.000Z", datetime(2026, 11, 27, 22, 24, 49, tzinfo=UTC)),
    ("2026-11-27T22:24:49.5+01:00", datetime(2026, 11, 27, 21, 24, 49, 500000, tzinfo=UTC)),
    ("Fri, 27 Nov 2026 22:24:49 GMT", datetime(2026, 11, 27, 22, 24, 49, tzinfo=UTC)),
    ("1795818289", datetime(2026, 11, 27, 22, 24, 49, tzinfo=UTC)),
    ("20261127", None),  # ISO 8601 without a zone: botocore reads epoch seconds; so do we
])
def test_timestamps_parse_like_botocore(value, expected):
    from botocore.utils import parse_timestamp as botocore_parse

    parsed = parse_timestamp(value)
    assert parsed == botocore_parse(value) and parsed.utcoffset() is not None
    assert expected is None or parsed == expected


def test_no_change_publish_lists_and_reads_the_index_only(s3_project, s3, moto_endpoint):
    (report,) = load_reports(s3_project / "config", s3_project / "site" / "assets",
                             ["demo"]).reports
    built = s3_project / "public" / "demo"
    now = datetime(2026, 11, 21, 8, tzinfo=UTC)
    first = make_target(f"s3://{BUCKET}/demo", "demo", moto_endpoint, "us-east-1")
    publish_report(report, built, first, PublishOptions(now=now, workers=4))
    target = make_target(f"s3://{BUCKET}/demo", "demo", moto_endpoint, "us-east-1")
    sent = _record_requests(target)
    summary = publish_report(report, built, target, PublishOptions(now=now, workers=4))
    assert summary.uploaded == 0 and summary.unchanged == len(built_files(s3_project))
    assert sorted(op for op, _ in sent) == ["GetObject", "ListObjectsV2"]


def test_missing_bucket_is_named_without_a_head_request(s3, moto_endpoint, tmp_path):
    target = make_target("s3://no-such-bucket/demo", "demo", moto_endpoint, "us-east-1")
    sent = _record_requests(target)
    target.check()
    with pytest.raises(PublishError, match="bucket 'no-such-bucket' does not exist"):
        target.list()
    with pytest.raises(PublishError, match="bucket 'no-such-bucket' does not exist"):
        target.read_index()
    assert [op for op, _ in sent] == ["ListObjectsV2", "GetObject"]


def test_s3_publish_loads_botocore_only(s3_project):
    from test_cli import BUILD_ONLY_MODULES, loaded_modules

    loaded = loaded_modules(["-q", "publish", "demo"], s3_project, AWS_ENV)
    assert "botocore.client" in loaded
    assert loaded.isdisjoint(BUILD_ONLY_MODULES), loaded & BUILD_ONLY_MODULES

"""Tell a CDN which pages changed: CloudFront invalidations or a generic purge URL.

With short HTML lifetimes this is a speed-up, never a requirement.
"""

from __future__ import annotations

import hashlib
import json
import logging

from ..errors import PublishError

log = logging.getLogger(__name__)

# CloudFront charges per path beyond a free quota; past this many, one wildcard instead.
MAX_PATHS = 15


def invalidation_paths(changed: list[str], prefix: str) -> list[str]:
    """Return the URL paths to purge for changed files (dir/index.html also as dir/)."""
    root = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    paths = set()
    for path in changed:
        paths.add(root + path)
        if path == "index.html" or path.endswith("/index.html"):
            paths.add(root + path[: -len("index.html")])
    if len(paths) > MAX_PATHS:
        return [root + "*"]
    return sorted(paths)


def cloudfront_invalidate(distribution: str, paths: list[str], version: str,
                          client=None) -> str:
    """Ask CloudFront to invalidate paths; return the invalidation id.

    version identifies the content (e.g. the changed files' MD5s): CloudFront treats a
    repeated CallerReference as the same request, so each new content needs a new one.
    """
    if client is None:
        import boto3

        client = boto3.client("cloudfront")
    reference = hashlib.sha256(json.dumps([paths, version]).encode()).hexdigest()[:32]
    try:
        result = client.create_invalidation(
            DistributionId=distribution,
            InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths},
                               "CallerReference": reference})
    except Exception as exc:  # botocore raises many kinds; all mean the same to the admin
        raise PublishError(f"CloudFront {distribution}: invalidation failed: {exc}") from exc
    return result["Invalidation"]["Id"]


def purge_url(url: str, paths: list[str], user_agent: str) -> None:
    """POST the changed paths as JSON to a CDN's purge endpoint."""
    import httpx  # only here: most publishes purge nothing, and httpx takes 0.1 s to import

    try:
        response = httpx.post(url, json={"paths": paths}, timeout=30,
                              headers={"User-Agent": user_agent})
    except httpx.HTTPError as exc:
        raise PublishError(f"purge {url}: {exc}") from exc
    if response.status_code >= 400:
        raise PublishError(f"purge {url}: HTTP {response.status_code}")

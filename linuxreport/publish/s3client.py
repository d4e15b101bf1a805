"""The botocore S3 client publish uses, tuned for many small uploads and one big listing.

What the defaults cost per publish, and what we do instead (bench/run.py, 2,000 files):

- boto3 adds nothing publish needs over botocore but s3transfer's import; the client
  comes straight from a botocore session, whose model loader is told that S3 is the only
  service it will be asked for, instead of scanning ~400 service folders per model file.
- botocore parses every ListObjectsV2 timestamp with dateutil: about 0.1 ms each, four
  fifths of the time spent parsing a listing. datetime.fromisoformat reads S3's ISO 8601
  form directly; anything else (HTTP-date headers) still goes to botocore's parser.
- botocore >= 1.36 adds a CRC32 checksum to every PutObject. We already send Content-MD5,
  which S3 checks against the bytes it receives, so the checksum is only asked for where
  an operation requires one ("when_required").
- botocore sends "Expect: 100-continue" with every PutObject body, which costs a round
  trip per upload; it only pays off for a large body the store might turn away, so
  smaller bodies go without it.
"""

from __future__ import annotations

import os
from datetime import datetime

from ..errors import PublishError

# Under this size a body costs less to resend than a 100-continue round trip per upload.
EXPECT_CONTINUE_MIN_BYTES = 1024 * 1024


def s3_client(endpoint_url: str | None, region: str | None, profile: str | None, workers: int):
    """Return a botocore S3 client with retries tuned for throttling and 5xx."""
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import ProfileNotFound

    # Stores other than AWS (and local test servers) want path-style addressing; an endpoint
    # may also come from boto3's own environment variables.
    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") \
        or os.environ.get("AWS_ENDPOINT_URL")
    config = Config(retries={"max_attempts": 8, "mode": "adaptive"},
                    max_pool_connections=max(workers, 10), connect_timeout=10, read_timeout=60,
                    s3={"addressing_style": "path" if endpoint_url else "auto"},
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required")
    session = botocore.session.Session(profile=profile)
    session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=parse_timestamp)
    try:  # a missing profile shows when the session first reads its config
        session.register_component("data_loader", _s3_loader(session.get_config_variable(
            "data_path")))
        client = session.create_client(
            "s3", endpoint_url=endpoint_url, config=config,
            region_name=region or session.get_config_variable("region") or "us-east-1")
    except ProfileNotFound as exc:
        raise PublishError(str(exc)) from None
    # After botocore's own before-call.s3 handler, the one that adds the header.
    client.meta.events.register_last("before-call.s3", _drop_expect_for_small_bodies)
    return client


def _s3_loader(data_path: str | None):
    """Return botocore's data loader (same search path), for the S3 models only."""
    from botocore.loaders import Loader

    class S3Loader(Loader):
        def list_available_services(self, type_name: str) -> list[str]:
            return ["s3"]

    extra = [os.path.expanduser(os.path.expandvars(p))
             for p in (data_path or "").split(os.pathsep) if p]
    return S3Loader(extra_search_paths=extra)


def parse_timestamp(value: str) -> datetime:
    """Return the aware datetime of an S3 timestamp, fast for ISO 8601 (listings)."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        from botocore.utils import parse_timestamp as botocore_parse_timestamp

        return botocore_parse_timestamp(value)
    return parsed


def _drop_expect_for_small_bodies(params: dict, **_) -> None:
    body = params.get("body")
    size = body.getbuffer().nbytes if hasattr(body, "getbuffer") else None
    if size is not None and size < EXPECT_CONTINUE_MIN_BYTES:
        params["headers"].pop("Expect", None)

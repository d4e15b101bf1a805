"""Where a report is published: a local directory or an S3-compatible bucket.

Both offer the same small interface (list, read_index, put, head_md5, delete) so
the same plan, order and retention rules apply to either.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from ..errors import PublishError
from ..state import atomic_write
from .plan import INDEX_PATH, RemoteObject
from .s3client import s3_client


def normalize_etag(etag: str | None) -> str:
    """Return an ETag without quotes or weak prefix, lower-cased (stores differ in form)."""
    etag = (etag or "").strip()
    if etag.startswith("W/"):
        etag = etag[2:]
    return etag.strip('"').lower()


class DirTarget:
    """Publishes into a local directory (the default target)."""

    stores_headers = False  # a directory keeps bytes only; a server maps the types

    def __init__(self, root: Path):
        self.root = root
        self.url = str(root)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PublishError(f"{self.root}: cannot create: {exc.strerror or exc}") from None

    def list(self) -> dict[str, RemoteObject]:
        objects = {}
        for path in self.root.rglob("*"):
            rel = path.relative_to(self.root).as_posix()
            if not path.is_file() or rel == INDEX_PATH or _is_temp(path):
                continue
            data = path.read_bytes()
            md5 = hashlib.md5(data).hexdigest()
            mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            objects[rel] = RemoteObject(rel, len(data), md5, mtime, md5)
        return objects

    def read_index(self) -> dict:
        try:
            return json.loads((self.root / INDEX_PATH).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def put(self, path: str, data: bytes, headers: dict[str, str], md5: str) -> str:
        atomic_write(self.root / path, data)
        return md5

    def head_md5(self, path: str) -> str | None:
        try:
            return hashlib.md5((self.root / path).read_bytes()).hexdigest()
        except OSError:
            return None

    def delete(self, paths: list[str]) -> None:
        for path in paths:
            (self.root / path).unlink(missing_ok=True)
        for folder in sorted({(self.root / p).parent for p in paths}, reverse=True):
            while folder != self.root and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent


def _is_temp(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(".tmp")  # atomic_write's


class S3Target:
    """Publishes into s3://bucket/prefix through boto3 (AWS or any S3-compatible store)."""

    stores_headers = True

    def __init__(self, url: str, client, bucket: str, prefix: str):
        self.url, self.client, self.bucket = url, client, bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def key(self, path: str) -> str:
        return self.prefix + path

    def check(self) -> None:
        """Nothing to do: the listing that comes first fails with the same clear errors."""

    def list(self) -> dict[str, RemoteObject]:
        objects = {}
        params = {"Bucket": self.bucket, "Prefix": self.prefix}
        with s3_errors(self):
            while True:  # pages by hand: a paginator would load one more model file
                page = self.client.list_objects_v2(**params)
                for item in page.get("Contents", []):
                    rel = item["Key"][len(self.prefix):]
                    if not item["Key"].startswith(self.prefix) or rel == INDEX_PATH or not rel:
                        continue
                    objects[rel] = RemoteObject(rel, item["Size"], normalize_etag(item["ETag"]),
                                                item["LastModified"])
                if not page.get("IsTruncated"):
                    return objects
                params["ContinuationToken"] = page["NextContinuationToken"]

    def read_index(self) -> dict:
        with s3_errors(self):
            try:
                body = self.client.get_object(Bucket=self.bucket, Key=self.key(INDEX_PATH))["Body"]
                return json.loads(body.read())
            except self.client.exceptions.NoSuchKey:
                return {}
            except ValueError:
                return {}

    def put(self, path: str, data: bytes, headers: dict[str, str], md5: str) -> str:
        """Upload data; md5 is the MD5 (hex) of the uncompressed bytes, kept in metadata."""
        extra = {"ContentType": headers["Content-Type"], "CacheControl": headers["Cache-Control"],
                 "Metadata": {"md5": md5}}
        if headers.get("Content-Encoding"):
            extra["ContentEncoding"] = headers["Content-Encoding"]
            digest = hashlib.md5(data).digest()
        else:
            digest = bytes.fromhex(md5)  # the caller's MD5 of these very bytes: S3 checks it
        digest = base64.b64encode(digest).decode()
        with s3_errors(self):
            response = self.client.put_object(Bucket=self.bucket, Key=self.key(path), Body=data,
                                              ContentMD5=digest, **extra)
        return normalize_etag(response.get("ETag"))

    def head_md5(self, path: str) -> str | None:
        with s3_errors(self):
            meta = self.client.head_object(Bucket=self.bucket, Key=self.key(path))["Metadata"]
        return {k.lower(): v for k, v in meta.items()}.get("md5")

    def delete(self, paths: list[str]) -> None:
        keys = [self.key(p) for p in paths]
        if any(not k.startswith(self.prefix) for k in keys):  # never outside the prefix
            raise PublishError(f"{self.url}: refusing to delete outside the target prefix")
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start:start + 1000]]
            with s3_errors(self):
                result = self.client.delete_objects(Bucket=self.bucket,
                                                    Delete={"Objects": batch, "Quiet": True})
            if result.get("Errors"):
                first = result["Errors"][0]
                raise PublishError(f"{self.url}: cannot delete {first.get('Key')}: "
                                   f"{first.get('Message') or first.get('Code')}")


class s3_errors:
    """Turns botocore errors into one clear PublishError line naming the target."""

    def __init__(self, target: S3Target):
        self.target = target

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None or isinstance(exc, PublishError):
            return False
        message = describe_s3_error(exc, self.target.bucket)
        if message is None:
            return False
        raise PublishError(f"{self.target.url}: {message}") from exc


def describe_s3_error(exc: BaseException, bucket: str) -> str | None:
    """Return a plain-words reason for a boto3 failure, or None if it is not one."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        ProfileNotFound,
    )

    if isinstance(exc, NoCredentialsError):
        return ("no S3 credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or a profile)")
    if isinstance(exc, ProfileNotFound):
        return str(exc)
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach the S3 endpoint {exc.kwargs.get('endpoint_url', '')}".rstrip()
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchBucket", "404") or (status == 404 and code in ("", "NotFound")):
            return f"bucket '{bucket}' does not exist"
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId",
                    "AccessDenied", "403", "Forbidden") or status == 403:
            return f"access denied ({code or status}): check the S3 credentials and permissions"
        return f"{code or status}: {exc.response.get('Error', {}).get('Message', '')}".strip()
    if isinstance(exc, BotoCoreError):
        return str(exc)
    return None


def make_target(url: str, report_name: str, endpoint_url: str | None = None,
                region: str | None = None, profile: str | None = None,
                workers: int = 16) -> DirTarget | S3Target:
    """Return the target a URL names: s3://bucket/prefix, or a local directory."""
    if not url.startswith("s3://"):
        return DirTarget(Path(url))
    bucket, _, prefix = url[5:].partition("/")
    return S3Target(url, s3_client(endpoint_url, region, profile, workers), bucket, prefix)

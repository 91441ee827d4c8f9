"""Which filesystem an ``objects_url`` names: S3 (``s3://bucket/prefix``), GCS (``gs://...``), or
a folder every node mounts (``/mnt/team/objects``, ``file:///...``).

The filesystems are pyarrow's own (:mod:`pyarrow.fs`): pyarrow is a core dependency already and
its S3 and GCS clients ship in the wheel, so a remote object store needs nothing more installed
(fsspec's ``s3fs``/``gcsfs`` would be two more packages and a second client stack).

Credentials come only from the environment (the AWS SDK's default chain: ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_PROFILE``, an instance role; for GCS
``GOOGLE_APPLICATION_CREDENTIALS``). A URL carrying a user, a password or query options is refused,
so no secret ends up in datamoat.yaml, in a manifest or in a log line. An S3-compatible server
(MinIO, Ceph, moto) is reached through ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` or
``objects_endpoint`` in datamoat.yaml; the region from ``AWS_REGION`` / ``AWS_DEFAULT_REGION``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.fs as pafs

from datamoat.errors import WorkspaceError

ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
"""Environment variables naming an S3-compatible endpoint, first found wins over datamoat.yaml."""
REGION_ENVS = ("AWS_REGION", "AWS_DEFAULT_REGION")
SCHEMES = ("s3", "gs", "gcs", "file")


@dataclass(frozen=True)
class ObjectsLocation:
    """A resolved ``objects_url``.

    url: the URL as the user wrote it (credential-free: safe to print).
    filesystem: the pyarrow filesystem to read and write through.
    base: the prefix inside ``filesystem`` (``bucket/prefix`` for S3, an absolute path locally),
        without a trailing slash.
    """

    url: str
    filesystem: pafs.FileSystem
    base: str

    def path(self, *parts: str) -> str:
        """``base/part/...``: a path inside the filesystem."""
        return "/".join([self.base, *parts])

    def uri(self, *parts: str) -> str:
        """The full URL of ``parts`` under the objects URL (what a person or another node reads)."""
        return "/".join([self.url.rstrip("/"), *parts])


def resolve_objects_url(url: str, root: Path, endpoint: str | None = None, where: str = "objects_url") -> ObjectsLocation:
    """Turn ``url`` into a filesystem and a base path.

    url: ``s3://bucket/prefix``, ``gs://bucket/prefix``, ``file:///abs/path`` or a path
        (relative paths are relative to the workspace folder ``root``).
    endpoint: an S3-compatible endpoint from datamoat.yaml (the environment wins over it).
    where: names the setting in error messages (``datamoat.yaml``'s path and key).
    Raises WorkspaceError (one sentence) for a URL with credentials or options, an unknown
    scheme, or an S3/GCS URL without a bucket.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if len(scheme) == 1 or not scheme:  # a plain path (a one-letter scheme is a Windows drive)
        path = Path(url).expanduser()
        path = path if path.is_absolute() else root / path
        return ObjectsLocation(str(path), pafs.LocalFileSystem(), str(path).rstrip("/"))
    if parts.username or parts.password or parts.query or parts.fragment:  # checked first: never echo them
        raise WorkspaceError(
            f"{where}: the objects URL must not carry a user, password or ?options; "
            "give credentials and the endpoint in the environment (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...)."
        )
    if scheme not in SCHEMES:
        raise WorkspaceError(f"{where}: unknown scheme {scheme!r} in {url!r}; use s3://, gs:// or a folder path.")
    if scheme == "file":
        return ObjectsLocation(url, pafs.LocalFileSystem(), parts.path.rstrip("/"))
    bucket, prefix = parts.netloc, parts.path.strip("/")
    if not bucket:
        raise WorkspaceError(f"{where}: {url!r} names no bucket; write {scheme}://BUCKET/PREFIX.")
    base = f"{bucket}/{prefix}" if prefix else bucket
    clean = f"{scheme}://{base}"
    if scheme == "s3":
        return ObjectsLocation(clean, _s3(endpoint), base)
    return ObjectsLocation(clean, pafs.GcsFileSystem(), base)


def _s3(endpoint: str | None) -> pafs.S3FileSystem:
    """pyarrow's S3 client; endpoint and region from the environment first, credentials only from it."""
    endpoint = next((os.environ[e] for e in ENDPOINT_ENVS if os.environ.get(e)), None) or endpoint
    region = next((os.environ[e] for e in REGION_ENVS if os.environ.get(e)), None)
    options: dict[str, object] = {"allow_bucket_creation": False, "allow_bucket_deletion": False}
    if endpoint:
        options["endpoint_override"] = endpoint
        options["scheme"] = "http" if endpoint.lower().startswith("http://") else "https"
    if region:
        options["region"] = region
    return pafs.S3FileSystem(**options)

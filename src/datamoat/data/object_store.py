"""The object store: immutable version directories under ``.datamoat/objects``.

Layout::

    objects/<hash[:2]>/<hash>/part-00000.parquet ...   the rows, in order
    objects/<hash[:2]>/<hash>/exclusions.parquet        rows dropped on the way, with reasons
    objects/<hash[:2]>/<hash>/manifest.json             content-level manifest (schema, shards)
    tmp/<pid>-<random>/                                 staging while a version is written
    tmp/datamoat-run-<pid>-<random>/                    a recipe run's spill files

A version is written into a staging directory, fsynced, and renamed into place in one
``os.rename`` — atomic on POSIX — before the catalog row that makes it visible is inserted.
A process killed half-way leaves only a staging (or run spill) directory, which the next
process to open the workspace or stage a version removes once the owner pid is gone.

With a remote ``objects_url`` (S3, GCS, a shared mount: :mod:`datamoat.data.remote_objects`) the
remote store is the one every machine shares and ``objects/`` is this machine's cache of it.
:meth:`ObjectStore.commit` uploads the staged version (data files, then the manifest as the
commit marker) *before* renaming it into the cache, so when the catalog row is inserted the
version is readable from every node, and a failed upload leaves the workspace as before.
:meth:`ObjectStore.local_dir` fetches a version missing from the cache (another machine wrote
it) into a staging directory and renames it into place the same way. A cache is used rather than
reading shards remotely because every reader stays a local-file reader (DuckDB's profile and diff
queries included) and a version, being immutable, never goes stale in it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from datamoat.data.remote_objects import EXCLUSIONS, MANIFEST, RemoteObjects

__all__ = ["EXCLUSIONS", "MANIFEST", "ObjectStore", "fsync_dir"]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


RUN_PREFIX = "datamoat-run-"
"""Name prefix of a recipe run's spill directory: ``datamoat-run-<pid>-<random>``."""
LEGACY_RUN_AGE_S = 86_400
"""Age (seconds) after which a run directory with no pid in its name is taken as abandoned."""


def _owner_pid(name: str) -> int | None:
    """The owner pid written in a scratch directory's name, or None."""
    pid_text = name.removeprefix(RUN_PREFIX).split("-", 1)[0]
    return int(pid_text) if pid_text.isdigit() and "-" in name else None


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


def fsync_dir(path: Path) -> None:
    """Flush a directory entry (so a rename survives a power cut)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ObjectStore:
    """Immutable, content-addressed version directories.

    root: the workspace's ``.datamoat`` directory.
    remote: the shared store (``objects_url``); None: ``objects/`` is the store itself.
    """

    def __init__(self, root: Path, remote: RemoteObjects | None = None) -> None:
        self.remote = remote
        self.objects = root / "objects"
        self.tmp = root / "tmp"
        self.objects.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, content_hash: str) -> Path:
        """Local directory of the version with this content hash (it may not exist yet)."""
        return self.objects / content_hash[:2] / content_hash

    def local_dir(self, content_hash: str) -> Path:
        """Local directory of the version, fetched from the remote store first when this machine
        has no copy yet. Raises UnavailableError when the remote store cannot give it."""
        final = self.path_for(content_hash)
        if self.remote is None or (final / MANIFEST).is_file():
            return final
        staging = self.new_staging_dir()
        try:
            self.remote.download(content_hash, staging)
            return self._publish(staging, content_hash)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def exists(self, content_hash: str) -> bool:
        """True if a complete version directory with this hash is in the store."""
        return (self.path_for(content_hash) / MANIFEST).is_file()

    def new_staging_dir(self) -> Path:
        """A fresh private directory for writing one version."""
        self.remove_stale_staging()
        path = self.tmp / f"{os.getpid()}-{uuid.uuid4().hex}"
        path.mkdir()
        return path

    def remove_stale_staging(self) -> None:
        """Delete scratch directories under ``tmp/`` whose owning process no longer runs.

        Owners are named in the directory name: ``<pid>-<random>`` (ingest staging) and
        ``datamoat-run-<pid>-<random>`` (a recipe run's spill files, see
        :class:`~datamoat.pipeline.executor_local.LocalExecutor`). Run directories from before
        the pid was recorded (``datamoat-run-<random>``) are removed once a day old.
        """
        for entry in self.tmp.iterdir():
            pid = _owner_pid(entry.name)
            if pid is not None and not _pid_alive(pid):
                shutil.rmtree(entry, ignore_errors=True)
            elif pid is None and entry.name.startswith(RUN_PREFIX) and _older_than(entry, LEGACY_RUN_AGE_S):
                shutil.rmtree(entry, ignore_errors=True)

    def commit(self, staging: Path, content_hash: str, manifest: dict[str, Any]) -> Path:
        """Write the manifest and move ``staging`` into place as version ``content_hash``.

        If the store already holds this hash (same content written before, maybe by another
        process at the same moment), the staging directory is discarded and the existing one
        is returned. With a remote store the version is uploaded first (unless already there):
        an upload that fails raises UnavailableError and publishes nothing.
        """
        manifest_path = staging / MANIFEST
        with open(manifest_path, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        for file in staging.iterdir():
            if file.is_file() and file.name != MANIFEST:
                with open(file, "rb") as fh:
                    os.fsync(fh.fileno())
        fsync_dir(staging)
        if self.remote is not None:
            self.remote.upload(staging, content_hash)
        return self._publish(staging, content_hash)

    def _publish(self, staging: Path, content_hash: str) -> Path:
        """Rename a complete staging directory (manifest included) into ``objects/``."""
        final = self.path_for(content_hash)
        if self.exists(content_hash):
            shutil.rmtree(staging, ignore_errors=True)
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():  # an incomplete leftover without manifest cannot happen via rename; be safe
            shutil.rmtree(final)
        try:
            os.rename(staging, final)
        except OSError:
            if not self.exists(content_hash):
                raise
            shutil.rmtree(staging, ignore_errors=True)  # another process won the race
        fsync_dir(final.parent)
        return final

    def read_manifest(self, content_hash: str) -> dict[str, Any]:
        """The content-level manifest of a stored version (fetched into the cache if need be)."""
        with open(self.local_dir(content_hash) / MANIFEST, encoding="utf-8") as f:
            return json.load(f)

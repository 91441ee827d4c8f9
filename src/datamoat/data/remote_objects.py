"""Version folders on a remote (or shared) filesystem: upload with the manifest last, download
into the local cache.

Layout under the ``objects_url`` is the local one: ``<hash[:2]>/<hash>/part-*.parquet``,
``exclusions.parquet``, ``manifest.json``. Object stores have no atomic rename of a folder, so the
manifest is the commit marker: it is written after every other file of the version, and a version
exists remotely exactly when its manifest does. Readers look for the manifest first and fetch only
the files it names, so a half-uploaded version (an upload killed before its manifest) is never
read; the next upload of the same content writes over its files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from datamoat.data.objects_url import ObjectsLocation
from datamoat.errors import UnavailableError

MANIFEST = "manifest.json"
EXCLUSIONS = "exclusions.parquet"


class RemoteObjects:
    """The shared copy of the object store, at ``location`` (see :mod:`datamoat.data.objects_url`)."""

    def __init__(self, location: ObjectsLocation) -> None:
        self.location = location
        self.fs = location.filesystem

    @property
    def url(self) -> str:
        """The objects URL (credential-free)."""
        return self.location.url

    def _dir(self, content_hash: str) -> str:
        return self.location.path(content_hash[:2], content_hash)

    def uri_for(self, content_hash: str, name: str = "") -> str:
        """The URL of a version's folder, or of the file ``name`` in it."""
        parts = [content_hash[:2], content_hash] + ([name] if name else [])
        return self.location.uri(*parts)

    def has(self, content_hash: str) -> bool:
        """True when the version's manifest (its commit marker) is in the remote store."""
        try:
            return self._has(content_hash)
        except OSError as err:
            raise self._error("could not look up", content_hash, err) from err

    def _has(self, content_hash: str) -> bool:
        return self.fs.get_file_info(f"{self._dir(content_hash)}/{MANIFEST}").type == pafs.FileType.File

    def upload(self, folder: Path, content_hash: str) -> None:
        """Copy a complete local version folder up, unless the store has it already: every data
        file, then ``manifest.json``.

        folder: a local folder holding the manifest and the files it names.
        Raises UnavailableError (one sentence naming the URL) when the store cannot be reached
        or a write fails; what was uploaded before the failure is deleted again as far as the
        store allows (it is invisible anyway: it has no manifest).
        """
        target = self._dir(content_hash)
        files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != MANIFEST)
        try:
            if self._has(content_hash):
                return  # the same content, uploaded before (maybe by another machine)
            if isinstance(self.fs, pafs.LocalFileSystem):
                self.fs.create_dir(target, recursive=True)  # object stores have no folders to make
            for name in [*files, MANIFEST]:
                pafs.copy_files(str(folder / name), f"{target}/{name}", destination_filesystem=self.fs)
        except OSError as err:
            self._forget_partial(target, content_hash)
            raise self._error("could not upload", content_hash, err) from err

    def download(self, content_hash: str, folder: Path) -> dict[str, Any]:
        """Copy a version's files into the empty local ``folder``, the manifest last; returns it.

        Raises UnavailableError when the version is not in the remote store or a read fails.
        """
        source = self._dir(content_hash)
        try:
            with self.fs.open_input_stream(f"{source}/{MANIFEST}") as f:
                raw = f.read()
        except FileNotFoundError as err:
            raise UnavailableError(
                f"version {content_hash[:12]} is in the catalog but not in the object store "
                f"{self.uri_for(content_hash)}; was it written with another objects_url?"
            ) from err
        except OSError as err:
            raise self._error("could not read", content_hash, err) from err
        manifest = json.loads(raw)
        names = [s["file"] for s in manifest["shards"]] + ([manifest["exclusions"]] if manifest.get("exclusions") else [])
        try:
            for name in names:
                pafs.copy_files(f"{source}/{name}", str(folder / name), source_filesystem=self.fs)
        except OSError as err:
            raise self._error("could not download", content_hash, err) from err
        (folder / MANIFEST).write_bytes(raw)
        return manifest

    def _forget_partial(self, target: str, content_hash: str) -> None:
        """Delete a failed upload's files, unless another writer committed the same version meanwhile."""
        try:
            if not self.has(content_hash):
                self.fs.delete_dir(target)
        except (OSError, UnavailableError):
            pass  # nothing was written, or the store is unreachable: invisible without a manifest anyway

    def _error(self, what: str, content_hash: str, err: OSError) -> UnavailableError:
        tail = "; nothing was registered in the catalog." if what == "could not upload" else "."
        return UnavailableError(f"{what} version {content_hash[:12]} at {self.uri_for(content_hash)}: {_reason(err)}{tail}")


def _reason(err: OSError) -> str:
    """The part of a pyarrow filesystem error a person needs: for AWS errors the service's own
    sentence ("The specified bucket does not exist"), without the operation and request id."""
    text = str(err).split(" (Request ID")[0].strip()
    if "AWS Error" in text:
        text = text.rsplit(": ", 1)[-1]
    return text.rstrip(".")

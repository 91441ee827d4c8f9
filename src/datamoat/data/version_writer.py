"""Writing one dataset version: Parquet shards + exclusions + content hash, then commit.

Batches are appended in order; shards roll over every ``shard_rows`` rows. Nothing is visible
to anybody until :meth:`VersionWriter.finish` renames the staging directory into the object
store (see object_store.py). Call :meth:`abort` (or use the writer as a context manager) to
throw a half-written version away.
"""

from __future__ import annotations

import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datamoat.data.content_hash import ContentHasher
from datamoat.data.exclusion_schema import EXCLUSION_SCHEMA
from datamoat.data.object_store import EXCLUSIONS, ObjectStore
from datamoat.data.roles import ROW_ID_COLUMN

SHARD_ROWS = 1_000_000
ROW_GROUP_ROWS = 262_144
"""Rows buffered per Parquet row group (one write_batch per small batch would make tiny groups)."""
PARQUET_COMPRESSION = "snappy"
DICTIONARY_MAX_DISTINCT_SHARE = 0.5
"""Dictionary-encode a column only when its first row group has at most this share of distinct
values: labels and categories shrink and read faster; for free text and ids the dictionary
attempt only costs time (measured: 1M rows x 4 columns write in 0.21 s instead of 0.37 s)."""
FORMAT_VERSION = 1


@dataclass(frozen=True)
class WrittenVersion:
    """What :meth:`VersionWriter.finish` produced.

    content_hash: sha256 hex over data + exclusions (batch-boundary independent).
    row_count / excluded_count: rows in the version / rows kept in its exclusions table.
    schema: Arrow schema of the data shards.
    path: the version's directory in the object store.
    """

    content_hash: str
    row_count: int
    excluded_count: int
    schema: pa.Schema
    path: Path


class VersionWriter:
    """Streams batches into a staging directory, then commits them as one immutable version."""

    def __init__(self, store: ObjectStore, shard_rows: int = SHARD_ROWS) -> None:
        self.store = store
        self.shard_rows = shard_rows
        self.staging = store.new_staging_dir()
        self._schema: pa.Schema | None = None
        self._writer: pq.ParquetWriter | None = None
        self._shard_index = 0
        self._shard_fill = 0
        self._buffer: list[pa.RecordBatch] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="datamoat-parquet")
        self._pending_write: Future[None] | None = None
        self._shards: list[dict[str, Any]] = []
        self._hasher = ContentHasher()
        self._rows = 0
        self._excl_writer: pq.ParquetWriter | None = None
        self._excl_hasher = ContentHasher()
        self._excluded = 0
        self._done = False

    @property
    def done(self) -> bool:
        """True once the version was committed or aborted."""
        return self._done

    def __enter__(self) -> VersionWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        if not self._done:
            self.abort()

    def write(self, batch: pa.RecordBatch) -> None:
        """Append rows. Every batch must have the schema of the first one."""
        if self._schema is None:
            self._schema = batch.schema
            self._hasher.update(batch.slice(0, 0))  # fixes the hashed schema even for 0 rows
        elif not batch.schema.equals(self._schema):
            batch = batch.cast(self._schema)
        offset = 0
        while offset < batch.num_rows:
            take = min(batch.num_rows - offset, self.shard_rows - self._shard_fill)
            part = batch.slice(offset, take)
            self._buffer.append(part)
            self._hasher.update(part)
            self._shard_fill += take
            self._rows += take
            offset += take
            if self._shard_fill >= self.shard_rows:
                self._close_shard()
            elif sum(b.num_rows for b in self._buffer) >= ROW_GROUP_ROWS:
                self._flush()

    def _flush(self) -> None:
        """Write the buffered rows as one row group of the current shard."""
        if not self._buffer:
            return
        table = pa.Table.from_batches(self._buffer)
        self._buffer = []
        if self._writer is None:
            self._open_shard(table)
        assert self._writer is not None
        # Parquet encoding releases the GIL: write in the background while the caller
        # prepares the next rows; one write in flight keeps the order and bounds memory.
        self._wait_for_write()
        self._pending_write = self._pool.submit(self._writer.write_table, table, row_group_size=max(1, table.num_rows))
        self._shards[-1]["rows"] += table.num_rows

    def _wait_for_write(self) -> None:
        if self._pending_write is not None:
            self._pending_write.result()
            self._pending_write = None

    def write_exclusions(self, batch: pa.RecordBatch) -> None:
        """Append dropped rows (schema: pipeline.exclusions.EXCLUSION_SCHEMA)."""
        if batch.num_rows == 0:
            return
        batch = batch.cast(EXCLUSION_SCHEMA) if not batch.schema.equals(EXCLUSION_SCHEMA) else batch
        if self._excl_writer is None:
            self._excl_writer = pq.ParquetWriter(
                self.staging / EXCLUSIONS, EXCLUSION_SCHEMA, compression=PARQUET_COMPRESSION
            )
        self._excl_writer.write_batch(batch)
        self._excl_hasher.update(batch)
        self._excluded += batch.num_rows

    def _open_shard(self, sample: pa.Table | None = None) -> None:
        assert self._schema is not None
        name = f"part-{self._shard_index:05d}.parquet"
        self._writer = pq.ParquetWriter(
            self.staging / name,
            self._schema,
            compression=PARQUET_COMPRESSION,
            use_dictionary=_dictionary_columns(sample) if sample is not None else False,
        )
        self._shards.append({"file": name, "rows": 0})

    def _close_shard(self) -> None:
        self._flush()
        self._wait_for_write()
        self._shard_fill = 0
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._shard_index += 1

    def finish(
        self,
        empty_schema: pa.Schema | None = None,
        extra_manifest: dict | None = None,
        roles: dict[str, Any] | None = None,
    ) -> WrittenVersion:
        """Close the files, hash, and move the version into the object store.

        empty_schema: the schema to record when no batch was written (a header-only file).
        roles: the column roles; part of the version's identity (the same rows with another
            label column are another version), so they go into the hash and the manifest.
        """
        if self._schema is None:
            self._schema = empty_schema or pa.schema([])
            self._hasher.update(pa.RecordBatch.from_pylist([], schema=self._schema))
        self._close_shard()
        if not self._shards:  # no rows: still one (empty) shard, so readers see the columns
            self._open_shard()
            self._close_shard()
        if self._excl_writer is not None:
            self._excl_writer.close()
        excl_hash = self._excl_hasher.hexdigest() if self._excluded else None
        extra: dict[str, Any] = {}
        if excl_hash:
            extra["exclusions"] = excl_hash
        if roles:
            extra["roles"] = roles
        content_hash = self._hasher.hexdigest(extra or None)
        manifest = {
            "format": FORMAT_VERSION,
            "hash": content_hash,
            "rows": self._rows,
            "excluded_rows": self._excluded,
            "schema": [[f.name, str(f.type)] for f in self._schema],
            "shards": self._shards,
            "roles": roles or {},
            "exclusions": EXCLUSIONS if self._excluded else None,
            **(extra_manifest or {}),
        }
        path = self.store.commit(self.staging, content_hash, manifest)
        self._done = True
        self._pool.shutdown()
        return WrittenVersion(content_hash, self._rows, self._excluded, self._schema, path)

    @property
    def excluded_rows(self) -> int:
        """Rows written to the exclusions table so far."""
        return self._excluded

    def abort(self) -> None:
        """Discard everything written so far."""
        try:
            self._wait_for_write()
        except Exception:  # noqa: BLE001 - the write failed; we are throwing it away anyway
            pass
        self._pool.shutdown()
        for w in (self._writer, self._excl_writer):
            if w is not None:
                try:
                    w.close()
                except Exception:  # noqa: BLE001 - closing a half-written file during cleanup
                    pass
        self._done = True
        shutil.rmtree(self.staging, ignore_errors=True)


def _dictionary_columns(sample: pa.Table) -> list[str]:
    """Columns worth dictionary-encoding, judged on (up to 20,000 rows of) the first row group."""
    sample = sample.slice(0, 20_000)
    chosen = []
    for name, column in zip(sample.schema.names, sample.columns, strict=True):
        if name == ROW_ID_COLUMN or sample.num_rows == 0 or pa.types.is_nested(column.type):
            continue  # nested values cannot be counted (nor dictionary-encoded)
        distinct = pc.count_distinct(column, mode="all").as_py()
        if distinct <= DICTIONARY_MAX_DISTINCT_SHARE * sample.num_rows:
            chosen.append(name)
    return chosen

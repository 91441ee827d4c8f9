"""Reading a dataset version: rows as Arrow or pandas, its manifest, and its exclusions."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from datamoat.catalog import VersionRecord
from datamoat.data.exclusion_schema import EXCLUSION_SCHEMA
from datamoat.data.object_store import EXCLUSIONS, ObjectStore
from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles

if TYPE_CHECKING:
    import pandas as pd

INTERNAL_PREFIX = "_dm_"


class Version:
    """One immutable dataset version.

    Obtained from :meth:`datamoat.Workspace.version` (``ws.version("tickets@latest")``) or
    returned by ingest and recipe runs. Reading never changes anything.
    """

    def __init__(self, record: VersionRecord, store: ObjectStore) -> None:
        self.record = record
        self._store = store

    @cached_property
    def path(self) -> Path:
        """The version's local folder (with a remote ``objects_url``, fetched on first use)."""
        return self._store.local_dir(self.record.content_hash)

    # ------------------------------------------------------------ identity
    @property
    def id(self) -> int:
        """The version's catalog id (as found in lineage and in model records)."""
        return self.record.id

    @property
    def dataset(self) -> str:
        """The dataset's name."""
        return self.record.dataset

    @property
    def ordinal(self) -> int:
        """1 for the dataset's first version, 2 for the next ..."""
        return self.record.ordinal

    @property
    def hash(self) -> str:
        """sha256 hex of the content (data + exclusions)."""
        return self.record.content_hash

    @property
    def ref(self) -> str:
        """``name@<hash prefix>``, accepted wherever a version is asked for."""
        return self.record.ref

    @property
    def num_rows(self) -> int:
        """Rows in the version (excluded rows not counted)."""
        return self.record.row_count

    @property
    def roles(self) -> ColumnRoles:
        """Column roles recorded with the version."""
        return ColumnRoles.from_dict(self.record.roles)

    def manifest(self) -> dict[str, Any]:
        """Everything known about the version: schema with roles, counts, lineage, source."""
        data = self.record.manifest()
        stored = self._stored_manifest
        data["shards"] = stored["shards"]
        return data

    def __repr__(self) -> str:
        return f"<Version {self.dataset}@{self.ordinal} {self.hash[:12]} rows={self.num_rows}>"

    # ------------------------------------------------------------ data
    def shard_paths(self) -> list[Path]:
        """The Parquet files holding the rows, in order."""
        return [self.path / s["file"] for s in self._stored_manifest["shards"]]

    @cached_property
    def _stored_manifest(self) -> dict[str, Any]:
        """The object store's manifest, read once (a version never changes)."""
        return self._store.read_manifest(self.hash)

    @cached_property
    def schema(self) -> pa.Schema:
        """Arrow schema of the rows (including ``_dm_row_id``), read once."""
        return pq.read_schema(self.shard_paths()[0])

    def batches(self, columns: list[str] | None = None, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Stream the rows in order, ``batch_rows`` at a time, optionally only some columns."""
        for path in self.shard_paths():
            yield from pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns)

    def to_arrow(self, columns: list[str] | None = None) -> pa.Table:
        """All rows as one Arrow table (``_dm_row_id`` included)."""
        import pyarrow.dataset as pads  # imports pandas: only when needed

        paths = [str(p) for p in self.shard_paths()]
        return pads.dataset(paths, format="parquet").to_table(columns=columns)

    def to_pandas(self, columns: list[str] | None = None) -> pd.DataFrame:
        """All rows as a DataFrame indexed by the stable row id ``_dm_row_id``."""
        wanted = None if columns is None else [ROW_ID_COLUMN, *[c for c in columns if c != ROW_ID_COLUMN]]
        df = self.to_arrow(wanted).to_pandas()
        return df.set_index(ROW_ID_COLUMN)

    def head(self, k: int = 10) -> pa.Table:
        """The first ``k`` rows."""
        out: list[pa.RecordBatch] = []
        need = k
        for batch in self.batches(batch_rows=max(1, min(k, 65_536))):
            out.append(batch.slice(0, need))
            need -= min(need, batch.num_rows)
            if need == 0:
                break
        return pa.Table.from_batches(out, schema=self.schema) if out else self.schema.empty_table()

    def excluded(self) -> pa.Table:
        """Rows dropped on the way to this version: row id, step, reason and the row as JSON."""
        path = self.path / EXCLUSIONS
        if not path.exists():
            return EXCLUSION_SCHEMA.empty_table()
        return pq.read_table(path)


def user_columns(schema: pa.Schema) -> list[str]:
    """Column names without datamoat's internal ``_dm_`` columns."""
    return [n for n in schema.names if not n.startswith(INTERNAL_PREFIX)]

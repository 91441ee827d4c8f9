"""Stream a Parquet file as record batches with ``pyarrow.parquet.ParquetFile.iter_batches``.

Columns keep their Parquet types (``SourceInfo.all_strings`` is False), except nested ones
(lists, structs, maps): they become JSON text, as nested values of a JSON source do, and are
named in ``info.options["nested_as_json"]`` and in a warning. A file that is not Parquet, or
is truncated, is an :class:`~datamoat.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from datamoat.data.readers.base import DEFAULT_BATCH_ROWS, JSON_ENCODER, SourceInfo
from datamoat.errors import InputError


def _as_json(batch: pa.RecordBatch, nested: list[str]) -> pa.RecordBatch:
    """``batch`` with the ``nested`` columns as JSON text (null stays null)."""
    arrays = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if name in nested:
            encode = JSON_ENCODER.encode
            column = pa.array([None if v is None else encode(v) for v in column.to_pylist()], pa.string())
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _open(path: str) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(path, f"the file is not a Parquet file ({str(exc).rstrip('.')})") from None


class ParquetSource:
    """A Parquet file opened for streaming.

    ``batch_rows``: maximum rows per batch. ``columns``: read only these columns (None: all).
    ``info.options`` records ``rows``, ``row_groups`` and ``columns`` from the footer.
    """

    def __init__(
        self, path: str, *, batch_rows: int = DEFAULT_BATCH_ROWS, columns: list[str] | None = None
    ) -> None:
        self.path, self.batch_rows, self.columns = path, batch_rows, columns
        pf = _open(path)
        try:
            self.schema = pf.schema_arrow
            names = self.schema.names
            missing = [c for c in columns or [] if c not in names]
            if missing:
                raise InputError(path, f"no column {missing[0]!r} in the file (columns: {', '.join(names)})")
            if columns is not None:
                self.schema = pa.schema([self.schema.field(c) for c in columns])
            meta = pf.metadata
            options = {"rows": meta.num_rows, "row_groups": meta.num_row_groups, "columns": self.schema.names}
        finally:
            pf.close()
        self.nested = [f.name for f in self.schema if pa.types.is_nested(f.type)]
        warnings = []
        if self.nested:
            options["nested_as_json"] = self.nested
            warnings.append(f"{path}: nested column(s) {', '.join(map(repr, self.nested))} are stored as JSON text")
            self.schema = pa.schema([pa.field(f.name, pa.string()) if f.name in self.nested else f for f in self.schema])
        self.info = SourceInfo(path=path, format="parquet", options=options, warnings=warnings)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield the rows in file order, at most ``batch_rows`` per batch (at least one batch)."""
        pf = _open(self.path)
        produced = False
        try:
            for batch in pf.iter_batches(batch_size=self.batch_rows, columns=self.columns):
                produced = True
                yield _as_json(batch, self.nested) if self.nested else batch
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(self.path, f"the Parquet file is damaged: {exc}") from None
        finally:
            pf.close()
        if not produced:
            yield pa.RecordBatch.from_pylist([], schema=self.schema)

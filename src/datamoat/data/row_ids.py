"""Stable row ids: from the user's id column, or from a hash of the source row.

A content row id is the first 16 hex digits of the MD5 of the row's non-null
``column=value`` pairs (values as text, pairs joined with U+001F; NULLs are left out, so a row
gets the same id whether or not its batch happens to contain an all-null column). MD5 is a fixed standard, so the same source row gets the
same id in every release and on every machine; it is computed by DuckDB's vectorised md5 over
whole Arrow batches (about 0.1 s per million rows on 2 cores, versus ~2 s for
``pandas.util.hash_pandas_object``). Identical source rows are told apart by their occurrence:
the second copy gets ``<hash>~1``, the third ``<hash>~2``.

Tracking occurrences needs the 64-bit keys of all rows seen so far: 8 bytes per row (80 MB for
10 million rows); everything else in ingest is streamed in bounded memory.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.errors import InputError

_SEP = "chr(31)"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class ContentRowIds:
    """Computes content row ids batch by batch (see module docstring)."""

    def __init__(self) -> None:
        self._con = duckdb.connect(config={"threads": 2})
        self._sql: dict[tuple[str, ...], str] = {}

    def _query(self, names: tuple[str, ...]) -> str:
        if names not in self._sql:
            parts = ", ".join(f"{_literal(c + '=')} || CAST({_quote(c)} AS VARCHAR)" for c in names)
            self._sql[names] = f"SELECT substr(md5(concat_ws({_SEP}, {parts})), 1, 16) AS h FROM batch"
        return self._sql[names]

    def ids(self, batch: pa.RecordBatch | pa.Table) -> pa.Array:
        """16-hex-digit ids (string array) for the rows of ``batch``, before de-duplication.

        DuckDB parallelises over row groups of ~120k rows, so a table of a few hundred
        thousand rows hashes several times faster per row than many small batches.
        """
        if batch.num_rows == 0:
            return pa.array([], pa.string())
        if batch.num_columns == 0:
            raise ValueError("cannot compute row ids of a batch without columns")
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        self._con.register("batch", table)
        try:
            out = self._con.sql(self._query(tuple(batch.schema.names))).to_arrow_table()
        finally:
            self._con.unregister("batch")
        return out.column("h").combine_chunks().cast(pa.string())

    def close(self) -> None:
        """Release the DuckDB connection."""
        self._con.close()


def hex16_to_uint64(ids: pa.Array) -> np.ndarray:
    """Turn 16-hex-digit strings into uint64 keys (``bytes.fromhex`` over the whole buffer)."""
    if len(ids) == 0:
        return np.zeros(0, dtype=np.uint64)
    offsets = np.frombuffer(ids.buffers()[1], dtype=np.int32)[ids.offset : ids.offset + len(ids) + 1]
    data = memoryview(ids.buffers()[2])[offsets[0] : offsets[-1]]
    return np.frombuffer(bytes.fromhex(bytes(data).decode("ascii")), dtype=">u8").astype(np.uint64)


class OccurrenceCounter:
    """Counts, online, how many earlier rows had the same 64-bit key.

    Keys seen so far are kept as a few sorted arrays of geometrically growing size (like an
    LSM tree): adding a chunk costs a sort of the chunk plus binary searches, merging keeps
    the number of arrays logarithmic. Memory: 8 bytes per row seen.
    """

    def __init__(self) -> None:
        self._levels: list[np.ndarray] = []

    def add(self, keys: np.ndarray) -> np.ndarray:
        """Register the next chunk's keys; returns each row's occurrence index (0 = first)."""
        keys = np.asarray(keys, dtype=np.uint64)
        occ = np.zeros(len(keys), dtype=np.int64)
        if len(keys) == 0:
            return occ
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        new_run = np.empty(len(keys), dtype=bool)
        new_run[0] = True
        new_run[1:] = sorted_keys[1:] != sorted_keys[:-1]
        run_start = np.maximum.accumulate(np.where(new_run, np.arange(len(keys)), 0))
        earlier = np.zeros(len(keys), dtype=np.int64)
        for level in self._levels:  # sorted queries: binary searches stay cache-friendly
            earlier += np.searchsorted(level, sorted_keys, "right") - np.searchsorted(level, sorted_keys, "left")
        occ[order] = np.arange(len(keys)) - run_start + earlier
        merged = sorted_keys
        while self._levels and len(self._levels[-1]) <= len(merged):
            merged = np.sort(np.concatenate([self._levels.pop(), merged]), kind="stable")
        self._levels.append(merged)
        return occ


def with_occurrence_suffix(ids: pa.Array, occ: np.ndarray) -> pa.Array:
    """``<id>`` for first occurrences, ``<id>~<n>`` for the n-th repeat."""
    if not occ.any():
        return ids
    suffix = pa.array(np.where(occ > 0, np.char.add("~", occ.astype(str)), ""), pa.string())
    return pc.binary_join_element_wise(ids, suffix, "")


def user_row_ids(batch: pa.RecordBatch | pa.Table, column: str, path: str, first_row: int) -> pa.Array:
    """Row ids from the user's id column, as strings; a missing id is an InputError.

    first_row: 1-based data row number of the batch's first row (for the error message).
    """
    values = batch.column(column)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    nulls = pc.is_null(values)
    if pc.any(nulls).as_py():
        bad = pc.index(nulls, True).as_py()
        raise InputError(path, "the id column is empty here; every row needs an id", row=first_row + bad, column=column)
    return values.cast(pa.string())

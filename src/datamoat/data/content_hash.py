"""A content hash for a table that does not depend on how it was split into batches.

Every column is fed, batch by batch, into its own sha256 as a canonical byte stream
(validity bits + fixed-width values, or validity + lengths + bytes for strings); the final
digest combines the column digests with the schema. The same rows in the same order with the
same schema always give the same hash, whether they arrived in one batch or a thousand, from
a CSV or from a recipe. Streaming hashlib over Arrow buffers runs at memory speed, far faster
than hashing rows one by one in Python.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _canonical(arr: pa.Array) -> pa.Array:
    """Map types with equal content to one physical layout (large_string -> string ...)."""
    t = arr.type
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return arr.cast(pa.string())
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return arr.cast(pa.binary())
    if pa.types.is_dictionary(t):
        return _canonical(arr.dictionary_decode())
    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t) or pa.types.is_duration(t):
        return arr.cast(pa.int64()) if t.bit_width == 64 else arr.cast(pa.int32())
    return arr


def _type_name(t: pa.DataType) -> str:
    """Type name with equal-content layouts merged (large_string and string are both 'string')."""
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "binary"
    if pa.types.is_dictionary(t):
        return _type_name(t.value_type)
    return str(t)


class ContentHasher:
    """Accumulates a batch-boundary-independent sha256 over a stream of record batches."""

    def __init__(self) -> None:
        # per column: separate streams for validity, lengths and values, so that the bytes
        # fed to each stream are the same however the rows are split into batches
        self._columns: dict[str, tuple[hashlib._Hash, hashlib._Hash, hashlib._Hash]] = {}
        self._schema: pa.Schema | None = None
        self._rows = 0

    def update(self, batch: pa.RecordBatch) -> None:
        """Feed one batch; all batches must have the same column names in the same order."""
        if self._schema is None:
            self._schema = batch.schema
            self._columns = {
                name: (hashlib.sha256(), hashlib.sha256(), hashlib.sha256()) for name in batch.schema.names
            }
        elif batch.schema.names != self._schema.names:
            raise ValueError("all batches fed to one ContentHasher must have the same columns")
        self._rows += batch.num_rows
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            self._feed(self._columns[name], column)

    def _feed(self, streams: tuple[hashlib._Hash, hashlib._Hash, hashlib._Hash], column: pa.Array) -> None:
        validity, lengths, h = streams
        arr = _canonical(column)
        valid = pc.is_valid(arr).to_numpy(zero_copy_only=False)
        validity.update(valid.astype(np.uint8).tobytes())
        t = arr.type
        if pa.types.is_string(t) or pa.types.is_binary(t):
            offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
            lengths.update(np.diff(offsets).astype(np.int32).tobytes())
            data = arr.buffers()[2]
            if data is not None and len(offsets):
                h.update(memoryview(data)[offsets[0] : offsets[-1]])
        elif pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t):
            filled = pc.fill_null(arr, False if pa.types.is_boolean(t) else 0)
            h.update(filled.to_numpy(zero_copy_only=False).tobytes())
        elif pa.types.is_null(t):
            pass
        else:  # decimals, nested types ...: hash their JSON-ish text form
            for v in arr.to_pylist():
                h.update(json.dumps(v, sort_keys=True, default=str).encode() + b"\x1f")

    def hexdigest(self, extra: dict | None = None) -> str:
        """The final hash. ``extra`` (JSON-serialisable) is mixed in, e.g. the exclusions' hash."""
        top = hashlib.sha256()
        schema = self._schema or pa.schema([])
        top.update(json.dumps([[f.name, _type_name(f.type)] for f in schema]).encode())
        top.update(str(self._rows).encode())
        for name in schema.names:
            for stream in self._columns[name]:
                top.update(stream.digest())
        if extra:
            top.update(json.dumps(extra, sort_keys=True).encode())
        return top.hexdigest()

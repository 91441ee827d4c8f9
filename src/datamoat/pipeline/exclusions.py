"""Exclusions: the rows a recipe dropped, kept with the step and the reason.

Nothing a step drops is lost: every dropped row becomes one row of an exclusions batch with
:data:`EXCLUSION_SCHEMA`:

``_dm_row_id`` (string)
    The row's id, null if the input had no ``_dm_row_id`` column.
``_dm_step`` (string)
    The step that dropped it, ``"<1-based position>:<name>"`` (e.g. ``"3:length_filter"``).
``_dm_reason`` (string)
    Why, as the step said it (e.g. ``"shorter than 5 chars"``).
``_dm_row`` (string)
    The row's data columns (all columns not starting with ``_dm_``) as they were when the
    step dropped it, as one JSON object in column order. Lossless for strings, ints (any
    size), floats (NaN and infinities as the JSON extensions ``NaN`` / ``Infinity``), bools
    and nulls; timestamps, dates and times are ISO 8601 strings, bytes are base64, decimals
    are strings; lists and structs nest.
``_dm_stats`` (string)
    The ``_dm_`` stats columns the row had at that point (e.g. ``{"_dm_len": 3}``) as a JSON
    object; ``{}`` if none.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from typing import Any

import pyarrow as pa

from datamoat.data.exclusion_schema import (  # noqa: E402  (defined in the data layer, which stores them)
    EXCLUSION_SCHEMA,
    REASON_COLUMN,
    ROW_COLUMN,
    STATS_COLUMN,
    STEP_COLUMN,
)
from datamoat.data.roles import ROW_ID_COLUMN
from datamoat.pipeline.step import DROP_COLUMN, STATS_PREFIX

__all__ = ["EXCLUSION_SCHEMA", "REASON_COLUMN", "ROW_COLUMN", "STATS_COLUMN", "STEP_COLUMN", "make_exclusions",
           "rows_from_exclusions", "empty_exclusions"]


def make_exclusions(rows: pa.RecordBatch, step_label: str, reasons: pa.Array) -> pa.RecordBatch:
    """Turn dropped rows into an exclusions batch with :data:`EXCLUSION_SCHEMA`.

    rows: the dropped rows as the step saw them (DROP_COLUMN, if present, is ignored).
    step_label: the step that dropped them, ``"<position>:<name>"``.
    reasons: one non-null reason per row.
    """
    n = rows.num_rows
    names = rows.schema.names
    data_cols = [c for c in names if not c.startswith(STATS_PREFIX)]
    stats_cols = [c for c in names if c.startswith(STATS_PREFIX) and c not in (ROW_ID_COLUMN, DROP_COLUMN)]
    if ROW_ID_COLUMN in names:
        row_ids = rows.column(ROW_ID_COLUMN).cast(pa.string())
    else:
        row_ids = pa.nulls(n, pa.string())
    return pa.RecordBatch.from_arrays(
        [
            row_ids,
            pa.array([step_label] * n, pa.string()),
            reasons.cast(pa.string()),
            pa.array(_json_rows(rows, data_cols), pa.string()),
            pa.array(_json_rows(rows, stats_cols), pa.string()),
        ],
        schema=EXCLUSION_SCHEMA,
    )


def empty_exclusions() -> pa.RecordBatch:
    """An exclusions batch with no rows."""
    return pa.RecordBatch.from_pylist([], schema=EXCLUSION_SCHEMA)


def rows_from_exclusions(
    exclusions: pa.Table | pa.RecordBatch,
    schema: pa.Schema | None = None,
    *,
    with_row_id: bool = False,
) -> list[dict[str, Any]]:
    """The excluded rows as dicts (column -> value), in the order of ``exclusions``.

    schema: the data schema the rows came from; when given, ISO strings become
        datetime / date / time again, base64 strings become bytes and decimal strings
        Decimal, for the top-level columns of those types. Without it values are as in JSON.
    with_row_id: also put each row's ``_dm_row_id`` under that key.
    """
    texts = exclusions.column(ROW_COLUMN).to_pylist()
    ids = exclusions.column(ROW_ID_COLUMN).to_pylist() if with_row_id else None
    decoders = _decoders(schema) if schema is not None else {}
    rows = []
    for i, text in enumerate(texts):
        row = json.loads(text)
        for name, decode in decoders.items():
            if row.get(name) is not None:
                row[name] = decode(row[name])
        if ids is not None:
            row[ROW_ID_COLUMN] = ids[i]
        rows.append(row)
    return rows


# --- JSON encoding ---------------------------------------------------------------------------


def _json_rows(rows: pa.RecordBatch, columns: list[str]) -> list[str]:
    """One compact JSON object per row, holding ``columns`` in order."""
    if not columns:
        return ["{}"] * rows.num_rows
    values = [rows.column(c).to_pylist() for c in columns]
    encode = _ENCODER.encode
    return [encode(dict(zip(columns, row, strict=True))) for row in zip(*values, strict=True)]


def _json_default(value: Any) -> Any:
    """JSON form of the Python values pyarrow produces that json cannot write itself."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return str(value)


_ENCODER = json.JSONEncoder(default=_json_default, ensure_ascii=False, separators=(",", ":"))


def _decoders(schema: pa.Schema) -> dict[str, Any]:
    """Column name -> function turning its JSON value back into the Python value."""
    out: dict[str, Any] = {}
    for field in schema:
        typ = field.type
        if pa.types.is_timestamp(typ):
            out[field.name] = _parse_timestamp_ns if typ.unit == "ns" else dt.datetime.fromisoformat
        elif pa.types.is_date(typ):
            out[field.name] = dt.date.fromisoformat
        elif pa.types.is_time(typ):
            out[field.name] = dt.time.fromisoformat
        elif pa.types.is_binary(typ) or pa.types.is_large_binary(typ) or pa.types.is_fixed_size_binary(typ):
            out[field.name] = base64.b64decode
        elif pa.types.is_decimal(typ):
            out[field.name] = decimal.Decimal
    return out


def _parse_timestamp_ns(text: str) -> Any:
    """An ISO timestamp with up to nanoseconds as a pandas Timestamp (what pyarrow gives for ns)."""
    import pandas as pd

    return pd.Timestamp(text)

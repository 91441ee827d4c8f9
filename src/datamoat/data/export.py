"""Writing a version out as CSV, JSON Lines or Parquet, streamed and atomic.

The output is written to a temporary file beside ``out`` and renamed over it at the end, so a
reader of ``out`` sees either the old file or the complete new one, never a half-written one.
JSON has no NaN or Infinity: in JSON Lines such float values are written as null, and a warning
(on the ``datamoat.data`` logger, printed by the CLI) says how many.
"""

from __future__ import annotations

import json
import logging
import math
import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from datamoat.data.version import Version, user_columns
from datamoat.errors import DatamoatError

log = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


def export_version(version: Version, out: Path, internal: bool = False) -> Path:
    """Write ``version``'s rows to ``out``; the format follows the extension.

    internal: also write datamoat's ``_dm_`` columns (row id, stats).
    Returns the path written.
    """
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise DatamoatError(f"{out}: cannot tell the format; use a name ending in .csv, .jsonl or .parquet.")
    if out.exists() and out.is_dir():
        raise DatamoatError(f"{out} is a directory; give a file name.")
    if not out.parent.exists():
        raise DatamoatError(f"{out.parent}: no such directory.")
    columns = version.schema.names if internal else user_columns(version.schema)
    schema = pa.schema([version.schema.field(c) for c in columns])
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        if fmt == "parquet":
            with pq.ParquetWriter(tmp, schema, compression="snappy") as w:
                for batch in version.batches(columns=columns):
                    w.write_batch(batch)
        elif fmt == "csv":
            with pacsv.CSVWriter(str(tmp), schema) as w:
                for batch in version.batches(columns=columns):
                    w.write_batch(batch)
        else:
            nulls = [0]
            with open(tmp, "w", encoding="utf-8") as f:
                for batch in version.batches(columns=columns):
                    for row in batch.to_pylist():
                        f.write(_json_line(row, nulls))
            if nulls[0]:
                log.warning("%s: %s NaN or infinite values were written as null (JSON has no such numbers)",
                            out, f"{nulls[0]:,}")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _json_line(row: dict[str, Any], nulls: list[int]) -> str:
    """One JSON line; NaN and +-Infinity (not JSON) become null, counted in ``nulls[0]``."""
    try:
        return json.dumps(row, ensure_ascii=False, default=_json_default, allow_nan=False) + "\n"
    except ValueError:
        return json.dumps(_finite(row, nulls), ensure_ascii=False, default=_json_default, allow_nan=False) + "\n"


def _finite(value: Any, nulls: list[int]) -> Any:
    """``value`` with every non-finite float (also inside lists and dicts) replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        nulls[0] += 1
        return None
    if isinstance(value, dict):
        return {k: _finite(v, nulls) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v, nulls) for v in value]
    return value


def _json_default(value: object) -> object:
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[union-attr]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot write {type(value).__name__} as JSON")

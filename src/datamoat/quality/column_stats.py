"""Per-column statistics of a version, computed by DuckDB straight from the Parquet shards.

One pass per statistic family over the shards, in DuckDB's bounded memory (it spills), so a
million-row version profiles in seconds without loading it into Python.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from datamoat.data.roles import ROW_ID_COLUMN
from datamoat.data.version import INTERNAL_PREFIX, Version

TOP_VALUES = 10
LENGTH_BINS = 30


@dataclass
class ColumnProfile:
    """What one column looks like.

    kind: id | text | categorical | numeric | boolean | datetime | other (how datamoat reads it).
    completeness: share of rows with a value (null and, for strings, blank count as missing).
    distinct: exact number of distinct non-null values.
    top_values: up to 10 ``[value, count]`` pairs, most frequent first.
    numeric: min / max / mean / std / p05 / p25 / p50 / p75 / p95 for numeric columns, and a
        ``histogram`` (``edges``: NUMERIC_BINS + 1 floats, ``counts``: rows per bin).
    text_length: characters per value — mean / p50 / p95 / max and a histogram
        (``edges``, ``counts``) — for string columns.
    """

    name: str
    arrow_type: str
    kind: str
    roles: list[str]
    rows: int
    nulls: int
    blanks: int
    completeness: float
    distinct: int
    top_values: list[list[Any]] = field(default_factory=list)
    numeric: dict[str, Any] | None = None
    text_length: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


NUMERIC_BINS = 20


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _kind(t: pa.DataType, roles: list[str], distinct: int, rows: int, mean_len: float | None) -> str:
    if "id" in roles:
        return "id"
    if "text" in roles:
        return "text"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "datetime"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        if "label" in roles or distinct <= max(50, 0.05 * rows):
            return "categorical"
        if mean_len is not None and mean_len >= 20:
            return "text"
        return "id" if distinct == rows else "categorical"
    return "other"


def column_profiles(version: Version, *, include_internal: bool = False) -> list[ColumnProfile]:
    """Profile every user column of ``version`` (``_dm_`` columns only if asked)."""
    schema = version.schema
    roles = version.roles
    files = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in version.shard_paths()) + "]"
    con = duckdb.connect(config={"threads": 2})
    try:
        con.execute(f"CREATE VIEW v AS SELECT * FROM read_parquet({files})").fetchall()
        rows = con.execute("SELECT count(*) FROM v").fetchall()[0][0]
        out = []
        for f in schema:
            if f.name.startswith(INTERNAL_PREFIX) and not (include_internal and f.name != ROW_ID_COLUMN):
                continue
            out.append(_profile_column(con, f, roles.role_of(f.name), rows))
        return out
    finally:
        con.close()


def _profile_column(con: duckdb.DuckDBPyConnection, f: pa.Field, roles: list[str], rows: int) -> ColumnProfile:
    c = _q(f.name)
    is_str = pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    blank_expr = f"count(*) FILTER (WHERE trim({c}) = '')" if is_str else "0"
    nulls, blanks, distinct = con.execute(
        f"SELECT count(*) FILTER (WHERE {c} IS NULL), {blank_expr}, count(DISTINCT {c}) FROM v"
    ).fetchall()[0]
    top = con.execute(
        f"SELECT {c} AS value, count(*) AS n FROM v WHERE {c} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP_VALUES}"
    ).fetchall()
    numeric = None
    if pa.types.is_integer(f.type) or pa.types.is_floating(f.type):
        r = con.execute(
            f"SELECT min({c}), max({c}), avg({c}), stddev_samp({c}), "
            f"quantile_cont({c}, [0.05, 0.25, 0.5, 0.75, 0.95]) FROM v WHERE {c} IS NOT NULL AND NOT isnan({c}::DOUBLE)"
        ).fetchall()[0]
        if r[0] is not None:
            qs = r[4] or [None] * 5
            numeric = {"min": float(r[0]), "max": float(r[1]), "mean": float(r[2]),
                       "std": float(r[3]) if r[3] is not None else 0.0,
                       **{k: float(v) for k, v in zip(("p05", "p25", "p50", "p75", "p95"), qs, strict=True)}}
            numeric["histogram"] = _numeric_histogram(con, c, numeric["min"], numeric["max"])
    text_length = None
    mean_len = None
    if is_str:
        r = con.execute(
            f"SELECT avg(length({c})), quantile_cont(length({c}), 0.5), quantile_cont(length({c}), 0.95), "
            f"max(length({c})), min(length({c})) FROM v WHERE {c} IS NOT NULL"
        ).fetchall()[0]
        if r[0] is not None:
            mean_len = float(r[0])
            hi = max(int(r[3]), 1)
            width = max(1, -(-hi // LENGTH_BINS))
            hist = con.execute(
                f"SELECT least(length({c}) // {width}, {LENGTH_BINS - 1}) AS b, count(*) FROM v "
                f"WHERE {c} IS NOT NULL GROUP BY 1 ORDER BY 1"
            ).fetchall()
            counts = [0] * LENGTH_BINS
            for b, n in hist:
                counts[int(b)] = int(n)
            text_length = {"mean": mean_len, "p50": float(r[1]), "p95": float(r[2]), "max": int(r[3]),
                           "min": int(r[4]), "histogram": {"edges": [i * width for i in range(LENGTH_BINS + 1)],
                                                         "counts": counts}}
    looks_like_time = False
    if is_str and "text" not in roles and rows - nulls > 0:
        parsed = con.execute(f"SELECT count(TRY_CAST({c} AS TIMESTAMP)), count({c}) FROM v").fetchall()[0]
        looks_like_time = parsed[1] > 0 and parsed[0] >= 0.95 * parsed[1]
    present = rows - nulls - blanks
    return ColumnProfile(
        name=f.name,
        arrow_type=str(f.type),
        kind="datetime" if looks_like_time and "id" not in roles else _kind(f.type, roles, distinct, rows, mean_len),
        roles=roles,
        rows=rows,
        nulls=int(nulls),
        blanks=int(blanks),
        completeness=(present / rows) if rows else 1.0,
        distinct=int(distinct),
        top_values=[[_plain(v), int(n)] for v, n in top],
        numeric=numeric,
        text_length=text_length,
    )


def _numeric_histogram(con: duckdb.DuckDBPyConnection, c: str, lo: float, hi: float) -> dict[str, list[float]]:
    """``{"edges": NUMERIC_BINS + 1 bin edges, "counts": rows per bin}`` over [lo, hi] (NaN left out)."""
    width = (hi - lo) / NUMERIC_BINS or 1.0
    found = con.execute(
        f"SELECT least(greatest(floor(({c}::DOUBLE - {lo!r}) / {width!r}), 0), {NUMERIC_BINS - 1})::INTEGER AS b, "
        f"count(*) FROM v WHERE {c} IS NOT NULL AND NOT isnan({c}::DOUBLE) GROUP BY 1"
    ).fetchall()
    counts = [0] * NUMERIC_BINS
    for b, n in found:
        counts[int(b)] = int(n)
    return {"edges": [lo + i * width for i in range(NUMERIC_BINS + 1)], "counts": counts}


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value

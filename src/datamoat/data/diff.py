"""Comparing two versions row by row: which rows were added, removed or changed.

Rows are matched by their stable row id (``_dm_row_id``). A row is *changed* when the id is
in both versions but a value in one of the columns both versions share differs. DuckDB does
the join straight on the Parquet shards, so the comparison needs no more memory than DuckDB's
own (it spills to disk when needed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from datamoat.data.roles import ROW_ID_COLUMN
from datamoat.data.version import Version


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _files(v: Version) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in v.shard_paths()) + "]"


@dataclass
class VersionDiff:
    """Result of :func:`diff_versions`.

    added / removed / changed / unchanged: row counts.
    columns_added / columns_removed: column names; columns_retyped: {name: [old, new]}.
    samples: up to ``sample`` example rows per kind: {"added": [...], "removed": [...],
        "changed": [{"_dm_row_id", "columns": {col: [old, new]}}]}.
    """

    a: str
    b: str
    added: int
    removed: int
    changed: int
    unchanged: int
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    columns_retyped: dict[str, list[str]] = field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


def diff_versions(a: Version, b: Version, sample: int = 5) -> VersionDiff:
    """Compare version ``a`` (before) with ``b`` (after)."""
    sa, sb = a.schema, b.schema
    shared = [n for n in sa.names if n in sb.names and n != ROW_ID_COLUMN]
    retyped = {n: [str(sa.field(n).type), str(sb.field(n).type)] for n in shared if sa.field(n).type != sb.field(n).type}
    con = duckdb.connect(config={"threads": 2})
    try:
        def rows_hash(alias: str) -> str:
            parts = ", ".join(f"coalesce(CAST({alias}.{_q(c)} AS VARCHAR), chr(0))" for c in shared) or "''"
            return f"md5(concat_ws(chr(31), {parts}))"

        id_ = _q(ROW_ID_COLUMN)
        con.execute(f"CREATE TEMP VIEW a AS SELECT * FROM read_parquet({_files(a)})").fetchall()
        con.execute(f"CREATE TEMP VIEW b AS SELECT * FROM read_parquet({_files(b)})").fetchall()
        con.execute(
            f"CREATE TEMP TABLE j AS SELECT coalesce(a.{id_}, b.{id_}) AS id, "
            f"a.{id_} IS NOT NULL AS in_a, b.{id_} IS NOT NULL AS in_b, "
            f"CASE WHEN a.{id_} IS NOT NULL AND b.{id_} IS NOT NULL THEN {rows_hash('a')} <> {rows_hash('b')} END AS differs "
            f"FROM a FULL OUTER JOIN b ON a.{id_} = b.{id_}"
        ).fetchall()
        added, removed, changed, unchanged = con.execute(
            "SELECT count(*) FILTER (WHERE NOT in_a), count(*) FILTER (WHERE NOT in_b), "
            "count(*) FILTER (WHERE differs), count(*) FILTER (WHERE in_a AND in_b AND NOT differs) FROM j"
        ).fetchall()[0]
        samples = {
            "added": _rows(con, f"SELECT b.* FROM b JOIN (SELECT id FROM j WHERE NOT in_a ORDER BY id LIMIT {sample}) s ON b.{id_} = s.id"),
            "removed": _rows(con, f"SELECT a.* FROM a JOIN (SELECT id FROM j WHERE NOT in_b ORDER BY id LIMIT {sample}) s ON a.{id_} = s.id"),
            "changed": [],
        }
        if changed and shared:
            cols = ", ".join(f"a.{_q(c)} AS {_q('a:' + c)}, b.{_q(c)} AS {_q('b:' + c)}" for c in shared)
            for row in _rows(
                con,
                f"SELECT a.{id_} AS id, {cols} FROM a JOIN b ON a.{id_} = b.{id_} "
                f"JOIN (SELECT id FROM j WHERE differs ORDER BY id LIMIT {sample}) s ON a.{id_} = s.id",
            ):
                diffs = {c: [row[f"a:{c}"], row[f"b:{c}"]] for c in shared if row[f"a:{c}"] != row[f"b:{c}"]}
                samples["changed"].append({ROW_ID_COLUMN: row["id"], "columns": diffs})
    finally:
        con.close()
    return VersionDiff(
        a=a.ref,
        b=b.ref,
        added=int(added),
        removed=int(removed),
        changed=int(changed),
        unchanged=int(unchanged),
        columns_added=[n for n in sb.names if n not in sa.names],
        columns_removed=[n for n in sa.names if n not in sb.names],
        columns_retyped=retyped,
        samples=samples,
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    table = con.sql(sql).to_arrow_table()
    return [{k: _plain(v) for k, v in r.items()} for r in table.to_pylist()]


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value

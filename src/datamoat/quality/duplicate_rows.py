"""Whole rows that repeat: the duplicate check for tables (and for any dataset).

Two rows are duplicates when every data column holds the same value (the id column and
datamoat's ``_dm_`` columns are ignored: a re-sent record gets a new id). Rows are compared by
the MD5 of their ``column=value`` pairs, the same stable hash as content row ids
(:mod:`datamoat.data.row_ids`), computed by DuckDB over the whole table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.data.row_ids import ContentRowIds, hex16_to_uint64
from datamoat.data.version import INTERNAL_PREFIX
from datamoat.quality.check import Check, CheckResult, issue_table, register_check


def row_keys(table: pa.Table, hasher: ContentRowIds | None = None) -> np.ndarray:
    """uint64 key per row of ``table``: equal keys for rows equal in every column (nulls equal),
    from the MD5 of the row's ``column=value`` pairs (the content row-id hash).

    hasher: a caller's open hasher to reuse (the ``duplicate_rows`` step keys many batches);
    None opens one for this call and closes it.
    """
    if table.num_rows == 0 or table.num_columns == 0:
        return np.zeros(table.num_rows, dtype=np.uint64)
    if hasher is not None:
        return hex16_to_uint64(hasher.ids(table))
    own = ContentRowIds()
    try:
        return hex16_to_uint64(own.ids(table))
    finally:
        own.close()


@register_check
class DuplicateRows(Check):
    """Flag every copy of a whole row after its first occurrence; ``duplicate_of`` names it."""

    name = "duplicate_rows"
    needs = ()

    def __init__(self, *, ignore_columns: list[str] | None = None) -> None:
        self.ignore_columns = list(ignore_columns or [])

    def run(self, table: pa.Table, roles: ColumnRoles) -> CheckResult:
        skip = set(self.ignore_columns) | set(roles.columns("id"))
        columns = [c for c in table.column_names if not c.startswith(INTERNAL_PREFIX) and c not in skip]
        ids = table.column(ROW_ID_COLUMN).combine_chunks().cast(pa.string())
        n = table.num_rows
        if not columns or n == 0:
            return CheckResult(self.name, issue_table(ids, [False] * n, [1.0] * n), {"columns": columns})
        keys = row_keys(table.select(columns))
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        first_in_run = np.empty(n, dtype=bool)
        first_in_run[0] = True
        first_in_run[1:] = sorted_keys[1:] != sorted_keys[:-1]
        run_start = np.maximum.accumulate(np.where(first_in_run, np.arange(n), 0))
        first_row = np.empty(n, dtype=np.int64)
        first_row[order] = order[run_start]
        is_dup = first_row != np.arange(n)
        dup_of = pa.array(np.where(is_dup, np.asarray(ids.to_pylist(), dtype=object)[first_row], None), pa.string())
        groups = int(np.count_nonzero(first_in_run & np.r_[sorted_keys[1:] == sorted_keys[:-1], False]))
        summary: dict[str, Any] = {"columns": columns, "duplicates": int(is_dup.sum()), "groups": groups}
        return CheckResult(self.name, issue_table(ids, is_dup, np.where(is_dup, 0.0, 1.0), duplicate_of=dup_of), summary)

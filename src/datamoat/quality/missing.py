"""``missing_values``: rows with a missing value, and how much is missing per column.

A value is missing when it is null, a float NaN, or (with ``blank_is_missing``, the default)
a string that is empty or only whitespace. The columns looked at are ``columns`` if given,
else every data column (system ``_dm_`` columns excluded).

Per row: ``is_issue`` when any looked-at column is missing; ``missing_columns`` lists them
(null when none). ``score`` is 0 when a role column (``text`` or ``label``) is missing, since
the row is unusable for training, and otherwise ``1 - 0.5 * missing / looked-at columns``
(a row missing only free columns stays above 0.5).

Summary: ``by_column`` ({column: {"missing": n, "rate": r}}), ``rows_with_missing``, and
``role_columns_missing`` (rows missing a text or label).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.pipeline.step import STATS_PREFIX
from datamoat.quality.check import Check, CheckResult, issue_table, register_check

ROLE_COLUMNS: tuple[str, ...] = ("text", "label")


def missing_mask(values: pa.Array | pa.ChunkedArray, *, blank_is_missing: bool = True) -> np.ndarray:
    """Bool numpy array: True where a value is null, NaN or (strings) blank."""
    if pa.types.is_null(values.type):
        return np.ones(len(values), dtype=bool)
    mask = pc.is_null(values, nan_is_null=True)
    if blank_is_missing and (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(values)), 0)
        mask = pc.or_(mask, pc.fill_null(blank, False))
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


@register_check
class MissingValues(Check):
    """Find rows with missing values.

    columns: the columns to look at; None means all data columns.
    blank_is_missing: count empty / whitespace-only strings as missing.
    """

    name = "missing_values"
    needs = ()

    def __init__(self, *, columns: list[str] | None = None, blank_is_missing: bool = True) -> None:
        if columns is not None and (isinstance(columns, str) or not all(isinstance(c, str) for c in columns)):
            raise DatamoatError(
                f"check 'missing_values': columns must be a list of column names, got {columns!r}."
            )
        self.columns = list(columns) if columns is not None else None
        self.blank_is_missing = blank_is_missing

    def run(self, table: pa.Table, roles: ColumnRoles) -> CheckResult:
        """Per-row missing columns; per-column counts in the summary."""
        if self.columns is not None:
            absent = [c for c in self.columns if c not in table.column_names]
            if absent:
                raise DatamoatError(f"check {self.name!r}: no column {absent[0]!r} in the data.")
            columns = self.columns
        else:
            columns = [c for c in table.column_names if not c.startswith(STATS_PREFIX)]
        role_cols = {c for role in ROLE_COLUMNS for c in roles.columns(role)}
        n = table.num_rows
        masks = {c: missing_mask(table.column(c), blank_is_missing=self.blank_is_missing) for c in columns}
        count = np.zeros(n, dtype=np.int64)
        role_missing = np.zeros(n, dtype=bool)
        for c, m in masks.items():
            count += m
            if c in role_cols:
                role_missing |= m
        per_row: list[list[str] | None] = [None] * n
        for row in np.flatnonzero(count):
            per_row[row] = [c for c in columns if masks[c][row]]
        score = np.where(role_missing, 0.0, 1.0 - 0.5 * count / max(1, len(columns)))
        issues = issue_table(
            table.column(ROW_ID_COLUMN),
            count > 0,
            score,
            missing_columns=pa.array(per_row, pa.list_(pa.string())),
        )
        summary: dict[str, Any] = {
            "by_column": {
                c: {"missing": int(m.sum()), "rate": float(m.mean()) if n else 0.0} for c, m in masks.items()
            },
            "rows_with_missing": int((count > 0).sum()),
            "role_columns_missing": int(role_missing.sum()),
        }
        return CheckResult(self.name, issues, summary)

"""``missing_values``: rows with a missing value, and how much is missing per column.

A value is missing when it is null, a float NaN, or (with ``blank_is_missing``, the default)
a string that is empty or only whitespace. The columns looked at are ``columns`` if given,
else every data column (system ``_dm_`` columns excluded).

Per row: ``is_issue`` when any looked-at column is missing; ``missing_columns`` lists them
(null when none). ``score`` is 0 when a role column (``text`` or ``label``) is missing, since
the row is unusable for training, and otherwise ``1 - 0.5 * missing / looked-at columns``
(a row missing only free columns stays above 0.5).

Summary: ``by_column`` ({column: {"missing": n, "rate": r}}), ``rows_with_missing``,
``role_columns_missing`` (rows missing a text or label), and ``markers`` ({column: {value: n}}):
the cells of string columns other than the text column that hold a missing-value marker such as
``"unknown"`` (:data:`CATEGORY_MISSING_MARKERS`). Markers are reported, not counted as missing:
whether ``"unknown"`` is a value or a gap is the user's call (the ``tabular-linear`` trainer
imputes them; see :func:`marker_mask`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.data.type_inference import TEXT_NA_MARKERS
from datamoat.errors import DatamoatError
from datamoat.pipeline.step import STATS_PREFIX
from datamoat.quality.check import Check, CheckResult, issue_table, register_check

ROLE_COLUMNS: tuple[str, ...] = ("text", "label")

CATEGORY_MISSING_MARKERS: tuple[str, ...] = (
    *dict.fromkeys(m.lower() for m in TEXT_NA_MARKERS),
    "unknown",
)
"""Values that stand for a missing value in a categorical column, compared trimmed and
lower-cased: the markers ingest turns into nulls in text columns (``""``, ``n/a``, ``null``,
``none``, ``nan``, ``?`` ...; :data:`datamoat.data.type_inference.TEXT_NA_MARKERS`) plus
``unknown``, which ingest keeps (it can be a real category, as in the UCI bank data)."""

_MARKER_SET = pa.array(CATEGORY_MISSING_MARKERS, pa.string())


def marker_mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Bool numpy array: True where a string value, trimmed and lower-cased, is one of
    :data:`CATEGORY_MISSING_MARKERS`; False for nulls and for non-string columns."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return np.zeros(len(values), dtype=bool)
    key = pc.utf8_lower(pc.utf8_trim_whitespace(values))
    return np.asarray(pc.fill_null(pc.is_in(key, value_set=_MARKER_SET), False).to_numpy(zero_copy_only=False), dtype=bool)


def marker_counts(values: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    """{marker as written: cells} for the cells :func:`marker_mask` flags (empty when none)."""
    mask = marker_mask(values)
    if not mask.any():
        return {}
    found = pc.filter(values, pa.array(mask))
    return {str(r["values"]): int(r["counts"]) for r in pc.value_counts(found).to_pylist()}


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
        text_cols = set(roles.columns("text"))
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
            "markers": {c: m for c in columns if c not in text_cols and (m := marker_counts(table.column(c)))},
        }
        return CheckResult(self.name, issues, summary)

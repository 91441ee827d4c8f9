"""``exact_duplicates``: rows whose text is the same as an earlier row's text.

Texts are compared after an optional normalisation (both on by default): whitespace runs
collapsed to one space and the ends stripped (``ignore_whitespace``), and lower-casing
(``ignore_case``, Unicode lower case as Arrow's ``utf8_lower``). Texts are compared exactly
(a hash table on the normalised strings; no hash-collision risk).

Per row: every copy after the first of a group is an issue, with ``duplicate_of`` = the
first row's ``_dm_row_id`` and ``score`` 0; first rows and unique rows have score 1.
Null, empty and whitespace-only texts are never duplicates (they are the missing-values
check's business).

within: optional column name; rows are only compared with rows that have the same value
there (e.g. ``customer_id``: the same customer sending the same ticket twice). Null values
form one group of their own.

Summary: ``duplicates`` (rows flagged), ``groups`` (texts that occur more than once),
``largest_group``, ``rate``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.quality.check import Check, CheckResult, issue_table, register_check, require_role
from datamoat.quality.whitespace import collapse_whitespace


def text_column(check: str, column: str | None, roles: ColumnRoles, table: pa.Table) -> pa.Array:
    """The text column (``column`` or the ``text`` role) as one ``string`` array."""
    name = column or require_role(check, roles, "text", table)
    if name not in table.column_names:
        raise DatamoatError(f"check {check!r}: no column {name!r} in the data.")
    values = table.column(name)
    values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if pa.types.is_null(values.type) or pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    if not pa.types.is_string(values.type):
        raise DatamoatError(f"check {check!r}: column {name!r} holds {values.type}, not text.")
    return values


def group_codes(check: str, within: str | None, table: pa.Table) -> np.ndarray | None:
    """int64 code per row of the ``within`` column's value (nulls share one code), or None."""
    if within is None:
        return None
    if within not in table.column_names:
        raise DatamoatError(f"check {check!r}: no column {within!r} (parameter 'within') in the data.")
    values = table.column(within).to_pandas()
    codes, _ = pd.factorize(values, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64)


def normalise(values: pa.Array, *, ignore_whitespace: bool, ignore_case: bool) -> pa.Array:
    """``values`` normalised for exact comparison (see the module docstring)."""
    if ignore_whitespace:
        values = collapse_whitespace(values)
    if ignore_case:
        values = pc.utf8_lower(values)
    return values


def exact_groups(
    values: pa.Array, *, ignore_whitespace: bool, ignore_case: bool, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, -1 for blank / null texts; first row index of each code).

    Rows with the same normalised text (and the same ``groups`` code, if given) share a code;
    codes are numbered in order of first appearance.
    """
    norm = normalise(values, ignore_whitespace=ignore_whitespace, ignore_case=ignore_case)
    stripped = pc.utf8_trim_whitespace(norm)
    blank = pc.fill_null(pc.equal(pc.utf8_length(stripped), 0), True).to_numpy(zero_copy_only=False)
    texts = pc.fill_null(norm, "").to_numpy(zero_copy_only=False)
    if groups is not None:
        key: Any = pd.MultiIndex.from_arrays([groups, texts])
        codes, _ = pd.factorize(key)
    else:
        codes, _ = pd.factorize(np.asarray(texts, dtype=object))
    codes = np.asarray(codes, dtype=np.int64)
    codes[np.asarray(blank, dtype=bool)] = -1
    # renumber the non-blank codes densely, in order of first appearance
    valid = codes >= 0
    uniq, first_index, dense = np.unique(codes[valid], return_index=True, return_inverse=True)
    order = np.argsort(first_index, kind="stable")
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    out = np.full(len(codes), -1, dtype=np.int64)
    out[valid] = rank[dense]
    rows = np.flatnonzero(valid)
    firsts = rows[np.sort(first_index)]
    return out, firsts


@register_check
class ExactDuplicates(Check):
    """Flag every copy after the first of a text (optionally normalised, optionally per group).

    column: the text column; None means the ``text`` role column.
    ignore_whitespace: collapse whitespace runs and strip the ends before comparing.
    ignore_case: lower-case before comparing.
    within: compare only rows with the same value in this column (None: all rows).
    """

    name = "exact_duplicates"
    needs = ("text",)

    def __init__(
        self,
        *,
        column: str | None = None,
        ignore_whitespace: bool = True,
        ignore_case: bool = True,
        within: str | None = None,
    ) -> None:
        for param, value in (("ignore_whitespace", ignore_whitespace), ("ignore_case", ignore_case)):
            if not isinstance(value, bool):
                raise DatamoatError(f"check {self.name!r}: {param} must be true or false, got {value!r}.")
        self.column = column
        self.ignore_whitespace = ignore_whitespace
        self.ignore_case = ignore_case
        self.within = within

    def run(self, table: pa.Table, roles: ColumnRoles) -> CheckResult:
        """``duplicate_of`` per row (the first row's id for copies, else null)."""
        values = text_column(self.name, self.column, roles, table)
        codes, firsts = exact_groups(
            values,
            ignore_whitespace=self.ignore_whitespace,
            ignore_case=self.ignore_case,
            groups=group_codes(self.name, self.within, table),
        )
        n = table.num_rows
        ids = table.column(ROW_ID_COLUMN).combine_chunks().cast(pa.string())
        first_row = np.full(n, -1, dtype=np.int64)
        valid = codes >= 0
        first_row[valid] = firsts[codes[valid]]
        is_dup = valid & (first_row != np.arange(n))
        dup_of = pc.if_else(
            pa.array(is_dup), ids.take(pa.array(np.maximum(first_row, 0))), pa.scalar(None, pa.string())
        )
        sizes = np.bincount(codes[valid], minlength=len(firsts)) if len(firsts) else np.zeros(0, np.int64)
        issues = issue_table(ids, is_dup, np.where(is_dup, 0.0, 1.0), duplicate_of=dup_of)
        present = pc.drop_null(values)
        summary: dict[str, Any] = {
            "duplicates": int(is_dup.sum()),
            # byte-for-byte copies, no normalisation: the count public datasets usually quote
            "strict_duplicates": int(len(present) - pc.count_distinct(present).as_py()),
            "groups": int((sizes > 1).sum()),
            "largest_group": int(sizes.max()) if len(sizes) else 0,
            "normalisation": {"ignore_whitespace": self.ignore_whitespace, "ignore_case": self.ignore_case},
            "within": self.within,
        }
        return CheckResult(self.name, issues, summary)

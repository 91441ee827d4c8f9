"""The first cleaning steps: missing values, whitespace, length, exact duplicates.

All work on whole columns with ``pyarrow.compute``; none removes a row itself (rows to drop
get a reason in ``_dm_drop``, see :mod:`datamoat.pipeline.step`).

``drop_missing``
    Drop rows where any of ``columns`` is missing (null, NaN, or, for text, empty or only
    whitespace when ``blank_is_missing``). Reason ``"missing <col>"`` for the first such column.
``strip_whitespace``
    Collapse each run of whitespace (any Unicode whitespace, as Python's ``str.isspace``) to
    one space and strip both ends, in the text column. Changed rows keep their row id.
``length_filter``
    Drop texts shorter than ``min_chars`` or longer than ``max_chars`` characters (Unicode
    code points). Stats column ``_dm_len`` (int64, null for a null text, which is kept).
``exact_dedup`` (global)
    Keep the first row of each group of rows with the same (normalised) text; later copies get
    reason ``"exact duplicate"`` and stats column ``_dm_dup_of`` (the kept row's id). Texts are
    hashed to 64-bit ints; only the hashes of duplicated texts and their first row ids are kept.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import StepError
from datamoat.pipeline.registry import register
from datamoat.pipeline.step import (
    Step,
    add_reasons,
    as_text,
    bad_param,
    check_bool,
    check_column_list,
    check_column_name,
    check_int,
    drop_where,
    require_column,
    require_text_column,
    set_column,
)

WHITESPACE_RUN = r"[\s\x{0B}\x{1C}-\x{1F}\x{85}\p{Z}]+"
"""RE2 pattern for a run of whitespace; the same characters as Python's ``str.isspace``."""

LEN_COLUMN = "_dm_len"
DUP_OF_COLUMN = "_dm_dup_of"
DUPLICATE_REASON = "exact duplicate"


def collapse_whitespace(values: pa.Array) -> pa.Array:
    """Text with each whitespace run replaced by one space and both ends stripped; nulls stay."""
    collapsed = pc.replace_substring_regex(as_text(values), WHITESPACE_RUN, " ")
    return pc.utf8_trim(collapsed, characters=" ")


def _is_text(typ: pa.DataType) -> bool:
    return pa.types.is_string(typ) or pa.types.is_large_string(typ)


@register
class DropMissing(Step):
    """Drop rows with a missing value in any of the given columns.

    columns: the columns that must be present; None means the ``text`` and ``label`` role
        columns the dataset has.
    blank_is_missing: count empty and whitespace-only strings as missing.
    """

    name = "drop_missing"
    kind = "row"

    def __init__(self, *, columns: list[str] | None = None, blank_is_missing: bool = True) -> None:
        self.columns = check_column_list(self.name, "columns", columns)
        self.blank_is_missing = check_bool(self.name, "blank_is_missing", blank_is_missing)
        self._resolved: list[str] = []

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the columns; StepError if one is absent or none is given and no role applies."""
        if self.columns is not None:
            self._resolved = [require_column(self.name, schema, c, roles, "text") for c in self.columns]
            return
        self._resolved = [c for role in ("text", "label") for c in roles.columns(role)]
        if not self._resolved:
            raise StepError(
                f"step {self.name!r}: no columns given and the dataset has no text or label role."
            )
        for column in self._resolved:
            require_column(self.name, schema, column, roles, "text")

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Mark rows with a missing value; reason ``"missing <col>"``."""
        reasons = pa.nulls(batch.num_rows, pa.string())
        for column in self._resolved:
            missing = self._missing(batch.column(column))
            reasons = pc.coalesce(reasons, drop_where(missing, f"missing {column}"))
        return add_reasons(batch, reasons)

    def _missing(self, values: pa.Array) -> pa.Array:
        """Boolean array, true where a value counts as missing."""
        missing = pc.is_null(values, nan_is_null=True)
        if self.blank_is_missing and _is_text(values.type):
            blank = pc.equal(collapse_whitespace(values), "")
            missing = pc.or_(missing, pc.fill_null(blank, False))
        return missing


@register
class StripWhitespace(Step):
    """Collapse whitespace runs to one space and strip the ends of a text column.

    column: the text column; None means the ``text`` role column.
    """

    name = "strip_whitespace"
    kind = "row"

    def __init__(self, *, column: str | None = None) -> None:
        self.column = check_column_name(self.name, "column", column)
        self._resolved = ""

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the text column; StepError if absent or not text."""
        self._resolved = require_text_column(self.name, schema, self.column, roles)

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with the text column cleaned (same type); no rows dropped."""
        values = batch.column(self._resolved)
        cleaned = collapse_whitespace(values)
        if not pa.types.is_null(values.type):
            cleaned = cleaned.cast(values.type)
        return set_column(batch, self._resolved, cleaned)


@register
class LengthFilter(Step):
    """Drop texts outside a length range, in characters (Unicode code points).

    column: the text column; None means the ``text`` role column.
    min_chars: drop texts with fewer characters; None for no minimum.
    max_chars: drop texts with more characters; None for no maximum.
    Null texts are kept (``drop_missing`` handles them).
    """

    name = "length_filter"
    kind = "row"

    def __init__(
        self, *, column: str | None = None, min_chars: int | None = None, max_chars: int | None = None
    ) -> None:
        self.column = check_column_name(self.name, "column", column)
        self.min_chars = check_int(self.name, "min_chars", min_chars)
        self.max_chars = check_int(self.name, "max_chars", max_chars)
        if self.min_chars is None and self.max_chars is None:
            raise bad_param(self.name, "min_chars", "or 'max_chars' must be given")
        if self.min_chars is not None and self.max_chars is not None and self.min_chars > self.max_chars:
            raise bad_param(
                self.name, "min_chars", f"({self.min_chars}) is larger than max_chars ({self.max_chars})"
            )
        self._resolved = ""

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the text column; StepError if absent or not text."""
        self._resolved = require_text_column(self.name, schema, self.column, roles)

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Add ``_dm_len`` and mark too short / too long texts."""
        lengths = pc.utf8_length(as_text(batch.column(self._resolved))).cast(pa.int64())
        reasons = pa.nulls(batch.num_rows, pa.string())
        if self.min_chars is not None:
            reasons = drop_where(pc.less(lengths, self.min_chars), f"shorter than {self.min_chars} chars")
        if self.max_chars is not None:
            longer = drop_where(pc.greater(lengths, self.max_chars), f"longer than {self.max_chars} chars")
            reasons = pc.coalesce(reasons, longer)
        return add_reasons(set_column(batch, LEN_COLUMN, lengths), reasons)


@register
class ExactDedup(Step):
    """Keep the first row of each set of rows with the same text (global step).

    column: the text column; None means the ``text`` role column.
    ignore_case: compare texts lower-cased.
    ignore_whitespace: compare texts with whitespace runs collapsed and ends stripped.
    Null texts are never duplicates. Needs unique ``_dm_row_id`` values: the first row of a
    group is told apart from its copies by its row id.

    Memory: fit keeps one uint64 per input row while it runs, then one uint64 hash and the
    first row id per duplicated text. Two different texts share a 64-bit hash with
    probability about n^2 / 2^65 for n distinct texts (negligible below ~10^8 texts).
    """

    name = "exact_dedup"
    kind = "global"

    def __init__(
        self, *, column: str | None = None, ignore_case: bool = False, ignore_whitespace: bool = False
    ) -> None:
        self.column = check_column_name(self.name, "column", column)
        self.ignore_case = check_bool(self.name, "ignore_case", ignore_case)
        self.ignore_whitespace = check_bool(self.name, "ignore_whitespace", ignore_whitespace)
        self._resolved = ""
        self._dup_hashes = np.empty(0, dtype=np.uint64)
        self._first_ids = pa.array([], pa.string())

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the text column; StepError if absent, not text, or no ``_dm_row_id`` column."""
        self._resolved = require_text_column(self.name, schema, self.column, roles)
        if ROW_ID_COLUMN not in schema.names:
            raise StepError(f"step {self.name!r} needs the {ROW_ID_COLUMN} column to tell copies apart.")

    def fit(self, batches: Iterable[pa.RecordBatch]) -> None:
        """Find the duplicated text hashes (pass 1) and the first row id of each (pass 2).

        Raises StepError if two rows with the same text share a row id.
        """
        hashes = [h[valid] for h, valid in map(self._hashes, batches)]
        values, counts = np.unique(
            np.concatenate(hashes) if hashes else np.empty(0, np.uint64), return_counts=True
        )
        del hashes
        self._dup_hashes = values[counts > 1]
        first = np.full(len(self._dup_hashes), None, dtype=object)
        same_id = np.zeros(len(self._dup_hashes), dtype=np.int64)
        if len(self._dup_hashes):
            for batch in batches:
                self._fit_first_ids(batch, first, same_id)
        if (same_id > 1).any():
            example = first[np.flatnonzero(same_id > 1)[0]]
            raise StepError(
                f"step {self.name!r}: rows with the same text share the {ROW_ID_COLUMN} {example!r}; "
                "row ids must be unique to deduplicate."
            )
        self._first_ids = pa.array(first.tolist(), pa.string())

    def _fit_first_ids(self, batch: pa.RecordBatch, first: np.ndarray, same_id: np.ndarray) -> None:
        """Record the first row id of each duplicated text in ``batch``, in stream order.

        first: slot -> first row id (None until seen), updated in place.
        same_id: slot -> number of rows seen so far whose id is the first row id, updated.
        """
        hashes, valid = self._hashes(batch)
        slots, found = self._lookup(hashes)
        rows = np.flatnonzero(found & valid)
        if len(rows) == 0:
            return
        ids = batch.column(ROW_ID_COLUMN).cast(pa.string()).to_numpy(zero_copy_only=False)[rows]
        slots = slots[rows]
        batch_slots, first_rows = np.unique(slots, return_index=True)
        new = np.equal(first[batch_slots], None)
        first[batch_slots[new]] = ids[first_rows[new]]
        np.add.at(same_id, slots[first[slots] == ids], 1)

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Mark copies after the first with ``"exact duplicate"`` and add ``_dm_dup_of`` (the kept row's id)."""
        hashes, valid = self._hashes(batch)
        slots, found = self._lookup(hashes)
        found &= valid
        if not found.any():
            nulls = pa.nulls(batch.num_rows, pa.string())
            return add_reasons(set_column(batch, DUP_OF_COLUMN, nulls), nulls)
        null = pa.scalar(None, pa.string())
        firsts = pc.if_else(pa.array(found), self._first_ids.take(pa.array(slots)), null)
        ids = batch.column(ROW_ID_COLUMN).cast(pa.string())
        is_dup = pc.fill_null(pc.not_equal(firsts, ids), False)
        dup_of = pc.if_else(is_dup, firsts, null)
        # one reason for all copies (counts group by it); which row each copies is in _dm_dup_of
        reasons = pc.if_else(is_dup, pa.scalar(DUPLICATE_REASON), null)
        return add_reasons(set_column(batch, DUP_OF_COLUMN, dup_of), reasons)

    def _hashes(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        """(uint64 hash of each row's normalised text, bool array: text is not null)."""
        values = as_text(batch.column(self._resolved))
        if self.ignore_whitespace:
            values = collapse_whitespace(values)
        if self.ignore_case:
            values = pc.utf8_lower(values)
        valid = pc.is_valid(values).to_numpy(zero_copy_only=False)
        texts = pc.fill_null(values, "").to_numpy(zero_copy_only=False)
        if len(texts) == 0:
            return np.empty(0, dtype=np.uint64), valid.astype(bool)
        return pd.util.hash_array(texts.astype(object, copy=False), categorize=False), valid.astype(bool)

    def _lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(slot of each hash in the duplicated-hash table, bool array: found there)."""
        table = self._dup_hashes
        if len(table) == 0:
            return np.zeros(len(hashes), dtype=np.int64), np.zeros(len(hashes), dtype=bool)
        slots = np.searchsorted(table, hashes)
        clipped = np.minimum(slots, len(table) - 1)
        return clipped, table[clipped] == hashes

"""Infer column types for all-string sources (CSV), streaming and vectorised.

Feed every batch to :meth:`StringTypeInferrer.update`, then read :meth:`~StringTypeInferrer.schema`
and convert each batch with :meth:`~StringTypeInferrer.cast`. Memory is constant (a few flags
and marker counts per column); all work is done with ``pyarrow.compute`` kernels.

Rules, applied to each cell after stripping leading/trailing ASCII whitespace:

* ``int64``: every value is an integer without leading zeros (``"007"`` and the postcode
  ``"01234"`` stay text) that fits in int64. An integer beyond int64 keeps the column as
  text, so long ids keep their exact digits.
* ``float64``: every value is a decimal or scientific number (``1.5``, ``.5``, ``-2e-3``,
  ``inf``), again without leading zeros before the decimal point.
* ``bool``: every value is ``true`` or ``false``, in any case (``0``/``1`` stay numbers).
* otherwise ``string``, values unchanged (surrounding spaces are kept).

NA markers (:data:`NA_MARKERS`: ``""``, ``NA``, ``N/A``, ``null``, ``None``, ``?``, ``-`` ...)
are ignored when deciding, and become null in columns that end up numeric or bool. In text
columns the markers that pandas also treats as missing, plus the UCI convention ``?``
(:data:`TEXT_NA_MARKERS`; not ``-``) become null too, except in the columns named in
``keep_text`` (the dataset's free-text column, where ``"?"`` or ``"NA"`` may be a real
message). :meth:`~StringTypeInferrer.notes` reports which markers were nulled, per column, with
counts, so the manifest says what was read as missing. A column with no value besides nulls and
markers stays ``string``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

NA_MARKERS: tuple[str, ...] = (
    "", "NA", "N/A", "n/a", "#N/A", "null", "NULL", "Null", "None", "none", "NaN", "nan", "?", "-",
)  # fmt: skip
"""Cell values (after stripping whitespace) that mean "missing" in numeric or bool columns."""

INT_PATTERN = r"^[+-]?(?:0|[1-9][0-9]*)$"
FLOAT_PATTERN = (
    r"^[+-]?(?:(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:inf|infinity))$"
)
BOOL_PATTERN = r"^(?i:true|false)$"

TEXT_NA_MARKERS: tuple[str, ...] = tuple(m for m in NA_MARKERS if m != "-")
"""Markers that mean "missing" in text columns too (pandas' defaults plus ``?``)."""

_NA_SET = pa.array(NA_MARKERS, type=pa.string())
_TEXT_NA_SET = pa.array(TEXT_NA_MARKERS, type=pa.string())
_SAFE_DIGITS = 18  # every integer with at most 18 digits fits in int64


@dataclass
class _Column:
    """Evidence gathered for one column."""

    could_be_int: bool = True
    could_be_float: bool = True
    could_be_bool: bool = True
    values: int = 0
    overflow: bool = False
    markers: Counter[str] = field(default_factory=Counter)
    fixed: pa.DataType | None = None  # a column that is not text to begin with

    @property
    def undecided(self) -> bool:
        return self.fixed is None and (self.could_be_int or self.could_be_float or self.could_be_bool)

    def final_type(self) -> pa.DataType:
        if self.fixed is not None:
            return self.fixed
        if self.values == 0:
            return pa.string()
        if self.could_be_int:
            return pa.int64()
        if self.could_be_float:
            return pa.float64()
        if self.could_be_bool:
            return pa.bool_()
        return pa.string()


def _all_values(matches: pa.Array, is_marker: pa.Array) -> bool:
    """True when every cell is a match, a marker or null (``matches`` is null for null cells)."""
    return pc.all(pc.or_(matches, is_marker)).as_py() is not False


def _fits_int64(trimmed: pa.Array, is_value: pa.Array) -> bool:
    """True when every value (already known to be an integer) fits in int64."""
    long = pc.and_(pc.greater(pc.binary_length(trimmed), _SAFE_DIGITS), is_value)
    if not pc.any(long).as_py():
        return True
    try:
        pc.cast(pc.utf8_ltrim(pc.filter(trimmed, long), "+"), pa.int64())
    except (pa.ArrowInvalid, OverflowError):
        return False
    return True


_MAX_MARKER_CELL = 16
"""Longest cell (bytes, spaces included) that can still be a marker such as ``"  N/A "``."""


def _short_cells(array: pa.Array) -> pa.Array:
    """The trimmed cells short enough to be a marker (long free text is skipped cheaply)."""
    short = pc.less_equal(pc.binary_length(array), _MAX_MARKER_CELL)
    return pc.ascii_trim_whitespace(pc.filter(array, short))


def _count_markers(state: _Column, trimmed: pa.Array, markers: pa.Array) -> None:
    """Add the NA markers among ``trimmed`` cells to the column's marker counts."""
    is_marker = pc.is_in(trimmed, value_set=markers)
    if pc.any(is_marker).as_py():
        for item in pc.value_counts(pc.filter(trimmed, is_marker)).to_pylist():
            state.markers[item["values"]] += item["counts"]


def _is_text(type_: pa.DataType) -> bool:
    return pa.types.is_string(type_) or pa.types.is_large_string(type_)


def _marker_mask(trimmed: pa.Array) -> pa.Array:
    """True where the trimmed cell is an NA marker; false where it is a value or null."""
    return pc.is_in(trimmed, value_set=_NA_SET)


class StringTypeInferrer:
    """Decides int64 / float64 / bool / string per column from a stream of all-string batches.

    keep_text: text columns whose NA-marker values are kept as written (free text).
    """

    def __init__(self, keep_text: tuple[str, ...] | list[str] = ()) -> None:
        self._columns: dict[str, _Column] = {}
        self._keep_text = set(keep_text)

    def keep_as_text(self, column: str) -> None:
        """Add ``column`` to ``keep_text``; call before the first :meth:`update`."""
        self._keep_text.add(column)

    def update(self, batch: pa.RecordBatch) -> None:
        """Take the evidence of one batch into account (any number of rows, constant memory)."""
        for name, array in zip(batch.schema.names, batch.columns, strict=True):
            state = self._columns.setdefault(name, _Column())
            if not _is_text(array.type):
                if state.fixed is None and state.values == 0 and not pa.types.is_null(array.type):
                    state.fixed = array.type
                continue
            if state.undecided:
                self._update_column(state, array)
            elif state.fixed is None and name not in self._keep_text:
                _count_markers(state, _short_cells(array), _TEXT_NA_SET)

    @staticmethod
    def _update_column(state: _Column, array: pa.Array) -> None:
        trimmed = pc.ascii_trim_whitespace(array)
        is_marker = _marker_mask(trimmed)
        is_value = pc.and_(pc.is_valid(trimmed), pc.invert(is_marker))
        count = pc.sum(is_value).as_py() or 0
        if count:
            state.values += count
            if state.could_be_int:
                state.could_be_int = _all_values(pc.match_substring_regex(trimmed, INT_PATTERN), is_marker)
                if state.could_be_int and not _fits_int64(trimmed, is_value):
                    state.could_be_int = state.could_be_float = state.could_be_bool = False
                    state.overflow = True
                    return
            if state.could_be_float and not state.could_be_int:
                state.could_be_float = _all_values(
                    pc.match_substring_regex(trimmed, FLOAT_PATTERN), is_marker
                )
            if state.could_be_int or state.could_be_float:
                state.could_be_bool = False
            elif state.could_be_bool:
                state.could_be_bool = _all_values(pc.match_substring_regex(trimmed, BOOL_PATTERN), is_marker)
        if pc.any(is_marker).as_py():
            counts = pc.value_counts(pc.filter(trimmed, is_marker))
            for item in counts.to_pylist():
                state.markers[item["values"]] += item["counts"]

    def schema(self) -> pa.Schema:
        """The inferred schema, columns in the order first seen."""
        return pa.schema([(name, state.final_type()) for name, state in self._columns.items()])

    def cast(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Convert one batch to :meth:`schema` (call after :meth:`update` has seen every batch).

        Numeric/bool columns: whitespace stripped, NA markers -> null. Text columns unchanged.
        Raises ``pyarrow.ArrowInvalid`` for a value :meth:`update` never saw.
        """
        arrays: list[pa.Array] = []
        fields: list[pa.Field] = []
        for name, array in zip(batch.schema.names, batch.columns, strict=True):
            state = self._columns.get(name)
            target = state.final_type() if state is not None else array.type
            if _is_text(array.type) and not _is_text(target) and state is not None and state.fixed is None:
                array = _convert(array, target, has_markers=bool(state.markers))
            elif _is_text(array.type) and state is not None and state.fixed is None and name not in self._keep_text:
                if any(m in state.markers for m in TEXT_NA_MARKERS):
                    short = pc.less_equal(pc.binary_length(array), _MAX_MARKER_CELL)
                    trimmed = pc.ascii_trim_whitespace(pc.if_else(short, array, pa.scalar(None, type=array.type)))
                    is_marker = pc.fill_null(pc.is_in(trimmed, value_set=_TEXT_NA_SET), False)
                    array = pc.if_else(is_marker, pa.scalar(None, type=array.type), array)
            fields.append(pa.field(name, array.type))
            arrays.append(array)
        return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))

    def notes(self) -> dict[str, dict[str, Any]]:
        """Per column: ``{"type": "int64", "na_markers": {"?": 12}}`` (markers nulled, with counts).

        ``na_markers`` is empty for ``keep_text`` columns (their markers are kept as text); a
        column kept as text because of an integer beyond int64 also gets ``"note"``.
        """
        out: dict[str, dict[str, Any]] = {}
        for name, state in self._columns.items():
            type_ = state.final_type()
            if state.fixed is not None or name in self._keep_text:
                nulled: dict[str, int] = {}
            elif _is_text(type_):
                nulled = {m: n for m, n in sorted(state.markers.items()) if m in TEXT_NA_MARKERS}
            else:
                nulled = dict(sorted(state.markers.items()))
            entry: dict[str, Any] = {"type": str(type_), "na_markers": nulled}
            if state.overflow:
                entry["note"] = "integers beyond int64: kept as text"
            out[name] = entry
        return out


def _convert(array: pa.Array, target: pa.DataType, has_markers: bool = True) -> pa.Array:
    """Strip, null the NA markers (when the column has any) and cast text to int64 / float64 / bool."""
    trimmed = pc.ascii_trim_whitespace(array)
    cleaned = trimmed
    if has_markers:
        cleaned = pc.if_else(_marker_mask(trimmed), pa.scalar(None, type=trimmed.type), trimmed)
    if pa.types.is_boolean(target):
        return pc.equal(pc.utf8_lower(cleaned), "true")
    return pc.cast(pc.utf8_ltrim(cleaned, "+"), target)

"""Infer the ``text`` role when the user named none, so text checks and steps are not skipped.

The rule, applied to the first chunk of rows ingested (up to ``ID_CHUNK_ROWS``): a column is
free text when it is a string column without another role and, over its non-null values,

* the median length is at least :data:`MIN_MEDIAN_CHARS` characters,
* at least :data:`MIN_SPACED_SHARE` of the values contain a space (words, not ids or codes),
* at least :data:`MIN_DISTINCT_SHARE` of the values are distinct (not a category).

Of the columns that pass, the one with the longest median wins. The choice is recorded in the
manifest (``source.inferred_roles``) and said on the terminal with the way to override it
(``--text COLUMN``, or ``--no-infer-roles``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles

MIN_MEDIAN_CHARS = 20
"""Median characters per value a free-text column has at least."""
MIN_DISTINCT_SHARE = 0.5
"""Share of distinct values among the non-null ones a free-text column has at least."""
MIN_SPACED_SHARE = 0.5
"""Share of non-null values containing a space a free-text column has at least."""


@dataclass(frozen=True)
class InferredText:
    """The column chosen for the text role, with the figures that chose it."""

    column: str
    median_chars: float
    distinct_share: float
    rows: int

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``source.inferred_roles["text"]`` entry."""
        return {"column": self.column, "median_chars": self.median_chars,
                "distinct_share": round(self.distinct_share, 4), "rows_judged": self.rows,
                "rule": f"string column with median length >= {MIN_MEDIAN_CHARS} chars, >= "
                        f"{MIN_SPACED_SHARE:.0%} of values with a space and >= {MIN_DISTINCT_SHARE:.0%} "
                        "distinct; the longest such column"}

    def sentence(self) -> str:
        """What was inferred and how to override it, for the terminal."""
        return (f"no --text given: column {self.column!r} was taken as the text (median {self.median_chars:.0f} "
                f"characters, {self.distinct_share:.0%} distinct); override with --text COLUMN or --no-infer-roles")


def infer_text_column(batches: list[pa.RecordBatch], roles: ColumnRoles) -> InferredText | None:
    """The column of ``batches`` that the rule in the module docstring takes as the text, or None.

    batches: rows of one source (the same schema); roles: the roles already given (columns
    with a role are never chosen).
    """
    if not batches:
        return None
    table = pa.Table.from_batches(batches)
    taken = roles.all_columns()
    best: InferredText | None = None
    for name, column in zip(table.schema.names, table.columns, strict=True):
        if name == ROW_ID_COLUMN or name in taken or not (pa.types.is_string(column.type)
                                                           or pa.types.is_large_string(column.type)):
            continue
        values = pc.drop_null(column)
        n = len(values)
        if n == 0:
            continue
        median = float(pc.approximate_median(pc.utf8_length(values)).as_py() or 0)
        if median < MIN_MEDIAN_CHARS:
            continue
        spaced = pc.sum(pc.match_substring(values, " ")).as_py() or 0
        distinct = pc.count_distinct(values).as_py() / n
        if spaced / n < MIN_SPACED_SHARE or distinct < MIN_DISTINCT_SHARE:
            continue
        if best is None or median > best.median_chars:
            best = InferredText(name, median, distinct, n)
    return best

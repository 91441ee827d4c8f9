"""``duplicate_rows``: drop whole-row duplicates, the exact duplicates of a table (global step).

Two rows are duplicates when every data column holds the same value, nulls equal (the ``id``
role columns, the columns in ``ignore_columns`` and datamoat's ``_dm_`` columns are not
compared: a re-sent record gets a new id). The label is a data column, so two rows with the
same features and different labels are both kept. Rows are keyed by the hash of the
``duplicate_rows`` quality check (:func:`datamoat.quality.duplicate_rows.row_keys`: the MD5 of
the row's ``column=value`` pairs, the content row-id hash), so the check and the step agree.

The first row of each group (stream order) is kept; later copies get the reason
``"exact duplicate"`` and the stats column ``_dm_dup_of`` (the kept row's ``_dm_row_id``), as
with ``exact_dedup`` (:mod:`datamoat.clean.first_copy`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from datamoat.clean.first_copy import FirstCopyDedup
from datamoat.data.roles import ColumnRoles
from datamoat.data.row_ids import ContentRowIds
from datamoat.errors import StepError
from datamoat.pipeline.registry import register
from datamoat.pipeline.step import STATS_PREFIX, check_column_list, require_row_ids
from datamoat.quality.duplicate_rows import row_keys


@register
class DuplicateRows(FirstCopyDedup):
    """Keep the first of each set of rows equal in every data column (global step).

    ignore_columns: data columns left out of the comparison (besides ``id`` role columns and
        ``_dm_`` columns), e.g. a timestamp that differs between re-sent copies.

    Memory: as ``exact_dedup``, one uint64 per input row while fitting, then one key and one row
    id per duplicated row.
    """

    name = "duplicate_rows"
    kind = "global"
    compared = "values"

    def __init__(self, *, ignore_columns: list[str] | None = None) -> None:
        self.ignore_columns = check_column_list(self.name, "ignore_columns", ignore_columns)
        self._columns: list[str] = []
        self._hasher: ContentRowIds | None = None
        self._init_state()

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Choose the compared columns; StepError for an unknown ignored column or no row ids."""
        require_row_ids(self.name, schema, "to tell copies apart")
        ignored = set(self.ignore_columns or [])
        absent = sorted(ignored - set(schema.names))
        if absent:
            raise StepError(f"step {self.name!r}: ignore_columns names {absent[0]!r}, which is not in the data.")
        skip = ignored | set(roles.columns("id"))
        self._columns = [c for c in schema.names if not c.startswith(STATS_PREFIX) and c not in skip]

    def _hashes(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        """(uint64 key of each row's compared values, bool array: every row takes part).

        Without any compared column no row takes part (nothing is a duplicate of anything).
        """
        n = batch.num_rows
        if not self._columns or n == 0:
            return np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=bool)
        table = pa.Table.from_batches([batch]).select(self._columns)
        return row_keys(table, self._row_ids()), np.ones(n, dtype=bool)

    def _row_ids(self) -> ContentRowIds:
        """The step's one row hasher (a DuckDB connection costs ~19 ms to open; fit hashes
        every batch twice and apply once more), opened on first use and never pickled."""
        if self._hasher is None:
            self._hasher = ContentRowIds()
        return self._hasher

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_hasher"] = None  # a DuckDB connection does not pickle; each process opens its own
        return state

"""``FirstCopyDedup``: the machinery of exact deduplication, whatever the rows are compared by.

A subclass says how to key a row (:meth:`FirstCopyDedup._hashes`: one uint64 per row, and
whether the row takes part at all); this base keeps the first row of each key in stream order
and marks the later copies with the reason ``"exact duplicate"`` and the stats column
``_dm_dup_of`` (the kept row's ``_dm_row_id``). ``exact_dedup`` keys rows by their normalised
text, ``duplicate_rows`` by all their data columns.

Memory: fit keeps one uint64 per input row while it runs, then one uint64 key and the first
row id per duplicated key. Needs unique ``_dm_row_id`` values: the first row of a group is told
apart from its copies by its row id.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN
from datamoat.errors import StepError
from datamoat.pipeline.step import Step, add_reasons, set_column

DUP_OF_COLUMN = "_dm_dup_of"
DUPLICATE_REASON = "exact duplicate"


class FirstCopyDedup(Step):
    """Keep the first row of each key, drop later copies (a global step; see the module docstring).

    Class attributes
    ----------------
    compared:
        What rows are compared by, for error messages (``"text"``, ``"values"``).
    """

    kind = "global"
    compared = "values"

    def _init_state(self) -> None:
        self._dup_hashes = np.empty(0, dtype=np.uint64)
        self._first_ids = pa.array([], pa.string())

    @abstractmethod
    def _hashes(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        """(uint64 key of each row of ``batch``, bool array: the row takes part in deduplication)."""

    def fit(self, batches: Iterable[pa.RecordBatch]) -> None:
        """Find the duplicated keys (pass 1) and the first row id of each (pass 2).

        Raises StepError if two rows with the same key share a row id.
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
                f"step {self.name!r}: rows with the same {self.compared} share the {ROW_ID_COLUMN} {example!r}; "
                "row ids must be unique to deduplicate."
            )
        self._first_ids = pa.array(first.tolist(), pa.string())

    def _fit_first_ids(self, batch: pa.RecordBatch, first: np.ndarray, same_id: np.ndarray) -> None:
        """Record the first row id of each duplicated key in ``batch``, in stream order.

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

    def _lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(slot of each key in the duplicated-key table, bool array: found there)."""
        table = self._dup_hashes
        if len(table) == 0:
            return np.zeros(len(hashes), dtype=np.int64), np.zeros(len(hashes), dtype=bool)
        slots = np.searchsorted(table, hashes)
        clipped = np.minimum(slots, len(table) - 1)
        return clipped, table[clipped] == hashes

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
        self._fit_round = 1  # of the distributed fit (fit_partial / fit_merge)

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
                self._record_first(*self._duplicated_rows(batch), first, same_id)
        self._set_first_ids(first, same_id)

    def _set_first_ids(self, first: np.ndarray, same_id: np.ndarray) -> None:
        """Keep the first row ids; StepError if a first row id was seen twice."""
        if (same_id > 1).any():
            example = first[np.flatnonzero(same_id > 1)[0]]
            raise StepError(
                f"step {self.name!r}: rows with the same {self.compared} share the {ROW_ID_COLUMN} {example!r}; "
                "row ids must be unique to deduplicate."
            )
        self._first_ids = pa.array(first.tolist(), pa.string())

    # --- distributed fit (pipeline.fit_hooks.PartialFit): the same two passes, per block ------

    def fit_partial(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        """Round 1: (distinct keys of the block's taking-part rows, their counts).
        Round 2: (slot, row id) of the block's rows whose key is duplicated, in row order."""
        if self._fit_round == 1:
            hashes, valid = self._hashes(batch)
            values, counts = np.unique(hashes[valid], return_counts=True)
            return values, counts
        return self._duplicated_rows(batch)

    def fit_merge(self, states: list[tuple[np.ndarray, np.ndarray]]) -> bool:
        """Round 1: the duplicated keys (False: round 2 is needed, unless there are none).
        Round 2: each duplicated key's first row id, folding the blocks in input order."""
        if self._fit_round == 1:
            values = np.concatenate([s[0] for s in states]) if states else np.empty(0, np.uint64)
            counts = np.concatenate([s[1] for s in states]) if states else np.empty(0, np.int64)
            keys, inverse = np.unique(values, return_inverse=True)
            totals = np.bincount(inverse, weights=counts, minlength=len(keys))
            self._dup_hashes = keys[totals > 1]
            self._first_ids = pa.array([None] * len(self._dup_hashes), pa.string())
            if len(self._dup_hashes) == 0:
                return True
            self._fit_round = 2
            return False
        first = np.full(len(self._dup_hashes), None, dtype=object)
        same_id = np.zeros(len(self._dup_hashes), dtype=np.int64)
        for slots, ids in states:
            self._record_first(slots, ids, first, same_id)
        self._fit_round = 1
        self._set_first_ids(first, same_id)
        return True

    def _duplicated_rows(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        """(slot in the duplicated-key table, row id) of each row of ``batch`` with a duplicated key."""
        hashes, valid = self._hashes(batch)
        slots, found = self._lookup(hashes)
        rows = np.flatnonzero(found & valid)
        if len(rows) == 0:
            return np.empty(0, np.int64), np.empty(0, dtype=object)
        ids = batch.column(ROW_ID_COLUMN).cast(pa.string()).to_numpy(zero_copy_only=False)[rows]
        return slots[rows], ids

    def _record_first(self, slots: np.ndarray, ids: np.ndarray, first: np.ndarray, same_id: np.ndarray) -> None:
        """Record the first row id of each duplicated key among rows (``slots``, ``ids``), in stream order.

        first: slot -> first row id (None until seen), updated in place.
        same_id: slot -> number of rows seen so far whose id is the first row id, updated.
        """
        if len(slots) == 0:
            return
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

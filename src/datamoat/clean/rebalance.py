"""``rebalance`` (global step): downsample the large classes.

Every class is cut to at most ``floor(max_ratio x the smallest class's count)`` rows; rows
over the cap get reason ``"rebalanced"``. Rows without a label (null or blank) are left alone
and do not count as a class. Upsampling is deliberately not offered: copying rows would
duplicate ``_dm_row_id`` values, which must stay unique.

Which rows are kept is decided by a seeded 64-bit hash of each row's ``_dm_row_id``: in each
class over the cap, the ``cap`` rows with the smallest hashes are kept. So the choice does
not depend on batch size, order or executor, the same seed gives the same rows, and a row
kept in one version stays kept in the next as long as its class's cap does not shrink.
Fit keeps one uint64 per labelled row while it runs, then one threshold per class.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.pipeline.registry import register
from datamoat.pipeline.step import (
    Step,
    add_reasons,
    bad_param,
    check_column_name,
    check_int,
    require_column,
    require_row_ids,
)
from datamoat.quality.missing import missing_mask

REASON = "rebalanced"


def row_hashes(row_ids: pa.Array, seed: int) -> np.ndarray:
    """Seeded uint64 hash of each row id (pandas' SipHash with a key derived from ``seed``)."""
    ids = row_ids.cast(pa.string()).to_numpy(zero_copy_only=False).astype(object, copy=False)
    if len(ids) == 0:
        return np.empty(0, dtype=np.uint64)
    key = f"{seed:016d}"[-16:]
    return pd.util.hash_array(ids, hash_key=key, categorize=False)


@register
class Rebalance(Step):
    """Cap each class at ``max_ratio`` x the smallest class (deterministic downsampling).

    column: the label column; None means the ``label`` role column.
    max_ratio: largest allowed ratio of a class's count to the smallest class's (>= 1).
    seed: which rows are kept (see the module docstring).
    """

    name = "rebalance"
    kind = "global"

    def __init__(self, *, column: str | None = None, max_ratio: float = 3.0, seed: int = 0) -> None:
        self.column = check_column_name(self.name, "column", column)
        if isinstance(max_ratio, bool) or not isinstance(max_ratio, int | float) or not max_ratio >= 1:
            raise bad_param(self.name, "max_ratio", f"must be a number >= 1, got {max_ratio!r}")
        self.max_ratio = max_ratio
        self.seed = check_int(self.name, "seed", seed, optional=False)
        self._resolved = ""
        self._thresholds: dict[str, int] = {}
        self.caps: dict[str, int] = {}

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the label column; StepError if absent or no row id column."""
        self._resolved = require_column(self.name, schema, self.column, roles, "label")
        require_row_ids(self.name, schema, "to choose the rows to keep")

    def _labels_and_hashes(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        values = batch.column(self._resolved)
        present = ~missing_mask(values)
        labels = np.asarray(values.cast(pa.string()).to_pylist(), dtype=object)
        return np.where(present, labels, None), row_hashes(batch.column(ROW_ID_COLUMN), self.seed)

    def fit(self, batches: Iterable[pa.RecordBatch]) -> None:
        """Count the classes and find, per class over the cap, the hash threshold of kept rows."""
        self.fit_merge([self.fit_partial(batch) for batch in batches])

    def fit_partial(self, batch: pa.RecordBatch) -> list[tuple[str, np.ndarray]]:
        """(label, row hashes) per class present in ``batch``, in first-seen order (a label count
        that keeps the hashes: pipeline.fit_hooks.PartialFit, one round)."""
        labels, hashes = self._labels_and_hashes(batch)
        frame = pd.DataFrame({"label": labels, "hash": hashes}).dropna(subset=["label"])
        return [
            (str(label), group["hash"].to_numpy(dtype=np.uint64))
            for label, group in frame.groupby("label", sort=False)
        ]

    def fit_merge(self, states: list[list[tuple[str, np.ndarray]]]) -> bool:
        """Fold the blocks' class hashes (input order) into the caps and thresholds."""
        by_class: dict[str, list[np.ndarray]] = {}
        for state in states:
            for label, hashes in state:
                by_class.setdefault(label, []).append(hashes)
        counts = {label: sum(len(p) for p in parts) for label, parts in by_class.items()}
        self._thresholds = {}
        self.caps = {}
        if len(counts) < 2:
            return True
        cap = int(np.floor(self.max_ratio * min(counts.values())))
        for label, parts in by_class.items():
            if counts[label] > cap:
                hashes = np.sort(np.concatenate(parts))
                self._thresholds[label] = int(hashes[cap - 1])
                self.caps[label] = cap
        return True

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Mark rows of capped classes whose hash is above the class's threshold."""
        if not self._thresholds or batch.num_rows == 0:
            return add_reasons(batch, pa.nulls(batch.num_rows, pa.string()))
        labels, hashes = self._labels_and_hashes(batch)
        drop = np.zeros(batch.num_rows, dtype=bool)
        for label, threshold in self._thresholds.items():
            drop |= (labels == label) & (hashes > np.uint64(threshold))
        reasons = pc.if_else(pa.array(drop), pa.scalar(REASON), pa.scalar(None, pa.string()))
        return add_reasons(batch, reasons)

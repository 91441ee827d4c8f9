"""``take_split`` and ``take_lm_split`` (global steps): keep the rows of one split.

``take_split`` keeps one split of a leakage-free, stratified split (below); ``take_lm_split``
one split of a language-model corpus: contiguous text ranges, or whole documents
(:mod:`datamoat.split.lm`), dropping the others' rows with the same ``"split: <name>"`` reasons.

The split is :func:`datamoat.split.assign.split_indices` over the whole input (given ``split``
role values, groups, exact and near duplicates kept together, stratified by label). The rows of
the other splits are dropped with the reason ``"split: <name>"``, so a ``-train`` version and a
``-test`` version made from the same input with the same parameters are disjoint, cover every
row, and each one records where the other rows went (``datamoat excluded``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.pipeline.registry import register
from datamoat.pipeline.step import Step, add_reasons, bad_param, require_row_ids
from datamoat.split.assign import DEFAULT_NEAR_DUP_THRESHOLD, SPLITS, split_indices
from datamoat.split.lm import lm_split_indices


@register
class TakeSplit(Step):
    """Keep one split (``train``, ``valid`` or ``test``) of the input rows (global step).

    keep: the split to keep. test_size, valid_size: shares of rows for test and valid.
    seed: the split's random seed. near_dup_threshold: Jaccard at which texts count as near
    duplicates and stay on one side (None: exact duplicates and groups only).
    """

    name = "take_split"
    kind = "global"

    def __init__(
        self,
        *,
        keep: str = "train",
        test_size: float = 0.2,
        valid_size: float = 0.0,
        seed: int = 0,
        near_dup_threshold: float | None = DEFAULT_NEAR_DUP_THRESHOLD,
    ) -> None:
        if keep not in SPLITS:
            raise bad_param(self.name, "keep", f"must be one of {', '.join(SPLITS)}, got {keep!r}")
        for pname, value in (("test_size", test_size), ("valid_size", valid_size)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
                raise bad_param(self.name, pname, f"must be a number in [0, 1), got {value!r}")
        self.keep = keep
        self.test_size = float(test_size)
        self.valid_size = float(valid_size)
        self.seed = int(seed)
        self.near_dup_threshold = near_dup_threshold
        self._roles: ColumnRoles | None = None
        self._drop: dict[str, str] = {}

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Remember the roles (text, label, group, split decide the split); needs row ids."""
        require_row_ids(self.name, schema, "to tell rows apart")
        self._roles = roles

    def fit(self, batches: Iterable[pa.RecordBatch]) -> None:
        """Split the whole input once; remember the ids of rows outside the kept split."""
        assert self._roles is not None
        collected = list(batches)
        if not collected:
            return
        table = pa.Table.from_batches(collected)
        if table.num_rows == 0:
            return
        idx = self._indices(table)
        keep_code = SPLITS.index(self.keep)
        ids = table.column(ROW_ID_COLUMN).cast(pa.string()).to_pylist()
        self._drop = {rid: SPLITS[code] for rid, code in zip(ids, idx.tolist(), strict=True) if code != keep_code}

    def _indices(self, table: pa.Table) -> np.ndarray:
        """Split code per row of the whole input (0 train, 1 valid, 2 test)."""
        assert self._roles is not None
        return split_indices(
            table, self._roles, test_size=self.test_size, valid_size=self.valid_size,
            seed=self.seed, near_dup_threshold=self.near_dup_threshold,
        )

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Mark rows of the other splits with ``"split: <their split>"``."""
        ids = batch.column(ROW_ID_COLUMN).cast(pa.string()).to_pylist()
        reasons = pa.array([f"split: {self._drop[i]}" if i in self._drop else None for i in ids], pa.string())
        return add_reasons(batch, reasons)


@register
class TakeLmSplit(TakeSplit):
    """Keep one split of a language-model corpus (global step; :mod:`datamoat.split.lm`).

    keep: ``train``, ``valid`` or ``test``. valid_size, test_size: shares of the text
    (contiguous rows) or of the documents. seed: the document split's seed. order: the column
    that orders contiguous rows (None: ``block``, else ``line``, else split by document).
    near_dup_threshold: as for ``take_split`` (documents only).
    """

    name = "take_lm_split"

    def __init__(
        self,
        *,
        keep: str = "train",
        valid_size: float = 0.1,
        test_size: float = 0.1,
        seed: int = 0,
        order: str | None = None,
        near_dup_threshold: float | None = DEFAULT_NEAR_DUP_THRESHOLD,
    ) -> None:
        super().__init__(keep=keep, test_size=test_size, valid_size=valid_size, seed=seed,
                         near_dup_threshold=near_dup_threshold)
        if order is not None and not (isinstance(order, str) and order):
            raise bad_param(self.name, "order", f"must be a column name or null, got {order!r}")
        self.order = order

    def _indices(self, table: pa.Table) -> np.ndarray:
        assert self._roles is not None
        return lm_split_indices(
            table, self._roles, valid_size=self.valid_size, test_size=self.test_size, seed=self.seed,
            order=self.order, near_dup_threshold=self.near_dup_threshold,
        )

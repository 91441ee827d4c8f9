"""``label_issues`` (global step): drop or relabel rows whose label is probably wrong.

``fit`` reads the whole input once (row ids, texts and labels; the model needs them all, so
memory is about the size of the text column plus its TF-IDF matrix), computes out-of-fold
probabilities and cleanlab's label issues with
:func:`datamoat.quality.label_issues.find_label_issues` (the same as the ``label_issues``
check), and keeps per judged row: flagged or not, the label quality score, the suggested
label and its probability, looked up by ``_dm_row_id`` in ``apply`` (row ids must be unique).

``action``:

* ``drop`` (default): flagged rows get reason ``"label issue"`` (one reason for all, so counts
  group; the likely label is in the ``_dm_suggested_label`` stats column kept with the row);
* ``relabel``: flagged rows whose suggested label has probability >= ``min_confidence``
  get the suggested label (same ``_dm_row_id``, so a version diff shows the change, and
  ``_dm_original_label`` keeps the old one); the other flagged rows are dropped with the
  reason above when ``unconfident: drop`` (default) or kept unchanged with ``keep``.

Rows with a missing or blank text or label are not judged and never touched. Stats columns:
``_dm_label_quality`` (float64, cleanlab's self-confidence; null when not judged) and
``_dm_suggested_label`` (string, only on flagged rows), plus ``_dm_original_label`` with
``action: relabel``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import StepError
from datamoat.pipeline.fit_hooks import TaskMap, local_tasks
from datamoat.pipeline.registry import register
from datamoat.pipeline.step import (
    add_reasons,
    bad_param,
    check_column_name,
    check_int,
    require_column,
    require_row_ids,
    set_column,
)
from datamoat.pipeline.text_step import TextColumnStep
from datamoat.quality.label_issues import FILTER_METHODS, find_label_issues, judged_mask

QUALITY_COLUMN = "_dm_label_quality"
SUGGESTED_COLUMN = "_dm_suggested_label"
ORIGINAL_COLUMN = "_dm_original_label"
ACTIONS: tuple[str, ...] = ("drop", "relabel")
UNCONFIDENT: tuple[str, ...] = ("drop", "keep")


LABEL_ISSUE_REASON = "label issue"
DEFAULT_FOLDS = 5
"""Folds of the finder's out-of-fold probabilities (capped by the largest class)."""
DEFAULT_MIN_CONFIDENCE = 0.9
"""With ``relabel``: the least probability of the suggested label."""


@register
class LabelIssuesStep(TextColumnStep):
    """Find label errors over the whole input; drop them or relabel the confident ones.

    text_column, label_column: default to the ``text`` and ``label`` roles.
    action: ``"drop"`` or ``"relabel"``.
    min_confidence: with ``relabel``, the least probability of the suggested label.
    unconfident: with ``relabel``, what to do with flagged rows below ``min_confidence``:
        ``"drop"`` or ``"keep"``.
    folds, seed, c, filter_by, n_jobs: see :mod:`datamoat.quality.label_issues`.
    """

    name = "label_issues"
    kind = "global"
    column_param = "text_column"

    def __init__(
        self,
        *,
        text_column: str | None = None,
        label_column: str | None = None,
        action: str = "drop",
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        unconfident: str = "drop",
        folds: int = DEFAULT_FOLDS,
        seed: int = 0,
        c: float = 0.5,
        filter_by: str = "prune_by_noise_rate",
        n_jobs: int = 1,
    ) -> None:
        super().__init__(column=text_column)
        self.label_column = check_column_name(self.name, "label_column", label_column)
        if action not in ACTIONS:
            raise bad_param(self.name, "action", f"must be one of {', '.join(ACTIONS)}, got {action!r}")
        if unconfident not in UNCONFIDENT:
            raise bad_param(
                self.name, "unconfident", f"must be one of {', '.join(UNCONFIDENT)}, got {unconfident!r}"
            )
        if (
            isinstance(min_confidence, bool)
            or not isinstance(min_confidence, int | float)
            or not 0 <= min_confidence <= 1
        ):
            raise bad_param(self.name, "min_confidence", f"must be between 0 and 1, got {min_confidence!r}")
        if filter_by not in FILTER_METHODS:
            raise bad_param(
                self.name, "filter_by", f"must be one of {', '.join(FILTER_METHODS)}, got {filter_by!r}"
            )
        if isinstance(c, bool) or not isinstance(c, int | float) or not c > 0:
            raise bad_param(self.name, "c", f"must be a positive number, got {c!r}")
        self.action = action
        self.min_confidence = float(min_confidence)
        self.unconfident = unconfident
        self.folds = check_int(self.name, "folds", folds, minimum=2, optional=False)
        self.seed = check_int(self.name, "seed", seed, optional=False)
        self.c = float(c)
        self.filter_by = filter_by
        self.n_jobs = check_int(self.name, "n_jobs", n_jobs, minimum=1, optional=False)
        self._label = ""
        self._label_type: pa.DataType = pa.string()
        self._index = pd.Index([], dtype=object)
        self._flagged = np.zeros(0, dtype=bool)
        self._quality = np.zeros(0)
        self._suggested = np.zeros(0, dtype=object)
        self._confidence = np.zeros(0)
        self.summary: dict[str, int] = {}

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the text and label columns; StepError if absent or no row id column."""
        super().bind(roles, schema)
        self._label = require_column(self.name, schema, self.label_column, roles, "label")
        self._label_type = schema.field(self._label).type
        if not (
            pa.types.is_string(self._label_type)
            or pa.types.is_large_string(self._label_type)
            or pa.types.is_integer(self._label_type)
            or pa.types.is_null(self._label_type)
        ):
            raise StepError(
                f"step {self.name!r}: label column {self._label!r} holds {self._label_type}; "
                "labels must be text or whole numbers."
            )
        require_row_ids(self.name, schema, "to match the judged rows")

    def fit(self, batches: Iterable[pa.RecordBatch]) -> None:
        """Train the out-of-fold model on all judged rows and find the label issues
        (the independent work in ``n_jobs`` joblib processes, or in this one for 1)."""
        self.fit_tasks(batches, local_tasks(self.n_jobs))

    def fit_tasks(self, batches: Iterable[pa.RecordBatch], tasks: TaskMap) -> None:
        """:meth:`fit` with ``tasks`` running the feature counting and the fold models
        (:class:`~datamoat.pipeline.fit_hooks.TaskFit`; the same result whichever map runs them)."""
        ids: list[str] = []
        texts: list[str] = []
        labels: list[str] = []
        for batch in batches:
            mask = judged_mask(batch.column(self._resolved), batch.column(self._label))
            if not mask.any():
                continue
            keep = pa.array(mask)
            ids.extend(batch.column(ROW_ID_COLUMN).filter(keep).cast(pa.string()).to_pylist())
            texts.extend(batch.column(self._resolved).filter(keep).cast(pa.string()).to_pylist())
            labels.extend(batch.column(self._label).filter(keep).cast(pa.string()).to_pylist())
        index = pd.Index(ids, dtype=object)
        if not index.is_unique:
            dup = index[index.duplicated()][0]
            raise StepError(f"step {self.name!r}: row id {dup!r} occurs twice; row ids must be unique.")
        n = len(ids)
        self._index = index
        self._flagged = np.zeros(n, dtype=bool)
        self._quality = np.full(n, np.nan)
        self._suggested = np.full(n, None, dtype=object)
        self._confidence = np.full(n, np.nan)
        if n >= 2 and len(set(labels)) >= 2:
            found = find_label_issues(
                texts,
                labels,
                filter_by=self.filter_by,
                folds=self.folds,
                seed=self.seed,
                c=self.c,
                tasks=tasks,
            )
            self._flagged = found.is_issue
            self._quality = found.quality
            self._suggested = np.array([str(found.classes[i]) for i in found.suggested], dtype=object)
            self._confidence = found.confidence
        confident = self._flagged & (self._confidence >= self.min_confidence)
        self.summary = {
            "judged": n,
            "flagged": int(self._flagged.sum()),
            "confident": int(confident.sum()),
        }

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Add the stats columns; drop or relabel the flagged rows per ``action``."""
        n = batch.num_rows
        if n and len(self._index):
            pos = self._index.get_indexer(batch.column(ROW_ID_COLUMN).cast(pa.string()).to_pylist())
        else:
            pos = np.full(n, -1, dtype=np.int64)
        known = pos >= 0
        safe = np.where(known, pos, 0)

        def take(values: np.ndarray, missing: object) -> np.ndarray:
            return np.where(known, values[safe], missing) if len(values) else np.full(n, missing)

        flagged = take(self._flagged, False).astype(bool)
        quality = take(self._quality, np.nan).astype(float)
        confidence = take(self._confidence, np.nan).astype(float)
        suggested = [s if f else None for s, f in zip(take(self._suggested, None), flagged, strict=True)]
        given = batch.column(self._label).cast(pa.string()).to_pylist()
        batch = set_column(batch, QUALITY_COLUMN, pa.array(quality, pa.float64(), from_pandas=True))
        batch = set_column(batch, SUGGESTED_COLUMN, pa.array(suggested, pa.string()))
        reasons: list[str | None] = [None] * n
        if self.action == "drop":
            for i in np.flatnonzero(flagged):
                reasons[i] = LABEL_ISSUE_REASON
            return add_reasons(batch, pa.array(reasons, pa.string()))
        relabel = flagged & (np.nan_to_num(confidence, nan=0.0) >= self.min_confidence)
        if self.unconfident == "drop":
            for i in np.flatnonzero(flagged & ~relabel):
                reasons[i] = LABEL_ISSUE_REASON
        original = [given[i] if relabel[i] else None for i in range(n)]
        labels = batch.column(self._label)
        if relabel.any():
            new = pa.array([suggested[i] if relabel[i] else None for i in range(n)], pa.string())
            if not pa.types.is_null(labels.type):
                new = new.cast(labels.type)
            labels = pc.if_else(pa.array(relabel), new, labels)
        batch = set_column(batch, self._label, labels)
        batch = set_column(batch, ORIGINAL_COLUMN, pa.array(original, pa.string()))
        return add_reasons(batch, pa.array(reasons, pa.string()))

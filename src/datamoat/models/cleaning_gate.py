"""Label cleaning must earn its place: the same model on raw vs label-cleaned training folds.

Dropping the rows cleanlab flags, or relabelling the confident ones, is a *candidate* in model
selection, not a given. For the best scored candidate, selection repeats its cross-validation
(:meth:`datamoat.models.select._Search.score` with a ``train_rows`` hook) with one change: in
each fold, the label issues of the fold's TRAINING part are found with the ``label_issues``
step's own finder and defaults (:func:`datamoat.quality.label_issues.find_label_issues`, the
step's judged rows and folds) and dropped or relabelled before fitting; the fold's validation
part is never touched. The finder runs once per fold (:class:`FoldFindings`) for both actions.
:func:`gate` keeps a cleaning only when its paired gain over the folds is positive and at least
one standard error of the per-fold differences (noise of a fold or two cannot switch it on).
Both figures are reported.

Text tasks only for now: tables have no finder yet, and selection says so in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from datamoat.clean.labels import DEFAULT_FOLDS, DEFAULT_MIN_CONFIDENCE
from datamoat.quality.label_issues import find_label_issues, judged_mask

if TYPE_CHECKING:
    import pandas as pd

    from datamoat.models.select import Candidate

CLEANING = "label_issues"
"""The recipe step a cleaned candidate's training rows went through."""
ACTIONS = {"drop": "label cleaning", "relabel": "relabelling"}
"""The step's actions tried as candidates, and how their candidates are named."""


@dataclass
class Findings:
    """The finder's verdict per row of one frame: flagged, suggested label, its probability."""

    flagged: np.ndarray
    suggested: np.ndarray
    confidence: np.ndarray


def find_issues(data: pd.DataFrame, text_column: str, label_column: str, seed: int = 0) -> Findings:
    """What the ``label_issues`` step (default parameters) would find in ``data``.

    Rows the step does not judge (blank text or missing label) are never flagged.
    """
    n = len(data)
    out = Findings(np.zeros(n, dtype=bool), np.full(n, None, dtype=object), np.zeros(n))
    judged = judged_mask(pa.array(data[text_column], from_pandas=True),
                         pa.array(data[label_column], from_pandas=True))
    rows = np.flatnonzero(judged)
    labels = data[label_column].to_numpy()[rows].astype(str)
    if len(rows) < 2 or len(set(labels)) < 2:
        return out
    found = find_label_issues(data[text_column].to_numpy()[rows].astype(str).tolist(), labels.tolist(),
                              folds=DEFAULT_FOLDS, seed=seed)
    out.flagged[rows] = found.is_issue
    out.suggested[rows] = np.array([str(c) for c in found.suggested_labels()], dtype=object)
    out.confidence[rows] = np.nan_to_num(found.confidence)
    return out


def cleaned_rows(part: pd.DataFrame, found: Findings, label_column: str, action: str) -> tuple[pd.DataFrame, int]:
    """``part`` with its flagged rows dropped (``drop``) or, with ``relabel``, the confident ones
    (probability >= the step's ``min_confidence``) relabelled and the rest dropped, as the
    ``label_issues`` step does. Returns the rows and how many were flagged."""
    if action == "drop":
        return part[~found.flagged], int(found.flagged.sum())
    relabel = found.flagged & (found.confidence >= DEFAULT_MIN_CONFIDENCE)
    out = part.copy()
    out.loc[relabel, label_column] = found.suggested[relabel]
    return out[~(found.flagged & ~relabel)], int(found.flagged.sum())


@dataclass
class FoldFindings:
    """The finder's result per fold index, computed once and shared by both actions."""

    text_column: str
    label_column: str
    seed: int
    by_fold: dict[int, Findings] = field(default_factory=dict)

    def rows(self, action: str, counts: list[int]) -> Callable[[int, pd.DataFrame], pd.DataFrame]:
        """A ``train_rows(fold, part)`` hook for ``_Search.score`` that cleans ``part`` with
        ``action``; each fold's number of flagged rows is appended to ``counts``."""

        def hook(fold: int, part: pd.DataFrame) -> pd.DataFrame:
            if fold not in self.by_fold:
                self.by_fold[fold] = find_issues(part, self.text_column, self.label_column, self.seed)
            rows, flagged = cleaned_rows(part, self.by_fold[fold], self.label_column, action)
            counts.append(flagged)
            return rows

        return hook


def gate(raw: Candidate, cleaned: Candidate) -> dict[str, Any]:
    """Keep the cleaning only if its paired per-fold gain is > 0 and >= its standard error.

    ``raw`` and ``cleaned`` are scored on the same folds. Returns ``{"step", "kept", "raw",
    "cleaned", "gain", "gain_se", "rule"}`` (means over the folds); a cleaned candidate that
    lost is marked ``rejected`` so selection cannot choose it.
    """
    out: dict[str, Any] = {"step": cleaned.cleaning or CLEANING, "kept": False, "raw": round(raw.mean, 5),
                           "rule": "kept when the mean paired gain over the folds is > 0 and at least one "
                                   "standard error of the per-fold differences"}
    if cleaned.status != "scored":
        out["cleaned"] = None
        out["reason"] = cleaned.reason
        return out
    if len(cleaned.scores) != len(raw.scores):
        raise ValueError(f"gate: {cleaned.name} and {raw.name} were not scored on the same folds")
    diffs = np.asarray(cleaned.scores) - np.asarray(raw.scores)
    gain = float(diffs.mean())
    se = float(diffs.std(ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else 0.0
    kept = gain > 0 and gain >= se
    out.update(kept=kept, cleaned=round(cleaned.mean, 5), gain=round(gain, 5), gain_se=round(se, 5))
    if not kept:
        cleaned.status = "rejected"
        cleaned.reason += f"; gain {gain:+.4f} (standard error {se:.4f}) does not pass the gate"
    return out

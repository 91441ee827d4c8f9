"""Label cleaning must earn its place: the same model on raw vs label-cleaned training folds.

Dropping the rows cleanlab flags, or relabelling the confident ones, is a *candidate* in model
selection, not a given. For the best
scored candidate, :func:`score_label_cleaning` repeats its cross-validation with one change: in
each fold, the label issues of the fold's TRAINING part are found (the same finder as the
``label_issues`` step: TF-IDF + linear SVM out-of-fold probabilities and cleanlab, with the same
defaults, :func:`datamoat.quality.label_issues.find_label_issues`) and dropped before fitting;
the fold's validation part is never touched. :func:`gate` keeps the cleaning only when its
paired gain over the folds is positive and at least one standard error of the per-fold
differences (noise of a fold or two cannot switch it on). Both figures are reported.

Text tasks only for now: tables have no finder yet, and the gate says so in the report.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from datamoat.errors import DatamoatError
from datamoat.quality.label_issues import find_label_issues

if TYPE_CHECKING:
    import pandas as pd

    from datamoat.models.select import Candidate, _Search

CLEANING = "label_issues"
"""The recipe step a cleaned candidate's training rows went through."""
ACTIONS = {"drop": "label cleaning", "relabel": "relabelling"}
"""The step's actions tried as candidates, and how their candidates are named."""
RELABEL_CONFIDENCE = 0.9
"""The ``label_issues`` step's default ``min_confidence`` for relabelling."""
FINDER_FOLDS = 5
"""Folds of the finder's own out-of-fold probabilities (the ``label_issues`` step's default)."""


def flag_label_issues(data: pd.DataFrame, text_column: str, label_column: str, seed: int = 0) -> np.ndarray:
    """Bool array (len(data),): rows the label-issue finder flags, as the ``label_issues`` step would.

    Rows with a blank text are never flagged (the step does not judge them).
    """
    return find_fold_issues(data, text_column, label_column, seed)[0]


def find_fold_issues(
    data: pd.DataFrame, text_column: str, label_column: str, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flagged bool, suggested label object, its probability float), each (len(data),).

    The same finder and defaults as the ``label_issues`` step; unjudged rows (blank text, or too
    little data for out-of-fold estimates) are not flagged.
    """
    texts = data[text_column].fillna("").astype(str)
    judged = texts.str.strip().ne("").to_numpy()
    n = len(data)
    flagged, suggested, confidence = np.zeros(n, dtype=bool), np.full(n, None, dtype=object), np.zeros(n)
    labels = data[label_column].astype(str).to_numpy()
    if judged.sum() < 2 or len(set(labels[judged])) < 2:
        return flagged, suggested, confidence
    counts = np.bincount(np.unique(labels[judged], return_inverse=True)[1])
    if counts.max() < 2:  # out-of-fold estimates need a class with two rows
        return flagged, suggested, confidence
    folds = max(2, min(FINDER_FOLDS, int(counts.min())))
    found = find_label_issues(texts[judged].tolist(), labels[judged].tolist(), folds=folds, seed=seed)
    rows = np.flatnonzero(judged)
    flagged[rows] = found.is_issue
    suggested[rows] = np.array([str(c) for c in found.suggested_labels()], dtype=object)
    confidence[rows] = found.confidence
    return flagged, suggested, confidence


def cleaned_part(part: pd.DataFrame, text_column: str, label_column: str, action: str, seed: int) -> tuple[pd.DataFrame, int]:
    """``part`` with its label issues dropped (``drop``) or, with ``relabel``, the confident ones
    (probability >= :data:`RELABEL_CONFIDENCE`) relabelled and the rest dropped, as the
    ``label_issues`` step does with its defaults. Returns the rows and how many were changed."""
    flagged, suggested, confidence = find_fold_issues(part, text_column, label_column, seed)
    if action == "drop":
        return part[~flagged], int(flagged.sum())
    relabel = flagged & (confidence >= RELABEL_CONFIDENCE)
    out = part.copy()
    out.loc[relabel, label_column] = suggested[relabel]
    return out[~(flagged & ~relabel)], int(flagged.sum())


def score_label_cleaning(s: _Search, base: Candidate, text_column: str, candidate_cls: type[Candidate],
                         action: str = "drop") -> Candidate:
    """``base`` re-scored with label issues dropped (or relabelled) in each fold's training part only.

    Returns a new candidate named ``"<base> + label cleaning"`` / ``"+ relabelling"`` (status
    ``scored``, ``failed`` or ``skipped`` when its estimate does not fit the deadline), whose
    ``cleaning`` is ``label_issues:<action>``, with ``oof_proba`` over the untouched validation
    rows, so its scores pair with ``base``'s.
    """
    cand = candidate_cls(name=f"{base.name} + {ACTIONS[action]}", kind=base.kind, params=dict(base.params))
    cand.cleaning = f"{CLEANING}:{action}"
    # about base's cost again plus the finder's (a few TF-IDF SVM fits per fold)
    if not s.deadline.fits(base.seconds * 2 + s.refit_estimate(base)):
        cand.status = "skipped"
        cand.reason = (f"estimated {base.seconds * 2:.0f} s, more than the {max(s.left(), 0):.0f} s left "
                       "of the budget")
        return cand
    t0 = time.perf_counter()
    oof = np.zeros((len(s.data), len(s.classes)))
    col = {c: i for i, c in enumerate(s.classes)}
    dropped = []
    try:
        for train_idx, test_idx in s.folds:
            rows, changed = cleaned_part(s.data.iloc[train_idx], text_column, s.label_column, action, s.seed)
            dropped.append(changed)
            trainer = s.make(cand.kind, cand.params).fit(rows)
            proba = trainer.predict_proba(s.data.iloc[test_idx])
            oof[np.ix_(test_idx, [col[c] for c in trainer.classes_])] = proba
    except DatamoatError as exc:
        cand.status, cand.reason = "failed", str(exc)
        cand.seconds = time.perf_counter() - t0
        return cand
    cand.oof_proba = oof
    from datamoat.models.select import _oof_scores

    cand.scores = _oof_scores(oof, s.y, s.classes, s.folds, s.metric)
    cand.status = "scored"
    cand.seconds = time.perf_counter() - t0
    done = "dropped" if action == "drop" else "relabelled (confident) or dropped"
    cand.reason = f"label issues {done} in each fold's training rows: {', '.join(map(str, dropped))}"
    return cand


def gate(raw: Candidate, cleaned: Candidate) -> dict[str, Any]:
    """Keep the cleaning only if its paired per-fold gain is > 0 and >= its standard error.

    Returns ``{"kept", "raw", "cleaned", "gain", "gain_se", "rule"}`` (means over the folds);
    a cleaned candidate that lost is marked ``rejected`` so selection cannot choose it.
    """
    out: dict[str, Any] = {"step": cleaned.cleaning or CLEANING, "kept": False, "raw": round(raw.mean, 5),
                           "rule": "kept when the mean paired gain over the folds is > 0 and at least one "
                                   "standard error of the per-fold differences"}
    if cleaned.status != "scored":
        out["cleaned"] = None
        out["reason"] = cleaned.reason
        return out
    diffs = np.asarray(cleaned.scores) - np.asarray(raw.scores)
    gain = float(diffs.mean())
    se = float(diffs.std(ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else 0.0
    kept = gain > 0 and gain >= se
    out.update(kept=kept, cleaned=round(cleaned.mean, 5), gain=round(gain, 5), gain_se=round(se, 5))
    if not kept:
        cleaned.status = "rejected"
        cleaned.reason += f"; gain {gain:+.4f} (standard error {se:.4f}) does not pass the gate"
    return out

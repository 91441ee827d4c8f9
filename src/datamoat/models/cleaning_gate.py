"""Label cleaning must earn its place: the same model on raw vs label-cleaned training folds.

Dropping the rows cleanlab flags is a *candidate* in model selection, not a given. For the best
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
"""The cleaning a ``+ label cleaning`` candidate applies (the name of the recipe step)."""
FINDER_FOLDS = 5
"""Folds of the finder's own out-of-fold probabilities (the ``label_issues`` step's default)."""


def flag_label_issues(data: pd.DataFrame, text_column: str, label_column: str, seed: int = 0) -> np.ndarray:
    """Bool array (len(data),): rows the label-issue finder flags, as the ``label_issues`` step would.

    Rows with a blank text are never flagged (the step does not judge them).
    """
    texts = data[text_column].fillna("").astype(str)
    judged = texts.str.strip().ne("").to_numpy()
    flagged = np.zeros(len(data), dtype=bool)
    labels = data[label_column].astype(str).to_numpy()
    if judged.sum() < 2 or len(set(labels[judged])) < 2:
        return flagged
    folds = max(2, min(FINDER_FOLDS, int(np.bincount(np.unique(labels[judged], return_inverse=True)[1]).min())))
    found = find_label_issues(texts[judged].tolist(), labels[judged].tolist(), folds=folds, seed=seed)
    flagged[np.flatnonzero(judged)] = found.is_issue
    return flagged


def score_label_cleaning(s: _Search, base: Candidate, text_column: str, candidate_cls: type[Candidate]) -> Candidate:
    """``base`` re-scored with label issues dropped from each fold's training part only.

    Returns a new candidate named ``"<base> + label cleaning"`` (status ``scored``, ``failed``
    or ``skipped`` when its estimate does not fit the deadline), with ``oof_proba`` over the
    untouched validation rows, so its scores pair with ``base``'s.
    """
    cand = candidate_cls(name=f"{base.name} + label cleaning", kind=base.kind, params=dict(base.params))
    cand.cleaning = CLEANING
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
            part = s.data.iloc[train_idx]
            flagged = flag_label_issues(part, text_column, s.label_column, seed=s.seed)
            dropped.append(int(flagged.sum()))
            trainer = s.make(cand.kind, cand.params).fit(part[~flagged])
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
    cand.reason = f"label issues dropped from each fold's training rows: {', '.join(map(str, dropped))}"
    return cand


def gate(raw: Candidate, cleaned: Candidate) -> dict[str, Any]:
    """Keep the cleaning only if its paired per-fold gain is > 0 and >= its standard error.

    Returns ``{"kept", "raw", "cleaned", "gain", "gain_se", "rule"}`` (means over the folds);
    a cleaned candidate that lost is marked ``rejected`` so selection cannot choose it.
    """
    out: dict[str, Any] = {"step": CLEANING, "kept": False, "raw": round(raw.mean, 5),
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

"""Ranking metrics and curves from probabilities: ROC AUC, average precision, ROC and PR curves.

The label metrics (accuracy, macro F1, balanced accuracy) judge the arg-max; these judge how
well the probabilities rank the rows, which is what matters when a team sets its own threshold
on an imbalanced label. Binary tasks take the *positive* class to be the rarer one in the
training labels (:func:`rarer_class`; without a ``positive``, the rarer one in the labels given:
fraud, churn, "yes"); multi-class tasks average one-vs-rest scores over the classes present in
``y_true`` (macro).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

PROBA_METRICS = ("roc_auc", "average_precision")
"""Metrics computed from probabilities rather than from the predicted labels."""
MAX_CURVE_POINTS = 200


def proba_metric(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str], metric: str,
                 positive: str | None = None) -> float:
    """``roc_auc`` or ``average_precision`` of ``proba`` (n, len(classes)) against ``y_true``.

    positive: the positive class of a binary task (default: the rarer class of ``y_true``).
    NaN when ``y_true`` holds fewer than two classes (nothing to rank).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y_true, dtype=object).astype(str)
    classes = [str(c) for c in classes]
    present = [c for c in classes if (y == c).any()]
    if len(present) < 2:
        return float("nan")
    score = roc_auc_score if metric == "roc_auc" else average_precision_score
    if len(classes) == 2:
        pos = positive if positive in classes else rarer_class(y, classes)
        return float(score(y == pos, proba[:, classes.index(pos)]))
    return float(np.mean([score(y == c, proba[:, classes.index(c)]) for c in present]))


def binary_curves(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str],
                  positive: str | None = None) -> dict[str, Any] | None:
    """ROC and precision-recall curves of a binary task (None for other tasks).

    Returns ``{"positive", "roc": {"fpr", "tpr"}, "pr": {"precision", "recall", "prevalence"}}``;
    each curve is thinned to at most :data:`MAX_CURVE_POINTS` points (the areas are
    :func:`proba_metric`'s, which the evaluation adds).
    """
    from sklearn.metrics import precision_recall_curve, roc_curve

    classes = [str(c) for c in classes]
    y = np.asarray(y_true, dtype=object).astype(str)
    if len(classes) != 2 or len(set(y) & set(classes)) < 2:
        return None
    pos = positive if positive in classes else rarer_class(y, classes)
    target, score = y == pos, proba[:, classes.index(pos)]
    fpr, tpr, _ = roc_curve(target, score)
    precision, recall, _ = precision_recall_curve(target, score)
    return {
        "positive": pos,
        "roc": {"fpr": _thin(fpr), "tpr": _thin(tpr)},
        "pr": {"precision": _thin(precision), "recall": _thin(recall), "prevalence": round(float(target.mean()), 5)},
    }


def rarer_class(y: np.ndarray, classes: Sequence[str]) -> str:
    """The least frequent of ``classes`` in ``y`` (ties: the first by name): a binary task's
    positive class. Pass the TRAINING labels so selection and evaluation agree."""
    y = np.asarray(y, dtype=object).astype(str)
    return min((int((y == c).sum()), c) for c in map(str, classes))[1]


def _thin(values: np.ndarray) -> list[float]:
    if len(values) > MAX_CURVE_POINTS:
        values = values[np.linspace(0, len(values) - 1, MAX_CURVE_POINTS).round().astype(int)]
    return [round(float(v), 5) for v in values]

"""Classification metrics for evaluating a trained model: report, bootstrap intervals, slices, CV summary.

All functions are pure: they take array-likes of labels (anything ``numpy.asarray`` accepts; labels may
be ints, strings or bools) and return plain Python values (``float``, ``int``, ``str``, ``list``,
``dict``), so every result can be passed straight to ``json.dumps``.

Metric values are fractions in ``[0, 1]`` (not percentages).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

METRICS = ("accuracy", "macro_f1", "balanced_accuracy")

# Upper bound on the number of resampled index entries held in memory at once (int64: 8 bytes each).
_MAX_CHUNK_CELLS = 2_000_000


# --------------------------------------------------------------------------------------------- helpers


def _py(value: Any) -> Any:
    """Convert a numpy scalar to the matching Python scalar (JSON-ready); leave others alone."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _as_label_array(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of labels, got an array of shape {arr.shape}.")
    return arr


def _check_paired(y_true: Any, *preds: tuple[str, Any]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Validate that ``y_true`` and each named prediction array are 1-D, non-empty and equally long."""
    yt = _as_label_array(y_true, "y_true")
    if yt.size == 0:
        raise ValueError("y_true is empty: at least one labelled row is needed to compute a metric.")
    out = []
    for name, values in preds:
        arr = _as_label_array(values, name)
        if arr.shape[0] != yt.shape[0]:
            raise ValueError(f"{name} has {arr.shape[0]} rows but y_true has {yt.shape[0]}; they must match.")
        out.append(arr)
    return yt, out


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}.")


def _sorted_union(*arrays: np.ndarray) -> list[Any]:
    """Sorted union of the labels in ``arrays``, as Python scalars (mixed types sort by their text)."""
    values = {_py(v) for arr in arrays for v in arr.tolist()}
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=lambda v: (type(v).__name__, str(v)))


def _encode(*arrays: np.ndarray) -> tuple[list[np.ndarray], int]:
    """Map labels shared by ``arrays`` to integer codes ``0..k-1``; returns the coded arrays and ``k``."""
    joined = np.concatenate([np.asarray(a, dtype=object) for a in arrays])
    codes, uniques = pd.factorize(joined, use_na_sentinel=False)
    out = []
    start = 0
    for a in arrays:
        out.append(codes[start : start + len(a)].astype(np.int64))
        start += len(a)
    return out, len(uniques)


def _macro_f1_from_codes(true_codes: np.ndarray, pred_codes: np.ndarray, k: int) -> np.ndarray:
    """Macro-F1 of each row of 2-D code arrays of shape ``(m, n)``; returns shape ``(m,)``.

    Matches ``sklearn.metrics.f1_score(average="macro", zero_division=0)`` on each row: classes
    that appear neither in the row's true nor predicted labels are left out of the average, and a
    class's F1 is ``2*TP / (n_true + n_pred)`` (0 when it is never predicted correctly).
    """
    m = true_codes.shape[0]
    offset = (np.arange(m, dtype=np.int64) * k)[:, None]
    size = m * k
    n_true = np.bincount((true_codes + offset).ravel(), minlength=size).reshape(m, k)
    n_pred = np.bincount((pred_codes + offset).ravel(), minlength=size).reshape(m, k)
    correct = (true_codes == pred_codes).ravel().astype(np.float64)
    tp = np.bincount((true_codes + offset).ravel(), weights=correct, minlength=size).reshape(m, k)
    denom = n_true + n_pred
    present = denom > 0
    f1 = np.divide(2.0 * tp, denom, out=np.zeros_like(tp), where=present)
    return f1.sum(axis=1) / present.sum(axis=1)


def _metric_rows(true_codes: np.ndarray, pred_codes: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Metric for each row of 2-D code arrays ``(m, n)`` (one row per resample)."""
    if metric == "accuracy":
        return (true_codes == pred_codes).mean(axis=1)
    if metric == "balanced_accuracy":
        return _balanced_accuracy_from_codes(true_codes, pred_codes, k)
    return _macro_f1_from_codes(true_codes, pred_codes, k)


def _balanced_accuracy_from_codes(true_codes: np.ndarray, pred_codes: np.ndarray, k: int) -> np.ndarray:
    """Mean recall over the classes present in each row's true labels (sklearn's balanced_accuracy)."""
    m = true_codes.shape[0]
    offset = (np.arange(m, dtype=np.int64) * k)[:, None]
    n_true = np.bincount((true_codes + offset).ravel(), minlength=m * k).reshape(m, k)
    correct = (true_codes == pred_codes).ravel().astype(np.float64)
    tp = np.bincount((true_codes + offset).ravel(), weights=correct, minlength=m * k).reshape(m, k)
    present = n_true > 0
    recall = np.divide(tp, n_true, out=np.zeros_like(tp), where=present)
    return recall.sum(axis=1) / present.sum(axis=1)


def _resampled_metrics(
    y_true: np.ndarray,
    preds: Sequence[np.ndarray],
    metric: str,
    n_boot: int,
    seed: int | None,
) -> np.ndarray:
    """Metric of each prediction array on ``n_boot`` bootstrap resamples of the rows.

    The same resampled row indices are used for every prediction array (a *paired* bootstrap).
    Indices are drawn as an ``(chunk, n)`` array, in chunks of at most ``_MAX_CHUNK_CELLS`` cells,
    so memory stays bounded for large ``n`` or ``n_boot``. Returns shape ``(n_boot, len(preds))``.
    """
    if not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}.")
    codes, k = _encode(y_true, *preds)
    true_codes, pred_codes = codes[0], codes[1:]
    n = true_codes.shape[0]
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _MAX_CHUNK_CELLS // n))
    out = np.empty((n_boot, len(preds)), dtype=np.float64)
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(m, n))
        t = true_codes[idx]
        for j, p in enumerate(pred_codes):
            out[start : start + m, j] = _metric_rows(t, p[idx], k, metric)
    return out


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha!r}.")


# ------------------------------------------------------------------------------------------ public API


def metric_value(y_true: Any, y_pred: Any, metric: str = "accuracy") -> float:
    """One metric on the full sample.

    Parameters
    ----------
    y_true, y_pred:
        1-D label sequences of the same, non-zero length.
    metric:
        ``"accuracy"`` (fraction of rows predicted correctly), ``"macro_f1"`` (unweighted mean of
        per-class F1 over the classes present in ``y_true`` or ``y_pred``; a class never predicted
        correctly scores 0) or ``"balanced_accuracy"`` (mean recall over the classes in ``y_true``).

    Returns
    -------
    float in ``[0, 1]``.
    """
    _check_metric(metric)
    yt, (yp,) = _check_paired(y_true, ("y_pred", y_pred))
    (tc, pc), k = _encode(yt, yp)
    return float(_metric_rows(tc[None, :], pc[None, :], k, metric)[0])


def classification_report(y_true: Any, y_pred: Any, labels: Sequence[Any] | None = None) -> dict[str, Any]:
    """Accuracy, macro/weighted precision-recall-F1, a per-class table and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred:
        1-D label sequences of the same, non-zero length.
    labels:
        Class order for the per-class table and the confusion matrix. Default: the sorted union of
        the labels found in ``y_true`` and ``y_pred``. Macro and weighted averages are taken over
        these labels; a class with no predictions (or no true rows) gets precision (or recall) 0.

    Returns
    -------
    dict (JSON-ready)::

        {
          "n": int,                      # number of rows
          "labels": [label, ...],        # class order used below
          "accuracy": float,             # fraction of rows with y_pred == y_true (over all rows)
          "macro":    {"precision", "recall", "f1"},   # unweighted mean over labels
          "weighted": {"precision", "recall", "f1"},   # mean weighted by support
          "per_class": [{"label", "precision", "recall", "f1", "support"}, ...],  # in label order
          "confusion_matrix": [[int, ...], ...],  # rows = true label, columns = predicted label
        }

    All metric values are fractions in ``[0, 1]``; ``support`` is the count of true rows per class.
    """
    yt, (yp,) = _check_paired(y_true, ("y_pred", y_pred))
    if labels is None:
        label_list = _sorted_union(yt, yp)
    else:
        label_list = [_py(v) for v in labels]
        if not label_list:
            raise ValueError("labels is empty: give at least one class label, or leave it as None.")
        if len(set(label_list)) != len(label_list):
            raise ValueError("labels contains duplicates; each class must appear once.")
    p, r, f, s = precision_recall_fscore_support(yt, yp, labels=label_list, average=None, zero_division=0)
    cm = confusion_matrix(yt, yp, labels=label_list)
    total_support = float(s.sum())

    def _avg(values: np.ndarray, weighted: bool) -> float:
        if not weighted:
            return float(np.mean(values))
        return float(np.dot(values, s) / total_support) if total_support > 0 else 0.0

    return {
        "n": int(yt.shape[0]),
        "labels": label_list,
        "accuracy": float(np.mean(yt == yp)),
        "macro": {"precision": _avg(p, False), "recall": _avg(r, False), "f1": _avg(f, False)},
        "weighted": {"precision": _avg(p, True), "recall": _avg(r, True), "f1": _avg(f, True)},
        "per_class": [
            {
                "label": lab,
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i, lab in enumerate(label_list)
        ],
        "confusion_matrix": cm.astype(int).tolist(),
    }


def bootstrap_ci(
    y_true: Any,
    y_pred: Any,
    metric: str = "accuracy",
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int | None = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval for a metric, resampling rows with replacement.

    Parameters
    ----------
    y_true, y_pred:
        1-D label sequences of the same, non-zero length.
    metric:
        ``"accuracy"`` or ``"macro_f1"`` (see :func:`metric_value`).
    n_boot:
        Number of bootstrap resamples (each of ``n`` rows).
    alpha:
        Two-sided miss rate: the interval covers the central ``1 - alpha`` of the bootstrap
        distribution (``alpha=0.05`` gives a 95% interval).
    seed:
        Seed for ``numpy.random.default_rng``; the same seed gives the same interval.

    Returns
    -------
    ``(lo, hi)``: the ``alpha/2`` and ``1 - alpha/2`` quantiles of the resampled metric, as fractions.
    """
    _check_metric(metric)
    _check_alpha(alpha)
    yt, (yp,) = _check_paired(y_true, ("y_pred", y_pred))
    stats = _resampled_metrics(yt, [yp], metric, n_boot, seed)[:, 0]
    lo, hi = np.quantile(stats, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


def slice_metrics(y_true: Any, y_pred: Any, slice_values: Any) -> dict[Any, dict[str, Any]]:
    """Accuracy and macro-F1 within each slice defined by a metadata column.

    Parameters
    ----------
    y_true, y_pred:
        1-D label sequences of the same, non-zero length.
    slice_values:
        1-D sequence of the same length giving each row's slice (e.g. a ``source`` or ``language``
        column). Missing values (``None``/``NaN``) form their own slice, keyed ``None``.

    Returns
    -------
    ``{slice_value: {"n": int, "accuracy": float, "macro_f1": float}}`` in order of first
    appearance; keys are Python scalars (convert them with ``str`` if JSON keys are needed).
    """
    yt, (yp, sv) = _check_paired(y_true, ("y_pred", y_pred), ("slice_values", slice_values))
    codes, uniques = pd.factorize(pd.Series(sv, dtype=object), use_na_sentinel=False)
    out: dict[Any, dict[str, Any]] = {}
    for code, value in enumerate(uniques):
        mask = codes == code
        key = None if pd.isna(value) else _py(value)
        out[key] = {
            "n": int(mask.sum()),
            "accuracy": metric_value(yt[mask], yp[mask], "accuracy"),
            "macro_f1": metric_value(yt[mask], yp[mask], "macro_f1"),
        }
    return out


def cross_val_summary(scores: Iterable[float]) -> dict[str, Any]:
    """Summarise per-fold cross-validation scores.

    Parameters
    ----------
    scores:
        One finite score per fold (any metric, in its own units).

    Returns
    -------
    ``{"mean": float, "std": float, "folds": [float, ...]}`` where ``std`` is the sample standard
    deviation (``ddof=1``) across folds, and 0.0 when there is a single fold.
    """
    arr = np.asarray(list(scores), dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("scores is empty: give one score per cross-validation fold.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("scores contains NaN or infinite values; every fold needs a finite score.")
    std = float(np.std(arr, ddof=1)) if arr.size > 1 else 0.0
    return {"mean": float(np.mean(arr)), "std": std, "folds": [float(v) for v in arr]}

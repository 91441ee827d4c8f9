"""Evaluate a fitted classifier on a frozen test set, cross-validate it, and draw its learning curve.

:func:`evaluate_predictions` turns true labels and predicted probabilities into one JSON-ready
dict (headline metrics with bootstrap intervals, per-class table, confusion matrix, calibration,
slices); :func:`evaluate_model` runs a trainer on a test table first. :func:`cross_validate`
and :func:`learning_curve` refit fresh trainers from a factory.

Labels are strings everywhere (as in :mod:`datamoat.models.trainers.contract`). A test label the model
never saw in training is no error: its rows can only be predicted wrong, and they are counted in
``"unseen_labels"``. All metric values are fractions in ``[0, 1]``; times are seconds.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from datamoat.errors import DatamoatError
from datamoat.models.evaluation.calibration import reliability_data
from datamoat.models.evaluation.curves import PROBA_METRICS, binary_curves, proba_metric
from datamoat.models.evaluation.metrics import (
    METRICS,
    bootstrap_ci,
    classification_report,
    cross_val_summary,
    metric_value,
    slice_metrics,
)
from datamoat.models.trainers.contract import Trainer, as_frame, label_strings, require_columns

UNSEEN_POLICIES = ("count", "drop", "error")
TOP_CONFUSIONS = 25
"""How many of the most frequent (true, predicted) error pairs ``top_confusions`` lists."""
MISSING_SLICE = "(missing)"
"""Slice key of rows whose slice value is missing."""


# ------------------------------------------------------------------------------------ helpers
def _labels_as_strings(y: Sequence[Any], what: str) -> np.ndarray:
    values = pd.Series(list(y), dtype=object)
    missing = values.isna()
    if missing.any():
        raise DatamoatError(f"{what}: {int(missing.sum())} of {len(values)} true labels are missing.")
    return values.astype(str).to_numpy(dtype=object)


def _check_proba(proba: Any, n: int, classes: list[str]) -> np.ndarray:
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape != (n, len(classes)):
        raise DatamoatError(
            f"evaluation: probabilities have shape {p.shape}, expected ({n}, {len(classes)}) "
            "(one row per label, one column per class)."
        )
    if not np.all(np.isfinite(p)) or p.min() < 0.0 or p.max() > 1.0 + 1e-9:
        raise DatamoatError("evaluation: probabilities must be finite numbers between 0 and 1.")
    return np.clip(p, 0.0, 1.0)


def _top_confusions(labels: list[str], matrix: list[list[int]], limit: int = TOP_CONFUSIONS) -> list[dict]:
    """The most frequent off-diagonal cells: ``[{"true", "predicted", "count", "share"}]``.

    ``share`` is the fraction of the true label's rows that went to ``predicted``.
    """
    cm = np.asarray(matrix, dtype=np.int64)
    if cm.size == 0:
        return []
    off = cm.copy()
    np.fill_diagonal(off, 0)
    rows, cols = np.nonzero(off)
    order = sorted(zip(rows.tolist(), cols.tolist(), strict=True), key=lambda rc: (-off[rc], rc))
    support = cm.sum(axis=1)
    return [
        {
            "true": labels[r],
            "predicted": labels[c],
            "count": int(off[r, c]),
            "share": float(off[r, c] / support[r]) if support[r] else 0.0,
        }
        for r, c in order[:limit]
    ]


def _slices(
    y_true: np.ndarray, y_pred: np.ndarray, slices: Mapping[str, Sequence[Any]], keep: np.ndarray
) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for column, values in slices.items():
        vals = pd.Series(list(values), dtype=object)
        if len(vals) != len(keep):
            raise DatamoatError(
                f"evaluation: slice {column!r} has {len(vals)} values but there are {len(keep)} labels."
            )
        # stringify first so that 1 and "1" cannot collide as JSON keys
        keys = np.where(vals.isna().to_numpy(), MISSING_SLICE, vals.astype(str).to_numpy(dtype=object))
        stats = slice_metrics(y_true, y_pred, keys[keep])
        ordered = sorted(stats.items(), key=lambda kv: (-kv[1]["n"], str(kv[0])))
        out[str(column)] = {
            str(k): {"rows": v["n"], "accuracy": v["accuracy"], "macro_f1": v["macro_f1"]} for k, v in ordered
        }
    return out


# ------------------------------------------------------------------------------------ public API
def evaluate_predictions(
    y_true: Sequence[str],
    proba: np.ndarray,
    classes: Sequence[str],
    *,
    slices: Mapping[str, Sequence[Any]] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    unseen_labels: str = "count",
    positive: str | None = None,
) -> dict[str, Any]:
    """Every evaluation figure for one model on one labelled sample.

    Parameters
    ----------
    y_true:
        The true labels (converted with ``str``), one per row; none may be missing.
    proba:
        Predicted probabilities, shape ``(n, len(classes))``, columns in ``classes`` order. The
        prediction is the arg-max class.
    classes:
        The model's classes (its ``classes_``).
    slices:
        Optional ``{column name: values}``, one value per row (e.g. a ``source`` column); each
        distinct value gets its own accuracy / macro-F1.
    n_boot, seed:
        Resamples and seed of the percentile bootstrap behind the 95% intervals.
    unseen_labels:
        What to do with rows whose true label is not in ``classes``: ``"count"`` (default: keep
        them; they are errors), ``"drop"`` (leave them out of every figure) or ``"error"``
        (raise DatamoatError). Their counts are reported in every case but ``"error"``.

    positive:
        The positive class of a binary task for ROC / precision-recall (default: the rarer class
        in ``y_true``).

    Returns
    -------
    A JSON-ready dict::

        {"rows": int,                              # rows scored
         "accuracy", "macro_precision", "macro_recall", "macro_f1",
         "weighted_precision", "weighted_recall", "weighted_f1": float,
         "accuracy_ci", "macro_f1_ci": [lo, hi],   # bootstrap 95% (n_boot resamples)
         "per_class": [{"label", "precision", "recall", "f1", "support"}, ...],
         "confusion": {"labels": [...], "matrix": [[int]]},   # rows true, columns predicted
         "top_confusions": [{"true", "predicted", "count", "share"}, ...],
         "balanced_accuracy", "roc_auc", "average_precision": float (None without two classes),
         "curves": {...} | None,                   # binary: ROC and PR (curves.binary_curves)
         "ece": float, "reliability": {...},       # see calibration.reliability_data
         "slices": {column: {value: {"rows", "accuracy", "macro_f1"}}},
         "unseen_labels": {label: rows}, "unseen_policy": str,
         "classes": [...], "n_boot": int, "seed": int}

    Averages and tables cover the labels that occur in ``y_true`` or in the predictions (as
    ``sklearn.metrics`` does by default): a model class absent from the sample and never
    predicted is left out rather than scored 0. Unseen true labels are in the tables with
    recall 0.
    """
    if unseen_labels not in UNSEEN_POLICIES:
        raise DatamoatError(
            f"evaluation: unseen_labels={unseen_labels!r} is not allowed; choose one of "
            f"{', '.join(map(repr, UNSEEN_POLICIES))}."
        )
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise DatamoatError(
            f"evaluation: n_boot={n_boot!r} must be a positive integer (bootstrap resamples)."
        )
    class_list = [str(c) for c in classes]
    if not class_list or len(set(class_list)) != len(class_list):
        raise DatamoatError("evaluation: classes must be a non-empty list of distinct labels.")
    yt = _labels_as_strings(y_true, "evaluation")
    if len(yt) == 0:
        raise DatamoatError("evaluation: there are no labelled rows to evaluate.")
    p = _check_proba(proba, len(yt), class_list)

    known = set(class_list)
    seen_mask = np.array([v in known for v in yt], dtype=bool)
    unseen_counts = pd.Series(yt[~seen_mask]).value_counts()
    unseen = {str(k): int(v) for k, v in sorted(unseen_counts.items())}
    if unseen and unseen_labels == "error":
        names = ", ".join(repr(k) for k in list(unseen)[:10])
        raise DatamoatError(
            f"evaluation: {len(yt) - int(seen_mask.sum())} rows have labels the model never saw: {names}."
        )
    keep = seen_mask if unseen_labels == "drop" else np.ones(len(yt), dtype=bool)
    if not keep.any():
        raise DatamoatError(
            "evaluation: every row has a label the model never saw; nothing is left to score."
        )
    yt_k, p_k = yt[keep], p[keep]
    pred_idx = p_k.argmax(axis=1)
    y_pred = np.asarray(class_list, dtype=object)[pred_idx]

    present = set(yt_k) | set(y_pred)
    order = [c for c in class_list if c in present] + sorted(present - known)
    report = classification_report(yt_k, y_pred, labels=order)

    # reliability only needs whether the arg-max is right; an unseen label is always wrong, so it
    # gets a class index other than the prediction (its true column does not exist)
    index = {c: i for i, c in enumerate(class_list)}
    k = len(class_list)
    y_idx = np.array(
        [index[v] if v in index else (j + 1) % k for v, j in zip(yt_k, pred_idx, strict=True)], dtype=np.int64
    )
    if k == 1:  # pragma: no cover - a one-class model cannot exist (fit refuses it)
        y_idx[:] = 0
    reliability = reliability_data(p_k, y_idx)

    acc_ci = bootstrap_ci(yt_k, y_pred, "accuracy", n_boot=n_boot, seed=seed)
    f1_ci = bootstrap_ci(yt_k, y_pred, "macro_f1", n_boot=n_boot, seed=seed)
    ranking = {m: _finite(proba_metric(yt_k, p_k, class_list, m, positive)) for m in PROBA_METRICS}
    return {
        "balanced_accuracy": metric_value(yt_k, y_pred, "balanced_accuracy"),
        **ranking,
        "curves": _with_areas(binary_curves(yt_k, p_k, class_list, positive), ranking),
        "rows": int(len(yt_k)),
        "accuracy": report["accuracy"],
        "macro_precision": report["macro"]["precision"],
        "macro_recall": report["macro"]["recall"],
        "macro_f1": report["macro"]["f1"],
        "weighted_precision": report["weighted"]["precision"],
        "weighted_recall": report["weighted"]["recall"],
        "weighted_f1": report["weighted"]["f1"],
        "accuracy_ci": [acc_ci[0], acc_ci[1]],
        "macro_f1_ci": [f1_ci[0], f1_ci[1]],
        "per_class": report["per_class"],
        "confusion": {"labels": report["labels"], "matrix": report["confusion_matrix"]},
        "top_confusions": _top_confusions(report["labels"], report["confusion_matrix"]),
        "ece": reliability["ece"],
        "reliability": reliability,
        "slices": _slices(yt_k, y_pred, slices, keep) if slices else {},
        "unseen_labels": unseen,
        "unseen_policy": unseen_labels,
        "classes": class_list,
        "n_boot": int(n_boot),
        "seed": int(seed),
    }


def _with_areas(curves: dict[str, Any] | None, ranking: dict[str, Any]) -> dict[str, Any] | None:
    """The curves with their areas (ROC AUC, average precision) from the figures already computed."""
    if curves is not None:
        curves["roc"]["auc"], curves["pr"]["ap"] = ranking["roc_auc"], ranking["average_precision"]
    return curves


def _finite(value: float) -> float | None:
    return round(value, 5) if np.isfinite(value) else None


def evaluate_model(
    trainer: Trainer,
    test: pd.DataFrame,
    *,
    slice_columns: Sequence[str] = (),
    n_boot: int = 1000,
    seed: int = 0,
    positive: str | None = None,
) -> dict[str, Any]:
    """Predict ``test`` with a fitted ``trainer`` and evaluate it (see :func:`evaluate_predictions`).

    ``test`` must hold the trainer's features and its label column; ``slice_columns`` name
    columns of ``test`` to break the metrics down by; ``positive``: a binary task's positive
    class (pass the rarer TRAINING class, :func:`~datamoat.models.evaluation.curves.rarer_class`). Adds ``"trainer": {"kind",
    "label_column"}`` and ``"predict_seconds"`` (wall time of ``predict_proba``) to the result.
    """
    df = as_frame(test, "test data")
    if len(df) == 0:
        raise DatamoatError("test data has no rows.")
    require_columns(df, [trainer.label_column], "test data")
    require_columns(df, list(slice_columns), "test data (slice columns)")
    y = label_strings(df[trainer.label_column], trainer.label_column, "test data")
    start = time.perf_counter()
    proba = trainer.predict_proba(df)
    seconds = time.perf_counter() - start
    result = evaluate_predictions(
        y,
        proba,
        trainer.classes_,
        slices={c: df[c].tolist() for c in slice_columns},
        n_boot=n_boot,
        seed=seed,
        positive=positive,
    )
    result["trainer"] = {"kind": trainer.kind, "label_column": trainer.label_column}
    result["predict_seconds"] = round(seconds, 4)
    return result


def _aligned_proba(trainer: Trainer, df: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """``trainer``'s probabilities for ``df`` with columns in ``classes`` order (absent ones 0)."""
    proba = trainer.predict_proba(df)
    out = np.zeros((len(df), len(classes)), dtype=np.float64)
    index = {c: i for i, c in enumerate(classes)}
    out[:, [index[c] for c in trainer.classes_]] = proba
    return out


def stratified_folds(
    y: np.ndarray, k: int, seed: int, *, what: str = "the labels", rows: int | None = None
) -> tuple[list[tuple[np.ndarray, np.ndarray]], int, list[str]]:
    """Stratified, shuffled k folds ``(train_idx, test_idx)`` over labels ``y``.

    k is lowered to the smallest class that has two or more rows; classes of a single row stay
    in (they are only ever tested, never trained on). Returns the folds, the k used and notes
    saying what was changed. DatamoatError unless two classes have two or more rows each.
    """
    from sklearn.model_selection import StratifiedKFold

    counts = pd.Series(y).value_counts()
    multi = counts[counts >= 2]
    if len(multi) < 2:
        raise DatamoatError(
            f"cross-validation: {what} needs at least two classes with two or more rows each; it has "
            f"{len(multi)} such class(es) among {len(counts)} in {rows if rows is not None else len(y)} rows."
        )
    k_used = int(min(k, multi.min()))
    notes = []
    if k_used < k:
        rare = multi.idxmin()
        notes.append(f"k lowered from {k} to {k_used}: class {rare!r} has only {int(multi.min())} rows")
    singles = sorted(counts[counts < 2].index.astype(str))
    if singles:
        notes.append(
            f"{len(singles)} class(es) with a single row (e.g. {singles[0]!r}) are never in a training "
            "fold together with their test row, so they count as errors"
        )
    splitter = StratifiedKFold(n_splits=k_used, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # scikit-learn warns that single-row classes cannot be in every fold: said in the notes
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        folds = list(splitter.split(np.zeros(len(y)), y))
    return folds, k_used, notes


def cross_validate(
    make_trainer: Callable[[], Trainer],
    data: pd.DataFrame,
    *,
    k: int = 5,
    seed: int = 0,
    metric: str = "accuracy",
    return_oof: bool = False,
) -> dict[str, Any]:
    """Stratified k-fold cross-validation of fresh trainers from ``make_trainer``.

    Parameters
    ----------
    make_trainer:
        Called once per fold (and once up front to learn the label column); returns an unfitted
        trainer.
    data:
        The labelled table (features + label column).
    k:
        Folds wanted. Lowered to the row count of the smallest class that has at least two rows
        (each fold must be able to hold every class); the result says so in ``"note"``. A class
        with a single row sits in one test fold only and counts as an error there.
    seed:
        Seed of the fold shuffle.
    metric:
        ``"accuracy"`` or ``"macro_f1"``, scored on each held-out fold.
    return_oof:
        Also return ``"oof_proba"``: each row's probabilities from the fold model that did not
        see it, shape ``(rows, len(classes))`` (a numpy array, not JSON), and ``"classes"``.

    Returns
    -------
    ``{"k", "k_requested", "metric", "scores", "folds", "mean", "std", "rows", "fold_rows",
    "fit_seconds", "note", "seed"}`` (``scores`` and ``folds`` are the same per-fold list; ``std``
    is the sample standard deviation) plus ``oof_proba`` / ``classes`` on request.
    """
    if metric not in METRICS:
        raise DatamoatError(
            f"cross-validation: unknown metric {metric!r}; choose one of {', '.join(METRICS)}."
        )
    if not isinstance(k, int) or k < 2:
        raise DatamoatError(f"cross-validation: k={k!r} must be an integer of at least 2.")
    df = as_frame(data, "cross-validation data").reset_index(drop=True)
    label_column = make_trainer().label_column
    require_columns(df, [label_column], "cross-validation data")
    y = label_strings(df[label_column], label_column, "cross-validation data")
    folds, k_used, notes = stratified_folds(y, k, seed, what=f"label column {label_column!r}", rows=len(df))
    classes = sorted(set(y))
    oof = np.zeros((len(df), len(classes)), dtype=np.float64) if return_oof else None
    scores: list[float] = []
    fold_rows: list[int] = []
    fit_seconds = 0.0
    for train_idx, test_idx in folds:
        trainer = make_trainer()
        start = time.perf_counter()
        trainer.fit(df.iloc[train_idx])
        fit_seconds += time.perf_counter() - start
        test_df = df.iloc[test_idx]
        proba = _aligned_proba(trainer, test_df, classes)
        pred = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
        scores.append(metric_value(y[test_idx], pred, metric))
        fold_rows.append(len(test_idx))
        if oof is not None:
            oof[test_idx] = proba
    summary = cross_val_summary(scores)
    result: dict[str, Any] = {
        "k": k_used,
        "k_requested": k,
        "metric": metric,
        "scores": summary["folds"],
        "folds": summary["folds"],
        "mean": summary["mean"],
        "std": summary["std"],
        "rows": int(len(df)),
        "fold_rows": fold_rows,
        "fit_seconds": round(fit_seconds, 3),
        "note": "; ".join(notes) + "." if notes else None,
        "seed": seed,
    }
    if oof is not None:
        result["oof_proba"] = oof
        result["classes"] = classes
    return result


def stratified_subsample(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted row positions of a stratified ``fraction`` of ``y``, at least one row per class.

    Each class keeps ``max(1, round(fraction * its rows))`` rows taken from one seeded shuffle, so
    a smaller fraction's rows are a subset of a larger one's (the curve then shows the effect of
    more data, not of a different draw). Hand-rolled because scikit-learn's stratified splits
    neither guarantee a row of every class nor nest.
    """
    rng = np.random.default_rng(seed)
    picked: list[np.ndarray] = []
    for label in sorted(set(y.tolist())):
        rows = np.flatnonzero(y == label)
        rows = rows[rng.permutation(len(rows))]
        picked.append(rows[: max(1, int(round(fraction * len(rows))))])
    return np.sort(np.concatenate(picked))


def learning_curve(
    make_trainer: Callable[[], Trainer],
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    fractions: Sequence[float] = (0.1, 0.25, 0.5, 1.0),
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Fit fresh trainers on growing stratified subsamples of ``train`` and score each on ``test``.

    Returns one dict per fraction, in the order given: ``{"fraction", "rows" (training rows
    used), "accuracy", "macro_f1" (on test; unseen test labels count as errors), "fit_seconds"}``.
    """
    fracs = [float(f) for f in fractions]
    if not fracs or any(not 0.0 < f <= 1.0 for f in fracs):
        raise DatamoatError(f"learning curve: fractions {list(fractions)!r} must each be in (0, 1].")
    train_df = as_frame(train, "training data").reset_index(drop=True)
    test_df = as_frame(test, "test data")
    label_column = make_trainer().label_column
    require_columns(train_df, [label_column], "training data")
    require_columns(test_df, [label_column], "test data")
    if len(test_df) == 0:
        raise DatamoatError("test data has no rows.")
    y_train = label_strings(train_df[label_column], label_column, "training data")
    y_test = label_strings(test_df[label_column], label_column, "test data")
    out = []
    for fraction in fracs:
        rows = stratified_subsample(y_train, fraction, seed)
        trainer = make_trainer()
        start = time.perf_counter()
        trainer.fit(train_df.iloc[rows])
        seconds = time.perf_counter() - start
        pred = trainer.predict(test_df)
        out.append(
            {
                "fraction": fraction,
                "rows": int(len(rows)),
                "accuracy": metric_value(y_test, pred, "accuracy"),
                "macro_f1": metric_value(y_test, pred, "macro_f1"),
                "fit_seconds": round(seconds, 4),
            }
        )
    return out

"""Ranking metrics and curves: ROC AUC, average precision, balanced accuracy; selection by them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, balanced_accuracy_score, roc_auc_score

from datamoat.models.evaluation.curves import binary_curves, proba_metric
from datamoat.models.evaluation.evaluate import evaluate_predictions
from datamoat.models.evaluation.metrics import metric_value


def imbalanced(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.12, "yes", "no").astype(object)
    p_yes = np.clip(np.where(y == "yes", 0.6, 0.25) + rng.normal(0, 0.2, n), 0.001, 0.999)
    return y, np.column_stack([1 - p_yes, p_yes])  # columns in classes order ["no", "yes"]


def test_binary_ranking_metrics_match_sklearn_with_the_rarer_class_positive():
    y, proba = imbalanced()
    assert proba_metric(y, proba, ["no", "yes"], "roc_auc") == pytest.approx(roc_auc_score(y == "yes", proba[:, 1]))
    assert proba_metric(y, proba, ["no", "yes"], "average_precision") == pytest.approx(
        average_precision_score(y == "yes", proba[:, 1]))
    curves = binary_curves(y, proba, ["no", "yes"])
    assert curves["positive"] == "yes" and curves["pr"]["prevalence"] == pytest.approx(np.mean(y == "yes"), abs=1e-5)
    assert len(curves["roc"]["fpr"]) <= 200 and curves["roc"]["fpr"][0] == 0.0 and curves["roc"]["tpr"][-1] == 1.0


def test_balanced_accuracy_matches_sklearn_and_sees_through_the_majority():
    y = np.array(["no"] * 90 + ["yes"] * 10, dtype=object)
    always_no = np.array(["no"] * 100, dtype=object)
    assert metric_value(y, always_no, "accuracy") == 0.9
    assert metric_value(y, always_no, "balanced_accuracy") == pytest.approx(balanced_accuracy_score(y, always_no)) == 0.5


def test_evaluation_carries_ranking_figures_and_curves_for_binary_tasks_only():
    y, proba = imbalanced()
    ev = evaluate_predictions(y, proba, ["no", "yes"], n_boot=50)
    assert ev["roc_auc"] > 0.7 and ev["curves"]["roc"]["auc"] == ev["roc_auc"]
    three = np.array(["a", "b", "c"] * 20, dtype=object)
    ev3 = evaluate_predictions(three, np.tile(np.eye(3), (20, 1)) * 0.8 + 0.2 / 3, ["a", "b", "c"], n_boot=50)
    assert ev3["curves"] is None and ev3["roc_auc"] == pytest.approx(1.0)


def test_selection_can_maximise_average_precision():
    from datamoat.models.select import select_model

    rng = np.random.default_rng(1)
    n = 300
    x = rng.normal(size=n)
    y = np.where(x + rng.normal(0, 0.8, n) > 1.2, "yes", "no")
    data = pd.DataFrame({"x": x, "noise": rng.normal(size=n), "y": y})
    sel = select_model(data, label_column="y", metric="average_precision", budget_s=120, search=False,
                       candidates=("tabular-linear",))
    scored = next(c for c in sel.candidates if c.name == "tabular-linear")
    assert sel.metric == "average_precision" and 0 < scored.mean <= 1 and len(scored.scores) == sel.folds

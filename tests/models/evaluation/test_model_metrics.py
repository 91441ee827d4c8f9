"""Model-evaluation math: metrics, bootstrap intervals, calibration and significance tests."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest
from scipy import stats
from sklearn.metrics import f1_score

from datamoat.models.evaluation import metrics as metrics_mod
from datamoat.models.evaluation.calibration import (
    expected_calibration_error,
    reliability_data,
    reliability_figure,
)
from datamoat.models.evaluation.metrics import (
    bootstrap_ci,
    classification_report,
    cross_val_summary,
    metric_value,
    slice_metrics,
)
from datamoat.models.evaluation.significance import mcnemar_test, paired_bootstrap_test

# Hand-checked binary case. Confusion (rows true, cols pred, labels [0, 1]):
#   true 0: 4 predicted 0, 2 predicted 1
#   true 1: 1 predicted 0, 3 predicted 1
Y_TRUE = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
Y_PRED = [1, 1, 1, 0, 0, 0, 0, 0, 1, 1]


def _pair_with(
    n: int, acc_a: float, acc_b: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels in 0..2 and two models; A is right on the first acc_a*n rows, B on the first acc_b*n."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    wrong = (y + 1) % 3
    pos = rng.permutation(n)
    a = np.where(pos < int(acc_a * n), y, wrong)
    b = np.where(pos < int(acc_b * n), y, wrong)
    return y, a, b


# ------------------------------------------------------------------------------- classification report


def test_report_binary_hand_computed():
    rep = classification_report(Y_TRUE, Y_PRED)
    assert rep["labels"] == [0, 1]
    assert rep["n"] == 10
    assert rep["confusion_matrix"] == [[4, 2], [1, 3]]
    assert rep["accuracy"] == pytest.approx(0.7)
    c0, c1 = rep["per_class"]
    assert c0 == pytest.approx({"label": 0, "precision": 4 / 5, "recall": 4 / 6, "f1": 8 / 11, "support": 6})
    assert c1 == pytest.approx({"label": 1, "precision": 3 / 5, "recall": 3 / 4, "f1": 6 / 9, "support": 4})
    assert rep["macro"]["precision"] == pytest.approx((0.8 + 0.6) / 2)
    assert rep["macro"]["recall"] == pytest.approx((4 / 6 + 3 / 4) / 2)
    assert rep["macro"]["f1"] == pytest.approx((8 / 11 + 6 / 9) / 2)
    assert rep["weighted"]["precision"] == pytest.approx((0.8 * 6 + 0.6 * 4) / 10)
    assert rep["weighted"]["recall"] == pytest.approx(0.7)
    assert rep["weighted"]["f1"] == pytest.approx((8 / 11 * 6 + 6 / 9 * 4) / 10)
    # JSON-ready: round-trips without a custom encoder.
    assert json.loads(json.dumps(rep)) == rep


def test_report_respects_label_order_and_absent_labels():
    rep = classification_report(Y_TRUE, Y_PRED, labels=[1, 0])
    assert rep["confusion_matrix"] == [[3, 1], [2, 4]]
    assert [c["label"] for c in rep["per_class"]] == [1, 0]

    rep = classification_report(["cat", "dog", "dog"], ["cat", "dog", "cat"], labels=["dog", "cat", "bird"])
    assert rep["labels"] == ["dog", "cat", "bird"]
    assert rep["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    bird = rep["per_class"][2]
    assert bird["support"] == 0 and bird["precision"] == 0.0 and bird["f1"] == 0.0
    # Macro averages over all three given labels (bird contributes 0).
    assert rep["macro"]["recall"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)


def test_report_default_labels_are_sorted_union_of_strings():
    rep = classification_report(["b", "a"], ["c", "a"])
    assert rep["labels"] == ["a", "b", "c"]
    assert rep["confusion_matrix"] == [[1, 0, 0], [0, 0, 1], [0, 0, 0]]
    assert isinstance(json.dumps(rep), str)


@pytest.mark.parametrize(
    "call",
    [
        lambda: classification_report([], []),
        lambda: classification_report([1, 2], [1]),
        lambda: classification_report([[1, 2]], [[1, 2]]),
        lambda: bootstrap_ci([], []),
        lambda: bootstrap_ci([1], [1], metric="auc"),
        lambda: bootstrap_ci([1], [1], alpha=1.5),
        lambda: bootstrap_ci([1], [1], n_boot=0),
        lambda: slice_metrics([1, 2], [1, 2], ["x"]),
        lambda: cross_val_summary([]),
        lambda: cross_val_summary([0.5, float("nan")]),
        lambda: mcnemar_test([], [], []),
        lambda: mcnemar_test([1, 0], [1, 0], [1]),
        lambda: paired_bootstrap_test([], [], []),
        lambda: expected_calibration_error(np.empty((0, 2)), []),
        lambda: expected_calibration_error([[0.5, 0.5]], [2]),
        lambda: expected_calibration_error([[1.5, -0.5]], [0]),
        lambda: expected_calibration_error([[0.5, 0.5]], [0], n_bins=0),
    ],
)
def test_bad_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_empty_input_message_is_clear():
    with pytest.raises(ValueError, match="empty"):
        classification_report([], [])
    with pytest.raises(ValueError, match="empty"):
        mcnemar_test([], [], [])


# ------------------------------------------------------------------------------------------- bootstrap


def test_vectorised_macro_f1_matches_sklearn_on_resamples():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, size=60)
    p = np.where(rng.random(60) < 0.6, y, rng.integers(0, 4, size=60))
    (tc, pc), k = metrics_mod._encode(y, p)
    idx = rng.integers(0, 60, size=(25, 60))
    ours = metrics_mod._macro_f1_from_codes(tc[idx], pc[idx], k)
    ref = [f1_score(y[row], p[row], average="macro", zero_division=0) for row in idx]
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
    assert metric_value(y, p, "macro_f1") == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
    assert metric_value(Y_TRUE, Y_PRED, "accuracy") == pytest.approx(0.7)


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1"])
def test_bootstrap_ci_contains_estimate_and_narrows_with_n(metric):
    widths = []
    for n in (200, 5000):
        y, _, pred = _pair_with(n, 0.0, 0.8, seed=n)
        lo, hi = bootstrap_ci(y, pred, metric=metric, n_boot=500, seed=1)
        point = metric_value(y, pred, metric)
        assert lo < point < hi
        widths.append(hi - lo)
    assert widths[1] < widths[0] / 3  # width scales ~ 1/sqrt(n): sqrt(25) = 5


def test_bootstrap_ci_width_matches_normal_theory_and_alpha():
    # Accuracy is a mean of 0/1 values: its bootstrap sd is close to sqrt(p (1 - p) / n).
    n = 5000
    y, _, pred = _pair_with(n, 0.0, 0.8)
    sd = np.sqrt(0.8 * 0.2 / n)
    lo, hi = bootstrap_ci(y, pred, n_boot=4000, alpha=0.05)
    assert hi - lo == pytest.approx(2 * stats.norm.ppf(0.975) * sd, rel=0.1)
    lo, hi = bootstrap_ci(y, pred, n_boot=4000, alpha=0.2)
    assert hi - lo == pytest.approx(2 * stats.norm.ppf(0.9) * sd, rel=0.1)


def test_bootstrap_ci_is_seeded_and_chunking_does_not_change_it(monkeypatch):
    y, _, pred = _pair_with(300, 0.0, 0.75)
    first = bootstrap_ci(y, pred, n_boot=400, seed=7)
    assert bootstrap_ci(y, pred, n_boot=400, seed=7) == first
    assert bootstrap_ci(y, pred, n_boot=400, seed=8) != first
    monkeypatch.setattr(metrics_mod, "_MAX_CHUNK_CELLS", 300 * 7)  # chunks of 7 resamples
    assert bootstrap_ci(y, pred, n_boot=400, seed=7) == first


def test_bootstrap_ci_of_perfect_predictions_is_degenerate():
    assert bootstrap_ci([0, 1, 2, 1], [0, 1, 2, 1], metric="macro_f1") == (1.0, 1.0)


# -------------------------------------------------------------------------------------- slices and CV


def test_slice_metrics_hand_computed():
    y_true = [0, 1, 0, 1, 1, 0]
    y_pred = [0, 1, 1, 1, 0, 0]
    source = ["web", "web", "web", "app", "app", None]
    out = slice_metrics(y_true, y_pred, source)
    assert list(out) == ["web", "app", None]
    assert out["web"]["n"] == 3
    assert out["web"]["accuracy"] == pytest.approx(2 / 3)
    # web: class 0 -> tp 1, n_true 2, n_pred 1 -> f1 2/3; class 1 -> tp 1, n_true 1, n_pred 2 -> 2/3
    assert out["web"]["macro_f1"] == pytest.approx(2 / 3)
    assert out["app"] == pytest.approx({"n": 2, "accuracy": 0.5, "macro_f1": (2 / 3 + 0.0) / 2})
    assert out[None] == pytest.approx({"n": 1, "accuracy": 1.0, "macro_f1": 1.0})


def test_cross_val_summary():
    out = cross_val_summary([0.8, 0.9, 1.0])
    assert out["mean"] == pytest.approx(0.9)
    assert out["std"] == pytest.approx(0.1)  # sample std, ddof=1
    assert out["folds"] == [0.8, 0.9, 1.0]
    assert cross_val_summary(np.array([0.7]))["std"] == 0.0


# ----------------------------------------------------------------------------------------- calibration


def test_ece_hand_computed():
    probs = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]
    y = [0, 1, 1, 0]  # correct, wrong, correct, correct; each row lands in its own bin of 10
    assert expected_calibration_error(probs, y, n_bins=10) == pytest.approx((0.1 + 0.8 + 0.3 + 0.4) / 4)
    # With 2 bins all rows share (0.5, 1]: confidence 0.75, accuracy 0.75.
    assert expected_calibration_error(probs, y, n_bins=2) == pytest.approx(0.0)


def test_ece_near_zero_for_calibrated_and_large_for_overconfident():
    rng = np.random.default_rng(0)
    n, k = 100_000, 3
    probs = rng.dirichlet(np.ones(k), size=n)
    y_cal = np.array([rng.choice(k, p=row) for row in probs[:5000]])  # sample labels from the probs
    assert expected_calibration_error(probs[:5000], y_cal) < 0.04
    # Vectorised sampling for the big sample: y ~ Categorical(probs).
    u = rng.random(n)[:, None]
    y_big = (u > probs.cumsum(axis=1)).sum(axis=1)
    assert expected_calibration_error(probs, y_big) < 0.01

    # Overconfident: always 95% sure, right only 60% of the time -> ECE about 0.35.
    y = rng.integers(0, 2, size=n)
    pred = np.where(rng.random(n) < 0.6, y, 1 - y)
    p_over = np.where(pred[:, None] == np.arange(2), 0.95, 0.05)
    assert expected_calibration_error(p_over, y) == pytest.approx(0.35, abs=0.01)


def test_reliability_data_bins_and_binary_1d_input():
    data = reliability_data([0.9, 0.25, 0.55, 0.5], [1, 1, 0, 0], n_bins=5)
    assert data["n"] == 4 and data["n_bins"] == 5 and len(data["bins"]) == 5
    assert [b["count"] for b in data["bins"]] == [0, 0, 2, 1, 1]  # conf 0.5 & 0.55, 0.75, 0.9
    assert data["bins"][0]["confidence"] is None and data["bins"][0]["accuracy"] is None
    mid = data["bins"][2]
    assert (mid["lower"], mid["upper"]) == pytest.approx((0.4, 0.6))
    assert mid["confidence"] == pytest.approx(0.525)
    # 0.55 predicts class 1 (wrong); the 0.5/0.5 tie predicts class 0 (right).
    assert mid["accuracy"] == pytest.approx(0.5)
    assert data["bins"][3]["accuracy"] == 0.0 and data["bins"][4]["accuracy"] == 1.0
    json.dumps(data)


def test_reliability_figure():
    data = reliability_data([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], [0, 0, 0], n_bins=10)
    fig = reliability_figure(data)
    assert isinstance(fig, go.Figure)
    bar = fig.data[0]
    assert isinstance(bar, go.Bar)
    assert list(bar.x) == pytest.approx([0.55, 0.75, 0.85])
    assert list(bar.y) == pytest.approx([1.0, 0.0, 1.0])
    assert "ECE" in fig.layout.title.text


# ---------------------------------------------------------------------------------------- significance


def _mcnemar_rows(b: int, c: int, both_right: int = 5, both_wrong: int = 3):
    y = np.zeros(b + c + both_right + both_wrong, dtype=int)
    a = np.concatenate([np.zeros(b), np.ones(c), np.zeros(both_right), np.ones(both_wrong)]).astype(int)
    bb = np.concatenate([np.ones(b), np.zeros(c), np.zeros(both_right), np.ones(both_wrong)]).astype(int)
    return y, a, bb


def test_mcnemar_exact_small_counts():
    out = mcnemar_test(*_mcnemar_rows(3, 10))
    assert (out["b"], out["c"], out["method"]) == (3, 10, "exact")
    assert out["statistic"] == 3.0
    assert out["p_value"] == pytest.approx(stats.binomtest(3, 13, 0.5).pvalue)
    assert out["p_value"] == pytest.approx(2 * sum(stats.binom.pmf(i, 13, 0.5) for i in range(4)))


def test_mcnemar_chi_square_large_counts():
    out = mcnemar_test(*_mcnemar_rows(40, 15))
    assert (out["b"], out["c"], out["method"]) == (40, 15, "chi2")
    expected_stat = (abs(40 - 15) - 1) ** 2 / (40 + 15)
    assert out["statistic"] == pytest.approx(expected_stat)
    assert out["p_value"] == pytest.approx(stats.chi2.sf(expected_stat, 1))
    assert out["p_value"] < 0.01
    forced = mcnemar_test(*_mcnemar_rows(40, 15), exact=True)
    assert forced["method"] == "exact"
    assert forced["p_value"] == pytest.approx(stats.binomtest(40, 55, 0.5).pvalue)


def test_mcnemar_identical_predictions():
    y, a, _ = _pair_with(100, 0.7, 0.7)
    out = mcnemar_test(y, a, a.copy())
    assert out == {"statistic": 0.0, "p_value": 1.0, "b": 0, "c": 0, "method": "exact"}


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1"])
def test_paired_bootstrap_detects_clearly_better_model(metric):
    y, a, b = _pair_with(500, 0.7, 0.85)
    out = paired_bootstrap_test(y, a, b, metric=metric, n_boot=2000)
    assert out["difference"] == pytest.approx(metric_value(y, b, metric) - metric_value(y, a, metric))
    assert out["difference"] > 0.1
    assert 0 < out["ci_low"] <= out["difference"] <= out["ci_high"]
    assert out["p_value"] < 0.01
    # Swapping the models: B is now clearly worse.
    assert paired_bootstrap_test(y, b, a, metric=metric, n_boot=2000)["p_value"] > 0.99


def test_paired_bootstrap_ci_width_matches_normal_theory():
    # Accuracy difference is the mean of d_i = [B right] - [A right]; its sd is about sd(d) / sqrt(n).
    y, a, b = _pair_with(3000, 0.7, 0.8)
    d = (b == y).astype(float) - (a == y).astype(float)
    sd = d.std() / np.sqrt(len(d))
    out = paired_bootstrap_test(y, a, b, n_boot=4000)
    assert out["ci_high"] - out["ci_low"] == pytest.approx(2 * stats.norm.ppf(0.975) * sd, rel=0.1)


def test_paired_bootstrap_identical_and_equally_good_models():
    y, a, _ = _pair_with(400, 0.75, 0.75)
    same = paired_bootstrap_test(y, a, a.copy(), n_boot=1000)
    assert same["difference"] == 0.0
    assert same["ci_low"] == same["ci_high"] == 0.0
    assert same["p_value"] == 1.0

    # Two different models with the same accuracy: no evidence either way.
    rng = np.random.default_rng(5)
    n = 2000
    y = rng.integers(0, 2, size=n)
    right_a = rng.permutation(n) < 1500
    right_b = rng.permutation(n) < 1500
    out = paired_bootstrap_test(y, np.where(right_a, y, 1 - y), np.where(right_b, y, 1 - y), n_boot=2000)
    assert out["difference"] == 0.0
    assert out["ci_low"] < 0 < out["ci_high"]
    assert 0.3 < out["p_value"] < 0.7
    json.dumps(out)

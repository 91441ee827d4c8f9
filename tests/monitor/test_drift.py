"""Drift checks and live accuracy on samples made here: real shifts are found, same-source samples are not."""

from __future__ import annotations

import math

import numpy as np
import pytest
from textgen import DRIFT_TOPICS, sentences

from datamoat.monitor.drift import (
    confidence_drift,
    label_drift,
    null_p95_bound,
    random_classifier_auc_p95,
    text_drift,
)
from datamoat.monitor.live_accuracy import live_accuracy, wilson_interval


# ---------------------------------------------------------------------- text drift
def test_text_drift_finds_another_topic_and_names_its_words():
    result = text_drift(sentences("bank", 400, 1), sentences("travel", 200, 2), seed=0)
    assert result["status"] == "alert" and result["drift"] is True
    assert result["auc"] > 0.9 and result["auc"] > result["effective_threshold"]
    assert (result["n_reference"], result["n_current"]) == (400, 200) and len(result["auc_folds"]) == 5
    travel_words = " ".join(" ".join(parts) for parts in DRIFT_TOPICS["travel"]).split()
    bank_words = " ".join(" ".join(parts) for parts in DRIFT_TOPICS["bank"]).split()
    top = [t["term"] for t in result["top_terms"]]
    assert top and all(any(w in travel_words for w in term.split()) for term in top[:5])
    assert all(t["current_share"] > t["reference_share"] for t in result["top_terms"][:5])
    assert any(t["term"] in bank_words for t in result["reference_terms"])


def test_text_drift_does_not_alarm_on_two_samples_of_one_source():
    result = text_drift(sentences("bank", 400, 11), sentences("bank", 400, 12), seed=0)
    assert result["status"] == "ok" and result["drift"] is False
    assert abs(result["auc"] - 0.5) < 0.07
    assert result["effective_threshold"] >= 0.55


def test_small_samples_raise_the_threshold_above_the_fixed_one():
    same = text_drift(sentences("bank", 40, 3), sentences("bank", 40, 4), seed=0)
    assert same["small_sample"] and len(same["baseline"]["permutation_aucs"]) == 10
    # chance-level AUCs on 40 + 40 rows spread well beyond 0.55: the threshold follows them
    assert same["effective_threshold"] == pytest.approx(max(0.55, same["baseline"]["p95"]), abs=1e-4)
    assert same["effective_threshold"] > 0.6 and same["drift"] is False
    shifted = text_drift(sentences("bank", 40, 3), sentences("travel", 40, 4), seed=0)
    assert shifted["drift"] is True and shifted["auc"] > 0.9


def test_large_samples_use_the_fixed_threshold_only():
    result = text_drift(sentences("bank", 300, 5), sentences("bank", 300, 6), small_sample=100, seed=0)
    assert result["baseline"] is None and result["effective_threshold"] == 0.55 and not result["drift"]


def test_text_drift_needs_enough_rows_each_side():
    result = text_drift(sentences("bank", 100, 1), ["", None, *sentences("travel", 10, 2)])
    assert result["status"] == "insufficient_data" and result["auc"] is None and result["n_current"] == 10
    assert "30" in result["reason"]


def test_random_classifier_baseline_matches_the_mann_whitney_null():
    n0, n1 = 200, 100
    sd = math.sqrt((n0 + n1 + 1) / (12 * n0 * n1))
    assert random_classifier_auc_p95(n0, n1, seed=0) == pytest.approx(0.5 + 1.6449 * sd, abs=0.008)


def test_null_bound_is_a_t_prediction_bound():
    values = [0.40, 0.50, 0.60]
    t_95_2dof = 2.919986  # one-sided 95% quantile of Student's t with 2 degrees of freedom
    assert null_p95_bound(values) == pytest.approx(0.5 + t_95_2dof * 0.1 * math.sqrt(4 / 3), abs=1e-5)
    assert null_p95_bound([0.52, 0.47]) == 0.52 and null_p95_bound([]) is None


# ---------------------------------------------------------------------- label drift
def test_label_drift_js_distance_and_chi_square_by_hand():
    result = label_drift({"a": 50, "b": 50}, {"a": 90, "b": 10})
    p, q = (0.5, 0.5), (0.9, 0.1)
    m = [(x + y) / 2 for x, y in zip(p, q, strict=True)]
    kl = lambda x, y: sum(a * math.log2(a / b) for a, b in zip(x, y, strict=True))  # noqa: E731
    expected = math.sqrt((kl(p, m) + kl(q, m)) / 2)
    assert result["js_distance"] == pytest.approx(expected, abs=1e-4)
    assert expected == pytest.approx(0.3831, abs=1e-4)
    # add-one smoothed reference (51, 51) -> expected counts (50, 50): chi2 = 2 * 40² / 50
    assert result["chi2"] == pytest.approx(64.0) and result["p_value"] < 1e-10 and result["dof"] == 1
    assert result["drift"] is True and result["status"] == "alert"
    assert result["largest_changes"][0]["change"] == pytest.approx(0.4)


def test_label_drift_is_quiet_for_the_same_distribution_and_reports_new_labels():
    same = label_drift({"a": 500, "b": 300, "c": 200}, {"a": 52, "b": 28, "c": 20})
    assert same["drift"] is False and same["js_distance"] < 0.1 and same["p_value"] > 0.05
    new = label_drift({"a": 50, "b": 50}, {"a": 40, "b": 40, "c": 20})
    assert new["new_labels"] == ["c"] and math.isfinite(new["chi2"]) and new["drift"] is True


def test_label_drift_threshold_follows_sampling_noise_with_many_labels():
    rng = np.random.default_rng(0)
    labels = [f"intent_{i}" for i in range(77)]
    reference = {lab: 100 for lab in labels}
    drawn = rng.choice(labels, size=300)
    current = {lab: int((drawn == lab).sum()) for lab in labels}
    result = label_drift(reference, current)
    # 300 predictions over 77 labels: sampling alone puts the distance above 0.1
    assert result["js_distance"] > 0.1
    assert result["effective_threshold"] == result["null_p95"] > result["js_distance"] and not result["drift"]


def test_label_drift_needs_predictions():
    assert label_drift({"a": 10}, {"a": 5})["status"] == "insufficient_data"


# ---------------------------------------------------------------------- confidence drift
def test_confidence_drift_on_a_real_drop_and_not_on_the_same_distribution():
    rng = np.random.default_rng(0)
    reference = rng.beta(9, 1, 500)
    dropped = confidence_drift(reference, rng.beta(4, 2, 200))
    assert dropped["drift"] is True and dropped["p_value"] < 1e-6
    assert dropped["mean_drop"] == pytest.approx(0.9 - 4 / 6, abs=0.04)
    same = confidence_drift(reference, rng.beta(9, 1, 200))
    assert same["drift"] is False and same["p_value"] > 0.01 and abs(same["mean_drop"]) < 0.03
    surer = confidence_drift(reference, rng.beta(30, 1, 200))
    assert surer["p_value"] < 0.01 and surer["mean_drop"] < 0 and surer["drift"] is False
    few = confidence_drift(reference, [0.5] * 10)
    assert few["status"] == "insufficient_data" and few["p_value"] is None


# ---------------------------------------------------------------------- live accuracy
def test_wilson_interval_solves_the_score_equation():
    k, n, z = 45, 60, 1.959963984540054
    low, high = wilson_interval(k, n)
    # the bounds are the p where |k/n - p| = z sqrt(p(1-p)/n): roots of a quadratic in p
    p_hat = k / n
    a, b, c = 1 + z * z / n, -(2 * p_hat + z * z / n), p_hat * p_hat
    roots = sorted(np.roots([a, b, c]).real)
    assert (low, high) == pytest.approx(tuple(roots), abs=1e-9)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_live_accuracy_alerts_only_when_clearly_below_the_test_accuracy():
    labels = ["a", "b"] * 30
    wrong = [("b" if lab == "a" else "a") if i < 20 else lab for i, lab in enumerate(labels)]  # 40 of 60 right
    bad = live_accuracy(wrong, labels, expected=0.95)
    assert bad["n"] == 60 and bad["correct"] == 40 and bad["accuracy"] == pytest.approx(0.6667, abs=1e-4)
    assert bad["ci"][1] < 0.90 and bad["status"] == "alert" and bad["threshold"] == pytest.approx(0.90)
    fine = live_accuracy(labels, labels, expected=0.95)
    assert fine["status"] == "ok" and fine["accuracy"] == 1.0
    few = live_accuracy(wrong[:20], labels[:20], expected=0.95)
    assert few["status"] == "insufficient_data" and few["alert"] is False
    assert live_accuracy(wrong, labels, expected=None)["status"] == "insufficient_data"

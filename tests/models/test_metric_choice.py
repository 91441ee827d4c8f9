"""The selection metric follows the labels: macro F1 on imbalanced data; the majority baseline."""

from __future__ import annotations

import pandas as pd
import pytest

from datamoat.errors import DatamoatError
from datamoat.models.training import choose_metric, majority_baseline


def test_auto_metric_is_macro_f1_when_one_class_dominates():
    labels = pd.Series(["no"] * 885 + ["yes"] * 115)
    metric, rule = choose_metric(labels, "auto")
    assert metric == "macro_f1" and "imbalanced" in rule and "7.7x" in rule


def test_auto_metric_stays_accuracy_on_balanced_labels_and_an_explicit_choice_wins():
    balanced = pd.Series(["a"] * 50 + ["b"] * 40 + ["c"] * 30)
    assert choose_metric(balanced, "auto")[0] == "accuracy"
    assert choose_metric(pd.Series(["no"] * 90 + ["yes"] * 10), "accuracy") == ("accuracy", "")
    with pytest.raises(DatamoatError, match="not known"):
        choose_metric(balanced, "f2")


def test_majority_baseline_scores_always_answering_the_top_training_label():
    base = majority_baseline(pd.Series(["no"] * 8 + ["yes"] * 2), pd.Series(["no"] * 9 + ["yes"]))
    assert base["label"] == "no" and base["accuracy"] == 0.9
    # macro F1 of a constant answer: F1(no) = 2*0.9/(1+0.9), F1(yes) = 0
    assert base["macro_f1"] == pytest.approx((2 * 0.9 / 1.9) / 2, abs=1e-4)

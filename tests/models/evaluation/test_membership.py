"""The loss-threshold membership-inference attack on constructed losses and a fitted model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datamoat.errors import DatamoatError
from datamoat.models.evaluation.membership import loss_threshold_auc, membership_inference, row_losses
from datamoat.models.trainers.contract import create_trainer


def test_row_losses_are_minus_log_of_the_true_class() -> None:
    proba = np.array([[0.5, 0.5], [0.9, 0.1], [0.0, 1.0]])
    np.testing.assert_allclose(row_losses(proba, np.array([0, 1, 0])), [np.log(2), -np.log(0.1), -np.log(1e-12)])


def test_auc_on_constructed_losses() -> None:
    # every training row has a lower loss than every test row: the attack is perfect
    assert loss_threshold_auc(np.array([0.1, 0.2]), np.array([0.3, 0.4, 0.5])) == 1.0
    # the reverse: training rows look like non-members
    assert loss_threshold_auc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 0.0
    # identical losses say nothing
    assert loss_threshold_auc(np.full(5, 0.3), np.full(7, 0.3)) == 0.5
    # pairs (train, test) with train lower: (0.1 < 0.2, 0.1 < 0.4, 0.3 > 0.2, 0.3 < 0.4) -> 3 of 4
    assert loss_threshold_auc(np.array([0.1, 0.3]), np.array([0.2, 0.4])) == 0.75
    with pytest.raises(DatamoatError, match="at least one training row"):
        loss_threshold_auc(np.array([]), np.array([0.1]))


def test_a_memorising_model_is_found_out() -> None:
    # every text has its own words and the labels are coin flips: what the model learns is memorisation
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"text": [f"ticket w{i}a w{i}b w{i}c" for i in range(300)], "label": rng.choice(["x", "y"], 300)})
    train, test = df.iloc[:200], df.iloc[200:]
    model = create_trainer("tfidf-linear", model="logreg", C=100.0, min_df=1).fit(train)
    out = membership_inference(model, train, test, seed=0)
    assert out["auc"] > 0.8 and out["train_rows"] == 200 and out["test_rows"] == 100
    assert out["train_loss_mean"] < out["test_loss_mean"]

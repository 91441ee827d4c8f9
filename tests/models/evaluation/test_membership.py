"""The loss-threshold membership-inference attack: constructed losses, class matching, DeLong's
intervals, and fitted models that memorise or ignore their input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from datamoat.errors import DatamoatError
from datamoat.models.evaluation.delong import delong
from datamoat.models.evaluation.membership import (
    MatchedLosses,
    auc_difference,
    loss_threshold_auc,
    matched_losses,
    matched_sample,
    membership_inference,
    row_losses,
)
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


def test_delong_matches_sklearn_auc_and_the_known_variance() -> None:
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(0.5, 1, 300), np.round(rng.normal(0, 1, 200), 1)  # rounded: ties
    aucs, cov = delong(pos, neg)
    assert aucs[0] == pytest.approx(roc_auc_score(np.r_[np.ones(300), np.zeros(200)], np.r_[pos, neg]))
    # the DeLong variance agrees with a bootstrap's to within its own noise
    boot = [delong(rng.choice(pos, 300), rng.choice(neg, 200))[0][0] for _ in range(400)]
    assert np.sqrt(cov[0, 0]) == pytest.approx(np.std(boot), rel=0.15)
    # two identical scorers: perfectly correlated AUCs
    aucs2, cov2 = delong(np.stack([pos, pos]), np.stack([neg, neg]))
    assert cov2[0, 1] == pytest.approx(cov2[0, 0]) and aucs2[0] == aucs2[1]
    with pytest.raises(DatamoatError, match="at least 2 positive"):
        delong(np.array([1.0]), np.array([0.0, 1.0]))


def test_matched_sample_takes_equal_rows_per_class_and_depends_on_labels_only() -> None:
    train_y = np.array([0] * 50 + [1] * 10 + [2] * 5 + [-1] * 4)
    test_y = np.array([0] * 8 + [1] * 8 + [3] * 8)  # class 3: no training rows; class 2: no test rows
    tr, te = matched_sample(train_y, test_y, seed=1)
    assert np.array_equal(train_y[tr], test_y[te])
    assert np.bincount(train_y[tr]).tolist() == [8, 8]
    assert len(set(tr)) == len(tr) and len(set(te)) == len(te)
    again = matched_sample(train_y, test_y, seed=1)
    assert np.array_equal(again[0], tr) and np.array_equal(again[1], te)
    small = matched_sample(train_y, test_y, seed=1, max_rows=8)
    assert np.bincount(train_y[small[0]]).tolist() == [4, 4]


def _skewed_tickets(n_train: int, n_test: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A hard class 'x' (labels barely follow the words) and an easy class 'y'; the training rows
    are 80% 'x', the test rows balanced: a class shift that alone tells the groups apart."""
    rng = np.random.default_rng(seed)

    def rows(n: int, share_x: float) -> pd.DataFrame:
        label = np.where(rng.random(n) < share_x, "x", "y")
        word = np.where(label == "y", "refund", np.where(rng.random(n) < 0.6, "card", "refund"))
        return pd.DataFrame({"text": [f"{w} please" for w in word], "label": label})

    return rows(n_train, 0.8), rows(n_test, 0.5)


def test_a_model_that_ignores_its_input_scores_chance_despite_a_class_shift() -> None:
    train, test = _skewed_tickets(600, 600, seed=0)
    # the same few texts everywhere: the model cannot memorise rows, only the class's loss level
    model = create_trainer("tfidf-linear", model="logreg", C=1.0, min_df=1, class_weight=None).fit(train)
    # the old, unmatched comparison is fooled by the class mix alone
    unmatched = loss_threshold_auc(row_losses(model.predict_proba(train), (train["label"] == "y").to_numpy()),
                                   row_losses(model.predict_proba(test), (test["label"] == "y").to_numpy()))
    assert abs(unmatched - 0.5) > 0.1
    out = membership_inference(model, train, test, seed=0)
    assert out["auc_ci"][0] < 0.5 < out["auc_ci"][1] and abs(out["auc"] - 0.5) < 0.05
    assert out["class_auc_ci"][0] < 0.5 < out["class_auc_ci"][1]
    assert out["train_rows"] == out["test_rows"] and out["classes"] == 2


def _memorisable(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    # every text has its own words and the labels are coin flips: what a model learns is memorisation
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"text": [f"ticket w{i}a w{i}b w{i}c" for i in range(400)], "label": rng.choice(["x", "y"], 400)})
    return df.iloc[:200], df.iloc[200:]


def test_a_memorising_model_is_found_out_and_differs_from_a_weaker_one() -> None:
    train, test = _memorisable()
    strong = create_trainer("tfidf-linear", model="logreg", C=100.0, min_df=1).fit(train)
    out = membership_inference(strong, train, test, seed=0)
    assert out["auc"] > 0.8 and out["auc_ci"][0] > 0.7 and out["class_auc"] > 0.8
    assert out["train_loss_mean"] < out["test_loss_mean"]
    n_x = min((train["label"] == "x").sum(), (test["label"] == "x").sum())
    n_y = min((train["label"] == "y").sum(), (test["label"] == "y").sum())
    assert out["train_rows"] == out["test_rows"] == n_x + n_y
    # heavily regularised: memorises almost nothing; on the same rows its AUC is clearly lower
    weak = create_trainer("tfidf-linear", model="logreg", C=0.001, min_df=1).fit(train)
    a, b = matched_losses(strong, train, test, seed=0), matched_losses(weak, train, test, seed=0)
    diff = auc_difference(a, b)
    assert diff["auc_diff"] > 0.2 and diff["auc_diff_ci"][0] > 0
    assert diff["class_auc_diff_ci"][0] > 0
    same = auc_difference(a, a)
    assert same["auc_diff"] == 0 and same["auc_diff_ci"] == [0, 0]
    other = MatchedLosses(member=a.member[:-1], nonmember=a.nonmember[:-1], classes=a.classes[:-1])
    with pytest.raises(DatamoatError, match="not on the same rows"):
        auc_difference(a, other)


def test_no_shared_class_is_one_sentence() -> None:
    train, test = _memorisable()
    model = create_trainer("tfidf-linear", model="logreg", min_df=1).fit(train)
    with pytest.raises(DatamoatError, match="at least one class with rows in both"):
        membership_inference(model, train, test.assign(label="z"), seed=0)

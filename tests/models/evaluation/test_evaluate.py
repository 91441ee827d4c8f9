"""Model evaluation: evaluate_predictions / evaluate_model, cross_validate, learning_curve."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.model_selection import StratifiedKFold
from textgen import confused_texts
from threadpoolctl import threadpool_limits

from datamoat.errors import DatamoatError
from datamoat.models.evaluation.evaluate import (
    cross_validate,
    evaluate_model,
    evaluate_predictions,
    learning_curve,
    stratified_subsample,
)
from datamoat.models.trainers.contract import create_trainer


def make_table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    score = 2 * x1 + 1.5 * (color == "red")
    label = np.where(score < -0.5, "low", np.where(score > 1.5, "high", "mid"))
    flip = rng.random(n) < 0.05
    label[flip] = rng.choice(["low", "mid", "high"], size=int(flip.sum()))
    return pd.DataFrame(
        {"x1": x1, "color": color, "region": rng.choice(["north", "south"], n), "label": label}
    )


def tfidf():
    return create_trainer("tfidf-linear")


def tabular():
    return create_trainer("tabular", max_iter=30, min_samples_leaf=5)


def tabular_linear():
    return create_trainer("tabular-linear")


TRAIN, TEST = confused_texts(300, 1), confused_texts(200, 2)


@pytest.fixture(scope="module")
def text_model():
    return tfidf().fit(TRAIN)


def random_case(n: int = 300, seed: int = 0):
    """Labels and noisy probabilities that are right about 70% of the time."""
    rng = np.random.default_rng(seed)
    classes = ["ant", "bee", "cat", "dog"]
    y = rng.choice(classes, size=n, p=[0.4, 0.3, 0.2, 0.1])
    logits = rng.normal(size=(n, 4))
    logits[np.arange(n), [classes.index(v) for v in y]] += 1.6
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y.astype(object), proba, classes


# ------------------------------------------------------------------ evaluate_predictions
def test_headline_metrics_match_sklearn():
    y, proba, classes = random_case()
    pred = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    ev = evaluate_predictions(list(y), proba, classes, n_boot=200)
    assert ev["rows"] == len(y)
    assert ev["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    for avg in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y, pred, average=avg, zero_division=0)
        assert ev[f"{avg}_precision"] == pytest.approx(p)
        assert ev[f"{avg}_recall"] == pytest.approx(r)
        assert ev[f"{avg}_f1"] == pytest.approx(f)
    assert ev["confusion"]["labels"] == classes
    assert ev["confusion"]["matrix"] == skm.confusion_matrix(y, pred, labels=classes).tolist()
    f1s = skm.f1_score(y, pred, labels=classes, average=None)
    assert [r["label"] for r in ev["per_class"]] == classes
    assert [r["f1"] for r in ev["per_class"]] == pytest.approx(list(f1s))
    assert [r["support"] for r in ev["per_class"]] == [int((y == c).sum()) for c in classes]
    json.dumps(ev, allow_nan=False)  # JSON-ready


def test_confidence_intervals_contain_the_estimate_and_are_reproducible():
    y, proba, classes = random_case(seed=3)
    ev = evaluate_predictions(y, proba, classes, n_boot=300, seed=7)
    for key in ("accuracy", "macro_f1"):
        lo, hi = ev[f"{key}_ci"]
        assert lo < ev[key] < hi
        assert hi - lo < 0.25
    again = evaluate_predictions(y, proba, classes, n_boot=300, seed=7)
    assert again["accuracy_ci"] == ev["accuracy_ci"]
    other = evaluate_predictions(y, proba, classes, n_boot=300, seed=8)
    assert other["accuracy_ci"] != ev["accuracy_ci"]


def reference_ece(conf: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """ECE with equal-width bins (i/B, (i+1)/B], written independently of calibration.py."""
    total = 0.0
    for i in range(bins):
        lo, hi = i / bins, (i + 1) / bins
        mask = (conf > lo) & (conf <= hi) if i else (conf >= 0) & (conf <= hi)
        if mask.any():
            total += mask.sum() / len(conf) * abs(correct[mask].mean() - conf[mask].mean())
    return total


def test_unseen_labels_count_as_errors_and_never_crash():
    y, proba, classes = random_case(seed=5)
    y = y.copy()
    y[:12] = "emu"  # a label the model never saw
    y[12:15] = "fox"
    pred = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    ev = evaluate_predictions(y, proba, classes, n_boot=100)
    assert ev["unseen_labels"] == {"emu": 12, "fox": 3}
    assert ev["rows"] == len(y)
    assert ev["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert ev["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro", zero_division=0))
    rows = {r["label"]: r for r in ev["per_class"]}
    assert rows["emu"]["support"] == 12 and rows["emu"]["recall"] == 0.0
    assert ev["confusion"]["labels"] == [*classes, "emu", "fox"]
    conf = proba.max(axis=1)
    assert ev["ece"] == pytest.approx(reference_ece(conf, (pred == y).astype(float)))

    dropped = evaluate_predictions(y, proba, classes, n_boot=100, unseen_labels="drop")
    keep = ~np.isin(y, ["emu", "fox"])
    assert dropped["rows"] == int(keep.sum())
    assert dropped["unseen_labels"] == {"emu": 12, "fox": 3}
    assert dropped["accuracy"] == pytest.approx(skm.accuracy_score(y[keep], pred[keep]))
    with pytest.raises(DatamoatError, match="never saw"):
        evaluate_predictions(y, proba, classes, unseen_labels="error")


def test_classes_absent_from_the_sample_are_left_out_of_macro_averages():
    classes = ["a", "b", "c"]
    y = ["a", "a", "b", "b"]
    proba = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.1, 0.8, 0.1]])
    ev = evaluate_predictions(y, proba, classes, n_boot=50)
    pred = ["a", "b", "b", "b"]
    assert ev["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert [r["label"] for r in ev["per_class"]] == ["a", "b"]
    assert ev["top_confusions"] == [{"true": "a", "predicted": "b", "count": 1, "share": 0.5}]


def test_slices_match_per_group_metrics():
    y, proba, classes = random_case(seed=9)
    pred = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    rng = np.random.default_rng(1)
    channel = list(rng.choice(["web", "app", "phone"], size=len(y)))
    channel[:20] = [None] * 20
    tier = list(rng.integers(1, 3, size=len(y)))  # ints become string keys
    ev = evaluate_predictions(y, proba, classes, slices={"channel": channel, "tier": tier}, n_boot=50)
    ch = ev["slices"]["channel"]
    assert set(ch) == {"web", "app", "phone", "(missing)"}
    assert sum(s["rows"] for s in ch.values()) == len(y)
    arr = np.asarray(channel, dtype=object)
    for value in ("web", "app", "phone"):
        mask = arr == value
        assert ch[value]["rows"] == int(mask.sum())
        assert ch[value]["accuracy"] == pytest.approx(skm.accuracy_score(y[mask], pred[mask]))
        assert ch[value]["macro_f1"] == pytest.approx(skm.f1_score(y[mask], pred[mask], average="macro"))
    assert set(ev["slices"]["tier"]) == {"1", "2"}
    json.dumps(ev, allow_nan=False)


def test_bad_inputs_are_user_errors():
    y, proba, classes = random_case(n=20)
    with pytest.raises(DatamoatError, match="shape"):
        evaluate_predictions(y, proba[:, :3], classes)
    with pytest.raises(DatamoatError, match="slice 'x'"):
        evaluate_predictions(y, proba, classes, slices={"x": [1, 2]})
    with pytest.raises(DatamoatError, match="missing"):
        evaluate_predictions([None, *y[1:]], proba, classes)
    with pytest.raises(DatamoatError, match="unseen_labels"):
        evaluate_predictions(y, proba, classes, unseen_labels="ignore")
    with pytest.raises(DatamoatError, match="n_boot"):
        evaluate_predictions(y, proba, classes, n_boot=0)


# ------------------------------------------------------------------ evaluate_model
def test_evaluate_model_text_with_unseen_label_and_slices(text_model):
    test = TEST.copy()
    test.loc[:7, "label"] = "refund_request"  # new in the test set
    ev = evaluate_model(text_model, test, slice_columns=["source"], n_boot=200)
    pred = text_model.predict(test)
    y = test["label"].to_numpy()
    assert ev["accuracy"] == pytest.approx(float(np.mean(pred == y)))
    assert ev["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro", zero_division=0))
    assert ev["unseen_labels"] == {"refund_request": 8}
    assert ev["accuracy"] > 0.6  # the model learned something
    assert set(ev["slices"]["source"]) == {"email", "chat"}
    assert ev["trainer"] == {"kind": "tfidf-linear", "label_column": "label"}
    json.dumps(ev, allow_nan=False)


def test_evaluate_model_errors(text_model):
    with pytest.raises(DatamoatError, match="'channel'"):
        evaluate_model(text_model, TEST, slice_columns=["channel"])
    with pytest.raises(DatamoatError, match="'label'"):
        evaluate_model(text_model, TEST.drop(columns=["label"]))


def test_evaluate_model_tabular():
    train, test = make_table(400, 1), make_table(200, 2)
    # HistGradientBoosting's OpenMP threads spin for seconds on a loaded 2-core machine; one is plenty here
    with threadpool_limits(1):
        model = tabular().fit(train)
    ev = evaluate_model(model, test, slice_columns=["region"], n_boot=100)
    pred = model.predict(test)
    assert ev["accuracy"] == pytest.approx(skm.accuracy_score(test["label"], pred))
    assert ev["accuracy"] > 0.7
    assert (
        ev["confusion"]["matrix"]
        == skm.confusion_matrix(test["label"], pred, labels=ev["confusion"]["labels"]).tolist()
    )
    assert sum(s["rows"] for s in ev["slices"]["region"].values()) == 200


# ------------------------------------------------------------------ cross_validate
def test_cross_validate_folds_match_an_independent_split():
    data = make_table(240, 4)
    cv = cross_validate(tabular_linear, data, k=4, seed=3, return_oof=True)
    assert cv["k"] == 4 and cv["note"] is None
    assert len(cv["scores"]) == 4 and sum(cv["fold_rows"]) == 240
    assert cv["mean"] == pytest.approx(np.mean(cv["scores"]))
    assert cv["std"] == pytest.approx(np.std(cv["scores"], ddof=1))
    # refit fold 0 by hand with scikit-learn's splitter
    y = data["label"].astype(str).to_numpy()
    train_idx, test_idx = next(StratifiedKFold(4, shuffle=True, random_state=3).split(np.zeros(len(y)), y))
    model = tabular_linear().fit(data.iloc[train_idx])
    assert cv["scores"][0] == pytest.approx(
        skm.accuracy_score(y[test_idx], model.predict(data.iloc[test_idx]))
    )
    oof = cv["oof_proba"]
    assert cv["classes"] == ["high", "low", "mid"]
    assert oof.shape == (240, 3)
    np.testing.assert_allclose(oof.sum(axis=1), 1.0)
    np.testing.assert_allclose(oof[test_idx], model.predict_proba(data.iloc[test_idx]))
    oof_acc = np.mean(np.asarray(cv["classes"])[oof.argmax(axis=1)] == y)
    assert oof_acc == pytest.approx(np.average(cv["scores"], weights=cv["fold_rows"]))


def test_cross_validate_lowers_k_for_a_tiny_class():
    data = confused_texts(90, 5)
    tiny = pd.DataFrame(
        {"text": ["warranty claim broken", "warranty repair", "claim warranty"], "label": "warranty"}
    )
    data = pd.concat([data, tiny], ignore_index=True)
    cv = cross_validate(tfidf, data, k=5, metric="macro_f1", return_oof=True)
    assert cv["k"] == 3 and cv["k_requested"] == 5
    assert "lowered from 5 to 3" in cv["note"] and "'warranty'" in cv["note"]
    assert len(cv["scores"]) == 3 and cv["metric"] == "macro_f1"
    assert cv["oof_proba"].shape == (93, 4)


def test_cross_validate_single_row_class_counts_as_error():
    data = make_table(60, 6)
    data.loc[0, "label"] = "unique"
    cv = cross_validate(tabular_linear, data, k=3, return_oof=True)
    assert cv["k"] == 3
    assert "single row" in cv["note"]
    unique_col = cv["classes"].index("unique")
    assert cv["oof_proba"][0, unique_col] == 0.0  # its fold model never saw the class


def test_cross_validate_errors():
    data = make_table(40, 7)
    with pytest.raises(DatamoatError, match="metric"):
        cross_validate(tabular_linear, data, metric="auc")
    lonely = pd.DataFrame({"x1": [1.0, 2.0, 3.0], "color": ["r", "g", "b"], "label": ["a", "a", "b"]})
    with pytest.raises(DatamoatError, match="two classes"):
        cross_validate(tabular_linear, lonely)
    with pytest.raises(DatamoatError, match="'label'"):
        cross_validate(tabular_linear, data.drop(columns=["label"]))


# ------------------------------------------------------------------ learning_curve
def test_stratified_subsample_keeps_every_class_and_nests():
    y = np.array(["a"] * 50 + ["b"] * 10 + ["c"] * 2, dtype=object)
    small = stratified_subsample(y, 0.1, seed=1)
    large = stratified_subsample(y, 0.5, seed=1)
    assert set(y[small]) == {"a", "b", "c"}
    assert len(small) == 5 + 1 + 1
    assert set(small) <= set(large)
    assert len(stratified_subsample(y, 1.0, seed=1)) == len(y)


def test_learning_curve_rows_increase():
    train, test = make_table(300, 8), make_table(150, 9)
    curve = learning_curve(tabular_linear, train, test, fractions=(0.1, 0.3, 1.0), seed=2)
    assert [p["fraction"] for p in curve] == [0.1, 0.3, 1.0]
    rows = [p["rows"] for p in curve]
    assert rows == sorted(rows) and rows[0] < rows[1] < rows[2] == 300
    full = tabular_linear().fit(train)
    assert curve[-1]["accuracy"] == pytest.approx(skm.accuracy_score(test["label"], full.predict(test)))
    assert curve[-1]["macro_f1"] == pytest.approx(
        skm.f1_score(test["label"], full.predict(test), average="macro")
    )
    assert all(p["fit_seconds"] >= 0 for p in curve)
    with pytest.raises(DatamoatError, match="fractions"):
        learning_curve(tabular_linear, train, test, fractions=(0.0, 1.0))

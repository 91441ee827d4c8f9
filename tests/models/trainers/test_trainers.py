"""The trainer contract and the CPU trainers (tfidf-linear, tabular, tabular-linear)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import datamoat
from datamoat.errors import DatamoatError, NotFoundError
from datamoat.models.trainers.contract import TRAINERS, Trainer, create_trainer

# ------------------------------------------------------------------ generated data
TOPICS = {
    "billing": ["refund", "invoice", "charge", "payment", "billed"],
    "account": ["password", "login", "locked", "username", "reset"],
    "shipping": ["delivery", "parcel", "courier", "tracking", "shipped"],
}


def make_texts(n: int, seed: int) -> pd.DataFrame:
    """Noise words plus one or two topic words; 15% of topic words come from another topic."""
    rng = np.random.default_rng(seed)
    names = list(TOPICS)
    noise = [f"w{i}" for i in range(300)]
    rows = []
    for _ in range(n):
        c = int(rng.choice(3, p=[0.55, 0.3, 0.15]))
        toks = list(rng.choice(noise, int(rng.integers(5, 12))))
        for _ in range(int(rng.integers(1, 3))):
            src = c if rng.random() > 0.15 else int(rng.integers(3))
            word = TOPICS[names[src]][int(rng.integers(5))]
            toks.insert(int(rng.integers(len(toks) + 1)), word.capitalize() if rng.random() < 0.3 else word)
        rows.append({"_dm_row_id": f"r{len(rows)}", "text": " ".join(toks), "label": names[c]})
    return pd.DataFrame(rows)


def make_table(n: int, seed: int) -> pd.DataFrame:
    """Numeric + categorical features; the label is a thresholded linear score, 3% noise."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.uniform(0, 10, size=n)
    color = rng.choice(["red", "green", "blue", "yellow"], size=n)
    region = rng.choice(["north", "south", "east", "west"], size=n)
    score = 2 * x1 + 2.0 * np.isin(color, ["red", "blue"]) - 1 + 0.5 * (x2 - 5) + 1.0 * (region == "north")
    label = np.where(score < -1, "low", np.where(score > 1.5, "high", "mid"))
    flip = rng.random(n) < 0.03
    label[flip] = rng.choice(["low", "mid", "high"], size=int(flip.sum()))
    x2 = x2.copy()
    x2[rng.random(n) < 0.05] = np.nan  # some missing numerics
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "_dm_row_id": [f"r{i}" for i in range(n)],
            "x1": x1,
            "x2": x2,
            "color": color,
            "region": pd.Categorical(region),
            "label": label,
        }
    )


def majority_accuracy(train: pd.DataFrame, test: pd.DataFrame) -> float:
    top = train["label"].value_counts().idxmax()
    return float((test["label"] == top).mean())


def accuracy(trainer: Trainer, test: pd.DataFrame) -> float:
    return float((trainer.predict(test) == test["label"].to_numpy()).mean())


TEXT_TRAIN, TEXT_VALID, TEXT_TEST = make_texts(700, 1), make_texts(200, 2), make_texts(400, 3)
TAB_TRAIN, TAB_VALID, TAB_TEST = make_table(1500, 11), make_table(300, 12), make_table(600, 13)
KINDS = ("tfidf-linear", "tabular", "tabular-linear")


def data_for(kind: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return (TEXT_TRAIN, TEXT_VALID, TEXT_TEST) if kind == "tfidf-linear" else (TAB_TRAIN, TAB_VALID, TAB_TEST)


@pytest.fixture(scope="module")
def fitted() -> dict[str, Trainer]:
    out = {}
    for kind in KINDS:
        train, valid, _ = data_for(kind)
        out[kind] = create_trainer(kind).fit(train, valid=valid)
    return out


# ------------------------------------------------------------------ learning
@pytest.mark.parametrize("kind", KINDS)
def test_each_trainer_beats_the_majority_baseline(kind: str, fitted: dict[str, Trainer]) -> None:
    train, _, test = data_for(kind)
    base, acc = majority_accuracy(train, test), accuracy(fitted[kind], test)
    assert acc >= base + 0.25, (kind, acc, base)
    assert fitted[kind].valid_metrics_ is not None and fitted[kind].valid_metrics_["accuracy"] >= base + 0.2


def test_logreg_variant_of_the_text_trainer_learns_too() -> None:
    t = create_trainer("tfidf-linear", model="logreg", class_weight=None).fit(TEXT_TRAIN)
    assert accuracy(t, TEXT_TEST) >= majority_accuracy(TEXT_TRAIN, TEXT_TEST) + 0.25


def test_tabular_early_stops_on_the_validation_set() -> None:
    t = create_trainer("tabular", max_iter=1000, n_iter_no_change=5).fit(TAB_TRAIN, valid=TAB_VALID)
    assert t.n_iter_ < 1000
    no_stop = create_trainer("tabular", max_iter=30, early_stopping=False).fit(TAB_TRAIN, valid=TAB_VALID)
    assert no_stop.n_iter_ == 30


# ------------------------------------------------------------------ probabilities
@pytest.mark.parametrize("kind", KINDS)
def test_probabilities_have_the_right_shape_sum_and_class_order(
    kind: str, fitted: dict[str, Trainer]
) -> None:
    t = fitted[kind]
    _, _, test = data_for(kind)
    assert t.classes_ == sorted(test["label"].unique())
    proba = t.predict_proba(test)
    assert proba.shape == (len(test), len(t.classes_))
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert list(t.predict(test)) == [t.classes_[i] for i in proba.argmax(axis=1)]
    # class order: an obvious example gets its own class's column highest
    if kind == "tfidf-linear":
        obvious = {"text": ["my parcel delivery tracking courier", "forgot password login reset"]}
        expect = ["shipping", "account"]
    else:
        obvious = {
            "x1": [3.0, -3.0],
            "x2": [9.0, 1.0],
            "color": ["red", "green"],
            "region": ["north", "south"],
        }
        expect = ["high", "low"]
    p = t.predict_proba(obvious)
    for row, label in zip(p, expect, strict=True):
        assert row[t.classes_.index(label)] > 0.6, (kind, row, t.classes_)


def test_text_trainer_takes_a_plain_list_of_texts(fitted: dict[str, Trainer]) -> None:
    t = fitted["tfidf-linear"]
    assert list(t.predict(["invoice refund charge", "", None]))[:1] == ["billing"]
    assert t.predict_proba([]).shape == (0, 3)


# ------------------------------------------------------------------ persistence
@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip_gives_identical_probabilities(
    kind: str, fitted: dict[str, Trainer], tmp_path: Path
) -> None:
    t = fitted[kind]
    _, _, test = data_for(kind)
    t.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "trainer.json").read_text())
    assert meta["kind"] == kind and meta["classes"] == t.classes_
    assert meta["datamoat_version"] == datamoat.__version__ and meta["params"] == t.params()
    loaded = Trainer.load(tmp_path / "m")
    assert type(loaded) is type(t) and loaded.classes_ == t.classes_ and loaded.params() == t.params()
    assert np.array_equal(loaded.predict_proba(test), t.predict_proba(test))
    assert type(t).load(tmp_path / "m").classes_ == t.classes_


def test_load_reports_missing_or_mismatched_folders(fitted: dict[str, Trainer], tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no saved trainer"):
        Trainer.load(tmp_path / "nothing")
    fitted["tabular"].save(tmp_path / "tab")
    with pytest.raises(DatamoatError, match="holds a 'tabular' trainer"):
        TRAINERS["tfidf-linear"].load(tmp_path / "tab")
    (tmp_path / "tab" / "model.joblib").unlink()
    with pytest.raises(NotFoundError, match="model.joblib is missing"):
        Trainer.load(tmp_path / "tab")
    with pytest.raises(DatamoatError, match="not fitted"):
        create_trainer("tabular").save(tmp_path / "x")


# ------------------------------------------------------------------ unseen values
@pytest.mark.parametrize("kind", ["tabular", "tabular-linear"])
def test_unknown_categories_and_missing_values_at_predict_time_work(
    kind: str, fitted: dict[str, Trainer]
) -> None:
    t = fitted[kind]
    rows = pd.DataFrame(
        {
            "x1": [0.5, np.nan, 1.0],
            "x2": [5.0, 2.0, "not a number"],
            "color": ["purple", None, "red"],
            "region": pd.Categorical(["atlantis", "north", None]),
        }
    )
    proba = t.predict_proba(rows)
    assert proba.shape == (3, 3) and np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_unseen_labels_are_reported_not_an_error(kind: str, fitted: dict[str, Trainer]) -> None:
    t = fitted[kind]
    _, _, test = data_for(kind)
    test = test.copy()
    test.loc[test.index[:5], "label"] = "brand-new"
    assert t.unseen_labels(test) == {"brand-new"}
    assert t.unseen_labels([t.classes_[0], "other", None]) == {"other"}
    assert len(t.predict(test)) == len(test)
    train, valid, _ = data_for(kind)
    refit = create_trainer(kind).fit(train.iloc[:400], valid=test)  # valid with an unseen label is fine
    assert refit.valid_metrics_["rows"] == len(test) - 5


def test_default_feature_columns_skip_label_id_and_system_columns(fitted: dict[str, Trainer]) -> None:
    assert fitted["tabular"].feature_columns_ == ["x1", "x2", "color", "region"]
    t = create_trainer("tabular-linear", feature_columns=["x1", "color"]).fit(TAB_TRAIN)
    assert t.feature_columns_ == ["x1", "color"]
    assert t.predict_proba(TAB_TEST[["x1", "color"]]).shape == (len(TAB_TEST), 3)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kind", KINDS)
def test_one_class_labels_raise_a_clear_error(kind: str) -> None:
    train = data_for(kind)[0].iloc[:50].copy()
    train["label"] = "only"
    with pytest.raises(DatamoatError, match="one class .*'only'.*at least two classes"):
        create_trainer(kind).fit(train)


@pytest.mark.parametrize("kind", KINDS)
def test_missing_labels_and_missing_columns_raise(kind: str) -> None:
    train = data_for(kind)[0].iloc[:50].copy()
    train.loc[train.index[3], "label"] = None
    with pytest.raises(DatamoatError, match="1 missing value"):
        create_trainer(kind).fit(train)
    with pytest.raises(DatamoatError, match="'nolabel' not found"):
        create_trainer(kind, label_column="nolabel").fit(train)
    with pytest.raises(DatamoatError, match="DataFrame or a dict"):
        create_trainer(kind).fit(42)


def test_all_empty_texts_raise_a_clear_error() -> None:
    train = pd.DataFrame({"text": ["", None, "   ", ""], "label": ["a", "b", "a", "b"]})
    with pytest.raises(DatamoatError, match="'text' is empty in all 4 training rows"):
        create_trainer("tfidf-linear").fit(train)
    with pytest.raises(DatamoatError, match="'body' not found"):
        create_trainer("tfidf-linear", text_column="body").fit(train)


def test_tiny_text_sets_and_single_row_classes_still_train() -> None:
    train = pd.DataFrame(
        {
            "text": ["refund please", "refund my charge", "password reset", "parcel late"],
            "label": ["billing", "billing", "account", "shipping"],
        }
    )
    t = create_trainer("tfidf-linear").fit(train)
    np.testing.assert_allclose(t.predict_proba(train).sum(axis=1), 1.0, atol=1e-9)


def test_tfidf_linear_records_its_fallback_from_the_svm(fitted: dict[str, Trainer], tmp_path: Path) -> None:
    single_row_class = pd.DataFrame(
        {
            "text": ["refund please", "refund my charge", "password reset", "password locked", "parcel late"],
            "label": ["billing", "billing", "account", "account", "shipping"],
        }
    )
    t = create_trainer("tfidf-linear").fit(single_row_class)
    assert t.fallback_ == (
        "LogisticRegression instead of LinearSVC: class 'shipping' has 1 training row and "
        "the SVM's probability calibration needs at least 2 per class."
    )
    assert type(t.model_.named_steps["clf"]).__name__ == "LogisticRegression"
    t.save(tmp_path / "m")
    assert Trainer.load(tmp_path / "m").fallback_ == t.fallback_
    assert fitted["tfidf-linear"].fallback_ is None  # every class has rows enough: the SVM ran
    fitted["tfidf-linear"].save(tmp_path / "svm")
    assert json.loads((tmp_path / "svm" / "trainer.json").read_text())["state"] == {"fallback": None}


def test_unknown_kind_param_and_bad_values_raise() -> None:
    with pytest.raises(
        DatamoatError, match="unknown trainer kind .nope.; known kinds: causal-lm, causal-lm-finetune, embed-linear, ensemble, finetune, tabular, tabular-linear"
    ):
        create_trainer("nope")
    with pytest.raises(DatamoatError, match="no parameter.*'depth'.*learning_rate"):
        create_trainer("tabular", depth=3)
    with pytest.raises(DatamoatError, match="class_weight='heavy' is not allowed"):
        create_trainer("tfidf-linear", class_weight="heavy").fit(TEXT_TRAIN)
    with pytest.raises(DatamoatError, match="max_iter=0 must be a positive integer"):
        create_trainer("tabular", max_iter=0).fit(TAB_TRAIN)
    with pytest.raises(DatamoatError, match="not fitted"):
        create_trainer("tabular-linear").predict(TAB_TEST)


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        (
            "tfidf-linear",
            {"text_column": "body", "C": 2.0, "class_weight": None, "model": "logreg", "min_df": 1},
        ),
        ("tabular", {"feature_columns": ["a", "b"], "learning_rate": 0.05, "early_stopping": False}),
        ("tabular-linear", {"label_column": "y", "C": 0.1, "max_categories": 10}),
    ],
)
def test_params_round_trip(kind: str, params: dict) -> None:
    t = create_trainer(kind, **params)
    assert {k: t.params()[k] for k in params} == params
    assert not hasattr(t, "model_") and not hasattr(t, "classes_")  # no work in __init__
    again = create_trainer(kind, **json.loads(json.dumps(t.params())))
    assert again.params() == t.params()
    assert set(t.params()) == set(type(t).param_names())


@pytest.mark.parametrize("kind", ["tabular", "tabular-linear"])
def test_high_cardinality_categorical_columns_are_capped_not_fatal(kind: str) -> None:
    train = TAB_TRAIN.assign(city=[f"c{i % 400}" for i in range(len(TAB_TRAIN))])
    t = create_trainer(kind).fit(train)
    if kind == "tabular":
        assert len(t.categories_["city"]) == 250
    proba = t.predict_proba(TAB_TEST.assign(city=[f"c{i}" for i in range(len(TAB_TEST))]))
    assert proba.shape == (len(TAB_TEST), 3) and np.all(np.isfinite(proba))

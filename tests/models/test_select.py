"""Model selection: budgets, folds, candidates, ensembles and the refitted winner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from textgen import intents

from datamoat.budget import parse_budget
from datamoat.errors import DatamoatError
from datamoat.models.evaluation.evaluate import stratified_folds
from datamoat.models.select import select_model


@pytest.mark.parametrize(("text", "seconds"), [("10m", 600), ("90s", 90), ("90", 90), ("1h30m", 5400), (45, 45)])
def test_parse_budget(text, seconds):
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("bad", ["ten minutes", "", "0", "-5", "m"])
def test_parse_budget_rejects(bad):
    with pytest.raises(DatamoatError, match="budget"):
        parse_budget(bad)


def test_stratified_folds_lowers_k_to_the_smallest_class():
    labels = np.array(["a"] * 10 + ["b"] * 2)
    folds, k, _notes = stratified_folds(labels, 5, seed=0)
    assert k == 2 and len(folds) == 2
    for train, test in folds:
        assert set(labels[test]) == {"a", "b"}
        assert not set(train) & set(test)
    covered = np.sort(np.concatenate([t for _, t in folds]))
    assert covered.tolist() == list(range(len(labels)))


def test_selection_scores_every_candidate_and_ensembles_from_oof():
    data = intents(30)
    sel = select_model(data, label_column="intent", text_column="text", budget_s=600,
                       candidates=("tfidf-linear", "embed-linear"), search=False)
    names = [c.name for c in sel.candidates]
    assert names[:2] == ["tfidf-linear", "embed-linear"]
    ens = [c for c in sel.candidates if c.kind == "ensemble"]
    assert len(ens) == 1 and ens[0].members == ("tfidf-linear", "embed-linear")
    scored = [c for c in sel.candidates if c.status == "scored"]
    assert all(len(c.scores) == sel.folds == 3 for c in scored)
    best = max(scored, key=lambda c: c.mean)
    assert sel.candidates[[c.name for c in sel.candidates].index(sel.chosen)].mean == pytest.approx(best.mean)
    # the winner is fitted on all the rows and predicts the obvious cases
    pred = sel.trainer.predict(["I want a refund of the charge", "where is my parcel delivery"])
    assert list(pred) == ["billing", "shipping"]
    d = sel.to_dict()
    assert d["chosen"] == sel.chosen and all("oof" not in str(k) for c in d["candidates"] for k in c)


def test_spent_budget_skips_later_candidates_but_scores_the_first():
    data = intents(12)
    sel = select_model(data, label_column="intent", text_column="text", budget_s=1e-6,
                       candidates=("tfidf-linear", "embed-linear"), search=False)
    first, second = sel.candidates[:2]
    assert first.status == "scored"
    assert second.status == "skipped" and "budget" in second.reason
    assert sel.chosen == "tfidf-linear"


def test_a_spent_budget_judges_the_first_candidate_on_one_fold_and_starts_no_cleaning_trial():
    data = intents(12)
    calls = []

    def clean_train(action):
        calls.append(action)
        return data

    sel = select_model(data, label_column="intent", text_column="text", budget_s=1e-6,
                       candidates=("tfidf-linear",), search=False, label_cleaning=True, clean_train=clean_train)
    first = sel.candidates[0]
    # a model is still made, but its other folds were not run: the budget was already spent
    assert first.status == "scored" and len(first.scores) == 1 and first.one_fold
    assert "judged on one fold" in first.reason
    # a candidate judged on one fold has nothing for the paired per-fold gate to compare with
    assert not [c for c in sel.candidates if c.cleaning and c.status == "scored"]
    assert sel.label_cleaning is not None and not sel.label_cleaning["kept"]
    assert calls == [] and sel.chosen == "tfidf-linear"
    assert list(sel.trainer.predict(["I want a refund of the charge"])) == ["billing"]


def test_optuna_search_adds_a_searched_candidate():
    pytest.importorskip("optuna")
    data = intents(20)
    sel = select_model(data, label_column="intent", text_column="text", budget_s=600,
                       candidates=("tfidf-linear",), search=True)
    searched = [c for c in sel.candidates if "searched" in c.name]
    assert len(searched) == 1 and "C" in searched[0].params and searched[0].status == "scored"


def test_tabular_selection():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    df = pd.DataFrame({"x": x, "colour": rng.choice(["red", "blue"], 200), "y": np.where(x > 0, "hi", "lo")})
    sel = select_model(df, label_column="y", budget_s=600, search=False)
    assert [c.name for c in sel.candidates][:2] == ["tabular-linear", "tabular"]
    assert sel.trainer.predict(pd.DataFrame({"x": [3.0, -3.0], "colour": ["red", "red"]})).tolist() == ["hi", "lo"]


def test_one_class_is_a_clear_error():
    df = pd.DataFrame({"text": ["a b c", "d e f", "g h i"], "intent": ["x", "x", "x"]})
    with pytest.raises(DatamoatError, match="one class"):
        select_model(df, label_column="intent", text_column="text")


def test_a_candidate_whose_measured_first_fold_does_not_fit_is_skipped_with_its_estimate():
    from datamoat.budget import Deadline

    data = intents(30)
    # tfidf-linear is scored first; embed-linear's first fold alone is slower than what is left
    sel = select_model(data, label_column="intent", text_column="text", deadline=Deadline(0.2),
                       candidates=("tfidf-linear", "embed-linear"), search=False)
    by_name = {c.name: c for c in sel.candidates}
    assert by_name["tfidf-linear"].status == "scored"
    skipped = by_name["embed-linear"]
    assert skipped.status == "skipped"
    assert "budget" in skipped.reason and ("estimated" in skipped.reason or "spent" in skipped.reason)


def test_a_search_that_cannot_run_is_reported_not_silent(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    sel = select_model(intents(20), label_column="intent", text_column="text", budget_s=600,
                       candidates=("tfidf-linear",), search=True)
    searches = [c for c in sel.candidates if c.kind == "search"]
    assert len(searches) == 1 and searches[0].status == "skipped" and "optuna" in searches[0].reason


def test_a_trainer_fallback_is_recorded_in_the_candidate_report():
    data = intents(12)
    rare = pd.DataFrame([{"text": "urgent: my parrot ate the router", "intent": "rare"}] * 2)
    sel = select_model(pd.concat([data, rare], ignore_index=True), label_column="intent", text_column="text",
                       budget_s=600, candidates=("tfidf-linear",), search=False)
    tfidf = next(c for c in sel.candidates if c.name == "tfidf-linear")
    # the class 'rare' has one training row in some folds: the SVM's calibration cannot run there
    assert tfidf.status == "scored" and "LogisticRegression instead of LinearSVC" in tfidf.reason

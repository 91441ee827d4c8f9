"""The training workflow through the CLI: run, train, models, evaluate, compare, explain, export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from textgen import intents


def write_csv(path: Path, df: pd.DataFrame) -> Path:
    df.to_csv(path, index=False)
    return path


def test_run_trains_on_a_leakage_free_split_and_reports_json(cli, tmp_path):
    data = write_csv(tmp_path / "tickets.csv", intents(40))
    code, out, err = cli("run", str(data), "--text", "text", "--label", "intent", "--model", "tfidf-linear", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert set(res) >= {"versions", "dropped", "model", "candidates", "test", "timings_s"}
    assert res["model"]["kind"] == "tfidf-linear" and res["model"]["aliases"] == ["champion"]
    t = res["test"]
    assert 0.0 <= t["accuracy_ci"][0] <= t["accuracy"] <= t["accuracy_ci"][1] <= 1.0
    assert t["rows"] > 0 and t["accuracy"] > 0.8
    # the split is taken from the ingested rows: train and test are disjoint, and together with the
    # training rows the recipe dropped they hold every raw row; the test rows lost none
    from datamoat.workspace import Workspace

    with Workspace.open(tmp_path / "ws") as ws:
        raw = ws.version(res["versions"]["raw"])
        train = ws.version(res["versions"]["train"]).to_pandas()
        test = ws.version(res["versions"]["test"]).to_pandas()
        assert not set(train.index) & set(test.index)
        assert len(train) + len(test) + sum(res["dropped"].values()) == raw.num_rows
        first_train = ws.version("tickets-train@1")
        reasons = set(first_train.excluded().column("_dm_reason").to_pylist())
        assert reasons == {"split: test"} and first_train.num_rows + len(test) == raw.num_rows
        assert res["test"]["rows"] == len(test)
        normalised = {" ".join(s.lower().split()) for s in train["text"]}
        assert not normalised & {" ".join(s.lower().split()) for s in test["text"]}
    assert Path(res["model_report"]).is_file()


def test_train_evaluate_compare_explain_export(cli, tmp_path):
    data = write_csv(tmp_path / "tickets.csv", intents(40))
    assert cli("init")[0] == 0
    assert cli("ingest", str(data), "--text", "text", "--label", "intent")[0] == 0
    code, out, err = cli("train", "tickets", "--model", "tfidf-linear", "--json")
    assert code == 0, err
    first = json.loads(out)
    code, out, err = cli("train", "tickets", "--model", "embed-linear", "--json")
    assert code == 0, err
    second = json.loads(out)
    assert first["model"]["aliases"] == ["champion"] and second["model"]["aliases"] == ["challenger"]
    # same split both times: the same frozen test version
    assert first["versions"]["test"] == second["versions"]["test"]

    code, out, _ = cli("models", "--json")
    listed = json.loads(out)["models"]
    assert [m["ref"] for m in listed] == ["tickets@1", "tickets@2"]
    assert listed[0]["info"]["test_ref"] == first["versions"]["test"]

    code, out, err = cli("evaluate", "tickets@champion", "--data", first["versions"]["test"], "--json")
    assert code == 0, err
    ev = json.loads(out)
    assert ev["evaluation"]["accuracy"] == pytest.approx(first["test"]["accuracy"])
    assert Path(ev["report"]).is_file() and Path(ev["report"]).with_suffix(".json").is_file()

    code, out, err = cli("compare", "tickets@1", "tickets@2", "--data", first["versions"]["test"], "--json")
    assert code == 0, err
    cmp = json.loads(out)
    assert cmp["models"]["a"] == "tickets@1" and "mcnemar" in cmp and "p_value" in cmp["mcnemar"]

    code, out, err = cli("explain", "tickets@1", "please refund the charge on my invoice", "--json")
    assert code == 0, err
    ex = json.loads(out)
    assert ex["label"] == "billing"
    top = {t["token"].lower() for t in ex["tokens"][:3]}
    assert top & {"refund", "charge", "invoice"}

    code, out, err = cli("export-model", "tickets@2", str(tmp_path / "export"))
    assert code == 0, err
    card = (tmp_path / "export" / "README.md").read_text()
    assert "tickets (version 2)" in card and "accuracy" in card.lower() and "tickets-train@" in card
    assert (tmp_path / "export" / "config.json").is_file()

    code, _, _ = cli("alias", "tickets@2", "champion")
    assert code == 0
    _, out, _ = cli("models", "--json")
    assert [m["aliases"] for m in json.loads(out)["models"]] == [[], ["challenger", "champion"]]


def test_run_with_a_test_file(cli, tmp_path):
    train = write_csv(tmp_path / "train.csv", intents(30, seed=1))
    test = write_csv(tmp_path / "test.csv", intents(10, seed=2))
    code, out, err = cli("run", str(train), "--text", "text", "--label", "intent", "--test", str(test),
                         "--model", "tfidf-linear", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["versions"]["test"].startswith("train-testfile@")
    assert res["test"]["rows"] == 30  # every test row is judged: none dropped


def test_bad_inputs_give_one_clear_sentence(cli, tmp_path):
    one_class = write_csv(tmp_path / "one.csv", pd.DataFrame({"text": [f"text number {i}" for i in range(30)],
                                                              "intent": ["a"] * 30}))
    code, _, err = cli("run", str(one_class), "--text", "text", "--label", "intent", "--model", "tfidf-linear")
    assert code == 1 and "class" in err and "Traceback" not in err

    empty_text = write_csv(tmp_path / "empty.csv", pd.DataFrame({"text": [""] * 30, "intent": ["a", "b", "c"] * 10,
                                                                 "other": range(30)}))
    code, _, err = cli("-w", str(tmp_path / "ws2"), "run", str(empty_text), "--text", "text", "--label", "intent",
                       "--model", "tfidf-linear")
    assert code == 1 and "Traceback" not in err
    assert "text" in err.lower()

    train = write_csv(tmp_path / "train.csv", intents(20))
    test_df = intents(5, seed=3)
    test_df.loc[0, "intent"] = "cancellation"
    test = write_csv(tmp_path / "test.csv", test_df)
    code, _, err = cli("-w", str(tmp_path / "ws3"), "run", str(train), "--text", "text", "--label", "intent",
                       "--test", str(test), "--model", "tfidf-linear")
    assert code == 1 and "never seen in training" in err and "'cancellation'" in err

    code, _, err = cli("-w", str(tmp_path / "ws4"), "run", str(train), "--text", "text")
    assert code == 1 and "--label" in err


def test_tabular_run_with_k_anonymity_in_the_recipe(cli, tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    age = rng.integers(18, 80, n)
    income = rng.normal(3000, 800, n).round()
    df = pd.DataFrame({
        "age": age, "zip": rng.choice(["10115", "10117", "10119", "20095"], n),
        "income": income, "housing": rng.choice(["own", "rent"], n),
        "target": np.where(income + 20 * (age - 50) > 3000, "good", "bad"),
    })
    data = write_csv(tmp_path / "credit.csv", df)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("- step: drop_missing\n- step: k_anonymize\n  k: 5\n  quasi_identifiers: [age, zip]\n")
    code, out, err = cli("run", str(data), "--label", "target", "--task", "tabular", "--recipe", str(recipe),
                         "--budget", "5m", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["model"]["kind"] in {"tabular", "tabular-linear", "ensemble"}
    assert res["test"]["accuracy"] > 0.7
    names = [c["name"] for c in res["candidates"]]
    assert names[:2] == ["tabular-linear", "tabular"]


def test_run_refuses_a_budget_typo_before_writing_anything(cli, tmp_path):
    data = write_csv(tmp_path / "tickets.csv", intents(10))
    code, _out, err = cli("run", str(data), "--text", "text", "--label", "intent", "--budget", "10min")
    assert code == 1 and "budget '10min' is not a duration" in err
    assert not (tmp_path / "ws").exists()  # not even a workspace was made

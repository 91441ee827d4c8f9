"""The main job through the Python API: run_loop's order (split before cleaning), deadline and rollback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datamoat import DatamoatError, Workspace, run_loop

TOPICS = {
    "billing": ["invoice", "charged", "refund", "payment", "card", "price"],
    "shipping": ["parcel", "delivery", "courier", "tracking", "arrived", "package"],
    "login": ["password", "account", "locked", "reset", "sign", "username"],
}


def noisy_tickets(n: int, noise: float, seed: int) -> pd.DataFrame:
    """``n`` short texts of three topics; a ``noise`` share of ALL rows gets a wrong label."""
    rng = np.random.default_rng(seed)
    labels = list(TOPICS)
    rows = []
    for i in range(n):
        topic = labels[i % 3]
        words = rng.choice(TOPICS[topic], size=3, replace=True)
        other = rng.choice(sum(TOPICS.values(), []), size=2)
        text = f"ticket {i}: {' '.join(words)} {' '.join(other)} please help"
        label = topic
        if rng.random() < noise:
            label = labels[(labels.index(topic) + 1 + int(rng.integers(2))) % 3]
        rows.append({"id": f"t{i}", "text": text, "intent": label})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def noisy_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("loop")
    csv = root / "tickets.csv"
    noisy_tickets(900, noise=0.2, seed=3).to_csv(csv, index=False)
    ws = Workspace.init(root / "ws")
    result = run_loop(ws, csv, text="text", label="intent", id_column="id", budget="4m")
    yield ws, result, pd.read_csv(csv)
    ws.close()


def test_reported_test_accuracy_is_what_the_model_scores_on_the_raw_test_rows(noisy_run):
    ws, result, raw = noisy_run
    test_v = ws.version(result.versions["test"])
    test_ids = set(test_v.to_pandas()["id"])
    raw_test = raw[raw["id"].isin(test_ids)]
    # every labelled raw row of the held-out part is scored: none was dropped by a model
    assert len(raw_test) == result.rows["test"] == result.train.evaluation["rows"]
    predicted = result.train.trainer.predict(raw_test)
    independent = float(np.mean(np.asarray(predicted) == raw_test["intent"].to_numpy()))
    head = result.train.headline()
    lo, hi = head["accuracy_ci"]
    assert lo <= independent <= hi
    reported = head["accuracy"]
    # with 20% label noise in the test rows too, an honest figure cannot be near 1
    assert reported < 0.9


def test_cleaning_touches_only_training_rows(noisy_run):
    ws, result, _raw = noisy_run
    gate = result.train.selection["label_cleaning"]
    # the gate reports both figures on the same untouched validation folds
    assert gate["raw"] > 0 and gate["cleaned"] is not None and "gain" in gate
    assert {d["step"] for d in gate["tried"]} == {"label_issues:drop", "label_issues:relabel"}
    # rows were dropped by the gate's cleaning exactly when a cleaned candidate passed and won
    applied = gate.get("applied", False)
    assert (result.dropped.get("label issue", 0) > 0) == applied and (gate["kept"] or not applied)
    assert "near duplicate" not in result.dropped  # near duplicates re-weight; the split keeps them apart
    train_ids = set(ws.version(result.versions["train"]).to_arrow(["_dm_row_id"]).column(0).to_pylist())
    test_ids = set(ws.version(result.versions["test"]).to_arrow(["_dm_row_id"]).column(0).to_pylist())
    assert not train_ids & test_ids
    excluded = ws.version(result.versions["clean"]).excluded().to_pandas()
    if gate.get("applied"):
        excluded = pd.concat([excluded, ws.version(result.versions["train"]).excluded().to_pandas()])
    assert len(excluded) == sum(result.dropped.values())
    assert not set(excluded["_dm_row_id"]) & test_ids
    assert ws.version(result.versions["test"]).excluded().num_rows == 0
    assert "before any cleaning" in result.test_treatment
    out = result.to_dict()
    assert out["budget"]["budget_s"] == 240 and 0 < out["budget"]["used_s"] <= 240
    assert out["test"]["rows"] == result.rows["test"]


def test_a_bad_budget_fails_before_anything_is_written(tmp_path):
    csv = tmp_path / "t.csv"
    noisy_tickets(60, 0.0, 1).to_csv(csv, index=False)
    ws = Workspace.init(tmp_path / "ws")
    with pytest.raises(DatamoatError, match="not a duration"):
        run_loop(ws, csv, text="text", label="intent", budget="10min")
    assert ws.datasets() == []


def test_a_run_that_fails_half_way_leaves_the_catalog_as_it_was(tmp_path):
    train_csv, test_csv = tmp_path / "t.csv", tmp_path / "test.csv"
    noisy_tickets(120, 0.0, 1).to_csv(train_csv, index=False)
    bad = noisy_tickets(30, 0.0, 2)
    bad["intent"] = "a label never seen in training"
    bad.to_csv(test_csv, index=False)
    ws = Workspace.init(tmp_path / "ws")
    ws.ingest(train_csv, name="before", text="text", label="intent")
    before = ws.datasets()
    with pytest.raises(DatamoatError, match="never seen in training"):
        run_loop(ws, train_csv, name="tickets", text="text", label="intent", test=test_csv, model="tfidf-linear")
    assert ws.datasets() == before
    from datamoat.models.training import models_registry

    assert models_registry(ws).list("tickets") == []


def test_a_named_cheap_model_still_gets_the_label_cleaning_gate(tmp_path):
    csv = tmp_path / "t.csv"
    noisy_tickets(300, noise=0.2, seed=5).to_csv(csv, index=False)
    ws = Workspace.init(tmp_path / "ws")
    result = run_loop(ws, csv, text="text", label="intent", model="tfidf-linear", budget="2m")
    gate = result.train.selection["label_cleaning"]
    assert result.train.record.kind == "tfidf-linear" and "chosen by the user" in result.train.selection["reason"]
    assert {d["step"] for d in gate["tried"]} == {"label_issues:drop", "label_issues:relabel"}
    assert all(d["raw"] > 0 for d in gate["tried"])

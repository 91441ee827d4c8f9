"""The flywheel: feedback -> new training version -> clean -> retrain -> compare -> promote or keep."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from filelock import FileLock
from textgen import keyword_texts

from datamoat.catalog import Catalog
from datamoat.catalog.audit import verify_chain
from datamoat.catalog.tables import audit_events, feedback_records
from datamoat.errors import DatamoatError
from datamoat.feedback.records import FeedbackStore
from datamoat.flywheel import feedback_row_id, list_decisions, merge_feedback, retrain
from datamoat.flywheel.decisions import record_decision
from datamoat.models.training import models_registry, train_model

MODEL = "intent"


def ingest(ws, df: pd.DataFrame, name: str, tmp: Path):
    path = tmp / f"{name}.csv"
    df.to_csv(path, index=False)
    return ws.ingest(path, name=name, text="text", label="label")


def champion_on(ws, train: pd.DataFrame, test: pd.DataFrame, tmp: Path):
    """Ingest ``train`` as intent-train and ``test`` as intent-test; train the champion (tfidf-linear)."""
    train_v = ingest(ws, train, "intent-train", tmp)
    test_v = ingest(ws, test, "intent-test", tmp)
    result = train_model(ws, train_v.ref, model="tfidf-linear", name=MODEL, test=test_v.ref, learning_curve=False)
    assert "champion" in result.record.aliases
    return result.record


def add_ready(ws, df: pd.DataFrame, user: str = "ann") -> list[int]:
    """Text + label feedback (no suggestion): ready for training; returns the record ids."""
    store = FeedbackStore(ws.catalog)
    ids = []
    for text, label in zip(df["text"], df["label"], strict=True):
        out = store.add_feedback(model_name=MODEL, user=user, text=text, label=label)
        assert out["status"] == "ready"
        ids.append(int(out["record_id"]))
    return ids


def consumed(ws, ids: list[int]) -> dict[int, int | None]:
    with ws.catalog.engine.connect() as conn:
        rows = conn.execute(sa.select(feedback_records.c.id, feedback_records.c.consumed_version_id)
                            .where(feedback_records.c.id.in_(ids))).all()
    return {r.id: r.consumed_version_id for r in rows}


@pytest.fixture
def any_workspace(catalog_url, tmp_path, monkeypatch):
    """A fresh workspace whose catalog is SQLite, then a real PostgreSQL."""
    from datamoat.workspace import Workspace

    monkeypatch.setenv("DATAMOAT_CATALOG_URL", catalog_url)
    ws = Workspace.init(tmp_path / "ws")
    yield ws
    ws.close()


def test_feedback_makes_a_better_challenger_that_is_promoted(any_workspace, tmp_path):
    ws = any_workspace
    pool = keyword_texts(160, 1)
    champion = champion_on(ws, pool.iloc[:12], keyword_texts(300, 2), tmp_path)
    base = ws.version_by_id(champion.train_version_id)
    ids = add_ready(ws, pool.iloc[12:])
    promoted_to = []
    steps: list[str] = []

    decision = retrain(ws, MODEL, budget="2m", on_promote=promoted_to.append, progress=steps.append)

    assert decision.promoted, decision.reason
    assert decision.reason.startswith("promoted: challenger intent@2")
    registry = models_registry(ws)
    new_champion = registry.resolve(f"{MODEL}@champion")
    assert new_champion.id == decision.challenger_id != champion.id
    assert registry.resolve(f"{MODEL}@previous").id == champion.id
    assert "challenger" not in new_champion.aliases
    assert [r.id for r in promoted_to] == [new_champion.id] and "champion" in promoted_to[0].aliases
    f = decision.figures
    assert f["challenger"]["accuracy"] > f["champion"]["accuracy"] + 0.2
    assert f["mcnemar_p"] < 0.05 and f["bootstrap_ci"][0] > 0 and f["significant"]
    assert f["champion"]["accuracy_ci"][0] <= f["champion"]["accuracy"] <= f["champion"]["accuracy_ci"][1]
    assert f["rows"]["feedback"] == decision.feedback_rows == 148 and f["rows"]["test"] == 300
    assert f["rows"]["merged"] == 160 and f["rows"]["train"] <= 160
    assert Path(f["report"]).is_file() and f["report"].endswith("retrain-intent-2.html")
    assert set(f["timings_s"]) >= {"merge", "clean", "train", "compare", "total"}
    assert steps and any("merged" in s for s in steps)

    # lineage: test version frozen; train version <- cleaned <- merged <- the champion's training version
    train_v = ws.version_by_id(decision.train_version_id)
    assert decision.test_version_id == champion.test_version_id == new_champion.test_version_id
    assert new_champion.train_version_id == train_v.record.id
    assert train_v.record.step == "clean"
    merged = ws.version_by_id(train_v.record.parents[0])
    assert merged.record.step == "feedback" and merged.record.parents == [base.record.id]
    assert merged.dataset == base.dataset == "intent-train"
    assert sorted(merged.record.params["feedback_record_ids"]) == sorted(ids)
    row_ids = set(merged.to_pandas().index)
    assert {feedback_row_id(i) for i in ids} <= row_ids and len(row_ids) == 160
    assert merged.to_pandas().loc[feedback_row_id(ids[0]), "text"] == pool.iloc[12]["text"]

    # feedback consumed into the training version; nothing ready any more; decision listed + audited
    assert set(consumed(ws, ids).values()) == {train_v.record.id}
    assert FeedbackStore(ws.catalog).ready_records(MODEL).empty
    listed = list_decisions(ws.catalog, MODEL)
    assert [d.id for d in listed] == [decision.id] and listed[0].to_dict() == decision.to_dict()
    with ws.catalog.engine.connect() as conn:
        events = conn.execute(sa.select(audit_events).where(audit_events.c.action == "retrain")).all()
    assert len(events) == 1 and json.loads(events[0].details_json)["promoted"] is True
    assert verify_chain(ws.catalog).ok

    # the next retrain has nothing new: error, no decision
    with pytest.raises(DatamoatError, match="no new feedback for model 'intent'"):
        retrain(ws, MODEL)
    assert len(list_decisions(ws.catalog, MODEL)) == 1

    # a retrain that recorded its decision but stopped before marking the feedback: the records are
    # already in the training data, so they are marked as used and not trained on twice
    with ws.catalog.engine.begin() as conn:
        conn.execute(sa.update(feedback_records).where(feedback_records.c.id.in_(ids[:3]))
                     .values(consumed_version_id=None))
    with pytest.raises(DatamoatError, match="were already in intent-train@.* and are now marked as used"):
        retrain(ws, MODEL)
    assert set(consumed(ws, ids[:3]).values()) == {train_v.record.id}
    assert len(list_decisions(ws.catalog, MODEL)) == 1 and len(models_registry(ws).list(MODEL)) == 2


def test_feedback_that_adds_nothing_keeps_the_champion(workspace, tmp_path):
    ws = workspace
    train = keyword_texts(240, 3)
    champion = champion_on(ws, train, keyword_texts(200, 4), tmp_path)
    ids = add_ready(ws, train.iloc[:5])  # texts the model was trained on, same labels

    decision = retrain(ws, MODEL, model="tfidf-linear", budget="2m")

    assert not decision.promoted
    assert decision.reason.startswith("kept: ") and "not significantly more accurate" in decision.reason
    assert models_registry(ws).resolve(f"{MODEL}@champion").id == champion.id
    assert models_registry(ws).resolve(f"{MODEL}@challenger").id == decision.challenger_id
    f = decision.figures
    assert f["dropped_by_reason"]["exact duplicate"] == 5
    assert abs(f["accuracy_difference"]) < 0.05 and not f["significant"]
    assert f["augment"] == "off"  # the champion was trained without augmentation, so is the challenger
    assert set(consumed(ws, ids).values()) == {decision.train_version_id}
    [listed] = list_decisions(ws.catalog, MODEL)
    assert listed.promoted is False and listed.reason == decision.reason

    # feedback accumulates: the next round starts from the kept challenger's training version
    more = add_ready(ws, keyword_texts(8, 5))
    second = retrain(ws, MODEL, model="tfidf-linear", budget="2m")
    merged = ws.version_by_id(ws.version_by_id(second.train_version_id).record.parents[0])
    assert merged.record.parents == [decision.train_version_id]
    assert {feedback_row_id(i) for i in more} <= set(merged.to_pandas().index)
    assert [d.id for d in list_decisions(ws.catalog, MODEL)] == [second.id, decision.id]


def test_no_feedback_no_champion_and_a_running_retrain_are_errors(workspace, tmp_path):
    ws = workspace
    with pytest.raises(DatamoatError, match="no model named 'intent'"):
        retrain(ws, MODEL)
    champion_on(ws, keyword_texts(40, 6), keyword_texts(40, 7), tmp_path)
    with pytest.raises(DatamoatError, match="no new feedback for model 'intent'"):
        retrain(ws, MODEL)
    assert list_decisions(ws.catalog) == [] and len(models_registry(ws).list(MODEL)) == 1

    add_ready(ws, keyword_texts(4, 8))
    with FileLock(str(ws.state / "locks" / f"retrain-{MODEL}.lock")):
        with pytest.raises(DatamoatError, match="a retrain of 'intent' is already running"):
            retrain(ws, MODEL, lock_timeout_s=0.2)
    assert list_decisions(ws.catalog) == []

    with ws.catalog.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM model_aliases"))
    with pytest.raises(DatamoatError, match="model 'intent' has no champion"):
        retrain(ws, MODEL)


def test_a_failed_retrain_records_nothing_and_keeps_the_feedback(workspace, tmp_path):
    """Cleaning drops the only training example of a class the frozen test set has: training fails."""
    ws = workspace
    train = keyword_texts(60, 9)
    rare = pd.DataFrame([{"text": train.iloc[0]["text"].upper(), "label": "other"}])  # an exact duplicate
    test = pd.concat([keyword_texts(60, 10), pd.DataFrame([{"text": "w1 w2 w3 odd one", "label": "other"}])])
    champion = champion_on(ws, pd.concat([train, rare], ignore_index=True), test, tmp_path)
    ids = add_ready(ws, keyword_texts(20, 11))

    with pytest.raises(DatamoatError, match=r"retrain of 'intent' stopped while training the challenger: .*'other'"):
        retrain(ws, MODEL, model="tfidf-linear", budget="2m")

    assert list_decisions(ws.catalog, MODEL) == []
    assert models_registry(ws).resolve(f"{MODEL}@champion").id == champion.id
    assert set(consumed(ws, ids).values()) == {None}
    assert sorted(FeedbackStore(ws.catalog).ready_records(MODEL)["record_id"]) == sorted(ids)


def test_merge_fits_feedback_to_the_label_type_and_skips_records_already_in(workspace, tmp_path):
    ws = workspace
    df = pd.DataFrame({"text": ["first text", "second text", "third text"], "label": [1, 2, 1],
                       "channel": ["web", "mail", "web"]})
    base = ingest(ws, df, "nums", tmp_path)
    fb = pd.DataFrame({"record_id": [7, 8], "text": ["new one", "new two"], "label": ["2", "1"]})
    merged = merge_feedback(ws, base, fb, model_name="nums")
    out = merged.version.to_pandas()
    assert merged.created and merged.rows == 5 and merged.added_record_ids == [7, 8]
    assert out.loc["feedback-7", "label"] == 2 and pd.isna(out.loc["feedback-8", "channel"])
    assert str(merged.version.schema.field("label").type) == "int64"
    assert merged.version.record.parents == [base.record.id]

    again = merge_feedback(ws, merged.version, pd.DataFrame({"record_id": [7, 9], "text": ["x", "new three"],
                                                             "label": ["2", "2"]}))
    assert again.skipped_record_ids == [7] and again.added_record_ids == [9] and again.rows == 6
    with pytest.raises(DatamoatError, match="already in"):
        merge_feedback(ws, again.version, fb)
    with pytest.raises(DatamoatError, match="feedback label 'spam' cannot be stored in column 'label'"):
        merge_feedback(ws, base, pd.DataFrame({"record_id": [10], "text": ["t"], "label": ["spam"]}))


def test_decisions_on_sqlite_and_postgres(catalog_url, tmp_path):
    cat = Catalog(catalog_url, tmp_path / "lock")
    try:
        first = record_decision(cat, model_name="m", promoted=False, reason="kept: no difference.", champion_id=None,
                                challenger_id=None, train_version_id=None, test_version_id=None, feedback_rows=3,
                                figures={"mcnemar_p": float("nan"), "champion": {"ref": "m@1", "accuracy": 0.5}})
        second = record_decision(cat, model_name="m", promoted=False, reason="kept again.", champion_id=None,
                                 challenger_id=None, train_version_id=None, test_version_id=None, feedback_rows=1,
                                 figures={})
        record_decision(cat, model_name="other", promoted=False, reason="x.", champion_id=None, challenger_id=None,
                        train_version_id=None, test_version_id=None, feedback_rows=1, figures={})
        listed = list_decisions(cat, "m")
        assert [d.id for d in listed] == [second.id, first.id]
        assert listed[1].figures == {"mcnemar_p": None, "champion": {"ref": "m@1", "accuracy": 0.5}}
        assert listed[1].champion_ref == "m@1" and listed[1].at.tzinfo is not None
        assert len(list_decisions(cat)) == 3
        assert verify_chain(cat).ok
    finally:
        cat.close()


def test_cli_retrain_and_promotions(cli, tmp_path):
    from datamoat.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws")
    try:
        pool = keyword_texts(160, 12)
        champion_on(ws, pool.iloc[:12], keyword_texts(200, 13), tmp_path)
        add_ready(ws, pool.iloc[12:])
    finally:
        ws.close()

    code, out, err = cli("retrain", MODEL, "--budget", "2m", "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["promoted"] is True and first["challenger"] == "intent@2" and first["champion"] == "intent@1"
    assert first["figures"]["challenger"]["accuracy"] > first["figures"]["champion"]["accuracy"]

    code, out, err = cli("retrain", MODEL)
    assert code == 1 and "no new feedback for model 'intent'" in err

    ws = Workspace.open(tmp_path / "ws")
    try:
        add_ready(ws, pool.iloc[20:24])
    finally:
        ws.close()
    code, out, err = cli("retrain", MODEL, "--alpha", "0.01")
    assert code == 0, err
    assert "kept the champion" in out and "McNemar p=" in out and "report:" in out

    code, out, err = cli("promotions", MODEL, "--json")
    assert code == 0, err
    listed = json.loads(out)["decisions"]
    assert [d["promoted"] for d in listed] == [False, True] and listed[1]["id"] == first["id"]
    code, out, err = cli("promotions", MODEL)
    assert code == 0 and "retrain decisions of intent" in out
    code, out, err = cli("retrain", MODEL, "--alpha", "2")
    assert code == 1 and "alpha" in err


def test_a_compressed_champion_is_challenged_by_a_compressed_model(workspace, tmp_path):
    """When the served champion is the int8 model, the challenger is compressed the same way
    before the comparison, so a promotion keeps the server's speed."""
    pytest.importorskip("onnxruntime")
    from datamoat.models.training import register_compressed

    ws = workspace
    train_v = ingest(ws, keyword_texts(16, seed=21), "intent-train", tmp_path)
    test_v = ingest(ws, keyword_texts(40, seed=22), "intent-test", tmp_path)
    fp32 = train_model(ws, train_v.ref, model="embed-linear", name=MODEL, test=test_v.ref,
                       learning_curve=False).record
    registry = models_registry(ws)
    int8, _, _ = register_compressed(registry, fp32, registry.load(fp32.ref), test_v.to_pandas(),
                                     test_version_id=fp32.test_version_id, work_root=tmp_path, report=False)
    registry.set_alias(MODEL, "champion", int8.id)
    add_ready(ws, keyword_texts(24, seed=23))
    decision = retrain(ws, MODEL, model="same")
    challenger = registry.get_by_id(decision.challenger_id)
    assert challenger.info["compression"]["method"] == "onnx-int8"
    assert challenger.info["compressed_from"] != int8.ref
    loaded = registry.load(challenger.ref)
    assert loaded.text_encoder().backend == "onnx"
    assert "challenger" in challenger.aliases or "champion" in challenger.aliases

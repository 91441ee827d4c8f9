"""The prediction log and the feedback store, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from datamoat.catalog import Catalog
from datamoat.catalog.records import utc_now
from datamoat.catalog.tables import feedback_records, predictions
from datamoat.errors import DatamoatError, NotFoundError
from datamoat.feedback.predictions import PredictionLog, PredictionRow, hash_text, new_prediction_id
from datamoat.feedback.records import FeedbackStore
from datamoat.models.registry import ModelRecord
from datamoat.models.trainers.contract import create_trainer
from datamoat.models.training import models_registry
from datamoat.workspace import Workspace

TRAIN = [
    ("I want my money back", "refund"), ("please refund my order", "refund"), ("refund the payment now", "refund"),
    ("money back for the broken item", "refund"), ("where is my refund", "refund"), ("refund please", "refund"),
    ("my parcel is late", "delivery"), ("where is the courier", "delivery"), ("delivery has not arrived", "delivery"),
    ("the parcel never came", "delivery"), ("courier lost my parcel", "delivery"), ("late delivery again", "delivery"),
]


@pytest.fixture
def served(catalog_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A workspace (SQLite or PostgreSQL catalog) with a registered tfidf-linear model ``intent``."""
    monkeypatch.setenv("DATAMOAT_CATALOG_URL", catalog_url)
    ws = Workspace.init(tmp_path / "ws")
    record = _register_model(ws, tmp_path)
    yield ws, record
    ws.close()


def _register_model(ws: Workspace, tmp_path: Path) -> ModelRecord:
    frame = pd.DataFrame(TRAIN, columns=["text", "label"])
    frame.to_csv(tmp_path / "train.csv", index=False)
    version = ws.ingest(tmp_path / "train.csv", name="intents", text="text", label="label")
    trainer = create_trainer("tfidf-linear", text_column="text", label_column="label", min_df=1).fit(frame)
    return models_registry(ws).register(trainer, "intent", train_version_id=version.record.id,
                                        info={"classes": [str(c) for c in trainer.classes_]}, aliases=["champion"])


def _row(record: ModelRecord, text: str | None, scores: dict[str, float], **kw) -> PredictionRow:
    return PredictionRow.from_scores(model_name=record.name, model_id=record.id, scores=scores, text=text,
                                     text_hash=hash_text(text or "raw input"), **kw)


def _count(catalog: Catalog, table: sa.Table) -> int:
    with catalog.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


# ---------------------------------------------------------------- prediction log
def test_concurrent_adds_are_batched_and_all_written(served) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog, flush_interval_s=0.02, max_batch=128)
    ids: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(500):
            row = _row(record, f"text {n}-{i}", {"refund": 0.7, "delivery": 0.3}, client=f"t{n}")
            log.add(row)
            with lock:
                ids.append(row.id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.flush()
    with ws.catalog.engine.connect() as conn:
        stored = [r for (r,) in conn.execute(sa.select(predictions.c.id))]
    assert len(stored) == 2000 and len(set(stored)) == 2000 and set(stored) == set(ids)
    assert log.pending() == 0 and log.written == 2000 and log.dropped == 0
    frame = log.frame("intent")
    assert len(frame) == 2000 and frame["scores"].iloc[0] == {"refund": 0.7, "delivery": 0.3}
    assert frame["margin"].round(6).eq(0.4).all() and str(frame["created_at"].dt.tz) == "UTC"
    log.close()


def test_get_finds_a_row_still_waiting_in_the_queue(served) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog, flush_interval_s=30, max_batch=10_000)  # the writer would wait 30 s
    first = _row(record, "where is my parcel", {"delivery": 0.8, "refund": 0.2})
    log.add(first)
    time.sleep(0.05)
    assert log.pending() == 1 and _count(ws.catalog, predictions) == 0
    started = time.monotonic()
    got = log.get(first.id)
    assert time.monotonic() - started < 5
    assert got is not None and got.label == "delivery" and got.scores == {"delivery": 0.8, "refund": 0.2}
    assert _count(ws.catalog, predictions) == 1 and log.get(new_prediction_id()) is None
    log.add(_row(record, "refund please", {"refund": 0.9, "delivery": 0.1}))
    log.close()  # close flushes
    assert _count(ws.catalog, predictions) == 2
    with pytest.raises(DatamoatError, match="closed"):
        log.add(_row(record, "late", {"delivery": 1.0}))


def test_ten_thousand_rows_are_all_flushed(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    record = _register_model(ws, tmp_path)
    log = PredictionLog(ws.catalog)
    rows = [_row(record, f"text {i}", {"refund": 0.6, "delivery": 0.4}) for i in range(10_000)]
    for row in rows:
        log.add(row)
    log.flush()
    assert _count(ws.catalog, predictions) == 10_000
    log.close()
    ws.close()


def test_a_failed_batch_is_logged_and_retried_not_dropped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ws = Workspace.init(tmp_path / "ws")
    record = _register_model(ws, tmp_path)
    log = PredictionLog(ws.catalog, flush_interval_s=0.01)
    with ws.catalog.engine.begin() as conn:  # make every write fail until the table is back
        conn.exec_driver_sql("ALTER TABLE predictions RENAME TO predictions_away")
    with caplog.at_level(logging.WARNING, logger="datamoat.feedback"):
        for i in range(20):
            log.add(_row(record, f"secret text {i}", {"refund": 0.5, "delivery": 0.5}))
        deadline = time.monotonic() + 10
        while not any("retrying" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert log.pending() == 20
        with ws.catalog.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE predictions_away RENAME TO predictions")
        log.flush(timeout=20)
    assert _count(ws.catalog, predictions) == 20 and log.dropped == 0
    assert any(r.name == "datamoat.feedback" and "retrying" in r.getMessage() for r in caplog.records)
    assert "secret text" not in caplog.text
    log.close()
    ws.close()


def test_rows_the_database_rejects_are_dropped_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ws = Workspace.init(tmp_path / "ws")
    record = _register_model(ws, tmp_path)
    log = PredictionLog(ws.catalog, flush_interval_s=0.5)
    bad = PredictionRow.from_scores(model_name="intent", model_id=9999, scores={"refund": 1.0},
                                    text="card 4111 1111 1111 1111", text_hash=hash_text("x"))
    with caplog.at_level(logging.WARNING, logger="datamoat.feedback"):
        good = [_row(record, f"ok {i}", {"refund": 0.9, "delivery": 0.1}) for i in range(5)]
        for row in [*good[:2], bad, *good[2:]]:
            log.add(row)
        log.flush()
    assert _count(ws.catalog, predictions) == 5 and log.dropped == 1 and log.get(bad.id) is None
    assert bad.id in caplog.text and "4111" not in caplog.text
    with pytest.raises(DatamoatError, match="finite"):
        log.add(_row(record, "x", {"refund": float("nan")}))
    log.close()
    sync = PredictionLog(ws.catalog, background=False)
    row = _row(record, "sync", {"refund": 0.55, "delivery": 0.45})
    sync.add(row)
    assert sync.get(row.id) is not None and sync.get(row.id).margin == pytest.approx(0.1)
    with pytest.raises(DatamoatError, match="rejected"):
        sync.add(bad)
    ws.close()


def test_frame_filters_by_time(served) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog, background=False)
    now = utc_now()
    for days in (3, 2, 1):
        log.add(_row(record, f"{days} days ago", {"refund": 0.6, "delivery": 0.4}, created_at=now - timedelta(days=days)))
    frame = log.frame("intent", since=now - timedelta(days=2, hours=1), until=now - timedelta(hours=12))
    assert frame["text"].tolist() == ["2 days ago", "1 days ago"]
    assert log.frame("other").empty


# ---------------------------------------------------------------- feedback rules
def test_feedback_rules_ready_review_pending(served) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog)
    store = FeedbackStore(ws.catalog, log, confident_score=0.9)
    confident = _row(record, "refund my order", {"refund": 0.95, "delivery": 0.05})
    unsure = _row(record, "hmm my parcel money", {"refund": 0.6, "delivery": 0.4})
    agreed = _row(record, "late parcel", {"delivery": 0.7, "refund": 0.3})
    wrong = _row(record, "courier refund", {"refund": 0.55, "delivery": 0.45})
    for row in (confident, unsure, agreed, wrong):
        log.add(row)

    up = store.add_feedback(model_name="intent", user="u1", prediction_id=confident.id, vote="up")
    assert (up["status"], up["final_label"], up["new_class"]) == ("ready", "refund", False)
    same = store.add_feedback(model_name="intent", user="u1", prediction_id=agreed.id, label="delivery")
    assert (same["status"], same["final_label"]) == ("ready", "delivery")
    changed = store.add_feedback(model_name="intent", user="u1", prediction_id=unsure.id, label="delivery")
    assert (changed["status"], changed["final_label"]) == ("ready", "delivery")
    down = store.add_feedback(model_name="intent", user="u1", prediction_id=wrong.id, vote="down")
    assert (down["status"], down["final_label"]) == ("pending", None)
    contradicting = _row(record, "refund the payment", {"refund": 0.93, "delivery": 0.07})
    log.add(contradicting)
    review = store.add_feedback(model_name="intent", user="u2", prediction_id=contradicting.id, label="delivery")
    assert review["status"] == "review" and review["final_label"] is None and "confident" in review["reason"]

    text_review = store.add_feedback(model_name="intent", user="u3", text="return my cash",
                                     label="delivery", suggestion={"label": "refund", "score": 0.97,
                                                                   "model_id": record.id})
    assert text_review["status"] == "review" and text_review["prediction_id"] is None
    new_class = store.add_feedback(model_name="intent", user="u3", text="change my address", label="account")
    assert (new_class["status"], new_class["final_label"], new_class["new_class"]) == ("ready", "account", None)
    flagged = store.add_feedback(model_name="intent", user="u3", text="my card was charged twice", label="billing",
                                 suggestion={"label": "refund", "score": 0.5, "model_id": record.id})
    assert (flagged["status"], flagged["new_class"]) == ("ready", True)
    assert store.counts("intent") == {"pending": 1, "review": 2, "ready": 5, "discarded": 0, "consumed": 0,
                                      "total": 8}
    rec = store.record(review["record_id"])
    assert rec["text"] == "refund the payment" and rec["suggestion_label"] == "refund"
    assert [(a["user"], a["label"], a["status"]) for a in rec["responses"]] == [("u2", "delivery", "submitted")]
    log.close()


def test_feedback_input_is_checked(served) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog, background=False)
    store = FeedbackStore(ws.catalog, log)
    row = _row(record, "refund please", {"refund": 0.8, "delivery": 0.2})
    log.add(row)
    cases = [
        (dict(prediction_id=row.id, label="  "), "non-empty"),
        (dict(prediction_id=row.id, vote="sideways"), "'up' or 'down'"),
        (dict(label="refund"), "prediction_id or a non-empty text"),
        (dict(prediction_id=row.id), "a label or a vote"),
        (dict(prediction_id=row.id, vote="up", label="delivery"), "vote 'up'"),
        (dict(prediction_id=row.id, vote="down", label="refund"), "vote 'down'"),
        (dict(text="hello", vote="up"), "needs a prediction or a suggestion"),
        (dict(text="hello", label="x", suggestion={"label": "refund", "score": 3}), "between 0 and 1"),
    ]
    for kwargs, message in cases:
        with pytest.raises(DatamoatError, match=message):
            store.add_feedback(model_name="intent", user="u", **kwargs)
    with pytest.raises(NotFoundError, match="abc123"):
        store.add_feedback(model_name="intent", user="u", prediction_id="abc123", label="refund")
    with pytest.raises(DatamoatError, match="made by model 'intent'"):
        store.add_feedback(model_name="other", user="u", prediction_id=row.id, label="refund")
    with pytest.raises(DatamoatError, match="user"):
        store.add_feedback(model_name="intent", user="", prediction_id=row.id, label="refund")
    assert _count(ws.catalog, feedback_records) == 0


def test_same_user_updates_their_answer_and_others_add_one(served) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog)
    store = FeedbackStore(ws.catalog, log)
    row = _row(record, "parcel money", {"refund": 0.6, "delivery": 0.4})
    log.add(row)
    first = store.add_feedback(model_name="intent", user="ann", prediction_id=row.id, label="delivery")
    again = store.add_feedback(model_name="intent", user="ann", prediction_id=row.id, vote="up")
    assert again["record_id"] == first["record_id"] and again["response_id"] == first["response_id"]
    assert (again["status"], again["final_label"]) == ("ready", "refund")
    other = store.add_feedback(model_name="intent", user="bob", prediction_id=row.id, label="delivery")
    assert other["record_id"] == first["record_id"] and other["response_id"] != first["response_id"]
    assert other["status"] == "review"  # ann now says refund, bob says delivery
    responses = store.record(first["record_id"])["responses"]
    assert [(r["user"], r["label"], r["vote"]) for r in responses] == [("ann", "refund", "up"),
                                                                       ("bob", "delivery", None)]
    assert _count(ws.catalog, feedback_records) == 1
    log.close()


def test_a_replaced_answer_is_an_update_with_its_previous_label_audited(served) -> None:
    from datamoat.catalog.audit import list_events

    ws, record = served
    log = PredictionLog(ws.catalog, background=False)
    store = FeedbackStore(ws.catalog, log)
    row = _row(record, "parcel money back", {"refund": 0.6, "delivery": 0.4})
    log.add(row)
    first = store.add_feedback(model_name="intent", user="ann", prediction_id=row.id, label="delivery")
    assert (first["updated"], first["previous_label"]) == (False, None)
    again = store.add_feedback(model_name="intent", user="ann", prediction_id=row.id, label="refund")
    assert (again["updated"], again["previous_label"], again["final_label"]) == (True, "delivery", "refund")
    events = [e for e in list_events(ws.catalog) if e["action"] == "feedback_update"]
    assert len(events) == 1 and events[0]["subject"] == f"feedback_record:{first['record_id']}"
    assert events[0]["details"]["previous"]["label"] == "delivery" and events[0]["details"]["now"]["label"] == "refund"
    assert events[0]["actor"] == "ann"
    queued = _row(record, "late parcel again", {"refund": 0.5, "delivery": 0.5})
    log.add(queued)
    store.enqueue_uncertain("intent")
    rid = next(i["record_id"] for i in store.queue("intent", "bob") if i["prediction_id"] == queued.id)
    draft = store.respond(rid, "bob", label="refund", status="draft")
    assert draft["updated"] is False
    submitted = store.respond(rid, "bob", label="delivery")
    assert (submitted["updated"], submitted["previous_label"]) == (False, None)  # a draft is no answer yet
    pair = FeedbackStore(ws.catalog, log, annotators_per_item=2)  # one answer leaves the record open
    other = _row(record, "parcel or refund", {"refund": 0.5, "delivery": 0.5})
    log.add(other)
    pair.enqueue_uncertain("intent")
    rid = next(i["record_id"] for i in pair.queue("intent", "cat") if i["prediction_id"] == other.id)
    assert pair.respond(rid, "cat", label="refund")["updated"] is False
    changed = pair.respond(rid, "cat", label="delivery")
    assert (changed["updated"], changed["previous_label"], changed["status"]) == (True, "refund", "pending")
    log.close()


def test_user_ids_that_look_like_personal_data_are_refused(served) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog, background=False)
    store = FeedbackStore(ws.catalog, log)
    row = _row(record, "refund please", {"refund": 0.8, "delivery": 0.2})
    log.add(row)
    for user, kind in (("jane.roe@example.org", "EMAIL"), ("client/+1 415 555 2671", "PHONE"),
                       ("078-05-1120", "US_SSN"), ("4111 1111 1111 1111", "CREDIT_CARD")):
        with pytest.raises(DatamoatError, match=f"personal data \\({kind}\\)"):
            store.add_feedback(model_name="intent", user=user, prediction_id=row.id, label="refund")
    assert _count(ws.catalog, feedback_records) == 0
    log.close()


def test_feedback_is_committed_when_add_feedback_returns(served, catalog_url: str, tmp_path: Path) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog, flush_interval_s=30)  # the prediction is still queued
    store = FeedbackStore(ws.catalog, log)
    row = _row(record, "where is my refund", {"refund": 0.9, "delivery": 0.1})
    log.add(row)
    answer = store.add_feedback(model_name="intent", user="u", prediction_id=row.id, label="refund")
    other = Catalog(catalog_url, tmp_path / "other.lock")  # a second engine, as another process would have
    try:
        with other.engine.connect() as conn:
            seen = conn.execute(sa.select(feedback_records.c.status, feedback_records.c.final_label)
                                .where(feedback_records.c.id == answer["record_id"])).one()
    finally:
        other.close()
    assert tuple(seen) == ("ready", "refund")
    log.close()


def test_prediction_without_text_is_kept_for_accuracy_but_not_training(served) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog, background=False)
    store = FeedbackStore(ws.catalog, log)
    hidden = _row(record, None, {"refund": 0.7, "delivery": 0.3})
    log.add(hidden)
    out = store.add_feedback(model_name="intent", user="u", prediction_id=hidden.id, label="delivery")
    assert out["status"] == "discarded" and "not logged" in out["reason"] and out["final_label"] == "delivery"
    assert store.ready_records("intent").empty and store.queue("intent", "ann") == []
    assert store.enqueue_uncertain("intent") == 0
    live = store.labelled_predictions("intent")
    assert live[["predicted", "actual"]].values.tolist() == [["refund", "delivery"]]


# ---------------------------------------------------------------- queue and annotation
def test_queue_is_ordered_by_uncertainty_and_skips_answered_items(served) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog)
    store = FeedbackStore(ws.catalog, log, annotators_per_item=2)
    tops = [0.95, 0.55, 0.8, 0.51, 0.7, 0.99]
    rows = [_row(record, f"text {i}", {"refund": s, "delivery": 1 - s}) for i, s in enumerate(tops)]
    for row in rows:
        log.add(row)
    log.add(_row(record, None, {"refund": 0.5, "delivery": 0.5}))  # no text: never queued
    reviewed = store.add_feedback(model_name="intent", user="client", prediction_id=rows[5].id, label="delivery")
    assert reviewed["status"] == "review"
    assert store.enqueue_uncertain("intent", limit=4) == 4
    assert store.enqueue_uncertain("intent", limit=100) == 1  # only text 0 is left

    queue = store.queue("intent", "ann", limit=10)
    assert [q["text"] for q in queue] == ["text 5", "text 3", "text 1", "text 4", "text 2", "text 0"]
    assert queue[0]["status"] == "review" and queue[1]["uncertainty"] == pytest.approx(0.49)
    assert all(q["responses_so_far"] == 0 for q in queue[1:]) and store.queue("intent", "ann", limit=2)[1]["text"] == "text 3"
    assert "text 5" not in [q["text"] for q in store.queue("intent", "client")]  # the client answered it

    target = queue[1]["record_id"]
    store.respond(target, "ann", label="refund", status="draft")
    assert [q["draft_label"] for q in store.queue("intent", "ann") if q["record_id"] == target] == ["refund"]
    out = store.respond(target, "ann", label="refund")
    assert out["status"] == "pending"  # one of two answers
    assert target not in [q["record_id"] for q in store.queue("intent", "ann")]
    bob = {q["record_id"]: q for q in store.queue("intent", "bob")}
    assert bob[target]["responses_so_far"] == 1


def test_margin_strategy_orders_by_the_gap_between_the_top_two(served) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog, background=False)
    store = FeedbackStore(ws.catalog, log, strategy="margin")
    log.add(_row(record, "wide", {"refund": 0.5, "delivery": 0.1, "other": 0.4}))  # margin 0.1
    log.add(_row(record, "narrow", {"refund": 0.45, "delivery": 0.44, "other": 0.11}))  # margin 0.01
    log.add(_row(record, "sure", {"refund": 0.9, "delivery": 0.05, "other": 0.05}))  # margin 0.85
    assert store.enqueue_uncertain("intent", limit=2) == 2
    queue = store.queue("intent", "ann")
    assert [q["text"] for q in queue] == ["narrow", "wide"]
    assert [round(q["uncertainty"], 6) for q in queue] == [0.99, 0.9]
    with pytest.raises(DatamoatError, match="least_confidence or margin"):
        FeedbackStore(ws.catalog, strategy="entropy")


def test_two_annotators_agree_disagree_and_review_resolves(served) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog, background=False)
    store = FeedbackStore(ws.catalog, log, annotators_per_item=2)
    for i in range(4):
        log.add(_row(record, f"item {i}", {"refund": 0.5 + i / 100, "delivery": 0.5 - i / 100}))
    assert store.enqueue_uncertain("intent") == 4
    ids = [q["record_id"] for q in sorted(store.queue("intent", "ann"), key=lambda q: q["text"])]

    assert store.respond(ids[0], "ann", label="refund")["status"] == "pending"
    agreed = store.respond(ids[0], "bob", label="refund")
    assert (agreed["status"], agreed["final_label"]) == ("ready", "refund")

    store.respond(ids[1], "ann", label="refund")
    split = store.respond(ids[1], "bob", label="delivery")
    assert split["status"] == "review" and "disagree" in split["reason"]
    assert store.queue("intent", "ann") and ids[1] not in [q["record_id"] for q in store.queue("intent", "ann")]
    assert store.respond(ids[1], "bob", label="delivery")["status"] == "review"  # bob cannot settle it alone
    assert ids[1] == store.queue("intent", "cat")[0]["record_id"]  # review items come first
    settled = store.respond(ids[1], "cat", label="delivery")
    assert (settled["status"], settled["final_label"]) == ("ready", "delivery")
    with pytest.raises(DatamoatError, match="ready already"):
        store.respond(ids[1], "dan", label="refund")

    store.respond(ids[2], "ann", status="discarded")
    assert store.record(ids[2])["status"] == "pending"
    assert store.respond(ids[2], "bob", status="discarded")["status"] == "discarded"
    with pytest.raises(DatamoatError, match="needs a label"):
        store.respond(ids[3], "ann")
    with pytest.raises(NotFoundError, match="12345"):
        store.respond(12345, "ann", label="refund")

    report = store.agreement("intent")
    assert report["items"] == 2 and report["raters_per_item"] == 2  # the tie-breaker (cat) is not counted
    assert [(p["a"], p["b"], p["items"]) for p in report["pairs"]] == [("ann", "bob", 2), ("ann", "cat", 1),
                                                                           ("bob", "cat", 1)]


def test_simultaneous_answers_never_leave_an_item_stuck(served) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog, background=False)
    store = FeedbackStore(ws.catalog, log, annotators_per_item=2)
    for i in range(5):
        log.add(_row(record, f"item {i}", {"refund": 0.6, "delivery": 0.4}))
    assert store.enqueue_uncertain("intent") == 5
    ids = [q["record_id"] for q in store.queue("intent", "ann")]
    fresh = _row(record, "not queued", {"refund": 0.6, "delivery": 0.4})
    log.add(fresh)
    errors: list[BaseException] = []

    def run(barrier: threading.Barrier, call) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def race(calls) -> None:
        barrier = threading.Barrier(len(calls))
        threads = [threading.Thread(target=run, args=(barrier, c)) for c in calls]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    for rid in ids:  # two annotators answer at the same moment: the item must resolve
        race([lambda rid=rid: store.respond(rid, "ann", label="refund"),
              lambda rid=rid: store.respond(rid, "bob", label="refund")])
    # four users give feedback on one new prediction at once: one record, four answers
    race([lambda u=u: store.add_feedback(model_name="intent", user=u, prediction_id=fresh.id, label="delivery")
          for u in ("u1", "u2", "u3", "u4")])
    assert errors == []
    assert [store.record(rid)["status"] for rid in ids] == ["ready"] * len(ids)
    with ws.catalog.engine.connect() as conn:
        made = conn.execute(sa.select(feedback_records.c.id).where(feedback_records.c.prediction_id == fresh.id)).all()
    assert len(made) == 1 and len(store.record(made[0][0])["responses"]) == 4


def test_ready_records_and_mark_consumed(served) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog, background=False)
    store = FeedbackStore(ws.catalog, log)
    rows = [_row(record, f"text {i}", {"refund": 0.6, "delivery": 0.4}) for i in range(3)]
    for row in rows:
        log.add(row)
    made = [store.add_feedback(model_name="intent", user="u", prediction_id=r.id, label=lab)["record_id"]
            for r, lab in zip(rows, ["delivery", "refund", "delivery"], strict=True)]
    store.add_feedback(model_name="intent", user="u", text="new text", vote="down",
                       suggestion={"label": "refund", "score": 0.4, "model_id": record.id})
    ready = store.ready_records("intent")
    assert list(ready.columns) == ["record_id", "text", "label"]
    assert ready.values.tolist() == [[made[0], "text 0", "delivery"], [made[1], "text 1", "refund"],
                                     [made[2], "text 2", "delivery"]]
    version_id = record.train_version_id
    assert store.mark_consumed(made[:2] + [99999], version_id) == 2
    assert store.mark_consumed(made[:2], version_id) == 0
    assert store.ready_records("intent")["record_id"].tolist() == [made[2]]
    assert store.counts("intent") == {"pending": 1, "review": 0, "ready": 1, "discarded": 0, "consumed": 2, "total": 4}
    late = store.add_feedback(model_name="intent", user="v", prediction_id=rows[0].id, label="refund")
    assert (late["status"], late["final_label"]) == ("ready", "delivery") and "already used" in late["reason"]
    assert store.record(made[0])["consumed_version_id"] == version_id
    live = store.labelled_predictions("intent")
    assert sorted(map(tuple, live[["predicted", "actual"]].values.tolist())) == [
        ("refund", "delivery"), ("refund", "delivery"), ("refund", "refund")]


# ---------------------------------------------------------------- CLI
def test_cli_status_queue_and_enqueue(tmp_path: Path, cli) -> None:
    ws = Workspace.init(tmp_path / "ws")
    record = _register_model(ws, tmp_path)
    log = PredictionLog(ws.catalog, background=False)
    rows = [_row(record, f"question {i}", {"refund": 0.5 + i / 10, "delivery": 0.5 - i / 10}) for i in range(4)]
    for row in rows:
        log.add(row)
    FeedbackStore(ws.catalog, log).add_feedback(model_name="intent", user="u", prediction_id=rows[3].id,
                                                label="refund")
    ws.close()

    code, out, err = cli("feedback", "enqueue", "intent", "--limit", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["queued"] == 2
    code, out, err = cli("feedback", "status", "intent", "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["counts"]["pending"] == 2 and status["counts"]["ready"] == 1
    assert status["agreement"]["overall_fleiss_kappa"] is None and status["agreement"]["items"] == 0
    code, out, err = cli("feedback", "queue", "intent", "--user", "ann", "--json")
    assert code == 0, err
    assert [i["text"] for i in json.loads(out)["items"]] == ["question 0", "question 1"]
    code, out, _ = cli("feedback", "queue", "intent", "--user", "ann", "--limit", "1")
    assert code == 0 and "question 0" in out and "question 1" not in out
    code, out, err = cli("feedback", "agreement", "intent")
    assert code == 0 and "Fleiss" in out
    code, _, err = cli("feedback", "status", "nosuch")
    assert code == 1 and "no model named 'nosuch'" in err and "intent" in err


def test_unknown_labels_are_refused_unless_a_new_class_is_allowed(served) -> None:
    ws, record = served
    log = PredictionLog(ws.catalog, background=False)
    store = FeedbackStore(ws.catalog, log)
    row = _row(record, "refund please", {"refund": 0.6, "delivery": 0.4})
    log.add(row)
    with pytest.raises(DatamoatError, match="not one the model knows \\('delivery', 'refund'\\)"):
        store.add_feedback(model_name="intent", user="u1", prediction_id=row.id, label="refnud", allow_new_class=False)
    with pytest.raises(DatamoatError, match="new label looks like personal data \\(EMAIL\\)"):
        store.add_feedback(model_name="intent", user="u1", prediction_id=row.id, label="jane@example.org")
    with pytest.raises(DatamoatError, match="new label has more than 6 digits"):
        store.add_feedback(model_name="intent", user="u1", prediction_id=row.id, label="order 12345678")
    assert _count(ws.catalog, feedback_records) == 0
    known = store.add_feedback(model_name="intent", user="u1", prediction_id=row.id, label="refund",
                               allow_new_class=False)
    with pytest.raises(DatamoatError, match="not one the model knows"):
        store.respond(known["record_id"], "u2", label="parcel", allow_new_class=False)
    assert store.add_feedback(model_name="intent", user="u1", prediction_id=row.id, label="billing")["new_class"]
    log.close()


def test_the_identifier_rule_is_one_pattern() -> None:
    import re

    from datamoat.privacy.pii.identifiers import IDENTIFIER_PATTERN, identifier_problem

    for value in ("ann", "Jane Doe", "José", "support-bot 2", "team 123456", "card_arrival"):
        assert identifier_problem(value) is None and re.fullmatch(IDENTIFIER_PATTERN, value)
    for value in ("a@b", "1234567", "+1 415 555 2671", "x @ y"):
        assert identifier_problem(value) and not re.fullmatch(IDENTIFIER_PATTERN, value)

"""monitor_model on a workspace with a real tfidf-linear model and predictions/feedback in the catalog."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from textgen import PREFIXES, sentences

from datamoat.catalog.records import utc_now
from datamoat.catalog.tables import feedback_records, monitor_reports, predictions
from datamoat.errors import DatamoatError, NotFoundError
from datamoat.models.training import models_registry, train_model
from datamoat.monitor import Thresholds, latest_report, monitor_model, report_history
from datamoat.monitor.reference import cache_path
from datamoat.workspace import Workspace

INTENTS = {
    "transfer": (["transfer", "send", "move", "wire"], ["money", "funds", "cash", "my salary"]),
    "card": (["block", "freeze", "replace", "activate"], ["my card", "the debit card", "my credit card", "the new card"]),
    "balance": (["check", "see", "show", "find"], ["my balance", "the account balance", "my savings", "available funds"]),
}
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def banking(n: int, seed: int) -> pd.DataFrame:
    """``n`` labelled banking requests, the three intents in turn."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        intent = list(INTENTS)[i % 3]
        verbs, objects = INTENTS[intent]
        rows.append({"text": f"{rng.choice(PREFIXES)} {rng.choice(verbs)} {rng.choice(objects)} "
                             f"{rng.choice(['today', 'now', 'online', 'in the app', 'please'])}", "intent": intent})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """A workspace with the champion ``tickets`` trained on 180 banking requests (and its trainer)."""
    root = tmp_path_factory.mktemp("monitor")
    banking(180, 0).to_csv(root / "tickets.csv", index=False)
    ws = Workspace.init(root / "ws")
    ws.ingest(root / "tickets.csv", name="tickets", text="text", label="intent")
    result = train_model(ws, "tickets", model="tfidf-linear", learning_curve=False)
    yield ws, result
    ws.close()


def champion_named(trained, name: str):
    """The trained model registered again as the champion of a fresh name (same data lineage)."""
    ws, result = trained
    rec = result.record
    return models_registry(ws).register(result.trainer, name, train_version_id=rec.train_version_id,
                                        test_version_id=rec.test_version_id, metrics=rec.metrics, info=rec.info,
                                        aliases=["champion"])


def log_predictions(ws: Workspace, record, trainer, texts: list[str], at: datetime) -> pd.DataFrame:
    """Predict ``texts`` with the real model and store them in ``predictions`` at time ``at``."""
    proba = trainer.predict_proba(pd.DataFrame({"text": texts}))
    order = np.argsort(-proba, axis=1)
    rows = []
    for i, text in enumerate(texts):
        top, second = proba[i, order[i, 0]], proba[i, order[i, 1]]
        rows.append({"id": uuid.uuid4().hex, "model_name": record.name, "model_id": record.id,
                     "created_at": at + timedelta(seconds=i), "text": text,
                     "text_hash": hashlib.sha256(text.encode()).hexdigest(), "label": trainer.classes_[order[i, 0]],
                     "score": float(top), "margin": float(top - second),
                     "scores_json": json.dumps({trainer.classes_[j]: float(proba[i, j]) for j in order[i, :3]}),
                     "latency_ms": 1.0, "pii_count": 0, "client": "test"})
    with ws.catalog.engine.begin() as conn:
        conn.execute(predictions.insert(), rows)
    return pd.DataFrame(rows)


def log_feedback(ws: Workspace, record, pairs: list[tuple[str, str]], at: datetime, *, source: str = "feedback",
                 status: str = "ready") -> None:
    """Text-only feedback records: (model suggestion, final human label) each."""
    rows = [{"model_name": record.name, "prediction_id": None, "text": f"feedback {i}", "text_hash": f"{i:064d}",
             "suggestion_label": s, "suggestion_score": 0.9, "suggestion_model_id": record.id, "uncertainty": 0.1,
             "status": status, "final_label": f, "source": source, "created_at": at + timedelta(seconds=i),
             "updated_at": at + timedelta(seconds=i)} for i, (s, f) in enumerate(pairs)]
    with ws.catalog.engine.begin() as conn:
        conn.execute(feedback_records.insert(), rows)


def test_drifted_traffic_alerts_with_a_daily_series_and_is_saved(trained, caplog):
    ws, result = trained
    record = champion_named(trained, "shifted")
    days = [NOW - timedelta(days=2, hours=3), NOW - timedelta(days=1, hours=5), NOW - timedelta(hours=6)]
    counts = [40, 30, 50]
    logged = [log_predictions(ws, record, result.trainer, sentences("travel", n, seed=d), at)
              for d, (n, at) in enumerate(zip(counts, days, strict=True))]
    log_predictions(ws, record, result.trainer, sentences("travel", 5, seed=9), NOW - timedelta(days=12))  # too old
    # 40 pieces of feedback, half of them corrections; 20 queue annotations (picked as uncertain), all wrong
    log_feedback(ws, record, [("card", "card")] * 20 + [("card", "transfer")] * 20, days[1])
    log_feedback(ws, record, [("card", "balance")] * 20, days[2], source="queue")
    log_feedback(ws, record, [("card", "card")] * 3, days[2], status="pending")

    caplog.set_level(logging.WARNING, logger="datamoat.monitor")
    report = monitor_model(ws, "shifted", now=NOW)

    assert report["model"] == "shifted" and report["model_ref"] == record.ref and report["status"] == "alert"
    assert report["counts"]["predictions"] == 120 and report["counts"]["model_predictions"] == 120
    # per-day series: three UTC days, with the right counts and figures
    daily = report["daily"]
    assert [d["day"] for d in daily] == [at.strftime("%Y-%m-%d") for at in days]
    assert [d["predictions"] for d in daily] == counts
    for entry, frame in zip(daily, logged, strict=True):
        assert entry["mean_confidence"] == pytest.approx(frame["score"].mean(), abs=1e-4)
        assert entry["label_counts"] == frame["label"].value_counts().to_dict()
    assert [d["feedback"] for d in daily] == [0, 40, 23] and [d["labelled"] for d in daily] == [0, 40, 20]
    assert daily[1]["live_accuracy"] == 0.5 and daily[2]["live_accuracy"] == 0.0
    # text drift: travel requests against a banking model
    text = report["text_drift"]
    assert text["status"] == "alert" and text["auc"] > 0.9 and text["current_rows"] == 120
    assert {t["term"] for t in text["top_terms"]} & {"flight", "hotel", "ticket", "paris", "airport", "seat"}
    # live accuracy: the 40 feedback records only; the queue's uncertain picks are reported apart
    live = report["live_accuracy"]
    assert live["n"] == 40 and live["accuracy"] == 0.5 and live["status"] == "alert"
    assert live["expected"] == pytest.approx(result.record.metrics["accuracy"])
    assert live["by_source"]["queue"] == {"n": 20, "accuracy": 0.0, "in_alert": False}
    kinds = [a["kind"] for a in report["alerts"]]
    assert "text_drift" in kinds and "live_accuracy" in kinds
    warnings = [r for r in caplog.records if r.name == "datamoat.monitor" and r.levelno == logging.WARNING]
    assert len(warnings) == len(report["alerts"])
    assert any("input text drift" in r.getMessage() and "shifted" in r.getMessage() for r in warnings)
    assert all("\n" not in r.getMessage() for r in warnings)
    # saved, and read back
    saved = latest_report(ws.catalog, "shifted")
    assert saved is not None and saved["id"] == report["id"] and saved["status"] == "alert"
    assert saved["daily"] == daily and saved["alerts"] == report["alerts"]
    json.dumps(saved, allow_nan=False)
    again = monitor_model(ws, "shifted", now=NOW)
    assert [r["id"] for r in report_history(ws.catalog, "shifted")] == [again["id"], report["id"]]


def test_traffic_like_the_training_data_is_ok(trained, caplog):
    ws, result = trained
    record = champion_named(trained, "steady")
    for d in range(3):
        log_predictions(ws, record, result.trainer, banking(60, seed=100 + d)["text"].tolist(),
                        NOW - timedelta(days=d, hours=1))
    log_feedback(ws, record, [("card", "card")] * 35, NOW - timedelta(hours=2))
    caplog.set_level(logging.WARNING, logger="datamoat.monitor")
    report = monitor_model(ws, "steady", now=NOW, save=False)
    assert report["status"] == "ok" and report["alerts"] == [], report["alerts"]
    assert report["text_drift"]["status"] == "ok" and report["text_drift"]["auc"] < 0.6
    assert report["label_drift"]["status"] == "ok" and report["confidence_drift"]["status"] == "ok"
    assert report["live_accuracy"]["status"] == "ok" and report["live_accuracy"]["accuracy"] == 1.0
    assert not [r for r in caplog.records if r.name == "datamoat.monitor"]
    assert "id" not in report and latest_report(ws.catalog, "steady") is None
    # the reference confidences were computed once and cached; a damaged cache is rebuilt
    path = cache_path(ws, record)
    cached = json.loads(path.read_text())
    assert cached["model_id"] == record.id and len(cached["confidences"]) == report["confidence_drift"]["n_reference"]
    path.write_text("{not json")
    assert monitor_model(ws, "steady", now=NOW, save=False)["confidence_drift"] == report["confidence_drift"]
    assert json.loads(path.read_text())["confidences"] == cached["confidences"]


def test_a_quiet_window_is_insufficient_data_and_bad_input_is_refused(trained):
    ws, _ = trained
    champion_named(trained, "quiet")
    report = monitor_model(ws, "quiet", now=NOW, thresholds=Thresholds(min_predictions=10))
    assert report["status"] == "insufficient_data" and report["daily"] == [] and report["alerts"] == []
    for check in ("text_drift", "label_drift", "confidence_drift", "live_accuracy"):
        assert report[check]["status"] == "insufficient_data" and report[check]["reason"]
    assert report["thresholds"]["min_predictions"] == 10
    with ws.catalog.engine.connect() as conn:
        row = conn.execute(sa.select(monitor_reports).where(monitor_reports.c.id == report["id"])).one()
    assert row.status == "insufficient_data" and json.loads(row.report_json)["model"] == "quiet"
    with pytest.raises(NotFoundError, match="no model named 'nobody'"):
        monitor_model(ws, "nobody")
    with pytest.raises(DatamoatError, match="model name"):
        monitor_model(ws, "quiet@1")
    with pytest.raises(DatamoatError, match="positive number of days"):
        monitor_model(ws, "quiet", window_days=0)


def test_cli_monitor_json_and_table(trained, cli):
    ws, result = trained
    record = champion_named(trained, "served")
    log_predictions(ws, record, result.trainer, sentences("travel", 60, seed=5), utc_now() - timedelta(hours=3))
    code, out, err = cli("monitor", "served", "--json", workspace=ws.root)
    assert code == 0, err
    report = json.loads(out)
    assert set(report) >= {"model", "status", "alerts", "text_drift", "label_drift", "confidence_drift",
                           "live_accuracy", "daily", "window", "id"}
    assert report["status"] == "alert" and report["alerts"][0]["kind"] == "text_drift"
    assert set(report["alerts"][0]) == {"kind", "message", "value", "threshold"}
    code, out, err = cli("monitor", "served", "--window-days", "2", workspace=ws.root)
    assert code == 0, err  # alerts are in the output, not the exit code
    assert "status alert" in out and "text drift" in out and "ROC-AUC" in out and "alert text_drift" in out
    code, _, err = cli("monitor", "missing", workspace=ws.root)
    assert code == 1 and "no model named 'missing'" in err


def test_monitor_on_postgres(trained, postgres_server, monkeypatch, tmp_path: Path):
    _, result = trained
    monkeypatch.setenv("DATAMOAT_CATALOG_URL", postgres_server.new_database())
    banking(60, 1).to_csv(tmp_path / "train.csv", index=False)
    banking(30, 2).to_csv(tmp_path / "test.csv", index=False)
    with Workspace.init(tmp_path / "pg") as ws:
        train = ws.ingest(tmp_path / "train.csv", name="train", text="text", label="intent")
        test = ws.ingest(tmp_path / "test.csv", name="test", text="text", label="intent")
        record = models_registry(ws).register(
            result.trainer, "pg", train_version_id=train.record.id, test_version_id=test.record.id,
            metrics={"accuracy": 1.0}, info={"text_column": "text", "label_column": "intent"}, aliases=["champion"])
        log_predictions(ws, record, result.trainer, sentences("travel", 40, seed=7), NOW - timedelta(days=1))
        log_feedback(ws, record, [("card", "transfer")] * 30, NOW - timedelta(days=1))
        report = monitor_model(ws, "pg", now=NOW)
        assert report["status"] == "alert" and report["daily"][0]["predictions"] == 40
        assert report["live_accuracy"]["n"] == 30 and report["live_accuracy"]["status"] == "alert"
        assert latest_report(ws.catalog, "pg")["id"] == report["id"]

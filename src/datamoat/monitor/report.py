"""A monitoring run: gather a window of production data, run every check, alert, save.

:func:`monitor_model` compares the last ``window_days`` of a model name's predictions and
feedback with its champion's training and test data:

* ``text_drift`` — every logged (redacted) prediction text in the window against the
  champion's training texts (:func:`~datamoat.monitor.drift.text_drift`). Input text does not
  depend on which model version answered, so all predictions of the name count.
* ``label_drift`` — the champion's predicted labels against its training label distribution.
* ``confidence_drift`` — the champion's top-class probabilities against those it gave on its
  frozen test set (cached, see :mod:`datamoat.monitor.reference`).
* ``live_accuracy`` — feedback whose suggestion came from the champion (or from an unknown
  model), with a Wilson interval, against the champion's test accuracy.

The model-dependent checks use only the champion's own predictions: right after a promotion
they report ``insufficient_data`` until the new champion has served enough, instead of blaming
it for its predecessor. Feedback records picked for annotation *because* the model was unsure
(source in :data:`SAMPLED_SOURCES`) would make live accuracy look worse than it is, so they are
reported separately (``live_accuracy.by_source``) and left out of the alert.

Status: ``alert`` when any check alerts (an alert is never hidden), else ``insufficient_data``
when the window holds fewer than ``thresholds.min_predictions`` predictions, else ``ok``.
Every alert is also logged as one WARNING line on the ``datamoat.monitor`` logger, and the
report is saved to the ``monitor_reports`` table unless ``save=False``.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from datamoat.catalog import Catalog
from datamoat.catalog.records import as_utc, dumps, json_ready, utc_now
from datamoat.catalog.tables import monitor_reports
from datamoat.errors import DatamoatError
from datamoat.models.registry import ModelRecord
from datamoat.monitor.current_data import load_feedback, load_predictions
from datamoat.monitor.daily import daily_series
from datamoat.monitor.drift import clean_texts, confidence_drift, label_drift, sample, text_drift
from datamoat.monitor.live_accuracy import live_accuracy
from datamoat.monitor.reference import (
    TrainingReference,
    redact_texts,
    reference_confidences,
    training_reference,
)
from datamoat.monitor.thresholds import Thresholds

if TYPE_CHECKING:
    from datamoat.workspace import Workspace

logger = logging.getLogger("datamoat.monitor")

SAMPLED_SOURCES: tuple[str, ...] = ("queue",)
"""Feedback sources whose records were chosen for annotation by model uncertainty."""
CHECKS = ("text_drift", "label_drift", "confidence_drift", "live_accuracy")


def champion_record(ws: Workspace, model_name: str) -> ModelRecord:
    """The ``champion`` version of ``model_name`` (its newest version when none is champion)."""
    from datamoat.models.training import models_registry

    if not model_name or "@" in model_name:
        raise DatamoatError(f"give a model name such as 'intent' (not {model_name!r}); monitoring follows its champion.")
    return models_registry(ws).champion(model_name)


def monitor_model(
    ws: Workspace,
    model_name: str,
    *,
    window_days: float = 7,
    now: datetime | None = None,
    save: bool = True,
    thresholds: Thresholds = Thresholds(),  # noqa: B008 - frozen, so one shared default is safe
) -> dict[str, Any]:
    """Check ``model_name`` over the ``window_days`` (days, > 0) up to ``now`` (UTC; default now).

    Returns the JSON-ready report: model, model_ref, model_id, status (ok | alert |
    insufficient_data), alerts [{kind, message, value, threshold}], text_drift, label_drift,
    confidence_drift, live_accuracy {n, accuracy, ci, expected, ...}, daily [{day,
    predictions, mean_confidence, feedback, labelled, live_accuracy, label_counts}], window
    {start, end, days}, counts, thresholds, generated_at, and ``id`` once saved.
    """
    if not (isinstance(window_days, int | float) and math.isfinite(window_days) and window_days > 0):
        raise DatamoatError(f"the monitoring window must be a positive number of days, got {window_days!r}.")
    th = thresholds
    end = as_utc(now) if now is not None else utc_now()
    start = end - timedelta(days=window_days)
    record = champion_record(ws, model_name)
    preds = load_predictions(ws.catalog, model_name, start, end)
    feedback = load_feedback(ws.catalog, model_name, start, end)
    mine = preds[preds["model_id"] == record.id]
    reference = training_reference(ws, record, max_rows=th.text_max_rows, seed=th.seed)

    checks = {
        "text_drift": _text_check(reference, preds, th),
        "label_drift": {**label_drift(reference.label_counts, mine["label"].astype(str).value_counts().to_dict(),
                                      threshold=th.label_js, min_rows=th.min_rows, seed=th.seed),
                        "scope": f"predictions by {record.ref}"},
        "confidence_drift": {**_confidence_check(ws, record, mine, th), "scope": f"predictions by {record.ref}"},
        "live_accuracy": _accuracy_check(record, feedback, th),
    }
    alerts = [alert for kind in CHECKS if (alert := _alert(kind, checks[kind])) is not None]
    status = "alert" if alerts else ("insufficient_data" if len(preds) < th.min_predictions else "ok")
    report = json_ready({
        "model": model_name, "model_ref": record.ref, "model_id": record.id, "status": status, "alerts": alerts,
        "generated_at": utc_now().isoformat(),
        "window": {"start": start.isoformat(), "end": end.isoformat(), "days": window_days},
        "counts": {"predictions": int(len(preds)), "model_predictions": int(len(mine)),
                   "feedback": int(len(feedback)), "labelled_feedback": int(feedback["labelled"].sum())},
        **checks,
        "daily": daily_series(preds, feedback),
        "thresholds": th.to_dict(),
    })
    for alert in alerts:
        logger.warning("model %s: %s", model_name, alert["message"])
    if save:
        report["id"] = save_report(ws.catalog, report)
    return report


# ---------------------------------------------------------------------- the checks
def _text_check(reference: TrainingReference, preds: pd.DataFrame, th: Thresholds) -> dict[str, Any]:
    if reference.text_column is None:
        return {"status": "insufficient_data", "drift": False, "auc": None,
                "reason": "the model was not trained on a text column"}
    texts = clean_texts(preds["text"].tolist())
    if len(preds) and not texts:
        return {"status": "insufficient_data", "drift": False, "auc": None, "n_current": 0,
                "reason": "no prediction texts were logged (text logging is off), only their hashes"}
    current = redact_texts(sample(texts, th.text_max_rows, th.seed + 1))
    result = text_drift(reference.texts, current, threshold=th.text_auc, seed=th.seed, max_rows=th.text_max_rows,
                        min_rows=th.min_rows, permutations=th.text_permutations, small_sample=th.text_small_sample)
    return {**result, "reference_rows": reference.text_rows, "current_rows": len(texts)}


def _confidence_check(ws: Workspace, record: ModelRecord, mine: pd.DataFrame, th: Thresholds) -> dict[str, Any]:
    if len(mine) < th.min_rows:  # do not predict the whole test set for nothing
        return {"status": "insufficient_data", "drift": False, "p_value": None, "mean_drop": None,
                "n_current": int(len(mine)), "reason": f"needs {th.min_rows} predictions by the model; has {len(mine)}"}
    scores = reference_confidences(ws, record)
    if scores is None:
        return {"status": "insufficient_data", "drift": False, "p_value": None, "mean_drop": None,
                "n_current": int(len(mine)), "reason": f"model {record.ref} has no test version to take confidences from"}
    return confidence_drift(scores, mine["score"].to_numpy(), p_threshold=th.confidence_p,
                            drop_threshold=th.confidence_drop, min_rows=th.min_rows)


def _accuracy_check(record: ModelRecord, feedback: pd.DataFrame, th: Thresholds) -> dict[str, Any]:
    labelled = feedback[feedback["labelled"]]
    model_ids = labelled["suggestion_model_id"]
    labelled = labelled[model_ids.isna().to_numpy() | (model_ids == record.id).to_numpy()]
    sampled = labelled["source"].isin(SAMPLED_SOURCES).to_numpy()
    used = labelled[~sampled]
    expected = record.metrics.get("accuracy")
    result = live_accuracy(used["suggestion_label"].astype(str).tolist(), used["final_label"].astype(str).tolist(),
                           expected=None if expected is None else float(expected), min_n=th.accuracy_min_n,
                           margin=th.accuracy_margin)
    by_source = {}
    for source, group in labelled.groupby("source"):
        hits = int((group["suggestion_label"].astype(str) == group["final_label"].astype(str)).sum())
        by_source[str(source)] = {"n": int(len(group)), "accuracy": round(hits / len(group), 4),
                                  "in_alert": str(source) not in SAMPLED_SOURCES}
    return {**result, "by_source": by_source, "scope": f"feedback on suggestions by {record.ref}"}


def _alert(kind: str, check: dict[str, Any]) -> dict[str, Any] | None:
    """The alert a check raised (None when it did not): {kind, message, value, threshold}."""
    if check.get("status") != "alert":
        return None
    if kind == "text_drift":
        terms = ", ".join(t["term"] for t in check.get("top_terms", [])[:5]) or "none stand out"
        value, threshold = check["auc"], check["effective_threshold"]
        message = (f"input text drift: a domain classifier tells current from training texts with ROC-AUC "
                   f"{value:.3f} > {threshold:.3f}; terms typical of current texts: {terms}")
    elif kind == "label_drift":
        value, threshold = check["js_distance"], check["effective_threshold"]
        top = check["largest_changes"][0] if check.get("largest_changes") else None
        biggest = f"; largest change: {top['label']} {top['reference']:.1%} -> {top['current']:.1%}" if top else ""
        message = (f"predicted-label drift: Jensen-Shannon distance {value:.3f} > {threshold:.3f} "
                   f"(chi-square p={check['p_value']:.2g}){biggest}")
    elif kind == "confidence_drift":
        value, threshold = check["mean_drop"], check["drop_threshold"]
        message = (f"confidence drop: mean top-class probability {check['current_mean']:.3f} vs "
                   f"{check['reference_mean']:.3f} on the test set (fell {value:.3f} > {threshold:.3f}, "
                   f"KS p={check['p_value']:.2g})")
    else:
        value, threshold = check["ci"][1], check["threshold"]
        message = (f"live accuracy {check['accuracy']:.3f} [{check['ci'][0]:.3f}, {check['ci'][1]:.3f}] on "
                   f"{check['n']} labelled predictions is below the test accuracy {check['expected']:.3f} "
                   f"minus the margin ({threshold:.3f})")
    return {"kind": kind, "message": message, "value": value, "threshold": threshold}


# ---------------------------------------------------------------------- storage
def save_report(catalog: Catalog, report: dict[str, Any]) -> int:
    """Store ``report`` in ``monitor_reports`` (committed on return); returns its row id."""
    with catalog.engine.begin() as conn:
        return int(conn.execute(monitor_reports.insert().values(
            at=utc_now(), model_name=report["model"], model_id=report.get("model_id"), status=report["status"],
            report_json=dumps({k: v for k, v in report.items() if k != "id"}),
        )).inserted_primary_key[0])


def report_history(catalog: Catalog, model_name: str, limit: int = 30) -> list[dict[str, Any]]:
    """The ``limit`` newest saved reports of ``model_name``, newest first (each with ``id`` and ``saved_at``)."""
    t = monitor_reports.c
    query = (sa.select(t.id, t.at, t.report_json).where(t.model_name == model_name)
             .order_by(t.id.desc()).limit(max(0, int(limit))))
    with catalog.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [{**json.loads(r.report_json), "id": r.id, "saved_at": as_utc(r.at).isoformat()} for r in rows]


def latest_report(catalog: Catalog, model_name: str) -> dict[str, Any] | None:
    """The newest saved report of ``model_name``, or None when it was never monitored."""
    found = report_history(catalog, model_name, limit=1)
    return found[0] if found else None



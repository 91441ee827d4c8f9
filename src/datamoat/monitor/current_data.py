"""What production looked like in a time window: predictions and feedback, read from the catalog.

Plain SQLAlchemy Core reads of the ``predictions`` and ``feedback_records`` tables (see
``catalog/tables.py``), so monitoring depends on the tables only, not on the writer classes.
Times are UTC; a window is ``since <= created_at < until``.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from datamoat.catalog import Catalog
from datamoat.catalog.records import as_utc
from datamoat.catalog.tables import feedback_records, predictions

UNSETTLED_STATUSES = ("pending", "review")
"""Feedback statuses whose label is not settled yet. Every other record with a final label
counts for live accuracy: ``ready`` (consumed by a retrain or not) and ``discarded`` records
that keep a final label (feedback on a prediction whose text was not logged, see
``feedback/records.py``); records discarded by annotators have no final label."""

PREDICTION_COLUMNS = ["id", "model_id", "created_at", "text", "label", "score", "margin"]
FEEDBACK_COLUMNS = ["id", "prediction_id", "created_at", "suggestion_label", "suggestion_model_id",
                    "status", "final_label", "source", "labelled"]


def load_predictions(catalog: Catalog, model_name: str, since: datetime, until: datetime) -> pd.DataFrame:
    """Predictions of ``model_name`` made in ``[since, until)``, oldest first.

    Columns: id, model_id, created_at (UTC), text (redacted, or None), label, score (top-class
    probability), margin (top-1 minus top-2 probability).
    """
    t = predictions.c
    query = (sa.select(t.id, t.model_id, t.created_at, t.text, t.label, t.score, t.margin)
             .where(t.model_name == model_name, t.created_at >= since, t.created_at < until)
             .order_by(t.created_at))
    with catalog.engine.connect() as conn:
        rows = conn.execute(query).all()
    df = pd.DataFrame([tuple(r) for r in rows], columns=PREDICTION_COLUMNS)
    df["created_at"] = pd.to_datetime([as_utc(v) for v in df["created_at"]], utc=True)
    df["score"] = df["score"].astype(float)
    return df


def load_feedback(catalog: Catalog, model_name: str, since: datetime, until: datetime) -> pd.DataFrame:
    """Feedback records of ``model_name`` created in ``[since, until)``, oldest first.

    Columns: id, prediction_id, created_at (UTC), suggestion_label, suggestion_model_id, status,
    final_label, source, labelled (bool: has a suggestion and a settled final label, so it
    counts towards live accuracy).
    """
    t = feedback_records.c
    query = (sa.select(t.id, t.prediction_id, t.created_at, t.suggestion_label, t.suggestion_model_id,
                       t.status, t.final_label, t.source)
             .where(t.model_name == model_name, t.created_at >= since, t.created_at < until)
             .order_by(t.created_at))
    with catalog.engine.connect() as conn:
        rows = conn.execute(query).all()
    records = []
    for r in rows:
        labelled = (r.status not in UNSETTLED_STATUSES and r.final_label is not None
                    and r.suggestion_label is not None)
        records.append((r.id, r.prediction_id, as_utc(r.created_at), r.suggestion_label, r.suggestion_model_id,
                        r.status, r.final_label, r.source, labelled))
    df = pd.DataFrame(records, columns=FEEDBACK_COLUMNS)
    df["created_at"] = pd.to_datetime(list(df["created_at"]), utc=True)
    df["labelled"] = df["labelled"].astype(bool)
    return df

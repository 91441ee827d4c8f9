"""The annotation queue: which feedback records annotators see next, and filling it.

* :func:`enqueue_uncertain` turns logged predictions that have no record yet into ``pending``
  records (``source`` "queue"), the most uncertain first by the store's strategy
  (:func:`datamoat.feedback.resolution.uncertainty`); predictions logged without text are
  skipped (there is nothing to annotate).
* :func:`next_records` picks a user's next records. Order: ``review`` records first (each
  already holds a human label that is kept out of training until one more person looks at it,
  and one answer resolves it), then ``pending`` records; within each, the most uncertain first,
  then the oldest.

Both work inside a connection the caller opened (:class:`datamoat.feedback.records.FeedbackStore`
does, with its retries).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from datamoat.catalog.records import as_utc, utc_now
from datamoat.catalog.tables import feedback_records as records
from datamoat.catalog.tables import feedback_responses as responses
from datamoat.catalog.tables import predictions
from datamoat.feedback.resolution import uncertainty


def enqueue_uncertain(conn: sa.Connection, model_name: str, strategy: str, limit: int) -> int:
    """Insert up to ``limit`` ``pending`` records for ``model_name``'s most uncertain unrecorded predictions.

    conn: inside a write transaction. strategy: least_confidence (order by score) or margin.
    Returns how many records were made; IntegrityError when another process queued one of them
    at the same time (the caller retries).
    """
    order = predictions.c.margin if strategy == "margin" else predictions.c.score
    query = (sa.select(predictions)
             .outerjoin(records, records.c.prediction_id == predictions.c.id)
             .where(records.c.id.is_(None), predictions.c.model_name == model_name,
                    predictions.c.text.is_not(None), predictions.c.text != "")
             .order_by(order, predictions.c.created_at.desc(), predictions.c.id).limit(limit))
    now = utc_now()
    rows = [{
        "model_name": p.model_name, "prediction_id": p.id, "text": p.text, "text_hash": p.text_hash,
        "suggestion_label": p.label, "suggestion_score": p.score, "suggestion_model_id": p.model_id,
        "uncertainty": uncertainty(strategy, p.score, p.margin), "status": "pending",
        "final_label": None, "source": "queue", "created_at": now, "updated_at": now,
    } for p in conn.execute(query).all()]
    if rows:
        conn.execute(records.insert(), rows)
    return len(rows)


def next_records(
    conn: sa.Connection, model_name: str, user: str, annotators_per_item: int, limit: int
) -> list[dict[str, Any]]:
    """The next (at most ``limit``) records for ``user`` to annotate (order: see the module docstring).

    Pending and review records of ``model_name`` that the user has not submitted or discarded
    and that still need answers (fewer than ``annotators_per_item`` submitted labels). Each:
    record_id, text, suggestion_label, suggestion_score, status, uncertainty, responses_so_far
    (submitted labels), draft_label (the user's saved draft or None), prediction_id, created_at.
    Other users' labels are not shown, so annotators do not anchor on each other.
    """
    n_submitted = (sa.select(sa.func.count()).select_from(responses)
                   .where(responses.c.record_id == records.c.id, responses.c.status == "submitted",
                          responses.c.label.is_not(None))
                   .scalar_subquery())
    answered = sa.exists().where(responses.c.record_id == records.c.id, responses.c.user == user,
                                 responses.c.status.in_(("submitted", "discarded")))
    query = (sa.select(records, n_submitted.label("n_submitted"))
             .where(records.c.model_name == model_name, records.c.status.in_(("pending", "review")),
                    ~answered,
                    sa.or_(records.c.status == "review", n_submitted < annotators_per_item))
             .order_by(sa.case((records.c.status == "review", 0), else_=1), records.c.uncertainty.desc(),
                       records.c.created_at, records.c.id)
             .limit(max(0, limit)))
    rows = conn.execute(query).all()
    drafts = dict(conn.execute(
        sa.select(responses.c.record_id, responses.c.label)
        .where(responses.c.user == user, responses.c.status == "draft",
               responses.c.record_id.in_([r.id for r in rows]))).all()) if rows else {}
    return [{
        "record_id": r.id, "text": r.text, "suggestion_label": r.suggestion_label,
        "suggestion_score": r.suggestion_score, "status": r.status, "uncertainty": r.uncertainty,
        "responses_so_far": int(r.n_submitted), "draft_label": drafts.get(r.id),
        "prediction_id": r.prediction_id, "created_at": as_utc(r.created_at).isoformat(),
    } for r in rows]

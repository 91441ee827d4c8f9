"""The feedback store: Argilla-like records (text + model suggestion) and human responses.

One record per prediction that received feedback or was pulled into the annotation queue, or
per text sent as feedback without a prediction id. Responses: one per (record, user), with a
label and/or vote and a status draft | submitted | discarded. How answers set a record's status
is in :mod:`datamoat.feedback.resolution`.

Choices worth knowing:

* Every write is one transaction that has committed when the method returns (SQLite: WAL,
  ``BEGIN IMMEDIATE``; PostgreSQL: the record row is locked ``FOR UPDATE`` so two annotators
  answering at once cannot both miss the other's answer).
* Feedback by prediction id uses the prediction's stored, already redacted text; a ``text``
  given as well is ignored. Text-only feedback must already be redacted by the caller.
* A prediction logged without text (text logging off) can still get feedback: the record is
  stored as ``discarded`` (never trained on or queued) with the label as final label, so live
  accuracy still counts it; the answer says so in ``reason``.
* A label the model does not know is a new class (the next retrain learns it). ``add_feedback``
  and ``respond`` take ``allow_new_class``: when False, a label outside the suggesting model's
  classes is refused (DatamoatError listing the known labels); when True (the default for
  library callers) it is stored, and must then be an identifier as below. The answer's
  ``new_class`` says whether the label is outside those classes. The HTTP API passes its
  ``new_class`` field, which only admin keys may set (:mod:`datamoat.serve.labels`).
* User ids and new labels must match
  :data:`~datamoat.privacy.pii.identifiers.IDENTIFIER_PATTERN` (no ``@``, at most 6 digits):
  one that could be personal data (an e-mail, phone, card or SSN ...) is refused, since it
  would be stored as given and shown beside every answer.
* The same user answering one record twice updates their answer: the answer says ``updated``
  and gives the ``previous_label``, and an audit event ``feedback_update`` keeps what was
  replaced (label, vote, status). Another user adds an answer (disagreeing labels send the
  record to review). A saved draft replaced by the answer is not an update.
* A record already consumed by a retrain keeps its status and final label, and so does a record
  annotators discarded; later answers are stored but change nothing.
* Which records the annotation queue holds and in what order is in
  :mod:`datamoat.feedback.queue`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from datamoat.catalog import Catalog
from datamoat.catalog.audit import append_event_in
from datamoat.catalog.records import as_utc, utc_now
from datamoat.catalog.tables import feedback_records as records
from datamoat.catalog.tables import feedback_responses as responses
from datamoat.catalog.tables import models, predictions
from datamoat.errors import ConflictError, DatamoatError, NotFoundError, UnavailableError
from datamoat.feedback.agreement import agreement_report
from datamoat.feedback.predictions import PredictionLog, PredictionRow, hash_text, row_from_db
from datamoat.feedback.queue import enqueue_uncertain, next_records
from datamoat.feedback.resolution import (
    RESPONSE_STATUSES,
    STATUSES,
    STRATEGIES,
    VOTES,
    Answer,
    Outcome,
    annotation_status,
    feedback_status,
    uncertainty,
)
from datamoat.privacy.pii.identifiers import identifier_problem

_RETRIES = 5
_MAX_LABEL = 200
_CHUNK = 500


@dataclass(frozen=True)
class Suggestion:
    """What the model said: label, score (0-1), margin (top1 - top2, when known), model version id."""

    label: str
    score: float
    model_id: int | None
    margin: float | None = None


class FeedbackStore:
    """Feedback records of every model in one catalog.

    catalog: the workspace's catalog. predictions: the server's PredictionLog, so feedback on a
    prediction still waiting in its queue is found. confident_score: a label contradicting a
    suggestion scored at least this (0-1) goes to review. annotators_per_item: submitted labels a
    queued record needs before it resolves. strategy: least_confidence or margin (queue order).
    """

    def __init__(
        self,
        catalog: Catalog,
        predictions: PredictionLog | None = None,
        *,
        confident_score: float = 0.9,
        annotators_per_item: int = 1,
        strategy: str = "least_confidence",
    ) -> None:
        if strategy not in STRATEGIES:
            raise DatamoatError(f"uncertainty strategy {strategy!r} is not known; use {' or '.join(STRATEGIES)}.")
        if annotators_per_item < 1:
            raise DatamoatError(f"annotators_per_item must be at least 1, got {annotators_per_item}.")
        if not 0.0 <= confident_score <= 1.0:
            raise DatamoatError(f"confident_score is a probability between 0 and 1, got {confident_score}.")
        self.catalog = catalog
        self.predictions = predictions
        self.confident_score = confident_score
        self.annotators_per_item = annotators_per_item
        self.strategy = strategy
        self._classes: dict[int, list[str] | None] = {}  # model id -> classes (a version never changes)

    # ------------------------------------------------------------ feedback
    def add_feedback(
        self,
        *,
        model_name: str,
        user: str,
        prediction_id: str | None = None,
        text: str | None = None,
        label: str | None = None,
        vote: str | None = None,
        suggestion: dict[str, Any] | None = None,
        allow_new_class: bool = True,
    ) -> dict[str, Any]:
        """Store one user's feedback; committed when this returns.

        Give ``prediction_id`` (a logged prediction) or ``text`` (already redacted; then
        ``suggestion`` = {"label", "score", "model_id"[, "margin"]} is what the model said, if
        known), and ``label`` and/or ``vote`` ("up" | "down"). Returns {record_id, status,
        response_id, final_label, new_class, reason, prediction_id}. DatamoatError for unusable
        input; NotFoundError for an unknown prediction id; ConflictError when ``vote`` contradicts
        ``label`` given what the model said. ``updated`` / ``previous_label``: see the module docstring.
        allow_new_class: a label outside the suggesting model's classes is refused when False
        (see the module docstring).
        """
        model_name = _required(model_name, "a model name")
        user = _user(user)
        label = _label(label)
        if vote is not None and vote not in VOTES:
            raise DatamoatError(f"vote must be 'up' or 'down', got {vote!r}.")
        if label is None and vote is None:
            raise DatamoatError("feedback needs a label or a vote ('up' or 'down').")
        pred: PredictionRow | None = None
        if prediction_id:
            pred = self._prediction(prediction_id)
            if pred.model_name != model_name:
                raise DatamoatError(f"prediction {prediction_id} was made by model {pred.model_name!r}, "
                                    f"not {model_name!r}.")
            sugg: Suggestion | None = Suggestion(pred.label, pred.score, pred.model_id, pred.margin)
            body, digest = (pred.text, pred.text_hash)
        elif text is not None and text.strip():
            sugg = _suggestion(suggestion)
            body, digest = (text, hash_text(text))
        else:
            raise DatamoatError("feedback needs a prediction_id or a non-empty text.")
        answer_label = _answer_label(label, vote, sugg)
        for _ in range(_RETRIES):
            try:
                with self.catalog.engine.begin() as conn:
                    return self._store_feedback(conn, model_name, user, pred, body, digest, sugg, answer_label, vote,
                                                allow_new_class)
            except IntegrityError:
                continue  # lost a race creating the same record or response: look again
        raise UnavailableError(f"could not store feedback for {prediction_id or 'the text'} after {_RETRIES} attempts.")

    def _store_feedback(
        self, conn: sa.Connection, model_name: str, user: str, pred: PredictionRow | None, body: str | None,
        digest: str, sugg: Suggestion | None, answer_label: str | None, vote: str | None, allow_new_class: bool,
    ) -> dict[str, Any]:
        classes = self._known_classes(conn, sugg.model_id if sugg else None)
        _check_label(answer_label, classes, allow_new_class)
        now = utc_now()
        rec = None
        if pred is not None:
            rec = conn.execute(sa.select(records).where(records.c.prediction_id == pred.id).with_for_update()).first()
        if rec is None:
            record_id = conn.execute(records.insert().values(
                model_name=model_name, prediction_id=pred.id if pred else None, text=body or "", text_hash=digest,
                suggestion_label=sugg.label if sugg else None, suggestion_score=sugg.score if sugg else None,
                suggestion_model_id=sugg.model_id if sugg else None,
                uncertainty=uncertainty(self.strategy, sugg.score if sugg else None, sugg.margin if sugg else None),
                status="pending", final_label=None, source="feedback", created_at=now, updated_at=now,
            )).inserted_primary_key[0]
            consumed = False
        else:
            record_id, consumed = rec.id, rec.consumed_version_id is not None
        response_id, previous = _upsert_response(conn, record_id, user, answer_label, vote, "submitted", now)
        current = conn.execute(sa.select(records).where(records.c.id == record_id)).one()
        if consumed:
            outcome = Outcome(current.status, current.final_label,
                              "already used by a retrain; the answer is stored but changes nothing")
        elif current.status == "discarded" and body:
            outcome = Outcome("discarded", current.final_label,
                              "the record was discarded in annotation; the answer is stored but changes nothing")
        else:
            outcome = feedback_status(_answers(conn, record_id), current.suggestion_label, current.suggestion_score,
                                      self.confident_score, has_text=bool(body))
            _set_status(conn, record_id, outcome, now)
        return {"record_id": record_id, "status": outcome.status, "response_id": response_id,
                "final_label": outcome.final_label, "reason": outcome.reason,
                "prediction_id": pred.id if pred else None, **_update_fields(previous),
                "new_class": None if classes is None or answer_label is None else answer_label not in classes}

    def _prediction(self, prediction_id: str) -> PredictionRow:
        if self.predictions is not None:
            found = self.predictions.get(prediction_id)
        else:
            with self.catalog.engine.connect() as conn:
                r = conn.execute(sa.select(predictions).where(predictions.c.id == prediction_id)).first()
            found = row_from_db(r) if r is not None else None
        if found is None:
            raise NotFoundError(f"no prediction with id {prediction_id!r}.")
        return found

    # ------------------------------------------------------------ annotation queue
    def enqueue_uncertain(self, model_name: str, limit: int = 100) -> int:
        """Turn up to ``limit`` logged predictions without a record into ``pending`` records.

        The most uncertain first (by the store's strategy); predictions logged without text are
        skipped (there is nothing to annotate). Returns how many records were made.
        """
        if limit < 1:
            return 0
        if self.predictions is not None:
            self.predictions.flush()
        for _ in range(_RETRIES):
            try:
                with self.catalog.engine.begin() as conn:
                    return enqueue_uncertain(conn, model_name, self.strategy, limit)
            except IntegrityError:
                continue  # another process queued some of them at the same time
        raise DatamoatError(f"could not queue predictions of {model_name!r} after {_RETRIES} attempts.")

    def queue(self, model_name: str, user: str, limit: int = 20) -> list[dict[str, Any]]:
        """The next records for ``user`` to annotate (see :func:`datamoat.feedback.queue.next_records`)."""
        user = _required(user, "a user")
        with self.catalog.engine.connect() as conn:
            return next_records(conn, model_name, user, self.annotators_per_item, limit)

    def _known_classes(self, conn: sa.Connection, model_id: int | None) -> list[str] | None:
        """The labels model ``model_id`` knows (None: no model, or it does not say); cached."""
        if model_id is None:
            return None
        if model_id not in self._classes:
            self._classes[model_id] = _model_classes(conn, model_id)
        return self._classes[model_id]

    def respond(self, record_id: int, user: str, label: str | None = None, status: str = "submitted", *,
                allow_new_class: bool = True) -> dict[str, Any]:
        """Save an annotator's answer to a pending or review record; committed when this returns.

        status: draft (saved, resolves nothing) | submitted (needs a label) | discarded. Returns
        {record_id, response_id, status (the record's), final_label, reason (None when the record
        did not change), updated, previous_label}. NotFoundError for an unknown record; DatamoatError
        when the record is no longer open (ready or discarded) or the answer is unusable.
        allow_new_class: a label outside the classes of the model that suggested the record is
        refused when False (see the module docstring).
        """
        user = _user(user)
        label = _label(label)
        if status not in RESPONSE_STATUSES:
            raise DatamoatError(f"response status {status!r} is not known; use {', '.join(RESPONSE_STATUSES)}.")
        if status == "submitted" and label is None:
            raise DatamoatError("a submitted answer needs a label (save it as a draft, or discard the record).")
        for _ in range(_RETRIES):
            try:
                with self.catalog.engine.begin() as conn:
                    return self._store_answer(conn, int(record_id), user, label, status, allow_new_class)
            except IntegrityError:
                continue
        raise UnavailableError(f"could not store the answer to record {record_id} after {_RETRIES} attempts.")

    def _store_answer(self, conn: sa.Connection, record_id: int, user: str, label: str | None,
                      status: str, allow_new_class: bool) -> dict[str, Any]:
        rec = conn.execute(sa.select(records).where(records.c.id == record_id).with_for_update()).first()
        if rec is None:
            raise NotFoundError(f"no feedback record with id {record_id}.")
        _check_label(label, self._known_classes(conn, rec.suggestion_model_id), allow_new_class)
        if rec.status not in ("pending", "review"):
            raise ConflictError(f"record {record_id} is {rec.status} already; only pending or review records "
                                "take answers.")
        now = utc_now()
        response_id, previous = _upsert_response(conn, record_id, user, label, None, status, now)
        outcome = None
        if status != "draft":
            fresh = user if previous is None or previous.status == "draft" else None
            outcome = annotation_status(rec.status, _answers(conn, record_id), self.annotators_per_item, fresh)
            if outcome is not None:
                _set_status(conn, record_id, outcome, now)
        return {"record_id": record_id, "response_id": response_id,
                "status": outcome.status if outcome else rec.status,
                "final_label": outcome.final_label if outcome else rec.final_label,
                "reason": outcome.reason if outcome else None, **_update_fields(previous)}

    # ------------------------------------------------------------ reading
    def record(self, record_id: int) -> dict[str, Any]:
        """One record with all its responses (oldest first); NotFoundError when it does not exist."""
        with self.catalog.engine.connect() as conn:
            rec = conn.execute(sa.select(records).where(records.c.id == int(record_id))).first()
            if rec is None:
                raise NotFoundError(f"no feedback record with id {record_id}.")
            answers = conn.execute(sa.select(responses).where(responses.c.record_id == rec.id)
                                   .order_by(responses.c.id)).all()
        out = _record_dict(rec)
        out["responses"] = [{
            "id": a.id, "user": a.user, "label": a.label, "vote": a.vote, "status": a.status,
            "created_at": as_utc(a.created_at).isoformat(), "updated_at": as_utc(a.updated_at).isoformat(),
        } for a in answers]
        return out

    def ready_records(self, model_name: str) -> pd.DataFrame:
        """DataFrame[record_id, text, label] of ready records not yet consumed by a retrain, oldest first."""
        query = (sa.select(records.c.id, records.c.text, records.c.final_label)
                 .where(records.c.model_name == model_name, records.c.status == "ready",
                        records.c.consumed_version_id.is_(None), records.c.final_label.is_not(None),
                        records.c.text != "")
                 .order_by(records.c.id))
        with self.catalog.engine.connect() as conn:
            rows = conn.execute(query).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=["record_id", "text", "label"])

    def mark_consumed(self, record_ids: Iterable[int], version_id: int) -> int:
        """Record that these ready records went into training version ``version_id``; returns how many changed.

        Records that are not ready or were consumed before are left alone.
        """
        ids = sorted({int(i) for i in record_ids})
        changed = 0
        with self.catalog.engine.begin() as conn:
            for start in range(0, len(ids), _CHUNK):
                changed += conn.execute(
                    records.update()
                    .where(records.c.id.in_(ids[start:start + _CHUNK]), records.c.status == "ready",
                           records.c.consumed_version_id.is_(None))
                    .values(consumed_version_id=int(version_id), updated_at=utc_now())).rowcount
        return changed

    def counts(self, model_name: str) -> dict[str, int]:
        """Records per status: pending, review, ready (not yet consumed), consumed (ready and used by a
        retrain), discarded; plus total."""
        consumed = records.c.consumed_version_id.is_not(None)
        query = (sa.select(records.c.status, consumed.label("consumed"), sa.func.count())
                 .where(records.c.model_name == model_name).group_by(records.c.status, consumed))
        out = {s: 0 for s in (*STATUSES, "consumed")}
        with self.catalog.engine.connect() as conn:
            for status, used, n in conn.execute(query).all():
                key = "consumed" if status == "ready" and used else status
                out[key] = out.get(key, 0) + int(n)
        out["total"] = sum(out.values())
        return out

    def responses_frame(self, model_name: str) -> pd.DataFrame:
        """DataFrame[record_id, user, label, status, vote] of every response to the model's records, in answer order."""
        query = (sa.select(responses.c.record_id, responses.c.user, responses.c.label, responses.c.status,
                           responses.c.vote)
                 .join(records, records.c.id == responses.c.record_id)
                 .where(records.c.model_name == model_name).order_by(responses.c.id))
        with self.catalog.engine.connect() as conn:
            rows = conn.execute(query).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=["record_id", "user", "label", "status", "vote"])

    def agreement(self, model_name: str) -> dict[str, Any]:
        """Agreement among the users who submitted labels for the model's records (see agreement.py)."""
        df = self.responses_frame(model_name)
        return agreement_report(df[(df["status"] == "submitted") & df["label"].notna()])

    def labelled_predictions(self, model_name: str, since: datetime | None = None) -> pd.DataFrame:
        """DataFrame[created_at, predicted, actual, record_id, source, status] for live accuracy.

        Records with both a model suggestion and a final label (ready, consumed, or discarded for
        lack of text), by the time the feedback record was made. Records still pending or in
        review have no final label yet and are not included. ``source`` tells feedback from
        queue annotations (the queue picks uncertain predictions, so those skew accuracy down).
        """
        query = (sa.select(records.c.created_at, records.c.suggestion_label, records.c.final_label, records.c.id,
                           records.c.source, records.c.status)
                 .where(records.c.model_name == model_name, records.c.final_label.is_not(None),
                        records.c.suggestion_label.is_not(None))
                 .order_by(records.c.created_at, records.c.id))
        if since is not None:
            query = query.where(records.c.created_at >= as_utc(since))
        with self.catalog.engine.connect() as conn:
            rows = conn.execute(query).all()
        df = pd.DataFrame([tuple(r) for r in rows],
                          columns=["created_at", "predicted", "actual", "record_id", "source", "status"])
        df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
        return df

    def require_model(self, model_name: str) -> None:
        """NotFoundError naming the known models when no model version called ``model_name`` is registered."""
        with self.catalog.engine.connect() as conn:
            names = [n for (n,) in conn.execute(sa.select(models.c.name).distinct().order_by(models.c.name))]
        if model_name not in names:
            raise NotFoundError(f"no model named {model_name!r}; known models: {', '.join(names) or 'none yet'}.")


# ---------------------------------------------------------------- helpers
def _required(value: str | None, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DatamoatError(f"feedback needs {what}.")
    value = value.strip()
    if len(value) > _MAX_LABEL:
        raise DatamoatError(f"{what} may have at most {_MAX_LABEL} characters, got {len(value)}.")
    return value


def _user(value: str | None) -> str:
    user = _required(value, "a user")
    problem = identifier_problem(user)
    if problem:
        raise DatamoatError(f"the user id {problem}; use a name or an opaque id instead.")
    return user


KNOWN_SHOWN = 20
"""At most this many known labels are named in an error."""


def known_labels_text(classes: Sequence[str], shown: int = KNOWN_SHOWN) -> str:
    """``'a', 'b', 'c'`` or ``'a', 'b' and 41 more`` (the first ``shown`` labels, sorted)."""
    ordered = sorted(classes)
    head = ", ".join(repr(c) for c in ordered[:shown])
    return f"{head} and {len(ordered) - shown} more" if len(ordered) > shown else head


def _check_label(label: str | None, classes: Sequence[str] | None, allow_new_class: bool) -> None:
    """DatamoatError (one sentence) unless ``label`` (stripped, or None) may be stored: one of
    ``classes``, or a new class when ``allow_new_class`` and it could not be personal data.
    classes None: the model is not known, so nothing is new."""
    if label is None or classes is None or label in classes:
        return
    if not allow_new_class:
        raise DatamoatError(f"the label is not one the model knows ({known_labels_text(classes)}); "
                            "a new class must be allowed explicitly (\"new_class\": true, admins only).")
    problem = identifier_problem(label)
    if problem:
        raise DatamoatError(f"the new label {problem}; labels are stored and shown to every annotator, "
                            "so use a class name.")


def _label(label: str | None) -> str | None:
    if label is None:
        return None
    if not isinstance(label, str) or not label.strip():
        raise DatamoatError("a label must be a non-empty text (leave it out to give only a vote).")
    label = label.strip()
    if len(label) > _MAX_LABEL:
        raise DatamoatError(f"a label may have at most {_MAX_LABEL} characters, got {len(label)}.")
    return label


def _suggestion(value: dict[str, Any] | None) -> Suggestion | None:
    if value is None:
        return None
    try:
        score = float(value["score"])
        margin = float(value["margin"]) if value.get("margin") is not None else None
        model_id = int(value["model_id"]) if value.get("model_id") is not None else None
        label = str(value["label"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DatamoatError(f"a suggestion needs a label, a score between 0 and 1 and a model_id ({exc}).") from exc
    if not label or not 0.0 <= score <= 1.0:
        raise DatamoatError(f"a suggestion needs a label and a score between 0 and 1, got {label!r} and {score}.")
    return Suggestion(label, score, model_id, margin)


def _answer_label(label: str | None, vote: str | None, sugg: Suggestion | None) -> str | None:
    """The label a feedback answer stands for; DatamoatError when label and vote contradict."""
    if vote == "up":
        if sugg is None:
            raise DatamoatError("a vote 'up' needs a prediction or a suggestion to agree with.")
        if label is not None and label != sugg.label:
            raise ConflictError(f"a vote 'up' agrees with {sugg.label!r} but the label given is {label!r}; "
                                "send the label with a vote 'down' or no vote.")
        return sugg.label
    if vote == "down" and sugg is not None and label == sugg.label:
        raise ConflictError(f"a vote 'down' says {sugg.label!r} is wrong but the label given is the same.")
    return label


def _model_classes(conn: sa.Connection, model_id: int) -> list[str] | None:
    info = conn.execute(sa.select(models.c.info_json).where(models.c.id == model_id)).scalar()
    if info is None:
        raise NotFoundError(f"the suggestion's model_id {model_id} is not a registered model version.")
    classes = json.loads(info).get("classes")
    return [str(c) for c in classes] if isinstance(classes, list) else None


def _upsert_response(conn: sa.Connection, record_id: int, user: str, label: str | None, vote: str | None,
                     status: str, now: datetime) -> tuple[int, Any]:
    """(response id, the user's earlier response row or None); replacing an answer (not a draft)
    appends a ``feedback_update`` audit event with what it replaced, in the same transaction."""
    existing = conn.execute(sa.select(responses.c.id, responses.c.label, responses.c.vote, responses.c.status)
                            .where(responses.c.record_id == record_id, responses.c.user == user)).first()
    values = {"label": label, "vote": vote, "status": status, "updated_at": now}
    if existing is not None:
        conn.execute(responses.update().where(responses.c.id == existing.id).values(**values))
        if existing.status != "draft":
            append_event_in(conn, "feedback_update", f"feedback_record:{record_id}", {
                "response_id": existing.id, "previous": {"label": existing.label, "vote": existing.vote,
                                                         "status": existing.status},
                "now": {"label": label, "vote": vote, "status": status}}, actor=user)
        return int(existing.id), existing
    return int(conn.execute(responses.insert().values(record_id=record_id, user=user, created_at=now, **values))
               .inserted_primary_key[0]), None


def _update_fields(previous: Any) -> dict[str, Any]:
    """``updated`` (an earlier answer, not a draft, was replaced) and that answer's ``previous_label``."""
    updated = previous is not None and previous.status != "draft"
    return {"updated": updated, "previous_label": previous.label if updated else None}


def _answers(conn: sa.Connection, record_id: int) -> list[Answer]:
    rows = conn.execute(sa.select(responses.c.user, responses.c.label, responses.c.vote, responses.c.status)
                        .where(responses.c.record_id == record_id).order_by(responses.c.id)).all()
    return [Answer(r.user, r.label, r.vote, r.status) for r in rows]


def _set_status(conn: sa.Connection, record_id: int, outcome: Outcome, now: datetime) -> None:
    conn.execute(records.update().where(records.c.id == record_id)
                 .values(status=outcome.status, final_label=outcome.final_label, updated_at=now))


def _record_dict(rec: Any) -> dict[str, Any]:
    return {
        "record_id": rec.id, "model_name": rec.model_name, "prediction_id": rec.prediction_id, "text": rec.text,
        "suggestion_label": rec.suggestion_label, "suggestion_score": rec.suggestion_score,
        "suggestion_model_id": rec.suggestion_model_id, "uncertainty": rec.uncertainty, "status": rec.status,
        "final_label": rec.final_label, "source": rec.source, "consumed_version_id": rec.consumed_version_id,
        "created_at": as_utc(rec.created_at).isoformat(), "updated_at": as_utc(rec.updated_at).isoformat(),
    }

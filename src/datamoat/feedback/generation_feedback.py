"""Feedback on a language model's generations: thumbs up / down and corrected continuations.

Stored in the same tables as a classifier's feedback (:mod:`datamoat.feedback.records`): one
record per generation (its ``prediction_id`` is the generation id; ``text`` the redacted prompt;
the suggestion is label ``generated`` with the generation's score), one response per user with
a ``vote`` and/or a ``continuation`` (the text that should have followed the prompt, already
PII-redacted by the caller). A user answering again replaces their answer.

How a record's status follows from its submitted answers:

* any answer with a corrected continuation -> ``ready`` (final label ``corrected``; the newest
  continuation is the one trained on);
* otherwise thumbs up only -> ``ready`` (``accepted``: the generated output is trained on);
* thumbs up and down from different users -> ``review`` (a person decides);
* thumbs down only -> ``discarded`` (nothing to learn from: no better text was given).

:func:`generation_documents` turns the ready, unconsumed records into training documents
(prompt + corrected continuation, or prompt + accepted output) for
:mod:`datamoat.flywheel.lm_retrain`; a generation logged without its text (text logging off)
has no document, so its feedback is stored as ``discarded`` and says so.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from datamoat.catalog import Catalog
from datamoat.catalog.audit import append_event_in
from datamoat.catalog.records import utc_now
from datamoat.catalog.tables import feedback_records as records
from datamoat.catalog.tables import feedback_responses as responses
from datamoat.catalog.tables import predictions
from datamoat.errors import DatamoatError, NotFoundError, UnavailableError
from datamoat.feedback.predictions import PredictionLog
from datamoat.feedback.resolution import VOTES
from datamoat.privacy.pii.identifiers import identifier_problem

GENERATED = "generated"
CORRECTED = "corrected"
ACCEPTED = "accepted"
MAX_CONTINUATION = 20_000
"""Characters a corrected continuation may have at most."""
_RETRIES = 5


def _status(answers: list[Any]) -> tuple[str, str | None, str]:
    """(status, final label, reason) from the submitted answers (see the module docstring)."""
    if any(a.continuation for a in answers):
        return "ready", CORRECTED, "a corrected continuation was given; it is trained on in the next retrain"
    votes = {a.vote for a in answers if a.vote}
    if votes == {"up"}:
        return "ready", ACCEPTED, "thumbs up: the generated text is trained on in the next retrain"
    if votes == {"up", "down"}:
        return "review", None, "users disagree (thumbs up and down); a person decides"
    return "discarded", None, "thumbs down without a corrected continuation: there is no better text to learn from"


def add_generation_feedback(
    catalog: Catalog,
    log: PredictionLog | None,
    *,
    model_name: str,
    user: str,
    generation_id: str,
    vote: str | None = None,
    continuation: str | None = None,
) -> dict[str, Any]:
    """Store one user's vote and/or corrected continuation on generation ``generation_id``.

    continuation: already PII-redacted (blank counts as none). Returns {record_id, status,
    final_label, reason, updated}. NotFoundError for an unknown generation; DatamoatError for
    one of another model, a prediction that is not a generation, or no vote and no continuation.
    """
    if vote is not None and vote not in VOTES:
        raise DatamoatError(f"vote must be 'up' or 'down', got {vote!r}.")
    continuation = continuation if continuation and continuation.strip() else None
    if vote is None and continuation is None:
        raise DatamoatError("feedback on a generation needs a vote ('up' or 'down') or a corrected 'continuation'.")
    if continuation is not None and len(continuation) > MAX_CONTINUATION:
        raise DatamoatError(f"'continuation' has {len(continuation):,} characters; the limit is {MAX_CONTINUATION:,}.")
    if not isinstance(user, str) or not user.strip() or identifier_problem(user.strip()):
        raise DatamoatError("feedback needs a user name that is not personal data.")
    user = user.strip()[:200]
    if log is not None:
        log.flush()
    for _ in range(_RETRIES):
        try:
            with catalog.engine.begin() as conn:
                return _store(conn, model_name, user, generation_id, vote, continuation)
        except IntegrityError:
            continue  # two answers created the same record at once: look again
    raise UnavailableError(f"could not store feedback on generation {generation_id} after {_RETRIES} attempts.")


def _store(conn: sa.Connection, model_name: str, user: str, generation_id: str, vote: str | None,
           continuation: str | None) -> dict[str, Any]:
    pred = conn.execute(sa.select(predictions).where(predictions.c.id == generation_id)).first()
    if pred is None:
        raise NotFoundError(f"no generation with id {generation_id!r}.")
    if pred.model_name != model_name:
        raise DatamoatError(f"generation {generation_id} was made by model {pred.model_name!r}, not {model_name!r}.")
    if pred.label != GENERATED:
        raise DatamoatError(f"{generation_id} is a classifier's prediction, not a generation; send it as prediction_id.")
    now = utc_now()
    rec = conn.execute(sa.select(records).where(records.c.prediction_id == generation_id).with_for_update()).first()
    if rec is None:
        record_id = conn.execute(records.insert().values(
            model_name=model_name, prediction_id=generation_id, text=pred.text or "", text_hash=pred.text_hash,
            suggestion_label=GENERATED, suggestion_score=pred.score, suggestion_model_id=pred.model_id,
            uncertainty=1.0 - float(pred.score), status="pending", final_label=None, source="feedback",
            created_at=now, updated_at=now)).inserted_primary_key[0]
        consumed = False
    else:
        record_id, consumed = rec.id, rec.consumed_version_id is not None
    existing = conn.execute(sa.select(responses).where(responses.c.record_id == record_id,
                                                       responses.c.user == user)).first()
    values = {"label": None, "vote": vote, "continuation": continuation, "status": "submitted", "updated_at": now}
    if existing is not None:
        conn.execute(responses.update().where(responses.c.id == existing.id).values(**values))
        append_event_in(conn, "feedback_update", f"feedback_record:{record_id}", {
            "response_id": existing.id, "previous": {"vote": existing.vote, "continuation": existing.continuation is not None},
            "now": {"vote": vote, "continuation": continuation is not None}}, actor=user)
    else:
        conn.execute(responses.insert().values(record_id=record_id, user=user, created_at=now, **values))
    if consumed:
        current = conn.execute(sa.select(records).where(records.c.id == record_id)).one()
        status, final, reason = current.status, current.final_label, "already used by a retrain; the answer is stored but changes nothing"
    elif pred.text is None or (pred.output is None and continuation is None):
        status, final, reason = "discarded", None, "the generation was logged without its text, so there is nothing to train on"
    else:
        answers = conn.execute(sa.select(responses.c.vote, responses.c.continuation).where(
            responses.c.record_id == record_id, responses.c.status == "submitted")).all()
        status, final, reason = _status(list(answers))
        conn.execute(records.update().where(records.c.id == record_id)
                     .values(status=status, final_label=final, updated_at=now))
    return {"record_id": int(record_id), "status": status, "final_label": final, "reason": reason,
            "updated": existing is not None}


def generation_documents(catalog: Catalog, model_name: str) -> pd.DataFrame:
    """DataFrame[record_id, text, label] of the ready, unconsumed generation records of
    ``model_name``, oldest first: ``text`` the training document (the redacted prompt followed by
    the newest corrected continuation, or by the accepted output), ``label`` None."""
    query = (sa.select(records.c.id, records.c.text, records.c.final_label, predictions.c.output)
             .join(predictions, predictions.c.id == records.c.prediction_id)
             .where(records.c.model_name == model_name, records.c.status == "ready",
                    records.c.consumed_version_id.is_(None), records.c.suggestion_label == GENERATED)
             .order_by(records.c.id))
    rows = []
    with catalog.engine.connect() as conn:
        for rid, prompt, final, output in conn.execute(query).all():
            if final == CORRECTED:
                tail = conn.execute(sa.select(responses.c.continuation).where(
                    responses.c.record_id == rid, responses.c.status == "submitted",
                    responses.c.continuation.is_not(None)).order_by(responses.c.updated_at.desc(),
                                                                    responses.c.id.desc())).scalar()
            else:
                tail = output
            document = f"{prompt or ''}{tail or ''}"
            if document.strip():
                rows.append((int(rid), document, None))
    return pd.DataFrame(rows, columns=["record_id", "text", "label"])

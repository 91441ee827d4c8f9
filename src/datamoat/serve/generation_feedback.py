"""``/v1/feedback`` on a language model's generation: a vote and/or a corrected continuation.

The request names the generation by ``generation_id`` (what ``/v1/generate`` answered); a
classifier's fields (``label``, ``text``, ``prediction_id``, ``new_class``) do not apply and are
refused with one sentence. The continuation is PII-redacted as prompts are, then stored
(:func:`datamoat.feedback.generation_feedback.add_generation_feedback`); the next retrain of the
model trains on it.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from datamoat.feedback.generation_feedback import add_generation_feedback
from datamoat.serve.api_keys import ApiKey
from datamoat.serve.schemas import FeedbackRequest


async def generation_feedback(body: FeedbackRequest, request: Request, key: ApiKey) -> dict[str, Any]:
    """Store the feedback ``body`` on a generation of the served language model; the
    ``/v1/feedback`` answer (record_id, status, updated, previous_label None) plus the reason."""
    from datamoat.serve.api import user_of

    dm = request.app.state.dm
    if not dm.holder.current().is_language_model:
        raise HTTPException(409, f"model {dm.holder.current().record.ref} is a classifier; 'generation_id' and "
                                 "'continuation' are feedback on a language model's generations.")
    if body.generation_id is None:
        raise HTTPException(422, "feedback on a language model names the generation: send 'generation_id' "
                                 "(from /v1/generate) with a 'vote' and/or a 'continuation'.")
    wrong = [name for name in ("label", "text", "prediction_id") if getattr(body, name) is not None]
    if wrong or body.new_class:
        raise HTTPException(422, f"'{(wrong or ['new_class'])[0]}' does not apply to a generation; send 'vote' "
                                 "and/or 'continuation'.")
    user = user_of(key) if not body.user else (body.user if key.role == "admin" else f"{user_of(key)}/{body.user}")

    def store() -> dict[str, Any]:
        continuation = dm.generator.redact(body.continuation)[0] if body.continuation else None
        return add_generation_feedback(dm.ws.catalog, dm.predictions, model_name=dm.model_name, user=user,
                                       generation_id=body.generation_id, vote=body.vote, continuation=continuation)

    result = await run_in_threadpool(store)
    dm.metrics.feedback.labels(result["status"]).inc()
    return {"record_id": result["record_id"], "status": result["status"], "updated": result["updated"],
            "previous_label": None}

"""The JSON API under ``/v1`` plus ``/health`` and ``/metrics``.

Permissions per route (roles in :mod:`datamoat.serve.api_keys`): predict and feedback for
every role; reading models, metrics, monitoring and agreement for annotators and admins;
annotating for annotators and admins; retraining for admins. ``/health`` needs no key.
Every route declares the error codes it can answer (:mod:`datamoat.serve.openapi`), so the
OpenAPI spec is true to the app.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from datamoat.privacy.pii.identifiers import identifier_problem
from datamoat.serve.api_keys import ApiKey
from datamoat.serve.auth import require
from datamoat.serve.labels import check_new_class_role
from datamoat.serve.openapi import KEYED, WITH_BODY, errors
from datamoat.serve.schemas import (
    AnnotationRequest,
    FeedbackRequest,
    FeedbackResponse,
    PredictRequest,
    PredictResponse,
    RetrainRequest,
)

router = APIRouter()

CanPredict = Annotated[ApiKey, Depends(require("predict"))]
CanFeedback = Annotated[ApiKey, Depends(require("feedback"))]
CanRead = Annotated[ApiKey, Depends(require("read"))]
CanAnnotate = Annotated[ApiKey, Depends(require("annotate"))]
IsAdmin = Annotated[ApiKey, Depends(require("admin"))]


def user_of(key: ApiKey) -> str:
    """The name a key acts under: its name, or ``key-<id>`` when it has none or the name looks like
    personal data (keys made before such names were refused)."""
    return key.name if key.name and not identifier_problem(key.name) else f"key-{key.key_id}"


def _texts(body: PredictRequest, request: Request) -> list[str]:
    settings = request.app.state.dm.settings
    if (body.text is None) == (body.texts is None):
        raise HTTPException(422, "send either 'text' (one string) or 'texts' (a list of strings), not both.")
    texts = [body.text] if body.text is not None else list(body.texts or [])
    if not texts:
        raise HTTPException(422, "'texts' is empty; send at least one text.")
    if len(texts) > settings.max_batch:
        raise HTTPException(422, f"'texts' has {len(texts)} items; the limit is {settings.max_batch} per request.")
    for i, t in enumerate(texts):
        if len(t) > settings.max_text_chars:
            raise HTTPException(422, f"text {i} has {len(t):,} characters; the limit is {settings.max_text_chars:,}.")
    return texts


@router.get("/health", tags=["service"])
async def health(request: Request) -> dict[str, Any]:
    """Liveness and the served model (no key needed)."""
    rec = request.app.state.dm.holder.current().record
    return {"status": "ok", "model": rec.ref}


@router.post("/v1/predict", response_model=PredictResponse, tags=["predict"], responses=errors(*KEYED, *WITH_BODY, 503))
async def predict(body: PredictRequest, request: Request, key: CanPredict) -> JSONResponse:
    """Classify one text or a batch; each prediction gets an id to send feedback on."""
    started = time.perf_counter()
    served = request.app.state.dm.holder.current()
    if served.is_language_model:
        raise HTTPException(409, f"model {served.record.ref} is a language model; use /v1/generate (prompt, "
                                 "max_tokens ...), not /v1/predict.")
    texts = _texts(body, request)
    predictions = await request.app.state.dm.predict(texts, user_of(key), started)
    # built here, not re-validated through the response model (it documents the shape): the
    # hot path is cheaper by the cost of a pydantic round trip per request
    return JSONResponse({"predictions": predictions, "latency_ms": round((time.perf_counter() - started) * 1000.0, 3)})


@router.post("/v1/feedback", response_model=FeedbackResponse, tags=["feedback"],
             responses=errors(*KEYED, *WITH_BODY, 404, 409, 503))
async def feedback(body: FeedbackRequest, request: Request,
                   key: CanFeedback) -> dict[str, Any]:
    """Store a correction (``label``) or a vote on a prediction, or a labelled text; for a language
    model, a vote and/or a corrected ``continuation`` on a ``generation_id``.

    ``label`` must be one of the served model's labels (422 naming them), unless an admin key
    sends ``new_class: true``. Answering the same prediction again updates the caller's answer
    (``updated``, ``previous_label``). A vote that contradicts the label is a 409. Answered only
    once the feedback is committed to the database.
    """
    dm = request.app.state.dm
    if body.generation_id is not None or body.continuation is not None or dm.holder.current().is_language_model:
        from datamoat.serve.generation_feedback import generation_feedback

        return await generation_feedback(body, request, key)
    if body.prediction_id is None and body.text is None:
        raise HTTPException(422, "send 'prediction_id' (from /v1/predict) or 'text'.")
    if body.label is None and body.vote is None:
        raise HTTPException(422, "send 'label' (the correct label) or 'vote' ('up' or 'down').")
    if body.text is not None and len(body.text) > dm.settings.max_text_chars:
        raise HTTPException(422, f"'text' has {len(body.text):,} characters; the limit is {dm.settings.max_text_chars:,}.")
    check_new_class_role(body.new_class, key.role)
    # the caller may name its own end user, inside its key's namespace: no key can answer for another
    user = user_of(key) if not body.user else (body.user if key.role == "admin" else f"{user_of(key)}/{body.user}")
    text, suggestion = None, None
    if body.prediction_id is None:
        answer = (await dm.batcher.submit([body.text]))[0]
        text = answer.redacted
        suggestion = {"label": answer.label, "score": answer.score, "model_id": answer.model_id}
    result = await run_in_threadpool(
        dm.feedback.add_feedback, model_name=dm.model_name, user=user, prediction_id=body.prediction_id,
        text=text, label=body.label, vote=body.vote, suggestion=suggestion, allow_new_class=body.new_class,
    )
    dm.metrics.feedback.labels(result["status"]).inc()
    return {"record_id": result["record_id"], "status": result["status"], "updated": result["updated"],
            "previous_label": result["previous_label"]}


@router.get("/v1/models", tags=["models"], responses=errors(*KEYED))
def models(request: Request, key: CanRead) -> dict[str, Any]:
    """The served model and every version of its name, with aliases and test figures."""
    dm = request.app.state.dm
    versions = [
        {"ref": m.ref, "version": m.ordinal, "kind": m.kind, "aliases": m.aliases, "created_at": m.created_at.isoformat(),
         "metrics": {k: m.metrics.get(k) for k in ("rows", "accuracy", "accuracy_ci", "macro_f1", "ece")},
         "train": m.info.get("train_ref"), "test": m.info.get("test_ref")}
        for m in dm.registry.list(dm.model_name)
    ]
    return {"served": dm.holder.describe(), "versions": versions}


@router.get("/metrics", tags=["service"], response_class=Response, responses={
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text format."},
    **errors(*KEYED)})
def metrics(request: Request, key: CanRead) -> Response:
    """Prometheus metrics in the text exposition format (alerts: from the latest monitoring report)."""
    from datamoat.monitor.report import latest_report

    dm = request.app.state.dm
    report = latest_report(dm.ws.catalog, dm.model_name)
    dm.metrics.alerts.labels(dm.model_name).set(len(report.get("alerts", [])) if report else 0)
    return Response(content=dm.metrics.render(), media_type=dm.metrics.content_type)


@router.get("/v1/queue", tags=["annotate"], responses=errors(*KEYED, 422))
def queue(request: Request, key: CanAnnotate, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
    """The caller's next items to label, most uncertain first.

    Only when fewer than ``limit`` items wait are the most uncertain logged predictions pulled
    in, and only as many as are missing, so the queue does not grow with every visit.
    """
    dm = request.app.state.dm
    items = dm.feedback.queue(dm.model_name, user_of(key), limit=limit)
    if len(items) < limit and dm.feedback.enqueue_uncertain(dm.model_name, limit=limit - len(items)):
        items = dm.feedback.queue(dm.model_name, user_of(key), limit=limit)
    return {"items": items,
            "counts": dm.feedback.counts(dm.model_name),
            "classes": dm.holder.current().classes}


@router.post("/v1/annotations", tags=["annotate"], responses=errors(*KEYED, *WITH_BODY, 404, 409, 503))
def annotate(body: AnnotationRequest, request: Request, key: CanAnnotate) -> dict[str, Any]:
    """Answer a queue item: a label (submitted or draft) or discard it.

    The label rules of ``/v1/feedback`` apply; answering an item again updates the answer
    (``updated``, ``previous_label``); a record that is closed already is a 409.
    """
    dm = request.app.state.dm
    if body.status != "discarded" and not body.label:
        raise HTTPException(422, "a submitted or draft answer needs a 'label'.")
    check_new_class_role(body.new_class, key.role)
    if dm.feedback.record(body.record_id).get("model_name") != dm.model_name:
        raise HTTPException(404, f"record {body.record_id} does not belong to model {dm.model_name!r}.")
    return dm.feedback.respond(body.record_id, user_of(key), label=body.label, status=body.status,
                               allow_new_class=body.new_class)


@router.get("/v1/agreement", tags=["annotate"], responses=errors(*KEYED))
def agreement(request: Request, key: CanRead) -> dict[str, Any]:
    """Inter-annotator agreement: Cohen's kappa per pair and annotator, Fleiss' kappa overall."""
    dm = request.app.state.dm
    return dm.feedback.agreement(dm.model_name)


@router.get("/v1/monitor", tags=["monitor"], responses=errors(*KEYED, 422))
def monitor(request: Request, key: CanRead, refresh: bool = False,
            window_days: Annotated[int, Query(ge=1, le=365)] = 7) -> dict[str, Any]:
    """The latest monitoring report (drift, confidence, live accuracy), answered at once.

    ``refresh`` starts computing a new report in the background (so does the first call, when
    there is none yet); ``refreshing`` says one is being computed, a later GET shows it, and
    ``refresh_error`` says why the last one failed. Before the first report: ``status``
    ``pending`` and no figures.
    """
    from datamoat.monitor.report import latest_report

    dm = request.app.state.dm
    refresher = request.app.state.monitor
    report = latest_report(dm.ws.catalog, dm.model_name)
    if refresh or report is None:
        refresher.start(window_days)
    out = dict(report) if report is not None else {"model": dm.model_name, "status": "pending", "alerts": []}
    out["refreshing"] = refresher.running
    if refresher.last_error:
        out["refresh_error"] = refresher.last_error
    return out


@router.post("/v1/retrain", status_code=202, tags=["flywheel"], responses=errors(*KEYED, *WITH_BODY, 409, 503))
async def retrain(request: Request, key: IsAdmin, body: RetrainRequest | None = None) -> dict[str, Any]:
    """Start a retrain on the submitted feedback (admin); promotion swaps the served model.

    It runs in a worker process, killed (and the job failed) after the retrain budget plus a margin.
    """
    import asyncio

    dm = request.app.state.dm
    job = dm.jobs.start_retrain(user_of(key))
    if body is not None and body.wait:
        while (current := dm.jobs.get(job["id"])) and current["status"] in ("queued", "running"):
            await asyncio.sleep(0.2)
        job = dm.jobs.get(job["id"]) or job
    return job


@router.get("/v1/retrain/{job_id}", tags=["flywheel"], responses=errors(*KEYED, 404, 422))
def retrain_job(job_id: str, request: Request, key: IsAdmin) -> dict[str, Any]:
    """A retrain job's status, progress and decision."""
    job = request.app.state.dm.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no retrain job {job_id!r} in this server process.")
    return job


@router.get("/v1/promotions", tags=["flywheel"], responses=errors(*KEYED))
def promotions(request: Request, key: CanRead) -> dict[str, Any]:
    """Every retrain decision of the served model name, newest first, with its figures."""
    from datamoat.flywheel.retrain import list_decisions

    dm = request.app.state.dm
    return {"decisions": [d.to_dict() for d in list_decisions(dm.ws.catalog, dm.model_name)]}

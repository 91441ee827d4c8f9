"""``POST /v1/generate``: continue a prompt with the served language model, as JSON or as
server-sent events.

Same key and permission as ``/v1/predict``. Limits: the prompt at most ``max_text_chars``
characters, ``max_tokens`` at most ``max_generate_tokens`` (422 with one sentence, as is any
body that does not fit :class:`GenerateRequest`); a classifier behind the server answers 409.
``stream: false`` answers one JSON object (:meth:`~datamoat.serve.generation.Generation.answer`);
``stream: true`` answers ``text/event-stream``: one ``token`` event per text chunk
(``data: {"text": "..."}``) and a final ``done`` event with the same JSON object as the
non-streamed answer (its ``generation_id`` is what ``/v1/feedback`` takes). An error after the
stream has begun (the status line is sent already) is an ``error`` event with ``{"detail": ...}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from datamoat.errors import DatamoatError
from datamoat.serve.api import user_of
from datamoat.serve.api_keys import ApiKey
from datamoat.serve.auth import require
from datamoat.serve.generation import GenerateParams, Generation
from datamoat.serve.openapi import KEYED, WITH_BODY, errors
from datamoat.serve.schemas import ModelRef, Text

log = logging.getLogger("datamoat.serve")
router = APIRouter()
CanPredict = Annotated[ApiKey, Depends(require("predict"))]


class GenerateRequest(BaseModel):
    """A prompt to continue and the sampling settings."""

    model_config = ConfigDict(extra="forbid")
    prompt: Text = Field(description="The text to continue (may be empty: a new document).")
    max_tokens: int = Field(default=64, ge=1, description="New tokens at most (the server has a limit).")
    temperature: float = Field(default=1.0, ge=0.0, le=100.0, allow_inf_nan=False,
                               description="Sampling temperature; 0 is greedy.")
    top_k: int | None = Field(default=None, ge=1, le=1_000_000, description="Sample among the K most likely tokens.")
    top_p: float | None = Field(default=None, gt=0.0, le=1.0, allow_inf_nan=False,
                                description="Sample among the most likely tokens whose probabilities add up to P.")
    seed: int = Field(default=0, ge=0, le=2**53 - 1, description="The same seed and settings give the same text.")
    stream: bool = Field(default=False, description="Answer as server-sent events, one per text chunk.")


class GenerateResponse(BaseModel):
    generation_id: str = Field(description="Send it to /v1/feedback as generation_id.")
    text: str = Field(description="The continuation (without the prompt).")
    tokens: int
    finish_reason: str = Field(description="length (max_tokens reached) | end (the model ended the document).")
    latency_ms: float
    model: ModelRef


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _events(generation: Generation) -> Iterator[str]:
    """The server-sent events of ``generation`` (run by Starlette in its thread pool)."""
    try:
        for chunk in generation:
            yield _sse("token", {"text": chunk})
    except DatamoatError as exc:
        yield _sse("error", {"detail": str(exc)})
        return
    except Exception as exc:  # noqa: BLE001 - the status line is out: tell the client in the stream
        log.error("generation %s failed: %s: %s", generation.id, type(exc).__name__, exc, exc_info=exc)
        yield _sse("error", {"detail": f"internal error (id {generation.id}); the server log has the details."})
        return
    yield _sse("done", generation.answer())


def _run(generation: Generation) -> dict[str, Any]:
    for _ in generation:
        pass
    return generation.answer()


@router.post("/v1/generate", response_model=GenerateResponse, tags=["predict"], responses={
    200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
          "description": "JSON, or server-sent events (token ..., done) when stream is true."},
    **errors(*KEYED, *WITH_BODY, 409, 503)})
async def generate(body: GenerateRequest, request: Request, key: CanPredict) -> Any:
    """Continue ``prompt`` with the served language model (see the module docstring)."""
    dm = request.app.state.dm
    params = GenerateParams(prompt=body.prompt, max_tokens=body.max_tokens, temperature=body.temperature,
                            top_k=body.top_k, top_p=body.top_p, seed=body.seed)
    generation = await run_in_threadpool(dm.generator.start, params, user_of(key))
    if body.stream:
        return StreamingResponse(_events(generation), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return JSONResponse(await run_in_threadpool(_run, generation))

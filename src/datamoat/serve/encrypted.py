"""``POST /v1/predict/encrypted``: the served model's linear head applied to CKKS ciphertexts.

The client (:class:`datamoat.privacy.he.Client`) computes the features of its texts itself, from
the model export's encoder, encrypts them with its own CKKS key and sends the ciphertexts with its
*public* context (no secret key: refused with a 422 when it has one). This route multiplies the
ciphertexts by the head's plain weights and adds the bias, in the packing of
:class:`datamoat.privacy.he.ckks.Layout`, and returns the encrypted scores, the labels in score order and the served model's reference. The
server never sees a text, a feature vector or a score; nothing is written to the prediction log.

Only models whose features a client can compute from an export and whose head is linear are
served this way (embed-linear and finetune); any other model is a 409 naming the kind. The body
limit of this route is ``ServeSettings.max_encrypted_body_bytes`` (the context with its Galois keys
is ~34 MB, a 384-d text ~4 MB); malformed base64, contexts or ciphertexts are a 422 with one sentence.

The server keeps the last :data:`CONTEXTS_KEPT` parsed contexts by their sha256 (``context_id``,
returned with every answer), so a client sends its context once and then only the id; an id the
server no longer keeps is a 404, and the client sends the context again.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Annotated, Any, NamedTuple

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from datamoat.errors import ConflictError, DatamoatError, NotFoundError
from datamoat.privacy.he import ckks
from datamoat.serve.api_keys import ApiKey
from datamoat.serve.auth import require
from datamoat.serve.model_holder import LoadedModel
from datamoat.serve.openapi import KEYED, WITH_BODY, errors
from datamoat.serve.schemas import ModelRef

ROUTE = "/v1/predict/encrypted"
CONTEXTS_KEPT = 4
"""Parsed public contexts kept (each ~34 MB of keys as sent, more once parsed), least recently used dropped."""
router = APIRouter()
CanPredict = Annotated[ApiKey, Depends(require("predict"))]


def _one_context(schema: dict) -> None:
    schema["oneOf"] = [{"required": ["context"], "properties": {"context": {"type": "string"}}},
                       {"required": ["context_id"], "properties": {"context_id": {"type": "string"}}}]


class EncryptedPredictRequest(BaseModel):
    """The client's public CKKS context (or the id of one sent before) and its ciphertexts per text (base64)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_context)
    context: str | None = Field(default=None, min_length=1, description="A TenSEAL CKKS context without its "
                                "secret key, with Galois keys, serialised and base64-encoded.")
    context_id: str | None = Field(default=None, pattern="^[0-9a-f]{64}$", description="Instead of `context`: the "
                                   "sha256 (hex) of a context sent before (the `context_id` of its answer).")
    vectors: list[list[str]] = Field(min_length=1, description="Per text, its base64 CKKS ciphertexts: the "
                                     "text's features (the encoder's vector) packed as datamoat.privacy.he.ckks."
                                     "Layout says and encrypted under that context.")


class EncryptedPredictResponse(BaseModel):
    scores: list[str] = Field(description="One base64 CKKS vector per text whose first k values are the head's "
                              "scores (logits, W x + b) in `labels` order, readable only with the client's secret key.")
    labels: list[str] = Field(description="The served model's labels, in score order.")
    context_id: str = Field(description="The context's sha256: send it instead of the context next time.")
    model: ModelRef
    latency_ms: float


class ServedHead(NamedTuple):
    """The served head's packing and its plain operands (:meth:`~datamoat.privacy.he.ckks.Layout.plain_head`)."""

    layout: ckks.Layout
    operands: tuple[list[list[float]], list[float]]


class _Heads:
    """The plain head operands of the last ``keep`` loaded models, so a request does not rebuild them
    (one by default: an older model is let go after a hot swap)."""

    def __init__(self, keep: int = 1) -> None:
        self.keep = keep
        self._items: list[tuple[LoadedModel, ServedHead]] = []
        self._lock = threading.Lock()

    def get(self, model: LoadedModel) -> ServedHead:
        with self._lock:
            for loaded, head in self._items:
                if loaded is model:
                    return head
        head = _linear_head(model)
        with self._lock:
            self._items = [(model, head), *self._items][: self.keep]
        return head


def _linear_head(model: LoadedModel) -> ServedHead:
    """An encoder model's head as its layout and plain operands; ConflictError for other models."""
    from datamoat.models.export.hf_export import linear_head
    from datamoat.models.trainers.encoder_trainer import EncoderTrainer

    trainer, ref = model.trainer, model.record.ref
    refusal = (f"model {ref} is a {trainer.kind} model; encrypted scoring needs an encoder model with a linear "
               "head (embed-linear or finetune), whose features a client computes from its export.")
    if not isinstance(trainer, EncoderTrainer):
        raise ConflictError(refusal)
    try:
        weight, bias = linear_head(trainer)
    except DatamoatError as exc:
        raise ConflictError(refusal) from exc
    weight, bias = np.asarray(weight), np.asarray(bias)
    layout = ckks.Layout.for_head(weight.shape[0], weight.shape[1])
    return ServedHead(layout, layout.plain_head(weight, bias))


class _Contexts:
    """Parsed public contexts by sha256, the last :data:`CONTEXTS_KEPT` used."""

    def __init__(self, keep: int = CONTEXTS_KEPT) -> None:
        self.keep = keep
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, body: EncryptedPredictRequest) -> tuple[str, Any]:
        """(context id, parsed context) of a request; NotFoundError for an id no longer kept."""
        if (body.context is None) == (body.context_id is None):
            raise DatamoatError("send either 'context' or 'context_id', not both.")
        if body.context is not None:
            data = ckks.b64decode(body.context, "'context'")
            context_id = hashlib.sha256(data).hexdigest()
            with self._lock:
                known = self._items.get(context_id)
            if known is None:
                known = ckks.load_public_context(data)
        else:
            context_id = str(body.context_id)
            with self._lock:
                known = self._items.get(context_id)
            if known is None:
                raise NotFoundError(f"context {context_id[:12]}... is not kept on this server (it keeps the last "
                                    f"{self.keep}); send 'context' again.")
        with self._lock:
            self._items[context_id] = known
            self._items.move_to_end(context_id)
            while len(self._items) > self.keep:
                self._items.popitem(last=False)
        return context_id, known


def _score(body: EncryptedPredictRequest, head: ServedHead, ctx: Any) -> list[str]:
    """Check and score every text's ciphertexts under ``ctx`` (CPU-bound: run in a worker thread)."""
    out = []
    for i, parts in enumerate(body.vectors):
        what = f"'vectors' item {i}"
        vectors = ckks.load_vectors(ctx, [ckks.b64decode(part, what) for part in parts], head.layout, what)
        out.append(ckks.b64encode(ckks.encrypted_scores(vectors, head.layout, head.operands).serialize()))
    return out


@router.post(ROUTE, response_model=EncryptedPredictResponse, tags=["predict"],
             responses=errors(*KEYED, *WITH_BODY, 404, 409, 503))
async def predict_encrypted(body: EncryptedPredictRequest, request: Request, key: CanPredict) -> JSONResponse:
    """Scores of encrypted feature vectors, encrypted: the server sees neither texts nor scores.

    Send the public CKKS context (never the secret key), or the ``context_id`` of one sent before,
    and each text's ciphertexts (at most the server's batch limit of texts); get back one encrypted
    score vector per text, the labels and the context id. 404 when the id is no longer kept, 409
    when the served model has no linear head over encoder features.
    """
    started = time.perf_counter()
    dm = request.app.state.dm
    if len(body.vectors) > dm.settings.max_batch:
        raise HTTPException(422, f"'vectors' has {len(body.vectors)} items; the limit is {dm.settings.max_batch} "
                                 "per request.")
    model = dm.holder.current()
    heads: _Heads = getattr(request.app.state, "he_heads", None) or _Heads()
    request.app.state.he_heads = heads
    head = await run_in_threadpool(heads.get, model)
    contexts: _Contexts = getattr(request.app.state, "he_contexts", None) or _Contexts()
    request.app.state.he_contexts = contexts
    context_id, ctx = await run_in_threadpool(contexts.get, body)
    scores = await run_in_threadpool(_score, body, head, ctx)
    rec = model.record
    return JSONResponse({"scores": scores, "labels": model.classes, "context_id": context_id,
                         "model": {"name": rec.name, "version": rec.ordinal, "ref": rec.ref},
                         "latency_ms": round((time.perf_counter() - started) * 1000.0, 3)})

"""The OpenAPI spec says what the app answers: error bodies, status codes and the live limits.

* Every error the app sends is ``{"detail": "<one sentence>"}`` (:class:`ErrorResponse`),
  validation errors included, so FastAPI's default 422 schema (a list of pydantic errors) is
  replaced by that model on every route.
* :func:`errors` builds a route's ``responses=`` from the status codes it can answer.
* :func:`install_openapi` makes ``/openapi.json`` carry this server's limits (texts per
  request, characters per text) and the served model's labels, read when the spec is asked
  for, so a schema-valid request is one the server accepts.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from datamoat.privacy.pii.identifiers import IDENTIFIER_PATTERN
from datamoat.serve.schemas import NOT_BLANK

WHY: dict[int, str] = {
    400: "The request is malformed (e.g. a Content-Length that is not a number).",
    401: "No API key, or an unknown or revoked one.",
    403: "The key's role may not use this route.",
    404: "What the request names does not exist.",
    408: "The request body did not arrive in time.",
    409: "The request conflicts with the current state (e.g. the record is closed already).",
    413: "The request body is larger than the server's limit.",
    422: "The request is not valid; the detail names the field and the problem.",
    503: "The server cannot do it now; retry later.",
}
KEYED = (401, 403)
"""Codes every route behind an API key can answer."""
WITH_BODY = (400, 408, 413, 422)
"""Codes every route that reads a request body can answer (body limit, body timeout, validation)."""


class ErrorResponse(BaseModel):
    """Every error answer of the API."""

    detail: str = Field(description="One sentence saying what is wrong and where.")


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that can answer these error codes (each with :class:`ErrorResponse`)."""
    return {code: {"model": ErrorResponse, "description": WHY[code]} for code in sorted(set(codes))}


def install_openapi(app: FastAPI, *, max_batch: int, max_text_chars: int, classes: Any) -> None:
    """Make ``app.openapi()`` build the spec with the server's limits and the served model's labels.

    max_batch: most texts (or encrypted vectors) per predict request. max_text_chars: longest text (characters).
    classes: ``classes() -> list[str]``, the served model's labels now (a retrain can add one,
    so the spec is rebuilt on every call; it is small).
    """

    def openapi() -> dict[str, Any]:
        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = spec.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        predict = schemas.get("PredictRequest", {}).get("properties", {})
        for option in _typed(predict.get("text"), "string"):
            option["maxLength"] = max_text_chars
        for option in _typed(predict.get("texts"), "array"):
            option.update(maxItems=max_batch, minItems=1)
            option["items"]["maxLength"] = max_text_chars
        for option in _typed(schemas.get("EncryptedPredictRequest", {}).get("properties", {}).get("vectors"), "array"):
            option["maxItems"] = max_batch
        for option in _typed(schemas.get("FeedbackRequest", {}).get("properties", {}).get("text"), "string"):
            option["maxLength"] = max_text_chars
        known = list(classes())
        for name in ("FeedbackRequest", "AnnotationRequest"):
            label_rules(schemas.get(name), known)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _typed(prop: dict[str, Any] | None, kind: str) -> list[dict[str, Any]]:
    """The alternatives of property schema ``prop`` (itself, or its anyOf entries) of JSON type ``kind``."""
    if not prop:
        return []
    return [option for option in prop.get("anyOf", [prop]) if option.get("type") == kind]


NEW_LABEL: dict[str, Any] = {"allOf": [{"pattern": NOT_BLANK}, {"pattern": IDENTIFIER_PATTERN}]}
"""A new class name: not blank, and :data:`~datamoat.privacy.pii.identifiers.IDENTIFIER_PATTERN`
(no ``@``, at most 6 digits: the rule the feedback store enforces)."""


def label_rules(schema: dict[str, Any] | None, known: list[str]) -> None:
    """Add to a request schema with ``label`` and ``new_class``: the label is one of ``known``
    unless ``new_class`` is true (admins only; a 403 for other keys), then :data:`NEW_LABEL`."""
    if not schema or "label" not in schema.get("properties", {}):
        return
    schema.setdefault("allOf", []).append({"anyOf": [
        {"properties": {"label": {"anyOf": [{"enum": known}, {"type": "null"}]}}},
        {"required": ["new_class"], "properties": {"new_class": {"const": True}, "label": NEW_LABEL}},
    ]})

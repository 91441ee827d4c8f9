"""Build the FastAPI application: state, middleware, error handlers, API routes and web UI.

Errors never carry a stack trace to the client: a DatamoatError becomes 404 (not found), 409
(conflict), 503 (unavailable) or 422 with its one-sentence message; anything else is logged with
an id and the route template (never the raw path) and answered 500 with that id. Every error
body is ``{"detail": "<one sentence>"}``, and the OpenAPI spec says so (openapi.py).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from datamoat import __version__
from datamoat.errors import ConflictError, DatamoatError, NotFoundError, UnavailableError
from datamoat.serve.api import router as api_router
from datamoat.serve.encrypted import ROUTE as ENCRYPTED_ROUTE
from datamoat.serve.encrypted import router as encrypted_router
from datamoat.serve.generate_api import router as generate_router
from datamoat.serve.middleware import BodyLimitMiddleware, MetricsMiddleware
from datamoat.serve.monitor_refresh import MonitorRefresher
from datamoat.serve.openapi import install_openapi
from datamoat.serve.settings import ServeSettings
from datamoat.serve.state import AppState

log = logging.getLogger("datamoat.serve")


def error_status(exc: DatamoatError) -> int:
    """404 not found, 409 conflict, 503 unavailable (retry later), else 422 (the request is wrong)."""
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, UnavailableError):
        return 503
    return 422


def validation_sentence(exc: RequestValidationError) -> str:
    """One sentence naming where the request body or query is wrong (never echoing the input)."""
    errors = exc.errors()
    if not errors:
        return "the request is not valid."
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{where}: {str(first.get('msg', 'is not valid')).rstrip('.')}{more}."


def create_app(workspace_root: str | Path, *, model_name: str | None = None,
               settings: ServeSettings | None = None, web: bool = True) -> FastAPI:
    """The application serving ``model_name`` (``name`` follows its champion; ``name@N`` is pinned).

    workspace_root: the workspace folder. settings: limits and switches (ServeSettings()).
    web: mount the web UI under ``/ui``. The model is loaded here, so a bad model fails now.
    """
    settings = settings or ServeSettings()
    state = AppState(workspace_root, model_name, settings)
    refresher = MonitorRefresher(state)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            refresher.close()
            state.close()

    app = FastAPI(
        title="datamoat",
        version=__version__,
        description=(f"Model **{state.model_name}** behind an authenticated API. Keys: `datamoat keys create "
                     "--role client|annotator|admin`; send them as `Authorization: Bearer <key>` or `X-API-Key`."),
        lifespan=lifespan,
    )
    app.state.dm = state
    app.state.monitor = refresher

    @app.exception_handler(DatamoatError)
    async def _datamoat_error(_request: Request, exc: DatamoatError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=error_status(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_sentence(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
        error_id = uuid.uuid4().hex[:12]
        route = getattr(request.scope.get("route"), "path", None) or "unmatched"
        log.error("internal error %s on %s %s: %s: %s", error_id, request.method, route,
                  type(exc).__name__, exc, exc_info=exc)
        return JSONResponse({"detail": f"internal error (id {error_id}); the server log has the details."},
                            status_code=500)

    app.include_router(api_router)
    app.include_router(encrypted_router)
    app.include_router(generate_router)
    if web:
        from datamoat.serve.web import mount_web

        mount_web(app)
    install_openapi(app, max_batch=settings.max_batch, max_text_chars=settings.max_text_chars,
                    classes=lambda: state.holder.current().classes)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s,
                       path_limits={ENCRYPTED_ROUTE: settings.max_encrypted_body_bytes})
    app.add_middleware(MetricsMiddleware, metrics=state.metrics, access_log=settings.access_log)  # outermost
    return app

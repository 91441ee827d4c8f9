"""ASGI middleware: request-body limit and timeout, per-route metrics and the access log
(plain ASGI, no per-request task).

Starlette's BaseHTTPMiddleware costs a task and a copy per request; these wrap the ASGI
callables directly, which matters at thousands of requests per second.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from datamoat.serve.access_log import log_request
from datamoat.serve.metrics import ServerMetrics

Scope = dict[str, Any]


async def _send_json(send: Any, status: int, payload: dict[str, Any], close: bool = False) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status,
                "headers": headers + ([(b"connection", b"close")] if close else [])})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Answers 413 when a request body is larger than ``max_bytes``, declared or streamed, and
    408 when it has not fully arrived ``timeout_s`` seconds after the request started.

    A declared Content-Length over the limit is refused before anything is read. Any other body
    is read here, up to the limit, and handed on to the app from memory; one byte more and the
    client gets the 413 (the app never sees the request). A client that declares more bytes than
    it sends (or stalls) gets the 408 and the connection is closed, instead of holding a
    connection and a worker open until the server's keep-alive gives up.

    path_limits: a different limit (bytes) for some exact paths (``/v1/predict/encrypted``).
    """

    def __init__(self, app: Any, max_bytes: int, timeout_s: float = 5.0,
                 path_limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.path_limits.get(scope.get("path", ""), self.max_bytes)
        message = f"the request body is larger than the limit of {max_bytes:,} bytes."
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(send, 400, {"detail": "the Content-Length header is not a number."})
                    return
        if declared is not None and declared > max_bytes:
            await _send_json(send, 413, {"detail": message})
            return
        chunks: list[bytes] = []
        seen = 0
        try:
            async with asyncio.timeout(self.timeout_s):
                while True:
                    msg = await receive()
                    if msg["type"] != "http.request":
                        await self.app(scope, receive, send)  # disconnected: let the app see it
                        return
                    chunk = msg.get("body", b"")
                    seen += len(chunk)
                    if seen > max_bytes:
                        await _send_json(send, 413, {"detail": message})
                        return
                    chunks.append(chunk)
                    if not msg.get("more_body", False):
                        break
        except TimeoutError:
            got = f"{seen:,} of {declared:,} declared bytes" if declared is not None else f"{seen:,} bytes"
            await _send_json(send, 408, {"detail": f"the request body did not arrive within {self.timeout_s:g} s "
                                                   f"(got {got})."}, close=True)
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class MetricsMiddleware:
    """Counts requests and times them per route template and status code; with ``access_log``
    also logs one line per request with the route template (see :mod:`datamoat.serve.access_log`)."""

    def __init__(self, app: Any, metrics: ServerMetrics, access_log: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def capture(msg: dict[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                status["code"] = msg["status"]
            await send(msg)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(template, scope.get("method", ""), str(status["code"])).inc()
            self.metrics.latency.labels(template).observe(elapsed)
            if self.access_log:
                log_request(scope.get("method", ""), template, status["code"], elapsed)

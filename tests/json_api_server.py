"""A real HTTP JSON API on 127.0.0.1 for the http_json source tests, misbehaving on request.

``with JsonApi() as api:`` serves ``api.records`` (a dict id -> record, editable between runs)
on a free port, from a ThreadingHTTPServer in a background thread, under several paging styles:

* ``/tickets``  page_number (``page``, ``per_page``), ``updated_since`` filter, body
  ``{"data": [...] | null, "meta": {"total_pages", "has_more"}}``; ``data`` is null past the end.
* ``/offset``   ``offset`` / ``limit``, body ``{"items": [...], "total": N}``.
* ``/cursor``   ``after`` = an opaque cursor, body ``{"items": [...], "next_cursor": str | null}``.
* ``/links``    ``page``; body ``{"results": [...], "next": "/links?page=N" | null}`` and the same
  as a ``Link: <...>; rel="next"`` header.
* ``/forever``  ``has_more`` is always true and every page has two new records.

``api.plan[(path, page)] = ["429", "503", "sleep"]`` makes the next requests for that page
answer 429 (``Retry-After: 1``), 503, or sleep ``api.sleep_s`` before answering; ``"503*"``
answers 503 for ever. ``api.require_token`` makes every request need ``Authorization: Bearer``
with it. ``api.requests`` logs (path, query) of every request.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class JsonApi:
    def __init__(self, n: int = 25, per_page: int = 10) -> None:
        self.records: dict[int, dict[str, Any]] = {
            i: {"id": i, "title": f"ticket {i}", "body": f"the customer wrote message number {i} about an order",
                "category": ["card", "delivery", "refund"][i % 3], "updated_at": f"2024-01-01T00:{i:02d}:00Z",
                "meta": {"channel": "email"}}
            for i in range(1, n + 1)
        }
        self.per_page = per_page
        self.plan: dict[tuple[str, int], list[str]] = {}
        self.sleep_s = 0.6
        self.require_token: str | None = None
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="json-api", daemon=True)

    def __enter__(self) -> JsonApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def ordered(self, since: str | None = None) -> list[dict[str, Any]]:
        """The records (filtered by ``updated_at >= since``), oldest change first."""
        with self.lock:
            rows = [dict(r) for r in self.records.values() if since is None or r["updated_at"] >= since]
        return sorted(rows, key=lambda r: (r["updated_at"], r["id"]))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parsed = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
                with api.lock:
                    api.requests.append((parsed.path, query))
                if api.require_token and self.headers.get("Authorization") != f"Bearer {api.require_token}":
                    return self._send(401, {"error": "unauthorized"})
                page = int(query.get("page", query.get("offset", "0")) or 0)
                with api.lock:
                    actions = api.plan.get((parsed.path, page), [])
                    action = actions[0] if actions else None
                    if action and not action.endswith("*"):
                        actions.pop(0)
                if action == "429":
                    return self._send(429, {"error": "slow down"}, {"Retry-After": "1"})
                if action in ("503", "503*"):
                    return self._send(503, {"error": "busy"})
                if action == "sleep":
                    time.sleep(api.sleep_s)
                route = getattr(self, "_" + parsed.path.strip("/"), None)
                if route is None:
                    return self._send(404, {"error": "no such path"})
                route(query)

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def _tickets(self, q: dict[str, str]) -> None:
                rows = api.ordered(q.get("updated_since"))
                per, page = int(q.get("per_page", api.per_page)), int(q.get("page", 1))
                chunk = rows[(page - 1) * per: page * per]
                pages = max(1, -(-len(rows) // per))
                self._send(200, {"data": chunk or None, "meta": {"total_pages": pages, "has_more": page < pages}})

            def _offset(self, q: dict[str, str]) -> None:
                rows = api.ordered()
                offset, limit = int(q["offset"]), int(q["limit"])
                self._send(200, {"items": rows[offset: offset + limit], "total": len(rows)})

            def _cursor(self, q: dict[str, str]) -> None:
                rows = api.ordered()
                start = int(q.get("after", "c0")[1:])
                chunk = rows[start: start + api.per_page]
                end = start + len(chunk)
                self._send(200, {"items": chunk, "next_cursor": f"c{end}" if end < len(rows) else None})

            def _links(self, q: dict[str, str]) -> None:
                rows = api.ordered()
                page = int(q.get("page", 1))
                chunk = rows[(page - 1) * api.per_page: page * api.per_page]
                more = page * api.per_page < len(rows)
                nxt = f"/links?page={page + 1}" if more else None
                self._send(200, {"results": chunk, "next": nxt},
                           {"Link": f'<{api.url}{nxt}>; rel="next"'} if nxt else {})

            def _forever(self, q: dict[str, str]) -> None:
                page = int(q.get("page", 1))
                items = [{"id": page * 10 + k, "body": f"endless page {page} item {k}"} for k in range(2)]
                self._send(200, {"data": items, "has_more": True})

        return Handler

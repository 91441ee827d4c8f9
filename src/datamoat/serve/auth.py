"""API-key authentication and role checks for the HTTP routes.

A key arrives as ``Authorization: Bearer <key>``, ``X-API-Key: <key>`` or, for the web UI, the
``datamoat_key`` cookie (HttpOnly, SameSite=Strict, set by the login form). Keys are checked
against the catalog (only their sha256 is stored there; :mod:`datamoat.serve.api_keys`), and
a verified key is trusted for ``key_cache_s`` seconds so a busy server does not query the
database on every request; the cache is keyed by the key's sha256, never the key. A missing or
unknown key is 401, a key whose role lacks the route's permission is 403. Keys never appear in
logs or error messages.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from datamoat.serve.api_keys import ApiKey, hash_key, role_allows, verify_key

if TYPE_CHECKING:
    from datamoat.catalog import Catalog

COOKIE_NAME = "datamoat_key"
_bearer = HTTPBearer(auto_error=False, description="An API key made with `datamoat keys create`.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key made with `datamoat keys create`.")


class KeyVerifier:
    """Verifies keys against the catalog with a short in-memory cache (see module docstring)."""

    def __init__(self, catalog: Catalog, cache_s: float = 5.0) -> None:
        self.catalog = catalog
        self.cache_s = cache_s
        self._cache: dict[str, tuple[ApiKey | None, float]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str) -> tuple[bool, ApiKey | None]:
        """(True, the answer) when ``key`` was verified less than ``cache_s`` ago, else (False, None)."""
        with self._lock:
            hit = self._cache.get(hash_key(key))
        if hit is not None and hit[1] > time.monotonic():
            return True, hit[0]
        return False, None

    def verify(self, key: str) -> ApiKey | None:
        """The ApiKey for ``key``, or None when it is unknown, malformed or revoked (may query the database)."""
        known, found = self.cached(key)
        if known:
            return found
        digest = hash_key(key)
        now = time.monotonic()
        found = verify_key(self.catalog, key)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (found, now + self.cache_s)
        return found


def presented_key(request: Request) -> str | None:
    """The key a request carries: ``Authorization: Bearer``, then ``X-API-Key``, then the UI cookie."""
    auth = request.headers.get("authorization", "")
    key = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    return key or request.headers.get("x-api-key") or request.cookies.get(COOKIE_NAME) or None


def authenticate(request: Request) -> ApiKey | None:
    """The verified key of ``request``, or None (for UI pages, which redirect to the login)."""
    key = presented_key(request)
    return request.app.state.dm.keys.verify(key) if key else None


def require(permission: str):  # noqa: ANN201 - returns a FastAPI dependency
    """A dependency that returns the caller's ApiKey, or answers 401 / 403."""

    async def dependency(
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008 - FastAPI idiom
        header: str | None = Depends(_header),  # noqa: B008 - FastAPI idiom
    ) -> ApiKey:
        # the two security parameters declare the schemes in the OpenAPI spec; the key is read once, here
        key = presented_key(request)
        if not key:
            raise HTTPException(401, "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.",
                                headers={"WWW-Authenticate": "Bearer"})
        keys = request.app.state.dm.keys
        known, found = keys.cached(key)
        if not known:  # the database check runs in a worker thread, never on the event loop
            found = await run_in_threadpool(keys.verify, key)
        if found is None:
            raise HTTPException(401, "the API key is not valid (unknown or revoked).",
                                headers={"WWW-Authenticate": "Bearer"})
        if not role_allows(found.role, permission):
            raise HTTPException(403, f"the role {found.role!r} may not {permission}; ask an admin for a key with that right.")
        request.state.api_key = found
        return found

    return dependency

"""Who is looking at a page: the login form, the key cookie, and the per-page permission check.

Logging in sets the ``datamoat_key`` cookie to the key (HttpOnly: page scripts cannot read it;
SameSite=Strict: other sites cannot make the browser send it; Secure when served over HTTPS).
The JSON API accepts the same cookie, so the pages' scripts call ``/v1/...`` directly. A page
without a valid key redirects to the login form (303); a key whose role lacks the page's
permission gets a 403 page.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from datamoat.serve.api_keys import ApiKey, role_allows
from datamoat.serve.auth import COOKIE_NAME, authenticate
from datamoat.serve.web.templating import PAGE_HEADERS, render

router = APIRouter(include_in_schema=False)
COOKIE_MAX_AGE_S = 12 * 3600
"""How long the login cookie lives in the browser (seconds); the key itself is checked on every request."""
MAX_KEY_CHARS = 200


class LoginRequired(Exception):
    """Raised by :func:`page_key` when a page is asked for without a valid key."""

    def __init__(self, next_path: str) -> None:
        super().__init__("login required")
        self.next_path = next_path


class PageForbidden(Exception):
    """Raised by :func:`page_key` when the key's role lacks the page's permission."""

    def __init__(self, key: ApiKey, permission: str) -> None:
        super().__init__(f"role {key.role!r} may not {permission}")
        self.key = key
        self.permission = permission


def page_key(permission: str):  # noqa: ANN201 - returns a FastAPI dependency
    """A dependency for pages: the caller's ApiKey (also put on ``request.state.api_key``).

    No valid key -> :class:`LoginRequired`; role without ``permission`` -> :class:`PageForbidden`.
    """

    def dependency(request: Request) -> ApiKey:
        key = authenticate(request)
        if key is None:
            raise LoginRequired(request.url.path)
        request.state.api_key = key
        if not role_allows(key.role, permission):
            raise PageForbidden(key, permission)
        return key

    return dependency


ReadKey = Annotated[ApiKey, Depends(page_key("read"))]
"""A page parameter: the logged-in key, which may read (annotators and admins)."""
AnnotateKey = Annotated[ApiKey, Depends(page_key("annotate"))]
"""A page parameter: the logged-in key, which may annotate (annotators and admins)."""


def safe_next(value: str | None) -> str:
    """``value`` when it is a path inside the UI (``/ui/...``, no scheme, host or ``//``), else ``/ui/``."""
    if not value or not value.startswith("/ui/") or "//" in value or "\\" in value:
        return "/ui/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/ui/"
    return parts.path


def login_redirect(request: Request, exc: LoginRequired) -> RedirectResponse:
    """303 to the login form, remembering the page that was asked for."""
    target = safe_next(exc.next_path)
    suffix = "" if target == "/ui/" else f"?next={quote(target, safe='/')}"
    return RedirectResponse(f"/ui/login{suffix}", status_code=303, headers={"Cache-Control": "no-store"})


def forbidden_page(request: Request, exc: PageForbidden) -> HTMLResponse:
    """The 403 page: who is logged in and which right the page needs."""
    return render(request, "error.html.j2", {
        "title": "Not allowed",
        "message": f"The role “{exc.key.role}” may not {exc.permission}. Ask an admin for a key with that right, "
                   "or log in with another key.",
    }, status_code=403, page="error")


@router.get("/ui/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002 - the query name
    """The login form (one field: the API key)."""
    request.state.api_key = authenticate(request)
    return render(request, "login.html.j2", {"error": None, "next": safe_next(next)}, page="login")


@router.post("/ui/login")
async def login(request: Request) -> Response:
    """Check the form's key; on success set the cookie and redirect (303) to ``next`` (default ``/ui/``).

    The urlencoded form is parsed here (fields ``key`` and ``next``), so the UI needs no
    multipart library.
    """
    form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=10)
    key = (form.get("key") or [""])[0].strip()
    target = safe_next((form.get("next") or ["/ui/"])[0])
    found = None
    if 0 < len(key) <= MAX_KEY_CHARS:
        found = await run_in_threadpool(request.app.state.dm.keys.verify, key)
    if found is None:
        request.state.api_key = None
        return render(request, "login.html.j2", {
            "error": "That key is not valid (unknown, revoked or mistyped).", "next": target,
        }, status_code=401, page="login")
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(COOKIE_NAME, key, max_age=COOKIE_MAX_AGE_S, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.api_route("/ui/logout", methods=["GET", "POST"])
def logout(request: Request) -> RedirectResponse:
    """Forget the key cookie and go back to the login form."""
    response = RedirectResponse("/ui/login", status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return response


@router.get("/ui")
def ui_root() -> RedirectResponse:
    """``/ui`` -> ``/ui/``."""
    return RedirectResponse("/ui/", status_code=308, headers=dict(PAGE_HEADERS))

"""Rendering the UI's Jinja2 templates (autoescape on) into HTML responses with safe headers.

Every page is answered with a Content-Security-Policy that allows scripts and styles from this
server only (plus inline styles, which plotly.js sets on its chart elements), no frames and no
connections to other origins, and with ``Cache-Control: no-store`` because pages show data.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader

from datamoat.catalog.records import json_ready
from datamoat.serve.api_keys import role_allows

PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
NAV = (("/ui/", "Overview", "read"), ("/ui/datasets", "Datasets", "read"), ("/ui/models", "Models", "read"),
       ("/ui/annotate", "Annotate", "annotate"), ("/ui/monitor", "Monitor", "read"),
       ("/ui/flywheel", "Flywheel", "read"))
"""Header links: (path, title, permission needed to see it)."""


def pct(value: Any, digits: int = 1) -> str:
    """A 0-1 fraction as a percentage (``0.8734`` -> ``87.3%``); ``–`` when missing."""
    if not _finite(value):
        return "–"
    return f"{100.0 * float(value):.{digits}f}%"


def num(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals (integers as integers, with thousands separators); ``–`` when missing."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if not _finite(value):
        return "–"
    return f"{float(value):.{digits}f}"


def pvalue(value: Any) -> str:
    """A p-value in 3 significant digits (``0.000123`` -> ``0.000123``, tiny ones as ``<1e-12``)."""
    if not _finite(value):
        return "–"
    v = float(value)
    return "<1e-12" if v < 1e-12 else f"{v:.3g}"


def ci(value: Any) -> str:
    """A [low, high] interval of fractions as ``[85.1%, 90.2%]``; empty when missing."""
    if not isinstance(value, list | tuple) or len(value) != 2 or not all(_finite(v) for v in value):
        return ""
    return f"[{pct(value[0])}, {pct(value[1])}]"


def when(value: Any) -> str:
    """A datetime or ISO string as ``YYYY-MM-DD HH:MM UTC``."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value) if value else "–"


def json_attr(value: Any) -> str:
    """``value`` (plain dicts, lists, numbers, strings) as JSON for a ``data-*`` attribute (autoescape escapes it)."""
    return json.dumps(json_ready(value), allow_nan=False, default=str)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(float(value))


_env = Environment(loader=PackageLoader("datamoat.serve.web", "templates"), autoescape=True, trim_blocks=True,
                   lstrip_blocks=True)
_env.filters.update(pct=pct, num=num, pvalue=pvalue, ci=ci, when=when, json_attr=json_attr)


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200,
           page: str = "") -> HTMLResponse:
    """Render ``template`` with ``context`` plus the logged-in key, navigation and asset URLs.

    page: the page's name (``body data-page``; the JS picks what to run by it).
    Returns the HTML response with :data:`PAGE_HEADERS`.
    """
    from datamoat.serve.web.assets import asset_url

    key = getattr(request.state, "api_key", None)
    nav = [(path, title) for path, title, perm in NAV if key is not None and role_allows(key.role, perm)]
    dm = request.app.state.dm
    html = _env.get_template(template).render(
        key=key, nav=nav, page=page, path=request.url.path, model_name=dm.model_name,
        css_url=asset_url("app.css"), js_url=asset_url("app.js"), plotly_url=asset_url("plotly.min.js"),
        can=lambda permission: key is not None and role_allows(key.role, permission),
        **(context or {}),
    )
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)

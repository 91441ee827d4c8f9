"""The server-rendered web UI of ``datamoat serve`` under ``/ui``.

Pages: login, overview, datasets (with quality reports), models (compared in a chart), the
annotation page (keyboard shortcuts), monitoring and the flywheel (retrain history and the
admins' "Retrain now"). Templates are Jinja2 with autoescape on; the only scripts are the UI's
own ``app.js`` and plotly.js from the plotly wheel, both served by this server (no CDN).
Page scripts call the JSON API with the login cookie and write data with ``textContent`` only.
"""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["mount_web"]


def mount_web(app: FastAPI) -> None:
    """Add the UI's routes, static files and its login-redirect / 403-page handlers to ``app``."""
    from datamoat.serve.web import (
        assets,
        pages_annotate,
        pages_data,
        pages_flywheel,
        pages_monitor,
        pages_overview,
        reports,
        session,
    )

    for module in (session, assets, reports, pages_overview, pages_data, pages_annotate, pages_monitor,
                   pages_flywheel):
        app.include_router(module.router)
    app.add_exception_handler(session.LoginRequired, session.login_redirect)  # type: ignore[arg-type]
    app.add_exception_handler(session.PageForbidden, session.forbidden_page)  # type: ignore[arg-type]

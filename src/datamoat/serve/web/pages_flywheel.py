"""The flywheel page: every retrain decision with its figures, and (admins) the "Retrain now" button."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from datamoat.serve.web.reports import report_url_for_path, reports_dir
from datamoat.serve.web.session import ReadKey
from datamoat.serve.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/ui/flywheel", response_class=HTMLResponse)
def flywheel_page(request: Request, key: ReadKey) -> HTMLResponse:
    """Retrain and promotion history, newest first; the served model; this server's retrain jobs."""
    from datamoat.flywheel.retrain import list_decisions

    dm = request.app.state.dm
    folder = reports_dir(request)
    decisions = []
    for d in list_decisions(dm.ws.catalog, dm.model_name):
        item = d.to_dict()
        item["report_url"] = report_url_for_path(folder, d.report)
        decisions.append(item)
    jobs = dm.jobs.list()
    active = next((j for j in jobs if j.get("status") in ("queued", "running")), None)
    return render(request, "flywheel.html.j2", {
        "decisions": decisions, "served": dm.holder.describe(), "jobs": jobs[:10],
        "active_job": active["id"] if active else "", "counts": dm.feedback.counts(dm.model_name),
    }, page="flywheel")

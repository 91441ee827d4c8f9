"""The overview page (``/ui/``): served model, feedback counts, latest monitoring and retrain."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from datamoat.serve.web.session import ReadKey
from datamoat.serve.web.templating import render

router = APIRouter(include_in_schema=False)
FEEDBACK_STATUSES = ("pending", "review", "ready", "consumed", "discarded")
"""Statuses shown first on the overview, in this order (others follow as found)."""


@router.get("/ui/", response_class=HTMLResponse)
def overview(request: Request, key: ReadKey) -> HTMLResponse:
    """Served model (ref, kind, test accuracy with CI), feedback by status, latest monitor and decision."""
    from datamoat.flywheel.retrain import list_decisions
    from datamoat.monitor.report import latest_report

    dm = request.app.state.dm
    counts = {s: n for s, n in dm.feedback.counts(dm.model_name).items() if s != "total"}
    ordered = [(s, counts[s]) for s in FEEDBACK_STATUSES if s in counts]
    ordered += [(s, n) for s, n in sorted(counts.items()) if s not in FEEDBACK_STATUSES]
    decisions = list_decisions(dm.ws.catalog, dm.model_name, limit=1)
    return render(request, "overview.html.j2", {
        "served": dm.holder.describe(),
        "counts": ordered,
        "total_feedback": sum(counts.values()),
        "monitor": latest_report(dm.ws.catalog, dm.model_name),
        "decision": decisions[0].to_dict() if decisions else None,
        "jobs": dm.jobs.list()[:3],
    }, page="overview")

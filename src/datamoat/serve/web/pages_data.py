"""The datasets page (versions with their quality reports) and the models page (versions compared)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from datamoat.serve.web.charts import models_figure
from datamoat.serve.web.reports import report_url, reports_dir
from datamoat.serve.web.session import ReadKey
from datamoat.serve.web.templating import render

router = APIRouter(include_in_schema=False)


def profile_report_name(dataset: str, ordinal: int) -> str:
    """File name ``datamoat profile`` gives a version's quality report."""
    return f"{dataset}-{ordinal}-profile.html"


def model_report_name(name: str, ordinal: int) -> str:
    """File name ``train_model`` gives a model version's evaluation report."""
    return f"model-{name}-{ordinal}.html"


@router.get("/ui/datasets", response_class=HTMLResponse)
def datasets(request: Request, key: ReadKey) -> HTMLResponse:
    """Every dataset with its versions, newest first, and links to their quality reports."""
    dm = request.app.state.dm
    folder = reports_dir(request)
    out: list[dict[str, Any]] = []
    for ds in dm.ws.catalog.list_datasets():
        versions = []
        for v in reversed(dm.ws.catalog.list_versions(ds.name)):
            versions.append({
                "ordinal": v.ordinal, "ref": v.ref, "rows": v.row_count, "excluded": v.excluded_count,
                "step": v.step, "created_at": v.created_at, "hash": v.content_hash[:12],
                "parents": v.parent_refs, "report": report_url(folder, profile_report_name(v.dataset, v.ordinal)),
            })
        out.append({"name": ds.name, "description": ds.description, "versions": versions})
    return render(request, "datasets.html.j2", {"datasets": out}, page="datasets")


@router.get("/ui/models", response_class=HTMLResponse)
def models(request: Request, key: ReadKey) -> HTMLResponse:
    """Every version of the served model name: aliases, kind, figures with CIs, a comparison chart."""
    dm = request.app.state.dm
    folder = reports_dir(request)
    records = dm.registry.list(dm.model_name)
    served_id = dm.holder.current().record.id
    rows = [{
        "ref": r.ref, "ordinal": r.ordinal, "kind": r.kind, "compressed": r.compressed, "aliases": r.aliases, "created_at": r.created_at,
        "served": r.id == served_id, "metrics": r.metrics, "train": r.info.get("train_ref"),
        "test": r.info.get("test_ref"), "report": report_url(folder, model_report_name(r.name, r.ordinal)),
    } for r in reversed(records)]
    return render(request, "models.html.j2", {
        "rows": rows, "figure": models_figure(records) if records else None,
    }, page="models")

"""The monitoring page: the latest report's status, alerts, each check against its threshold, per-day charts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from datamoat.serve.web.charts import daily_figures
from datamoat.serve.web.session import ReadKey
from datamoat.serve.web.templating import render

router = APIRouter(include_in_schema=False)


def check_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure a monitoring report judges: name, status, value, threshold, rule, note.

    Values are numbers as the report gives them (AUC, distances, p-values, fractions).
    """
    rows: list[dict[str, Any]] = []
    text = report.get("text_drift") or {}
    rows.append({"check": "input text drift", "status": text.get("status"), "value": text.get("auc"),
                 "value_name": "domain-classifier ROC-AUC",
                 "threshold": text.get("effective_threshold", text.get("threshold")), "rule": "alert above",
                 "note": text.get("reason") or _sizes(text)})
    label = report.get("label_drift") or {}
    rows.append({"check": "predicted-label drift", "status": label.get("status"), "value": label.get("js_distance"),
                 "value_name": "Jensen-Shannon distance",
                 "threshold": label.get("effective_threshold", label.get("threshold")), "rule": "alert above",
                 "note": label.get("reason") or _sizes(label)})
    conf = report.get("confidence_drift") or {}
    rows.append({"check": "confidence drop", "status": conf.get("status"), "value": conf.get("mean_drop"),
                 "value_name": "mean confidence drop", "threshold": conf.get("drop_threshold"),
                 "rule": "alert above (with KS p below its threshold)", "note": conf.get("reason") or _sizes(conf)})
    rows.append({"check": "confidence shift (KS)", "status": conf.get("status"), "value": conf.get("p_value"),
                 "value_name": "KS test p-value", "threshold": conf.get("p_threshold"), "rule": "significant below",
                 "note": ""})
    live = report.get("live_accuracy") or {}
    note = live.get("reason") or (f"{live.get('n', 0)} labelled predictions" if live else "")
    rows.append({"check": "live accuracy", "status": live.get("status"), "value": live.get("accuracy"),
                 "value_name": "share of suggestions people confirmed", "threshold": live.get("threshold"),
                 "rule": "alert when the 95% interval is below", "note": note, "ci": live.get("ci")})
    return rows


def _sizes(part: dict[str, Any]) -> str:
    if "n_reference" in part or "n_current" in part:
        return f"{part.get('n_reference', 0):,} reference vs {part.get('n_current', 0):,} current"
    return ""


@router.get("/ui/monitor", response_class=HTMLResponse)
def monitor_page(request: Request, key: ReadKey) -> HTMLResponse:
    """The latest saved monitoring report of the served model (the page can ask for a fresh one)."""
    from datamoat.monitor.report import latest_report

    dm = request.app.state.dm
    report = latest_report(dm.ws.catalog, dm.model_name)
    figures: dict[str, Any] = {}
    if report and report.get("daily"):
        expected = (report.get("live_accuracy") or {}).get("expected")
        figures = daily_figures(report["daily"], expected)
    return render(request, "monitor.html.j2", {
        "report": report, "checks": check_rows(report) if report else [], "figures": figures,
    }, page="monitor")

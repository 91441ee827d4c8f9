"""CLI command for monitoring: ``datamoat monitor MODEL [--window-days N] [--json]``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from datamoat.cli.output import print_json, print_table, stdout


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"
    return str(value)


def check_rows(report: dict[str, Any]) -> list[list[str]]:
    """One table row per check: check, status, measure, value, threshold, detail."""
    text, labels = report["text_drift"], report["label_drift"]
    conf, acc = report["confidence_drift"], report["live_accuracy"]

    def detail(check: dict[str, Any], text_if_ok: str) -> str:
        return escape(check.get("reason") or text_if_ok)

    terms = ", ".join(t["term"] for t in (text.get("top_terms") or [])[:3])
    ci = acc.get("ci")
    return [
        ["text drift", text["status"], "ROC-AUC", _fmt(text.get("auc")), _fmt(text.get("effective_threshold")),
         detail(text, f"{text.get('n_reference', 0)} reference vs {text.get('n_current', 0)} current texts"
                + (f"; current terms: {terms}" if terms else ""))],
        ["label drift", labels["status"], "JS distance", _fmt(labels.get("js_distance")),
         _fmt(labels.get("effective_threshold")),
         detail(labels, f"{labels.get('n_current', 0)} predictions; chi-square p={_fmt(labels.get('p_value'))}")],
        ["confidence", conf["status"], "mean drop", _fmt(conf.get("mean_drop")), _fmt(conf.get("drop_threshold")),
         detail(conf, f"mean {_fmt(conf.get('current_mean'))} vs {_fmt(conf.get('reference_mean'))} on test; "
                      f"KS p={_fmt(conf.get('p_value'))}")],
        ["live accuracy", acc["status"], "CI upper", _fmt(ci[1] if ci else None), _fmt(acc.get("threshold")),
         detail(acc, f"{_fmt(acc.get('accuracy'))} [{_fmt(ci[0] if ci else None)}, {_fmt(ci[1] if ci else None)}] "
                     f"on {acc.get('n', 0)} labelled; test accuracy {_fmt(acc.get('expected'))}")],
    ]


def monitor(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model name (its champion is monitored).")],
    window_days: Annotated[float, typer.Option("--window-days", help="Days of predictions and feedback to check.")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
) -> None:
    """Check a served model for drift (input text, predicted labels, confidence) and live accuracy.

    The report is saved in the catalog and each alert is logged as a warning.

    Exit code 0 whenever a report is made, alerts included: read `status` from --json.
    """
    from datamoat.cli.context import open_workspace
    from datamoat.monitor.report import monitor_model

    with open_workspace(ctx) as ws:
        report = monitor_model(ws, model, window_days=window_days)
    if as_json:
        print_json(report)
        return
    colour = {"ok": "green", "alert": "bold red"}.get(report["status"], "yellow")
    counts, window = report["counts"], report["window"]
    stdout.print(f"model  [bold]{escape(report['model_ref'])}[/] (champion of {escape(report['model'])})", highlight=False)
    stdout.print(f"window {window['start'][:16]} -> {window['end'][:16]} UTC: {counts['predictions']:,} predictions "
                 f"({counts['model_predictions']:,} by this version), {counts['labelled_feedback']:,} labelled feedback",
                 highlight=False)
    stdout.print(f"status [{colour}]{report['status']}[/]", highlight=False)
    print_table("checks", ["check", "status", "measure", "value", "threshold", "detail"], check_rows(report))
    if report["daily"]:
        print_table("per day (UTC)", ["day", "predictions", "mean confidence", "feedback", "live accuracy"], [
            [d["day"], d["predictions"], _fmt(d["mean_confidence"]), d["feedback"], _fmt(d["live_accuracy"])]
            for d in report["daily"]
        ])
    for alert in report["alerts"]:
        stdout.print(f"[bold red]alert[/] {alert['kind']}: {escape(alert['message'])}", highlight=False)
    if not report["alerts"]:
        stdout.print("no alerts", highlight=False)

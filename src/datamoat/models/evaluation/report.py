"""An evaluation as one offline HTML file plus the same figures as JSON.

The HTML embeds plotly.js once (inlined from the installed wheel) and refers to nothing outside
the file, so it opens anywhere without a network. Both files are written atomically (a temporary
file renamed into place). :mod:`datamoat.models.evaluation.compare` reuses the helpers here.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.offline import get_plotlyjs

from datamoat.catalog.records import json_ready
from datamoat.errors import DatamoatError
from datamoat.models.evaluation.calibration import reliability_figure

_env = Environment(
    loader=PackageLoader("datamoat.models.evaluation", "templates"), autoescape=select_autoescape(["html", "j2"])
)
_LAYOUT = {"margin": {"l": 50, "r": 20, "t": 50, "b": 50}, "height": 360, "template": "plotly_white"}
_CONFIG = {"displaylogo": False, "responsive": True}
SMALL_MATRIX = 25
"""Up to this many labels the confusion matrix shows counts in every cell; above, error shares."""
MAX_SLICE_VALUES = 50
"""Most values listed per slice column (the most frequent ones)."""
MAX_IMPORTANCE_BARS = 30
"""Most features drawn in the importance chart (the table lists all of them)."""


# ------------------------------------------------------------------------------ shared helpers
def fig_html(fig: go.Figure, **layout: Any) -> str:
    """A figure as an HTML fragment that uses the page's single inlined plotly.js."""
    fig.update_layout(**{**_LAYOUT, **layout})
    return fig.to_html(full_html=False, include_plotlyjs=False, config=_CONFIG)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_html_and_json(template: str, path: Path, data: dict[str, Any], **context: Any) -> Path:
    """Render ``template`` with ``context`` (plus ``plotlyjs``) to ``path`` and dump ``data`` as
    JSON to the same stem with ``.json``; returns the HTML path."""
    path = Path(path)
    if not path.parent.is_dir():
        raise DatamoatError(f"cannot write the report to {path}: folder {path.parent} does not exist.")
    html = _env.get_template(template).render(plotlyjs=get_plotlyjs(), **context)
    write_atomic(
        path.with_suffix(".json"), json.dumps(json_ready(data), indent=2, allow_nan=False, default=str) + "\n"
    )
    write_atomic(path, html)
    return path


def info_items(info: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    """``(key, value)`` pairs for the ``info`` macro of the evaluation template, JSON-ready:
    mappings become key/value tables and lists of mappings (the selection's candidates) tables
    with a column per key, instead of JSON text."""
    return [(str(k), json_ready(v)) for k, v in (info or {}).items()]


# ------------------------------------------------------------------------------ charts
def confusion_figure(labels: list[str], matrix: list[list[int]]) -> go.Figure:
    """Heatmap of the confusion matrix (rows true, columns predicted, first label on top).

    Up to :data:`SMALL_MATRIX` labels every cell shows its count. With more, the cells are each
    true label's share of rows sent to each predicted label with the diagonal left blank, so
    that the errors (not the dominant correct cells) carry the colour.
    """
    cm = np.asarray(matrix, dtype=np.float64)
    n = len(labels)
    support = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, support, out=np.zeros_like(cm), where=support > 0)
    small = n <= SMALL_MATRIX
    if small:
        z = cm
        heat = go.Heatmap(
            z=z,
            x=labels,
            y=labels,
            colorscale="Blues",
            texttemplate="%{z:.0f}",
            customdata=share,
            hovertemplate="true %{y}<br>predicted %{x}<br>rows %{z:.0f} (%{customdata:.1%})<extra></extra>",
        )
        title = "Confusion matrix (rows: true label, columns: predicted; cells: rows)"
    else:
        z = share.copy()
        np.fill_diagonal(z, np.nan)
        z[z == 0] = np.nan
        heat = go.Heatmap(
            z=z,
            x=labels,
            y=labels,
            colorscale="Reds",
            zmin=0,
            customdata=cm,
            hoverongaps=False,
            colorbar={"title": "share", "tickformat": ".0%"},
            hovertemplate="true %{y}<br>predicted %{x}<br>rows %{customdata:.0f} (%{z:.1%})<extra></extra>",
        )
        title = "Where errors go: share of each true label's rows per wrong prediction (diagonal hidden)"
    fig = go.Figure(heat)
    tick = {"tickfont": {"size": 9 if n > 40 else 11}, "automargin": True, "dtick": 1}
    fig.update_layout(
        title=title,
        xaxis={**tick, "title": "predicted", "tickangle": -60 if n > 8 else 0},
        yaxis={**tick, "title": "true", "autorange": "reversed"},
        height=int(min(1300, max(380, 240 + (14 if n > 25 else 40) * n))),
        plot_bgcolor="white",
    )
    return fig


def learning_curve_figure(points: list[Mapping[str, Any]]) -> go.Figure:
    """Test accuracy and macro-F1 against the number of training rows."""
    pts = sorted(points, key=lambda p: p["rows"])
    x = [p["rows"] for p in pts]
    custom = [[p.get("fraction"), p.get("fit_seconds")] for p in pts]
    fig = go.Figure()
    for key, name in (("accuracy", "accuracy"), ("macro_f1", "macro F1")):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[p[key] for p in pts],
                mode="lines+markers",
                name=name,
                customdata=custom,
                hovertemplate=f"{name} %{{y:.3f}}<br>rows %{{x}} (fraction %{{customdata[0]}})"
                "<br>fit %{customdata[1]:.2f} s<extra></extra>",
            )
        )
    fig.update_layout(
        title="Learning curve (score on the test set)",
        xaxis={"title": "training rows"},
        yaxis={"title": "score", "rangemode": "tozero"},
    )
    return fig


def importance_figure(importance: Mapping[str, Any]) -> go.Figure:
    """Horizontal bars: the mean drop in the metric when each feature is shuffled (most important on top),
    with the spread over the shuffles as error bars."""
    feats = list(importance.get("features") or [])[:MAX_IMPORTANCE_BARS][::-1]
    metric = str(importance.get("metric", "score")).replace("_", " ")
    fig = go.Figure(
        go.Bar(
            x=[f["importance"] for f in feats],
            y=[str(f["feature"]) for f in feats],
            orientation="h",
            error_x={"type": "data", "array": [f["std"] for f in feats]},
            hovertemplate=f"%{{y}}: {metric} drops by %{{x:.4f}}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Feature importance (drop in {metric} when shuffled)",
        xaxis={"title": f"drop in test {metric}"},
        height=max(260, 60 + 24 * len(feats)),
    )
    return fig


def curves_figure(curves: Mapping[str, Any]) -> go.Figure:
    """ROC (left) and precision-recall (right) curves of a binary task, with the chance lines."""
    from plotly.subplots import make_subplots

    roc, pr, pos = curves["roc"], curves["pr"], curves["positive"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        f"ROC, positive class {pos!r} (AUC {roc['auc']:.3f})", f"Precision-recall (AP {pr['ap']:.3f})"))
    fig.add_trace(go.Scatter(x=roc["fpr"], y=roc["tpr"], mode="lines", name="ROC"), row=1, col=1)
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dot", "color": "#999"}),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=pr["recall"], y=pr["precision"], mode="lines", name="precision-recall"), row=1, col=2)
    fig.add_trace(go.Scatter(x=[0, 1], y=[pr["prevalence"]] * 2, mode="lines", name="always positive",
                             line={"dash": "dot", "color": "#999"}), row=1, col=2)
    fig.update_xaxes(title_text="false positive rate", range=[0, 1], row=1, col=1)
    fig.update_yaxes(title_text="true positive rate", range=[0, 1.02], row=1, col=1)
    fig.update_xaxes(title_text="recall", range=[0, 1], row=1, col=2)
    fig.update_yaxes(title_text="precision", range=[0, 1.02], row=1, col=2)
    fig.update_layout(showlegend=False)
    return fig


def _charts(ev: Mapping[str, Any]) -> dict[str, str]:
    charts: dict[str, str] = {}
    conf = ev.get("confusion") or {}
    if conf.get("labels"):
        fig = confusion_figure([str(v) for v in conf["labels"]], conf["matrix"])
        charts["confusion"] = fig_html(
            fig, height=fig.layout.height, margin={"l": 60, "r": 20, "t": 50, "b": 60}
        )
    if ev.get("reliability"):
        charts["reliability"] = fig_html(reliability_figure(ev["reliability"]), legend={"x": 0.02, "y": 0.98})
    if ev.get("learning_curve"):
        charts["learning_curve"] = fig_html(learning_curve_figure(ev["learning_curve"]))
    if ev.get("curves"):
        charts["curves"] = fig_html(curves_figure(ev["curves"]), margin={"l": 60, "r": 20, "t": 60, "b": 50})
    if (ev.get("feature_importance") or {}).get("features"):
        fig = importance_figure(ev["feature_importance"])
        charts["importance"] = fig_html(fig, height=fig.layout.height, margin={"l": 140, "r": 20, "t": 50, "b": 50})
    return charts


def _slice_tables(ev: Mapping[str, Any]) -> list[dict[str, Any]]:
    tables = []
    for column, values in (ev.get("slices") or {}).items():
        items = list(values.items())
        tables.append(
            {
                "column": column,
                "rows": items[:MAX_SLICE_VALUES],
                "more": max(0, len(items) - MAX_SLICE_VALUES),
            }
        )
    return tables


# ------------------------------------------------------------------------------ public API
def write_evaluation_report(
    evaluation: dict[str, Any],
    path: Path,
    *,
    title: str,
    model: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``evaluation`` (from :func:`datamoat.models.evaluation.evaluate.evaluate_model`) as HTML + JSON.

    Parameters
    ----------
    evaluation:
        The evaluation dict. Optional extra keys it may carry: ``"cv"`` (a
        :func:`~datamoat.models.evaluation.evaluate.cross_validate` result, shown as mean ± std) and
        ``"learning_curve"`` (a :func:`~datamoat.models.evaluation.evaluate.learning_curve` result, charted)
        and ``"feature_importance"`` (a :func:`~datamoat.models.evaluation.importance.feature_importance`
        result, charted and tabled with each feature's missing share and markers).
    path:
        The HTML file to write (its folder must exist). The JSON goes next to it with the same
        stem and ``.json``: the evaluation's figures plus ``"report": {"title", "model",
        "extra"}`` (out-of-fold probabilities in ``cv`` are left out).
    title:
        Page heading.
    model, extra:
        Optional key/value facts shown as tables (e.g. the trainer kind and its parameters;
        dataset versions, timings).

    Returns
    -------
    The HTML path.
    """
    if not isinstance(evaluation, Mapping) or "accuracy" not in evaluation or "rows" not in evaluation:
        raise DatamoatError("evaluation report: the evaluation must be a dict from evaluate_model().")
    ev = dict(evaluation)
    if isinstance(ev.get("cv"), Mapping):
        ev["cv"] = {k: v for k, v in ev["cv"].items() if k != "oof_proba"}
    per_class = sorted(ev.get("per_class") or [], key=lambda r: (r["f1"], str(r["label"])))
    unseen = ev.get("unseen_labels") or {}
    data = {**ev, "report": {"title": title, "model": model, "extra": extra}}
    return write_html_and_json(
        "evaluation.html.j2",
        path,
        data,
        title=title,
        ev=ev,
        per_class=per_class,
        charts=_charts(ev),
        slice_tables=_slice_tables(ev),
        unseen_rows=sum(int(v) for v in unseen.values()),
        model_rows=info_items(model),
        extra_rows=info_items(extra),
    )

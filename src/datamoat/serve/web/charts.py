"""Plotly figures of the UI as plain dicts (``{"data": [...], "layout": {...}}``).

The page puts a figure's JSON in a ``data-figure`` attribute and app.js draws it with the
plotly.js served from the plotly wheel. Values are fractions (0-1) shown as percentages.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

from datamoat.models.registry import ModelRecord

_LAYOUT: dict[str, Any] = {
    "height": 300, "margin": {"l": 55, "r": 15, "t": 40, "b": 45},
    "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff", "font": {"family": "system-ui, sans-serif", "size": 12},
    "legend": {"orientation": "h", "y": -0.2},
}
_AXIS = {"gridcolor": "#e5e7eb", "zerolinecolor": "#d1d5db"}
DAY_MS = 86_400_000
BAR_MS = int(DAY_MS * 0.35)
"""Width of one day's bar on a date axis (milliseconds: 35% of a day)."""
BLUE, GREEN, ORANGE, GREY = "#2563eb", "#16a34a", "#ea580c", "#6b7280"


def _ok(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))


def _error_bars(values: list[float | None], intervals: list[Any]) -> dict[str, Any]:
    """Asymmetric error bars from [low, high] intervals (0 where an interval is missing)."""
    plus, minus = [], []
    for v, iv in zip(values, intervals, strict=True):
        good = _ok(v) and isinstance(iv, list | tuple) and len(iv) == 2 and all(_ok(x) for x in iv)
        plus.append(round(float(iv[1]) - float(v), 6) if good else 0.0)
        minus.append(round(float(v) - float(iv[0]), 6) if good else 0.0)
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus, "visible": True}


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {**_LAYOUT, "title": {"text": title, "x": 0.01}, "xaxis": dict(_AXIS), "yaxis": dict(_AXIS), **extra}


def models_figure(records: list[ModelRecord]) -> dict[str, Any]:
    """Accuracy and macro-F1 on each version's test set, as points with 95% interval error bars.

    The y axis spans the figures and their intervals with a little room (not 0-1), so that
    98.8% and 99.3% are visibly apart; compressed versions are labelled with their method.
    """
    labels = [f"v{r.ordinal}" + (f" {r.compressed.removeprefix('onnx-')}" if r.compressed else "")
              + (f" ({', '.join(r.aliases)})" if r.aliases else "") for r in records]
    data, seen = [], []
    for key, name, color in (("accuracy", "accuracy", BLUE), ("macro_f1", "macro F1", GREEN)):
        values = [r.metrics.get(key) if _ok(r.metrics.get(key)) else None for r in records]
        intervals = [r.metrics.get(f"{key}_ci") for r in records]
        seen += [float(v) for v in values if v is not None]
        seen += [float(x) for iv in intervals if isinstance(iv, list | tuple) for x in iv if _ok(x)]
        data.append({"type": "scatter", "mode": "markers", "name": name, "x": labels, "y": values,
                     "marker": {"color": color, "size": 11}, "error_y": _error_bars(values, intervals),
                     "hovertemplate": "%{x}: %{y:.2%}<extra>" + name + "</extra>"})
    layout = _layout("Test-set figures per version (95% intervals)", scattermode="group")
    layout["yaxis"] = {**_AXIS, "tickformat": ".1%", "range": score_range(seen)}
    layout["xaxis"] = {**_AXIS, "type": "category"}
    return {"data": data, "layout": layout}


def score_range(values: list[float]) -> list[float]:
    """A y range (fractions) around ``values``: their span padded by 15% of it (at least half
    a percentage point) on each side, clipped to [0, 1]."""
    if not values:
        return [0.0, 1.0]
    lo, hi = min(values), max(values)
    pad = max(0.005, 0.15 * (hi - lo))
    return [round(max(0.0, lo - pad), 4), round(min(1.0, hi + pad), 4)]


def _day_axis(days: list[str]) -> dict[str, Any]:
    """A date x-axis with one tick per day, padded half a day on each side (also for a single day)."""
    axis: dict[str, Any] = {**_AXIS, "type": "date", "tickformat": "%b %d", "dtick": DAY_MS}
    try:
        first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    except (IndexError, TypeError, ValueError):
        return axis
    start = datetime.combine(first, datetime.min.time()) - timedelta(hours=12)
    end = datetime.combine(last, datetime.min.time()) + timedelta(hours=12)
    return {**axis, "range": [start.isoformat(), end.isoformat()]}


def daily_figures(daily: list[dict[str, Any]], expected_accuracy: float | None) -> dict[str, dict[str, Any]]:
    """Per-day charts of a monitoring report: predictions, mean confidence, live accuracy.

    daily: the report's ``daily`` entries (day ``YYYY-MM-DD``, predictions, feedback,
    mean_confidence and live_accuracy as 0-1 fractions, labelled). expected_accuracy: the
    model's test accuracy (0-1), drawn as a dashed line on the live-accuracy chart.
    """
    days = [d.get("day") for d in daily]
    xaxis = _day_axis([str(d) for d in days])
    out: dict[str, dict[str, Any]] = {}
    out["predictions"] = {
        "data": [{"type": "bar", "name": "predictions", "x": days, "y": [d.get("predictions", 0) for d in daily],
                  "marker": {"color": BLUE}, "width": BAR_MS, "offset": -BAR_MS},
                 {"type": "bar", "name": "feedback", "x": days, "y": [d.get("feedback", 0) for d in daily],
                  "marker": {"color": ORANGE}, "width": BAR_MS, "offset": 0}],
        "layout": {**_layout("Predictions and feedback per day"), "barmode": "group", "xaxis": xaxis},
    }
    conf = {"data": [{"type": "scatter", "mode": "lines+markers", "name": "mean confidence", "x": days,
                      "y": [d.get("mean_confidence") for d in daily], "line": {"color": BLUE}}],
            "layout": _layout("Mean confidence", xaxis=xaxis)}
    conf["layout"]["yaxis"] = {**_AXIS, "tickformat": ".0%", "range": [0, 1.02]}
    out["confidence"] = conf
    acc_data: list[dict[str, Any]] = [{"type": "scatter", "mode": "lines+markers", "name": "live accuracy", "x": days,
                                       "y": [d.get("live_accuracy") for d in daily], "line": {"color": GREEN},
                                       "text": [f"{d.get('labelled', 0)} labelled" for d in daily]}]
    if _ok(expected_accuracy) and days:
        ends = xaxis.get("range") or [days[0], days[-1]]
        acc_data.append({"type": "scatter", "mode": "lines", "name": "test accuracy", "x": list(ends),
                         "y": [expected_accuracy, expected_accuracy], "line": {"color": GREY, "dash": "dash"}})
    acc = {"data": acc_data, "layout": _layout("Live accuracy (from feedback)", xaxis=xaxis)}
    acc["layout"]["yaxis"] = {**_AXIS, "tickformat": ".0%", "range": [0, 1.02]}
    out["accuracy"] = acc
    return out

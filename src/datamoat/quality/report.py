"""The profile as one offline HTML file: plotly charts (plotly.js inlined from the wheel) and
tables, rendered with Jinja2. No CDN, no network: the file opens anywhere."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.offline import get_plotlyjs

from datamoat.quality.profile import Profile

_env = Environment(loader=PackageLoader("datamoat.quality", "templates"), autoescape=select_autoescape(["html", "j2"]))


def nice(value: Any) -> str:
    """A value for people: floats to 4 significant digits, ints with thousands separators."""
    if isinstance(value, bool) or value is None:
        return "–" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.2e}"
    if isinstance(value, list | tuple) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(nice(v) for v in value)
    return str(value)


_env.filters["nice"] = nice
_LAYOUT = {"margin": {"l": 40, "r": 10, "t": 40, "b": 40}, "height": 320, "template": "plotly_white"}


def _fig_html(fig: go.Figure, **layout: Any) -> str:
    fig.update_layout(**{**_LAYOUT, **layout})
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})


def _charts(prof: Profile) -> dict[str, str]:
    charts: dict[str, str] = {}
    if prof.checks:
        # horizontal bars, one per check, with room for every label and every value
        names = list(prof.checks)
        rates = [100 * float(prof.checks[n].get("rate", 0.0)) for n in names]
        fig = go.Figure(go.Bar(y=[n.replace("_", " ") for n in names], x=rates, orientation="h",
                               text=[f"{r:.1f}%" for r in rates], textposition="outside", cliponaxis=False))
        fig.update_layout(title="Rows flagged by each check (%)", xaxis_title="% of rows",
                          xaxis={"range": [0, max(rates + [1.0]) * 1.18]},
                          yaxis={"autorange": "reversed", "automargin": True})
        charts["issues"] = _fig_html(fig, height=max(320, 90 + 26 * len(names)))
    if prof.labels and prof.labels.get("counts"):
        counts = prof.labels["counts"]
        charts["labels"] = _fig_html(
            go.Figure(go.Bar(x=list(counts), y=list(counts.values())))
            .update_layout(title=f"Label distribution (imbalance ratio {prof.labels['imbalance_ratio']})")
        )
    for col in prof.columns:
        if col.kind == "text" and col.text_length:
            h = col.text_length["histogram"]
            mids = [(a + b) / 2 for a, b in zip(h["edges"][:-1], h["edges"][1:], strict=True)]
            charts["lengths"] = _fig_html(
                go.Figure(go.Bar(x=mids, y=h["counts"]))
                .update_layout(title=f"Length of {col.name!r} (characters)", xaxis_title="characters", yaxis_title="rows")
            )
            break
    lang = prof.checks.get("language", {})
    mix = lang.get("languages") or lang.get("language_mix")
    if isinstance(mix, dict) and mix:
        charts["languages"] = _fig_html(go.Figure(go.Pie(labels=list(mix), values=list(mix.values()))).update_layout(title="Language mix"))
    pii = prof.checks.get("pii", {})
    by_type = pii.get("by_type") or pii.get("counts_by_type")
    if isinstance(by_type, dict) and by_type:
        charts["pii"] = _fig_html(go.Figure(go.Bar(x=list(by_type), y=[_count(v) for v in by_type.values()]))
                                  .update_layout(title="Personal data found, by type"))
    if prof.freshness and prof.freshness.get("rows_per_month"):
        months = prof.freshness["rows_per_month"]
        charts["freshness"] = _fig_html(go.Figure(go.Bar(x=list(months), y=list(months.values())))
                                        .update_layout(title=f"Rows per month ({prof.freshness['column']})"))
    return charts


def _count(value: Any) -> float:
    if isinstance(value, dict):
        return float(value.get("count", value.get("rows", 0)))
    return float(value)


def render_report(prof: Profile) -> str:
    """The whole HTML document as a string."""
    template = _env.get_template("report.html.j2")
    return template.render(p=prof, d=prof.to_dict(), charts=_charts(prof), plotlyjs=get_plotlyjs())


def write_report(prof: Profile, out: Path) -> Path:
    """Write the report to ``out`` atomically; returns the path."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(render_report(prof), encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out

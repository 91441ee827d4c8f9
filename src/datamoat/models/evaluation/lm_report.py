"""A language model's evaluation as one offline HTML page (and the same figures as JSON): bits
per character, loss and perplexity, the learning curve (loss against tokens seen), the
distribution of loss over documents, sample generations and the canary check."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from datamoat.models.evaluation.report import fig_html, info_items, write_html_and_json


def curve_figure(history: list[dict[str, Any]]) -> go.Figure | None:
    """Training and validation loss (nats per token) against training tokens seen."""
    if not history:
        return None
    tokens = [h["tokens"] for h in history]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=tokens, y=[h["train_loss"] for h in history], name="training", mode="lines+markers"))
    valid = [h.get("valid_loss") for h in history]
    if any(v is not None for v in valid):
        fig.add_trace(go.Scatter(x=tokens, y=valid, name="validation", mode="lines+markers"))
    fig.update_xaxes(title="training tokens seen")
    fig.update_yaxes(title="loss (nats per token)")
    return fig


def documents_figure(values: list[float]) -> go.Figure | None:
    """Histogram of bits per character per document (None for fewer than two documents)."""
    if len(values) < 2:
        return None
    fig = go.Figure(go.Histogram(x=values, nbinsx=40, marker_color="#4c78a8"))
    fig.update_xaxes(title="bits per character")
    fig.update_yaxes(title="documents")
    return fig


def write_lm_report(
    evaluation: Mapping[str, Any],
    path: Path,
    *,
    title: str,
    model: Mapping[str, Any] | None = None,
    canaries: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``path`` (HTML) and the same stem ``.json``; returns the HTML path.

    evaluation: :func:`~datamoat.models.evaluation.lm_metrics.lm_evaluation`'s dict. canaries:
    ``{"rows": canary_exposure(...), "summary": canary_summary(...), "repeats": n}`` or None.
    extra: more facts shown as a table (the tokenizer, the size and why, the training run).
    """
    charts = {}
    curve = curve_figure(list(evaluation.get("learning_curve") or []))
    if curve is not None:
        charts["curve"] = fig_html(curve)
    docs = documents_figure(list((evaluation.get("per_document") or {}).get("bits_per_char") or []))
    if docs is not None:
        charts["docs"] = fig_html(docs)
    data = {"evaluation": dict(evaluation), "model": dict(model or {}), "canaries": dict(canaries or {}),
            "extra": dict(extra or {})}
    return write_html_and_json("lm_evaluation.html.j2", path, data, title=title, ev=evaluation, model=model,
                               canaries=canaries, charts=charts, extra_rows=info_items({**(model or {}), **(extra or {})}))

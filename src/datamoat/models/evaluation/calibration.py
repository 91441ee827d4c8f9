"""Calibration of predicted class probabilities: expected calibration error and reliability diagrams.

A model is *calibrated* when, among the rows it predicts with confidence ``p`` (the largest class
probability), a fraction ``p`` is predicted correctly. Rows are grouped into equal-width bins on
``[0, 1]`` by confidence; bin ``i`` holds confidences in ``(i/B, (i+1)/B]`` (the first bin also
holds 0).

Inputs everywhere:

* ``probs``: array of shape ``(n, k)``, one row of class probabilities per example, values in
  ``[0, 1]`` (rows are expected to sum to 1; this is not enforced). For binary problems a 1-D array
  of ``P(class 1)`` is also accepted and treated as ``[1 - p, p]``.
* ``y_true``: 1-D array of ``n`` integer class indices in ``0..k-1`` (the column of ``probs``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

DEFAULT_BINS = 15


def _check_inputs(probs: Any, y_true: Any, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 1:
        p = np.column_stack([1.0 - p, p])
    if p.ndim != 2:
        raise ValueError(f"probs must have shape (n, k), got an array of shape {p.shape}.")
    if p.shape[0] == 0:
        raise ValueError("probs is empty: at least one row of class probabilities is needed.")
    if p.shape[1] == 0:
        raise ValueError("probs has no columns: each row needs one probability per class.")
    if not np.all(np.isfinite(p)) or p.min() < 0.0 or p.max() > 1.0:
        raise ValueError("probs must contain finite probabilities between 0 and 1.")
    y = np.asarray(y_true)
    if y.ndim != 1 or y.shape[0] != p.shape[0]:
        raise ValueError(
            f"y_true must be 1-D with {p.shape[0]} class indices (one per row of probs), got shape {y.shape}."
        )
    if y.dtype.kind not in "iub":
        if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ValueError("y_true must hold integer class indices (column numbers of probs), not labels.")
    y = y.astype(np.int64)
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(f"y_true holds class indices outside 0..{p.shape[1] - 1}.")
    if not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}.")
    return p, y


def reliability_data(probs: Any, y_true: Any, n_bins: int = DEFAULT_BINS) -> dict[str, Any]:
    """Per-bin confidence, accuracy and count for a reliability diagram, plus the ECE.

    Parameters
    ----------
    probs, y_true:
        See the module docstring.
    n_bins:
        Number of equal-width confidence bins on ``[0, 1]``.

    Returns
    -------
    dict (JSON-ready)::

        {
          "n": int, "n_bins": int,
          "ece": float,                     # see expected_calibration_error
          "bins": [{"lower": float, "upper": float,   # bin edges
                    "count": int,                    # rows whose confidence falls in the bin
                    "confidence": float | None,      # mean max-probability in the bin
                    "accuracy": float | None}, ...]  # fraction correct in the bin
        }

    ``confidence`` and ``accuracy`` are ``None`` for empty bins. All are fractions in ``[0, 1]``.
    """
    p, y = _check_inputs(probs, y_true, n_bins)
    n = p.shape[0]
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    conf_sum = np.bincount(idx, weights=conf, minlength=n_bins)
    acc_sum = np.bincount(idx, weights=correct, minlength=n_bins)
    bins = []
    ece = 0.0
    for i in range(n_bins):
        c = int(counts[i])
        if c:
            mean_conf = float(conf_sum[i] / c)
            mean_acc = float(acc_sum[i] / c)
            ece += c / n * abs(mean_acc - mean_conf)
        else:
            mean_conf = mean_acc = None
        bins.append(
            {
                "lower": float(edges[i]),
                "upper": float(edges[i + 1]),
                "count": c,
                "confidence": mean_conf,
                "accuracy": mean_acc,
            }
        )
    return {"n": int(n), "n_bins": int(n_bins), "ece": float(ece), "bins": bins}


def expected_calibration_error(probs: Any, y_true: Any, n_bins: int = DEFAULT_BINS) -> float:
    """Expected calibration error (ECE) with equal-width bins on the max probability.

    ``ECE = sum_b (n_b / n) * |accuracy_b - confidence_b|`` over non-empty bins ``b``, where
    ``confidence_b`` is the mean max-probability and ``accuracy_b`` the fraction of rows whose
    arg-max class equals ``y_true`` in the bin. Returns a fraction in ``[0, 1]``; 0 means perfectly
    calibrated (at this binning).
    """
    return reliability_data(probs, y_true, n_bins)["ece"]


def reliability_figure(data: dict[str, Any], title: str | None = None) -> go.Figure:
    """Plotly reliability diagram from :func:`reliability_data` output.

    Bars show accuracy per non-empty bin (drawn at the bin's position, bin-wide), markers show the
    bin's mean confidence, and the dashed diagonal is perfect calibration. Hover shows the counts.
    """
    bins = [b for b in data.get("bins", []) if b.get("count")]
    centers = [(b["lower"] + b["upper"]) / 2.0 for b in bins]
    widths = [b["upper"] - b["lower"] for b in bins]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=centers,
            y=[b["accuracy"] for b in bins],
            width=widths,
            name="accuracy",
            marker={"color": "#4c78a8", "line": {"color": "white", "width": 1}},
            customdata=[[b["count"], b["confidence"]] for b in bins],
            hovertemplate="confidence %{customdata[1]:.3f}<br>accuracy %{y:.3f}<br>rows %{customdata[0]}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=centers,
            y=[b["confidence"] for b in bins],
            mode="markers",
            name="mean confidence",
            marker={"color": "#e45756", "size": 8},
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="perfect calibration",
            line={"dash": "dash", "color": "gray"},
            hoverinfo="skip",
        )
    )
    ece = data.get("ece")
    if title is None:
        title = "Reliability diagram" + (f" (ECE {ece:.3f})" if ece is not None else "")
    fig.update_layout(
        title=title,
        xaxis={"title": "confidence (max predicted probability)", "range": [0, 1]},
        yaxis={"title": "accuracy", "range": [0, 1]},
        bargap=0,
        template="plotly_white",
    )
    return fig

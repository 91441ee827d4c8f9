"""Per-day series of a monitoring window (UTC calendar days)."""

from __future__ import annotations

from typing import Any

import pandas as pd


def daily_series(predictions: pd.DataFrame, feedback: pd.DataFrame) -> list[dict[str, Any]]:
    """One entry per UTC day that has predictions or feedback, oldest first.

    predictions: :func:`~datamoat.monitor.current_data.load_predictions` rows (created_at,
    label, score). feedback: :func:`~datamoat.monitor.current_data.load_feedback` rows
    (created_at, labelled, suggestion_label, final_label).

    Each entry: day (``YYYY-MM-DD``), predictions (count), mean_confidence (mean top-class
    probability, None without predictions), feedback (records created that day, any status),
    labelled (those with a settled label and a model suggestion), live_accuracy (share of the
    labelled ones whose suggestion was right, None without any), label_counts ({label: count}
    of the day's predictions). Days without any activity are left out.
    """
    pred_day = predictions["created_at"].dt.strftime("%Y-%m-%d") if len(predictions) else pd.Series([], dtype=str)
    fb_day = feedback["created_at"].dt.strftime("%Y-%m-%d") if len(feedback) else pd.Series([], dtype=str)
    out = []
    for day in sorted(set(pred_day) | set(fb_day)):
        p = predictions[(pred_day == day).to_numpy()] if len(predictions) else predictions
        f = feedback[(fb_day == day).to_numpy()] if len(feedback) else feedback
        lab = f[f["labelled"]] if len(f) else f
        correct = int((lab["suggestion_label"].astype(str) == lab["final_label"].astype(str)).sum()) if len(lab) else 0
        out.append({
            "day": day,
            "predictions": int(len(p)),
            "mean_confidence": round(float(p["score"].mean()), 4) if len(p) else None,
            "feedback": int(len(f)),
            "labelled": int(len(lab)),
            "live_accuracy": round(correct / len(lab), 4) if len(lab) else None,
            "label_counts": {str(k): int(v) for k, v in p["label"].astype(str).value_counts().sort_index().items()},
        })
    return out

"""Monitoring of served models: input text drift, predicted-label drift, confidence drift,
live accuracy from feedback, per-day series and alerts.

``monitor_model(ws, "intent")`` builds (and saves) a report; ``latest_report`` /
``report_history`` read saved ones. The drift checks themselves are plain functions in
:mod:`datamoat.monitor.drift` that work on any two samples.
"""

from __future__ import annotations

from datamoat.monitor.drift import confidence_drift, label_drift, text_drift
from datamoat.monitor.live_accuracy import live_accuracy, wilson_interval
from datamoat.monitor.report import latest_report, monitor_model, report_history
from datamoat.monitor.thresholds import Thresholds

__all__ = [
    "Thresholds",
    "confidence_drift",
    "label_drift",
    "latest_report",
    "live_accuracy",
    "monitor_model",
    "report_history",
    "text_drift",
    "wilson_interval",
]

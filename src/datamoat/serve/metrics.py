"""Prometheus metrics of one server (``GET /metrics``, text exposition format).

Uses prometheus_client with a registry per application, so two apps in one process (tests)
don't share counters. Route labels are the route *templates* (``/v1/predict``), never raw
paths, so a client cannot blow up the number of series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServerMetrics:
    """The counters, histograms and gauges the server updates."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("datamoat_http_requests", "HTTP requests by route, method and status.",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("datamoat_http_request_seconds", "HTTP request latency by route (seconds).",
                                 ["route"], buckets=LATENCY_BUCKETS_S, registry=r)
        self.predictions = Counter("datamoat_predictions", "Texts predicted, by model version and label.",
                                   ["model", "label"], registry=r)
        self.batch_size = Histogram("datamoat_inference_batch_texts", "Texts per model call (micro-batching).",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=r)
        self.inference = Histogram("datamoat_inference_seconds", "Seconds per model call.",
                                   buckets=LATENCY_BUCKETS_S, registry=r)
        self.feedback = Counter("datamoat_feedback", "Feedback stored, by resulting record status.",
                                ["status"], registry=r)
        self.model_version = Gauge("datamoat_model_version", "Version number of the served model.", ["model"],
                                   registry=r)
        self.model_swaps = Counter("datamoat_model_swaps", "Times the served model was swapped.", registry=r)
        self.alerts = Gauge("datamoat_monitor_alerts", "Alerts in the latest monitoring report.", ["model"],
                            registry=r)

    def render(self) -> bytes:
        """The text exposition of every metric."""
        return generate_latest(self.registry)

"""Settings of one server process (limits, logging, reloading), with their defaults and units."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServeSettings:
    """What ``datamoat serve`` can be told.

    max_body_bytes: largest request body accepted (bytes); bigger -> 413.
    max_encrypted_body_bytes: largest body of ``/v1/predict/encrypted`` (bytes; as base64 it carries
        the client's public CKKS context, ~46 MB with its Galois keys, plus ~5 MB per 384-d text); bigger
        -> 413. Such a body must also arrive within ``body_timeout_s``: raise it for slow links.
    body_timeout_s: a request body must have fully arrived this many seconds after the request
        started (seconds); later (a stalled client, a Content-Length larger than the body) -> 408.
    access_log: log one line per request, naming the route template, never the raw path.
    max_batch: most texts in one ``/v1/predict`` call; more -> 422.
    max_text_chars: longest text accepted (characters); longer -> 422. Also the longest
        ``/v1/generate`` prompt.
    max_generate_tokens: most new tokens one ``/v1/generate`` call may ask for; more -> 422.
    top_k: scores returned per prediction (the most likely labels).
    log_text: store the (redacted) input text with each prediction; off -> only its hash.
    redact: rewrite PII in inputs before predicting and storing (the models were trained on
        redacted text, so this also keeps inputs like the training data).
    reload_interval_s: how often the server checks whether the champion alias moved (seconds);
        0 disables watching (a pinned ``name@N`` model never reloads).
    key_cache_s: how long a verified API key is trusted before it is checked again (seconds);
        a revoked key stops working within this time.
    inference_threads: threads torch / ONNX Runtime use for one batch (None: every core).
    max_inference_batch: most texts the micro-batcher joins into one model call.
    confident_score: feedback contradicting a prediction at least this confident goes to
        label-issue review instead of training.
    annotators_per_item: answers an annotation item needs before it resolves (1 or 2).
    retrain_budget: time budget of a retrain started from the API or UI (e.g. ``"10m"``).
    retrain_margin_s: such a retrain runs in a worker process that is killed, and the retrain
        reported as failed, when it is still running ``retrain_budget`` + this many seconds
        after it started (seconds; the margin covers merging, cleaning and comparing).
    """

    max_body_bytes: int = 1_000_000
    max_encrypted_body_bytes: int = 128_000_000
    body_timeout_s: float = 5.0
    access_log: bool = True
    max_batch: int = 64
    max_text_chars: int = 10_000
    max_generate_tokens: int = 256
    top_k: int = 5
    log_text: bool = True
    redact: bool = True
    reload_interval_s: float = 2.0
    key_cache_s: float = 5.0
    inference_threads: int | None = None
    max_inference_batch: int = 64
    confident_score: float = 0.9
    annotators_per_item: int = 1
    retrain_budget: str = "10m"
    retrain_margin_s: float = 300.0

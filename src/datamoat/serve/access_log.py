"""The access log: one line per request naming the route template, never the raw path.

A raw path can carry personal data (``GET /v1/retrain/<an e-mail someone pasted>``), and the
query string too, so uvicorn's own access log is off and :class:`~datamoat.serve.middleware.
MetricsMiddleware` writes ``POST /v1/feedback 200 3.1 ms`` to the ``datamoat.serve.access``
logger instead (unmatched paths are logged as ``unmatched``). :func:`uvicorn_log_config` is
uvicorn's logging setup plus a handler for the ``datamoat`` loggers, so these lines (and the
server's warnings) reach the console beside uvicorn's.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

access_log = logging.getLogger("datamoat.serve.access")


def log_request(method: str, template: str, status: int, seconds: float) -> None:
    """One access line: method, route template, status code and duration (milliseconds)."""
    access_log.info("%s %s %d %.1f ms", method, template, status, seconds * 1000.0)


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging config with the ``datamoat`` loggers added (level INFO, to stderr)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["datamoat"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config

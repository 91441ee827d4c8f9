"""Fresh monitoring reports computed in a background thread, so ``/v1/monitor`` answers at once.

Drift checks over a week of predictions take seconds (a text-drift test on thousands of
texts); a request waiting for them holds a worker and times out in proxies. ``start`` queues
one computation (a second ``start`` while one runs joins it) and the route answers with the
latest saved report and ``refreshing: true``; the new report is saved by
:func:`datamoat.monitor.report.monitor_model` and shows up in the next GET.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger("datamoat.serve")


class MonitorRefresher:
    """One background monitoring run at a time for the served model.

    state: the server's AppState (workspace, model name, prediction log, metrics).
    """

    def __init__(self, state: Any) -> None:
        self.state = state
        self._lock = threading.Lock()  # guards _future: start() is called from request threads
        self._future: Future[None] | None = None
        self.last_error: str | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="datamoat-monitor")

    @property
    def running(self) -> bool:
        """True while a report is being computed."""
        future = self._future
        return future is not None and not future.done()

    def start(self, window_days: float) -> None:
        """Compute and save a new report over the last ``window_days`` days, unless one is being computed."""
        with self._lock:
            if self.running:
                return
            try:
                self._future = self._executor.submit(self._run, window_days)
            except RuntimeError:  # shut down: the server is stopping
                pass

    def _run(self, window_days: float) -> None:
        from datamoat.errors import DatamoatError
        from datamoat.monitor.report import monitor_model

        dm = self.state
        try:
            dm.predictions.flush()
            report = monitor_model(dm.ws, dm.model_name, window_days=window_days)
            dm.metrics.alerts.labels(dm.model_name).set(len(report.get("alerts", [])))
            self.last_error = None
        except Exception as exc:  # noqa: BLE001 - reported on the next GET, the server goes on
            self.last_error = str(exc) if isinstance(exc, DatamoatError) else f"{type(exc).__name__}: {exc}"
            log.warning("monitoring %s failed: %s", dm.model_name, self.last_error)

    def close(self) -> None:
        """Stop taking work; a running computation is left to finish on its own."""
        self._executor.shutdown(wait=False, cancel_futures=True)

"""Retrains started from the API or the web UI, run one at a time in a background thread.

A job runs the server's retrain (:func:`datamoat.flywheel.retrain.retrain` in a worker process
with a hard timeout, see :mod:`datamoat.serve.retrain_process`) and, when it promotes, swaps the
served model at once (the watcher would find it within ``reload_interval_s`` anyway). Jobs live
in memory; every decision itself is recorded in the catalog by the flywheel.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from datamoat.catalog.records import utc_now

log = logging.getLogger("datamoat.serve")


class RetrainJobs:
    """Queue of retrain jobs. run: ``run(progress) -> decision dict`` (progress: a callback taking one message)."""

    def __init__(self, run: Callable[[Callable[[str], None]], dict[str, Any]]) -> None:
        self._run = run
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="datamoat-retrain")

    def start_retrain(self, user: str) -> dict[str, Any]:
        """Queue a retrain; returns the job (id, status ``queued``)."""
        job_id = uuid.uuid4().hex[:12]
        job: dict[str, Any] = {"id": job_id, "status": "queued", "user": user, "queued_at": utc_now().isoformat(),
                               "started_at": None, "finished_at": None, "progress": [], "decision": None,
                               "error": None}
        with self._lock:
            self._jobs[job_id] = job
        self._executor.submit(self._execute, job_id)
        return dict(job)

    def _execute(self, job_id: str) -> None:
        job = self._jobs[job_id]
        job["status"] = "running"
        job["started_at"] = utc_now().isoformat()

        def progress(message: str) -> None:
            job["progress"] = (job["progress"] + [message])[-50:]

        try:
            job["decision"] = self._run(progress)
            job["status"] = "done"
        except Exception as exc:  # noqa: BLE001 - reported on the job, the server goes on
            from datamoat.errors import DatamoatError

            job["error"] = str(exc) if isinstance(exc, DatamoatError) else f"{type(exc).__name__}: {exc}"
            job["status"] = "failed"
            log.warning("retrain job %s failed: %s", job_id, job["error"])
        finally:
            job["finished_at"] = utc_now().isoformat()

    def get(self, job_id: str) -> dict[str, Any] | None:
        """A copy of job ``job_id``, or None."""
        with self._lock:
            job = self._jobs.get(job_id)
            return dict(job) if job else None

    def list(self) -> list[dict[str, Any]]:
        """Copies of every job, newest first."""
        with self._lock:
            return [dict(j) for j in reversed(self._jobs.values())]

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

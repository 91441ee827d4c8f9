"""A retrain started by the server runs in a fresh worker process with a hard timeout.

Why not in the server process: the server has many threads (uvicorn, the inference thread, the
model watcher, SQLite writers), and a library that forks inside a retrain (a multiprocessing
pool) copies the server with whatever locks those threads held at that instant; the child can
then wait forever, holding a copy of the listening socket, so the port stays taken even after
the server stops. A worker started with ``subprocess`` (fork + exec of a new interpreter, every
descriptor but stdin/stdout/stderr closed) inherits neither threads nor the socket, and it can
be killed, with everything it started (its own process group), when it runs too long.

Protocol: the parent runs ``python -m datamoat.serve.retrain_process ROOT MODEL BUDGET``; the
worker writes JSON lines on its stdout (anything libraries print goes to stderr instead):
``{"progress": "..."}``, ``{"promoted": <model id>}`` (the new champion, recorded), and last
``{"decision": {...}}`` or ``{"error": "one sentence"}``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from datamoat.errors import DatamoatError

log = logging.getLogger("datamoat.serve")


class RetrainProcess:
    """One retrain of ``model_name`` in ``workspace_root``, run by a worker process.

    budget: the retrain's time budget (``"10m"``, as :func:`datamoat.flywheel.retrain.retrain`
    takes it). timeout_s: seconds after which the worker and its children are killed.
    progress: called with each progress line. on_promote: called with the new champion's model
    id once the worker has recorded a promotion (before the worker exits).
    """

    def __init__(self, workspace_root: str | Path, model_name: str, *, budget: str, timeout_s: float,
                 progress: Callable[[str], None], on_promote: Callable[[int], None]) -> None:
        self.workspace_root = Path(workspace_root)
        self.model_name = model_name
        self.budget = budget
        self.timeout_s = timeout_s
        self._progress = progress
        self._on_promote = on_promote
        self._proc: subprocess.Popen[bytes] | None = None
        self._result: dict[str, Any] | None = None
        self._killed = False

    def run(self) -> dict[str, Any]:
        """Run the worker to its end; the recorded decision as a dict.

        Raises DatamoatError with one sentence when the retrain failed, ran past ``timeout_s``
        (the worker is killed) or the worker died without an answer.
        """
        started = time.monotonic()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "datamoat.serve.retrain_process", str(self.workspace_root), self.model_name,
             self.budget],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, close_fds=True, start_new_session=True,
        )
        reader = threading.Thread(target=self._read, args=(self._proc.stdout,), name="datamoat-retrain-reader",
                                  daemon=True)
        reader.start()
        try:
            code = self._proc.wait(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            reader.join(timeout=5)
            raise DatamoatError(
                f"retrain of {self.model_name!r} was stopped after {time.monotonic() - started:.0f} s: it ran past "
                f"its hard timeout of {self.timeout_s:g} s (the retrain budget {self.budget} plus the margin)."
            ) from None
        reader.join(timeout=5)
        result = self._result or {}
        if "decision" in result:
            return result["decision"]
        if "error" in result:
            raise DatamoatError(result["error"])
        if self._killed:
            raise DatamoatError(f"retrain of {self.model_name!r} was stopped because the server is shutting down.")
        raise DatamoatError(
            f"the retrain worker of {self.model_name!r} exited with code {code} without an answer; "
            "the server log has its output."
        )

    def _read(self, stream: IO[bytes] | None) -> None:
        """Handle the worker's JSON lines until it closes its stdout."""
        if stream is None:
            return
        for raw in stream:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            try:
                if "progress" in message:
                    self._progress(str(message["progress"]))
                elif "promoted" in message:
                    self._on_promote(int(message["promoted"]))
                else:
                    self._result = message
            except Exception as exc:  # noqa: BLE001 - a failed swap: the model watcher retries it
                log.warning("retrain of %r: handling %s failed: %s", self.model_name, list(message), exc)

    def kill(self) -> None:
        """Kill the worker and every process it started (no-op when it has ended)."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        self._killed = True
        try:
            if hasattr(os, "killpg"):
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: the worker and its children
            else:  # pragma: no cover - Windows has no process groups to kill
                proc.kill()
        except ProcessLookupError:
            pass
        proc.wait()


def _worker(root: str, model_name: str, budget: str) -> int:
    """The worker process: run the retrain, report on the protocol channel; the exit status."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the channel

    def send(message: dict[str, Any]) -> None:
        channel.write(json.dumps(message, default=str) + "\n")
        channel.flush()

    try:
        from datamoat.flywheel.retrain import retrain
        from datamoat.workspace import Workspace

        ws = Workspace.open(root)
        try:
            decision = retrain(ws, model_name, budget=budget, progress=lambda m: send({"progress": m}),
                               on_promote=lambda record: send({"promoted": record.id}))
        finally:
            ws.close()
    except DatamoatError as exc:
        send({"error": str(exc)})
        return 1
    except Exception as exc:  # noqa: BLE001 - one sentence for the job, the traceback for the log
        logging.getLogger("datamoat.serve").exception("retrain worker failed")
        send({"error": f"retrain of {model_name!r} failed: {type(exc).__name__}: {exc}"})
        return 1
    send({"decision": decision.to_dict()})
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: python -m datamoat.serve.retrain_process WORKSPACE MODEL BUDGET")
    sys.exit(_worker(*sys.argv[1:]))

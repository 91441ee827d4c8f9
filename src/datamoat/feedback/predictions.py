"""The prediction log: every served prediction, written in batches by a background thread.

A server calls :meth:`PredictionLog.add` on its hot path; that only validates the row and puts
it on an in-memory queue. One daemon writer thread drains the queue and inserts up to
``max_batch`` rows per transaction (an executemany ``INSERT``), waiting at most
``flush_interval_s`` for a batch to fill, so a busy server commits a few hundred rows at a time
instead of one transaction per request.

Guarantees:

* :meth:`flush` returns only once every row added before the call is committed (a marker goes
  through the same FIFO queue and is released after the batch holding it commits).
* :meth:`get` finds a row that was added but not yet written (it flushes first).
* A batch that fails with a transient error (database locked, connection lost) is logged on
  the ``datamoat.feedback`` logger and retried with back-off, never dropped. A batch that the
  database rejects as invalid (an integrity error: unknown model id, duplicate id) is retried
  row by row and only the rejected rows are dropped, each with an ERROR log line (id only, never
  the text); :attr:`PredictionLog.dropped` counts them.
* :meth:`close` flushes and stops the thread.

``PredictionLog(catalog, background=False)`` has no thread: :meth:`add` writes the row
synchronously (for scripts and tests).

Texts stored here must already be PII-redacted by the caller (or None when text logging is off);
``text_hash`` is the sha256 of the raw input, see :func:`hash_text`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import queue
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from datamoat.catalog import Catalog
from datamoat.catalog.records import as_utc, dumps, utc_now
from datamoat.catalog.tables import predictions
from datamoat.errors import DatamoatError, UnavailableError

log = logging.getLogger("datamoat.feedback")

FRAME_COLUMNS = ("id", "model_name", "model_id", "created_at", "text", "text_hash", "label", "score", "margin",
                 "scores", "latency_ms", "pii_count", "client")
_MAX_BACKOFF_S = 2.0


def new_prediction_id() -> str:
    """A fresh prediction id: 32 lowercase hex characters (uuid4)."""
    return uuid.uuid4().hex


def hash_text(text: str) -> str:
    """sha256 hex of a text's UTF-8 bytes (the ``text_hash`` of predictions and feedback)."""
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


@dataclass
class PredictionRow:
    """One served prediction.

    id: :func:`new_prediction_id`. model_name / model_id: the registered model version that
    answered. created_at: UTC time of the answer. text: the input after PII redaction, or None
    when text logging is off. text_hash: sha256 hex of the raw input. label / score: the top
    class and its probability (0-1). margin: top score minus the second (0-1; 1.0 for a
    one-class model). scores: probability per class (the top few are enough). latency_ms:
    time to answer in milliseconds. pii_count: personal-data findings redacted from the input.
    client: who asked (the API key's name or id). output: a language model's generated text
    (PII-redacted; None for a classifier's prediction or when text logging is off); its ``text``
    is then the prompt and ``label`` ``generated``.
    """

    id: str
    model_name: str
    model_id: int
    created_at: datetime
    text: str | None
    text_hash: str
    label: str
    score: float
    margin: float
    scores: dict[str, float] = field(default_factory=dict)
    latency_ms: float = 0.0
    pii_count: int = 0
    client: str = ""
    output: str | None = None

    @classmethod
    def from_scores(
        cls,
        *,
        model_name: str,
        model_id: int,
        scores: Mapping[str, float],
        text: str | None,
        text_hash: str,
        latency_ms: float = 0.0,
        pii_count: int = 0,
        client: str = "",
        id: str | None = None,  # noqa: A002 - the field's name
        created_at: datetime | None = None,
    ) -> PredictionRow:
        """Build a row from class probabilities: label, score and margin are derived from them."""
        if not scores:
            raise DatamoatError("a prediction needs at least one class score.")
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        top = float(ranked[0][1])
        second = float(ranked[1][1]) if len(ranked) > 1 else 0.0
        return cls(id=id or new_prediction_id(), model_name=model_name, model_id=model_id,
                   created_at=created_at or utc_now(), text=text, text_hash=text_hash, label=str(ranked[0][0]),
                   score=top, margin=top - second, scores={str(k): float(v) for k, v in scores.items()},
                   latency_ms=latency_ms, pii_count=pii_count, client=client)


def _params(row: PredictionRow) -> dict[str, Any]:
    """The row as insert parameters; DatamoatError (one sentence) when a field is unusable."""
    if not isinstance(row.id, str) or not 1 <= len(row.id) <= 32:
        raise DatamoatError(f"prediction id {row.id!r} must be a string of 1 to 32 characters.")
    if not row.label or not row.model_name:
        raise DatamoatError(f"prediction {row.id} needs a model name and a label.")
    if not isinstance(row.created_at, datetime):
        raise DatamoatError(f"prediction {row.id}: created_at must be a datetime, got {row.created_at!r}.")
    if not isinstance(row.text_hash, str) or len(row.text_hash) > 64:
        raise DatamoatError(f"prediction {row.id}: text_hash must be a sha256 hex string (see hash_text).")
    for name in ("score", "margin", "latency_ms"):
        value = getattr(row, name)
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise DatamoatError(f"prediction {row.id}: {name} must be a finite number, got {value!r}.")
    try:
        scores_json = dumps({str(k): float(v) for k, v in row.scores.items()})
    except (TypeError, ValueError) as exc:
        raise DatamoatError(f"prediction {row.id}: scores must be finite numbers per class ({exc}).") from exc
    return {
        "id": row.id, "model_name": row.model_name, "model_id": int(row.model_id),
        "created_at": as_utc(row.created_at), "text": row.text, "text_hash": row.text_hash,
        "label": str(row.label), "score": float(row.score), "margin": float(row.margin),
        "scores_json": scores_json, "latency_ms": float(row.latency_ms), "pii_count": int(row.pii_count),
        "client": str(row.client or "")[:200], "output": row.output,
    }


def row_from_db(r: Any) -> PredictionRow:
    """A PredictionRow from a ``predictions`` table row."""
    return PredictionRow(
        id=r.id, model_name=r.model_name, model_id=r.model_id, created_at=as_utc(r.created_at), text=r.text,
        text_hash=r.text_hash, label=r.label, score=r.score, margin=r.margin, scores=json.loads(r.scores_json),
        latency_ms=r.latency_ms, pii_count=r.pii_count, client=r.client, output=r.output,
    )


class _Marker:
    """Travels through the queue behind earlier rows; set once they are committed (or stop)."""

    def __init__(self, stop: bool = False) -> None:
        self.done = threading.Event()
        self.stop = stop


class PredictionLog:
    """Batched, durable-on-flush log of predictions (see module docstring).

    catalog: the workspace's catalog. flush_interval_s: longest wait (seconds) for a batch to
    fill once a row is waiting. max_batch: most rows per transaction. background: False writes
    each row synchronously in :meth:`add`. max_pending: rows that may wait in memory; when the
    database stalls that long, :meth:`add` blocks (back-pressure) instead of growing without bound.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        flush_interval_s: float = 0.05,
        max_batch: int = 512,
        background: bool = True,
        max_pending: int = 100_000,
    ) -> None:
        if max_batch < 1 or flush_interval_s < 0:
            raise DatamoatError("max_batch must be at least 1 and flush_interval_s at least 0.")
        self.catalog = catalog
        self.flush_interval_s = flush_interval_s
        self.max_batch = max_batch
        self.background = background
        self.dropped = 0
        self.written = 0
        self.last_error: str | None = None
        self._pending_ids: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._queue: queue.Queue[dict[str, Any] | _Marker] = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="datamoat-prediction-log", daemon=True)
            self._thread.start()

    # ------------------------------------------------------------ public API
    def add(self, row: PredictionRow, *, block: bool = True) -> None:
        """Log one prediction; returns at once (the writer thread commits it shortly after).

        block: wait while ``max_pending`` rows are queued (False: UnavailableError instead, for
        an event loop that must not stall).
        """
        if self._closed:
            raise DatamoatError("the prediction log is closed; open a new PredictionLog to log predictions.")
        params = _params(row)
        if not self.background:
            self._write_sync(params)
            return
        with self._lock:
            self._pending_ids.add(params["id"])
        try:
            self._queue.put(params, block=block)
        except queue.Full as exc:
            with self._lock:
                self._pending_ids.discard(params["id"])
            raise UnavailableError(
                f"the prediction log has {self._queue.maxsize:,} rows waiting for the database "
                f"(last database error: {self.last_error or 'none'}); retry later."
            ) from exc

    def flush(self, timeout: float | None = 60.0) -> None:
        """Block until every row added before this call is committed.

        timeout: seconds to wait at most (None: forever); DatamoatError with the last database
        error when the rows are still not written by then.
        """
        if not self.background or self._thread is None:
            return
        marker = _Marker()
        self._queue.put(marker)
        if not marker.done.wait(timeout):
            raise UnavailableError(f"the prediction log could not write its rows within {timeout} s "
                                f"(last database error: {self.last_error or 'none'}).")

    def get(self, prediction_id: str) -> PredictionRow | None:
        """The prediction with this id, or None; flushes first when it is still waiting to be written."""
        with self._lock:
            queued = prediction_id in self._pending_ids
        if queued:
            self.flush()
        with self.catalog.engine.connect() as conn:
            r = conn.execute(sa.select(predictions).where(predictions.c.id == prediction_id)).first()
        return row_from_db(r) if r is not None else None

    def frame(self, model_name: str, since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
        """The predictions of ``model_name`` with since <= created_at < until, oldest first.

        Flushes first. Columns: FRAME_COLUMNS (``scores`` holds a dict per row; ``created_at``
        is a UTC timestamp).
        """
        self.flush()
        return prediction_frame(self.catalog, model_name, since=since, until=until)

    def pending(self) -> int:
        """Rows added but not yet written."""
        with self._lock:
            return len(self._pending_ids)

    def close(self, timeout: float | None = 60.0) -> None:
        """Flush and stop the writer thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._thread is None:
            return
        stop = _Marker(stop=True)
        self._queue.put(stop)
        stop.done.wait(timeout)
        self._thread.join(timeout)

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ writer thread
    def _run(self) -> None:
        while True:
            try:
                batch, markers = self._next_batch()
                if batch:
                    self._write_batch(batch)
                stop = False
                for marker in markers:
                    marker.done.set()
                    stop = stop or marker.stop
                if stop:
                    return
            except Exception:  # noqa: BLE001 - the writer must never die silently
                log.exception("prediction log writer: unexpected error; continuing")
                time.sleep(0.1)

    def _next_batch(self) -> tuple[list[dict[str, Any]], list[_Marker]]:
        """Wait for one item, then gather more until max_batch, a marker, or flush_interval_s."""
        batch: list[dict[str, Any]] = []
        markers: list[_Marker] = []
        item = self._queue.get()
        deadline = time.monotonic() + self.flush_interval_s
        while True:
            if isinstance(item, _Marker):
                markers.append(item)
                return batch, markers  # everything before the marker is in this batch
            batch.append(item)
            if len(batch) >= self.max_batch:
                return batch, markers
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return batch, markers
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    return batch, markers

    def _write_batch(self, batch: list[dict[str, Any]]) -> None:
        """Commit ``batch``; retry transient errors until it succeeds, split it on integrity errors."""
        delay = 0.05
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.catalog.engine.begin() as conn:
                    conn.execute(predictions.insert(), batch)
                self._done(batch)
                if attempt > 1:
                    log.warning("prediction log: wrote %d rows after %d attempts", len(batch), attempt)
                return
            except IntegrityError as exc:
                self.last_error = _short(exc)
                log.warning("prediction log: a batch of %d rows was rejected (%s); writing them one by one",
                            len(batch), self.last_error)
                self._write_rows_one_by_one(batch)
                return
            except Exception as exc:  # noqa: BLE001 - transient until proven otherwise: retry, never drop
                self.last_error = _short(exc)
                log.warning("prediction log: writing %d rows failed (attempt %d: %s); retrying in %.2f s",
                            len(batch), attempt, self.last_error, delay)
                time.sleep(delay)
                delay = min(delay * 2, _MAX_BACKOFF_S)

    def _write_rows_one_by_one(self, batch: list[dict[str, Any]]) -> None:
        for params in batch:
            delay = 0.05
            while True:
                try:
                    with self.catalog.engine.begin() as conn:
                        conn.execute(predictions.insert(), [params])
                    self._done([params])
                    break
                except IntegrityError as exc:
                    self.last_error = _short(exc)
                    self.dropped += 1
                    log.error("prediction log: dropped prediction %s, the database rejected it (%s)",
                              params["id"], self.last_error)
                    self._forget([params])
                    break
                except Exception as exc:  # noqa: BLE001 - retried, see _write_batch
                    self.last_error = _short(exc)
                    log.warning("prediction log: writing prediction %s failed (%s); retrying in %.2f s",
                                params["id"], self.last_error, delay)
                    time.sleep(delay)
                    delay = min(delay * 2, _MAX_BACKOFF_S)

    def _write_sync(self, params: dict[str, Any]) -> None:
        try:
            with self.catalog.engine.begin() as conn:
                conn.execute(predictions.insert(), [params])
        except IntegrityError as exc:
            raise DatamoatError(f"prediction {params['id']} was rejected by the catalog: {_short(exc)}.") from exc
        self.written += 1

    def _done(self, batch: list[dict[str, Any]]) -> None:
        self.written += len(batch)
        self._forget(batch)

    def _forget(self, batch: list[dict[str, Any]]) -> None:
        with self._lock:
            for params in batch:
                self._pending_ids.discard(params["id"])


def prediction_frame(
    catalog: Catalog, model_name: str, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """The committed predictions of ``model_name`` in [since, until), oldest first (see PredictionLog.frame)."""
    query = sa.select(predictions).where(predictions.c.model_name == model_name)
    if since is not None:
        query = query.where(predictions.c.created_at >= as_utc(since))
    if until is not None:
        query = query.where(predictions.c.created_at < as_utc(until))
    with catalog.engine.connect() as conn:
        rows = conn.execute(query.order_by(predictions.c.created_at, predictions.c.id)).all()
    records = [row_from_db(r).__dict__ for r in rows]
    df = pd.DataFrame(records, columns=list(FRAME_COLUMNS))
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    return df


def _short(exc: BaseException) -> str:
    """The first line of a database error, without the SQL and its parameters (which hold texts)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(orig or exc).__name__}: {text[0] if text else ''}"[:300]

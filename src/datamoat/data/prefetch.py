"""Overlapping work on two cores: read ahead of an iterator in a background thread.

The heavy parts of ingest (Arrow's CSV parser, DuckDB's hashing, Parquet writing,
``pyarrow.compute`` kernels) release the GIL, so a reader thread that parses the next batch
while the main thread hashes and spills the current one keeps both cores busy.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` in order while a thread produces up to ``depth`` items ahead.

    An exception in the producer is re-raised in the consumer at the same position. If the
    consumer stops early, the producer stops at its next item.
    """
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                slots.put(item)
            slots.put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            slots.put(_Failure(exc))

    thread = threading.Thread(target=produce, name="datamoat-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                slots.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
        close = getattr(items, "close", None)
        if close is not None:
            close()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

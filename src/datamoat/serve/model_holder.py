"""The model a server answers with, and swapping it for a new champion without dropping requests.

A request takes the current :class:`LoadedModel` once and uses it to the end, so a swap (one
attribute assignment) never mixes two models in one answer and never fails a request in
flight: the old model stays alive until its last request lets go of it. A new model is loaded
and warmed up (one prediction) *before* the swap, off the request path: in a watcher thread that
polls the registry for the ``champion`` alias, or directly when a retrain promotes.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from datamoat.errors import DatamoatError
from datamoat.models.registry import ModelRecord, ModelRegistry
from datamoat.models.trainers.contract import Trainer

log = logging.getLogger("datamoat.serve")


@dataclass(frozen=True)
class LoadedModel:
    """A model version ready to predict: its catalog record and fitted trainer."""

    record: ModelRecord
    trainer: Trainer

    @property
    def is_language_model(self) -> bool:
        """True for a causal language model (served by ``/v1/generate``, not ``/v1/predict``)."""
        return bool(getattr(self.trainer, "is_language_model", False))

    @property
    def classes(self) -> list[str]:
        """The labels (none for a language model)."""
        return [] if self.is_language_model else [str(c) for c in self.trainer.classes_]

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, shape (len(texts), len(classes)), rows in input order."""
        column = self.trainer.text_column
        return self.trainer.predict_proba(pd.DataFrame({column: texts}))


def load_model(registry: ModelRegistry, record: ModelRecord) -> LoadedModel:
    """Load ``record``'s files (hash-checked) and warm the model up with one prediction (a
    language model: one generated token)."""
    trainer = registry.load(record.ref)
    if getattr(trainer, "is_language_model", False):
        trainer.generate("", max_new_tokens=1, temperature=0)  # warm-up
        return LoadedModel(record=record, trainer=trainer)
    if not getattr(trainer, "text_column", None):
        raise DatamoatError(
            f"model {record.ref} is a {record.info.get('task', 'tabular')} model; `datamoat serve` serves text "
            "models (trained with a text column)."
        )
    loaded = LoadedModel(record=record, trainer=trainer)
    loaded.predict_proba(["warm up"])
    return loaded


class ModelHolder:
    """Holds the served model and follows ``name@champion`` (unless a version was pinned).

    registry: the workspace's model registry. ref: ``name`` (follow its champion, falling back to
    the newest version when it has none) or ``name@N`` / ``name@alias`` (pinned: never reloads).
    """

    def __init__(self, registry: ModelRegistry, ref: str) -> None:
        self.registry = registry
        self.name, _, which = ref.partition("@")
        self.pinned = bool(which)
        self._ref = ref
        self._model = load_model(registry, self._resolve())
        self._lock = threading.RLock()
        self._failed_id: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.swaps = 0

    def _resolve(self) -> ModelRecord:
        if self.pinned:
            return self.registry.resolve(self._ref)
        return self.registry.champion(self.name)

    def current(self) -> LoadedModel:
        """The model to answer the next request with."""
        return self._model

    def swap_to(self, record: ModelRecord) -> bool:
        """Load ``record`` and make it current (no-op when it already is). True when swapped."""
        with self._lock:
            if record.id == self._model.record.id:
                return False
            started = time.perf_counter()
            new = load_model(self.registry, record)
            old = self._model
            self._model = new
            self.swaps += 1
        log.info("model swapped: %s -> %s (loaded in %.2f s)", old.record.ref, record.ref,
                 time.perf_counter() - started)
        return True

    def check(self) -> bool:
        """Swap to the registry's champion when it moved. True when swapped.

        The champion is looked up under the swap lock, so a direct :meth:`swap_to` (a retrain's
        promotion) and the watcher cannot undo each other. A version that failed to load is not
        retried until the champion moves again.
        """
        if self.pinned:
            return False
        with self._lock:
            record = self._resolve()
            if record.id == self._failed_id:
                return False
            try:
                return self.swap_to(record)
            except Exception:
                self._failed_id = record.id
                raise

    def watch(self, interval_s: float) -> None:
        """Start a daemon thread calling :meth:`check` every ``interval_s`` seconds."""
        if self.pinned or interval_s <= 0 or self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.check()
                except Exception as exc:  # noqa: BLE001 - keep serving the current model
                    log.warning("model reload failed, still serving %s: %s", self._model.record.ref, exc)

        self._thread = threading.Thread(target=loop, name="datamoat-model-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def describe(self) -> dict[str, Any]:
        """JSON-ready facts about the served model."""
        rec = self._model.record
        return {"name": rec.name, "version": rec.ordinal, "ref": rec.ref, "id": rec.id, "kind": rec.kind,
                "aliases": rec.aliases, "pinned": self.pinned, "swaps": self.swaps,
                "classes": self._model.classes, "metrics": {k: rec.metrics.get(k) for k in
                                                            ("accuracy", "accuracy_ci", "macro_f1", "ece")}}

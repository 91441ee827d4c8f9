"""Everything one server process holds: workspace, model holder, stores, batcher, metrics, jobs.

Retrains run out of process (:mod:`datamoat.serve.retrain_process`), never in this threaded one.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from datamoat.catalog.records import utc_now
from datamoat.errors import DatamoatError
from datamoat.feedback.predictions import PredictionLog, PredictionRow, new_prediction_id
from datamoat.feedback.records import FeedbackStore
from datamoat.models.training import models_registry
from datamoat.serve.auth import KeyVerifier
from datamoat.serve.batching import MicroBatcher
from datamoat.serve.generation import Generator
from datamoat.serve.jobs import RetrainJobs
from datamoat.serve.metrics import ServerMetrics
from datamoat.serve.model_holder import ModelHolder
from datamoat.serve.predictor import Answer, Predictor
from datamoat.serve.settings import ServeSettings
from datamoat.workspace import Workspace

log = logging.getLogger("datamoat.serve")


def default_model_name(ws: Workspace) -> str:
    """The only model name in the workspace; DatamoatError when there are none or several."""
    names = sorted({m.name for m in models_registry(ws).list()})
    if not names:
        raise DatamoatError(f"workspace {ws.root} has no model yet; train one first (datamoat train / datamoat run).")
    if len(names) > 1:
        raise DatamoatError(f"workspace {ws.root} has several models ({', '.join(names)}); choose one with --model NAME.")
    return names[0]


class AppState:
    """The server's state (``app.state.dm``).

    workspace_root: the workspace folder. model: ``name`` (follow its champion) or ``name@N``
    (pinned); None -> the only model name in the workspace. settings: limits and switches.
    """

    def __init__(self, workspace_root: str | Path, model: str | None, settings: ServeSettings) -> None:
        self.settings = settings
        self.ws = Workspace.open(workspace_root)
        self.registry = models_registry(self.ws)
        ref = model or default_model_name(self.ws)
        if settings.inference_threads:
            _limit_threads(settings.inference_threads)
        self.holder = ModelHolder(self.registry, ref)
        self.model_name = self.holder.name
        self.metrics = ServerMetrics()
        self.keys = KeyVerifier(self.ws.catalog, cache_s=settings.key_cache_s)
        self.predictions = PredictionLog(self.ws.catalog)
        self.feedback = FeedbackStore(self.ws.catalog, self.predictions, confident_score=settings.confident_score,
                                      annotators_per_item=settings.annotators_per_item)
        self.predictor = Predictor(self.holder, redact=settings.redact, top_k=settings.top_k,
                                   pii_mode=self.ws.config.pii_mode)
        self.generator = Generator(self.holder, self.predictions, pii=self.predictor.pii_engine,
                                   max_prompt_chars=settings.max_text_chars, max_tokens=settings.max_generate_tokens,
                                   log_text=settings.log_text)
        self.batcher: MicroBatcher[str, Answer] = MicroBatcher(self._run_batch, max_texts=settings.max_inference_batch)
        self.jobs = RetrainJobs(self._retrain)
        self._retrain_worker: Any = None
        self._seen_model_id = self.holder.current().record.id
        self._publish_model()
        self.holder.watch(settings.reload_interval_s)

    # ----------------------------------------------------------------- predicting
    def _run_batch(self, texts: list[str]) -> list[Answer]:
        started = time.perf_counter()
        answers = self.predictor(texts)
        self.metrics.inference.observe(time.perf_counter() - started)
        self.metrics.batch_size.observe(len(texts))
        return answers

    async def predict(self, texts: list[str], client: str, started: float) -> list[dict[str, Any]]:
        """Predict ``texts`` (micro-batched with concurrent requests), log each, return answers.

        client: who asked (the key's name). started: ``time.perf_counter()`` at request arrival,
        for the logged latency (ms).
        """
        answers = await self.batcher.submit(texts)
        latency_ms = (time.perf_counter() - started) * 1000.0
        out = []
        for answer in answers:
            pid = new_prediction_id()
            self.predictions.add(PredictionRow(
                id=pid, model_name=answer.model_name, model_id=answer.model_id, created_at=utc_now(),
                text=answer.redacted if self.settings.log_text else None, text_hash=answer.text_hash,
                label=answer.label, score=answer.score, margin=answer.margin, scores=answer.scores,
                latency_ms=latency_ms, pii_count=answer.pii_count, client=client,
            ), block=False)
            self.metrics.predictions.labels(answer.model_ref, answer.label).inc()
            out.append({"prediction_id": pid, "label": answer.label, "score": answer.score, "scores": answer.scores,
                        "model": {"name": answer.model_name, "version": answer.model_version, "ref": answer.model_ref}})
        if answers and answers[0].model_id != self._seen_model_id:
            self._seen_model_id = answers[0].model_id
            self._publish_model()
        return out

    def _publish_model(self) -> None:
        rec = self.holder.current().record
        self.metrics.model_version.labels(rec.name).set(rec.ordinal)

    # ----------------------------------------------------------------- retraining
    def _retrain(self, progress: Any) -> dict[str, Any]:
        """Retrain in a worker process (see :mod:`datamoat.serve.retrain_process`); swap on promotion.

        Killed, and failed with one sentence, ``retrain_budget`` + ``retrain_margin_s`` seconds
        after it started.
        """
        from datamoat.budget import parse_budget
        from datamoat.serve.retrain_process import RetrainProcess

        def promote(model_id: int) -> None:
            if self.holder.swap_to(self.registry.get_by_id(model_id)):
                self.metrics.model_swaps.inc()
                self._publish_model()

        budget = self.settings.retrain_budget
        worker = RetrainProcess(self.ws.root, self.model_name, budget=budget,
                                timeout_s=parse_budget(budget) + self.settings.retrain_margin_s,
                                progress=progress, on_promote=promote)
        self._retrain_worker = worker
        try:
            return worker.run()
        finally:
            self._retrain_worker = None

    def close(self) -> None:
        """Stop background work and flush the prediction log."""
        self.holder.stop()
        self.batcher.close()
        worker = self._retrain_worker
        if worker is not None:
            worker.kill()
        self.jobs.close()
        self.predictions.close()
        self.ws.close()


def _limit_threads(threads: int) -> None:
    """Cap the threads torch and ONNX Runtime use per model call (read by models.encoder.cpu_threads)."""
    import os

    from datamoat.models.trainers.encoder import THREADS_ENV

    os.environ[THREADS_ENV] = str(threads)

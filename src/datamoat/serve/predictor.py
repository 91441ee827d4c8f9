"""Turning texts into answers: redact PII, run the served model, keep the top scores.

:class:`Predictor` is what the micro-batcher calls in the inference thread. It reads the
holder's current model once per batch, so every text of a batch gets the same model version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datamoat.feedback.predictions import hash_text
from datamoat.privacy.pii.detect import PiiEngine
from datamoat.serve.model_holder import ModelHolder


@dataclass(frozen=True)
class Answer:
    """One text's prediction before it is logged.

    label / score: the most likely class and its probability. margin: top-1 minus top-2
    probability. scores: the ``top_k`` most likely labels with their probabilities.
    redacted: the text as predicted and stored (PII rewritten); pii_count: spans rewritten.
    text_hash: sha256 hex of the text as received. model_id / model_ref / model_name: the version.
    """

    label: str
    score: float
    margin: float
    scores: dict[str, float]
    redacted: str
    pii_count: int
    text_hash: str
    model_id: int
    model_ref: str
    model_name: str
    model_version: int


class Predictor:
    """Callable ``predictor(texts) -> list[Answer]`` over the holder's current model.

    holder: the ModelHolder. redact: rewrite PII before predicting. top_k: scores kept per text.
    pii_mode: how PII is found (``fast`` or ``accurate``; None: the default, see privacy.pii.detect).
    """

    def __init__(self, holder: ModelHolder, *, redact: bool = True, top_k: int = 5, pii_mode: str | None = None) -> None:
        self.holder = holder
        self.redact = redact
        self.top_k = max(1, top_k)
        self._pii = PiiEngine(mode=pii_mode) if redact else None

    @property
    def pii_engine(self) -> PiiEngine | None:
        """The engine that redacts inputs (None: redaction off); generation shares it."""
        return self._pii

    def __call__(self, texts: list[str]) -> list[Answer]:
        model = self.holder.current()
        record = model.record
        redacted = self._pii.redact_batch(texts) if self._pii is not None else [(t, 0) for t in texts]
        proba = model.predict_proba([r[0] for r in redacted])
        classes = model.classes
        k = min(self.top_k, len(classes))
        order = np.argsort(-proba, axis=1)[:, :k]
        out = []
        for i, text in enumerate(texts):
            top = order[i]
            p = proba[i]
            second = float(p[top[1]]) if len(top) > 1 else 0.0
            out.append(Answer(
                label=classes[top[0]], score=float(p[top[0]]), margin=float(p[top[0]]) - second,
                scores={classes[j]: float(p[j]) for j in top},
                redacted=redacted[i][0], pii_count=redacted[i][1],
                text_hash=hash_text(text),
                model_id=record.id, model_ref=record.ref, model_name=record.name, model_version=record.ordinal,
            ))
        return out

"""The reference side of monitoring: what the champion model was trained and tested on.

* Texts and labels come from the model's training version (``record.train_version_id``),
  using the text and label columns recorded at training (``record.info``).
* Reference confidences are the model's top-class probabilities on its frozen test version
  (``record.test_version_id``). Predicting a test set can take seconds (an encoder model), so
  they are computed once per model version and cached as JSON in
  ``.datamoat/cache/monitor/confidences-<model id>-<artifact hash>.json`` (written atomically).

Redaction: the server stores and predicts on PII-redacted text (``[EMAIL]`` ...). Both sides
of every text comparison go through the same redaction here, so that the domain classifier
cannot tell them apart by redaction placeholders alone, and the reference confidences are
measured on the kind of text the model is actually served.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from datamoat.models.registry import ModelRecord

if TYPE_CHECKING:
    from datamoat.workspace import Workspace

CACHE_DIR = ("cache", "monitor")


def redact_texts(texts: list[str]) -> list[str]:
    """``texts`` with PII rewritten as ``[TYPE]`` placeholders (what the server stores)."""
    from datamoat.privacy.pii.detect import PiiEngine

    return [text for text, _ in PiiEngine().redact_batch(texts)]


@dataclass(frozen=True)
class TrainingReference:
    """The champion's training data as monitoring needs it.

    text_column / label_column: as recorded at training (None when absent).
    texts: up to ``max_rows`` non-empty training texts, sampled with the seed and redacted.
    text_rows: non-empty texts in the whole training version.
    label_counts: rows per label in the whole training version.
    """

    text_column: str | None
    label_column: str | None
    texts: list[str]
    text_rows: int
    label_counts: dict[str, int]


def training_reference(ws: Workspace, record: ModelRecord, *, max_rows: int, seed: int) -> TrainingReference:
    """Read the training version of ``record``: a redacted text sample and the label counts."""
    from datamoat.monitor.drift import clean_texts, sample

    version = ws.version_by_id(record.train_version_id)
    text_col = record.info.get("text_column")
    label_col = record.info.get("label_column")
    columns = [c for c in (text_col, label_col) if c and c in version.schema.names]
    df = version.to_pandas(columns) if columns else None
    texts: list[str] = []
    if df is not None and text_col in df.columns:
        texts = clean_texts(df[text_col].tolist())
    counts: dict[str, int] = {}
    if df is not None and label_col in df.columns:
        counts = {str(k): int(v) for k, v in df[label_col].dropna().astype(str).value_counts().items()}
    return TrainingReference(text_column=text_col if text_col in columns else None,
                             label_column=label_col if label_col in columns else None,
                             texts=redact_texts(sample(texts, max_rows, seed)), text_rows=len(texts),
                             label_counts=counts)


def cache_path(ws: Workspace, record: ModelRecord) -> Path:
    """Where the reference confidences of ``record`` are cached."""
    return ws.state.joinpath(*CACHE_DIR) / f"confidences-{record.id}-{record.artifact_hash[:16]}.json"


def reference_confidences(ws: Workspace, record: ModelRecord) -> np.ndarray | None:
    """Top-class probabilities of ``record`` on its test version (None when it has none).

    Read from the cache when a valid entry for this model id, artifact and test version exists;
    otherwise the model predicts the (redacted) test texts and the result is cached.
    """
    if record.test_version_id is None:
        return None
    path = cache_path(ws, record)
    key = {"model_id": record.id, "artifact_hash": record.artifact_hash, "test_version_id": record.test_version_id}
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if all(cached.get(k) == v for k, v in key.items()):
            return np.asarray(cached["confidences"], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # no cache yet, or a damaged one: compute it again
    scores = _predict_confidences(ws, record)
    from datamoat.models.evaluation.report import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({**key, "rows": len(scores), "confidences": [round(float(s), 6) for s in scores]}))
    return scores


def _predict_confidences(ws: Workspace, record: ModelRecord) -> np.ndarray:
    from datamoat.models.training import models_registry, user_frame

    assert record.test_version_id is not None
    trainer = models_registry(ws).load(f"{record.name}@{record.ordinal}")
    df = user_frame(ws.version_by_id(record.test_version_id))
    text_col = record.info.get("text_column")
    if text_col and text_col in df.columns:
        df = df.copy()
        df[text_col] = redact_texts(df[text_col].fillna("").astype(str).tolist())
    if len(df) == 0:
        return np.zeros(0, dtype=np.float64)
    return trainer.predict_proba(df).max(axis=1)

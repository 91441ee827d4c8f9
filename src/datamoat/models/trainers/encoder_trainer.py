"""Base class of trainers built on a transformer encoder plus a head (embed-linear, finetune).

The encoder turns texts into vectors (:class:`~datamoat.models.trainers.encoder.TextEncoder`); the
head turns vectors into class probabilities. Keeping the two apart lets compression swap the
encoder (fp32 torch -> int8 ONNX) without touching the head, and lets the serving layer and
explanations treat both trainers alike.

A saved model folder holds ``trainer.json``, the head (``model.joblib``) and, unless the
encoder is the unchanged bundled one, an ``encoder/`` folder with the encoder's files
(config, tokenizer and ``model.safetensors`` or ``model.onnx``), so the folder is
self-contained.
"""

from __future__ import annotations

import shutil
from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datamoat.models.trainers.encoder import (
    BUNDLED,
    DEFAULT_BATCH_SIZE,
    ONNX_FILE,
    EmbeddingCache,
    TextEncoder,
    shared_encoder,
)
from datamoat.models.trainers.text_trainer import TextTrainer

ENCODER_DIR = "encoder"
"""Sub-folder of a saved model that holds its own encoder files."""
ENCODER_FILES = (
    "config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
    "model.safetensors", ONNX_FILE,
)


class EncoderTrainer(TextTrainer):
    """A text trainer with ``self.encoder_`` (a TextEncoder) and a head in ``self.model_``.

    Subclasses have the parameters ``encoder`` (``"bundled"`` or a checkpoint folder),
    ``max_length`` and ``batch_size``. ``embedding_cache`` (not a parameter, not saved) may be
    set to an :class:`EmbeddingCache` directory to reuse vectors across fits.
    """

    encoder: str
    max_length: int
    batch_size: int
    normalize_embeddings: bool = True
    embedding_cache_dir: Path | None = None

    # ----------------------------------------------------------------- encoder
    def text_encoder(self) -> TextEncoder:
        """The encoder (created on first use from the ``encoder`` parameter)."""
        enc = getattr(self, "encoder_", None)
        if enc is None:
            enc = shared_encoder(self.encoder, max_length=self.max_length, normalize=self.normalize_embeddings)
            self.encoder_ = enc
        return enc

    def use_encoder(self, encoder: TextEncoder) -> None:
        """Replace the encoder (e.g. by an int8 ONNX copy of it); the head is kept."""
        self.encoder_ = encoder

    def use_embedding_cache(self, directory: Path | None) -> None:
        """Keep computed vectors under ``directory`` (None: no cache)."""
        self.embedding_cache_dir = Path(directory) if directory else None

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts`` (n, d), through the cache when one is set; inside a Ray scope
        (the Ray executor) large calls run on a pool of Ray actors (:mod:`.encoder_pool`)."""
        from datamoat.models.trainers.encoder_pool import pooled_embed

        enc = self.text_encoder()
        size = self.batch_size or DEFAULT_BATCH_SIZE

        def compute(todo: list[str]) -> np.ndarray:
            pooled = pooled_embed(enc, todo, size)
            return pooled if pooled is not None else enc.embed(todo, batch_size=size)

        if self.embedding_cache_dir is not None:
            return EmbeddingCache(self.embedding_cache_dir, enc.fingerprint()).embed(enc, texts, batch_size=size,
                                                                                     embed=compute)
        return compute(texts)

    @abstractmethod
    def head_proba(self, vectors: np.ndarray) -> np.ndarray:
        """Class probabilities (n, k) in ``classes_`` order for encoder vectors (n, d)."""

    def _predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Embed the texts, then the head: one path for every encoder trainer and backend."""
        return self.head_proba(self.embed(self._texts(X, "prediction input")))

    def _owns_encoder_files(self) -> bool:
        """True when the encoder is not the unchanged bundled one (so it is saved with the model)."""
        enc = getattr(self, "encoder_", None)
        return enc is not None and (enc.encoder != BUNDLED or enc.backend != "torch")

    # ----------------------------------------------------------------- persistence
    def _state(self) -> dict[str, Any]:
        enc = getattr(self, "encoder_", None)
        return {
            "encoder_dir": ENCODER_DIR if self._owns_encoder_files() else None,
            "encoder_backend": enc.backend if enc is not None else "torch",
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self._saved_encoder_state = state

    def _save_model(self, directory: Path) -> None:
        super()._save_model(directory)
        if self._owns_encoder_files():
            self.save_encoder(directory / ENCODER_DIR)

    def save_encoder(self, target: Path) -> Path:
        """Copy the encoder's files (config, tokenizer, weights or ONNX) into ``target``."""
        enc = self.text_encoder()
        target.mkdir(parents=True, exist_ok=True)
        for name in ENCODER_FILES:
            source = enc.onnx_file if name == ONNX_FILE else enc.path / name
            if name == "model.safetensors" and enc.backend == "onnx":
                continue
            if name == ONNX_FILE and enc.backend != "onnx":
                continue
            if source.is_file() and source.resolve() != (target / name).resolve():
                shutil.copyfile(source, target / name)
        return target

    def _load_model(self, directory: Path) -> None:
        super()._load_model(directory)
        state = getattr(self, "_saved_encoder_state", {}) or {}
        if state.get("encoder_dir"):
            self.encoder_ = TextEncoder(
                directory / state["encoder_dir"],
                backend=state.get("encoder_backend", "torch"),
                max_length=self.max_length,
                normalize=self.normalize_embeddings,
            )

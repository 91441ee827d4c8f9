"""Sentence vectors computed on the client from a model export folder (files only, no datamoat models).

A transformers export of an encoder model (``datamoat export`` of embed-linear or finetune:
:mod:`datamoat.models.export.hf_export`) holds the encoder (``config.json``, tokenizer files and
``model.safetensors`` or ``model.onnx``) and ``datamoat_head.json`` (pooling, normalisation,
``max_length``, labels). The vector of a text is the mean of the encoder's last hidden states
over the attention mask (texts truncated to ``max_length`` tokens), L2-normalised when the
export says ``normalize: "l2"`` -- what the trainer feeds its linear head.

This reads the files itself instead of calling the trainer classes because ``privacy`` sits below
``models`` in the layers (docs/architecture.md); the export format is the contract, and the HE
client tests check that its labels equal the server's plain ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from datamoat.data.text_limits import truncate_texts
from datamoat.errors import DatamoatError, NotFoundError

HEAD_META = "datamoat_head.json"
"""The export's description of pooling, normalisation and labels (written by models.export)."""


class ExportFeatures:
    """``features(texts) -> float64 (n, d)`` for the encoder of an export folder.

    path: a folder written by ``datamoat export`` for an embed-linear or finetune model.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        meta_path = self.path / HEAD_META
        if not meta_path.is_file():
            raise NotFoundError(
                f"{self.path}: no {HEAD_META}; encrypted scoring needs the export of an encoder model "
                "(embed-linear or finetune), whose features a client can compute."
            )
        try:
            self.meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
            self.labels: list[str] = [str(c) for c in self.meta["labels"]]
            self.max_length = int(self.meta["max_length"])
            self.encoder_format = str(self.meta["encoder_format"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DatamoatError(f"{meta_path}: not a valid export description ({exc}).") from exc
        if self.meta.get("pooling", "mean") != "mean":
            raise DatamoatError(f"{meta_path}: pooling {self.meta.get('pooling')!r} is not supported (only 'mean').")
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path))
        self._session: Any = None
        self._model: Any = None

    @property
    def dimension(self) -> int:
        """Length of one vector (the encoder's hidden size)."""
        config = json.loads((self.path / "config.json").read_text(encoding="utf-8"))
        return int(config.get("hidden_size") or config.get("dim"))

    def _hidden(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """Last hidden states (b, t, d) for a padded batch."""
        if self.encoder_format == "onnx":
            if self._session is None:
                import onnxruntime as ort

                self._session = ort.InferenceSession(
                    str(self.path / self.meta.get("onnx_file", "model.onnx")), providers=["CPUExecutionProvider"])
            names = {i.name for i in self._session.get_inputs()}
            feed = {k: np.asarray(v, dtype=np.int64) for k, v in batch.items() if k in names}
            return np.asarray(self._session.run(None, feed)[0], dtype=np.float64)
        import torch

        if self._model is None:
            from transformers import AutoModel

            self._model = AutoModel.from_pretrained(str(self.path)).eval()
        with torch.inference_mode():
            out = self._model(**{k: torch.as_tensor(v) for k, v in batch.items()})
        return out.last_hidden_state.float().numpy().astype(np.float64)

    def __call__(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Vectors (len(texts), dimension), float64, rows in input order.

        Texts are first cut to :data:`~datamoat.data.text_limits.MAX_TEXT_CHARS` characters, as
        the trainers cut them.
        """
        texts, _cut = truncate_texts([t if isinstance(t, str) else "" for t in texts])
        out = np.zeros((len(texts), self.dimension))
        for i in range(0, len(texts), batch_size):
            batch = dict(self.tokenizer(texts[i : i + batch_size], truncation=True, max_length=self.max_length,
                                        padding=True, return_tensors="np"))
            mask = batch["attention_mask"][..., None].astype(np.float64)
            vectors = (self._hidden(batch) * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            if self.meta.get("normalize") == "l2":
                vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
            out[i : i + batch_size] = vectors
        return out

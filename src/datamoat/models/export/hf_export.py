"""Export a fitted model as a Hugging Face style folder with a model card.

Encoder models (:class:`~datamoat.models.trainers.encoder_trainer.EncoderTrainer`: embed-linear,
finetune) become a folder that plain transformers + safetensors can run::

    config.json            the encoder's config, plus id2label / label2id
    model.safetensors      encoder weights (save_pretrained)   | or model.onnx for an ONNX encoder
    tokenizer files        (save_pretrained)
    head.safetensors       weight (k, d) float32, bias (k,) float32; rows in label order
    datamoat_head.json     pooling "mean", normalize "l2" | null, activation "softmax",
                           max_length, labels, encoder_format "safetensors" | "onnx"
    README.md              the model card (:func:`datamoat.models.export.model_card.model_card`)

Probabilities are ``softmax(weight @ v + bias)`` where ``v`` is the mean of the encoder's
last hidden states over the attention mask (texts truncated to ``max_length`` tokens), L2-
normalised when ``normalize`` is ``"l2"``. A binary logistic regression has one coefficient
row ``w`` (``p1 = sigmoid(w.v + b)``); it is written as the two rows ``[-w/2, w/2]`` and biases
``[-b/2, b/2]``, whose softmax is exactly that sigmoid. :func:`load_exported` runs such a folder
without datamoat's trainer classes.

Other models (tfidf-linear, tabular, ensemble) are scikit-learn models, not transformers ones:
the folder is the datamoat model folder (:meth:`Trainer.save`: ``trainer.json`` +
``model.joblib``) plus README.md and a ``config.json`` that only names the labels. Load it with
:meth:`datamoat.models.trainers.contract.Trainer.load` (a pickle: only from a trusted source).

Language models (``causal-lm``, ``causal-lm-finetune``) are written as they are saved: a
transformers causal-LM folder (``AutoModelForCausalLM`` / ``AutoTokenizer`` load it) plus
``trainer.json`` and the model card of :mod:`datamoat.models.export.lm_card`.

Writes are atomic: the folder is built in a hidden sibling and renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from datamoat.errors import DatamoatError, NotFoundError
from datamoat.models.export.model_card import model_card
from datamoat.models.trainers.contract import Trainer
from datamoat.models.trainers.encoder_trainer import EncoderTrainer

HEAD_FILE = "head.safetensors"
HEAD_META = "datamoat_head.json"
CARD_FILE = "README.md"
CONFIG_FILE = "config.json"
ONNX_FILE = "model.onnx"


# --------------------------------------------------------------------- export
def export_hugging_face(
    trainer: Trainer, out_dir: Path, *, card_info: dict[str, Any], overwrite: bool = False
) -> Path:
    """Write ``trainer`` into ``out_dir`` (see the module docstring for the layout); return it.

    card_info: facts for the model card (see :mod:`datamoat.models.export.model_card`); kind, params
    and classes are taken from the trainer. A non-empty ``out_dir`` is only replaced when
    ``overwrite`` is true.
    """
    trainer._check_fitted()
    language_model = bool(getattr(trainer, "is_language_model", False))
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DatamoatError(f"export target {out_dir} is a file, not a folder.")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise DatamoatError(f"export folder {out_dir} is not empty; choose another folder or pass overwrite=True.")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.tmp-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        if language_model:  # already a transformers causal-LM folder (lm_contract.LMTrainer.save)
            from datamoat.models.export.lm_card import lm_model_card

            trainer.save(staging)
            (staging / CARD_FILE).write_text(lm_model_card({**(card_info or {}), "kind": trainer.kind,
                                                            "params": trainer.params()}), encoding="utf-8")
            _move_into_place(staging, out_dir)
            return out_dir
        if isinstance(trainer, EncoderTrainer):
            fmt = "transformers"
            _write_encoder_export(trainer, staging)
        else:
            fmt = "datamoat"
            _write_datamoat_export(trainer, staging)
        info = {
            **(card_info or {}),
            "kind": trainer.kind,
            "params": trainer.params(),
            "classes": list(trainer.classes_),
            "format": fmt,
        }
        (staging / CARD_FILE).write_text(model_card(info), encoding="utf-8")
        _move_into_place(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _move_into_place(staging: Path, out_dir: Path) -> None:
    """Rename ``staging`` to ``out_dir``; an existing ``out_dir`` is moved aside first, then deleted."""
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex}"
        os.rename(out_dir, old)
    try:
        os.rename(staging, out_dir)
    except OSError:
        if old is not None:
            os.rename(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _label_maps(classes: list[str]) -> dict[str, Any]:
    return {
        "id2label": {str(i): c for i, c in enumerate(classes)},
        "label2id": {c: i for i, c in enumerate(classes)},
    }


def _write_datamoat_export(trainer: Trainer, target: Path) -> None:
    """The datamoat model folder plus a config.json naming the labels (not a transformers config)."""
    trainer.save(target)
    config = {
        "library_name": "datamoat",
        "datamoat_kind": trainer.kind,
        "transformers_compatible": False,
        "note": "scikit-learn model saved by datamoat; load with datamoat.models.trainers.contract.Trainer.load",
        **_label_maps(list(trainer.classes_)),
    }
    (target / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _write_encoder_export(trainer: EncoderTrainer, target: Path) -> None:
    """Encoder (save_pretrained, or the ONNX files), head.safetensors and datamoat_head.json."""
    from safetensors.numpy import save_file

    classes = list(trainer.classes_)
    weight, bias = linear_head(trainer)
    enc = trainer.text_encoder()
    if weight.shape[1] != enc.dimension:
        raise DatamoatError(
            f"model {trainer.kind!r}: its head expects {weight.shape[1]}-d vectors but the encoder gives "
            f"{enc.dimension}-d ones; the model cannot be exported."
        )
    if enc.backend == "onnx":
        trainer.save_encoder(target)  # config, tokenizer files and model.onnx
        encoder_format = "onnx"
    else:
        enc.torch_model().save_pretrained(str(target))
        enc.tokenizer.save_pretrained(str(target))
        encoder_format = "safetensors"
    config_path = target / CONFIG_FILE
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.update(_label_maps(classes))
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

    save_file(
        {"weight": np.ascontiguousarray(weight, dtype=np.float32), "bias": np.ascontiguousarray(bias, dtype=np.float32)},
        str(target / HEAD_FILE),
    )
    meta = {
        "format_version": 1,
        "datamoat_kind": trainer.kind,
        "encoder_format": encoder_format,
        "onnx_file": ONNX_FILE if encoder_format == "onnx" else None,
        "pooling": "mean",
        "normalize": "l2" if trainer.normalize_embeddings else None,
        "activation": "softmax",
        "max_length": int(enc.max_length),
        "head_file": HEAD_FILE,
        "labels": classes,
    }
    (target / HEAD_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def linear_head(trainer: EncoderTrainer) -> tuple[np.ndarray, np.ndarray]:
    """The head as ``(weight (k, d), bias (k,))`` in ``trainer.classes_`` order, for a softmax.

    Uses ``trainer.linear_head()`` when the trainer defines it; else reads a scikit-learn linear
    model (``coef_`` / ``intercept_``, ``classes_`` = indices into trainer.classes_) or a torch
    layer with ``weight`` / ``bias``, or a dict of numpy arrays ``{"W": (k, d), "b": (k,)}``
    (finetune). DatamoatError for any other head.
    """
    hook = getattr(trainer, "linear_head", None)
    if callable(hook):
        weight, bias = hook()
        return np.asarray(weight, dtype=np.float64), np.asarray(bias, dtype=np.float64)
    head = trainer.model_
    k = len(trainer.classes_)
    if hasattr(head, "coef_") and hasattr(head, "intercept_"):
        return _sklearn_head(head, k, trainer.kind)
    if isinstance(head, Mapping):  # numpy arrays kept by the trainer (finetune: {"W", "b"})
        w, b = head.get("W", head.get("weight")), head.get("b", head.get("bias"))
        if w is not None and b is not None and np.shape(w) == (k, np.shape(w)[-1]) and np.shape(b) == (k,):
            return np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
    w, b = getattr(head, "weight", None), getattr(head, "bias", None)
    if hasattr(w, "detach") and hasattr(b, "detach"):
        weight = w.detach().float().cpu().numpy().astype(np.float64)
        bias = b.detach().float().cpu().numpy().astype(np.float64)
        if weight.shape[0] == k:
            return weight, bias
    raise DatamoatError(
        f"model {trainer.kind!r}: its head ({type(head).__name__}) is not a linear layer over the classes; "
        "it cannot be exported as head.safetensors."
    )


def _sklearn_head(head: Any, k: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    coef = np.asarray(head.coef_, dtype=np.float64)
    intercept = np.asarray(head.intercept_, dtype=np.float64).ravel()
    index = np.asarray(head.classes_).astype(int)
    if coef.shape[0] == 1 and len(index) == 2:
        # binary: p1 = sigmoid(z) = softmax([-z/2, z/2])[1]
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    elif getattr(head, "multi_class", None) == "ovr" or getattr(head, "solver", None) == "liblinear":
        raise DatamoatError(
            f"model {kind!r}: its one-vs-rest logistic regression is not a softmax head; it cannot be exported."
        )
    weight = np.zeros((k, coef.shape[1]))
    bias = np.full(k, -np.inf)  # a class the head never saw gets probability 0, as in predict_proba
    weight[index] = coef
    bias[index] = intercept
    return weight, bias


# --------------------------------------------------------------------- loading
class ExportedClassifier:
    """A transformers export run with transformers, safetensors (and onnxruntime for ONNX).

    ``classifier(texts)`` returns probabilities, float64 (n, len(labels)), columns in
    :attr:`labels` order. Uses no datamoat model classes, so it shows what any consumer of the
    folder has to do.
    """

    def __init__(self, path: Path) -> None:
        from safetensors.numpy import load_file
        from transformers import AutoTokenizer

        self.path = Path(path)
        meta_path = self.path / HEAD_META
        if not meta_path.is_file():
            raise NotFoundError(
                f"{self.path}: no {HEAD_META}, so not a transformers export; a scikit-learn export "
                "loads with datamoat.models.trainers.contract.Trainer.load."
            )
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        self.labels: list[str] = list(self.meta["labels"])
        head = load_file(str(self.path / self.meta.get("head_file", HEAD_FILE)))
        self.weight = head["weight"].astype(np.float64)
        self.bias = head["bias"].astype(np.float64)
        self.max_length = int(self.meta["max_length"])
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path))
        self._session: Any = None
        self._model: Any = None
        if self.meta["encoder_format"] == "onnx":
            import onnxruntime as ort

            self._session = ort.InferenceSession(
                str(self.path / self.meta["onnx_file"]), providers=["CPUExecutionProvider"]
            )
        else:
            from transformers import AutoModel

            self._model = AutoModel.from_pretrained(str(self.path)).eval()

    def _hidden(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """Last hidden states (b, t, d) for a padded batch."""
        if self._session is not None:
            names = {i.name for i in self._session.get_inputs()}
            feed = {k: np.asarray(v, dtype=np.int64) for k, v in batch.items() if k in names}
            return np.asarray(self._session.run(None, feed)[0], dtype=np.float64)
        import torch

        with torch.inference_mode():
            out = self._model(**{k: torch.as_tensor(v) for k, v in batch.items()})
        return out.last_hidden_state.float().numpy().astype(np.float64)

    def __call__(self, texts: str | list[str], batch_size: int = 64) -> np.ndarray:
        texts = [texts] if isinstance(texts, str) else list(texts)
        out = np.zeros((len(texts), len(self.labels)))
        for i in range(0, len(texts), batch_size):
            batch = dict(
                self.tokenizer(
                    texts[i : i + batch_size], truncation=True, max_length=self.max_length,
                    padding=True, return_tensors="np",
                )
            )
            mask = batch["attention_mask"][..., None].astype(np.float64)
            vectors = (self._hidden(batch) * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            if self.meta.get("normalize") == "l2":
                vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
            logits = vectors @ self.weight.T + self.bias
            logits -= logits.max(axis=1, keepdims=True)
            e = np.exp(logits)
            out[i : i + batch_size] = e / e.sum(axis=1, keepdims=True)
        return out


def load_exported(path: Path) -> ExportedClassifier:
    """A callable ``texts -> probabilities (n, k)`` for a folder written by :func:`export_hugging_face`.

    Only for transformers exports (encoder models); NotFoundError for a scikit-learn export.
    """
    return ExportedClassifier(Path(path))

"""The contract of language-model trainers (``causal-lm``, ``causal-lm-finetune``).

A language model has no labels, so it does not fit the classifier
:class:`~datamoat.models.trainers.contract.Trainer`; it shares its shape instead::

    t = create_trainer("causal-lm", max_seconds=600)
    t.fit(train_texts, valid_texts)     # lists of documents (strings)
    t.score_documents(texts)            # per document: nats, predicted tokens, characters
    t.generate("prompt", max_new_tokens=50, temperature=0.8, top_k=40, seed=0)
    t.save(Path("models/m1"))
    t2 = LMTrainer.load(Path("models/m1"))   # or Trainer.load / ModelRegistry.load

Hyper-parameters are keyword-only ``__init__`` arguments stored under the same names; ``fit``
sets ``model_`` (a ``transformers`` causal LM), ``tokenizer_`` (a fast tokenizer with
``<|endoftext|>`` as eos), ``history_`` (validation points: step, tokens seen, training and
validation loss), ``report_`` (what was chosen and why) and ``valid_metrics_``. Both kinds
register in the same :data:`~datamoat.models.trainers.contract.TRAINERS` registry by ``kind``.

A saved LM is a Hugging Face folder (``config.json``, ``model.safetensors``, ``tokenizer.json``
... from ``save_pretrained``) plus ``trainer.json`` (kind, params, state): plain
``AutoModelForCausalLM.from_pretrained(folder)`` and ``AutoTokenizer.from_pretrained(folder)``
load it without datamoat. No pickles are written or read. A quantised copy (:meth:`LMTrainer.quantized`,
``datamoat compress``) saves ``model-int8.safetensors`` instead of ``model.safetensors``
(:mod:`~datamoat.models.trainers.lm_quantize`) and is loaded by datamoat only.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from datamoat.errors import DatamoatError, NotFoundError
from datamoat.models.trainers.contract import META_FILE
from datamoat.models.trainers.lm_data import clean_documents, document_blocks, encode_documents
from datamoat.models.trainers.lm_generation import generate_text
from datamoat.models.trainers.lm_loop import score_blocks
from datamoat.plugins import keyword_params

Progress = Callable[[str], None] | None


class LMTrainer(ABC):
    """Base class of causal language-model trainers (see the module docstring)."""

    kind: ClassVar[str]
    is_language_model: ClassVar[bool] = True
    device: str | None

    @classmethod
    def param_names(cls) -> list[str]:
        """The hyper-parameter names (``__init__``'s keyword arguments)."""
        return keyword_params(cls)

    def params(self) -> dict[str, Any]:
        """The hyper-parameters, JSON-ready."""
        return {p: getattr(self, p) for p in self.param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    # ----------------------------------------------------------------- fitting
    def fit(self, train_texts: Sequence[str], valid_texts: Sequence[str] | None = None, progress: Progress = None) -> LMTrainer:
        """Train on the documents ``train_texts``; ``valid_texts`` (documents never in training)
        drive validation, early stopping and the best checkpoint (None: the last weights are kept).

        Blank and missing documents are ignored; DatamoatError (nothing trained) for an empty
        corpus or one shorter than one context window.
        """
        train = clean_documents(list(train_texts), "the training corpus")
        valid = None
        if valid_texts is not None and any(isinstance(t, str) and t.strip() for t in valid_texts):
            valid = clean_documents(list(valid_texts), "the validation corpus")
        self.quantization_: dict[str, str] | None = None  # a refit model is fp32 again
        self._fit(train, valid, progress)
        self.valid_metrics_: dict[str, float] | None = self.text_metrics(valid) if valid is not None else None
        return self

    @abstractmethod
    def _fit(self, train: list[str], valid: list[str] | None, progress: Progress) -> None:
        """Set ``model_``, ``tokenizer_``, ``device_``, ``history_`` and ``report_``."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise DatamoatError(f"trainer {self.kind!r} is not fitted yet; call fit() or load() first.")

    @property
    def context_length(self) -> int:
        """Tokens the model reads at once."""
        from datamoat.models.trainers.lm_generation import context_length

        self._check_fitted()
        return context_length(self.model_)

    # ----------------------------------------------------------------- scoring
    def score_documents(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Per document of ``texts`` (strings; a missing one counts as empty): ``nats`` (summed
        loss of predicting its tokens, float64), ``tokens`` (int64) and ``chars`` (its length in
        characters, int64). Each document starts after ``<|endoftext|>`` and is read in blocks of
        the model's context (:func:`~datamoat.models.trainers.lm_data.document_blocks`)."""
        self._check_fitted()
        docs = [t if isinstance(t, str) else "" for t in texts]
        ids = encode_documents(self.tokenizer_, docs)
        blocks = document_blocks(ids, int(self.tokenizer_.eos_token_id), self.context_length)
        nats, tokens = score_blocks(self.model_, blocks, self.device_)
        return {"nats": nats, "tokens": tokens, "chars": np.array([len(d) for d in docs], dtype=np.int64)}

    def text_metrics(self, texts: Sequence[str]) -> dict[str, float]:
        """``{"documents", "tokens", "chars", "loss" (nats per token), "nats_per_char",
        "bits_per_char", "perplexity" (per token)}`` over all of ``texts``."""
        scored = self.score_documents(texts)
        nats, tokens, chars = float(scored["nats"].sum()), int(scored["tokens"].sum()), int(scored["chars"].sum())
        loss = nats / max(tokens, 1)
        return {"documents": len(scored["nats"]), "tokens": tokens, "chars": chars, "loss": loss,
                "nats_per_char": nats / max(chars, 1), "bits_per_char": nats / max(chars, 1) / math.log(2),
                "perplexity": math.exp(min(loss, 700.0))}

    # ----------------------------------------------------------------- generation
    def generate(self, prompt: str, *, max_new_tokens: int = 200, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, seed: int = 0) -> str:
        """The continuation of ``prompt`` (see :mod:`~datamoat.models.trainers.lm_generation`)."""
        self._check_fitted()
        return generate_text(self.model_, self.tokenizer_, prompt, max_new_tokens=max_new_tokens,
                             temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, device=self.device_)

    # ----------------------------------------------------------------- compression
    def quantized(self) -> LMTrainer:
        """A copy of this fitted trainer whose model has int8 dynamically quantised linear layers
        on the CPU (:mod:`~datamoat.models.trainers.lm_quantize`); this trainer is not changed.
        It scores, generates, saves and loads like any LM trainer, but is not trained further."""
        import copy

        from datamoat.models.trainers.lm_quantize import METHOD, quantize_int8

        self._check_fitted()
        if getattr(self, "quantization_", None):
            raise DatamoatError(f"this {self.kind} model is quantised already ({self.quantization_['method']}).")
        out = copy.copy(self)
        out.model_ = quantize_int8(self.model_)
        out.device_ = "cpu"
        out.quantization_ = {"method": METHOD, "weights": "int8 per output channel", "activations": "quantised per call"}
        return out

    # ----------------------------------------------------------------- persistence
    def _state(self) -> dict[str, Any]:
        state = {"history": getattr(self, "history_", []), "report": getattr(self, "report_", {})}
        if getattr(self, "quantization_", None):
            state["quantization"] = self.quantization_
        return state

    def save(self, directory: Path) -> Path:
        """Write the Hugging Face folder (weights, config, tokenizer) and ``trainer.json``."""
        import datamoat

        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if getattr(self, "quantization_", None):
            from datamoat.models.trainers.lm_quantize import save_int8

            save_int8(self.model_, directory)
        else:
            self.model_.save_pretrained(str(directory))
        self.tokenizer_.save_pretrained(str(directory))
        meta = {"kind": self.kind, "params": self.params(), "datamoat_version": datamoat.__version__,
                "language_model": True, "state": self._state(), "valid_metrics": getattr(self, "valid_metrics_", None)}
        (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: Path) -> LMTrainer:
        """Load a folder written by :meth:`save` (weights in safetensors: no code runs)."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from datamoat.models.trainers.contract import create_trainer
        from datamoat.models.trainers.encoder import configure_cpu_threads, default_device

        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            raise NotFoundError(f"{directory}: no saved language model here ({META_FILE} is missing).")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            kind, params = meta["kind"], meta["params"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DatamoatError(f"{meta_path}: not a valid trainer description ({exc}).") from exc
        trainer = create_trainer(kind, **params)
        if not isinstance(trainer, LMTrainer) or (cls is not LMTrainer and not isinstance(trainer, cls)):
            raise DatamoatError(f"{directory}: holds a {kind!r} trainer, not a {cls.__name__}.")
        state = meta.get("state") or {}
        quantization = state.get("quantization")
        device = "cpu" if quantization else (trainer.device or default_device())
        if device == "cpu":
            configure_cpu_threads()
        if quantization:
            from datamoat.models.trainers.lm_quantize import load_int8

            trainer.model_ = load_int8(directory)
            trainer.quantization_ = dict(quantization)
        else:
            trainer.model_ = AutoModelForCausalLM.from_pretrained(str(directory)).to(device).eval()
        trainer.tokenizer_ = AutoTokenizer.from_pretrained(str(directory))
        trainer.device_ = device
        trainer.history_ = list(state.get("history") or [])
        trainer.report_ = dict(state.get("report") or {})
        trainer.valid_metrics_ = meta.get("valid_metrics")
        return trainer

"""What int8 quantisation of a language model costs and gains: loss change and generation speed.

:func:`lm_compression_report` puts the fp32 model and its int8 copy
(:meth:`~datamoat.models.trainers.lm_contract.LMTrainer.quantized`) side by side on the same
documents: loss per token, perplexity, bits per character (comparable across tokenizers; here
both share one), generated tokens per second and saved size. The compression itself is in
:mod:`datamoat.models.trainers.lm_quantize`.

Tokens per second: greedy generation of ``max_new_tokens`` new tokens from each prompt
(:func:`generation_speed`), one prompt at a time as a served ``/v1/generate`` call makes them,
after one untimed warm-up call, on the threads torch is set to use. Both models run on the CPU
(PyTorch's int8 kernels are CPU kernels), so a model trained on a GPU is compared on the CPU too.
"""

from __future__ import annotations

import copy
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datamoat.errors import DatamoatError
from datamoat.models.trainers.lm_contract import LMTrainer
from datamoat.models.trainers.lm_generation import generate_ids

PROMPT_CHARS = 40
"""Characters of a document's start used as a timing prompt."""


def on_cpu(trainer: LMTrainer) -> LMTrainer:
    """``trainer``, or a shallow copy of it whose model runs on the CPU (the int8 side always does)."""
    if getattr(trainer, "device_", "cpu") == "cpu":
        return trainer
    out = copy.copy(trainer)
    out.model_ = copy.deepcopy(trainer.model_).to("cpu")
    out.device_ = "cpu"
    return out


def timing_prompts(documents: Sequence[str], n: int = 4) -> list[str]:
    """The first :data:`PROMPT_CHARS` characters of up to ``n`` non-blank documents."""
    prompts = [d[:PROMPT_CHARS] for d in documents if isinstance(d, str) and d.strip()][:n]
    if not prompts:
        raise DatamoatError("there is no text to make timing prompts from.")
    return prompts


def generation_speed(trainer: LMTrainer, prompts: Sequence[str], *, max_new_tokens: int = 64) -> dict[str, float]:
    """Greedy generation speed of ``trainer`` over ``prompts`` (see the module docstring).

    Returns ``{"tokens_per_s", "tokens" (generated, summed), "seconds", "prompts"}``. The end of
    text does not stop a timed call early, so every call makes ``max_new_tokens`` tokens.
    """
    tok = trainer.tokenizer_
    encoded = [list(tok(p, add_special_tokens=False)["input_ids"]) or [int(tok.eos_token_id)] for p in prompts]
    generate_ids(trainer.model_, encoded[0], max_new_tokens=2, temperature=0, device=trainer.device_)  # warm-up
    tokens = 0
    started = time.perf_counter()
    for ids in encoded:
        tokens += len(generate_ids(trainer.model_, ids, max_new_tokens=max_new_tokens, temperature=0,
                                   eos_id=None, device=trainer.device_))
    seconds = time.perf_counter() - started
    return {"tokens_per_s": tokens / max(seconds, 1e-9), "tokens": float(tokens), "seconds": seconds,
            "prompts": float(len(encoded))}


def saved_size_mb(trainer: LMTrainer) -> float:
    """Size in MB (2**20 bytes) of ``trainer`` saved as a folder."""
    with tempfile.TemporaryDirectory(prefix="datamoat-size-") as tmp:
        root = trainer.save(Path(tmp) / "model")
        return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20


def lm_compression_report(original: LMTrainer, compressed: LMTrainer, documents: Sequence[str], *,
                          max_new_tokens: int = 64, prompts: int = 4) -> dict[str, Any]:
    """The two models on ``documents`` (the model's validation documents).

    Returns ``{"original": {...}, "compressed": {...}}``, each with ``loss`` (nats per token),
    ``perplexity``, ``bits_per_char``, ``tokens_per_s``, ``size_mb``; ``bits_per_char_change``
    and ``perplexity_change`` (compressed - original), ``speedup`` (tokens/s ratio),
    ``size_ratio`` (original / compressed), ``documents``, ``chars`` and ``timing`` (prompts,
    new tokens per prompt).
    """
    docs = [d for d in documents if isinstance(d, str) and d.strip()]
    if not docs:
        raise DatamoatError("the compression report needs at least one non-blank validation document.")
    texts = timing_prompts(docs, prompts)
    base = on_cpu(original)
    sides: dict[str, dict[str, Any]] = {}
    for name, model in (("original", base), ("compressed", compressed)):
        metrics = model.text_metrics(docs)
        speed = generation_speed(model, texts, max_new_tokens=max_new_tokens)
        sides[name] = {"loss": metrics["loss"], "perplexity": metrics["perplexity"],
                       "bits_per_char": metrics["bits_per_char"], "tokens_per_s": speed["tokens_per_s"],
                       "size_mb": saved_size_mb(model)}
        chars = metrics["chars"]
    o, c = sides["original"], sides["compressed"]
    return {**sides, "bits_per_char_change": c["bits_per_char"] - o["bits_per_char"],
            "perplexity_change": c["perplexity"] - o["perplexity"],
            "speedup": c["tokens_per_s"] / max(o["tokens_per_s"], 1e-9),
            "size_ratio": o["size_mb"] / max(c["size_mb"], 1e-9), "documents": len(docs), "chars": chars,
            "timing": {"prompts": len(texts), "new_tokens_per_prompt": max_new_tokens, "device": "cpu"}}

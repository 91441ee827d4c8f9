"""Evaluation of a language model on documents: loss, perplexity, bits per character, the
per-document loss distribution, the learning curve and sample generations.

Bits per character is the one figure comparable across tokenizers (a character model and a
BPE model predict different units): the summed loss of predicting every token of the text, in
nats, divided by the text's characters and by ln 2. Perplexity is per token, so it is only
comparable between models with the same tokenizer. Every token of every document is scored
once (:meth:`~datamoat.models.trainers.lm_contract.LMTrainer.score_documents`); no document is
left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from datamoat.errors import DatamoatError

LN2 = math.log(2)
SAMPLE_SETTINGS = {"max_new_tokens": 200, "temperature": 0.8, "top_k": 40, "top_p": 0.95}
"""Sampling of the report's example generations (seeded)."""
PROMPT_CHARS = 40
"""Sample prompts are the first characters (up to the first line end) of test documents."""
MAX_DOC_VALUES = 5000
"""Per-document values kept for the histogram (the quantiles use all documents)."""


def bits_per_char(nats: float, chars: int) -> float:
    """Bits per character of a text whose tokens cost ``nats`` in total (natural log) and that
    has ``chars`` characters: nats / chars / ln 2."""
    if chars <= 0:
        raise DatamoatError("bits per character needs at least one character of text.")
    return float(nats) / chars / LN2


def lm_evaluation(trainer: Any, texts: Sequence[str], *, samples: int = 3, seed: int = 0) -> dict[str, Any]:
    """Figures of ``trainer`` (a fitted LMTrainer) on the documents ``texts``.

    Returns ``documents``, ``tokens``, ``chars``, ``loss`` (nats per token), ``perplexity``,
    ``nats_per_char``, ``bits_per_char``; ``per_document`` (quantiles of bits per character over
    documents with at least one character, and up to :data:`MAX_DOC_VALUES` values);
    ``learning_curve`` (the training history: tokens seen, training and validation loss in nats
    per token); ``samples`` (``samples`` seeded generations from prompts taken from the texts).
    DatamoatError when ``texts`` hold no characters.
    """
    docs = [t if isinstance(t, str) else "" for t in texts]
    scored = trainer.score_documents(docs)
    nats, tokens, chars = scored["nats"], scored["tokens"], scored["chars"]
    total_chars = int(chars.sum())
    if total_chars == 0:
        raise DatamoatError(f"the evaluation text has no characters ({len(docs)} document(s), all empty).")
    total_nats, total_tokens = float(nats.sum()), int(tokens.sum())
    loss = total_nats / max(total_tokens, 1)
    has = chars > 0
    per_doc = nats[has] / chars[has] / LN2
    quantiles = {f"p{q}": float(np.percentile(per_doc, q)) for q in (5, 25, 50, 75, 95)}
    worst = np.argsort(-np.where(has, nats / np.maximum(chars, 1), -np.inf))[:5]
    out: dict[str, Any] = {
        "documents": len(docs), "tokens": total_tokens, "chars": total_chars, "loss": loss,
        "perplexity": math.exp(min(loss, 700.0)), "nats_per_char": total_nats / total_chars,
        "bits_per_char": bits_per_char(total_nats, total_chars), "tokens_per_char": total_tokens / total_chars,
        "per_document": {"quantiles": quantiles, "bits_per_char": per_doc[:MAX_DOC_VALUES].round(4).tolist(),
                         "worst": [{"document": int(i), "chars": int(chars[i]),
                                    "bits_per_char": float(nats[i] / chars[i] / LN2),
                                    "start": docs[i][:120]} for i in worst if has[i]]},
        "learning_curve": list(getattr(trainer, "history_", []) or []),
        "samples": sample_generations(trainer, docs, samples, seed),
    }
    return out


def sample_prompts(docs: Sequence[str], n: int, seed: int) -> list[str]:
    """Up to ``n`` prompts: the start (to :data:`PROMPT_CHARS` characters or the first line end)
    of documents chosen at random (seeded); a single long document gives prompts from random
    line starts."""
    rng = np.random.default_rng(seed)
    nonempty = [d for d in docs if d.strip()]
    if not nonempty:
        return []
    prompts: list[str] = []
    if len(nonempty) >= n:
        for i in rng.choice(len(nonempty), size=n, replace=False):
            prompts.append(nonempty[int(i)][:PROMPT_CHARS].split("\n")[0])
    else:
        text = "\n".join(nonempty)
        starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n" and i + 1 < len(text)]
        for i in rng.choice(len(starts), size=min(n, len(starts)), replace=False):
            prompts.append(text[starts[int(i)] :][:PROMPT_CHARS].split("\n")[0])
    return [p for p in prompts if p.strip()] or [nonempty[0][:PROMPT_CHARS]]


def sample_generations(trainer: Any, docs: Sequence[str], n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` generations (:data:`SAMPLE_SETTINGS`, seed ``seed + i``) from :func:`sample_prompts`."""
    if n <= 0:
        return []
    out = []
    for i, prompt in enumerate(sample_prompts(docs, n, seed)):
        text = trainer.generate(prompt, seed=seed + i, **SAMPLE_SETTINGS)
        out.append({"prompt": prompt, "continuation": text, "seed": seed + i, **SAMPLE_SETTINGS})
    return out

"""The model card (README.md) of an exported language model: data versions, tokenizer, size,
validation and test figures (loss, perplexity, bits per character), the memorisation check,
intended use and limits, and how to load it with plain ``transformers``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _num(value: Any, fmt: str = "{:.4f}") -> str:
    return fmt.format(value) if isinstance(value, int | float) and not isinstance(value, bool) else "-"


def lm_model_card(card: Mapping[str, Any]) -> str:
    """Markdown for ``card`` (:func:`datamoat.models.training.card_info`'s dict of a language model:
    name, ref, kind, params, train / test version facts, metrics, info)."""
    info: Mapping[str, Any] = card.get("info") or {}
    metrics: Mapping[str, Any] = card.get("metrics") or {}
    tok = info.get("tokenizer") or {}
    size = info.get("size") or {}
    training = info.get("training") or {}
    train, test = card.get("train") or {}, card.get("test") or {}
    canaries = metrics.get("canaries") or info.get("canaries")
    lines = [
        "---", "library_name: transformers", "pipeline_tag: text-generation", "tags: [datamoat, causal-lm]", "---", "",
        f"# {card.get('ref', card.get('name', 'language model'))} ({card.get('kind')})", "",
        "A causal language model trained by datamoat on a team's own corpus"
        + (" from scratch (GPT-2 architecture)." if card.get("kind") == "causal-lm"
           else f" by fine-tuning `{info.get('checkpoint') or (card.get('params') or {}).get('checkpoint')}`."), "",
        "## Training data", "",
        f"- training version: `{train.get('ref', info.get('train_ref'))}` (content hash `{train.get('content_hash', info.get('train_hash'))}`), "
        f"{info.get('train_documents', '-')} documents after holding out validation ({info.get('validation', '-')})",
        f"- test: {info.get('test_treatment', '-')}" + (f" (content hash `{test.get('content_hash')}`)" if test else ""),
        "", "## Tokenizer and size", "",
        f"- tokenizer: {tok.get('kind', '-')}, {tok.get('vocab', '-')} tokens" + (f"; {tok['reason']}" if tok.get("reason") else ""),
        f"- size: {size.get('layers', '-')} layers, {size.get('heads', '-')} heads, width {size.get('width', '-')}, context "
        f"{size.get('context', '-')} tokens, {size.get('params', '-'):,} weights" if isinstance(size.get("params"), int)
        else f"- size: {size}",
        f"- training: {training.get('steps', '-')} steps, {training.get('tokens', '-')} tokens seen, "
        f"{training.get('seconds', '-')} s on {training.get('device', '-')}, stopped by {training.get('stop_reason', '-')}",
        "", "## Evaluation (test documents)", "",
        "| figure | value |", "| --- | --- |",
        f"| bits per character | {_num(metrics.get('bits_per_char'))} |",
        f"| loss (nats per token) | {_num(metrics.get('loss'))} |",
        f"| perplexity (per token) | {_num(metrics.get('perplexity'), '{:.2f}')} |",
        f"| documents / characters | {metrics.get('documents', '-')} / {metrics.get('chars', '-')} |",
        "", "Bits per character is comparable across tokenizers; perplexity only between models with the same tokenizer.", "",
        "## Memorisation check", "",
    ]
    if canaries:
        lines += [
            f"{canaries.get('canaries')} random canaries (e.g. \"my PIN is 123456\") were inserted into a copy of the "
            f"training text; PII redaction of the training text: **{canaries.get('pii_redaction')}**. Mean exposure "
            f"{canaries.get('mean_exposure')} bits (max {canaries.get('max_exposure')}; Carlini et al. 2019), "
            f"{canaries.get('extracted')} reproduced by greedy generation from their prefix; "
            f"{canaries.get('controls')} never-inserted controls are the baseline.", ""]
    else:
        lines += ["Not run for this model.", ""]
    lines += [
        "## Intended use and limits", "",
        "- Generating and scoring text like the training corpus (drafts, completion, anomaly scores by loss).",
        "- A small model: it reproduces the style of its corpus, not facts; check what it writes before use.",
        "- It can repeat text it was trained on, including personal data unless the corpus was redacted; see the check above.",
        "", "## How to load", "", "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "model = AutoModelForCausalLM.from_pretrained(FOLDER)",
        "tokenizer = AutoTokenizer.from_pretrained(FOLDER)",
        "ids = tokenizer(\"Your prompt\", return_tensors=\"pt\").input_ids",
        "print(tokenizer.decode(model.generate(ids, max_new_tokens=50, do_sample=False)[0]))",
        "```", "",
    ]
    return "\n".join(lines)

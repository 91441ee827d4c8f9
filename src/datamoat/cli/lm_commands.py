"""CLI commands for language models: ``generate``, and the language-model paths of ``evaluate``
(perplexity) and ``compress`` (int8)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from datamoat.cli.context import open_workspace
from datamoat.cli.output import print_json, stage, stdout


def generate(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Language-model version (NAME, NAME@3, NAME@champion).")],
    prompt: Annotated[str, typer.Argument(help="The text to continue (may be empty: a new document).")],
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Tokens to generate at most (stops early at the end of a document).")] = 200,
    temperature: Annotated[float, typer.Option(help="Sampling temperature; 0 is greedy (always the most likely token).")] = 0.8,
    top_k: Annotated[int | None, typer.Option("--top-k", help="Sample only among the K most likely tokens.")] = None,
    top_p: Annotated[float | None, typer.Option("--top-p", help="Sample only among the most likely tokens whose probabilities add up to P.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed and settings give the same text.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Continue a prompt with a registered language model (causal-lm, causal-lm-finetune)."""
    from datamoat.models.training import models_registry

    with open_workspace(ctx) as ws:
        registry = models_registry(ws)
        record = registry.resolve(model)
        trainer = _lm(record.ref, record.kind, registry, not as_json)
        with stage(f"generating up to {max_tokens:,} tokens", not as_json):
            text = trainer.generate(prompt, max_new_tokens=max_tokens, temperature=temperature, top_k=top_k,
                                    top_p=top_p, seed=seed)
    if as_json:
        print_json({"model": record.ref, "prompt": prompt, "continuation": text,
                    "settings": {"max_tokens": max_tokens, "temperature": temperature, "top_k": top_k,
                                 "top_p": top_p, "seed": seed}})
        return
    stdout.print(prompt + text, highlight=False, markup=False)


def _lm(ref: str, kind: str, registry: Any, say: bool) -> Any:
    """The registered language model ``ref``; DatamoatError naming the kind when it is not one."""
    from datamoat.errors import DatamoatError
    from datamoat.models.lm_training import LM_KINDS

    if kind not in LM_KINDS:
        raise DatamoatError(f"{ref} is a {kind} model, not a language model; generate needs a causal-lm or "
                            "causal-lm-finetune model.")
    with stage(f"loading model {ref} ({kind})", say):
        return registry.load(ref)


def evaluate_lm(ws: Any, record: Any, data: str, as_json: bool, text_column: str | None = None) -> None:
    """``datamoat evaluate`` for a language model: loss, perplexity and bits per character of
    ``record`` on every document of dataset version ``data``, HTML + JSON report."""
    from datamoat.models.evaluation.lm_metrics import lm_evaluation
    from datamoat.models.evaluation.lm_report import write_lm_report
    from datamoat.models.lm_training import version_documents
    from datamoat.models.training import models_registry

    trainer = _lm(record.ref, record.kind, models_registry(ws), not as_json)
    version, docs, _ = version_documents(ws, data, text_column or record.info.get("text_column"))
    with stage(f"scoring {len(docs):,} documents of {version.ref}", not as_json):
        evaluation = lm_evaluation(trainer, docs, samples=3)
    report = write_lm_report(
        evaluation, ws.state / "reports" / f"eval-{record.name}-{record.ordinal}-{version.dataset}-{version.ordinal}.html",
        title=f"Language model {record.ref} ({record.kind}) on {version.ref}", model=record.summary())
    figures = {k: evaluation[k] for k in ("documents", "chars", "tokens", "loss", "perplexity", "bits_per_char")}
    if as_json:
        print_json({"model": record.ref, "data": version.ref, "evaluation": figures, "report": str(report)})
        return
    stdout.print(f"{record.ref} on {version.ref}: {figures['documents']:,} documents, {figures['chars']:,} characters  "
                 f"bits/char {figures['bits_per_char']:.4f}  loss {figures['loss']:.4f} nats/token  perplexity "
                 f"{figures['perplexity']:.2f} (per token)", highlight=False, markup=False)
    stdout.print(f"report: {report}", highlight=False, markup=False)


def compress_lm(ws: Any, record: Any, data: str | None, method: str, as_json: bool) -> None:
    """``datamoat compress`` for a language model: int8 copy, measured on its validation text,
    registered (:func:`~datamoat.models.lm_compression.compress_lm`); a table of both sides."""
    from datamoat.cli.output import print_table
    from datamoat.errors import DatamoatError
    from datamoat.models.lm_compression import compress_lm as run_compress
    from datamoat.models.trainers.lm_quantize import METHOD
    from datamoat.models.training import models_registry

    if data is not None:
        raise DatamoatError(f"--data does not apply to language model {record.ref}: it is measured on its own "
                            "validation text, the same for both sides.")
    if method not in (METHOD, "onnx-int8"):  # onnx-int8 is the command's default for classifiers
        raise DatamoatError(f"method {method!r} does not apply to language model {record.ref}; use {METHOD}.")
    trainer = _lm(record.ref, record.kind, models_registry(ws), not as_json)
    with stage("quantising to int8, then scoring the validation text and timing generation with both models",
               not as_json):
        new, _, report = run_compress(ws, record, trainer)
    if as_json:
        print_json({"model": new.ref, "from": record.ref, "method": METHOD, **report})
        return
    o, c = report["original"], report["compressed"]
    rows = [[label, fmt.format(o[key]), fmt.format(c[key])] for label, key, fmt in (
        ("size (MB)", "size_mb", "{:,.2f}"), ("validation bits per character", "bits_per_char", "{:.4f}"),
        ("validation perplexity (per token)", "perplexity", "{:.3f}"), ("generation (tokens/s, greedy)",
                                                                       "tokens_per_s", "{:,.1f}"))]
    print_table(f"{record.ref} -> {new.ref} ({METHOD}) on {report['documents']:,} validation documents",
                ["", record.ref, new.ref], rows)
    stdout.print(f"{report['size_ratio']:.1f}x smaller, {report['speedup']:.2f}x the tokens/s; bits per character "
                 f"{report['bits_per_char_change']:+.4f} ({report['validation']})", highlight=False, markup=False)

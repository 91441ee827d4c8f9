"""What ``datamoat run --task lm`` and ``datamoat train --task lm`` print: the corpus versions,
what cleaning dropped, the model's test figures and the memorisation check."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from datamoat.cli.output import print_table, stdout
from datamoat.errors import DatamoatError

if TYPE_CHECKING:
    from datamoat.flywheel.lm_run import LmRunResult

LM_TASK_HELP = ("lm: a language model of the text (PATH is a text file, a folder of documents, or a table "
                "with --text; whole documents, or the tail of one long text, are held out for validation and test; "
                "--budget covers the whole command: corpus, training, evaluation, canary check and report)")

CHECKPOINT_HELP = ("--task lm with --model causal-lm-finetune: the local Hugging Face causal language model folder "
                   "to fine-tune (config.json and weights, e.g. a GPT-2 saved with save_pretrained); nothing is downloaded.")


def lm_params(task: str, model: str, checkpoint: Path | None) -> dict[str, Any] | None:
    """The trainer parameters of ``--checkpoint`` (``{"checkpoint": "FOLDER"}``) or None.

    Checked before anything is written: DatamoatError (one sentence) when ``--checkpoint`` is
    given without ``--task lm --model causal-lm-finetune``, or that model is asked for without it.
    Whether the folder holds a causal LM is checked by ``run_lm`` (also before the corpus is made).
    """
    finetune = task == "lm" and model == "causal-lm-finetune"
    if checkpoint is not None and not finetune:
        raise DatamoatError(f"--checkpoint {checkpoint} applies only to --task lm --model causal-lm-finetune "
                            f"(here --task {task} --model {model}).")
    if finetune and checkpoint is None:
        raise DatamoatError("--model causal-lm-finetune needs --checkpoint FOLDER: a local Hugging Face causal "
                            "language model folder (e.g. a GPT-2 saved with save_pretrained).")
    return {"checkpoint": str(checkpoint)} if checkpoint is not None else None


def print_lm_run(result: LmRunResult) -> None:
    """The run's outcome as sentences and tables (what the JSON form holds, for people)."""
    c, r = result.corpus, result.train
    v, rows = c.versions, c.rows
    stdout.print(f"raw    [bold]{escape(v['raw'])}[/]  {rows['raw']:,} rows, quality score {c.quality.get('score')}",
                 highlight=False)
    stdout.print(f"clean  [bold]{escape(v['clean'])}[/]  {rows['clean']:,} rows (language-model recipe)", highlight=False)
    if c.dropped:
        print_table("dropped rows (kept in `datamoat excluded`)", ["reason", "rows"],
                    [[k, f"{n:,}"] for k, n in sorted(c.dropped.items(), key=lambda kv: -kv[1])])
    split = ", ".join(f"{k} {escape(v[k])} ({rows[k]:,})" for k in ("train", "valid", "test") if k in v)
    stdout.print(f"split  {c.split}: {split}; personal data: {c.pii}", highlight=False)
    h = r.headline()
    stdout.print(f"model  [bold]{escape(r.record.ref)}[/] ({r.record.kind}, {escape(', '.join(r.record.aliases))})",
                 highlight=False)
    stdout.print(f"test   {escape(r.test_ref)}: {h['chars']:,} characters  {h['bits_per_char']:.3f} bits per character  "
                 f"perplexity {h['perplexity']:.2f} per token", highlight=False)
    canaries = (r.canaries or {}).get("summary")
    if canaries:
        stdout.print(f"memorisation: {canaries['canaries']} canaries, mean exposure {canaries['mean_exposure']}, "
                     f"max {canaries['max_exposure']} ({canaries.get('candidates') or '?'} random candidates each), "
                     f"{canaries['extracted']} reproduced by greedy generation; "
                     f"PII redaction {canaries['pii_redaction']}", highlight=False)
    stdout.print(f"quality report: {c.report}", highlight=False, markup=False)
    stdout.print(f"model report: {r.report}", highlight=False, markup=False)
    stdout.print(f"took {result.budget['used_s']:.1f} s of the {result.budget['budget_s']:.0f} s budget.", highlight=False)

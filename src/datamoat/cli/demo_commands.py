"""CLI commands for the built-in example and the main job: demo-data, run."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from datamoat.cli.context import workspace_dir
from datamoat.cli.data_commands import parse_roles
from datamoat.cli.executor_options import ExecutorOpt, RayAddressOpt, choose_executor
from datamoat.cli.lm_output import CHECKPOINT_HELP, LM_TASK_HELP, lm_params
from datamoat.cli.model_commands import DP_DELTA_HELP, DP_EPSILON_HELP
from datamoat.cli.output import print_json, print_table, row_progress, stdout
from datamoat.config import find_workspace_root

if TYPE_CHECKING:
    from datamoat.flywheel.run import RunResult


def demo_data(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write tickets.csv, customers.csv and truth.json into.")],
    tickets: Annotated[int, typer.Option(help="Number of support tickets.")] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Write a synthetic customer-support dataset with known problems and a truth file."""
    from datamoat.demo import generate_demo_data

    paths = generate_demo_data(out_dir, n_tickets=tickets, seed=seed)
    if as_json:
        print_json({k: str(v) for k, v in paths.items()})
        return
    for kind, path in paths.items():
        stdout.print(f"{kind:10s} {path}")


def run(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="The data: a CSV/JSON/Parquet file or a folder of text files.")],
    text: Annotated[str | None, typer.Option(help="Column with the text.")] = None,
    label: Annotated[str | None, typer.Option(help="Column with the label.")] = None,
    id_column: Annotated[str | None, typer.Option("--id", help="Column with unique row ids.")] = None,
    name: Annotated[str | None, typer.Option(help="Dataset name (default: the file's stem).")] = None,
    role: Annotated[list[str] | None, typer.Option(help="Any other role as ROLE=COLUMN, repeatable (e.g. timestamp=created_at).")] = None,
    pii: Annotated[str, typer.Option(help="What to do with personal data in the text: redact, mask, pseudonymize, or keep.")] = "redact",
    test: Annotated[str | None, typer.Option(help="A test file with the same columns (default: a held-out, leakage-free split).")] = None,
    task: Annotated[str, typer.Option(help="auto (text when --text is given), text, tabular or " + LM_TASK_HELP + ".")] = "auto",
    canaries: Annotated[int, typer.Option(help="--task lm: memorisation canaries put into the training text before PII redaction and checked after training (0: none).")] = 4,
    model: Annotated[str, typer.Option(help="auto or a trainer kind (tfidf-linear, embed-linear, finetune, ensemble, tabular, tabular-linear; --task lm: causal-lm or causal-lm-finetune).")] = "auto",
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help=CHECKPOINT_HELP)] = None,
    metric: Annotated[str, typer.Option(help="Selection metric: auto (macro_f1 when the largest class has over 3x the rows of the smallest, else accuracy), accuracy, macro_f1, balanced_accuracy, roc_auc or average_precision (binary: the rarer class is positive).")] = "auto",
    budget: Annotated[str, typer.Option(help="Time budget of the whole run (selection, refit, learning curve; --task lm: corpus, training, evaluation, canary check and report), e.g. 10m, 90s, 1h.")] = "10m",
    augment: Annotated[str, typer.Option(help="auto: try synthetic training rows (text: 4 synonym replacements per row by the bundled encoder's word-embedding neighbours, or word swaps, deletions and in-class insertions without the ml extra; tables: SMOTE) as a candidate, kept only if it passes the flywheel's significance test on the folds; off: never.")] = "off",
    dp_epsilon: Annotated[float | None, typer.Option("--dp-epsilon", help=DP_EPSILON_HELP + " The dataset NAME needs a budget from an earlier ingest.")] = None,
    dp_delta: Annotated[float | None, typer.Option("--dp-delta", help=DP_DELTA_HELP)] = None,
    recipe: Annotated[Path | None, typer.Option(help="A recipe YAML to clean with instead of the built-in one (e.g. with k_anonymize).")] = None,
    train: Annotated[bool, typer.Option("--train/--no-train", help="Train and evaluate a model (needs --label).")] = True,
    encoding: Annotated[str | None, typer.Option(help="Text encoding of the data, e.g. latin-1 (default: as `datamoat ingest`).")] = None,
    on_decode_error: Annotated[str | None, typer.Option(help="Bytes the encoding cannot decode: fail (default), replace or skip-row (as `datamoat ingest`).")] = None,
    infer_roles: Annotated[bool, typer.Option("--infer-roles/--no-infer-roles", help="Without --text, take the free-text column as the text (as `datamoat ingest`).")] = True,
    executor: ExecutorOpt = None,
    ray_address: RayAddressOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The main job: ingest, profile, split, clean, redact personal data, train, evaluate, report.

    Creates a workspace in the current directory (or --workspace) if there is none. The test
    rows are held out from the ingested rows before any cleaning (or come from --test) and are
    never dropped by a model or by other rows. Every stage makes a version (see `datamoat
    versions NAME`); every dropped row is kept with its reason (`datamoat excluded NAME@VER`);
    the model is registered (`datamoat models`). A failed run removes what it registered.
    """
    from datamoat.budget import Deadline
    from datamoat.flywheel.run import check_run_args, run_loop
    from datamoat.workspace import Workspace

    check_run_args(task=task, text=text, label=label, train=train, pii=pii, source=path)
    params = lm_params(task, model, checkpoint)
    deadline = Deadline.parse(budget)  # a typo fails here, before anything is written
    root = workspace_dir(ctx)
    ws = Workspace.open(root) if find_workspace_root(root) is not None else Workspace.init(root)
    try:
        choose_executor(ws, executor, ray_address)
        if task == "lm":
            _run_lm(ws, path, text=text, name=name, model=model, params=params, budget=deadline, pii=pii, canaries=canaries,
                    ingest_options={k: v for k, v in {"encoding": encoding, "on_decode_error": on_decode_error}.items()
                                    if v is not None}, others={"--label": label, "--test": test, "--recipe": recipe,
                                                               "--id": id_column, "--role": role}, as_json=as_json)
            return
        with ExitStack() as ingesting:
            # the "ingesting" row counter is shown while the source is read: run_loop's first
            # stage line ("ingested ...") comes once ingest is over and closes it
            progress = ingesting.enter_context(row_progress("ingesting", enabled=not as_json))

            def say(msg: str) -> None:
                ingesting.close()
                stdout.print(f"  {escape(msg)}", highlight=False)

            result = run_loop(ws, path, text=text, label=label, id_column=id_column, name=name,
                              roles=parse_roles(role or []) or None, task=task, test=test, model=model,
                              metric=metric, budget=deadline, recipe=recipe, pii=pii, train=train, augment=augment,
                              dp_epsilon=dp_epsilon, dp_delta=dp_delta,
                              progress=say if not as_json else None,
                              ingest_progress=progress,
                              ingest_options={k: v for k, v in {"encoding": encoding, "on_decode_error": on_decode_error,
                                                                 "infer_roles": None if infer_roles else False}.items()
                                              if v is not None})
    finally:
        ws.close()
    if as_json:
        print_json(result.to_dict())
        return
    _print_run(result, pii)


def _run_lm(ws: Any, path: str, *, others: dict[str, Any], as_json: bool, **kwargs: Any) -> None:
    """``run --task lm``: :func:`datamoat.flywheel.lm_run.run_lm`, printed."""
    from datamoat.cli.lm_output import print_lm_run
    from datamoat.errors import DatamoatError
    from datamoat.flywheel.lm_run import run_lm

    given = [k for k, v in others.items() if v]
    if given:
        raise DatamoatError(f"{given[0]} does not apply to --task lm (a language model has no labels and holds its test text out itself).")
    result = run_lm(ws, path, progress=None if as_json else (lambda m: stdout.print(f"  {escape(m)}", highlight=False)),
                    **kwargs)
    if as_json:
        print_json(result.to_dict())
        return
    print_lm_run(result)


def _print_run(result: RunResult, pii: str) -> None:
    """The run's outcome as sentences and tables."""
    v, rows = result.versions, result.rows
    stdout.print(f"raw    [bold]{v['raw']}[/]  {rows['raw']:,} rows, quality score {result.quality['score']}",
                 highlight=False)
    stdout.print(f"clean  [bold]{v['clean']}[/]  {rows['clean']:,} training rows", highlight=False)
    if v["final"] != v["clean"]:
        stdout.print(f"final  [bold]{v['final']}[/]  personal data: {pii}", highlight=False)
    if result.dropped:
        print_table("dropped training rows (kept in `datamoat excluded`)", ["reason", "rows"],
                    [[k, f"{n:,}"] for k, n in sorted(result.dropped.items(), key=lambda kv: -kv[1])])
    stdout.print(f"quality report: {result.report}", highlight=False)
    r = result.train
    if r is not None:
        from datamoat.cli.model_commands import fmt_ci, print_augmentation, print_candidates, print_privacy

        print_candidates(r.selection)
        print_augmentation(r.selection)
        h = r.headline()
        stdout.print(f"model  [bold]{r.record.ref}[/] ({r.record.kind})  trained on {r.train_ref}", highlight=False)
        stdout.print(f"test   {r.test_ref}: {h['rows']:,} rows  accuracy {fmt_ci(h['accuracy'], h['accuracy_ci'])}  "
                     f"macro F1 {fmt_ci(h['macro_f1'], h['macro_f1_ci'])}", highlight=False)
        base = h.get("majority_baseline") or {}
        if base:
            stdout.print(f"       always answering {escape(repr(base['label']))} would score accuracy "
                         f"{base['accuracy']:.4f}, macro F1 {base['macro_f1']:.4f}", highlight=False)
        print_privacy(r.evaluation)
        stdout.print(escape(result.test_treatment), highlight=False)
        stdout.print(f"model report: {r.report}", highlight=False)
    text_model = r is not None and r.record.info.get("task") == "text"
    hint = (f"   datamoat explain {result.dataset} \"TEXT\"   datamoat keys create --role admin && datamoat serve"
            if text_model else "")
    b = result.budget
    took, over = result.timings_s["total"], result.timings_s["total"] - b["budget_s"]
    stages = sorted(((v, k) for k, v in result.timings_s.items() if k not in ("total", "train_total")), reverse=True)
    spent = (f"took {took:.1f} s of the {b['budget_s']:.0f} s budget." if over <= 0 else
             f"took {took:.1f} s: {over:.1f} s over the {b['budget_s']:.0f} s budget (a model needs at least one fit; "
             f"longest stages: {', '.join(f'{k} {v:.0f} s' for v, k in stages[:3])}; give a larger --budget).")
    stdout.print(f"{spent}  next: datamoat models{hint}", highlight=False)

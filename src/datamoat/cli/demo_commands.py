"""CLI commands for the built-in example and the main job: demo-data, run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from datamoat.cli.context import workspace_dir
from datamoat.cli.data_commands import parse_roles
from datamoat.cli.output import print_json, print_table, row_progress, stdout
from datamoat.config import CONFIG_FILE


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
    task: Annotated[str, typer.Option(help="auto (text when --text is given), text or tabular.")] = "auto",
    model: Annotated[str, typer.Option(help="auto or a trainer kind (tfidf-linear, embed-linear, finetune, ensemble, tabular, tabular-linear).")] = "auto",
    budget: Annotated[str, typer.Option(help="Time budget for model selection, e.g. 10m, 90s, 1h.")] = "10m",
    recipe: Annotated[Path | None, typer.Option(help="A recipe YAML to clean with instead of the built-in one (e.g. with k_anonymize).")] = None,
    train: Annotated[bool, typer.Option("--train/--no-train", help="Train and evaluate a model (needs --label).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The main job: ingest, profile, clean, redact personal data, split, train, evaluate, report.

    Creates a workspace in the current directory (or --workspace) if there is none. Every
    stage makes a version (see `datamoat versions NAME`); every dropped row is kept with its
    reason (`datamoat excluded NAME@VER`); the model is registered (`datamoat models`).
    """
    from datamoat.clean.default_recipe import default_clean_recipe
    from datamoat.errors import DatamoatError
    from datamoat.quality.profile import profile_version
    from datamoat.quality.report import write_report
    from datamoat.workspace import Workspace

    if task not in ("auto", "text", "tabular"):
        raise DatamoatError(f"--task {task!r} is not known; use auto, text or tabular.")
    if task == "text" and not text:
        raise DatamoatError("--task text needs --text COLUMN.")
    if train and not label:
        raise DatamoatError("training needs --label COLUMN (or pass --no-train to only profile and clean).")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    root = workspace_dir(ctx)
    ws = Workspace.open(root) if _has_workspace(root) else Workspace.init(root)
    dataset = name or Path(path.rstrip("/")).stem
    say = (lambda msg: stdout.print(f"  {msg}", highlight=False)) if not as_json else None
    roles = parse_roles(role or []) or None
    text_role = text if task != "tabular" else None

    t = time.perf_counter()
    with row_progress("ingesting", enabled=not as_json) as progress:
        raw = ws.ingest(path, name=dataset, text=text_role, label=label, id=id_column, roles=roles, progress=progress)
    test_raw = None
    if test is not None:
        test_raw = ws.ingest(test, name=f"{dataset}-testfile", text=text_role, label=label, id=id_column, roles=roles)
    timings["ingest"] = time.perf_counter() - t

    t = time.perf_counter()
    prof = profile_version(raw)
    report = write_report(prof, ws.state / "reports" / f"{raw.dataset}-{raw.ordinal}-profile.html")
    timings["profile"] = time.perf_counter() - t

    t = time.perf_counter()
    cleaned = ws.apply(raw.ref, str(recipe) if recipe else default_clean_recipe(raw.roles), label="clean")
    clean = ws.version_by_id(cleaned.version.id)
    timings["clean"] = time.perf_counter() - t

    if train and clean.num_rows == 0:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(cleaned.dropped_by_reason.items(), key=lambda kv: -kv[1]))
        raise DatamoatError(
            f"cleaning dropped every row of {raw.ref} ({reasons}); nothing is left to train on "
            f"(the rows are kept: `datamoat excluded {clean.ref}`)."
        )
    final, test_final = clean, test_raw
    if pii != "keep" and raw.roles.get("text"):
        t = time.perf_counter()
        redacted = ws.apply(clean.ref, [{"step": "pii_redact", "mode": pii}], label="pii_redact")
        final = ws.version_by_id(redacted.version.id)
        if test_raw is not None:
            # the test texts get the same redaction (rows are never dropped from a test file)
            test_red = ws.apply(test_raw.ref, [{"step": "pii_redact", "mode": pii}], label="pii_redact")
            test_final = ws.version_by_id(test_red.version.id)
        timings["pii"] = time.perf_counter() - t

    result = None
    if train:
        from datamoat.models.training import train_model

        t = time.perf_counter()
        result = train_model(ws, final.ref, model=model, budget=budget, test=test_final.ref if test_final else None,
                             task=None if task == "auto" else task, progress=say)
        timings.update({k: v for k, v in result.timings_s.items()})
        timings["train_total"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started

    versions = {"raw": raw.ref, "clean": clean.ref, "final": final.ref}
    summary: dict = {
        "workspace": str(ws.root),
        "versions": versions,
        "rows": {"raw": raw.num_rows, "clean": clean.num_rows, "unparseable": raw.record.excluded_count},
        "dropped": cleaned.dropped_by_reason,
        "quality": {"score": prof.score["value"], "issue_rates": {k: round(v["rate"], 4) for k, v in prof.checks.items()}},
        "pii": {t: c["findings"] for t, c in prof.checks.get("pii", {}).get("by_type", {}).items()},
        "report": str(report),
    }
    if result is not None:
        versions.update(train=result.train_ref, test=result.test_ref)
        summary["model"] = {"kind": result.record.kind, "id": result.record.id, "ref": result.record.ref,
                            "aliases": result.record.aliases}
        summary["candidates"] = result.selection.get("candidates", [])
        summary["selection"] = {k: v for k, v in result.selection.items() if k != "candidates"}
        summary["test"] = result.headline()
        summary["model_report"] = str(result.report)
    summary["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    ws.close()
    if as_json:
        print_json(summary)
        return
    stdout.print(f"raw    [bold]{raw.ref}[/]  {raw.num_rows:,} rows, quality score {prof.score['value']}", highlight=False)
    stdout.print(f"clean  [bold]{clean.ref}[/]  {clean.num_rows:,} rows", highlight=False)
    if final is not clean:
        stdout.print(f"final  [bold]{final.ref}[/]  personal data: {pii}", highlight=False)
    if cleaned.dropped_by_reason:
        print_table("dropped rows (kept in `datamoat excluded`)", ["reason", "rows"],
                    [[k, f"{n:,}"] for k, n in sorted(cleaned.dropped_by_reason.items(), key=lambda kv: -kv[1])])
    stdout.print(f"quality report: {report}", highlight=False)
    if result is not None:
        from datamoat.cli.model_commands import fmt_ci, print_candidates

        print_candidates(result.selection)
        h = result.headline()
        stdout.print(f"model  [bold]{result.record.ref}[/] ({result.record.kind})  trained on {result.train_ref}",
                     highlight=False)
        stdout.print(f"test   {result.test_ref}: {h['rows']:,} rows  accuracy {fmt_ci(h['accuracy'], h['accuracy_ci'])}  "
                     f"macro F1 {fmt_ci(h['macro_f1'], h['macro_f1_ci'])}", highlight=False)
        stdout.print(f"model report: {result.report}", highlight=False)
    hint = (f"   datamoat explain {dataset} \"TEXT\"   datamoat keys create --role admin && datamoat serve"
            if result is not None and text_role else "")
    stdout.print(f"took {timings['total']:.1f} s.  next: datamoat models{hint}", highlight=False)


def _has_workspace(root: Path) -> bool:
    start = root.resolve()
    return any((p / CONFIG_FILE).is_file() for p in (start, *start.parents))

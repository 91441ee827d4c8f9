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
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The main job: ingest PATH, profile it (HTML report), clean it, redact personal data, and report.

    Creates a workspace in the current directory (or --workspace) if there is none. Every
    stage makes a version (see `datamoat versions NAME`); every dropped row is kept with its
    reason (`datamoat excluded NAME@VER`).
    """
    from datamoat.clean.default_recipe import default_clean_recipe
    from datamoat.quality.profile import profile_version
    from datamoat.quality.report import write_report
    from datamoat.workspace import Workspace

    timings: dict[str, float] = {}
    root = workspace_dir(ctx)
    ws = Workspace.open(root) if _has_workspace(root) else Workspace.init(root)
    dataset = name or Path(path.rstrip("/")).stem

    t = time.perf_counter()
    with row_progress("ingesting", enabled=not as_json) as progress:
        raw = ws.ingest(path, name=dataset, text=text, label=label, id=id_column,
                        roles=parse_roles(role or []) or None, progress=progress)
    timings["ingest"] = time.perf_counter() - t

    t = time.perf_counter()
    prof = profile_version(raw)
    report = write_report(prof, ws.state / "reports" / f"{raw.dataset}-{raw.ordinal}-profile.html")
    timings["profile"] = time.perf_counter() - t

    t = time.perf_counter()
    cleaned = ws.apply(raw.ref, default_clean_recipe(raw.roles), label="clean")
    clean = ws.version_by_id(cleaned.version.id)
    timings["clean"] = time.perf_counter() - t

    final = clean
    if pii != "keep" and raw.roles.get("text"):
        t = time.perf_counter()
        redacted = ws.apply(clean.ref, [{"step": "pii_redact", "mode": pii}], label="pii_redact")
        final = ws.version_by_id(redacted.version.id)
        timings["pii"] = time.perf_counter() - t

    summary = {
        "workspace": str(ws.root),
        "versions": {"raw": raw.ref, "clean": clean.ref, "final": final.ref},
        "rows": {"raw": raw.num_rows, "clean": clean.num_rows, "unparseable": raw.record.excluded_count},
        "dropped": cleaned.dropped_by_reason,
        "quality": {"score": prof.score["value"], "issue_rates": {k: round(v["rate"], 4) for k, v in prof.checks.items()}},
        "pii": {t: c["findings"] for t, c in prof.checks.get("pii", {}).get("by_type", {}).items()},
        "report": str(report),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
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
    stdout.print(f"report: {report}", highlight=False)
    stdout.print(f"next: datamoat show {final.ref}   datamoat diff {raw.ref} {clean.ref}", highlight=False)


def _has_workspace(root: Path) -> bool:
    start = root.resolve()
    return any((p / CONFIG_FILE).is_file() for p in (start, *start.parents))

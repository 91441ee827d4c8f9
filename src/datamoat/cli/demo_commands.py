"""CLI commands for the built-in example and the main job: demo-data, run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from datamoat.cli.context import workspace_dir
from datamoat.cli.output import print_json, print_table, row_progress, stdout
from datamoat.config import CONFIG_FILE
from datamoat.workspace import Workspace


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
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The main job: ingest PATH, then clean it with the project's recipe, and report.

    Creates a workspace in the current directory (or --workspace) if there is none.
    """
    timings: dict[str, float] = {}
    root = workspace_dir(ctx)
    t0 = time.perf_counter()
    ws = Workspace.open(root) if _has_workspace(root) else Workspace.init(root)
    dataset = name or Path(path.rstrip("/")).stem
    with row_progress("ingesting", enabled=not as_json) as progress:
        raw = ws.ingest(path, name=dataset, text=text, label=label, id=id_column, progress=progress)
    timings["ingest"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    result = ws.apply(raw.ref, None, label="clean")
    clean = ws.version_by_id(result.version.id)
    timings["clean"] = time.perf_counter() - t1
    summary = {
        "workspace": str(ws.root),
        "versions": {"raw": raw.ref, "clean": clean.ref},
        "rows": {"raw": raw.num_rows, "clean": clean.num_rows, "unparseable": raw.record.excluded_count},
        "dropped": result.dropped_by_reason,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    if as_json:
        print_json(summary)
        return
    stdout.print(f"raw    [bold]{raw.ref}[/]  {raw.num_rows:,} rows", highlight=False)
    stdout.print(f"clean  [bold]{clean.ref}[/]  {clean.num_rows:,} rows", highlight=False)
    if result.dropped_by_reason:
        print_table("dropped rows (kept in `datamoat excluded`)", ["reason", "rows"],
                    [[k, f"{n:,}"] for k, n in sorted(result.dropped_by_reason.items(), key=lambda kv: -kv[1])])
    stdout.print(f"next: datamoat show {clean.ref}   datamoat diff {raw.ref} {clean.ref}", highlight=False)


def _has_workspace(root: Path) -> bool:
    start = root.resolve()
    return any((p / CONFIG_FILE).is_file() for p in (start, *start.parents))

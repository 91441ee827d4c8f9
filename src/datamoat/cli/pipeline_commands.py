"""CLI commands for recipes: apply a recipe to a version, list the available steps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datamoat.cli.context import open_workspace
from datamoat.cli.executor_options import ExecutorOpt, RayAddressOpt, choose_executor
from datamoat.cli.output import print_json, print_table, stdout


def apply(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The input version (N[@VER]).")],
    recipe: Annotated[Path | None, typer.Option("--recipe", "-r", help="Recipe YAML (default: `recipe` in datamoat.yaml).")] = None,
    output: Annotated[str | None, typer.Option(help="Dataset name for the result (default: the same dataset).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes for row-local steps (default: one per CPU).")] = None,
    executor: ExecutorOpt = None,
    ray_address: RayAddressOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run a recipe (a YAML list of steps) over a version; dropped rows go to its exclusions."""
    ws = open_workspace(ctx)
    choose_executor(ws, executor, ray_address)
    result = ws.apply(ref, recipe, output=output, workers=workers)
    v = result.version
    summary = {
        "input": result.input_ref,
        "output": v.ref,
        "version": v.ordinal,
        "created": result.created,
        "rows_in": result.rows_in,
        "rows_out": result.rows_out,
        "dropped_by_reason": result.dropped_by_reason,
        "dropped_by_step": result.dropped_by_step,
    }
    if as_json:
        print_json(summary)
        return
    stdout.print(
        f"{summary['input']} -> [bold]{v.dataset}@{v.ordinal}[/] ({v.ref}): "
        f"{result.rows_in:,} rows in, {result.rows_out:,} out", highlight=False
    )
    if result.dropped_by_step:
        print_table("dropped (see `datamoat excluded`)", ["step", "rows"], [[k, f"{n:,}"] for k, n in result.dropped_by_step.items()])


def steps(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """List the steps a recipe can use, with their parameters and defaults."""
    from datamoat.pipeline.registry import STEPS
    from datamoat.pipeline.step import param_defaults, param_names

    STEPS.load_builtins()
    rows = []
    for name, cls in sorted(STEPS.items()):
        defaults = param_defaults(cls)
        params = {p: defaults.get(p) for p in param_names(cls)}
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        rows.append({"step": name, "kind": cls.kind, "params": params, "about": doc})
    if as_json:
        print_json(rows)
        return
    print_table("steps", ["step", "kind", "params (defaults)", "about"],
                [[r["step"], r["kind"], ", ".join(f"{k}={v!r}" for k, v in r["params"].items()), r["about"]] for r in rows])

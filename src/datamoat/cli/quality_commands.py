"""CLI commands for data quality: profile (with an HTML report) and clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from datamoat.cli.context import open_workspace
from datamoat.cli.executor_options import ExecutorOpt, RayAddressOpt, choose_executor
from datamoat.cli.output import print_json, print_table, stdout
from datamoat.errors import DatamoatError

if TYPE_CHECKING:
    from datamoat.data.roles import ColumnRoles

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]


def profile(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version to profile (N[@VER]).")],
    report: Annotated[Path | None, typer.Option(help="Where to write the HTML report (default: .datamoat/reports/).")] = None,
    truth: Annotated[Path | None, typer.Option(help="A truth.json from `datamoat demo-data`: score the checks against it.")] = None,
    checks: Annotated[str | None, typer.Option(help="Comma-separated checks to run (default: all that apply).")] = None,
    param: Annotated[list[str] | None, typer.Option(help="A check parameter as CHECK.KEY=VALUE, repeatable.")] = None,
    pii_mode: Annotated[str | None, typer.Option("--pii-mode", help="How the pii check finds personal data: accurate (recognizers + the learned tagger) or fast (recognizers only). Default: pii.mode in datamoat.yaml, else accurate.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Column statistics, every applicable quality check and one quality score, as HTML and JSON."""
    from datamoat.quality.profile import profile_version
    from datamoat.quality.report import write_report

    ws = open_workspace(ctx)
    v = ws.version(ref)
    truth_data = None
    if truth is not None:
        try:
            truth_data = json.loads(truth.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DatamoatError(f"{truth}: cannot read the truth file ({exc}).") from exc
    prof = profile_version(
        v,
        checks=[c.strip() for c in checks.split(",") if c.strip()] if checks else None,
        check_params=_with_pii_mode(_check_params(param or []), pii_mode or ws.config.pii_mode),
    )
    if truth_data is not None:
        from datamoat.demo.truth_score import score_against_truth

        prof.truth = score_against_truth(prof.results, truth_data)
    out = report or ws.state / "reports" / f"{v.dataset}-{v.ordinal}-profile.html"
    path = write_report(prof, out)
    if as_json:
        print_json({**prof.to_dict(), "report": str(path)})
        return
    stdout.print(f"[bold]{v.ref}[/]: {prof.rows:,} rows, quality score [bold]{prof.score['value']}[/]", highlight=False)
    print_table("checks", ["check", "rows flagged", "rate"],
                [[n, f"{s['issues']:,}", f"{100 * s['rate']:.2f}%"] for n, s in prof.checks.items()])
    if prof.skipped:
        stdout.print("not run: " + "; ".join(f"{n} ({why})" for n, why in prof.skipped.items()), highlight=False)
    if prof.truth:
        print_table("against the truth file", ["problem", "precision", "recall"],
                    [[k, _fmt(s.get("precision")), _fmt(s.get("recall"))] for k, s in prof.truth.items() if isinstance(s, dict)])
    stdout.print(f"report: {path}", highlight=False)


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def _with_pii_mode(params: dict[str, dict[str, Any]], mode: str | None) -> dict[str, dict[str, Any]]:
    """``params`` with the pii check's ``pii_mode`` set to ``mode`` (unless None or given by --param)."""
    if mode is not None:
        params.setdefault("pii", {}).setdefault("pii_mode", mode)
    return params


def _check_params(pairs: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        check, dot, name = key.partition(".")
        if not sep or not dot:
            raise DatamoatError(f"--param takes CHECK.KEY=VALUE, got {pair!r}.")
        try:
            parsed: Any = json.loads(value)
        except ValueError:
            parsed = value
        out.setdefault(check, {})[name] = parsed
    return out


def clean(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version to clean (N[@VER]).")],
    recipe: Annotated[Path | None, typer.Option("--recipe", "-r", help="Recipe YAML (default: the built-in cleaning recipe).")] = None,
    output: Annotated[str | None, typer.Option(help="Dataset name for the result (default: the same dataset).")] = None,
    executor: ExecutorOpt = None,
    ray_address: RayAddressOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Clean a version with a recipe (default: the built-in one); every dropped row is kept with its reason."""
    from datamoat.clean.default_recipe import default_clean_recipe

    ws = open_workspace(ctx)
    choose_executor(ws, executor, ray_address)
    source = ws.version(ref)
    chosen: Any = recipe if recipe is not None else default_clean_recipe(source.roles)
    result = ws.apply(source.ref, chosen, output=output, label="clean")
    v = result.version
    summary = {"input": result.input_ref, "output": v.ref, "version": v.ordinal, "created": result.created,
               "rows_in": result.rows_in, "rows_out": result.rows_out, "dropped": result.dropped_by_reason,
               "dropped_by_step": result.dropped_by_step}
    if as_json:
        print_json(summary)
        return
    stdout.print(f"{summary['input']} -> [bold]{v.dataset}@{v.ordinal}[/] ({v.ref}): "
                 f"{result.rows_in:,} rows in, {result.rows_out:,} out", highlight=False)
    if result.dropped_by_reason:
        print_table("dropped (see `datamoat excluded`)", ["reason", "rows"],
                    [[k, f"{n:,}"] for k, n in sorted(result.dropped_by_reason.items(), key=lambda kv: -kv[1])])
    if recipe is None and (note := skipped_steps_note(source.roles)):
        stdout.print(note, highlight=False)


def skipped_steps_note(roles: ColumnRoles) -> str:
    """One sentence naming the default recipe's steps left out for a missing role ("" if none;
    the rules are :func:`datamoat.clean.default_recipe.steps_left_out`)."""
    from datamoat.clean.default_recipe import DEFAULT_TABLE_RECIPE, steps_left_out

    left_out = steps_left_out(roles)
    if not left_out:
        return ""
    missing = [r for r in ("text", "label") if any(r in lacking for lacking in left_out.values())]
    note = (f"no column has the {' or '.join(map(repr, missing))} role, so {', '.join(left_out)} "
            f"{'was' if len(left_out) == 1 else 'were'} skipped")
    if "text" in missing:
        table_steps = [e["step"] for e in DEFAULT_TABLE_RECIPE if e["step"] not in left_out]
        note += f" and the data was cleaned as a table ({', '.join(table_steps)})"
    advice = []
    if "label" in missing:
        advice.append("ingest again with --label COLUMN for the steps that need a label")
    if "text" in missing:
        advice.append("if a column holds free text, ingest again with --text COLUMN for the text steps")
    return note + "; " + "; ".join(advice) + "."

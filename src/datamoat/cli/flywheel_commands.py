"""CLI commands for the flywheel: retrain (feedback -> challenger -> promote or keep) and promotions."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from datamoat.cli.context import open_workspace
from datamoat.cli.model_commands import BUDGET_HELP, DP_DELTA_HELP, DP_EPSILON_HELP, fmt_ci
from datamoat.cli.output import print_json, print_table, stdout

RETRAIN_MODEL_HELP = ("same (the champion's kind), auto (choose by cross-validation within the budget) or a kind: "
                      "tfidf-linear, embed-linear, finetune, ensemble.")


def _side(figures: dict[str, Any], key: str) -> str:
    side = figures.get(key) or {}
    return f"{side.get('ref', '-')}: accuracy {fmt_ci(side.get('accuracy'), side.get('accuracy_ci'))}"


def retrain(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="MODEL", help="Model name whose champion is retrained with its feedback.")],
    model: Annotated[str, typer.Option(help=RETRAIN_MODEL_HELP)] = "same",
    budget: Annotated[str, typer.Option(help=BUDGET_HELP)] = "10m",
    alpha: Annotated[float, typer.Option(help="Significance level: promote only when the challenger wins at it.")] = 0.05,
    dp_epsilon: Annotated[float | None, typer.Option("--dp-epsilon", help=DP_EPSILON_HELP)] = None,
    dp_delta: Annotated[float | None, typer.Option("--dp-delta", help=DP_DELTA_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Retrain on the ready feedback; promote the challenger only if significantly better on the frozen test set
    (a language model: its accepted generations become training documents; promoted only with a lower
    validation loss)."""
    from datamoat.flywheel.retrain import retrain as run_retrain

    say = None if as_json else (lambda msg: stdout.print(f"  {msg}", highlight=False, markup=False))
    with open_workspace(ctx) as ws:
        decision = run_retrain(ws, name, model=model, budget=budget, alpha=alpha, progress=say,
                               dp_epsilon=dp_epsilon, dp_delta=dp_delta)
    if as_json:
        print_json(decision.to_dict())
        return
    f = decision.figures
    verdict = "[bold green]promoted[/]" if decision.promoted else "[bold]kept the champion[/]"
    stdout.print(f"decision #{decision.id}: {verdict}", highlight=False)
    if f.get("task") == "lm":
        for role in ("champion", "challenger"):
            side = f.get(role) or {}
            stdout.print(f"{role:<10} {side.get('ref', '-')}: validation bits per character "
                         f"{side.get('bits_per_char', float('nan')):.4f}", highlight=False, markup=False)
        stdout.print(f"{decision.reason} {decision.feedback_rows:,} feedback documents", highlight=False, markup=False)
        stdout.print(f"report: {decision.report}", highlight=False, markup=False)
        return
    stdout.print(f"champion   {_side(f, 'champion')}", highlight=False)
    stdout.print(f"challenger {_side(f, 'challenger')}", highlight=False)
    ci = f.get("bootstrap_ci") or [float("nan"), float("nan")]
    stdout.print(f"difference {f.get('accuracy_difference', 0):+.4f} (bootstrap interval [{ci[0]:+.4f}, {ci[1]:+.4f}]), "
                 f"McNemar p={f.get('mcnemar_p', float('nan')):.4g}; {decision.feedback_rows:,} feedback rows, "
                 f"{(f.get('rows') or {}).get('train', 0):,} training rows", highlight=False)
    stdout.print(f"report: {decision.report}", highlight=False, markup=False)


def promotions(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="MODEL", help="Model name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List the retrain decisions of a model, newest first: promoted or kept, with their figures."""
    from datamoat.flywheel.decisions import list_decisions

    with open_workspace(ctx) as ws:
        decisions = list_decisions(ws.catalog, name)
    if as_json:
        print_json({"model": name, "decisions": [d.to_dict() for d in decisions]})
        return
    rows = []
    for d in decisions:
        f = d.figures
        champ, chall = f.get("champion") or {}, f.get("challenger") or {}
        rows.append([d.id, d.at.strftime("%Y-%m-%d %H:%M:%S"), "promoted" if d.promoted else "kept",
                     d.champion_ref or "-", fmt_ci(champ.get("accuracy"), None),
                     d.challenger_ref or "-", fmt_ci(chall.get("accuracy"), None),
                     f"{f['mcnemar_p']:.3g}" if f.get("mcnemar_p") is not None else "-", d.feedback_rows])
    print_table(f"retrain decisions of {name} (newest first)",
                ["#", "at (UTC)", "decision", "champion", "accuracy", "challenger", "accuracy", "McNemar p",
                 "feedback"], rows)

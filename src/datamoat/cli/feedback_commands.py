"""CLI commands for feedback: status, agreement, the annotation queue, and filling it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from datamoat.cli.context import open_workspace
from datamoat.cli.output import print_json, print_table, stdout

if TYPE_CHECKING:
    from datamoat.feedback.records import FeedbackStore
    from datamoat.workspace import Workspace

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]
ModelArg = Annotated[str, typer.Argument(help="Model name (the feedback of all its versions).")]
AnnotatorsOpt = Annotated[int, typer.Option("--annotators", min=1,
                                            help="Submitted labels an item needs before it resolves.")]

feedback_app = typer.Typer(help="Feedback and annotation: record counts, the queue, annotator agreement.",
                           no_args_is_help=True)


def _store(ws: Workspace, model: str, annotators: int = 1, strategy: str = "least_confidence") -> FeedbackStore:
    from datamoat.feedback.records import FeedbackStore

    store = FeedbackStore(ws.catalog, annotators_per_item=annotators, strategy=strategy)
    store.require_model(model)
    return store


def _fmt_kappa(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


@feedback_app.command("status")
def status(ctx: typer.Context, model: ModelArg, as_json: JsonOpt = False) -> None:
    """Feedback records per status (pending, review, ready, consumed, discarded) and overall agreement."""
    with open_workspace(ctx) as ws:
        store = _store(ws, model)
        counts = store.counts(model)
        report = store.agreement(model)
    summary = {"model": model, "counts": counts,
               "agreement": {k: report[k] for k in ("overall_fleiss_kappa", "raters_per_item", "items",
                                                    "observed_agreement", "reason")}}
    if as_json:
        print_json(summary)
        return
    print_table(f"feedback of {model}", ["status", "records"], [[k, f"{v:,}"] for k, v in counts.items()])
    stdout.print(f"agreement: Fleiss' kappa {_fmt_kappa(report['overall_fleiss_kappa'])} over {report['items']} "
                 f"items with two or more labels" + (f" ({report['reason']})" if report["reason"] else ""),
                 highlight=False, markup=False)


@feedback_app.command("agreement")
def agreement(ctx: typer.Context, model: ModelArg, as_json: JsonOpt = False) -> None:
    """Inter-annotator agreement: Cohen's kappa per pair and per annotator, Fleiss' kappa overall."""
    with open_workspace(ctx) as ws:
        report = _store(ws, model).agreement(model)
    if as_json:
        print_json({"model": model, **report})
        return
    stdout.print(f"Fleiss' kappa {_fmt_kappa(report['overall_fleiss_kappa'])} over {report['items']} items, "
                 f"{report['raters_per_item'] or '-'} labels each" + (f" ({report['reason']})" if report["reason"] else ""),
                 highlight=False, markup=False)
    print_table("per annotator (mean pairwise Cohen's kappa, weighted by shared items)", ["annotator", "kappa", "items"],
                [[a["user"], _fmt_kappa(a["kappa"]), a["items"]] for a in report["per_annotator"]])
    print_table("pairs (Cohen's kappa)", ["a", "b", "kappa", "items", "raw agreement", "note"],
                [[p["a"], p["b"], _fmt_kappa(p["kappa"]), p["items"], f"{p['agreement']:.2f}", p["reason"] or ""]
                 for p in report["pairs"]])


@feedback_app.command("queue")
def queue(
    ctx: typer.Context,
    model: ModelArg,
    user: Annotated[str, typer.Option("--user", help="Whose queue: items this user has not answered.")],
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many items.")] = 20,
    annotators: AnnotatorsOpt = 1,
    as_json: JsonOpt = False,
) -> None:
    """The next items for a user to annotate: review items first, then the most uncertain."""
    with open_workspace(ctx) as ws:
        items = _store(ws, model, annotators).queue(model, user, limit=limit)
    if as_json:
        print_json({"model": model, "user": user, "items": items})
        return
    if not items:
        stdout.print(f"nothing to annotate for {user} on {model}; `datamoat feedback enqueue {model}` pulls in "
                     "uncertain predictions", highlight=False, markup=False)
        return
    print_table(f"queue of {user} ({model})", ["record", "status", "uncertainty", "suggestion", "answers", "text"],
                [[i["record_id"], i["status"], f"{i['uncertainty']:.3f}", _suggested(i), i["responses_so_far"],
                  _clip(i["text"])] for i in items])


@feedback_app.command("enqueue")
def enqueue(
    ctx: typer.Context,
    model: ModelArg,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most predictions to queue.")] = 100,
    strategy: Annotated[str, typer.Option(help="least_confidence (1 - top score) or margin (1 - (top1 - top2)).")]
    = "least_confidence",
    as_json: JsonOpt = False,
) -> None:
    """Queue the most uncertain logged predictions that have no feedback yet for annotation."""
    with open_workspace(ctx) as ws:
        store = _store(ws, model, strategy=strategy)
        added = store.enqueue_uncertain(model, limit=limit)
        pending = store.counts(model)["pending"]
    if as_json:
        print_json({"model": model, "queued": added, "pending": pending, "strategy": strategy})
        return
    stdout.print(f"queued {added:,} uncertain predictions of {model} ({strategy}); {pending:,} items pending",
                 highlight=False, markup=False)


def _suggested(item: dict[str, Any]) -> str:
    if item["suggestion_label"] is None:
        return "-"
    return f"{item['suggestion_label']} ({item['suggestion_score']:.2f})"


def _clip(text: str, width: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"

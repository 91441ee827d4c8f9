"""CLI commands for models: train, models, evaluate, compare, explain, compress, export-model, alias."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from datamoat.cli.context import open_workspace
from datamoat.cli.executor_options import ExecutorOpt, RayAddressOpt, choose_executor
from datamoat.cli.lm_output import CHECKPOINT_HELP, lm_params
from datamoat.cli.output import plain, print_json, print_table, stage, stdout

BUDGET_HELP = "Time budget for model selection, e.g. 10m, 90s, 1h."
MODEL_HELP = ("auto (choose by cross-validation within the budget) or a kind: tfidf-linear, embed-linear, "
              "finetune, ensemble, tabular, tabular-linear.")


DP_EPSILON_HELP = ("Train with differential privacy (DP-SGD) at this epsilon per training row, spent from the dataset's "
                   "privacy budget (`datamoat dp budget`); auto then trains embed-linear (text) or tabular-linear "
                   "without a search; also finetune. No default: not private unless given.")
DP_DELTA_HELP = "Delta of the DP training (default: 1 / (10 x training rows))."
WORKERS_HELP = ("With --model finetune: data-parallel worker processes (gradients averaged; each step's 32 rows shared "
                "between them). Local executor: N processes on this machine, each with cores/N threads; ray executor: N "
                "Ray Train workers on the cluster.")


def print_privacy(evaluation: dict[str, Any]) -> None:
    """The DP guarantee and spend (when private) and the membership-inference AUC, one line each."""
    dp = evaluation.get("privacy")
    if dp:
        left = "; ".join(f"{s['dataset']}: epsilon {s['epsilon_remaining']:.4g} left" for s in dp.get("spends", []))
        stdout.print(f"privacy: ({dp['epsilon']:g}, {dp['delta']:.3g})-DP per training row ({dp['accountant']} accountant), "
                     f"noise multiplier {dp['noise_multiplier']:.4g}, clipping norm {dp['max_grad_norm']:g}, sampling rate "
                     f"{dp['sample_rate']:.4g}, {dp['epochs']} epochs" + (f"; {left}" if left else ""),
                     highlight=False, markup=False)
    mia = evaluation.get("membership_inference")
    if mia:
        ci = mia.get("auc_ci")
        interval = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
        stdout.print(f"membership inference: loss-threshold AUC {mia['auc']:.3f}{interval} (0.5 = chance; class-matched "
                     "training rows vs test rows)", highlight=False, markup=False)


def _say(enabled: bool) -> Any:
    return (lambda msg: stdout.print(f"  {msg}", highlight=False, markup=False)) if enabled else None


def fmt_ci(value: float | None, ci: list[float] | None) -> str:
    """``0.9412 [0.9327, 0.9495]``."""
    if value is None:
        return "-"
    return f"{value:.4f}" + (f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "")


def print_candidates(selection: dict[str, Any]) -> None:
    """A table of the selection's candidates (score, time, status and reason)."""
    rows = []
    for c in selection.get("candidates", []):
        score = ("-" if "cv_mean" not in c else f"{c['cv_mean']:.4f} (one fold)" if len(c["cv_scores"]) == 1
                 else f"{c['cv_mean']:.4f} ± {c['cv_std']:.4f}")
        mark = " *" if c["name"] == selection.get("chosen") else ""
        rows.append([c["name"] + mark, score, f"{c['seconds']:.1f}", c["status"], c.get("reason", "")])
    if rows:
        print_table(f"candidates ({selection.get('metric')}, {selection.get('folds')}-fold CV; * chosen)",
                    ["candidate", "score", "seconds", "status", "note"], rows)


def print_augmentation(selection: dict[str, Any]) -> None:
    """One sentence on the augmentation gate's decision, when it ran, and its rows per class."""
    aug = selection.get("augmentation")
    if not aug:
        return
    verdict = "kept" if aug.get("kept") else "not kept"
    stdout.print(f"augmentation: {verdict}; {aug.get('reason', '')}", highlight=False, markup=False)
    per_class = aug.get("added_per_class") or {}
    if len(per_class) > 20:
        stdout.print(f"  {sum(map(sum, per_class.values())):,} synthetic rows over the folds in {len(per_class)} classes "
                     "(per class: --json or the model report)", highlight=False, markup=False)
    elif per_class:
        print_table("synthetic rows added per class (in each fold's training rows)", ["class", "rows per fold"],
                    [[c, ", ".join(map(str, n))] for c, n in per_class.items()])


def train(
    ctx: typer.Context,
    data: Annotated[str, typer.Argument(help="Dataset version to train on (NAME, NAME@latest, NAME@3).")],
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "auto",
    budget: Annotated[str, typer.Option(help=BUDGET_HELP)] = "10m",
    test: Annotated[str | None, typer.Option(help="Dataset version to test on (default: a held-out, leakage-free split).")] = None,
    name: Annotated[str | None, typer.Option(help="Model name (default: the dataset's name).")] = None,
    metric: Annotated[str, typer.Option(help="Selection metric: auto (macro_f1 on imbalanced labels, else accuracy), accuracy, macro_f1, balanced_accuracy, roc_auc or average_precision (binary: the rarer class is positive).")] = "auto",
    task: Annotated[str, typer.Option(help="auto, text, tabular or lm (a language model of the text: the version is cleaned with the language-model recipe, PII redacted, split by document or contiguous text, and 4 memorisation canaries checked; --budget covers all of it: corpus, training, evaluation, canary check and report).")] = "auto",
    slice_: Annotated[list[str] | None, typer.Option("--slice", help="Report metrics per value of this column (repeatable).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the split and the folds.")] = 0,
    augment: Annotated[str, typer.Option(help="auto: try synthetic training rows (text: 4 synonym replacements per row by the bundled encoder's word-embedding neighbours, or word swaps, deletions and in-class insertions without the ml extra; tables: SMOTE) as a candidate, kept only if it passes the flywheel's significance test on the folds; off: never.")] = "off",
    dp_epsilon: Annotated[float | None, typer.Option("--dp-epsilon", help=DP_EPSILON_HELP)] = None,
    dp_delta: Annotated[float | None, typer.Option("--dp-delta", help=DP_DELTA_HELP)] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help=WORKERS_HELP)] = 1,
    encoder: Annotated[str | None, typer.Option("--encoder", help="With --model finetune: the encoder to fine-tune, bundled (all-MiniLM-L6-v2) or a local Hugging Face checkpoint folder.")] = None,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help=CHECKPOINT_HELP)] = None,
    executor: ExecutorOpt = None,
    ray_address: RayAddressOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Train, evaluate and register a model on a dataset version (with the ray executor: embeddings on a
    pool of Ray actors, finetune's --workers on Ray Train)."""
    params = lm_params(task, model, checkpoint)
    if task == "lm":
        from datamoat.cli.lm_output import print_lm_run
        from datamoat.flywheel.lm_run import run_lm

        with open_workspace(ctx) as ws:
            lm = run_lm(ws, data=data, name=name, model=model, params=params, budget=budget, seed=seed,
                        progress=_say(not as_json))
        if as_json:
            print_json(lm.to_dict())
        else:
            print_lm_run(lm)
        return
    from datamoat.models.training import train_model

    with open_workspace(ctx) as ws:
        choose_executor(ws, executor, ray_address)
        result = train_model(ws, data, model=model, budget=budget, test=test, name=name, metric=metric,
                             task=task, slice_columns=slice_ or (), seed=seed, progress=_say(not as_json),
                             augment=augment, dp_epsilon=dp_epsilon, dp_delta=dp_delta, workers=workers,
                             encoder=encoder)
        summary = {
            "model": {"ref": result.record.ref, "id": result.record.id, "kind": result.record.kind,
                      "aliases": result.record.aliases},
            "versions": {"train": result.train_ref, "test": result.test_ref},
            "selection": result.selection,
            "test": result.headline(),
            "report": str(result.report),
            "timings_s": {k: round(v, 3) for k, v in result.timings_s.items()},
            "membership_inference": result.evaluation.get("membership_inference"),
            **({"privacy": result.evaluation["privacy"]} if result.evaluation.get("privacy") else {}),
        }
    if as_json:
        print_json(summary)
        return
    print_candidates(result.selection)
    print_augmentation(result.selection)
    h = result.headline()
    stdout.print(f"model  [bold]{escape(result.record.ref)}[/] ({result.record.kind}, {escape(', '.join(result.record.aliases))})",
                 highlight=False)
    stdout.print(f"test   {result.test_ref}: {h['rows']:,} rows  accuracy {fmt_ci(h['accuracy'], h['accuracy_ci'])}  "
                 f"macro F1 {fmt_ci(h['macro_f1'], h['macro_f1_ci'])}", highlight=False)
    print_privacy(result.evaluation)
    stdout.print(f"report: {result.report}", highlight=False, markup=False)


def models(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this model name.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List registered model versions with their aliases, data lineage and test figures."""
    from datamoat.models.training import models_registry

    with open_workspace(ctx) as ws:
        records = models_registry(ws).list(name)
        rows = [r.to_dict() for r in records]
    if as_json:
        print_json({"models": rows})
        return
    print_table("models", ["model", "kind", "aliases", "trained on", "tested on", "accuracy", "macro F1"], [
        [r["ref"], r["kind"] + (f" (compressed: {c})" if (c := (r["info"].get("compression") or {}).get("method")) else ""),
         ", ".join(r["aliases"]), r["info"].get("train_ref", r["train_version_id"]),
         r["info"].get("test_ref", r["test_version_id"] or "-"),
         fmt_ci(r["metrics"].get("accuracy"), r["metrics"].get("accuracy_ci")),
         fmt_ci(r["metrics"].get("macro_f1"), None)]
        for r in rows
    ])


def evaluate(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model version (NAME, NAME@3, NAME@champion).")],
    data: Annotated[str, typer.Option(help="Dataset version to evaluate on.")],
    slice_: Annotated[list[str] | None, typer.Option("--slice", help="Report metrics per value of this column (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Evaluate a registered model on a dataset version: figures with CIs, HTML + JSON report (language
    models: loss, perplexity and bits per character of every document)."""
    from datamoat.models.evaluation.evaluate import evaluate_model
    from datamoat.models.evaluation.report import write_evaluation_report
    from datamoat.models.training import check_labels_present, models_registry, user_frame

    say = not as_json
    with open_workspace(ctx) as ws:
        registry = models_registry(ws)
        record = registry.resolve(model)
        if record.info.get("task") == "lm":
            from datamoat.cli.lm_commands import evaluate_lm

            return evaluate_lm(ws, record, data, as_json)
        with stage(f"loading model {record.ref} ({record.kind})", say):
            trainer = registry.load(model)
        version = ws.version(data)
        with stage(f"reading {version.ref} ({version.num_rows:,} rows)", say):
            df = check_labels_present(user_frame(version), trainer, version.ref)
        with stage(f"predicting {len(df):,} rows and bootstrapping 95% intervals", say):
            evaluation = evaluate_model(trainer, df, slice_columns=slice_ or [])
        report = write_evaluation_report(
            evaluation, ws.state / "reports" / f"eval-{record.name}-{record.ordinal}-{version.dataset}-{version.ordinal}.html",
            title=f"Model {record.ref} ({record.kind}) on {version.ref}", model=record.summary())
    if as_json:
        print_json({"model": record.ref, "data": version.ref, "evaluation": _no_arrays(evaluation), "report": str(report)})
        return
    stdout.print(f"{record.ref} on {version.ref}: {evaluation['rows']:,} rows  accuracy "
                 f"{fmt_ci(evaluation['accuracy'], evaluation.get('accuracy_ci'))}  macro F1 "
                 f"{fmt_ci(evaluation['macro_f1'], evaluation.get('macro_f1_ci'))}  ECE {evaluation.get('ece', 0):.4f}",
                 highlight=False)
    stdout.print(f"report: {report}", highlight=False, markup=False)


def compare(
    ctx: typer.Context,
    model_a: Annotated[str, typer.Argument(help="First model version.")],
    model_b: Annotated[str, typer.Argument(help="Second model version.")],
    data: Annotated[str, typer.Option(help="Dataset version both are tested on (the frozen test set).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Compare two models on the same test set, with McNemar's test and a paired bootstrap."""
    from datamoat.models.evaluation.compare import compare_models, write_comparison_report
    from datamoat.models.training import models_registry, user_frame

    with open_workspace(ctx) as ws:
        registry = models_registry(ws)
        ra, rb = registry.resolve(model_a), registry.resolve(model_b)
        with stage(f"loading models {ra.ref} and {rb.ref}", not as_json):
            a, b = registry.load(model_a), registry.load(model_b)
        version = ws.version(data)
        with stage(f"predicting {version.num_rows:,} rows of {version.ref} with both and testing the difference", not as_json):
            result = compare_models(a, b, user_frame(version))
        report = write_comparison_report(
            result, ws.state / "reports" / f"compare-{ra.name}-{ra.ordinal}-vs-{rb.name}-{rb.ordinal}.html",
            names=(ra.ref, rb.ref))
    if as_json:
        print_json({"models": {"a": ra.ref, "b": rb.ref}, "data": version.ref, **_no_arrays(result),
                    "report": str(report)})
        return
    winner = {"a": ra.ref, "b": rb.ref}.get(result.get("winner") or "", None)
    stdout.print(f"{ra.ref}: accuracy {fmt_ci(result['a']['accuracy'], result['a'].get('accuracy_ci'))}", highlight=False)
    stdout.print(f"{rb.ref}: accuracy {fmt_ci(result['b']['accuracy'], result['b'].get('accuracy_ci'))}", highlight=False)
    verdict = f"{winner} is better (significant)" if winner else "no significant difference"
    stdout.print(f"McNemar p={result['mcnemar']['p_value']:.4g}; {verdict}", highlight=False)
    stdout.print(f"report: {report}", highlight=False, markup=False)


def explain(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model version.")],
    text: Annotated[str | None, typer.Argument(help="The text to explain (text models).")] = None,
    row: Annotated[str | None, typer.Option(help='Table models: the row as JSON, e.g. \'{"age": 40, "job": "admin"}\'.')] = None,
    data: Annotated[str | None, typer.Option(help="Table models: dataset version holding the row to explain (with --row-id).")] = None,
    row_id: Annotated[str | None, typer.Option(help="Table models: the row's id in --data (its _dm_row_id or id column).")] = None,
    top: Annotated[int, typer.Option(help="Tokens (text) or features (tables) to show.")] = 10,
    label: Annotated[str | None, typer.Option(help="Explain this label instead of the predicted one.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show what pushed a prediction: words of a text (linear weights, or occlusion for encoders), or the
    features of a table row (each set to its typical training value in turn)."""
    from datamoat.errors import DatamoatError
    from datamoat.models.training import models_registry

    with open_workspace(ctx) as ws:
        registry = models_registry(ws)
        record = registry.resolve(model)
        trainer = registry.load(record.ref)
        if record.info.get("task") == "tabular":
            from datamoat.models.evaluation.explain_tabular import (
                explain_row,
                format_row_explanation,
                row_by_id,
            )

            if (row is None) == (data is None or row_id is None) or text is not None:
                raise DatamoatError(f"{record.ref} is a table model: give the row with --row JSON, or --data REF --row-id ID.")
            values = _json_row(row) if row is not None else row_by_id(ws.version(str(data)), str(row_id))
            result = explain_row(trainer, values, top_k=top, label=label)
            formatted = format_row_explanation(result)
        else:
            from datamoat.models.evaluation.explain import explain as explain_text
            from datamoat.models.evaluation.explain import format_explanation

            if text is None or row is not None or data is not None or row_id is not None:
                raise DatamoatError(f"{record.ref} is a text model: give the text to explain as the second argument.")
            result = explain_text(trainer, text, top_k=top, label=label)
            formatted = format_explanation(result)
    if as_json:
        print_json(result)
        return
    stdout.print(formatted, highlight=False, markup=False)


def _json_row(text: str) -> dict[str, Any]:
    """``--row``'s JSON object; DatamoatError when it is not valid JSON or not an object."""
    import json

    from datamoat.errors import DatamoatError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatamoatError(f"--row is not valid JSON ({exc.msg} at character {exc.pos}).") from exc
    if not isinstance(value, dict):
        raise DatamoatError('--row must be a JSON object of column values, e.g. \'{"age": 40}\'.')
    return value


def compress(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model version with a transformer encoder (embed-linear, finetune, ensemble) or a language model (causal-lm, causal-lm-finetune).")],
    data: Annotated[str | None, typer.Option(help="Dataset version to measure the accuracy change on (default: the model's test version; language models: always their own validation text).")] = None,
    method: Annotated[str, typer.Option(help="onnx-int8 or onnx-fp32; language models: torch-int8-dynamic (the default for them).")] = "onnx-int8",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Quantise a model's encoder (int8 ONNX), measure size/latency/accuracy, register the result.
    A language model gets int8 linear layers (PyTorch dynamic quantisation), with its validation
    bits per character and generated tokens/s before and after."""
    from datamoat.models.training import (
        check_labels_present,
        models_registry,
        register_compressed,
        user_frame,
    )

    with open_workspace(ctx) as ws:
        registry = models_registry(ws)
        record = registry.resolve(model)
        if record.info.get("task") == "lm":
            from datamoat.cli.lm_commands import compress_lm

            return compress_lm(ws, record, data, method, as_json)
        with stage(f"loading model {record.ref} ({record.kind})", not as_json):
            trainer = registry.load(model)
        test_ref = data or (ws.version_by_id(record.test_version_id).ref if record.test_version_id else None)
        if test_ref is None:
            from datamoat.errors import DatamoatError

            raise DatamoatError(f"model {record.ref} has no test version; give --data NAME@VER.")
        test_v = ws.version(test_ref)
        test_df = check_labels_present(user_frame(test_v), trainer, test_v.ref)
        with stage(f"compressing the encoder ({method}), then timing and evaluating both models on {len(test_df):,} "
                   f"rows of {test_v.ref}: this takes minutes", not as_json):
            new, _, report = register_compressed(registry, record, trainer, test_df, test_version_id=test_v.record.id,
                                                 work_root=ws.state / "tmp", method=method)
    out = {"model": new.ref, "from": record.ref, "method": method, "data": test_v.ref, **report}
    if as_json:
        print_json(out)
        return
    print_compression(record.ref, new.ref, method, test_v.ref, report)


COMPRESSION_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("size (MB)", "size_mb", "{:,.1f}"), ("latency p50 (ms, one text)", "p50_ms", "{:,.2f}"),
    ("latency p95 (ms, one text)", "p95_ms", "{:,.2f}"), ("batch throughput (texts/s)", "batch_texts_per_s", "{:,.0f}"),
    ("accuracy", "accuracy", "{:.4f}"),
)
"""(row label, key in the report's ``original`` / ``compressed`` dicts, format) of `compress`'s table."""


def print_compression(old: str, new: str, method: str, data: str, report: dict[str, Any]) -> None:
    """A compression report (:func:`~datamoat.models.export.compress.compression_report`) as a table,
    the original next to the compressed model, and one sentence with the ratios."""
    sides = report.get("original") or {}, report.get("compressed") or {}
    print_table(f"{old} -> {new} ({method}) on {data}", ["", old, new],
                [[name, *[fmt.format(side[key]) if key in side else "-" for side in sides]]
                 for name, key, fmt in COMPRESSION_FIGURES])
    if report:
        stdout.print(f"{report.get('size_ratio', 0):.1f}x smaller, {report.get('speedup_p50', 0):.1f}x faster (p50); "
                     f"accuracy {report.get('accuracy_change_points', 0):+.2f} points; the two agree on "
                     f"{100 * report.get('agreement', 0):.1f}% of {plain(report.get('rows_test'))} test rows",
                     highlight=False, markup=False)


def export_model(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model version.")],
    out: Annotated[Path, typer.Argument(help="Folder to write (Hugging Face layout + README.md model card).")],
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty folder.")] = False,
) -> None:
    """Export a model in Hugging Face format (save_pretrained) with a model card."""
    from datamoat.models.export.hf_export import export_hugging_face
    from datamoat.models.training import card_info, models_registry

    with open_workspace(ctx) as ws:
        registry = models_registry(ws)
        record = registry.resolve(model)
        with stage(f"loading model {record.ref}", True):
            trainer = registry.load(model)
        path = export_hugging_face(trainer, out, card_info=card_info(ws, record), overwrite=overwrite)
    stdout.print(f"exported {record.ref} to {path}", highlight=False, markup=False)


def alias(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model version (NAME@3).")],
    name: Annotated[str, typer.Argument(help="Alias to point at it, e.g. champion.")],
) -> None:
    """Point an alias (champion, challenger ...) at a model version."""
    from datamoat.models.training import models_registry

    with open_workspace(ctx) as ws:
        registry = models_registry(ws)
        record = registry.resolve(model)
        registry.set_alias(record.name, name, record.id)
    stdout.print(f"{record.name}@{name} -> {record.ref}", highlight=False)


def _no_arrays(d: dict[str, Any]) -> dict[str, Any]:
    """Drop numpy arrays (out-of-fold probabilities ...) from a result before printing JSON."""
    import numpy as np

    return {k: (_no_arrays(v) if isinstance(v, dict) else v) for k, v in d.items() if not isinstance(v, np.ndarray)}

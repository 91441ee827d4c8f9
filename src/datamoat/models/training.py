"""Train a model on a dataset version: split -> select and train -> evaluate -> register -> report.

:func:`train_model` is what ``datamoat train`` and the main job (``datamoat run``) call:

1. **Split.** Without a test version, the version is split once, leakage-free and stratified
   (:mod:`datamoat.split.step`), into two new versions ``<dataset>-train`` and
   ``<dataset>-test`` whose lineage points at it; the test version is the frozen test set the
   model is judged on (and later compared on). With ``test=REF`` (the user's test file), the
   whole version trains and ``REF`` tests; test labels never seen in training are an error.
2. **Select and train.** ``model="auto"`` runs :func:`datamoat.models.select.select_model`
   within the budget; a kind (``tfidf-linear``, ``embed-linear``, ``finetune``, ``ensemble``,
   ``tabular``, ``tabular-linear``) trains that trainer with its defaults.
3. **Evaluate** on the test version (:func:`datamoat.models.evaluation.evaluate.evaluate_model`), with
   the selection's cross-validation figures and a learning curve for cheap models.
4. **Register** in the model registry with lineage to both versions; the first model of a
   name becomes its ``champion``, later ones ``challenger`` (promotion is a decision made by
   comparing them, not by training).
5. **Report**: HTML + JSON under ``.datamoat/reports``; the run is logged to MLflow when it
   is installed.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from datamoat.budget import Deadline
from datamoat.catalog.rollback import undo_on_failure
from datamoat.data.text_limits import MAX_TEXT_CHARS
from datamoat.errors import DatamoatError
from datamoat.models.augment_gate import AUGMENT_MODES, synthetic_rows, with_synthetic
from datamoat.models.augmented_version import register_augmented
from datamoat.models.evaluation.curves import rarer_class
from datamoat.models.registry import ModelRecord, ModelRegistry
from datamoat.models.select import select_model
from datamoat.models.trainers.contract import SYSTEM_PREFIX, Trainer, create_trainer
from datamoat.quality.imbalance import IMBALANCE_RATIO

if TYPE_CHECKING:
    from datamoat.data.version import Version
    from datamoat.workspace import Workspace

GATED_KINDS = ("tfidf-linear", "embed-linear")
"""Named kinds that still get the label-cleaning gate when the caller asks for it (cheap enough
to cross-validate; finetune is not, and an ensemble is not one kind)."""
AUGMENT_KINDS = ("tfidf-linear", "embed-linear", "tabular-linear", "tabular")
"""Named kinds that still get the augmentation candidate when the caller asks for it (cheap
enough to cross-validate)."""
CHEAP_KINDS = ("tfidf-linear", "embed-linear", "ensemble", "tabular", "tabular-linear")
"""Kinds cheap enough to refit four times for the learning curve."""
LEARNING_CURVE_SAFETY = 1.5
"""The learning curve runs only when 1.5x its estimate fits the time left (the estimate leaves
out predicting the test rows at each point, and refits are not exactly linear in rows)."""
LEARNING_CURVE_FRACTIONS = (0.1, 0.25, 0.5)
"""Shares of the training rows refitted for the learning curve; the 1.0 point is the model itself."""


@dataclass
class TrainResult:
    """What a training run made: the model record, its figures and the versions it used."""

    record: ModelRecord
    trainer: Trainer
    evaluation: dict[str, Any]
    selection: dict[str, Any]
    train_ref: str
    test_ref: str
    report: Path
    timings_s: dict[str, float] = field(default_factory=dict)
    mlflow_run_id: str | None = None
    budget: dict[str, float] = field(default_factory=dict)
    """``{"budget_s", "used_s"}`` of the deadline training ran under, when it was given."""

    def headline(self) -> dict[str, Any]:
        """The figures the CLI prints: accuracy and macro F1 with CIs, ECE, rows, the majority baseline."""
        ev = self.evaluation
        keys = ("rows", "accuracy", "accuracy_ci", "macro_f1", "macro_f1_ci", "ece", "majority_baseline")
        return {k: ev.get(k) for k in keys}


def models_registry(ws: Workspace) -> ModelRegistry:
    """The workspace's model registry (``.datamoat/models``)."""
    return ModelRegistry(ws.catalog, ws.state / "models")


def detect_task(version: Version, task: str | None) -> str:
    """``"text"`` when the version has a text role (or ``task`` says so), else ``"tabular"``."""
    if task not in (None, "auto", "text", "tabular"):
        raise DatamoatError(f"task {task!r} is not known; use text or tabular.")
    if task in ("text", "tabular"):
        if task == "text" and not version.roles.get("text"):
            raise DatamoatError(f"{version.ref} has no text column; ingest it with --text COLUMN.")
        return task
    return "text" if version.roles.get("text") else "tabular"


def user_frame(version: Version) -> pd.DataFrame:
    """The version as a DataFrame without system columns other than the row id."""
    df = version.to_pandas()
    keep = [c for c in df.columns if not str(c).startswith(SYSTEM_PREFIX) or c == "_dm_row_id"]
    return df[keep]


MIN_ROWS_PER_CLASS = 2
"""Rows per class a split needs to leave one in training (a class of one training row still
trains: tfidf-linear falls back to logistic regression, and cross-validation only tests it)."""


def check_labels(train: pd.DataFrame, test: pd.DataFrame, label: str, test_ref: str) -> None:
    """DatamoatError when training has fewer than two classes or the test set has unseen ones."""
    train_labels = train[label].dropna().astype(str)
    if train_labels.nunique() < 2:
        only = f" (every row is {train_labels.iloc[0]!r})" if len(train_labels) else ""
        raise DatamoatError(
            f"label column {label!r} has {train_labels.nunique()} class(es) in the training data{only}; "
            "a classifier needs at least two."
        )
    if label not in test.columns:
        raise DatamoatError(f"test data {test_ref} has no column {label!r} (the label column of the training data).")
    unseen = test[label].dropna().astype(str)
    unseen = unseen[~unseen.isin(set(train_labels))]
    if len(unseen):
        counts = unseen.value_counts()
        shown = ", ".join(f"{k!r} ({v} rows)" for k, v in counts.head(5).items())
        more = f" and {len(counts) - 5} more" if len(counts) > 5 else ""
        raise DatamoatError(
            f"test data {test_ref} has label(s) never seen in training: {shown}{more}; a model cannot "
            "predict them. Remove those rows from the test file or add training examples of them."
        )


def choose_metric(labels: pd.Series, metric: str) -> tuple[str, str]:
    """(metric, rule sentence): ``auto`` becomes ``macro_f1`` on imbalanced labels, else ``accuracy``."""
    from datamoat.models.select import SELECTION_METRICS

    if metric != "auto" and metric not in SELECTION_METRICS:
        raise DatamoatError(f"metric {metric!r} is not known; use auto, {', '.join(SELECTION_METRICS)}.")
    if metric != "auto":
        return metric, ""
    counts = labels.dropna().astype(str).value_counts()
    ratio = float(counts.iloc[0] / counts.iloc[-1]) if len(counts) >= 2 else 1.0
    if ratio > IMBALANCE_RATIO:
        return "macro_f1", (f"metric: macro_f1, because the label is imbalanced ({counts.index[0]!r} has "
                            f"{ratio:.1f}x the rows of {counts.index[-1]!r}; the rule: more than "
                            f"{IMBALANCE_RATIO:g}x)")
    return "accuracy", f"metric: accuracy (the largest class has {ratio:.1f}x the rows of the smallest)"


def majority_baseline(train_labels: pd.Series, test_labels: pd.Series) -> dict[str, Any]:
    """The figures of always answering the most common training label, on the test labels."""
    from datamoat.models.evaluation.metrics import metric_value

    top = train_labels.dropna().astype(str).value_counts().index[0]
    y = test_labels.dropna().astype(str).to_numpy()
    pred = np.full(len(y), top, dtype=object)
    return {"label": top, "accuracy": round(float(np.mean(y == top)), 5) if len(y) else None,
            "macro_f1": round(metric_value(y, pred, "macro_f1"), 5) if len(y) else None}


def split_versions(ws: Workspace, version: Version, *, test_size: float, seed: int) -> tuple[Version, Version]:
    """``<dataset>-train`` and ``<dataset>-test`` versions made from ``version`` (lineage kept)."""
    out = []
    for keep in ("train", "test"):
        applied = ws.apply(
            version.ref,
            [{"step": "take_split", "keep": keep, "test_size": test_size, "seed": seed}],
            output=f"{version.dataset}-{keep}",
            label="split",
        )
        out.append(applied.version)
    train_v, test_v = out
    if test_v.num_rows == 0:
        raise DatamoatError(f"{version.ref} has too few rows ({version.num_rows}) to hold out a test set; give at least "
                            f"{max(MIN_ROWS_PER_CLASS + 1, math.ceil(1 / test_size))} rows per class (or a --test file).")
    return train_v, test_v


def train_model(
    ws: Workspace,
    ref: str,
    *,
    model: str = "auto",
    name: str | None = None,
    budget: str | float | Deadline = "10m",
    metric: str = "auto",
    test: str | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    task: str | None = None,
    slice_columns: Sequence[str] = (),
    learning_curve: bool = True,
    progress: Callable[[str], None] | None = None,
    test_treatment: str = "",
    label_cleaning: bool = False,
    augment: str = "off",
    dp_epsilon: float | None = None,
    dp_delta: float | None = None,
    workers: int = 1,
    encoder: str | None = None,
) -> TrainResult:
    """Split (or use ``test``), select/train within ``budget``, evaluate, register, report.

    ref / test: dataset version references (``name@latest`` ...). model: ``auto`` or a trainer
    kind. name: the model's name (default: the dataset's). metric: the selection metric,
    ``auto`` (:func:`choose_metric`) or one of :data:`~datamoat.models.select.SELECTION_METRICS`. budget: e.g. ``"10m"``, seconds, or
    the caller's :class:`~datamoat.budget.Deadline` (shared with the caller's other stages):
    selection, the winner's refit, a fine-tune's training and the learning curve all end
    before it (work that is estimated not to fit is skipped and reported); selection stops 5% of
    the budget (5-60 s) early, which is kept for evaluation, the report and registration.
    slice_columns: metadata columns to report per-slice metrics for. test_treatment: one
    sentence on what was done to the test rows (the caller knows; shown in the model report).
    label_cleaning: on text with ``model="auto"`` (or a named kind in :data:`GATED_KINDS`),
    dropping or relabelling label issues in the training rows is a candidate judged on
    untouched validation folds
    (:mod:`datamoat.models.cleaning_gate`); when it passes the gate, the ``label_issues`` step
    makes a new training version (the dropped rows kept with their reason) and the winner is
    refitted on it.
    augment: ``auto`` tries synthetic training rows as a candidate (text: word edits; tables:
    SMOTE) with ``model="auto"`` or a kind in :data:`AUGMENT_KINDS`, kept only when it passes the
    flywheel's significance test (:mod:`datamoat.models.augment_gate`); when kept, the augmented
    training rows are registered as the next training version (the test version never gets any).
    ``off``: never.
    dp_epsilon / dp_delta: train with DP-SGD to (ε, δ) per training row (δ None: 1 / (10 n));
    ``auto`` then trains embed-linear (text) or tabular-linear without a search, no label
    cleaning, augmentation or learning curve runs (they would read the private rows again), and
    (ε, δ) is spent from the budgets of ``ref``'s dataset and its ancestors'
    (:mod:`datamoat.models.dp_spend`) in the registration's transaction; a training the budget
    cannot pay is refused before it starts.
    workers: data-parallel worker processes of ``model="finetune"`` (1: this process). With the
    workspace's executor ``ray`` the whole call runs in a
    :func:`~datamoat.models.trainers.ray_scope.ray_scope`: encoders embed on a pool of Ray actors
    and finetune's workers are Ray Train workers; else they are processes of this machine.
    encoder: with ``model="finetune"``, the encoder to fine-tune (``"bundled"`` or a local Hugging
    Face checkpoint folder; None: bundled).
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise DatamoatError(f"workers={workers!r} must be an integer >= 1.")
    if workers > 1 and model != "finetune":
        raise DatamoatError(f"workers={workers} applies to model 'finetune' only (data-parallel fine-tuning); "
                            f"got model {model!r}.")
    if encoder is not None and model != "finetune":
        raise DatamoatError(f"encoder={encoder!r} applies to model 'finetune' only; got model {model!r}.")
    if augment not in AUGMENT_MODES:
        raise DatamoatError(f"augment={augment!r} is not known; use {' or '.join(AUGMENT_MODES)}.")
    deadline = Deadline.parse(budget)
    version = ws.version(ref)
    if dp_epsilon is not None:
        from datamoat.models.dp_spend import check_dp_request, check_training_budget
        from datamoat.models.trainers.dp_sgd import default_delta

        check_dp_request(model, dp_epsilon, dp_delta)
        # δ's default depends on the training rows; 1/(10 x all rows) is the smallest it can be
        check_training_budget(ws.catalog, version.record.id, dp_epsilon,
                              dp_delta if dp_delta is not None else default_delta(version.num_rows))
    # a failed training leaves no -train/-test split or label-cleaned version behind
    touched = [version.dataset, *(f"{version.dataset}-{s}" for s in ("train", "test"))]
    from datamoat.models.trainers.ray_scope import ray_scope

    on_ray = ray_scope(ws.ray_address) if ws.executor == "ray" else contextlib.nullcontext()
    with undo_on_failure(ws.catalog, touched, version.ref), on_ray:
        return _train_model(ws, version, model=model, name=name, deadline=deadline, metric=metric, test=test,
                            test_size=test_size, seed=seed, task=task, slice_columns=slice_columns,
                            learning_curve=learning_curve, progress=progress, test_treatment=test_treatment,
                            label_cleaning=label_cleaning, augment=augment == "auto",
                            dp_epsilon=dp_epsilon, dp_delta=dp_delta, workers=workers, encoder=encoder)


def _train_model(
    ws: Workspace,
    version: Version,
    *,
    model: str,
    name: str | None,
    deadline: Deadline,
    metric: str,
    test: str | None,
    test_size: float,
    seed: int,
    task: str | None,
    slice_columns: Sequence[str],
    learning_curve: bool,
    progress: Callable[[str], None] | None,
    test_treatment: str,
    label_cleaning: bool,
    augment: bool = False,
    dp_epsilon: float | None = None,
    dp_delta: float | None = None,
    workers: int = 1,
    encoder: str | None = None,
) -> TrainResult:
    """:func:`train_model`'s body (the caller rolls back what it registered when it fails)."""
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    if version.num_rows == 0:
        raise DatamoatError(f"{version.ref} has no rows to train on (see `datamoat excluded {version.ref}`).")
    label = version.roles.get("label")
    if not label:
        raise DatamoatError(f"{version.ref} has no label column; ingest it with --label COLUMN.")
    kind_of_task = detect_task(version, task)
    text = version.roles.get("text") if kind_of_task == "text" else None

    t = time.perf_counter()
    if test is None:
        train_v, test_v = split_versions(ws, version, test_size=test_size, seed=seed)
    else:
        train_v, test_v = version, ws.version(test)
    train_df, test_df = user_frame(train_v), user_frame(test_v)
    if text is not None and text not in test_df.columns:
        raise DatamoatError(f"test data {test_v.ref} has no column {text!r} (the text column of the training data).")
    for col in slice_columns:
        if col not in test_df.columns:
            raise DatamoatError(
                f"slice column {col!r} is not in {test_v.ref}; its columns are: {', '.join(map(str, test_df.columns))}."
            )
    check_labels(train_df, test_df, label, test_v.ref)
    train_df = train_df[train_df[label].notna()]
    test_df = test_df[test_df[label].notna()]
    if text is not None and not train_df[text].fillna("").astype(str).str.strip().any():
        raise DatamoatError(f"text column {text!r} is empty in all {len(train_df)} training rows; there is no text to learn from.")
    timings["split" if test is None else "load"] = time.perf_counter() - t
    say(f"train {train_v.ref}: {len(train_df):,} rows; test {test_v.ref}: {len(test_df):,} rows")
    metric, metric_rule = choose_metric(train_df[label], metric)
    if metric_rule:
        say(metric_rule)
    asked = model
    if dp_epsilon is not None:
        from datamoat.models.dp_spend import check_training_budget, private_kind
        from datamoat.models.trainers.dp_sgd import default_delta

        dp_delta = dp_delta if dp_delta is not None else default_delta(len(train_df))
        check_training_budget(ws.catalog, version.record.id, dp_epsilon, dp_delta)  # before any training
        model, label_cleaning, augment = private_kind(model, kind_of_task), False, False
        say(f"differentially private training: {model}, epsilon={dp_epsilon:g}, delta={dp_delta:.3g}")

    cache_dir = ws.state / "cache" / "embeddings"
    t = time.perf_counter()
    # evaluation, the report and registration come after training: keep them inside the budget
    reserve = min(max(5.0, 0.05 * deadline.budget_s), 60.0)
    # a named cheap text kind still gets the label-cleaning gate: a selection over that one kind
    counts = train_df[label].astype(str).value_counts()
    gated_kind = (((label_cleaning and text is not None and model in GATED_KINDS) or (augment and model in AUGMENT_KINDS))
                  and int((counts >= 2).sum()) >= 2)  # cross-validation needs two classes of 2+ rows
    via_selection = model == "auto" or gated_kind
    if via_selection:
        cleaned: dict[str, Any] = {}

        def clean_train(action: str) -> pd.DataFrame:
            applied = ws.apply(train_v.ref, [{"step": "label_issues", "action": action, "seed": seed}],
                               label="label_issues")
            df = user_frame(applied.version)
            cleaned.update(version=applied.version, dropped=applied.dropped_by_reason, frame=df[df[label].notna()])
            return cleaned["frame"]

        augmented: dict[str, Any] = {}

        def augment_train() -> pd.DataFrame:
            made = synthetic_rows(train_df, text_column=text, label_column=label, seed=seed)
            augmented.update(version=register_augmented(ws, train_v, made), frame=with_synthetic(train_df, made))
            return augmented["frame"]

        select_deadline = Deadline(max(deadline.left() - reserve, 0.0))
        sel = select_model(train_df, label_column=label, text_column=text, deadline=select_deadline, metric=metric,
                           seed=seed, cache_dir=cache_dir, progress=say,
                           candidates=(model,) if gated_kind else None, search=not gated_kind,
                           label_cleaning=label_cleaning and text is not None, clean_train=clean_train,
                           augment=augment, augment_train=augment_train)
        trainer, selection = sel.trainer, sel.to_dict()
        selection["metric_rule"] = metric_rule
        if gated_kind:
            selection["reason"] = f"{model} chosen by the user; {sel.reason}"
        if cleaned:
            train_v, train_df = cleaned["version"], cleaned["frame"]
            selection["label_cleaning"].update(applied=True, dropped=cleaned["dropped"])
        if augmented:
            train_v, train_df = augmented["version"], augmented["frame"]
            selection["augmentation"].update(applied=True, version=train_v.ref)
        fit_seconds = sel.refit_seconds
    else:
        params: dict[str, Any] = {"label_column": label}
        if text is not None:
            params["text_column"] = text
        if model == "finetune":
            # the deadline bounds fine-tuning, less the reserve for evaluation and registration
            params["max_seconds"] = round(max(deadline.left() - reserve, 1.0), 1)
            params["workers"] = workers
            if encoder is not None:
                params["encoder"] = encoder
        if dp_epsilon is not None:
            params.update(dp_epsilon=dp_epsilon, dp_delta=dp_delta)
        trainer = create_trainer(model, **params)
        if hasattr(trainer, "use_embedding_cache"):
            trainer.use_embedding_cache(cache_dir)
        # under DP no rows are held out for early stopping (choosing an epoch on private rows is not accounted)
        fit_args = _with_valid(train_df, label, seed) if model == "finetune" and dp_epsilon is None else (train_df,)
        trainer.fit(*fit_args)
        members = fit_args[0]
        reason = "chosen by the user"
        if dp_epsilon is not None and asked == "auto":
            from datamoat.models.dp_spend import AUTO_REASON
            reason = AUTO_REASON.format(kind=model)
        selection = {"chosen": model, "reason": reason, "candidates": []}
        if label_cleaning and text is not None:
            why = ("label cleaning is judged by cross-validation, which needs two classes with 2+ training rows"
                   if model in GATED_KINDS else f"label cleaning is not tried for {model} (too costly to cross-validate)")
            selection["label_cleaning"] = {"step": "label_issues", "kept": False, "reason": why}
        if augment:
            why = ("augmentation is judged by cross-validation, which needs two classes with 2+ training rows"
                   if model in AUGMENT_KINDS else f"augmentation is not tried for {model} (too costly to cross-validate)")
            selection["augmentation"] = {"step": "augment", "kept": False, "reason": why}
        fit_seconds = time.perf_counter() - t
    timings["train"] = time.perf_counter() - t
    truncated = int(getattr(trainer, "truncated_training_texts_", 0))
    if truncated:
        say(f"{truncated:,} training text(s) longer than {MAX_TEXT_CHARS:,} characters were cut to that length "
            "(the excess is ignored by features and models)")

    t = time.perf_counter()
    from datamoat.models.evaluation.evaluate import evaluate_model
    from datamoat.models.evaluation.evaluate import learning_curve as curve

    evaluation = evaluate_model(trainer, test_df, slice_columns=list(slice_columns), seed=seed,
                                positive=rarer_class(train_df[label].astype(str).to_numpy(), list(trainer.classes_)))
    if kind_of_task == "tabular":
        from datamoat.models.evaluation.importance import feature_importance
        evaluation["feature_importance"] = feature_importance(trainer, test_df, seed=seed)
    evaluation["majority_baseline"] = majority_baseline(train_df[label], test_df[label])
    from datamoat.models.evaluation.membership import membership_inference

    evaluation["membership_inference"] = membership_inference(trainer, train_df if via_selection else members,
                                                              test_df, seed=seed)
    privacy = getattr(trainer, "dp_", None)
    if privacy:
        evaluation["privacy"] = privacy
    chosen = next((c for c in selection.get("candidates", []) if c.get("name") == selection.get("chosen")), None)
    if chosen and "cv_mean" in chosen:
        evaluation["cv"] = {"k": len(chosen["cv_scores"]), "metric": selection.get("metric"),
                            "mean": chosen["cv_mean"], "std": chosen["cv_std"], "scores": chosen["cv_scores"]}
    timings["evaluate"] = time.perf_counter() - t
    # refits cost about sum(fractions) x one full fit (linear in rows for these trainers)
    estimate = fit_seconds * sum(LEARNING_CURVE_FRACTIONS)
    if learning_curve and dp_epsilon is not None:
        evaluation["learning_curve_skipped"] = "its refits would train on the private rows again and spend more budget"
    elif learning_curve and trainer.kind not in CHEAP_KINDS:
        evaluation["learning_curve_skipped"] = f"{trainer.kind} is too costly to refit for a learning curve"
    elif learning_curve and not deadline.fits(estimate * LEARNING_CURVE_SAFETY):
        evaluation["learning_curve_skipped"] = (
            f"about {estimate:.0f} s of refits would pass the time budget "
            f"({deadline.used():.0f} of {deadline.budget_s:.0f} s spent)")
    elif learning_curve:
        t = time.perf_counter()
        points = curve(lambda: _fresh(trainer, cache_dir), train_df, test_df,
                       fractions=LEARNING_CURVE_FRACTIONS, seed=seed)
        points.append({"fraction": 1.0, "rows": len(train_df), "accuracy": evaluation["accuracy"],
                       "macro_f1": evaluation["macro_f1"], "fit_seconds": round(fit_seconds, 3)})
        evaluation["learning_curve"] = points
        timings["learning_curve"] = time.perf_counter() - t

    registry = models_registry(ws)
    model_name = name or version.dataset
    has_champion = any("champion" in m.aliases for m in registry.list(model_name))
    info = {
        "task": kind_of_task, "text_column": text, "label_column": label, "selection": selection,
        "train_ref": train_v.ref, "test_ref": test_v.ref, "source_ref": version.ref,
        "train_hash": train_v.hash, "test_hash": test_v.hash, "classes": list(trainer.classes_),
        "train_rows": len(train_df),
        "fit_seconds": round(fit_seconds, 3), "truncated_texts": truncated,
        "test_treatment": test_treatment or (
            "test rows: held out from this version by a leakage-free split" if test is None else
            f"test rows: {test_v.ref} as given"),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    spends: list[dict[str, Any]] = []
    pay = None
    if privacy:
        from datamoat.models.dp_spend import spend_for_training

        info["privacy"] = privacy

        def pay(conn: Any, model_ref: str) -> None:
            spends[:] = spend_for_training(conn, version.record.id, version.ref, privacy["epsilon"], privacy["delta"],
                                           label_column=label, details={"model": model_ref, "kind": trainer.kind,
                                                                        "train_ref": train_v.ref, **privacy})
    record = registry.register(
        trainer, model_name, train_version_id=train_v.record.id, test_version_id=test_v.record.id,
        metrics=_json_metrics(evaluation), info=info, aliases=["challenger" if has_champion else "champion"],
        in_transaction=pay,
    )
    if spends:
        evaluation["privacy"] = {**privacy, "spends": spends}
    from datamoat.models.evaluation.report import write_evaluation_report

    report = write_evaluation_report(
        evaluation, ws.state / "reports" / f"model-{record.name}-{record.ordinal}.html",
        title=f"Model {record.ref} ({record.kind}) on {test_v.ref}", model=record.summary(),
        extra={"selection": selection, "test_treatment": info["test_treatment"],
               **({"privacy": evaluation["privacy"]} if privacy else {}),
               "membership_inference": evaluation["membership_inference"]},
    )
    run_id = None
    try:
        from datamoat.models.export.mlflow_log import log_run

        run_id = log_run(ws.state, run_name=record.ref, params={"kind": record.kind, **record.params},
                         metrics=_json_metrics(evaluation), tags={"train": train_v.ref, "test": test_v.ref},
                         artifacts=[report])
    except ImportError:
        run_id = None
    return TrainResult(record=record, trainer=trainer, evaluation=evaluation, selection=selection,
                       train_ref=train_v.ref, test_ref=test_v.ref, report=report, timings_s=timings,
                       mlflow_run_id=run_id, budget=deadline.summary())


def _fresh(trainer: Trainer, cache_dir: Path) -> Trainer:
    """An unfitted copy of ``trainer`` (an ensemble: of its member specs)."""
    new = create_trainer(trainer.kind, **trainer.params())
    if hasattr(new, "use_embedding_cache"):
        new.use_embedding_cache(cache_dir)
    return new


def _with_valid(train: pd.DataFrame, label: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Hold out 10% of ``train`` (stratified where every class has 2+ rows) for early stopping."""
    from sklearn.model_selection import train_test_split

    counts = train[label].astype(str).value_counts()
    if len(train) < 20:
        return train, None
    stratify = train[label].astype(str) if counts.min() >= 2 else None
    fit, valid = train_test_split(train, test_size=0.1, random_state=seed, stratify=stratify)
    return fit, valid


def _json_metrics(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of an evaluation (no per-row data), for the catalog."""
    keys = ("rows", "accuracy", "accuracy_ci", "macro_f1", "macro_f1_ci", "weighted_f1", "macro_precision",
            "macro_recall", "balanced_accuracy", "roc_auc", "average_precision", "ece", "cv", "per_class",
            "majority_baseline", "membership_inference", "privacy")
    out = {k: evaluation[k] for k in keys if k in evaluation}
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in out.items()}


def register_compressed(
    registry: ModelRegistry,
    record: ModelRecord,
    trainer: Trainer,
    test: pd.DataFrame,
    *,
    test_version_id: int | None,
    work_root: Path,
    method: str = "onnx-int8",
    report: bool = True,
    aliases: list[str] | None = None,
) -> tuple[ModelRecord, Trainer, dict[str, Any]]:
    """Compress ``record``'s fitted ``trainer`` and register it as the next version of its name.

    The compressed model is evaluated on ``test`` (its own metrics, with CIs, not the
    original's); ``report`` adds :func:`~datamoat.models.export.compress.compression_report` (size,
    latency, accuracy change: seconds of timing) to its info under ``compression``. work_root:
    where the temporary encoder files go (the registry copies them). Returns the new record, the
    compressed trainer loaded from the registry, and the compression report ({} without ``report``).
    """
    import tempfile

    from datamoat.models.evaluation.evaluate import evaluate_model
    from datamoat.models.export.compress import compress_model, compression_report

    with tempfile.TemporaryDirectory(dir=work_root) as work:
        small = compress_model(trainer, Path(work), method=method)
        figures = compression_report(trainer, small, test) if report else {}
        evaluation = evaluate_model(small, test)
        new = registry.register(
            small, record.name, train_version_id=record.train_version_id, test_version_id=test_version_id,
            metrics=_json_metrics(evaluation),
            info={**record.info, "compressed_from": record.ref, "compression": {"method": method, **figures}},
            aliases=aliases,
        )
    return new, registry.load(new.ref), figures


def check_labels_present(df: pd.DataFrame, trainer: Trainer, ref: str) -> pd.DataFrame:
    """``df`` without rows lacking a label; DatamoatError when the label column is missing."""
    if trainer.label_column not in df.columns:
        raise DatamoatError(
            f"{ref} has no column {trainer.label_column!r}, the label column the model was trained on."
        )
    return df[df[trainer.label_column].notna()]


def card_info(ws: Workspace, record: ModelRecord) -> dict[str, Any]:
    """What the model card says about ``record``: kind, classes, data versions, metrics."""
    info = dict(record.info)

    label = info.get("label_column")

    def version_facts(version_id: int | None) -> dict[str, Any] | None:
        if version_id is None:
            return None
        v = ws.version_by_id(version_id)
        facts: dict[str, Any] = {"dataset": v.dataset, "version": v.ordinal, "ref": v.ref,
                                 "content_hash": v.hash, "rows": v.num_rows}
        if label and label in v.schema.names:
            counts = v.to_arrow([label]).column(label).value_counts().to_pylist()
            facts["label_counts"] = {str(c["values"]): int(c["counts"]) for c in counts}
        return facts

    return {
        "name": record.name, "version": record.ordinal, "ref": record.ref, "kind": record.kind,
        "params": record.params, "classes": info.get("classes", []), "created_at": record.created_at.isoformat(),
        "train": version_facts(record.train_version_id), "test": version_facts(record.test_version_id),
        "metrics": record.metrics, "info": info,
    }

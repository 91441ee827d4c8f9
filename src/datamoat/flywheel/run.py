"""The main job as one library call: ingest -> profile -> split -> clean -> protect -> train -> evaluate.

:func:`run_loop` is what ``datamoat run`` calls (the CLI only parses, calls and prints) and
what a notebook calls as ``datamoat.run_loop(Workspace.open(p), ...)``; :mod:`datamoat.flywheel.retrain` is
the loop's second half (feedback -> new version -> retrain -> promote).

Order of the stages, and why:

1. **Ingest** the file (and the user's ``test`` file) into versions; **profile** the raw
   version (an HTML report).
2. **Split first.** Without a test file, the frozen test set is taken from the *ingested* rows
   (leakage-free and stratified, :mod:`datamoat.split`: exact and near duplicates and groups
   never straddle train and test) before any cleaning, so no model and no other row ever
   decides which rows are tested. Only the training rows go through the cleaning recipe. The
   default training recipe (:func:`~datamoat.clean.default_recipe.training_clean_recipe`)
   repairs text and drops missing, too-short and exactly duplicated rows; near duplicates stay
   (they re-weight, and the split already keeps them out of the test set), and dropping label
   issues is a selection candidate that is kept only when it wins on untouched validation
   folds (:mod:`datamoat.models.cleaning_gate`).
3. The **test rows** get only the deterministic, row-local transforms the model also sees when
   it serves (:data:`SERVING_TRANSFORMS` of the recipe, then the same PII treatment), never a
   drop; rows without a label are not scored. ``RunResult.test_treatment`` says exactly this.
4. **Train and evaluate** within the deadline (:func:`datamoat.models.training.train_model`).

One :class:`~datamoat.budget.Deadline`, parsed before anything is written, covers the whole
call. When any stage fails, everything the call registered (datasets, versions, runs, the
model) is rolled back (:mod:`datamoat.catalog.rollback`), so the catalog is as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datamoat.budget import Deadline
from datamoat.catalog.rollback import CatalogMark, undo_on_failure
from datamoat.data.dataset_name import name_from_path
from datamoat.data.version import Version
from datamoat.errors import DatamoatError
from datamoat.pipeline.recipe import Recipe

if TYPE_CHECKING:
    from datamoat.models.training import TrainResult
    from datamoat.workspace import Workspace

TASKS = ("auto", "text", "tabular", "lm")
PII_MODES = ("redact", "mask", "pseudonymize", "keep")
SERVING_TRANSFORMS = ("normalize_text", "strip_whitespace", "lowercase")
"""Recipe steps that are row-local, deterministic and drop nothing: the test rows get these
(in the recipe's order, with its parameters), because a served text can get them too."""
TEST_SIZE = 0.2
SPLIT_SEED = 0


@dataclass
class RunResult:
    """What one run made: versions, row counts, drops, quality, the model and its test figures.

    versions: refs of ``raw``, ``clean`` (the cleaned training rows), ``final`` (after PII),
    ``train`` and ``test`` (what the model was trained and tested on). rows: counts of those.
    dropped: training rows dropped by the recipe, by reason (kept: ``datamoat excluded REF``).
    test_treatment: one sentence on what was done to the test rows. train: the training result
    (None with ``train=False``). timings_s: seconds per stage; budget: ``budget_s``/``used_s``.
    """

    workspace: Path
    dataset: str
    versions: dict[str, str]
    rows: dict[str, int]
    dropped: dict[str, int]
    quality: dict[str, Any]
    pii: dict[str, int]
    report: Path
    test_treatment: str = ""
    train: TrainResult | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    budget: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object ``datamoat run --json`` prints."""
        out: dict[str, Any] = {
            "workspace": str(self.workspace), "versions": self.versions, "rows": self.rows,
            "dropped": self.dropped, "quality": self.quality, "pii": self.pii, "report": str(self.report),
            "test_treatment": self.test_treatment,
        }
        if self.train is not None:
            r = self.train
            out["model"] = {"kind": r.record.kind, "id": r.record.id, "ref": r.record.ref, "aliases": r.record.aliases}
            out["candidates"] = r.selection.get("candidates", [])
            out["selection"] = {k: v for k, v in r.selection.items() if k != "candidates"}
            out["test"] = r.headline()
            out["model_report"] = str(r.report)
        out["timings_s"] = {k: round(v, 3) for k, v in self.timings_s.items()}
        out["budget"] = self.budget
        return out


LABEL_HINTS = 5
"""At most this many label-like columns are named when --label is missing."""


def check_run_args(*, task: str, text: str | None, label: str | None, train: bool, pii: str,
                   source: str | Path | None = None) -> None:
    """DatamoatError with one sentence for arguments that cannot work (before anything is written).

    source: the file or folder to run on; without ``--label`` the sentence names its columns that
    look like labels (:func:`~datamoat.data.label_hint.label_like_columns`), never picks one.
    """
    if task not in TASKS:
        raise DatamoatError(f"--task {task!r} is not known; use auto, text, tabular or lm.")
    if task == "text" and not text:
        raise DatamoatError("--task text needs --text COLUMN.")
    if train and not label and task != "lm":
        from datamoat.data.label_hint import label_like_columns

        hint = ""
        if source is not None and (candidates := [c for c in label_like_columns(str(source)) if c != text]):
            shown = ", ".join(candidates[:LABEL_HINTS]) + (", ..." if len(candidates) > LABEL_HINTS else "")
            hint = f"; columns of {source} that look like labels: {shown}"
        raise DatamoatError(f"training needs --label COLUMN (or pass --no-train to only profile and clean){hint}.")
    if pii not in PII_MODES:
        raise DatamoatError(f"--pii {pii!r} is not known; use {', '.join(PII_MODES)}.")


def serving_transforms(recipe: Recipe) -> list[dict[str, Any]]:
    """The recipe's :data:`SERVING_TRANSFORMS` entries, in order, as recipe list entries."""
    return [{"step": s.name, **s.params()} for s in recipe.steps if s.name in SERVING_TRANSFORMS]


def run_loop(
    ws: Workspace,
    source: str | Path,
    *,
    text: str | None = None,
    label: str | None = None,
    id_column: str | None = None,
    name: str | None = None,
    roles: Mapping[str, str] | None = None,
    task: str = "auto",
    test: str | Path | None = None,
    model: str = "auto",
    metric: str = "auto",
    budget: str | float | Deadline = "10m",
    recipe: str | Path | list[dict[str, Any]] | None = None,
    pii: str = "redact",
    train: bool = True,
    ingest_options: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    ingest_progress: Any = None,
    augment: str = "off",
    dp_epsilon: float | None = None,
    dp_delta: float | None = None,
) -> RunResult:
    """Run the main job on ``source`` (a CSV/JSON/Parquet file or a folder of text files).

    text / label / id_column / roles: column roles (``roles`` maps role -> column). task:
    ``auto`` (text when ``text`` is given), ``text``, ``tabular`` or ``lm`` (a language model:
    :func:`datamoat.flywheel.lm_run.run_lm` does the job and its LmRunResult is returned;
    ``text``, ``name``, ``model``, ``budget``, ``pii`` and ``ingest_options`` apply). test: a test file with the
    same columns (default: a held-out, leakage-free split of ``source`` taken before cleaning).
    model: ``auto`` or a trainer kind (the model is registered under the dataset's name).
    metric: the selection metric, ``auto`` (macro F1 on imbalanced labels, else accuracy),
    or one of :data:`~datamoat.models.select.SELECTION_METRICS`. budget: the time budget of the whole call (``"10m"``,
    seconds, or a Deadline). recipe: a recipe (YAML path or list of entries) for the training
    rows instead of the default clean recipe. pii: ``redact``, ``mask``, ``pseudonymize`` or
    ``keep`` for personal data in the text. train: False only profiles and cleans.
    ingest_options: extra keyword arguments for :meth:`Workspace.ingest`. progress: called
    with one line per stage. augment: ``auto`` tries synthetic training rows as a selection
    candidate, kept only when it passes the flywheel's significance test
    (:mod:`datamoat.models.augment_gate`); ``off`` (default) never. dp_epsilon / dp_delta: train
    with differential privacy, spending from the budget of dataset ``name`` (set it after a first
    ingest: ``datamoat dp budget``), as :func:`~datamoat.models.training.train_model`. Raises
    DatamoatError (one sentence) and rolls back what it made.
    """
    check_run_args(task=task, text=text, label=label, train=train, pii=pii, source=source)
    if task == "lm":  # a language model: its own data path and trainer
        from datamoat.flywheel.lm_run import run_lm

        return run_lm(ws, source, name=name, text=text, model=model, budget=budget, pii=pii,  # type: ignore[return-value]
                      ingest_options=dict(ingest_options or {}), progress=progress)
    if dp_epsilon is not None:
        from datamoat.models.dp_spend import check_dp_request

        check_dp_request(model, dp_epsilon, dp_delta)
    from datamoat.models.augment_gate import AUGMENT_MODES

    if augment not in AUGMENT_MODES:
        raise DatamoatError(f"augment={augment!r} is not known; use {' or '.join(AUGMENT_MODES)}.")
    deadline = Deadline.parse(budget)
    dataset = name or name_from_path(str(source))
    touched = [dataset, *(f"{dataset}-{s}" for s in ("train", "test", "testfile"))]
    with undo_on_failure(ws.catalog, touched, str(source)) as at:
        return _run(ws, source, at, text=text, label=label, id_column=id_column, name=name, roles=roles,
                    task=task, test=test, model=model, metric=metric, deadline=deadline, recipe=recipe, pii=pii, train=train,
                    ingest_options=dict(ingest_options or {}), say=progress or (lambda _msg: None),
                    ingest_progress=ingest_progress, augment=augment, dp_epsilon=dp_epsilon, dp_delta=dp_delta)


def _run(
    ws: Workspace,
    source: str | Path,
    at: CatalogMark,
    *,
    text: str | None,
    label: str | None,
    id_column: str | None,
    name: str | None,
    roles: Mapping[str, str] | None,
    task: str,
    test: str | Path | None,
    model: str,
    metric: str,
    deadline: Deadline,
    recipe: str | Path | list[dict[str, Any]] | None,
    pii: str,
    train: bool,
    ingest_options: dict[str, Any],
    say: Callable[[str], None],
    ingest_progress: Any,
    augment: str,
    dp_epsilon: float | None = None,
    dp_delta: float | None = None,
) -> RunResult:
    from datamoat.clean.default_recipe import default_clean_recipe, training_clean_recipe
    from datamoat.quality.profile import profile_version
    from datamoat.quality.report import write_report

    def own(v: Version) -> Version:
        at.own(v.record.id)
        return v

    timings: dict[str, float] = {}
    dataset = name or name_from_path(str(source))
    text_role = text if task != "tabular" else None

    t = time.perf_counter()
    ingest_options.setdefault("infer_roles", task != "tabular")  # a text column makes an auto task text
    raw = own(ws.ingest(source, name=dataset, text=text_role, label=label, id=id_column, roles=dict(roles or {}) or None,
                        progress=ingest_progress, **ingest_options))
    test_raw = None
    if test is not None:
        test_raw = own(ws.ingest(test, name=f"{dataset}-testfile", text=text_role, label=label, id=id_column,
                                 roles=dict(roles or {}) or None, **ingest_options))
    timings["ingest"] = time.perf_counter() - t
    say(f"ingested {raw.ref}: {raw.num_rows:,} rows")

    t = time.perf_counter()
    pii_mode = ws.config.pii_mode  # datamoat.yaml pii.mode (None: the detector's default)
    prof = profile_version(raw, check_params={"pii": {"pii_mode": pii_mode}} if pii_mode else None)
    report = write_report(prof, ws.state / "reports" / f"{raw.dataset}-{raw.ordinal}-profile.html")
    timings["profile"] = time.perf_counter() - t

    # training rows: model-based and cross-row drops are left to the gate; --no-train: the full recipe
    the_recipe = _recipe(recipe, raw, training_clean_recipe if train else default_clean_recipe)
    t = time.perf_counter()
    if train and test_raw is None:
        from datamoat.models.training import split_versions

        train_raw, test_part = (own(v) for v in split_versions(ws, raw, test_size=TEST_SIZE, seed=SPLIT_SEED))
        say(f"split before cleaning: {train_raw.ref} {train_raw.num_rows:,} rows, {test_part.ref} "
            f"{test_part.num_rows:,} rows (frozen test set)")
    else:
        train_raw, test_part = raw, test_raw
    timings["split"] = time.perf_counter() - t

    t = time.perf_counter()
    cleaned = ws.apply(train_raw.ref, the_recipe, label="clean")
    clean = own(cleaned.version)
    timings["clean"] = time.perf_counter() - t
    if train and clean.num_rows == 0:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(cleaned.dropped_by_reason.items(), key=lambda kv: -kv[1]))
        raise DatamoatError(
            f"cleaning dropped every training row of {train_raw.ref} ({reasons}); nothing is left to train on."
        )

    final, test_final = clean, test_part
    test_steps: list[dict[str, Any]] = []
    if test_part is not None:
        test_steps = serving_transforms(the_recipe)
    t = time.perf_counter()
    if pii != "keep" and raw.roles.get("text"):
        redact = {"step": "pii_redact", "mode": pii, **({"pii_mode": pii_mode} if pii_mode else {})}
        final = own(ws.apply(clean.ref, [redact], label="pii_redact").version)
        test_steps.append(redact)
    if test_part is not None and test_steps:
        test_final = own(ws.apply(test_part.ref, test_steps, label="test_transforms").version)
    timings["pii"] = time.perf_counter() - t
    treatment = _treatment(test_part, test_raw is not None, test_steps)

    result = None
    if train:
        from datamoat.models.training import train_model

        assert test_final is not None
        t = time.perf_counter()
        result = train_model(ws, final.ref, model=model, name=dataset, budget=deadline, test=test_final.ref, metric=metric,
                             task=None if task == "auto" else task, progress=say, test_treatment=treatment,
                             label_cleaning=recipe is None, augment=augment, dp_epsilon=dp_epsilon, dp_delta=dp_delta)
        timings.update(result.timings_s)
        timings["train_total"] = time.perf_counter() - t
    timings["total"] = deadline.used()

    versions = {"raw": raw.ref, "clean": clean.ref, "final": final.ref}
    rows = {"raw": raw.num_rows, "clean": clean.num_rows, "unparseable": raw.record.excluded_count}
    if result is not None:
        versions.update(train=result.train_ref, test=result.test_ref)
        rows.update(train=int(result.record.info.get("train_rows", 0)), test=int(result.evaluation.get("rows", 0)))
    dropped = dict(cleaned.dropped_by_reason)
    if result is not None:
        for reason, n in ((result.selection.get("label_cleaning") or {}).get("dropped") or {}).items():
            dropped[reason] = dropped.get(reason, 0) + n
    return RunResult(
        workspace=ws.root, dataset=dataset, versions=versions, rows=rows, dropped=dropped,
        quality={"score": prof.score["value"], "issue_rates": {k: round(v["rate"], 4) for k, v in prof.checks.items()}},
        pii={k: c["findings"] for k, c in prof.checks.get("pii", {}).get("by_type", {}).items()},
        report=report, test_treatment=treatment, train=result, timings_s=timings, budget=deadline.summary(),
    )


def _recipe(recipe: str | Path | list[dict[str, Any]] | None, raw: Version, default: Callable[..., Recipe]) -> Recipe:
    """The recipe to clean the training rows with: the user's, or the default for ``raw``'s roles."""
    if recipe is None:
        return default(raw.roles)
    if isinstance(recipe, list):
        return Recipe.from_list(recipe, source="run --recipe")
    return Recipe.from_yaml(Path(recipe))




def _treatment(test: Version | None, from_file: bool, steps: list[dict[str, Any]]) -> str:
    """One sentence on what was done to the test rows."""
    if test is None:
        return ""
    origin = ("the user's test file" if from_file else
              "held out from the ingested rows before any cleaning (leakage-free split)")
    done = ", ".join(s["step"] + (f" ({s['mode']})" if "mode" in s else "") for s in steps) or "nothing"
    return (f"test rows: {origin}; transforms applied: {done}; no test row was dropped by a model or by "
            "other rows (rows without a label are not scored).")

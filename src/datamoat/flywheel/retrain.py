"""The loop: ready feedback -> new training version -> clean -> retrain -> compare -> promote or keep.

:func:`retrain` is what ``datamoat retrain``, the admin endpoint and the UI button call:

1. The model's champion and its frozen test version; the feedback records that are ready
   (labelled, accepted) and not yet consumed. No feedback: DatamoatError, nothing recorded.
2. **Merge** (:func:`datamoat.flywheel.merge.merge_feedback`): the training version of the
   newest model the loop knows (the champion, or a later challenger that was compared and
   kept, so feedback accumulates over rounds) + one row per feedback record -> a new version of
   that dataset whose parent is that version.
3. **Clean** with the training rows' default recipe (normalise, drop missing and too-short
   rows, exact dedup; PII redaction already ran when the feedback was logged). It has no
   model-based or cross-row step, so the base rows, which were cleaned when they were made,
   are not judged again (a second label-issue pass dropped more of them each round); new
   feedback is screened when it is answered (a correction that contradicts a confident
   prediction goes to review). Dropped rows stay in the cleaned version's exclusions.
4. **Train** the challenger (:func:`datamoat.models.training.train_model`) on the cleaned
   version, tested on the champion's frozen test version; it is registered as ``challenger``.
   A champion trained with ``--augment auto`` gives its challenger the same setting:
   augmentation is tried again on the challenger's real rows and kept only if it passes the gate
   (the merge left the champion's synthetic rows out).
5. **Compare** (:func:`datamoat.models.evaluation.compare.compare_models`) on that test version; the
   challenger is promoted only when it wins significantly (McNemar's test and the paired
   bootstrap both at ``alpha``). Comparison report: ``.datamoat/reports/retrain-<model>-<n>.html``
   (n: the challenger's version number).
6. **Record** the decision (the ``flywheel_decisions`` row, the alias moves and the audit
   event in one transaction), then mark the feedback consumed, then call ``on_promote``.

A language model's champion is retrained by :func:`datamoat.flywheel.lm_retrain.retrain_lm`
instead: its accepted generations (thumbs up, corrected continuations) become training documents,
and the challenger is promoted only when its validation loss on the champion's validation text is lower.

If a step fails, nothing claims success: no decision row is written and the feedback stays
ready for the next retrain; the error is raised as one DatamoatError sentence. Two retrains of
one model never run at once (a file lock in ``.datamoat/locks``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd
from filelock import FileLock, Timeout

from datamoat.budget import Deadline
from datamoat.data.version import Version
from datamoat.errors import DatamoatError, NotFoundError
from datamoat.flywheel.decisions import RetrainDecision, list_decisions, record_decision
from datamoat.flywheel.merge import merge_feedback, split_new_feedback
from datamoat.models.registry import ModelRecord, ModelRegistry
from datamoat.models.training import models_registry

if TYPE_CHECKING:
    from datamoat.pipeline.recipe import Recipe
    from datamoat.workspace import Workspace

__all__ = ["RetrainDecision", "list_decisions", "retrain"]

LOCK_TIMEOUT_S = 2.0
"""How long a retrain waits for another retrain of the same model before giving up."""


def _champion(registry: ModelRegistry, name: str) -> ModelRecord:
    try:
        return registry.resolve(f"{name}@champion")
    except NotFoundError:
        registry.resolve(name)  # NotFoundError naming the known models when there is no such model
        raise DatamoatError(
            f"model {name!r} has no champion to retrain; point the alias at a version first "
            f"(`datamoat alias {name}@N champion`)."
        ) from None


def _base_record(ws: Workspace, registry: ModelRegistry, name: str, champion: ModelRecord) -> ModelRecord:
    """The newest model the loop knows: the champion, or a newer challenger with a recorded decision.

    A challenger whose retrain stopped before its decision was recorded is not a base: its
    feedback was not consumed and will be merged again.
    """
    known = {champion.id} | {d.challenger_id for d in list_decisions(ws.catalog, name) if d.challenger_id}
    candidates = [m for m in registry.list(name) if m.id in known]
    return candidates[-1] if candidates else champion


def _feedback_store(ws: Workspace) -> Any:
    from datamoat.feedback.records import FeedbackStore

    return FeedbackStore(ws.catalog)


def _default_recipe(version: Version) -> Recipe:
    from datamoat.clean.default_recipe import training_clean_recipe

    return training_clean_recipe(version.roles)


def _side(record: ModelRecord, scores: dict[str, Any]) -> dict[str, Any]:
    keys = ("accuracy", "accuracy_ci", "macro_f1", "macro_f1_ci")
    return {"id": record.id, "ref": record.ref, "kind": record.kind, **{k: scores.get(k) for k in keys}}


def _reason(comparison: dict[str, Any], champion: ModelRecord, challenger: ModelRecord, alpha: float) -> str:
    a, b = comparison["a"]["accuracy"], comparison["b"]["accuracy"]
    p = comparison["mcnemar"]["p_value"]
    boot = comparison["bootstrap"]
    level = round(100 * (1 - alpha))
    facts = (f"accuracy {b:.4f} vs {a:.4f}, McNemar p={p:.3g}, {level}% bootstrap interval of the "
             f"difference [{boot['ci_low']:+.4f}, {boot['ci_high']:+.4f}]")
    if comparison["winner"] == "b":
        return f"promoted: challenger {challenger.ref} is significantly more accurate than champion {champion.ref} ({facts})."
    if comparison["winner"] == "a":
        return f"kept: champion {champion.ref} is significantly more accurate than challenger {challenger.ref} ({facts})."
    return (f"kept: challenger {challenger.ref} is not significantly more accurate than champion "
            f"{champion.ref} at alpha={alpha:g} ({facts}).")


def _check_fits(deadline: Deadline, champion: ModelRecord, kind: str, rows: int) -> None:
    """DatamoatError when training ``kind`` on ``rows`` rows is estimated not to end before ``deadline``.

    The estimate is the seconds of the champion's one final fit (``info["fit_seconds"]``, not its
    whole selection) scaled by rows (fitting is about linear in rows for every kind); kinds that
    stop by themselves (``finetune``'s ``max_seconds``, ``auto``'s selection) and champions
    without a measured fit pass.
    """
    if kind in ("auto", "finetune") or kind != champion.kind:
        return
    seconds = champion.info.get("fit_seconds")
    train_rows = champion.info.get("train_rows")
    if not seconds:
        return
    estimate = float(seconds) * (rows / train_rows if train_rows else 1.0)
    if not deadline.fits(estimate):
        raise DatamoatError(
            f"training {kind} on {rows:,} rows is estimated at {estimate:.0f} s (the champion's final fit "
            f"took {float(seconds):.0f} s on {train_rows or rows:,} rows), more than the {max(deadline.left(), 0):.0f} s left of the "
            "retrain budget; give a larger --budget."
        )


def retrain(
    ws: Workspace,
    model_name: str,
    *,
    model: str = "same",
    budget: str | float | Deadline = "10m",
    alpha: float = 0.05,
    recipe: Recipe | list[dict[str, Any]] | None = None,
    feedback: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
    on_promote: Callable[[ModelRecord], None] | None = None,
    lock_timeout_s: float = LOCK_TIMEOUT_S,
    dp_epsilon: float | None = None,
    dp_delta: float | None = None,
) -> RetrainDecision:
    """Retrain model ``model_name`` on its feedback; promote the challenger only if significantly better.

    model: ``same`` (the champion's kind), ``auto`` (select within ``budget``) or a trainer kind.
    budget: time budget of the whole retrain (``"10m"``, ``"90s"``, seconds or a
    :class:`~datamoat.budget.Deadline`), parsed before anything is written; training gets what
    cleaning left, and a training of a fixed kind whose estimate (the champion's measured
    training time, scaled by rows) does not fit is refused with one sentence. alpha: significance level of
    the comparison. recipe: the cleaning recipe (default:
    :func:`~datamoat.clean.default_recipe.training_clean_recipe`). feedback: rows DataFrame[record_id, text, label] to use instead of the feedback
    store's ready records (their ids are marked consumed in the store all the same).
    progress: called with one line per stage. on_promote: called with the new champion's record
    after a promotion was recorded. dp_epsilon / dp_delta: train the challenger with differential
    privacy, spending from the training data's budget (as :func:`~datamoat.models.training.train_model`).

    Returns the recorded :class:`RetrainDecision`; its ``figures`` hold ``champion`` /
    ``challenger`` ({id, ref, kind, accuracy, accuracy_ci, macro_f1, macro_f1_ci} on the frozen
    test version), ``accuracy_difference``, ``mcnemar_p``, ``bootstrap_ci``, ``significant``,
    ``alpha``, ``model``, ``augment`` (the champion's setting: ``auto`` or ``off``), ``rows`` (test, base, feedback, merged, train), ``dropped_by_reason``,
    ``versions`` (refs), ``report`` (HTML path) and ``timings_s`` (seconds per stage).
    """
    deadline = Deadline.parse(budget)
    if not 0.0 < alpha < 1.0:
        raise DatamoatError(f"alpha={alpha!r} must be between 0 and 1.")
    _champion(models_registry(ws), model_name)  # unknown model / no champion: say so before locking
    lock_dir = ws.state / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_dir / f"retrain-{model_name}.lock"), timeout=lock_timeout_s)
    try:
        lock.acquire()
    except Timeout:
        raise DatamoatError(f"a retrain of {model_name!r} is already running; wait for it to finish.") from None
    try:
        return _retrain_locked(ws, model_name, model=model, budget=deadline, alpha=alpha, recipe=recipe,
                               feedback=feedback, say=progress or (lambda _msg: None), on_promote=on_promote,
                               dp_epsilon=dp_epsilon, dp_delta=dp_delta)
    finally:
        lock.release()


def _retrain_locked(
    ws: Workspace,
    name: str,
    *,
    model: str,
    budget: Deadline,
    alpha: float,
    recipe: Recipe | list[dict[str, Any]] | None,
    feedback: pd.DataFrame | None,
    say: Callable[[str], None],
    on_promote: Callable[[ModelRecord], None] | None,
    dp_epsilon: float | None = None,
    dp_delta: float | None = None,
) -> RetrainDecision:
    """:func:`retrain` once the lock is held."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    registry = models_registry(ws)
    champion = _champion(registry, name)
    if champion.info.get("task") == "lm":  # a language model: feedback documents, judged by validation loss
        from datamoat.flywheel.lm_retrain import retrain_lm

        if model != "same" or recipe is not None or feedback is not None or dp_epsilon is not None:
            raise DatamoatError(f"{name!r} is a language model; its retrain takes only a budget (the champion's kind, "
                                "parameters and seed are reused).")
        return retrain_lm(ws, name, champion, _base_record(ws, registry, name, champion), budget=budget, say=say,
                          on_promote=on_promote)
    if champion.test_version_id is None:
        raise DatamoatError(f"champion {champion.ref} has no test version to compare a challenger on.")
    store = _feedback_store(ws)
    rows = store.ready_records(name) if feedback is None else feedback
    if rows is None or len(rows) == 0:
        raise DatamoatError(
            f"no new feedback for model {name!r}; retraining needs labelled feedback that is ready "
            "and not yet used (corrections, confirmed predictions or answered annotations)."
        )
    record_ids = [int(r) for r in rows["record_id"]]
    base_record = _base_record(ws, registry, name, champion)
    base = ws.version_by_id(base_record.train_version_id)
    test_v = ws.version_by_id(champion.test_version_id)
    kind = champion.kind if model == "same" else model
    # the challenger gets the champion's augmentation setting (tried and gated again on its own rows)
    augment = "auto" if "augmentation" in (champion.info.get("selection") or {}) else "off"
    fresh, already = split_new_feedback(base, rows)
    if fresh.empty:
        # a retrain recorded its decision with these records but stopped before marking them;
        # without such a decision nothing claims they were used, so they stay ready
        decided = any(d.train_version_id == base.record.id for d in list_decisions(ws.catalog, name))
        if decided:
            store.mark_consumed(already, base.record.id)
        raise DatamoatError(
            f"no new feedback for model {name!r}; the {len(already)} ready records were already in "
            f"{base.ref}" + (" and are now marked as used." if decided else
                             ", which no recorded retrain decision used; they stay ready.")
        )
    say(f"champion {champion.ref} ({champion.kind}); {len(rows):,} feedback records; base {base.ref}")

    stage = "loading the champion"
    try:
        champion_trainer = registry.load(champion.ref)
        stage = "merging the feedback into the training data"
        t = time.perf_counter()
        merged = merge_feedback(ws, base, fresh, model_name=name)
        timings["merge"] = time.perf_counter() - t
        say(f"merged {merged.version.ref}: {merged.base_rows:,} base rows + {len(merged.added_record_ids):,} feedback rows")

        stage = "cleaning the merged data"
        t = time.perf_counter()
        chosen = recipe if recipe is not None else _default_recipe(merged.version)
        applied = ws.apply(merged.version.ref, chosen, label="clean")
        cleaned = applied.version
        timings["clean"] = time.perf_counter() - t
        say(f"cleaned {cleaned.ref}: {applied.rows_out:,} of {applied.rows_in:,} rows kept "
            f"({', '.join(f'{k}: {v}' for k, v in applied.dropped_by_reason.items()) or 'nothing dropped'})")

        stage = "training the challenger"
        from datamoat.models.training import (
            check_labels_present,
            register_compressed,
            train_model,
            user_frame,
        )

        _check_fits(budget, champion, kind, cleaned.num_rows)
        t = time.perf_counter()
        result = train_model(ws, cleaned.ref, model=kind, name=name, test=test_v.ref, budget=budget,
                             learning_curve=False, progress=say, dp_epsilon=dp_epsilon, dp_delta=dp_delta,
                             augment=augment)
        challenger = result.record
        challenger_trainer = result.trainer
        timings["train"] = time.perf_counter() - t
        method = (champion.info.get("compression") or {}).get("method")
        if method:
            stage = f"compressing the challenger ({method}, like the champion)"
            t = time.perf_counter()
            # a champion served as an int8 model is challenged by one in the same form, so a
            # promotion keeps the server's speed and the comparison judges what would be served
            challenger, challenger_trainer, _ = register_compressed(
                registry, challenger, result.trainer, check_labels_present(user_frame(test_v), result.trainer, test_v.ref),
                test_version_id=challenger.test_version_id, work_root=ws.state / "tmp", method=method, report=False,
                aliases=["challenger"])
            timings["compress"] = time.perf_counter() - t
            say(f"compressed {result.record.ref} -> {challenger.ref} ({method}), as the champion was")

        stage = "comparing challenger and champion"
        from datamoat.models.evaluation.compare import compare_models, write_comparison_report

        t = time.perf_counter()
        test_df = check_labels_present(user_frame(test_v), champion_trainer, test_v.ref)
        comparison = compare_models(champion_trainer, challenger_trainer, test_df, alpha=alpha)
        report = write_comparison_report(
            comparison, ws.state / "reports" / f"retrain-{name}-{challenger.ordinal}.html",
            names=(f"{champion.ref} (champion)", f"{challenger.ref} (challenger)"))
        timings["compare"] = time.perf_counter() - t

        stage = "recording the decision"
        promoted = comparison["winner"] == "b"
        timings["total"] = time.perf_counter() - started
        figures = {
            "champion": _side(champion, comparison["a"]),
            "challenger": _side(challenger, comparison["b"]),
            "accuracy_difference": comparison["accuracy_difference"],
            "mcnemar_p": comparison["mcnemar"]["p_value"],
            "mcnemar": comparison["mcnemar"],
            "bootstrap_ci": [comparison["bootstrap"]["ci_low"], comparison["bootstrap"]["ci_high"]],
            "bootstrap": comparison["bootstrap"],
            "agreement": comparison["agreement"],
            "significant": comparison["significant"],
            "winner": comparison["winner"],
            "alpha": alpha,
            "model": kind,
            "augment": augment,
            "rows": {"test": comparison["rows"], "base": merged.base_rows,
                     "feedback": len(merged.added_record_ids), "merged": merged.rows, "train": cleaned.num_rows},
            "dropped_by_reason": applied.dropped_by_reason,
            "versions": {"base": base.ref, "merged": merged.version.ref, "train": cleaned.ref, "test": test_v.ref},
            "report": str(report),
            "timings_s": {k: round(v, 3) for k, v in timings.items()},
        }
        decision = record_decision(
            ws.catalog, model_name=name, promoted=promoted, reason=_reason(comparison, champion, challenger, alpha),
            champion_id=champion.id, challenger_id=challenger.id, train_version_id=cleaned.record.id,
            test_version_id=test_v.record.id, feedback_rows=len(merged.added_record_ids), figures=figures,
        )
    except DatamoatError as exc:
        raise DatamoatError(f"retrain of {name!r} stopped while {stage}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - any failure: one sentence, feedback left for the next retrain
        raise DatamoatError(f"retrain of {name!r} stopped while {stage}: {type(exc).__name__}: {exc}") from exc

    store.mark_consumed(record_ids, cleaned.record.id)
    say(decision.reason)
    if promoted and on_promote is not None:
        new_champion = registry.get_by_id(challenger.id)
        try:
            on_promote(new_champion)
        except Exception as exc:  # noqa: BLE001 - the promotion is recorded; the caller must know the hook failed
            raise DatamoatError(
                f"{new_champion.ref} was promoted to champion of {name!r}, but the on_promote callback failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return decision

"""``--model auto``: choose a trainer by cross-validated score within a time budget.

Candidates run cheapest first on the same stratified k folds of the training data (so their
scores are paired), each scored on its out-of-fold predictions:

- text: ``tfidf-linear``, ``embed-linear`` (encoder vectors computed once and cached), then
  ``finetune`` only when its measured-throughput estimate for one fold + the final fit fits the
  time left; tabular: ``tabular-linear``, ``tabular``. Costly candidates (finetune) are judged
  on the first fold's held-out rows only, and win only by beating the best k-fold candidate on
  that same fold and its mean;
- every candidate is estimated from its first fold: one whose remaining folds and refit would
  pass the deadline is skipped with the estimate (the first candidate is always scored);
- optionally (Optuna installed, ``search=True``) a search over the regularisation ``C`` of the
  best linear candidate, with half of the time left;
- equal-weight ensembles of every pair of scored candidates, scored from the members'
  out-of-fold probabilities (no extra fitting).

- under any metric but accuracy (imbalanced labels), balanced class weights for the tabular kinds; with
  ``label_cleaning``, the best candidate on label-cleaned training folds
  (:mod:`datamoat.models.cleaning_gate`), which must pass the gate; with ``augment``, the best
  candidate with synthetic rows added to its training folds (:mod:`datamoat.models.augment_gate`),
  which must pass the flywheel's paired significance test.

The best mean score wins; ties go to the cheaper candidate. The winner is refitted on all the
training data (an ensemble reuses its members' refits). Every candidate is reported with its
score, time, and, when it was skipped, why.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datamoat.budget import Deadline
from datamoat.errors import DatamoatError
from datamoat.models.augment_gate import AUGMENT, FoldAugmenter, synthetic_rows, with_synthetic
from datamoat.models.augment_gate import gate as augment_gate
from datamoat.models.cleaning_gate import ACTIONS, CLEANING, FoldFindings, cleaned_rows, find_issues, gate
from datamoat.models.evaluation.curves import PROBA_METRICS, proba_metric, rarer_class
from datamoat.models.evaluation.evaluate import stratified_folds
from datamoat.models.evaluation.metrics import metric_value
from datamoat.models.trainers.contract import Trainer, create_trainer, label_strings
from datamoat.models.trainers.ensemble import EnsembleTrainer

TEXT_CANDIDATES = ("tfidf-linear", "embed-linear", "finetune")
TABULAR_CANDIDATES = ("tabular-linear", "tabular")
SEARCH_SPACES: dict[str, tuple[float, float]] = {
    "tfidf-linear": (0.05, 5.0),
    "embed-linear": (1.0, 100.0),
    "tabular-linear": (0.01, 10.0),
}
"""Log-uniform range of ``C`` searched per kind."""
SELECTION_METRICS = ("accuracy", "macro_f1", "balanced_accuracy", "roc_auc", "average_precision")
"""What selection can maximise; the last two rank by probability (binary: the rarer class is
positive; multi-class: macro one-vs-rest)."""
EMBEDDING_KINDS = ("embed-linear",)
"""Kinds whose cost is mostly encoding each text once (cached), warmed before their folds."""
PROBE_TEXTS = 64
BALANCEABLE = ("tabular-linear", "tabular")
"""Kinds whose default has no class weights: under any metric but accuracy a balanced variant is scored
(the text kinds embed-linear and finetune weight classes by default)."""
DEFAULT_BUDGET_S = 600.0
DEFAULT_FOLDS = 3


@dataclass
class Candidate:
    """One candidate: what it is, its cross-validated score and cost, or why it was skipped."""

    name: str
    kind: str
    params: dict[str, Any]
    status: str = "pending"  # scored | skipped | failed
    scores: list[float] = field(default_factory=list)
    seconds: float = 0.0
    reason: str = ""
    oof_proba: np.ndarray | None = None
    members: tuple[str, ...] = ()
    cleaning: str | None = None
    """The cleaning this candidate's training rows got (``label_issues``), None for raw rows."""
    augmentation: str | None = None
    """The synthetic rows this candidate's training folds got (``augment``), None for none."""
    one_fold: bool = False
    """Judged on the first fold's held-out rows only (the rule for costly candidates: finetune)."""

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores)) if self.scores else float("nan")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "params": self.params, "status": self.status,
                               "seconds": round(self.seconds, 3)}
        if self.scores:
            out.update(cv_mean=round(self.mean, 5), cv_std=round(float(np.std(self.scores)), 5),
                       cv_scores=[round(s, 5) for s in self.scores])
        if self.reason:
            out["reason"] = self.reason
        if self.members:
            out["members"] = list(self.members)
        if self.cleaning:
            out["cleaning"] = self.cleaning
        if self.augmentation:
            out["augmentation"] = self.augmentation
        if self.one_fold:
            out["judged_on"] = "one held-out fold (costly candidates, or no time for the other folds)"
        return out


@dataclass
class Selection:
    """The outcome: the fitted winner, every candidate, the metric and the reason."""

    trainer: Trainer
    chosen: str
    metric: str
    folds: int
    candidates: list[Candidate]
    reason: str
    seconds: float
    fold_notes: list[str] = field(default_factory=list)
    label_cleaning: dict[str, Any] | None = None
    """The gate's decision (:func:`datamoat.models.cleaning_gate.gate`) when it ran."""
    augmentation: dict[str, Any] | None = None
    """The augmentation gate's decision (:func:`datamoat.models.augment_gate.gate`) when it ran."""
    refit_seconds: float = 0.0
    """Seconds of the winner's final fit on all training rows (one fit: what a retrain costs)."""

    def to_dict(self) -> dict[str, Any]:
        out = {"chosen": self.chosen, "metric": self.metric, "folds": self.folds, "reason": self.reason,
               "fold_notes": self.fold_notes,
               "seconds": round(self.seconds, 3), "refit_seconds": round(self.refit_seconds, 3),
               "candidates": [c.to_dict() for c in self.candidates]}
        if self.label_cleaning is not None:
            out["label_cleaning"] = self.label_cleaning
        if self.augmentation is not None:
            out["augmentation"] = self.augmentation
        return out


def _oof_scores(
    oof: np.ndarray, y: np.ndarray, classes: list[str], folds: list[tuple[np.ndarray, np.ndarray]], metric: str
) -> list[float]:
    """``metric`` on each fold's held-out rows: from the arg-max, or from the probabilities (ROC AUC, AP)."""
    if metric in PROBA_METRICS:
        positive = rarer_class(y, classes)
        return [proba_metric(y[test], oof[test], classes, metric, positive) for _, test in folds]
    pred = np.asarray(classes, dtype=object)[oof.argmax(axis=1)]
    return [metric_value(y[test], pred[test], metric) for _, test in folds]


def refit_seconds(fold_seconds: float, k: int) -> float:
    """Seconds of one fit on all rows from one fold's seconds: a fold fits on (k-1)/k of the
    rows, and fitting is about linear in rows for these trainers."""
    return fold_seconds * k / max(1, k - 1)


class _Search:
    """Shared state of one selection run (data, folds, clock)."""

    def __init__(self, data: pd.DataFrame, label_column: str, k: int, seed: int, metric: str,
                 deadline: Deadline, cache_dir: Path | None, progress: Callable[[str], None] | None) -> None:
        self.data = data.reset_index(drop=True)
        self.label_column = label_column
        self.seed = seed
        self.y = label_strings(self.data[label_column], label_column, "training data")
        self.classes = sorted(set(self.y))
        if len(self.classes) < 2:
            only = f" (every row is {self.classes[0]!r})" if self.classes else ""
            raise DatamoatError(
                f"label column {label_column!r} has one class{only}; a classifier needs at least two."
            )
        self.folds, self.k, self.notes = stratified_folds(self.y, k, seed, what=f"label column {label_column!r}")
        self.metric = metric
        self.deadline = deadline
        self.cache_dir = cache_dir
        self.start = time.perf_counter()
        self.progress = progress or (lambda _msg: None)

    def left(self) -> float:
        return self.deadline.left()

    def make(self, kind: str, params: dict[str, Any]) -> Trainer:
        trainer = create_trainer(kind, **params)
        if self.cache_dir is not None and hasattr(trainer, "use_embedding_cache"):
            trainer.use_embedding_cache(self.cache_dir)
        return trainer

    def refit_estimate(self, cand: Candidate) -> float:
        """Seconds of one fit of ``cand`` on all rows, from its measured fold times."""
        return refit_seconds(cand.seconds / len(cand.scores or [None]), self.k)

    def score(self, cand: Candidate, *, may_skip: bool = True, one_fold: bool = False,
              train_rows: Callable[[int, pd.DataFrame], pd.DataFrame] | None = None) -> None:
        """Fit on each fold's train part, predict its test part; fills scores and oof_proba.

        After the first fold the rest is estimated from its measured time: when the remaining
        folds plus a refit on all rows would pass the deadline, the candidate is skipped with
        that estimate (the deadline is a promise, not a hint). ``may_skip`` False scores it all
        the same (the first candidate: a selection always returns a model). ``one_fold``: judge
        it on the first fold's held-out rows only (costly candidates). ``train_rows(fold, part)``:
        the rows to fit on instead of a fold's training part (label cleaning); the held-out part
        is never touched.
        """
        if may_skip and self.deadline.expired():
            cand.status, cand.reason = "skipped", "the time budget was spent"
            self.progress(f"{cand.name}: skipped ({cand.reason})")
            return
        folds = self.folds[:1] if one_fold else self.folds
        t0 = time.perf_counter()
        oof = np.zeros((len(self.data), len(self.classes)))
        col = {c: i for i, c in enumerate(self.classes)}
        fitted_notes: list[str] = []
        try:
            for i, (train_idx, test_idx) in enumerate(folds):
                part = self.data.iloc[train_idx]
                trainer = self.make(cand.kind, cand.params).fit(train_rows(i, part) if train_rows else part)
                proba = trainer.predict_proba(self.data.iloc[test_idx])
                oof[np.ix_(test_idx, [col[c] for c in trainer.classes_])] = proba
                note = getattr(trainer, "fallback_", None)  # e.g. tfidf-linear's LR instead of the SVM
                if note and note not in fitted_notes:
                    fitted_notes.append(note)
                if i == 0 and len(folds) > 1:
                    fold_s = time.perf_counter() - t0
                    rest = fold_s * (self.k - 1) + refit_seconds(fold_s, self.k)
                    if not may_skip and not self.deadline.fits(rest):
                        # the first candidate must give a model: judged on this fold alone, refit next
                        folds, one_fold = folds[:1], True
                        fitted_notes.append(f"judged on one fold: the other {self.k - 1} were estimated at "
                                            f"{fold_s * (self.k - 1):.0f} s, more than the "
                                            f"{max(self.deadline.left(), 0):.0f} s left of the budget")
                        break
                    if may_skip and not self.deadline.fits(rest):
                        cand.status = "skipped"
                        cand.seconds = time.perf_counter() - t0
                        cand.reason = (f"one fold took {fold_s:.1f} s; the other {self.k - 1} folds and the "
                                       f"refit on all rows are estimated at {rest:.0f} s, more than the "
                                       f"{max(self.deadline.left(), 0):.0f} s left of the budget")
                        self.progress(f"{cand.name}: skipped ({cand.reason})")
                        return
        except DatamoatError as exc:
            cand.status, cand.reason = "failed", str(exc)
            cand.seconds = time.perf_counter() - t0
            return
        if fitted_notes:
            cand.reason = "; ".join(fitted_notes)
        cand.oof_proba = oof
        cand.scores = _oof_scores(oof, self.y, self.classes, folds, self.metric)
        if one_fold:
            cand.one_fold = True
            cand.oof_proba = None  # held-out probabilities for one fold only: no ensembles with it
        cand.status = "scored"
        cand.seconds = time.perf_counter() - t0
        self.progress(f"{cand.name}: {self.metric} {cand.mean:.4f} ({cand.seconds:.1f} s)")


def select_model(
    train: pd.DataFrame,
    *,
    label_column: str,
    text_column: str | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    deadline: Deadline | None = None,
    metric: str = "accuracy",
    k: int = DEFAULT_FOLDS,
    seed: int = 0,
    search: bool = True,
    candidates: tuple[str, ...] | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    label_cleaning: bool = False,
    clean_train: Callable[[str], pd.DataFrame] | None = None,
    augment: bool = False,
    augment_train: Callable[[], pd.DataFrame] | None = None,
) -> Selection:
    """Score candidates by k-fold CV before ``deadline``; return the refitted winner.

    train: the training rows (label and features). text_column: set for text tasks (None:
    tabular). deadline: the clock shared with the caller (default: ``budget_s`` seconds from
    now); selection AND the winner's refit end before it, except for at most one fold of
    overrun. metric: one of :data:`SELECTION_METRICS`. candidates: the kinds to try (default:
    by task). cache_dir: where encoder vectors are cached. label_cleaning: also score the best
    candidate on label-cleaned training folds (:mod:`datamoat.models.cleaning_gate`); it can win
    only through the gate. clean_train: when one wins, called with its action (``drop`` or
    ``relabel``) for the cleaned training rows the winner is refitted on (the caller registers
    them as a version with the dropped rows kept); default: the same cleaning in memory.
    augment: also score the best candidate with synthetic rows added to its training folds
    (:mod:`datamoat.models.augment_gate`); it can win only through the gate. augment_train: when
    it wins, called for the augmented training rows the winner is refitted on (the caller
    registers them as a version); default: the same augmentation in memory.
    """
    if metric not in SELECTION_METRICS:
        raise DatamoatError(f"selection metric {metric!r} is not known; use {', '.join(SELECTION_METRICS)}.")
    deadline = deadline or Deadline(budget_s)
    s = _Search(train, label_column, k, seed, metric, deadline, cache_dir, progress)
    base: dict[str, Any] = {"label_column": label_column}
    if text_column is not None:
        base["text_column"] = text_column
    kinds = candidates or (TEXT_CANDIDATES if text_column is not None else TABULAR_CANDIDATES)
    pool: list[Candidate] = []
    for kind in kinds:
        cand = Candidate(name=kind, kind=kind, params=dict(base))
        pool.append(cand)
        if s.left() <= 0 and any(c.status == "scored" for c in pool):
            cand.status, cand.reason = "skipped", "the time budget was spent"
            s.progress(f"{kind}: skipped ({cand.reason})")
            continue
        if kind == "finetune":
            _score_finetune(s, cand)
            continue
        may_skip = any(c.status == "scored" for c in pool)
        if kind in EMBEDDING_KINDS and s.cache_dir is not None and not _warm_embeddings(s, cand, may_skip):
            continue
        s.score(cand, may_skip=may_skip)

    if metric != "accuracy":
        # on imbalanced labels, class weights are a candidate like any other (same folds, same gate)
        for base_cand in [c for c in pool if c.status == "scored" and c.kind in BALANCEABLE]:
            weighted = Candidate(name=f"{base_cand.name} (balanced class weights)", kind=base_cand.kind,
                                 params={**base_cand.params, "class_weight": "balanced"})
            pool.append(weighted)
            s.score(weighted)

    if search and any(c.status == "scored" and c.kind in SEARCH_SPACES for c in pool):
        _tune(s, pool, base)
    elif search:
        pool.append(Candidate(name="search over C", kind="search", params={}, status="skipped",
                              reason="no scored linear candidate to search around"))

    decision: dict[str, Any] | None = None
    if label_cleaning:
        decision = _label_cleaning(s, pool, text_column)
    augmented: dict[str, Any] | None = None
    if augment:
        augmented = _augmentation(s, pool, text_column)

    scored = [c for c in pool if c.status == "scored" and c.cleaning is None and c.augmentation is None
              and not c.one_fold]
    for a, b in itertools.combinations(scored, 2):
        if a.kind == b.kind:
            continue
        name = f"ensemble({a.name}+{b.name})"
        refit = s.refit_estimate(a) + s.refit_estimate(b)
        if not s.deadline.fits(refit):
            pool.append(Candidate(name=name, kind="ensemble", params={}, status="skipped", members=(a.name, b.name),
                                  reason=f"refitting both members is estimated at {refit:.0f} s, more than the "
                                         f"{max(s.left(), 0):.0f} s left of the budget"))
            continue
        oof = (a.oof_proba + b.oof_proba) / 2  # type: ignore[operator]
        pool.append(Candidate(
            name=name, kind="ensemble", params={}, status="scored",
            scores=_oof_scores(oof, s.y, s.classes, s.folds, metric), seconds=a.seconds + b.seconds,
            oof_proba=oof, members=(a.name, b.name),
        ))

    ranked = [c for c in pool if c.status == "scored"]
    if not ranked:
        reasons = "; ".join(f"{c.name}: {c.reason}" for c in pool if c.reason)
        raise DatamoatError(f"no model could be trained: {reasons}")
    # highest mean; ties to the cheaper (earlier, fewer seconds)
    full = [c for c in ranked if not c.one_fold] or ranked
    best = max(full, key=lambda c: (round(c.mean, 6), -c.seconds))
    reason = f"highest mean {metric} over {s.k} folds ({best.mean:.4f})"
    # a costly candidate judged on the first fold only must beat the best on that same fold AND its mean
    for c in (c for c in ranked if c.one_fold and c is not best):
        if c.scores[0] > max(best.scores[0], best.mean):
            reason = (f"{c.name} {c.scores[0]:.4f} on the first fold beats {best.name} there "
                      f"({best.scores[0]:.4f}) and on average ({best.mean:.4f})")
            best = c
    runner = max((c for c in ranked if c is not best), key=lambda c: c.mean, default=None)
    if runner is not None:
        reason += f"; next best {runner.name} {runner.mean:.4f}"

    progress = progress or (lambda _msg: None)
    progress(f"refitting {best.name} on all {len(s.data):,} training rows")
    by_name = {c.name: c for c in pool}
    refit_start = time.perf_counter()
    if best.kind == "ensemble":
        members = [s.make(by_name[m].kind, by_name[m].params).fit(s.data) for m in best.members]
        winner: Trainer = EnsembleTrainer.from_members(members)
    elif best.cleaning:
        action = best.cleaning.split(":", 1)[1]
        rows = clean_train(action) if clean_train is not None else cleaned_rows(
            s.data, find_issues(s.data, str(text_column), label_column, seed), label_column, action)[0]
        progress(f"label cleaning passed the gate: refitting on {len(rows):,} of {len(s.data):,} rows")
        winner = s.make(best.kind, best.params).fit(rows)
    elif best.augmentation:
        rows = augment_train() if augment_train is not None else with_synthetic(
            s.data, synthetic_rows(s.data, text_column=text_column, label_column=label_column, seed=seed))
        progress(f"augmentation passed the gate: refitting on {len(s.data):,} rows + {len(rows) - len(s.data):,} "
                 "synthetic ones")
        winner = s.make(best.kind, best.params).fit(rows)
    else:
        winner = s.make(best.kind, best.params).fit(s.data)
    for c in pool:
        c.oof_proba = None
    return Selection(trainer=winner, chosen=best.name, metric=metric, folds=s.k, candidates=pool,
                     reason=reason, seconds=time.perf_counter() - s.start, fold_notes=s.notes,
                     label_cleaning=decision, augmentation=augmented,
                     refit_seconds=time.perf_counter() - refit_start)


def _augmentation(s: _Search, pool: list[Candidate], text_column: str | None) -> dict[str, Any]:
    """Score the best single k-fold candidate with synthetic rows added to each training fold
    and gate it (:func:`datamoat.models.augment_gate.gate`); the decision. Skipped with the
    estimate when its folds and refit (on about as many more rows as augmentation adds) would
    pass the deadline."""
    singles = [c for c in pool if c.status == "scored" and c.kind not in ("ensemble", "search")
               and c.cleaning is None and not c.one_fold and c.oof_proba is not None]
    if not singles:
        spent = any(c.status == "scored" and c.one_fold for c in pool)
        reason = ("skipped: the budget was spent before a candidate was scored on every fold, so there are no "
                  "out-of-fold predictions to gate augmentation on" if spent else "no scored candidate to compare with")
        return {"step": AUGMENT, "kept": False, "reason": reason}
    base = max(singles, key=lambda c: c.mean)
    made = synthetic_rows(s.data, text_column=text_column, label_column=s.label_column, seed=s.seed)
    growth = (len(s.data) + len(made.rows)) / max(1, len(s.data))
    if not len(made.rows):
        return {"step": AUGMENT, "candidate": base.name, "kept": False, "method": made.method,
                "reason": "augmentation makes no rows for these training rows", **made.summary()}
    estimate = (base.seconds + s.refit_estimate(base)) * growth
    if not s.deadline.fits(estimate):
        reason = (f"its folds and refit on {growth:.1f}x the rows are estimated at {estimate:.0f} s, more than the "
                  f"{max(s.left(), 0):.0f} s left of the budget")
        s.progress(f"augmentation: skipped ({reason})")
        return {"step": AUGMENT, "candidate": base.name, "kept": False, "reason": f"skipped: {reason}"}
    folds = FoldAugmenter(text_column, s.label_column, s.seed)
    cand = Candidate(name=f"{base.name} + augmentation", kind=base.kind, params=dict(base.params),
                     augmentation=made.method)
    s.score(cand, train_rows=folds)
    if cand.status == "scored":
        cand.reason = (f"{made.method} rows added to each fold's training rows: "
                       f"{', '.join(str(sum(f.values())) for f in folds.added)}")
    pool.append(cand)
    decision = augment_gate(base, cand, s.y, s.classes, folds)
    verdict = "passes the gate" if decision["kept"] else "does not pass"
    s.progress(f"{cand.name}: {decision.get('augmented')} vs {decision.get('raw')} without, {verdict}")
    return decision


def _label_cleaning(s: _Search, pool: list[Candidate], text_column: str | None) -> dict[str, Any]:
    """Score the best single k-fold candidate on label-cleaned training folds, once per action of
    :data:`~datamoat.models.cleaning_gate.ACTIONS`, and gate each; the decision."""
    if text_column is None:
        return {"step": CLEANING, "kept": False,
                "reason": "label-issue cleaning is offered for text tasks; tables have no finder yet"}
    singles = [c for c in pool if c.status == "scored" and c.kind not in ("ensemble", "search") and not c.one_fold]
    if not singles:
        return {"step": CLEANING, "kept": False, "reason": "no scored candidate to compare with"}
    base = max(singles, key=lambda c: c.mean)
    findings = FoldFindings(text_column, s.label_column, s.seed)  # the finder runs once per fold
    decisions = []
    for action, what in ACTIONS.items():
        cleaned = Candidate(name=f"{base.name} + {what}", kind=base.kind, params=dict(base.params),
                            cleaning=f"{CLEANING}:{action}")
        flagged: list[int] = []
        # a lower bound of its cost: the base candidate's folds and refit (the finder comes on top)
        estimate = base.seconds + s.refit_estimate(base)
        if not s.deadline.fits(estimate):
            cleaned.status = "skipped"
            cleaned.reason = (f"its folds and refit are estimated at {estimate:.0f} s or more, more than the "
                              f"{max(s.left(), 0):.0f} s left of the budget")
            s.progress(f"{cleaned.name}: skipped ({cleaned.reason})")
        else:
            s.score(cleaned, train_rows=findings.rows(action, flagged))
        if cleaned.status == "scored":
            done = "dropped" if action == "drop" else "relabelled (confident) or dropped"
            cleaned.reason = f"label issues {done} in each fold's training rows: {', '.join(map(str, flagged))}"
        pool.append(cleaned)
        decision = gate(base, cleaned)
        decision["candidate"] = base.name
        verdict = "passes the gate" if decision["kept"] else "does not pass"
        s.progress(f"{cleaned.name}: {decision.get('cleaned')} vs {decision['raw']} raw, {verdict}")
        decisions.append(decision)
    # the summary: the better of the two that passed (selection still ranks them with the rest)
    passed = [d for d in decisions if d["kept"]]
    best = max(passed, key=lambda d: d["cleaned"]) if passed else decisions[0]
    return {**best, "tried": decisions}


def _warm_embeddings(s: _Search, cand: Candidate, may_skip: bool) -> bool:
    """Encode every training text once into the cache before ``cand``'s folds; False if skipped.

    The encoder is most of an embed-linear candidate's cost and is paid once (later folds and the
    refit read the cache), so the first-fold estimate would count it k times. Instead the rate
    is measured on a sample of :data:`PROBE_TEXTS` texts and the rest is estimated from it:
    when that does not fit the deadline (and a model is already scored), the candidate is
    skipped with the estimate.
    """
    trainer = s.make(cand.kind, cand.params)
    texts = s.data[cand.params["text_column"]].fillna("").astype(str)
    unique = texts.drop_duplicates()
    probe = unique.sample(min(PROBE_TEXTS + 2, len(unique)), random_state=s.seed).tolist()
    t0 = time.perf_counter()
    try:
        trainer.embed(probe[:2])  # loads the encoder: a one-off cost, not a per-text one
        t1 = time.perf_counter()
        trainer.embed(probe[2:])
    except DatamoatError as exc:
        cand.status, cand.reason = "failed", str(exc)
        return False
    rate = (time.perf_counter() - t1) / max(1, len(probe) - 2)
    estimate = rate * max(0, len(unique) - len(probe))
    if may_skip and not s.deadline.fits(estimate * 1.2):
        cand.status, cand.seconds = "skipped", time.perf_counter() - t0
        cand.reason = (f"encoding {len(unique):,} texts is estimated at {estimate:.0f} s "
                       f"({rate * 1000:.1f} ms a text measured on {len(probe)}), more than the "
                       f"{max(s.left(), 0):.0f} s left of the budget")
        s.progress(f"{cand.name}: skipped ({cand.reason})")
        return False
    s.progress(f"{cand.name}: encoding {len(unique):,} texts (about {estimate:.0f} s)")
    trainer.embed(unique.tolist())
    return True


def _score_finetune(s: _Search, cand: Candidate) -> None:
    """Score fine-tuning only if k fold fits + the final fit are estimated to fit the time left."""
    try:
        finetune_cls = type(create_trainer("finetune"))
    except DatamoatError as exc:
        cand.status, cand.reason = "skipped", str(exc)
        return
    texts = s.data[cand.params["text_column"]].fillna("").astype(str).tolist()
    defaults = finetune_cls()
    one_fit = finetune_cls.estimate_fit_seconds(
        texts, epochs=defaults.epochs, batch_size=defaults.batch_size, max_length=defaults.max_length
    )
    # judged on one held-out fold (a fit on (k-1)/k of the rows), plus the final fit on all of them
    estimate = one_fit * 2
    left = s.left()
    if estimate > left:
        cand.status = "skipped"
        cand.reason = (f"estimated {estimate / 60:.1f} min for one held-out fold + the final fit, "
                       f"more than the {max(left, 0) / 60:.1f} min left of the budget")
        s.progress(f"finetune: skipped ({cand.reason})")
        return
    # each fit stops by itself when its share of the time left is spent (the deadline, per fit)
    cand.params["max_seconds"] = round(left / 2, 1)
    s.score(cand, one_fold=True)


def _tune(s: _Search, pool: list[Candidate], base: dict[str, Any]) -> None:
    """Optuna search over C of the best scored linear candidate, with half the time left."""
    best = max((c for c in pool if c.status == "scored" and c.kind in SEARCH_SPACES), key=lambda c: c.mean)
    skipped = Candidate(name=f"{best.kind} (search over C)", kind="search", params={}, status="skipped")
    try:
        import optuna
    except ImportError:
        skipped.reason = "optuna is not installed (pip install datamoat[ml]); C kept at its default"
        pool.append(skipped)
        s.progress(f"search: skipped ({skipped.reason})")
        return
    # half the time left, less the winner's refit; each trial costs about what the default CV did
    timeout = (s.left() - s.refit_estimate(best)) / 2
    if timeout < 3 * best.seconds:
        skipped.reason = (f"3 trials need about {3 * best.seconds:.0f} s, more than the {max(timeout, 0):.0f} s "
                          "the budget leaves for searching")
        pool.append(skipped)
        s.progress(f"search: skipped ({skipped.reason})")
        return
    lo, hi = SEARCH_SPACES[best.kind]
    trials: list[Candidate] = []

    def objective(trial: Any) -> float:
        c_value = trial.suggest_float("C", lo, hi, log=True)
        cand = Candidate(name=f"{best.kind}(C={c_value:.3g})", kind=best.kind, params={**base, "C": c_value})
        s.score(cand)
        trials.append(cand)
        return cand.mean if cand.status == "scored" else float("-inf")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(objective, n_trials=12, timeout=timeout)
    scored = [c for c in trials if c.status == "scored"]
    if scored:
        top = max(scored, key=lambda c: c.mean)
        top.name = f"{best.kind} (searched, {len(trials)} trials)"
        top.reason = f"Optuna TPE over C in [{lo}, {hi}]"
        pool.append(top)

"""Train a language model on a dataset version's text: hold out -> (canaries) -> train ->
evaluate -> register -> report. The library call behind ``run --task lm`` and ``train --task lm``.

:func:`train_lm` takes the documents (one row of the text column = one document) of a training
version and, optionally, a test version (the caller's document- or block-level split; without
one, the test documents are held out here the same way as validation, see
:func:`hold_out`). It trains ``causal-lm`` (from scratch, sized to the budget) or
``causal-lm-finetune`` (``params={"checkpoint": FOLDER, "lora": True}``), measures bits per
character, perplexity, the per-document loss distribution and sample generations on the test
documents, runs the canary memorisation check when asked, registers the model with lineage to
its data versions and writes the HTML + JSON report.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.budget import Deadline
from datamoat.data.corpus import corpus_texts
from datamoat.errors import DatamoatError
from datamoat.models.evaluation.lm_canaries import (
    DEFAULT_CANDIDATES,
    Canary,
    affordable_candidates,
    canary_exposure,
    canary_summary,
    insert_canaries,
    make_canaries,
)
from datamoat.models.evaluation.lm_metrics import lm_evaluation
from datamoat.models.evaluation.lm_report import write_lm_report
from datamoat.models.registry import ModelRecord
from datamoat.models.trainers.contract import SYSTEM_PREFIX, create_trainer
from datamoat.models.trainers.lm_contract import LMTrainer
from datamoat.models.training import models_registry

if TYPE_CHECKING:
    from datamoat.workspace import Workspace

LM_KINDS = ("causal-lm", "causal-lm-finetune")
RESERVE_SHARE, RESERVE_MIN_S, RESERVE_MAX_S = 0.15, 15.0, 240.0
"""The budget kept for evaluation, canaries and the report (see :func:`_reserve`)."""
FINISH_S = 5.0
"""Seconds kept after the canary check for registering the model and writing its report."""
MIN_TRAIN_S = 5.0
"""The least training time worth starting; with less left the call stops with an error."""
HOLDOUT_SHARE = 0.1
"""Share of the training documents held out for validation (and for test without a test version)."""
MIN_SPLIT_DOCS = 10
"""With fewer documents than this, the held-out text is the last share of each document's
lines (a contiguous block), not whole documents."""


@dataclass
class LMTrainResult:
    """What :func:`train_lm` made: the registered record, the fitted trainer, the test
    evaluation, the canary check (empty without canaries), the report path and the refs."""

    record: ModelRecord
    trainer: LMTrainer
    evaluation: dict[str, Any]
    canaries: dict[str, Any]
    report: Path
    train_ref: str
    test_ref: str
    facts: dict[str, Any] = field(default_factory=dict)

    def headline(self) -> dict[str, Any]:
        """The figures a command prints."""
        ev = self.evaluation
        out = {k: ev.get(k) for k in ("documents", "chars", "tokens", "loss", "perplexity", "bits_per_char")}
        if self.canaries:
            out["canaries"] = self.canaries["summary"]
        return out


def hold_out(docs: Sequence[str], share: float, seed: int) -> tuple[list[str], list[str], str]:
    """(kept, held out, how): a seeded random ``share`` of the documents when there are at least
    :data:`MIN_SPLIT_DOCS`, else the last ``share`` of each document's lines (a contiguous
    block, so held-out text is never seen in training)."""
    docs = list(docs)
    if len(docs) >= MIN_SPLIT_DOCS:
        n = max(1, int(round(share * len(docs))))
        held = set(np.random.default_rng(seed).permutation(len(docs))[:n].tolist())
        return ([d for i, d in enumerate(docs) if i not in held], [d for i, d in enumerate(docs) if i in held],
                f"{n} of {len(docs)} documents chosen at random (seed {seed})")
    kept, out = [], []
    for doc in docs:
        lines = doc.splitlines(keepends=True)
        if len(lines) >= 2:
            cut = max(1, min(len(lines) - 1, int(round(len(lines) * (1 - share)))))
            kept.append("".join(lines[:cut]))
            out.append("".join(lines[cut:]))
        else:
            cut = int(len(doc) * (1 - share))
            kept.append(doc[:cut])
            out.append(doc[cut:])
    return kept, out, f"the last {share:.0%} of each of the {len(docs)} document(s), as a contiguous block"


def version_documents(ws: Workspace, ref: str, text_column: str | None) -> tuple[Any, list[str], str]:
    """(version, documents, text column) of dataset version ``ref``; DatamoatError without text.

    The documents are :func:`~datamoat.data.corpus.corpus_texts` of the rows: one per row, except
    that neighbouring blocks (or lines) of one long file are joined back into one continuous text
    (a gap, such as the other side of a split, starts a new one)."""
    version = ws.version(ref)
    column = text_column or version.roles.get("text")
    if not column:
        raise DatamoatError(f"{version.ref} has no text column; ingest it with --text COLUMN or give text_column.")
    table = version.to_arrow()
    if column not in table.column_names:
        shown = [c for c in table.column_names if not c.startswith(SYSTEM_PREFIX)]
        raise DatamoatError(f"{version.ref} has no column {column!r}; its columns are: {', '.join(map(str, shown))}.")
    texts = table.column(column)
    if not pa.types.is_string(texts.type) and not pa.types.is_large_string(texts.type):
        table = table.set_column(table.column_names.index(column), column, pc.cast(texts, pa.string()))
    docs = [t for t in corpus_texts(table, column) if t.strip()]
    if not docs:
        raise DatamoatError(f"{version.ref}: text column {column!r} is empty in all {table.num_rows} rows; "
                            "there is no text to learn from.")
    return version, docs, column


@dataclass
class LMDocuments:
    """The texts of one training run, each side from its own text.

    fit: the documents trained on; valid: the validation documents (early stopping, the best
    checkpoint), never in ``fit``; test: the documents the reported figures come from, in
    neither. train / valid / test: the dataset versions (valid and test None when held out of
    the training version). column: the text column; valid_how / test_how: where each came from.
    """

    fit: list[str]
    valid: list[str]
    test: list[str]
    train: Any
    valid_version: Any
    test_version: Any
    column: str
    valid_how: str
    test_how: str


def lm_documents(
    ws: Workspace, train: str, *, valid: str | None = None, test: str | None = None,
    text_column: str | None = None, seed: int = 0,
) -> LMDocuments:
    """The training, validation and test documents of a run (see :class:`LMDocuments`).

    valid / test: versions of held-out text (``prepare_corpus``'s ``NAME-valid`` and
    ``NAME-test``: whole documents, or the contiguous tail of one long text). Without one, that
    side is held out of ``train``'s documents by :func:`hold_out` (whole documents, or the last
    :data:`HOLDOUT_SHARE` of each), the test side first.
    """
    train_v, docs, column = version_documents(ws, train, text_column)
    test_v = valid_v = None
    if test is not None:
        test_v, test_docs, _ = version_documents(ws, test, column)
        test_how = f"test documents: {test_v.ref} as given"
    else:
        docs, test_docs, how = hold_out(docs, HOLDOUT_SHARE, seed)
        test_how = f"test documents held out of {train_v.ref}: {how}"
    if valid is not None:
        valid_v, valid_docs, _ = version_documents(ws, valid, column)
        fit_docs, valid_how = docs, f"validation documents: {valid_v.ref} as given"
    else:
        fit_docs, valid_docs, how = hold_out(docs, HOLDOUT_SHARE, seed + 1)
        valid_how = f"validation held out of {train_v.ref}: {how}"
    return LMDocuments(fit=fit_docs, valid=valid_docs, test=test_docs, train=train_v, valid_version=valid_v,
                       test_version=test_v, column=column, valid_how=valid_how, test_how=test_how)


def train_lm(
    ws: Workspace,
    train: str,
    *,
    valid: str | None = None,
    test: str | None = None,
    text_column: str | None = None,
    kind: str = "causal-lm",
    name: str | None = None,
    budget: str | float | Deadline = "10m",
    params: dict[str, Any] | None = None,
    canaries: int | Sequence[Canary] = 0,
    canary_repeats: int = 4,
    canary_candidates: int = DEFAULT_CANDIDATES,
    pii_redaction: bool | None = None,
    samples: int = 3,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> LMTrainResult:
    """Train, evaluate, register and report a language model on version ``train``'s documents.

    train / valid / test: dataset version refs (``corpus-train@latest``); the documents are
    :func:`version_documents` (a row, or a run of neighbouring blocks of one long file). Validation
    (early stopping, the best checkpoint) comes from ``valid`` and the reported figures from
    ``test``; without one, :data:`HOLDOUT_SHARE` of the training documents is held out for it
    (:func:`hold_out`, recorded in the model's info), never trained on (:func:`lm_documents`).
    text_column: default the version's text role. kind: ``causal-lm`` or
    ``causal-lm-finetune``; params: the trainer's parameters (``max_seconds`` is set from the
    budget). budget: e.g. ``"10m"`` or the caller's :class:`~datamoat.budget.Deadline`: the whole
    call, evaluation, canary check and report included; training ends early enough to leave
    :func:`_reserve` seconds for them, and the canary check scores as many candidates as fit.

    canaries: an int K makes K random canaries (:func:`~datamoat.models.evaluation.lm_canaries.make_canaries`)
    and inserts each ``canary_repeats`` times into a copy of the training documents here; a
    list of :class:`Canary` means the caller already inserted them (e.g. before its PII
    redaction, which may have removed them) and only the check runs (``canary_repeats`` is then
    the caller's count, reported as given). Either way as many
    never-inserted control canaries are scored too; canary_candidates: random secrets scored per
    canary to estimate its exposure (its resolution: at most log2(candidates + 1) bits), at
    most; fewer (down to ``MIN_CANDIDATES``) when the budget has less time left. pii_redaction: whether the caller redacted
    the training text (reported as given: on / off / not stated).

    Returns an :class:`LMTrainResult`; the model is registered under ``name`` (default: the
    training version's dataset name) as ``champion`` when it is the name's first, else
    ``challenger``. Raises DatamoatError (nothing registered) for an empty corpus, one shorter
    than a context window, or a checkpoint that is not a causal LM.
    """
    say = progress or (lambda _m: None)
    if kind not in LM_KINDS:
        raise DatamoatError(f"language-model kind {kind!r} is not known; use {' or '.join(LM_KINDS)}.")
    deadline = Deadline.parse(budget)
    texts = lm_documents(ws, train, valid=valid, test=test, text_column=text_column, seed=seed)
    fit_docs, valid_docs, test_docs = texts.fit, texts.valid, texts.test
    train_v, test_v, column = texts.train, texts.test_version, texts.column
    valid_how, test_how = texts.valid_how, texts.test_how
    say(f"train {train_v.ref}: {len(fit_docs):,} document(s); {valid_how}; {test_how}")

    inserted: list[Canary] = []
    if isinstance(canaries, int):
        inserted = make_canaries(canaries, seed)
        fit_docs = insert_canaries(fit_docs, inserted, canary_repeats, seed) if inserted else fit_docs
    else:
        inserted = list(canaries)
    controls = make_canaries(len(inserted), seed + 1_000_003) if inserted else []

    trainer = create_trainer(kind, **{**(params or {}), "random_state": seed})  # imports torch: before the clock below
    held_chars = sum(len(d) for d in test_docs) + sum(len(d) for d in valid_docs)
    reserve = _reserve(deadline.budget_s, held_chars, len(inserted) + len(controls))
    train_s = deadline.left() - reserve
    if train_s < MIN_TRAIN_S:
        raise DatamoatError(
            f"the budget of {deadline.budget_s:.0f} s leaves {max(train_s, 0):.0f} s to train after {deadline.used():.0f} s "
            f"of preparing and {reserve:.0f} s kept for evaluation and the report; give a larger --budget.")
    trainer.max_seconds = round(train_s, 1)
    say(f"training for at most {train_s:.0f} s of the {deadline.budget_s:.0f} s budget "
        f"({deadline.used():.0f} s went to the corpus, {reserve:.0f} s are kept for evaluation, canaries and the report)")
    trainer.fit(fit_docs, valid_docs, progress=say)

    say(f"evaluating on {len(test_docs):,} test document(s) ({sum(len(d) for d in test_docs):,} characters)")
    evaluation = lm_evaluation(trainer, test_docs, samples=samples, seed=seed)
    check: dict[str, Any] = {}
    if inserted:
        checked = inserted + controls
        room = deadline.left() - FINISH_S
        m = affordable_candidates(trainer, checked, room, canary_candidates)
        say(f"memorisation check: {len(inserted)} canaries and {len(controls)} controls, {m:,} random candidates each "
            f"(of {canary_candidates:,} asked; what fits in the {max(room, 0):.0f} s left)")
        rows = (canary_exposure(trainer, inserted, candidates=m, seed=seed, inserted=True)
                + canary_exposure(trainer, controls, candidates=m, seed=seed, inserted=False))
        check = {"rows": rows, "summary": canary_summary(rows, pii_redaction),
                 "repeats": canary_repeats, "inserted_here": isinstance(canaries, int)}

    registry = models_registry(ws)
    model_name = name or train_v.dataset
    has_champion = any("champion" in m.aliases for m in registry.list(model_name))
    report_ = getattr(trainer, "report_", {})
    info = {
        "task": "lm", "text_column": column, "train_ref": train_v.ref, "test_ref": test_v.ref if test_v else None,
        "valid_ref": texts.valid_version.ref if texts.valid_version else None,
        "train_hash": train_v.hash, "test_treatment": test_how, "validation": valid_how,
        "train_documents": len(fit_docs), "tokenizer": report_.get("tokenizer"),
        "size": {k: v for k, v in (report_.get("size") or {}).items() if k != "candidates"},
        "training": report_.get("training"), "canaries": check.get("summary"), "budget": deadline.summary(),
    }
    metrics = {k: evaluation[k] for k in ("documents", "chars", "tokens", "loss", "perplexity", "nats_per_char",
                                          "bits_per_char")}
    if check:
        metrics["canaries"] = check["summary"]
    reports = ws.state / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    pending = reports / f".lm-{model_name}-{uuid.uuid4().hex[:8]}.html"
    write_lm_report(evaluation, pending, title=f"Language model {model_name} ({kind}) on "
                    f"{test_v.ref if test_v else 'held-out documents of ' + train_v.ref}",
                    model={"name": model_name, "kind": kind}, canaries=check or None,
                    extra={k: info[k] for k in ("train_ref", "test_treatment", "validation", "tokenizer", "size",
                                                "training", "budget")})
    try:
        record = registry.register(trainer, model_name, train_version_id=train_v.record.id,
                                   test_version_id=test_v.record.id if test_v else None, metrics=metrics, info=info,
                                   aliases=["challenger" if has_champion else "champion"])
    except BaseException:
        pending.unlink(missing_ok=True)
        pending.with_suffix(".json").unlink(missing_ok=True)
        raise
    final = reports / f"model-{record.name}-{record.ordinal}.html"
    os.replace(pending.with_suffix(".json"), final.with_suffix(".json"))
    os.replace(pending, final)
    return LMTrainResult(record=record, trainer=trainer, evaluation=evaluation, canaries=check, report=final,
                         train_ref=train_v.ref, test_ref=test_v.ref if test_v else f"{train_v.ref} (held out)",
                         facts=info)


def _reserve(budget_s: float, held_out_chars: int, canaries: int) -> float:
    """Seconds kept from training, from the start, for what follows it inside the budget: the
    trainer's last full validation pass, the test evaluation with its sample generations, the
    canary check and registering the model with its report. :data:`RESERVE_SHARE` of the budget
    (at least :data:`RESERVE_MIN_S`, at most :data:`RESERVE_MAX_S`), plus 1 s per 50,000
    validation and test characters and 0.5 s per canary and control. The canary check then takes
    as many candidates as fit in what is left (:func:`~datamoat.models.evaluation.lm_canaries.affordable_candidates`)."""
    base = min(max(RESERVE_MIN_S, RESERVE_SHARE * budget_s), RESERVE_MAX_S)
    return base + math.ceil(held_out_chars / 50_000) + 0.5 * canaries

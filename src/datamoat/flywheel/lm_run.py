"""The main job for a language model: corpus -> clean -> redact -> split -> train -> evaluate.

:func:`run_lm` is what ``datamoat run PATH --task lm`` and ``datamoat train NAME --task lm``
call: :func:`datamoat.flywheel.lm_corpus.prepare_corpus` makes the cleaned corpus and its
``NAME-train``, ``NAME-valid`` and ``NAME-test`` versions (whole documents, or contiguous
ranges of one long text, the held-out ones at its end; PII redacted unless ``pii`` is
``keep``), with ``canaries`` memorisation canaries put into the training split *before* the
redaction, so a canary that looks like personal data (a phone number) is removed as a real one
would be; then :func:`datamoat.models.lm_training.train_lm`
trains, scores the test text (loss, perplexity, bits per character), runs the canary check
(exposure and greedy extraction, with "PII redaction on / off" next to it), registers the
model and writes its report. Validation (early stopping, the best checkpoint) reads
``NAME-valid`` and the reported figures ``NAME-test``: held-out text never trained on. One
:class:`~datamoat.budget.Deadline` covers the whole call; a failure rolls back every version and
the model it registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datamoat.budget import Deadline
from datamoat.catalog.rollback import undo_on_failure
from datamoat.data.dataset_name import name_from_path
from datamoat.errors import DatamoatError
from datamoat.flywheel.lm_corpus import LM_SPLITS, CorpusResult, prepare_corpus

if TYPE_CHECKING:
    from datamoat.models.lm_training import LMTrainResult
    from datamoat.workspace import Workspace

LM_MODELS = ("auto", "causal-lm", "causal-lm-finetune")
DEFAULT_CANARIES = 4
"""Canaries a run inserts by default (one of each format of the canary check)."""
PII_OFF = "keep"


@dataclass
class LmRunResult:
    """What :func:`run_lm` made: the corpus versions and the trained model."""

    corpus: CorpusResult
    train: LMTrainResult
    budget: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object ``datamoat run --task lm --json`` prints."""
        r = self.train
        return {
            "task": "lm", **self.corpus.to_dict(),
            "model": {"kind": r.record.kind, "id": r.record.id, "ref": r.record.ref, "aliases": r.record.aliases},
            "test": r.headline(), "canaries": (r.canaries or {}).get("summary"), "model_report": str(r.report),
            "budget": self.budget,
        }


def run_lm(
    ws: Workspace,
    source: str | Path | None = None,
    *,
    data: str | None = None,
    name: str | None = None,
    text: str | None = None,
    model: str = "auto",
    params: dict[str, Any] | None = None,
    budget: str | float | Deadline = "10m",
    pii: str = "redact",
    canaries: int = DEFAULT_CANARIES,
    canary_repeats: int = 4,
    canary_candidates: int | None = None,
    valid_size: float = 0.1,
    test_size: float = 0.1,
    seed: int = 0,
    ingest_options: dict[str, Any] | None = None,
    profile_checks: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> LmRunResult:
    """Prepare a corpus and train a language model on it (see the module docstring).

    source: a text file, a folder of documents or a table file (``text`` names its column);
    data: an existing version with a text role instead. name: the dataset and model name.
    model: ``auto`` (``causal-lm``, from scratch) or ``causal-lm-finetune`` (``params`` gives
    its ``checkpoint`` folder and ``lora``). budget: the whole call's time: corpus preparation,
    training, evaluation, the canary check and the report (training gets what the others leave). pii: a
    ``pii_redact`` mode (``redact`` ...) or ``keep`` for none. canaries: how many canaries to
    insert for the memorisation check (0: none); canary_candidates: random secrets scored per
    canary at most (default ``lm_canaries.DEFAULT_CANDIDATES``; fewer when the budget's time left
    is short). profile_checks: the corpus profile's checks (default: all the roles allow). valid_size, test_size: the held-out validation
    (early stopping, the best checkpoint) and test (the reported figures) shares of the text
    (the contiguous tail of one long text, else whole documents), both above 0.
    Raises DatamoatError (one sentence) and rolls back what it made.
    """
    if model not in LM_MODELS:
        raise DatamoatError(f"--model {model!r} is not a language model; use {', '.join(LM_MODELS)}.")
    if isinstance(canaries, bool) or not isinstance(canaries, int) or canaries < 0:
        raise DatamoatError(f"canaries={canaries!r} must be a whole number >= 0.")
    for what, share in (("valid_size", valid_size), ("test_size", test_size)):
        if not 0 < share < 1:
            raise DatamoatError(f"{what}={share!r} must be above 0 and below 1: a language model needs held-out text.")
    deadline = Deadline.parse(budget)
    if model == "causal-lm-finetune":  # a folder that is not a causal LM fails before the corpus is made
        from datamoat.models.trainers.causal_lm_finetune import check_causal_lm_folder

        check_causal_lm_folder((params or {}).get("checkpoint"))
    from datamoat.models.evaluation.lm_canaries import make_canaries
    from datamoat.models.lm_training import train_lm

    dataset = name or (name_from_path(str(source)) if source is not None else str(data).split("@")[0])
    touched = [dataset, *(f"{dataset}-{s}" for s in LM_SPLITS)]
    inserted = make_canaries(canaries, seed)
    with undo_on_failure(ws.catalog, touched, str(source or data)):
        corpus = prepare_corpus(
            ws, source, data=data, name=dataset, text=text, pii=False if pii == PII_OFF else pii, valid_size=valid_size,
            test_size=test_size, seed=seed, canaries=[c.text for c in inserted], canary_repeats=canary_repeats,
            ingest_options=ingest_options, profile_checks=profile_checks, progress=progress,
        )
        result = train_lm(
            ws, corpus.versions["train"], valid=corpus.versions["valid"], test=corpus.versions["test"], kind="causal-lm" if model == "auto" else model,
            name=dataset, budget=deadline, params=params, canaries=inserted, canary_repeats=canary_repeats,
            pii_redaction=pii != PII_OFF, seed=seed, progress=progress,
            **({} if canary_candidates is None else {"canary_candidates": canary_candidates}),
        )
    return LmRunResult(corpus=corpus, train=result, budget=deadline.summary())

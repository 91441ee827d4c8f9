"""The loop for a language model: accepted feedback -> new corpus version -> train -> compare on
the same validation text -> promote or keep. What :func:`datamoat.flywheel.retrain.retrain` does
when the champion is a language model (``info["task"] == "lm"``).

1. The feedback documents (:func:`~datamoat.feedback.generation_feedback.generation_documents`):
   the prompt + corrected continuation, or the prompt + a thumbs-up output, of every ready
   generation record not yet used. None: DatamoatError, nothing recorded.
2. **Merge** (:func:`~datamoat.flywheel.merge.merge_feedback`): the training version of the
   newest model the loop knows + one row per document -> the next version of that dataset, its
   parent the base. The documents were PII-redacted when they were logged; they are not cleaned
   again (the base was cleaned when it was made).
3. **Train** a challenger of the champion's kind with its parameters and seed
   (:func:`~datamoat.models.lm_training.train_lm`) on the merged version, with the champion's
   own validation and test versions, so both models are judged on the same held-out text. The
   champion must have them as versions of their own (``datamoat run --task lm`` makes
   ``NAME-valid`` and ``NAME-test``): a split drawn from the training documents would change when
   documents are added.
4. **Compare**: validation loss in nats per character (bits per character / ln 2; per character,
   not per token, because each from-scratch model trains its own tokenizer). The challenger is
   promoted only when its validation loss is lower.
5. **Record** the decision (aliases and audit event in one transaction), mark the feedback used,
   call ``on_promote``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from datamoat.budget import Deadline
from datamoat.errors import DatamoatError
from datamoat.flywheel.decisions import RetrainDecision, record_decision
from datamoat.flywheel.merge import merge_feedback, split_new_feedback
from datamoat.models.registry import ModelRecord
from datamoat.models.training import models_registry

if TYPE_CHECKING:
    from datamoat.workspace import Workspace


def _figures(side: ModelRecord, metrics: dict[str, Any]) -> dict[str, Any]:
    return {"id": side.id, "ref": side.ref, "kind": side.kind,
            **{k: metrics.get(k) for k in ("nats_per_char", "bits_per_char", "loss", "perplexity", "documents")}}


def retrain_lm(
    ws: Workspace,
    name: str,
    champion: ModelRecord,
    base_record: ModelRecord,
    *,
    budget: Deadline,
    say: Callable[[str], None],
    on_promote: Callable[[ModelRecord], None] | None,
) -> RetrainDecision:
    """Retrain language model ``name`` (see the module docstring); ``base_record``: the newest
    model the loop knows, whose training version the feedback is added to. Returns the recorded
    decision; its ``figures`` hold ``champion`` / ``challenger`` (validation nats and bits per
    character, loss per token, perplexity), ``difference_bits_per_char``, ``rows`` (base,
    feedback, merged), ``versions`` and ``timings_s``."""
    from datamoat.feedback.generation_feedback import generation_documents
    from datamoat.feedback.records import FeedbackStore
    from datamoat.models.lm_training import lm_documents, train_lm

    started = time.perf_counter()
    timings: dict[str, float] = {}
    info = champion.info
    if not info.get("valid_ref") or not info.get("test_ref"):
        raise DatamoatError(
            f"champion {champion.ref} held its validation or test text out of its training version; a retrain "
            "adds documents to that version, which would change them. Train it with validation and test versions "
            "of their own (datamoat run --task lm makes them) to retrain it.")
    rows = generation_documents(ws.catalog, name)
    if rows.empty:
        raise DatamoatError(f"no new feedback for language model {name!r}; retraining needs generations with a "
                            "thumbs up or a corrected continuation that are not yet used.")
    registry = models_registry(ws)
    base = ws.version_by_id(base_record.train_version_id)
    fresh, already = split_new_feedback(base, rows)
    if fresh.empty:
        raise DatamoatError(f"no new feedback for model {name!r}; the {len(already)} ready documents are already in "
                            f"{base.ref}.")
    say(f"champion {champion.ref} ({champion.kind}); {len(fresh):,} feedback documents; base {base.ref}")
    stage = "loading the champion"
    try:
        champion_trainer = registry.load(champion.ref)
        seed = int(getattr(champion_trainer, "random_state", 0) or 0)
        stage = "adding the feedback documents to the training corpus"
        t = time.perf_counter()
        merged = merge_feedback(ws, base, fresh, model_name=name)
        timings["merge"] = time.perf_counter() - t
        say(f"merged {merged.version.ref}: {merged.base_rows:,} base rows + {len(merged.added_record_ids):,} "
            "feedback documents")

        stage = "training the challenger"
        t = time.perf_counter()
        params = {k: v for k, v in champion_trainer.params().items() if k not in ("max_seconds", "random_state")}
        result = train_lm(ws, merged.version.ref, valid=info["valid_ref"], test=info["test_ref"],
                          text_column=info.get("text_column"), kind=champion.kind, name=name, budget=budget,
                          params=params, canaries=0, samples=1, seed=seed, progress=say)
        challenger = result.record
        timings["train"] = time.perf_counter() - t

        stage = "comparing challenger and champion on the validation text"
        t = time.perf_counter()
        valid = lm_documents(ws, info["train_ref"], valid=info["valid_ref"], test=info["test_ref"],
                             text_column=info.get("text_column"), seed=seed).valid
        old, new = champion_trainer.text_metrics(valid), result.trainer.text_metrics(valid)
        timings["compare"] = time.perf_counter() - t
        promoted = new["nats_per_char"] < old["nats_per_char"]
        facts = (f"validation bits per character {new['bits_per_char']:.4f} vs {old['bits_per_char']:.4f} on "
                 f"{len(valid):,} documents of {info['valid_ref']}")
        reason = (f"promoted: challenger {challenger.ref} has the lower validation loss ({facts})." if promoted else
                  f"kept: challenger {challenger.ref} does not have a lower validation loss than champion "
                  f"{champion.ref} ({facts}).")
        timings["total"] = time.perf_counter() - started
        figures = {
            "task": "lm", "champion": _figures(champion, old), "challenger": _figures(challenger, new),
            "difference_bits_per_char": new["bits_per_char"] - old["bits_per_char"], "winner": "b" if promoted else "a",
            "model": champion.kind, "metric": "validation nats per character",
            "rows": {"base": merged.base_rows, "feedback": len(merged.added_record_ids), "merged": merged.rows,
                     "train": merged.rows, "validation_documents": len(valid)},
            "versions": {"base": base.ref, "merged": merged.version.ref, "train": merged.version.ref,
                         "valid": info["valid_ref"], "test": info["test_ref"]},
            "report": str(result.report), "timings_s": {k: round(v, 3) for k, v in timings.items()},
        }
        stage = "recording the decision"
        decision = record_decision(
            ws.catalog, model_name=name, promoted=promoted, reason=reason, champion_id=champion.id,
            challenger_id=challenger.id, train_version_id=merged.version.record.id,
            test_version_id=champion.test_version_id, feedback_rows=len(merged.added_record_ids), figures=figures)
    except DatamoatError as exc:
        raise DatamoatError(f"retrain of {name!r} stopped while {stage}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - one sentence; the feedback stays ready for the next retrain
        raise DatamoatError(f"retrain of {name!r} stopped while {stage}: {type(exc).__name__}: {exc}") from exc

    FeedbackStore(ws.catalog).mark_consumed([int(r) for r in fresh["record_id"]], merged.version.record.id)
    say(decision.reason)
    if promoted and on_promote is not None:
        on_promote(registry.get_by_id(challenger.id))
    return decision

"""``datamoat compress`` for a language model: int8 copy -> measured on its validation text ->
registered as the next version of its name.

The validation documents are the model's own (:func:`~datamoat.models.lm_training.lm_documents`
with the versions and seed it was trained with), so the loss change is measured on text the
model chose its checkpoint on but never trained on, the same for both sides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datamoat.errors import DatamoatError
from datamoat.models.export.lm_compress import lm_compression_report
from datamoat.models.registry import ModelRecord
from datamoat.models.trainers.lm_contract import LMTrainer
from datamoat.models.trainers.lm_quantize import METHOD
from datamoat.models.training import models_registry

if TYPE_CHECKING:
    from datamoat.workspace import Workspace

METRIC_KEYS = ("documents", "chars", "tokens", "loss", "perplexity", "nats_per_char", "bits_per_char")


def model_documents(ws: Workspace, record: ModelRecord, trainer: LMTrainer) -> Any:
    """The :class:`~datamoat.models.lm_training.LMDocuments` ``record`` was trained with (its
    training, validation and test versions; held-out sides re-drawn with its seed)."""
    from datamoat.models.lm_training import lm_documents

    info = record.info
    if not info.get("train_ref"):
        raise DatamoatError(f"model {record.ref} does not name its training version, so its validation text is unknown.")
    return lm_documents(ws, info["train_ref"], valid=info.get("valid_ref"), test=info.get("test_ref"),
                        text_column=info.get("text_column"), seed=int(getattr(trainer, "random_state", 0) or 0))


def compress_lm(ws: Workspace, record: ModelRecord, trainer: LMTrainer, *,
                max_new_tokens: int = 64) -> tuple[ModelRecord, LMTrainer, dict[str, Any]]:
    """Quantise ``record``'s fitted ``trainer`` to int8, measure both on its validation documents
    (:func:`~datamoat.models.export.lm_compress.lm_compression_report`) and register the int8
    model as the next version of ``record.name`` (no alias; its test figures in ``metrics``, the
    report under ``info["compression"]``). Returns the new record, the int8 trainer loaded back
    from the registry, and the report. DatamoatError for a model that is int8 already.
    """
    if getattr(trainer, "quantization_", None):
        raise DatamoatError(f"model {record.ref} is int8 already; compress the model it was made from "
                            f"({record.info.get('compressed_from', 'its original')}).")
    texts = model_documents(ws, record, trainer)
    small = trainer.quantized()
    report = lm_compression_report(trainer, small, texts.valid, max_new_tokens=max_new_tokens)
    report["validation"] = texts.valid_how
    test_metrics = small.text_metrics(texts.test)
    registry = models_registry(ws)
    new = registry.register(
        small, record.name, train_version_id=record.train_version_id, test_version_id=record.test_version_id,
        metrics={k: test_metrics[k] for k in METRIC_KEYS if k in test_metrics},
        info={**record.info, "compressed_from": record.ref, "compression": {"method": METHOD, **report}},
    )
    return new, registry.load(new.ref), report

"""Feedback: the prediction log, feedback records with the annotation queue, agreement.

Modules: :mod:`~datamoat.feedback.predictions` (the batched prediction log),
:mod:`~datamoat.feedback.records` (:class:`FeedbackStore`: feedback, queue, answers),
:mod:`~datamoat.feedback.resolution` (how answers set a record's status) and
:mod:`~datamoat.feedback.agreement` (Cohen's and Fleiss' kappa). Names are imported lazily so
importing one module does not pull in pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PredictionLog": "predictions", "PredictionRow": "predictions", "new_prediction_id": "predictions",
    "hash_text": "predictions",
    "FeedbackStore": "records",
    "agreement_report": "agreement", "cohen_kappa": "agreement", "fleiss_kappa": "agreement",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'datamoat.feedback' has no attribute {name!r}")
    return getattr(importlib.import_module(f"datamoat.feedback.{module}"), name)

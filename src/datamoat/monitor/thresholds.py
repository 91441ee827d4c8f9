"""The limits a monitoring run checks against, in one frozen dataclass."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Thresholds:
    """When a monitoring check raises an alert.

    min_predictions: predictions in the window below which the report says ``insufficient_data``.
    min_rows: rows each side needs before a drift check runs (reference and current).
    text_auc: ROC-AUC of the domain classifier above which input text has drifted (large samples).
    text_max_rows: rows sampled from each side for the domain classifier.
    text_permutations: shuffled-label refits for the small-sample baseline (0 turns it off).
    text_small_sample: a side with at most this many rows counts as small (baseline required).
    label_js: Jensen-Shannon distance (base 2, 0..1) of the predicted-label distribution
        from the training label distribution above which labels have drifted.
    confidence_p: KS-test p-value below which the confidence distribution has changed ...
    confidence_drop: ... and the mean top-class probability must also have fallen by more than this.
    accuracy_min_n: labelled predictions needed before live accuracy can alert.
    accuracy_margin: live accuracy alerts when its Wilson 95% upper bound is below the test
        accuracy minus this margin.
    seed: random seed of every sample and baseline (a report is reproducible).
    """

    min_predictions: int = 30
    min_rows: int = 30
    text_auc: float = 0.55
    text_max_rows: int = 2000
    text_permutations: int = 10
    text_small_sample: int = 1000
    label_js: float = 0.1
    confidence_p: float = 0.01
    confidence_drop: float = 0.05
    accuracy_min_n: int = 30
    accuracy_margin: float = 0.05
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored with every report)."""
        return asdict(self)

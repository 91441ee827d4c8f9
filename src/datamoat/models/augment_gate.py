"""Augmentation must earn its place: the same model with and without synthetic training rows.

Synthetic rows (:mod:`datamoat.clean.augment` for text: 4 synonym replacements per row by
word-embedding neighbours, or word swaps, deletions and in-vocabulary insertions without the
bundled encoder; :mod:`datamoat.clean.oversample` for tables: SMOTE up to the largest class) are
a *candidate* in model selection, not a given. Their number and methods are fixed defaults
(chosen on training rows outside a subsample, see :data:`datamoat.clean.augment.DEFAULT_METHODS`)
rather than searched per dataset: each setting tried would be another gated candidate, i.e.
another full cross-validation and another test of the same folds. For the best scored single
candidate, selection repeats its cross-validation (:meth:`datamoat.models.select._Search.score`
with a ``train_rows`` hook) with one change: in each fold, synthetic rows are made from the
fold's TRAINING rows only and added to them (:class:`FoldAugmenter`); the fold's held-out rows
are never augmented and never seed a synthetic row.

:func:`gate` keeps augmentation only when it wins by the test the flywheel promotes a
challenger with (:func:`datamoat.models.evaluation.compare.compare_models`): on the
out-of-fold predictions of every training row, McNemar's p-value below ``alpha`` AND the paired
bootstrap interval of the accuracy difference above 0; and its mean selection metric over the
folds must be higher too. The decision says per class how many rows each fold added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from datamoat.clean.augment import Augmented, augment_text
from datamoat.clean.oversample import oversample_minority
from datamoat.models.evaluation.significance import mcnemar_test, paired_bootstrap_test
from datamoat.models.trainers.tabular import default_feature_columns

if TYPE_CHECKING:
    from datamoat.models.select import Candidate

AUGMENT = "augment"
"""What an augmented candidate's training rows went through (``Candidate.augmentation``)."""
AUGMENT_MODES = ("auto", "off")
"""``auto``: try augmentation as a gated candidate; ``off``: never."""
ALPHA = 0.05
"""Significance level of the gate: the flywheel's default for promotion."""
N_BOOT = 2000
"""Bootstrap resamples: as in :func:`~datamoat.models.evaluation.compare.compare_models`."""


def synthetic_rows(part: pd.DataFrame, *, text_column: str | None, label_column: str, seed: int) -> Augmented:
    """Synthetic rows for the training rows ``part``: word edits for text (``text_column``
    set), SMOTE oversampling of the smaller classes for tables."""
    if text_column is not None:
        return augment_text(part, text_column=text_column, label_column=label_column, seed=seed)
    # SMOTE interpolates the columns the tabular trainers learn from (no id columns)
    return oversample_minority(part, label_column=label_column, seed=seed,
                               features=default_feature_columns(part, label_column))


def with_synthetic(part: pd.DataFrame, made: Augmented) -> pd.DataFrame:
    """``part`` followed by the synthetic rows (real rows get null provenance columns)."""
    return pd.concat([part, made.rows]) if len(made.rows) else part


@dataclass
class FoldAugmenter:
    """A ``train_rows(fold, part)`` hook for ``_Search.score`` that adds synthetic rows made
    from ``part`` (a fold's training rows) to it; records per fold what was added per class."""

    text_column: str | None
    label_column: str
    seed: int
    added: list[dict[str, int]] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)
    method: str = ""

    def __call__(self, fold: int, part: pd.DataFrame) -> pd.DataFrame:
        made = synthetic_rows(part, text_column=self.text_column, label_column=self.label_column,
                              seed=self.seed + fold)
        self.added.append(made.added)
        self.left_out.update(made.left_out)
        self.method = made.method
        return with_synthetic(part, made)

    def per_class(self) -> dict[str, list[int]]:
        """Class -> synthetic rows added in each fold (0 where none)."""
        classes = sorted({c for fold in self.added for c in fold})
        return {c: [fold.get(c, 0) for fold in self.added] for c in classes}


def paired_test(y: np.ndarray, pred_raw: np.ndarray, pred_aug: np.ndarray, alpha: float = ALPHA) -> dict[str, Any]:
    """The flywheel's promotion rule on paired predictions of the same rows: ``significant``
    when McNemar's p < ``alpha`` and the bootstrap interval of the accuracy difference
    (augmented - raw) excludes 0; ``better`` when it is also positive."""
    mcnemar = mcnemar_test(y, pred_raw, pred_aug)
    boot = paired_bootstrap_test(y, pred_raw, pred_aug, "accuracy", n_boot=N_BOOT, alpha=alpha, seed=0)
    significant = bool(mcnemar["p_value"] < alpha and (boot["ci_low"] > 0 or boot["ci_high"] < 0))
    return {"accuracy_raw": round(boot["metric_a"], 5), "accuracy_augmented": round(boot["metric_b"], 5),
            "difference": round(boot["difference"], 5), "mcnemar_p": round(mcnemar["p_value"], 5),
            "bootstrap_ci": [round(boot["ci_low"], 5), round(boot["ci_high"], 5)], "alpha": alpha,
            "significant": significant, "better": significant and boot["difference"] > 0}


def gate(raw: Candidate, augmented: Candidate, y: np.ndarray, classes: list[str], folds: FoldAugmenter,
         alpha: float = ALPHA) -> dict[str, Any]:
    """Keep augmentation only if it passes :func:`paired_test` on the out-of-fold predictions
    and its mean selection metric over the folds is higher than ``raw``'s.

    ``raw`` and ``augmented`` were scored on the same folds; ``y`` is every training row's
    label, ``classes`` the column order of the out-of-fold probabilities. Returns the JSON-ready
    decision ``{"step", "candidate", "kept", "reason", "method", "added_per_class", ...}``; a
    losing augmented candidate is marked ``rejected`` so selection cannot choose it.
    """
    out: dict[str, Any] = {"step": AUGMENT, "candidate": raw.name, "kept": False, "method": folds.method,
                           "added_per_class": folds.per_class(),
                           "rule": f"kept when, on the out-of-fold predictions of every training row, McNemar's "
                                   f"p < {alpha:g} and the paired bootstrap interval of the accuracy difference is "
                                   f"above 0 (the flywheel's promotion test), and the mean {augmented.name} "
                                   f"score over the folds is higher"}
    if folds.left_out:
        out["left_out"] = dict(sorted(folds.left_out.items()))
    if augmented.status != "scored":
        out["reason"] = f"not scored: {augmented.reason}"
        return out
    if raw.oof_proba is None or augmented.oof_proba is None or len(raw.scores) != len(augmented.scores):
        raise ValueError(f"gate: {augmented.name} and {raw.name} were not scored on the same folds")
    names = np.asarray(classes, dtype=object)
    test = paired_test(y, names[raw.oof_proba.argmax(axis=1)], names[augmented.oof_proba.argmax(axis=1)], alpha)
    gain = augmented.mean - raw.mean
    kept = bool(test["better"] and gain > 0)
    out.update(kept=kept, raw=round(raw.mean, 5), augmented=round(augmented.mean, 5), gain=round(gain, 5),
               test=test)
    if kept:
        out["reason"] = (f"accuracy {test['accuracy_augmented']:.4f} vs {test['accuracy_raw']:.4f} out of fold "
                         f"(McNemar p {test['mcnemar_p']:.4f}, interval {test['bootstrap_ci']})")
    else:
        why = ("the mean score over the folds is not higher" if test["better"] else
               f"the difference {test['difference']:+.4f} is not significant (McNemar p {test['mcnemar_p']:.4f}, "
               f"interval {test['bootstrap_ci']})" if not test["significant"] else
               f"it is significantly worse ({test['difference']:+.4f})")
        out["reason"] = f"not kept: {why}"
        augmented.status = "rejected"
        augmented.reason += f"; {out['reason']}"
    return out

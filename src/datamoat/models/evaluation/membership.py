"""Membership inference: how well a model's loss tells its training rows from unseen rows.

The loss-threshold attack (Yeom et al., 2018) guesses "was in training" when a row's loss is low.
Its strength over every threshold is the ROC AUC of ``-loss`` as a score for membership: 0.5
means the model's losses say nothing about who was trained on; 1.0 means every training row has
a lower loss than every unseen row. A model that memorises its training rows scores high; an
(ε, δ)-differentially private one bounds every such attack (true-positive rate <= e^ε x
false-positive rate + δ at every threshold), and in practice stays much closer to 0.5.
Reported for every classifier, private or not, so the user sees what ε bought.

Rows: up to :data:`MAX_ROWS` training rows (a seeded sample) against up to :data:`MAX_ROWS`
test rows; AUC does not depend on the two groups' sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from datamoat.errors import DatamoatError

MAX_ROWS = 2000
"""Most rows scored per group (training / test)."""
MIN_PROBA = 1e-12
"""Probabilities are floored here before the log (a loss is at most about 27.6)."""


def row_losses(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-entropy per row: ``-log p(true class)``. proba (n, k); y class indices (n,); -> (n,)."""
    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    return -np.log(np.clip(proba[np.arange(len(y)), y], MIN_PROBA, 1.0))


def loss_threshold_auc(train_loss: np.ndarray, test_loss: np.ndarray) -> float:
    """ROC AUC of telling training rows (positives) from test rows by ``-loss``; 0.5 = chance.

    DatamoatError when either group is empty.
    """
    from sklearn.metrics import roc_auc_score

    train_loss, test_loss = np.asarray(train_loss, float), np.asarray(test_loss, float)
    if len(train_loss) == 0 or len(test_loss) == 0:
        raise DatamoatError("membership inference needs at least one training row and one test row.")
    member = np.r_[np.ones(len(train_loss)), np.zeros(len(test_loss))]
    return float(roc_auc_score(member, -np.r_[train_loss, test_loss]))


def membership_inference(trainer: Any, train: pd.DataFrame, test: pd.DataFrame, *, seed: int = 0) -> dict[str, Any]:
    """The loss-threshold attack on a fitted classifier ``trainer``.

    train / test: the rows it was trained on and held-out rows, with its label column (rows
    whose label the model never saw are left out: they have no loss). Returns ``{"attack",
    "auc", "train_rows", "test_rows", "train_loss_mean", "test_loss_mean", "advantage"}``
    (advantage: max over thresholds of true-positive minus false-positive rate).
    """
    from sklearn.metrics import roc_curve

    index = {c: i for i, c in enumerate(trainer.classes_)}
    rng = np.random.default_rng(seed)

    def losses(df: pd.DataFrame) -> np.ndarray:
        labels = df[trainer.label_column].astype(str)
        df = df[labels.isin(index)]
        if len(df) > MAX_ROWS:
            df = df.iloc[np.sort(rng.choice(len(df), MAX_ROWS, replace=False))]
        y = df[trainer.label_column].astype(str).map(index).to_numpy()
        return row_losses(trainer.predict_proba(df), y) if len(df) else np.zeros(0)

    train_loss, test_loss = losses(train), losses(test)
    auc = loss_threshold_auc(train_loss, test_loss)
    member = np.r_[np.ones(len(train_loss)), np.zeros(len(test_loss))]
    fpr, tpr, _ = roc_curve(member, -np.r_[train_loss, test_loss])
    return {
        "attack": "loss threshold (ROC AUC of -loss: training rows vs test rows; 0.5 = chance)",
        "auc": round(auc, 4),
        "advantage": round(float(np.max(tpr - fpr)), 4),
        "train_rows": int(len(train_loss)),
        "test_rows": int(len(test_loss)),
        "train_loss_mean": round(float(train_loss.mean()), 4),
        "test_loss_mean": round(float(test_loss.mean()), 4),
    }

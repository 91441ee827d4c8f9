"""Membership inference: how well a model's loss tells its training rows from unseen rows.

The loss-threshold attack (Yeom et al., 2018) guesses "was in training" when a row's loss
(cross-entropy of its true class) is low. Its strength over every threshold is the ROC AUC of
``-loss`` as a score for membership: 0.5 means the model's losses say nothing about who was
trained on; 1.0 means every training row has a lower loss than every unseen row. A model that
memorises its training rows scores high; an (ε, δ)-differentially private one bounds every such
attack (true-positive rate <= e^ε x false-positive rate + δ at every threshold), and in practice
stays much closer to 0.5. Reported for every classifier, private or not, so the user sees what
ε bought.

Rows, class-matched. Some classes are easier than others, so if the training rows had another
class mix than the test rows (a balanced test set, a skewed training set) the loss would tell the
groups apart by class alone, and the AUC would differ from 0.5 for a model that memorised
nothing. So for each class seen by the model, equally many training and test rows are drawn
(the smaller of its two counts, each a seeded sample without replacement; all classes shrunk in
proportion when the total passes ``max_rows`` per group). The sample depends on the labels and
the seed only, so two models scored with the same seed are scored on the same rows.

Two attacks on those rows: one global threshold (``auc``), and one threshold per class
(``class_auc``: the mean over classes, weighted by rows, of the AUC within each class, as an
attacker who knows each class's typical loss would get). Each comes with DeLong's 95% interval
(:mod:`~datamoat.models.evaluation.delong`); :func:`auc_difference` compares two models on the
same rows with DeLong's paired interval, so a reader sees whether a private model's AUC is
really closer to 0.5 than a non-private one's or within the noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from datamoat.errors import DatamoatError
from datamoat.models.evaluation.delong import delong, normal_interval

MAX_ROWS = 4000
"""Most rows scored per group (training / test): DeLong's standard error at AUC 0.5 is about
0.0065 with 4,000 a group (0.009 with 2,000), below the 0.01-0.02 a private model typically
moves the AUC."""
MIN_PROBA = 1e-12
"""Probabilities are floored here before the log (a loss is at most about 27.6)."""
LEVEL = 0.95
"""Confidence level of the intervals."""


@dataclass(frozen=True)
class MatchedLosses:
    """Per-row losses of a class-matched sample: ``member`` / ``nonmember`` losses (m,) each,
    ``classes`` (m,) the class index shared by the i-th member and the i-th non-member row."""

    member: np.ndarray
    nonmember: np.ndarray
    classes: np.ndarray


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


def matched_sample(train_y: np.ndarray, test_y: np.ndarray, *, seed: int,
                   max_rows: int = MAX_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Positions of a class-matched sample: (train positions (m,), test positions (m,)).

    train_y / test_y: class indices per row (-1: a class the model never saw, never drawn).
    Entry i of both arrays has the same class; per class min(train count, test count) rows,
    all scaled down in proportion (floor) when their sum passes ``max_rows``.
    """
    rng = np.random.default_rng(seed)
    train_y, test_y = np.asarray(train_y), np.asarray(test_y)
    shared = sorted(set(np.unique(train_y)) & set(np.unique(test_y)) - {-1})
    counts = {c: min(int((train_y == c).sum()), int((test_y == c).sum())) for c in shared}
    total = sum(counts.values())
    if total > max_rows:
        counts = {c: k * max_rows // total for c, k in counts.items()}
    train_pos, test_pos = [], []
    for c in shared:
        if counts[c]:
            train_pos.append(rng.choice(np.flatnonzero(train_y == c), counts[c], replace=False))
            test_pos.append(rng.choice(np.flatnonzero(test_y == c), counts[c], replace=False))
    if not train_pos:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(train_pos), np.concatenate(test_pos)


def matched_losses(trainer: Any, train: pd.DataFrame, test: pd.DataFrame, *, seed: int = 0,
                   max_rows: int = MAX_ROWS) -> MatchedLosses:
    """Losses of a fitted classifier ``trainer`` on a class-matched sample of ``train`` / ``test``.

    Both frames carry its label column; rows whose label the model never saw have no loss and
    are not drawn. DatamoatError when no class has a row in both frames.
    """
    index = {c: i for i, c in enumerate(trainer.classes_)}

    def codes(df: pd.DataFrame) -> np.ndarray:
        return df[trainer.label_column].astype(str).map(index).fillna(-1).astype(np.int64).to_numpy()

    train_y, test_y = codes(train), codes(test)
    train_pos, test_pos = matched_sample(train_y, test_y, seed=seed, max_rows=max_rows)
    if len(train_pos) == 0:
        raise DatamoatError("membership inference needs at least one class with rows in both the training and "
                            "the test rows.")
    member = row_losses(trainer.predict_proba(train.iloc[train_pos]), train_y[train_pos])
    nonmember = row_losses(trainer.predict_proba(test.iloc[test_pos]), test_y[test_pos])
    return MatchedLosses(member=member, nonmember=nonmember, classes=train_y[train_pos])


def _aucs(runs: list[MatchedLosses]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Global AUCs (k,) with covariance (k, k), and per-class-threshold AUCs (k,) with covariance
    (k, k) (None when no class has 2+ rows a group) for k runs on the same rows."""
    aucs, cov = delong(np.stack([-r.member for r in runs]), np.stack([-r.nonmember for r in runs]))
    classes = runs[0].classes
    weighted, class_cov, weight = np.zeros(len(runs)), np.zeros((len(runs), len(runs))), 0
    for c in np.unique(classes):
        rows = classes == c
        if rows.sum() < 2:  # a within-class variance needs 2 rows a group
            continue
        a, v = delong(np.stack([-r.member[rows] for r in runs]), np.stack([-r.nonmember[rows] for r in runs]))
        weighted += rows.sum() * a
        class_cov += rows.sum() ** 2 * v
        weight += int(rows.sum())
    if not weight:
        return aucs, cov, None, None
    return aucs, cov, weighted / weight, class_cov / weight**2


def attack_figures(losses: MatchedLosses) -> dict[str, Any]:
    """The attack's figures on one model's matched losses (see :func:`membership_inference`)."""
    from sklearn.metrics import roc_curve

    m = len(losses.member)
    member = np.r_[np.ones(m), np.zeros(m)]
    fpr, tpr, _ = roc_curve(member, -np.r_[losses.member, losses.nonmember])
    out: dict[str, Any] = {
        "attack": "loss threshold (ROC AUC of -loss: training rows vs test rows, class-matched; 0.5 = chance)",
        "auc": round(loss_threshold_auc(losses.member, losses.nonmember), 4) if m < 2 else None,
        "auc_ci": None, "class_auc": None, "class_auc_ci": None,
        "advantage": round(float(np.max(tpr - fpr)), 4),
        "train_rows": m, "test_rows": m, "classes": int(len(np.unique(losses.classes))),
        "train_loss_mean": round(float(losses.member.mean()), 4),
        "test_loss_mean": round(float(losses.nonmember.mean()), 4),
    }
    if m >= 2:  # DeLong's AUC is the same number as loss_threshold_auc's, with its variance
        aucs, cov, class_aucs, class_cov = _aucs([losses])
        out["auc"] = round(float(aucs[0]), 4)
        out["auc_ci"] = [round(v, 4) for v in normal_interval(aucs[0], float(np.sqrt(cov[0, 0])), LEVEL)]
        if class_aucs is not None:
            out["class_auc"] = round(float(class_aucs[0]), 4)
            out["class_auc_ci"] = [round(v, 4) for v in
                                   normal_interval(class_aucs[0], float(np.sqrt(class_cov[0, 0])), LEVEL)]
    return out


def auc_difference(a: MatchedLosses, b: MatchedLosses) -> dict[str, Any]:
    """AUC of model a minus AUC of model b on the same matched rows, with DeLong's paired 95%
    interval: ``{"auc_diff", "auc_diff_ci", "class_auc_diff", "class_auc_diff_ci"}`` (the last
    two None when no class has 2+ rows a group). An interval that excludes 0 means the two
    models' attack AUCs differ beyond the sampling noise of these rows.
    """
    if not (np.array_equal(a.classes, b.classes) and len(a.member) == len(b.member)):
        raise DatamoatError("the two models' membership losses are not on the same rows (score both with the same "
                            "rows and seed).")
    if len(a.member) < 2:
        raise DatamoatError("comparing two membership-inference AUCs needs at least 2 rows a group.")
    aucs, cov, class_aucs, class_cov = _aucs([a, b])
    contrast = np.array([1.0, -1.0])

    def diff(values: np.ndarray, c: np.ndarray) -> tuple[float, list[float]]:
        d = float(values @ contrast)
        se = float(np.sqrt(max(contrast @ c @ contrast, 0.0)))
        return round(d, 4), [round(v, 4) for v in normal_interval(d, se, LEVEL)]

    out: dict[str, Any] = dict(zip(("auc_diff", "auc_diff_ci"), diff(aucs, cov), strict=True))
    out["class_auc_diff"], out["class_auc_diff_ci"] = (
        diff(class_aucs, class_cov) if class_aucs is not None and class_cov is not None else (None, None))
    return out


def membership_inference(trainer: Any, train: pd.DataFrame, test: pd.DataFrame, *, seed: int = 0,
                         max_rows: int = MAX_ROWS) -> dict[str, Any]:
    """The loss-threshold attack on a fitted classifier ``trainer``.

    train / test: the rows it was trained on and held-out rows, with its label column; per
    class equally many of each are drawn (module docstring). Returns ``{"attack", "auc",
    "auc_ci", "class_auc", "class_auc_ci", "advantage", "train_rows", "test_rows", "classes",
    "train_loss_mean", "test_loss_mean"}``: auc / class_auc the global and per-class-threshold
    attacks' ROC AUC, their DeLong 95% intervals ([low, high]; None with under 2 rows a group),
    advantage the global attack's best true-positive minus false-positive rate, rows per group.
    """
    return attack_figures(matched_losses(trainer, train, test, seed=seed, max_rows=max_rows))

"""The augmentation gate: synthetic rows are kept only when they win the flywheel's paired test."""

from __future__ import annotations

import numpy as np
import pandas as pd


def edge_table(n_a: int = 400, n_c: int = 40, seed: int = 0) -> pd.DataFrame:
    """A large class on x in [0, 5] and a small one on [5.1, 5.6]: a linear model separates them
    well unweighted; SMOTE to equal counts moves its boundary into the large class."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.uniform(0, 5, n_a), rng.uniform(5.1, 5.6, n_c)])
    df = pd.DataFrame({"x": x, "z": rng.normal(size=n_a + n_c), "label": ["a"] * n_a + ["c"] * n_c})
    df.index = pd.Index([f"r{i}" for i in range(len(df))], name="_dm_row_id")
    return df


def candidates(right_raw: np.ndarray, right_aug: np.ndarray):
    """A raw and an augmented candidate scored on 3 folds, from which rows each got right."""
    from datamoat.models.select import Candidate

    y = np.array(["a", "b"] * (len(right_raw) // 2), dtype=object)

    def proba(right: np.ndarray) -> np.ndarray:
        guess = np.where(right, y, np.where(y == "a", "b", "a"))
        return np.column_stack([guess == "a", guess == "b"]).astype(float)

    folds = np.array_split(np.arange(len(y)), 3)
    raw = Candidate("tfidf-linear", "tfidf-linear", {}, status="scored", oof_proba=proba(right_raw),
                    scores=[float(right_raw[f].mean()) for f in folds])
    aug = Candidate("tfidf-linear + augmentation", "tfidf-linear", {}, status="scored", oof_proba=proba(right_aug),
                    scores=[float(right_aug[f].mean()) for f in folds], augmentation="swap+delete+insert")
    return y, raw, aug


def test_the_gate_keeps_a_significant_win_and_rejects_a_small_one():
    from datamoat.models.augment_gate import FoldAugmenter, gate

    folds = FoldAugmenter("text", "label", 0, added=[{"a": 5, "b": 4}, {"a": 6}], method="swap+delete+insert")
    right_raw = np.ones(300, dtype=bool)
    right_raw[:60] = False
    right_aug = right_raw.copy()
    right_aug[:40] = True  # 40 rows fixed, none broken: McNemar p ~ 1e-12
    y, raw, aug = candidates(right_raw, right_aug)
    decision = gate(raw, aug, y, ["a", "b"], folds)
    assert decision["kept"] and aug.status == "scored"
    assert decision["test"]["mcnemar_p"] < 0.05 and decision["test"]["bootstrap_ci"][0] > 0
    assert decision["added_per_class"] == {"a": [5, 6], "b": [4, 0]}

    right_aug = right_raw.copy()
    right_aug[:3] = True  # 3 rows better: real, but not significant
    y, raw, aug = candidates(right_raw, right_aug)
    decision = gate(raw, aug, y, ["a", "b"], folds)
    assert not decision["kept"] and aug.status == "rejected"
    assert "not significant" in decision["reason"] and decision["gain"] > 0


def test_smote_that_hurts_is_rejected_by_the_gate_and_reported():
    from datamoat.models.select import select_model

    sel = select_model(edge_table(), label_column="label", candidates=("tabular-linear",), search=False,
                       augment=True, budget_s=120)
    decision = sel.to_dict()["augmentation"]
    assert decision["kept"] is False and "significantly worse" in decision["reason"]
    assert decision["test"]["difference"] < 0 and decision["method"] == "smote"
    # the small class was brought up to the large one's count in each training fold (2/3 of 400 - 2/3 of 40)
    assert list(decision["added_per_class"]) == ["c"] and all(230 <= n <= 250 for n in decision["added_per_class"]["c"])
    assert sel.chosen == "tabular-linear"
    by_name = {c["name"]: c for c in sel.to_dict()["candidates"]}
    assert by_name["tabular-linear + augmentation"]["status"] == "rejected"
    assert by_name["tabular-linear + augmentation"]["augmentation"] == "smote"


def test_augmentation_that_does_not_fit_the_deadline_is_skipped_with_its_estimate():
    from datamoat.models.select import select_model

    sel = select_model(edge_table(), label_column="label", candidates=("tabular-linear",), search=False,
                       augment=True, budget_s=0.01)
    decision = sel.augmentation
    assert decision is not None and decision["kept"] is False
    # skipped for the budget: by its estimate, or (a budget spent before the first candidate's
    # folds: that candidate is judged on one fold) for want of out-of-fold predictions
    reason = decision["reason"]
    assert reason.startswith("skipped:") and ("left of the budget" in reason or "budget was spent" in reason)
    assert sel.chosen == "tabular-linear"

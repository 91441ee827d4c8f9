"""Inter-annotator agreement: Cohen's kappa per pair of annotators, Fleiss' kappa overall.

Kappa is (observed agreement - chance agreement) / (1 - chance agreement): 1 is perfect
agreement, 0 what chance gives, below 0 worse than chance. It is undefined when chance agreement
is 1 (for example both annotators used one and the same label on every item); such values are
reported as None with a reason instead of NaN.

:func:`agreement_report` works on submitted responses, one row per (item, annotator):

* pairs: for every two annotators who labelled at least one common item, Cohen's kappa over
  those common items (sklearn's ``cohen_kappa_score``) and their raw agreement;
* per_annotator: the mean of an annotator's defined pairwise kappas, weighted by the number of
  items each pair shares;
* overall_fleiss_kappa: Fleiss' kappa needs the same number of ratings n per item. Items with
  fewer than 2 labels are left out; n is the smallest label count among the rest, and items with
  more labels contribute their first n answers (response order). With two annotators per item
  plus an occasional tie-breaker this uses the two original answers: the tie-breaker only exists
  because they disagreed, so counting it would bias the figure.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from datamoat.errors import DatamoatError

RESPONSE_COLUMNS = ("record_id", "user", "label")


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two annotators' labels on the same items (aligned lists).

    None when it is undefined: no items, or chance agreement of 1 (one single label used by
    both). DatamoatError when the lists differ in length.
    """
    if len(a) != len(b):
        raise DatamoatError(f"cohen_kappa needs two label lists of equal length, got {len(a)} and {len(b)}.")
    if len(a) == 0:
        return None
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns on 0/0 before returning NaN
        value = float(cohen_kappa_score([str(x) for x in a], [str(x) for x in b]))
    return None if math.isnan(value) else value


def fleiss_kappa(table: Any) -> float | None:
    """Fleiss' kappa of an items x categories table of rating counts.

    table[i][j]: how many raters put item i in category j; every row must sum to the same
    n >= 2. Returns None when chance agreement is 1 (every rating in one category) or the table
    has no rows. DatamoatError for an unusable table.
    """
    counts = np.asarray(table, dtype=float)
    if counts.size == 0:
        return None
    if counts.ndim != 2 or (counts < 0).any():
        raise DatamoatError("fleiss_kappa needs a 2-D table of non-negative counts (items x categories).")
    n_per_item = counts.sum(axis=1)
    n = n_per_item[0]
    if n < 2 or not np.allclose(n_per_item, n):
        raise DatamoatError("fleiss_kappa needs the same number of ratings (at least 2) for every item.")
    p_items = ((counts ** 2).sum(axis=1) - n) / (n * (n - 1))
    p_bar = p_items.mean()
    p_categories = counts.sum(axis=0) / counts.sum()
    p_chance = float((p_categories ** 2).sum())
    if math.isclose(p_chance, 1.0):
        return None
    return float((p_bar - p_chance) / (1 - p_chance))


def agreement_report(responses: pd.DataFrame) -> dict[str, Any]:
    """Agreement among annotators (see module docstring).

    responses: one row per submitted answer with columns record_id, user, label, in answer
    order (the first answer of an item first). One answer per (record_id, user) is kept (the
    last one given).

    Returns {"overall_fleiss_kappa", "raters_per_item", "items", "observed_agreement",
    "reason", "pairs": [{"a", "b", "kappa", "items", "agreement", "reason"}],
    "per_annotator": [{"user", "kappa", "items", "pairs"}]}; kappas are None (with a reason)
    where undefined.
    """
    missing = [c for c in RESPONSE_COLUMNS if c not in responses.columns]
    if missing:
        raise DatamoatError(f"agreement needs the columns record_id, user and label; {', '.join(missing)} missing.")
    df = responses.loc[responses["label"].notna(), list(RESPONSE_COLUMNS)].copy()
    df["label"] = df["label"].astype(str)
    df = df.drop_duplicates(["record_id", "user"], keep="last")
    by_item = {rid: list(zip(g["user"], g["label"], strict=True)) for rid, g in df.groupby("record_id", sort=True)}
    multi = {rid: answers for rid, answers in by_item.items() if len(answers) >= 2}

    report: dict[str, Any] = {"overall_fleiss_kappa": None, "raters_per_item": None, "items": len(multi),
                              "observed_agreement": None, "reason": None, "pairs": [], "per_annotator": []}
    if not multi:
        report["reason"] = "no item has labels from two annotators yet"
        return report
    n = min(len(answers) for answers in multi.values())
    categories = sorted({label for answers in multi.values() for _, label in answers[:n]})
    index = {c: j for j, c in enumerate(categories)}
    table = np.zeros((len(multi), len(categories)))
    for i, answers in enumerate(multi.values()):
        for _, label in answers[:n]:
            table[i, index[label]] += 1
    kappa = fleiss_kappa(table)
    report.update(raters_per_item=n, overall_fleiss_kappa=kappa,
                  observed_agreement=float((((table ** 2).sum(axis=1) - n) / (n * (n - 1))).mean()))
    if kappa is None:
        report["reason"] = f"every label given was {categories[0]!r}, so agreement by chance is 1"

    report["pairs"] = _pairs(by_item)
    report["per_annotator"] = _per_annotator(report["pairs"], by_item)
    return report


def _pairs(by_item: dict[Any, list[tuple[str, str]]]) -> list[dict[str, Any]]:
    shared: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for answers in by_item.values():
        labels = dict(answers)
        for a, b in itertools.combinations(sorted(labels), 2):
            la, lb = shared.setdefault((a, b), ([], []))
            la.append(labels[a])
            lb.append(labels[b])
    out = []
    for (a, b), (la, lb) in sorted(shared.items()):
        kappa = cohen_kappa(la, lb)
        reason = None
        if kappa is None:
            reason = (f"both used only the label {la[0]!r} on their {len(la)} common items"
                      if set(la) == set(lb) and len(set(la)) == 1 else "agreement by chance is 1")
        out.append({"a": a, "b": b, "kappa": kappa, "items": len(la),
                    "agreement": sum(x == y for x, y in zip(la, lb, strict=True)) / len(la), "reason": reason})
    return out


def _per_annotator(pairs: list[dict[str, Any]], by_item: dict[Any, list[tuple[str, str]]]) -> list[dict[str, Any]]:
    users = sorted({u for answers in by_item.values() if len(answers) >= 2 for u, _ in answers})
    out = []
    for user in users:
        mine = [p for p in pairs if user in (p["a"], p["b"])]
        defined = [p for p in mine if p["kappa"] is not None]
        weight = sum(p["items"] for p in defined)
        kappa = sum(p["kappa"] * p["items"] for p in defined) / weight if weight else None
        items = sum(1 for answers in by_item.values() if len(answers) >= 2 and user in dict(answers))
        out.append({"user": user, "kappa": kappa, "items": items, "pairs": len(mine)})
    return out

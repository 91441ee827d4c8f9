"""Cohen's and Fleiss' kappa, checked against values worked out from their definitions."""

from __future__ import annotations

from fractions import Fraction

import pandas as pd
import pytest

from datamoat.errors import DatamoatError
from datamoat.feedback.agreement import agreement_report, cohen_kappa, fleiss_kappa


def hand_cohen(x: list[str], y: list[str]) -> float:
    """kappa = (p_o - p_e) / (1 - p_e), p_e from each rater's own label frequencies."""
    n = len(x)
    p_o = sum(a == b for a, b in zip(x, y, strict=True)) / n
    p_e = sum((x.count(c) / n) * (y.count(c) / n) for c in set(x) | set(y))
    return (p_o - p_e) / (1 - p_e)


def hand_fleiss(items: list[list[str]]) -> float:
    """Fleiss' kappa from the per-item label lists (every list the same length n)."""
    n = len(items[0])
    cats = sorted({c for item in items for c in item})
    p_i = [(sum(item.count(c) ** 2 for c in cats) - n) / (n * (n - 1)) for item in items]
    p_j = [sum(item.count(c) for item in items) / (len(items) * n) for c in cats]
    p_bar, p_e = sum(p_i) / len(items), sum(p ** 2 for p in p_j)
    return (p_bar - p_e) / (1 - p_e)


def test_cohen_kappa_matches_the_textbook_example() -> None:
    # 50 items: both yes 20, A yes / B no 5, A no / B yes 10, both no 15 -> p_o 0.7, p_e 0.5, kappa 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    x, y = list("AABBCCAB"), list("ABBBCAAB")
    assert cohen_kappa(x, y) == pytest.approx(hand_cohen(x, y))
    assert cohen_kappa(list("AAAA"), list("AAAA")) is None  # chance agreement is 1: undefined
    assert cohen_kappa(list("AAAA"), list("BBBB")) == pytest.approx(0.0)
    assert cohen_kappa([], []) is None
    with pytest.raises(DatamoatError, match="equal length"):
        cohen_kappa(["a"], ["a", "b"])


def test_fleiss_kappa_matches_hand_and_published_values() -> None:
    # Two raters on four items: (A,A) (A,B) (B,B) (B,B): P = 3/4, p_A = 3/8, P_e = 34/64 -> kappa 7/15.
    assert fleiss_kappa([[2, 0], [1, 1], [0, 2], [0, 2]]) == pytest.approx(float(Fraction(7, 15)))
    # Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa 0.210.
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    items = [[str(j) for j, count in enumerate(row) for _ in range(count)] for row in table]
    assert fleiss_kappa(table) == pytest.approx(hand_fleiss(items))
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=5e-4)
    assert fleiss_kappa([[3, 0], [3, 0]]) is None and fleiss_kappa([]) is None
    with pytest.raises(DatamoatError, match="same number of ratings"):
        fleiss_kappa([[2, 0], [1, 2]])


def test_agreement_report_pairs_annotators_and_overall() -> None:
    answers = [  # (item, user, label) in answer order
        (1, "ann", "A"), (1, "bob", "A"),
        (2, "ann", "A"), (2, "bob", "B"),
        (3, "ann", "B"), (3, "bob", "B"),
        (4, "ann", "B"), (4, "bob", "B"), (4, "cat", "B"),  # a third answer: not in Fleiss (n = 2)
        (5, "ann", "A"), (5, "cat", "A"),
        (6, "bob", "A"),  # one label only: not an agreement item
    ]
    report = agreement_report(pd.DataFrame(answers, columns=["record_id", "user", "label"]))
    first_two = [["A", "A"], ["A", "B"], ["B", "B"], ["B", "B"], ["A", "A"]]
    assert report["items"] == 5 and report["raters_per_item"] == 2
    assert report["overall_fleiss_kappa"] == pytest.approx(hand_fleiss(first_two))
    assert report["observed_agreement"] == pytest.approx(4 / 5)

    pairs = {(p["a"], p["b"]): p for p in report["pairs"]}
    k_ab = hand_cohen(["A", "A", "B", "B"], ["A", "B", "B", "B"])
    assert pairs["ann", "bob"]["kappa"] == pytest.approx(k_ab) and pairs["ann", "bob"]["items"] == 4
    assert pairs["ann", "cat"]["kappa"] == pytest.approx(1.0) and pairs["ann", "cat"]["items"] == 2
    assert pairs["bob", "cat"]["kappa"] is None and "only the label 'B'" in pairs["bob", "cat"]["reason"]

    per = {a["user"]: a for a in report["per_annotator"]}
    assert per["ann"]["kappa"] == pytest.approx((4 * k_ab + 2 * 1.0) / 6) and per["ann"]["items"] == 5
    assert per["bob"]["kappa"] == pytest.approx(k_ab) and per["bob"]["items"] == 4
    assert per["cat"]["kappa"] == pytest.approx(1.0) and per["cat"]["items"] == 2


def test_undefined_and_empty_agreement_is_reported_not_raised() -> None:
    same = pd.DataFrame([(i, u, "A") for i in range(3) for u in ("ann", "bob")], columns=["record_id", "user", "label"])
    report = agreement_report(same)
    assert report["overall_fleiss_kappa"] is None and "'A'" in report["reason"]
    assert report["pairs"][0]["kappa"] is None and report["per_annotator"][0]["kappa"] is None
    empty = agreement_report(pd.DataFrame(columns=["record_id", "user", "label"]))
    assert empty["items"] == 0 and empty["overall_fleiss_kappa"] is None and "no item" in empty["reason"]
    with pytest.raises(DatamoatError, match="label missing"):
        agreement_report(pd.DataFrame({"record_id": [1], "user": ["a"]}))

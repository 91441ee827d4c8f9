"""Additive secret sharing of counts: totals are exact, and any N-1 shares of a party's input are
uniform whatever the input (statistically, and exactly: they fit every possible input)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy import stats

from datamoat.errors import DatamoatError
from datamoat.privacy.secure_sum import (
    PRIME,
    add_shares,
    count_vector,
    reconstruct,
    secure_sum,
    share,
)


def test_the_total_of_three_sites_label_counts() -> None:
    labels = ["card", "login", "refund"]
    sites = [{"card": 120, "refund": 7}, {"login": 3, "card": 1}, {"refund": 40, "login": 0, "card": 2}]
    vectors = [count_vector(c, labels) for c in sites]
    assert secure_sum(vectors) == [123, 3, 47]
    assert secure_sum([[-5, 10**30], [2, 10**30]]) == [-3, 2 * 10**30]  # signed and large values too


def test_shares_add_up_and_each_party_sees_only_random_numbers() -> None:
    shares = share([5, 0, 17], parties=4)
    assert len(shares) == 4 and all(len(s) == 3 for s in shares)
    assert [sum(col) % PRIME for col in zip(*shares, strict=True)] == [5, 0, 17]
    assert all(0 <= v < PRIME for s in shares for v in s)


@pytest.mark.parametrize("dropped", [0, 2])
def test_any_n_minus_1_shares_are_uniform_whatever_the_input(dropped: int) -> None:
    rng = random.Random(7)
    parties, draws = 3, 4000
    seen = {}
    for value in (0, 1, 10**6):
        rows = [share([value], parties, rng) for _ in range(draws)]
        kept = [[s[0] * 16 // PRIME for j, s in enumerate(row) if j != dropped] for row in rows]
        bins = np.array(kept)
        for col in bins.T:  # each kept share alone: uniform over the 16 bins
            assert stats.chisquare(np.bincount(col, minlength=16)).pvalue > 1e-3
        # the pair of kept shares jointly: uniform over 16 x 16 cells
        joint = np.bincount(bins[:, 0] * 16 + bins[:, 1], minlength=256)
        assert stats.chisquare(joint).pvalue > 1e-3
        seen[value] = np.bincount(bins[:, 0], minlength=16)
    # and the same distribution for the three inputs (chi-square test of homogeneity)
    assert stats.chi2_contingency(np.vstack(list(seen.values()))).pvalue > 1e-3


def test_n_minus_1_shares_fit_every_input_exactly() -> None:
    """Perfect secrecy: for the shares two parties hold, every candidate input has exactly one
    completing share, so those shares cannot tell the inputs apart."""
    shares = share([42], parties=3, rng=random.Random(1))
    held = [shares[0][0], shares[1][0]]
    for candidate in (0, 42, 99, -7):
        last = (candidate - sum(held)) % PRIME
        assert reconstruct([[held[0]], [held[1]], [last]], parties=3) == [candidate]


def test_reconstruction_needs_every_partial_sum() -> None:
    rng = random.Random(3)
    inputs = [[10, 20], [1, 2], [100, 200]]
    shared = [share(v, 3, rng) for v in inputs]
    partials = [add_shares([shared[i][j] for i in range(3)]) for j in range(3)]
    assert reconstruct(partials, parties=3) == [111, 222]
    with pytest.raises(DatamoatError, match="all 3 parties; got 2"):
        reconstruct(partials[:2], parties=3)
    # two partial sums alone add up to a random number, not the total
    assert [sum(col) % PRIME for col in zip(*partials[:2], strict=True)] != [111, 222]


def test_bad_inputs_are_one_sentence() -> None:
    with pytest.raises(DatamoatError, match="at least 2 parties"):
        share([1], parties=1)
    with pytest.raises(DatamoatError, match="value 1 is 2.5"):
        share([1, 2.5], parties=2)  # type: ignore[list-item]
    with pytest.raises(DatamoatError, match="outside"):
        share([PRIME], parties=2)
    with pytest.raises(DatamoatError, match="share vector 1 has 1 values"):
        add_shares([[1, 2], [3]])
    with pytest.raises(DatamoatError, match="'spam' are not in the agreed label list"):
        count_vector({"spam": 1}, ["card"])

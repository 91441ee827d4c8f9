"""The one deadline a command passes down: parsing at the edge, time left, shares."""

from __future__ import annotations

import time

import pytest

from datamoat.budget import Deadline, parse_budget
from datamoat.errors import DatamoatError


@pytest.mark.parametrize("bad", ["10min", "5 minutes", "1d", "-3m", "0s"])
def test_budget_typos_fail_with_one_sentence(bad):
    with pytest.raises(DatamoatError, match=r"budget .* (is not a duration|must be more than 0)"):
        Deadline.parse(bad)


def test_deadline_counts_down_and_judges_estimates():
    d = Deadline(parse_budget("2s"))
    assert d.fits(1.0) and not d.fits(5.0) and not d.expired()
    time.sleep(0.05)
    assert 0.04 <= d.used() < 1.0 and d.left() < 2.0
    before = d.left()
    half = d.share(0.5)
    assert 0 < half.budget_s <= before / 2
    assert Deadline.parse(d) is d
    assert d.summary()["budget_s"] == 2.0


def test_an_expired_deadline_fits_nothing():
    d = Deadline(0.01)
    time.sleep(0.02)
    assert d.expired() and not d.fits(0.0) and d.share(0.5).budget_s == 0.0

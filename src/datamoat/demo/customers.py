"""The demo's customer table: quasi-identifiers plus a sensitive attribute.

Columns: ``customer_id`` ("C00042"), ``age`` (years, 18-90), ``postcode`` (5-digit string; New
England and New Jersey codes keep their leading zero), ``gender`` (female/male/nonbinary),
``city``, ``plan`` (basic/plus/premium) and ``credit_score_band`` (the sensitive attribute).
Ages spread over ~70 values and postcodes over hundreds of codes, so most raw
(age, postcode, gender) combinations are unique: k-anonymity needs generalisation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

QUASI_IDENTIFIERS: tuple[str, ...] = ("age", "postcode", "gender")
SENSITIVE: tuple[str, ...] = ("credit_score_band",)
COLUMNS: tuple[str, ...] = ("customer_id", "age", "postcode", "gender", "city", "plan", "credit_score_band")

# (city, relative population weight, 3-digit postcode prefixes)
_CITIES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("New York", 18, ("100", "101", "102", "103", "104", "112")),
    ("Los Angeles", 12, ("900", "902", "913")),
    ("Chicago", 9, ("606", "607")),
    ("Houston", 7, ("770", "772")),
    ("Phoenix", 5, ("850", "852")),
    ("Philadelphia", 5, ("191",)),
    ("Boston", 6, ("021", "022")),
    ("Providence", 2, ("029",)),
    ("Hartford", 2, ("061",)),
    ("Springfield", 2, ("011",)),
    ("Newark", 3, ("071",)),
    ("Princeton", 2, ("085",)),
    ("Washington", 4, ("200",)),
    ("Atlanta", 4, ("303",)),
    ("Miami", 4, ("331",)),
    ("Denver", 4, ("802",)),
    ("San Francisco", 5, ("941",)),
    ("Seattle", 5, ("981",)),
)
_BANDS: tuple[str, ...] = ("poor", "fair", "good", "very_good", "excellent")


@dataclass(frozen=True)
class Customer:
    """One row of ``customers.csv`` (see module docstring for units and formats)."""

    customer_id: str
    age: int
    postcode: str
    gender: str
    city: str
    plan: str
    credit_score_band: str

    def row(self) -> list[str]:
        """The CSV fields in :data:`COLUMNS` order."""
        return [self.customer_id, str(self.age), self.postcode, self.gender, self.city, self.plan,
                self.credit_score_band]


def _postcodes(rng: random.Random) -> dict[str, list[str]]:
    """The inhabited postcodes of each city: 12 random codes under each of its prefixes."""
    return {city: [p + f"{s:02d}" for p in prefixes for s in sorted(rng.sample(range(100), 12))]
            for city, _, prefixes in _CITIES}


def _customer(index: int, postcodes: dict[str, list[str]], rng: random.Random) -> Customer:
    """Draw customer number ``index`` (1-based) with correlated age, plan and credit band."""
    city = rng.choices([c[0] for c in _CITIES], weights=[c[1] for c in _CITIES])[0]
    age = int(min(90, max(18, round(rng.gauss(41, 14)))))
    gender = rng.choices(("female", "male", "nonbinary"), weights=(49, 48, 3))[0]
    premium_boost = 1.0 + max(0, age - 35) / 25
    plan = rng.choices(("basic", "plus", "premium"), weights=(60, 28, 12 * premium_boost))[0]
    shift = min(2, max(-2, round((age - 40) / 15 + rng.gauss(0, 1))))
    band = _BANDS[min(4, max(0, 2 + shift))]
    postcode = rng.choice(postcodes[city])
    return Customer(f"C{index:05d}", age, postcode, gender, city, plan, band)


def make_customers(n: int, rng: random.Random) -> list[Customer]:
    """Return ``n`` customers with ids C00001..Cnnnnn, drawn with ``rng``."""
    postcodes = _postcodes(rng)
    return [_customer(i + 1, postcodes, rng) for i in range(n)]


def ticket_weights(n: int, rng: random.Random) -> list[float]:
    """Relative ticket volume per customer: heavy-tailed, a few customers write often."""
    return [rng.paretovariate(1.3) for _ in range(n)]

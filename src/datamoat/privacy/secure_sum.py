"""Secure aggregation of counts: additive secret sharing among N parties, modulo a prime.

Teams with several deployments can add up their label counts or feedback statistics without any
site revealing its own numbers. Each party splits its vector of counts into N random *shares*
(:func:`share`), keeps one and sends one to every other party; each party adds the shares it
holds (:func:`add_shares`) and publishes only that partial sum; the partial sums of all N
parties add up to the total (:func:`reconstruct`). The one in-process call :func:`secure_sum`
runs the whole protocol, e.g. to check a deployment or in tests.

Why it reveals nothing: for a value v, N - 1 shares are drawn uniformly from Z_p and the last is
v minus their sum (mod p). Any N - 1 shares of one party's input are then independent and
uniform whatever v is (every v is completed by exactly one last share), so a coalition of up to
N - 1 parties learns nothing about the remaining party's input beyond what the total itself
says; the total needs every partial sum. Parties are assumed honest-but-curious (they follow the
protocol); the channels between them must be private and authenticated (TLS), which this module
does not provide. A library entry point only: moving shares between sites is the deployment's job.

Hand-written (about fifty lines) because it is plain modular arithmetic; the well-kept MPC
libraries (MP-SPDZ, CrypTen) bring a runtime and a network layer this does not need. Randomness
comes from :mod:`secrets` (the OS's CSPRNG) unless a ``random.Random`` is passed (tests only).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping, Sequence

from datamoat.errors import DatamoatError

PRIME = 2**127 - 1
"""The modulus (a Mersenne prime). Values must lie in (-PRIME/2, PRIME/2); totals too."""
LIMIT = PRIME // 2


def _check_parties(parties: int) -> None:
    if not isinstance(parties, int) or isinstance(parties, bool) or parties < 2:
        raise DatamoatError(f"secure aggregation needs at least 2 parties, not {parties!r}.")


def _encode(value: int, i: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise DatamoatError(f"value {i} is {value!r}; secure aggregation adds integers (counts), not "
                            f"{type(value).__name__}.")
    if not -LIMIT <= value <= LIMIT:
        raise DatamoatError(f"value {i} ({value}) is outside +-(2^126); it cannot be shared modulo 2^127-1.")
    return value % PRIME


def _decode(value: int) -> int:
    return value - PRIME if value > LIMIT else value


def share(values: Sequence[int], parties: int, rng: random.Random | None = None) -> list[list[int]]:
    """``parties`` share vectors of ``values`` (integers): element-wise they add up to ``values`` mod PRIME.

    Share j goes to party j. Each share vector alone -- and any ``parties - 1`` of them -- is
    uniformly distributed, independent of ``values``. rng: only for reproducible tests.
    """
    _check_parties(parties)
    draw = rng.randrange if rng is not None else secrets.randbelow
    encoded = [_encode(v, i) for i, v in enumerate(values)]
    out = [[draw(PRIME) for _ in encoded] for _ in range(parties - 1)]
    out.append([(v - sum(col)) % PRIME for v, col in zip(encoded, zip(*out, strict=True), strict=True)])
    return out


def add_shares(received: Sequence[Sequence[int]]) -> list[int]:
    """One party's partial sum: the element-wise sum mod PRIME of the shares it holds (one per party)."""
    if not received:
        raise DatamoatError("no shares to add; a party adds the share it got from every party.")
    width = len(received[0])
    for j, vec in enumerate(received):
        if len(vec) != width:
            raise DatamoatError(f"share vector {j} has {len(vec)} values, the first has {width}; every party must "
                                "share vectors of the same length (agree on the label list first).")
        for i, v in enumerate(vec):
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < PRIME:
                raise DatamoatError(f"share vector {j}, value {i} is not an integer in [0, 2^127-1).")
    return [sum(col) % PRIME for col in zip(*received, strict=True)]


def reconstruct(partial_sums: Sequence[Sequence[int]], parties: int) -> list[int]:
    """The total of every party's values, from the partial sums of all ``parties`` parties.

    DatamoatError when any partial sum is missing: fewer than all of them are uniformly random
    and say nothing about the total.
    """
    _check_parties(parties)
    if len(partial_sums) != parties:
        raise DatamoatError(f"reconstruction needs the partial sums of all {parties} parties; got "
                            f"{len(partial_sums)}.")
    return [_decode(v) for v in add_shares(partial_sums)]


def secure_sum(inputs: Sequence[Sequence[int]], rng: random.Random | None = None) -> list[int]:
    """Run the protocol in one process for ``inputs`` (one vector of integers per party): the total.

    Party i shares its vector; party j adds the j-th share of every party; the partial sums are
    combined. Equal to the plain element-wise sum (the point is what each party sees on the way).
    """
    parties = len(inputs)
    _check_parties(parties)
    shared = [share(vec, parties, rng) for vec in inputs]  # shared[i][j]: party i's share for party j
    partials = [add_shares([shared[i][j] for i in range(parties)]) for j in range(parties)]
    return reconstruct(partials, parties)


def count_vector(counts: Mapping[str, int], labels: Sequence[str]) -> list[int]:
    """Counts by label as a vector in the order of ``labels`` (agreed by all parties; a label a
    party has not seen counts 0). DatamoatError for a label outside ``labels``, so none is lost."""
    unknown = sorted(set(counts) - set(labels))
    if unknown:
        raise DatamoatError(f"label(s) {', '.join(map(repr, unknown))} are not in the agreed label list; add them "
                            "to it before sharing.")
    return [counts.get(label, 0) for label in labels]

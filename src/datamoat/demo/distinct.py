"""Keep accidental duplicates out of the demo data, so ``truth.json`` lists *every* duplicate.

Template-built tickets repeat easily (a short chat message, a foreign ticket with one stock
sentence). :class:`DistinctIndex` holds the texts accepted so far and answers whether a new
text would be an exact duplicate of one of them (equal after ``casefold`` and whitespace
collapse) or too similar (word 3-shingle Jaccard at or above :data:`MAX_ACCIDENTAL_JACCARD`,
the measure of :func:`datamoat.demo.corrupt.shingles`). The generator re-draws such a text.

Lookups are exact, not approximate: the texts sharing a shingle with the probe are found
through an inverted index, probing only with the probe's rarest shingles - enough of them
that any text reaching the threshold must contain at least one (a pigeonhole bound:
``J(A, B) >= t`` needs ``|A & B| >= ceil(t * |A|)``, so every ``|A| - ceil(t * |A|) + 1``
shingles of ``A`` include a shared one).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable

from datamoat.demo.corrupt import shingles

MAX_ACCIDENTAL_JACCARD = 0.5
"""Two tickets that are not an injected pair stay strictly below this shingle Jaccard."""

Shingle = tuple[str, ...]


def exact_key(text: str) -> str:
    """The text as an exact-duplicate detector compares it: case-folded, whitespace collapsed."""
    return " ".join(text.casefold().split())


class DistinctIndex:
    """Texts accepted so far, by key, with exact and shingle-similarity lookups."""

    def __init__(self, threshold: float = MAX_ACCIDENTAL_JACCARD) -> None:
        self.threshold = threshold
        self._sets: dict[Hashable, frozenset[Shingle]] = {}
        self._exact: dict[str, set[Hashable]] = {}
        self._keys: dict[Hashable, str] = {}
        self._sizes: dict[Hashable, int] = {}
        self._postings: dict[Shingle, set[Hashable]] = {}

    def __len__(self) -> int:
        return len(self._sets)

    def clashes(self, text: str, ignore: Iterable[Hashable] = ()) -> bool:
        """True when ``text`` exactly duplicates, or is too similar to, a stored text (keys in ``ignore`` aside)."""
        skip = set(ignore)
        if self._exact.get(exact_key(text), set()) - skip:
            return True
        probe = shingles(text)
        n, t = len(probe), self.threshold
        need = math.ceil(t * n - 1e-9)  # shared shingles any too-similar text must have
        postings = self._postings
        rare = sorted(probe, key=lambda s: len(postings.get(s, ())))[: n - need + 1]
        hits: Counter[Hashable] = Counter()
        for sh in rare:
            if sh in postings:
                hits.update(postings[sh])
        # common <= c + (n - len(rare)), and J >= t needs common * (1 + t) >= t * (n + size)
        floor = t * n - (n - len(rare)) * (1 + t) - 1e-9
        sizes, sets = self._sizes, self._sets
        for key, c in hits.items():
            size = sizes[key]
            if c * (1 + t) - t * size < floor or key in skip:
                continue
            common = len(probe & sets[key])
            if common * (1 + t) >= t * (n + size) - 1e-9:  # common / (n + size - common) >= t
                return True
        return False

    def add(self, key: Hashable, text: str) -> None:
        """Store ``text`` under ``key`` (replacing what ``key`` held)."""
        self.discard(key)
        sh = frozenset(shingles(text))
        self._sets[key] = sh
        self._sizes[key] = len(sh)
        ek = exact_key(text)
        self._keys[key] = ek
        self._exact.setdefault(ek, set()).add(key)
        for s in sh:
            self._postings.setdefault(s, set()).add(key)

    def discard(self, key: Hashable) -> None:
        """Forget the text stored under ``key``, if any."""
        sh = self._sets.pop(key, None)
        if sh is None:
            return
        del self._sizes[key]
        ek = self._keys.pop(key)
        self._exact[ek].discard(key)
        if not self._exact[ek]:
            del self._exact[ek]
        for s in sh:
            self._postings[s].discard(key)

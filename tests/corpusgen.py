"""A small seeded corpus for the language-model data tests: paragraphs of random sentences that
pass Gopher's rules (no repeated lines or n-grams by construction, words of 3-9 letters)."""

from __future__ import annotations

import random

SYLLABLES = ["ka", "lo", "mer", "tin", "sa", "vor", "del", "pa", "rin", "to", "gel", "mus", "an", "ber", "fi"]


def words(rng: random.Random, n: int) -> list[str]:
    """``n`` made-up words of 2-4 syllables (4-12 letters, mostly 5-8)."""
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))) for _ in range(n)]


def paragraph(rng: random.Random, sentences: int = 4) -> str:
    """``sentences`` lines of 8-12 random words, each ending in a full stop."""
    return "\n".join(" ".join(words(rng, rng.randint(8, 12))) + "." for _ in range(sentences))


def document(rng: random.Random, paragraphs: int = 3) -> str:
    """Paragraphs separated by blank lines (about 100-150 words)."""
    return "\n\n".join(paragraph(rng) for _ in range(paragraphs))


def long_text(seed: int, paragraphs: int) -> str:
    """One long text of ``paragraphs`` paragraphs, each line unique."""
    rng = random.Random(seed)
    return "\n\n".join(paragraph(rng) for _ in range(paragraphs)) + "\n"

"""Document statistics and thresholds in the style of Gopher's quality and repetition rules.

The one definition of these figures: the ``text_quality`` check (:mod:`.text_quality`) shows
them in the profile and the ``repetition_filter`` / ``quality_filter`` steps
(:mod:`datamoat.clean.gopher`) add them as stats columns and drop on them, all through
:func:`text_stats` and :func:`failed_rules` below.

Definitions (Rae et al. 2021, "Scaling Language Models: Methods, Analysis & Insights from
Training Gopher", appendix A.1.1; the paper gives the rules in words, these are our readings):

* **words**: runs of non-whitespace characters (``str.split()``); **lines**: the text split on
  ``"\\n"``, surrounding whitespace stripped, blank lines left out.
* ``dup_line_share``: lines that repeat an earlier line of the text, over all lines (the first
  copy is not counted); ``dup_line_char_share``: their characters over all lines' characters.
* ``top_{n}gram_share`` (n = 2, 3, 4): the characters (of words, whitespace not counted) in
  every occurrence of the most frequent word n-gram, over all words' characters; 0 when no
  n-gram occurs twice (a text without repetition has no "top" n-gram).
* ``dup_{n}gram_share`` (n = 5 ... 10): the characters of the words covered by any n-gram that
  occurs more than once, over all words' characters; a word covered by several such n-grams
  counts once. Words are compared as written (case kept).
* ``symbol_word_ratio``: (``#`` characters + ellipses, ``...`` or ``…``) over words.
* ``mean_word_len``: mean characters per word; ``word_count``: the number of words.
* ``ellipsis_line_share``: lines ending with ``...`` or ``…``; ``bullet_line_share``: lines
  starting with a bullet (one of :data:`BULLETS`).

Thresholds (:data:`RULES`, each a step parameter of the same name; None turns a rule off) are
Gopher's published values: 50 to 100,000 words, mean word length 3 to 10, symbol-to-word ratio
at most 0.1, at most 90% bullet lines and 30% ellipsis lines; at most 30% duplicate lines and
20% of characters in them; top 2/3/4-gram at most 20/18/16% of characters; duplicated
5...10-grams at most 15, 14, 13, 12, 11, 10%. One is off by default (:attr:`Rule.default` is
None; give ``max_dup_line_share: 0.3`` to turn it on): the share of duplicate *lines*, because
in dialogue (chat logs, plays) the speaker tags are short repeated lines, and that rule alone
dropped 16 of 499 blocks of tiny Shakespeare (3%); the share of *characters* in duplicate
lines (at most 20%) still catches repeated boilerplate. Gopher's stop-word, alphabetic-word
and duplicate-paragraph rules are not here (the first two are English-only).

Hand-written, because the libraries that implement these rules (datatrove, dolma) bring a
whole processing framework for a few counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

TOP_NGRAM_SIZES: tuple[int, ...] = (2, 3, 4)
DUP_NGRAM_SIZES: tuple[int, ...] = (5, 6, 7, 8, 9, 10)
BULLETS = "•‣⁃◦●○■□▪▫–-*"
"""Characters that start a bullet line (after leading whitespace)."""
ELLIPSES = ("...", "…")

REPETITION_STATS: tuple[str, ...] = (
    "dup_line_share",
    "dup_line_char_share",
    *(f"top_{n}gram_share" for n in TOP_NGRAM_SIZES),
    *(f"dup_{n}gram_share" for n in DUP_NGRAM_SIZES),
)
QUALITY_STATS: tuple[str, ...] = (
    "word_count",
    "mean_word_len",
    "symbol_word_ratio",
    "bullet_line_share",
    "ellipsis_line_share",
)
TEXT_STATS: tuple[str, ...] = REPETITION_STATS + QUALITY_STATS
"""Every statistic :func:`text_stats` returns, in this order."""


@dataclass(frozen=True)
class Rule:
    """One threshold on one statistic.

    param: the step parameter (and check parameter) that holds the threshold. stat: the
    statistic it bounds (a name in :data:`TEXT_STATS`). bound: ``"min"`` (drop below) or
    ``"max"`` (drop above). gopher: Gopher's value. reason: the drop reason, with ``{t}`` for
    the threshold (shown as a percentage for shares). on: whether the rule is on by default.
    """

    param: str
    stat: str
    bound: str
    gopher: float
    reason: str
    on: bool = True

    @property
    def default(self) -> float | None:
        """The default threshold: Gopher's value, or None for a rule that is off by default."""
        return self.gopher if self.on else None

    def fails(self, value: float, threshold: float) -> bool:
        """True when ``value`` is on the wrong side of ``threshold``."""
        return value < threshold if self.bound == "min" else value > threshold

    def says(self, threshold: float) -> str:
        """The drop reason for ``threshold`` (``"duplicate lines over 30%"``)."""
        shown = f"{threshold:.0%}" if "share" in self.stat else f"{threshold:g}"
        return self.reason.format(t=shown)


REPETITION_RULES: tuple[Rule, ...] = (
    Rule("max_dup_line_share", "dup_line_share", "max", 0.30, "duplicate lines over {t}", on=False),
    Rule("max_dup_line_char_share", "dup_line_char_share", "max", 0.20, "characters in duplicate lines over {t}"),
    *(Rule(f"max_top_{n}gram_share", f"top_{n}gram_share", "max", t, f"top {n}-gram over {{t}} of characters")
      for n, t in zip(TOP_NGRAM_SIZES, (0.20, 0.18, 0.16), strict=True)),
    *(Rule(f"max_dup_{n}gram_share", f"dup_{n}gram_share", "max", t, f"duplicated {n}-grams over {{t}} of characters")
      for n, t in zip(DUP_NGRAM_SIZES, (0.15, 0.14, 0.13, 0.12, 0.11, 0.10), strict=True)),
)
QUALITY_RULES: tuple[Rule, ...] = (
    Rule("min_words", "word_count", "min", 50, "fewer than {t} words"),
    Rule("max_words", "word_count", "max", 100_000, "more than {t} words"),
    Rule("min_mean_word_len", "mean_word_len", "min", 3, "mean word length under {t}"),
    Rule("max_mean_word_len", "mean_word_len", "max", 10, "mean word length over {t}"),
    Rule("max_symbol_word_ratio", "symbol_word_ratio", "max", 0.1, "symbol-to-word ratio over {t}"),
    Rule("max_bullet_line_share", "bullet_line_share", "max", 0.9, "bullet lines over {t}"),
    Rule("max_ellipsis_line_share", "ellipsis_line_share", "max", 0.3, "lines ending in an ellipsis over {t}"),
)
RULES: tuple[Rule, ...] = REPETITION_RULES + QUALITY_RULES
"""Every rule, repetition first; a text failing several gets the first one's reason."""


def text_stats(text: str) -> dict[str, float]:
    """The statistics of one text (see the module docstring), keyed by :data:`TEXT_STATS`.

    Shares are in [0, 1]; ``word_count`` is a whole number (as a float); a text without words
    or lines has 0 for the figures that would divide by zero.
    """
    lines = [s for line in text.split("\n") if (s := line.strip())]
    words = text.split()
    lengths = [len(w) for w in words]
    total_chars = sum(lengths)
    out: dict[str, float] = {}
    out.update(_line_repetition(lines))
    for n in TOP_NGRAM_SIZES:
        out[f"top_{n}gram_share"] = _top_ngram_share(words, lengths, total_chars, n)
    for n in DUP_NGRAM_SIZES:
        out[f"dup_{n}gram_share"] = _dup_ngram_share(words, lengths, total_chars, n)
    symbols = text.count("#") + text.count("...") + text.count("…")
    out["word_count"] = float(len(words))
    out["mean_word_len"] = total_chars / len(words) if words else 0.0
    out["symbol_word_ratio"] = symbols / len(words) if words else 0.0
    out["bullet_line_share"] = _share(sum(1 for s in lines if s[0] in BULLETS), len(lines))
    out["ellipsis_line_share"] = _share(sum(1 for s in lines if s.endswith(ELLIPSES)), len(lines))
    return out


def text_stats_columns(texts: Iterable[str | None], stats: Sequence[str] = TEXT_STATS) -> dict[str, list[float | None]]:
    """:func:`text_stats` of each text as columns: ``{stat: [value per text]}``, null for a null text.

    stats: which statistics to return (names in :data:`TEXT_STATS`).
    """
    columns: dict[str, list[float | None]] = {s: [] for s in stats}
    for text in texts:
        found = text_stats(text) if text is not None else None
        for s in stats:
            columns[s].append(None if found is None else found[s])
    return columns


def failed_rules(
    columns: dict[str, list[float | None]], thresholds: dict[str, float | None], rules: Sequence[Rule] = RULES
) -> list[str | None]:
    """Per text, the reason of the first rule it fails, or None (also for a null text).

    columns: as :func:`text_stats_columns` returns (it must hold each used rule's stat).
    thresholds: the threshold per rule ``param``; a missing key takes the rule's default,
    None turns the rule off.
    """
    active = [(r, t) for r in rules if (t := thresholds.get(r.param, r.default)) is not None]
    n = len(next(iter(columns.values()))) if columns else 0
    out: list[str | None] = [None] * n
    for rule, threshold in active:
        values = columns[rule.stat]
        reason = rule.says(threshold)
        for i, value in enumerate(values):
            if out[i] is None and value is not None and rule.fails(value, threshold):
                out[i] = reason
    return out


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _line_repetition(lines: list[str]) -> dict[str, float]:
    """``dup_line_share`` and ``dup_line_char_share`` of the non-blank, stripped lines."""
    seen: set[str] = set()
    dup_lines = dup_chars = 0
    for line in lines:
        if line in seen:
            dup_lines += 1
            dup_chars += len(line)
        else:
            seen.add(line)
    total = sum(len(line) for line in lines)
    return {"dup_line_share": _share(dup_lines, len(lines)), "dup_line_char_share": _share(dup_chars, total)}


def _ngrams(words: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def _top_ngram_share(words: list[str], lengths: list[int], total: int, n: int) -> float:
    """Characters in every occurrence of the most frequent n-gram (occurring twice or more)."""
    grams = _ngrams(words, n)
    if not grams or not total:
        return 0.0
    gram, count = Counter(grams).most_common(1)[0]
    if count < 2:
        return 0.0
    return min(1.0, count * sum(len(w) for w in gram) / total)


def _dup_ngram_share(words: list[str], lengths: list[int], total: int, n: int) -> float:
    """Characters of the words covered by an n-gram that occurs more than once (each word once)."""
    grams = _ngrams(words, n)
    if not grams or not total:
        return 0.0
    counts = Counter(grams)
    covered = [False] * len(words)
    for i, gram in enumerate(grams):
        if counts[gram] > 1:
            for j in range(i, i + n):
                covered[j] = True
    return sum(length for length, c in zip(lengths, covered, strict=True) if c) / total

"""What a recognizer reports: :class:`Finding`, plus the entity types and shared helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass

ENTITY_TYPES: tuple[str, ...] = (
    "PERSON", "EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "STREET_ADDRESS", "DATE_OF_BIRTH",
    "IP_ADDRESS", "URL", "US_SSN",
)
"""Every entity type the detector knows."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One PII span in a text.

    entity_type: one of :data:`ENTITY_TYPES`.
    start, end: Python ``str`` offsets (code points), ``end`` exclusive.
    score: confidence in [0, 1].
    recognizer: the name of the recognizer that found it (``"email_regex"``, ...).
    """

    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str

    def value(self, text: str) -> str:
        """The span's text in ``text``."""
        return text[self.start : self.end]

    def overlaps(self, other: Finding) -> bool:
        return self.start < other.end and other.start < self.end


def context_before(text: str, start: int, pattern: re.Pattern[str], window: int = 48) -> bool:
    """True if ``pattern`` matches in the ``window`` characters before ``start``."""
    return pattern.search(text, max(0, start - window), start) is not None


def context_around(text: str, start: int, end: int, pattern: re.Pattern[str], window: int = 48) -> bool:
    """True if ``pattern`` matches within ``window`` characters before ``start`` or after ``end``."""
    return (
        pattern.search(text, max(0, start - window), start) is not None
        or pattern.search(text, end, end + window) is not None
    )


# ``re`` with IGNORECASE folds these onto ASCII i / s, and ``str.lower`` does not (İ even becomes
# two characters), so for a text holding one of them :func:`folded` gives up
_FOLD_UNSAFE = re.compile("[\u0130\u0131\u017f]")
_ASCII_DIGIT = re.compile("[0-9]")


def folded(text: str) -> str | None:
    """``text.lower()`` for case-insensitive tests by plain (case-sensitive) ones, or None.

    For a pattern written in lower case (Latin letters), searching it without IGNORECASE in
    ``folded(text)`` finds the same matches at the same offsets as searching it with
    IGNORECASE in ``text``, and faster (``re`` can skip ahead to a possible first letter only in
    a case-sensitive pattern). None when that does not hold: a text containing ``İ``, ``ı`` or
    ``ſ`` (use the IGNORECASE pattern on ``text`` then).
    """
    if text.isascii() or _FOLD_UNSAFE.search(text) is None:
        return text.lower()
    return None


def has_digit(text: str) -> bool:
    """Any character with ``str.isdigit()`` (Unicode digits, superscripts included) in ``text``."""
    if text.isascii():
        return _ASCII_DIGIT.search(text) is not None
    return any(map(str.isdigit, text))


_last_count: tuple[str, int] = ("", 0)


def count_digits(text: str) -> int:
    """How many characters of ``text`` have ``str.isdigit()``.

    Several recognizers ask about the same text in a row, so the last answer is kept (one
    tuple, replaced whole: safe with threads; another text just misses it).
    """
    global _last_count
    last = _last_count
    if last[0] is text:
        return last[1]
    count = len(_ASCII_DIGIT.findall(text)) if text.isascii() else sum(map(str.isdigit, text))
    _last_count = (text, count)
    return count

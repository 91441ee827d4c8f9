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

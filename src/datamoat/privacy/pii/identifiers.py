"""Is an identifier (a user id, a key name, a new label) personal data? For fields that must never hold it.

User ids are stored as given in the feedback tables and signed on annotations, key names sign
every answer given with the key, and a new label becomes a class every annotator sees. So each
must match :data:`IDENTIFIER_PATTERN`: no ``@`` and at most 6 digits, which no e-mail address,
phone, card or social security number or IBAN passes (:func:`identifier_problem` says which it
looks like). The JSON API's spec carries the same pattern, so it accepts what the server does.
Names of people are not refused: "ann" or "Jane" is how annotators are told apart, and a first
name alone says little.
"""

from __future__ import annotations

import re
from functools import lru_cache

from datamoat.privacy.pii.detect import PiiEngine

IDENTIFIER_ENTITIES: tuple[str, ...] = ("EMAIL", "PHONE", "CREDIT_CARD", "US_SSN", "IBAN")
"""The entity types an identifier must not contain (used to name what a refused one looks like)."""

IDENTIFIER_PATTERN = r"^[^@0-9]*(?:[0-9][^@0-9]*){0,6}$"
"""What an identifier may be: no ``@`` and at most 6 digits (a Python and a JSON Schema regex)."""

_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


@lru_cache(maxsize=1)
def _engine() -> PiiEngine:
    return PiiEngine(IDENTIFIER_ENTITIES, cache_size=0)


def identifier_problem(value: str) -> str | None:
    """None when ``value`` may be used as an identifier; else why not, to end a sentence
    (``"looks like personal data (EMAIL)"``, naming the first entity type found)."""
    if _IDENTIFIER.fullmatch(value):
        return None
    found = _engine().analyze(value)
    if found:
        return f"looks like personal data ({found[0].entity_type})"
    if "@" in value:
        return "looks like personal data (EMAIL)"
    return "has more than 6 digits, as phone, card and account numbers do"

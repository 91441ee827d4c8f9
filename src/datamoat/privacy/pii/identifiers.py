"""Is an identifier (a user id, a key name) personal data? For the fields that must never hold it.

User ids are stored as given in the feedback tables and signed on annotations, so the server
refuses one that looks like an e-mail address, a phone, card or social security number or an
IBAN (:func:`pii_in_identifier`); the same goes for new labels. Names of people are not refused:
"ann" or "Jane" is how annotators are told apart, and a first name alone says little.
"""

from __future__ import annotations

from functools import lru_cache

from datamoat.privacy.pii.detect import PiiEngine

IDENTIFIER_ENTITIES: tuple[str, ...] = ("EMAIL", "PHONE", "CREDIT_CARD", "US_SSN", "IBAN")
"""The entity types an identifier must not contain."""


@lru_cache(maxsize=1)
def _engine() -> PiiEngine:
    return PiiEngine(IDENTIFIER_ENTITIES, cache_size=0)


def pii_in_identifier(value: str) -> str | None:
    """The first PII entity type found in ``value`` (e.g. ``"EMAIL"``), or None when it has none.

    Besides the engine's findings, any ``@`` between two non-space characters counts as an
    e-mail (an identifier is short: there is no context to tell a handle from an address).
    """
    found = _engine().analyze(value)
    if found:
        return found[0].entity_type
    at = value.find("@")
    if 0 < at < len(value) - 1 and not value[at - 1].isspace() and not value[at + 1].isspace():
        return "EMAIL"
    return None

"""Rewrite the PII spans of a text: redact, mask, hash, pseudonymize (optionally reversible).

* ``redact``: ``[EMAIL]``.
* ``mask``: cards, phones and IBANs keep their last 4 digits/characters, every other letter
  or digit becomes ``*`` (separators stay: ``**** **** **** 4242``); other types become
  ``*`` for each non-space character.
* ``hash``: ``[EMAIL:9f86d081884c7d65]``, a keyed HMAC-SHA256 of the type and normalised
  value, truncated to 16 hex digits. Not reversible; equal values give equal hashes.
* ``pseudonymize``: ``<PERSON_3f2a9c1b07de>``, a keyed token of the type and normalised
  value (12 hex digits): the same person gets the same token everywhere in a dataset
  and in every dataset processed with the same key, and no one without the key can
  link a token back to a value by trying candidates.
* ``reversible``: the same tokens, and each (token, value) is also handed to a
  :class:`~datamoat.privacy.pii.vault.PiiVault` (or any ``store(token, entity_type, value)``)
  so that an authorised, audited :meth:`PiiVault.reveal` can undo it.

Keys: one master key from :func:`datamoat.keys.load_key`; separate sub-keys are
derived for hashing, tokens and the vault (HMAC-SHA256 of a label), so a hash never equals a
token and the vault's encryption key is never used for anything else.

Normalisation before hashing: e-mails lower-cased; phones, cards and IBANs reduced to their
digits/letters (``+44 20 7946 0018`` and ``+442079460018`` are one value); IPs in their
canonical form; names and the rest NFKC, case-folded, whitespace collapsed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import unicodedata
from collections.abc import Sequence
from typing import Protocol

from datamoat.errors import DatamoatError
from datamoat.privacy.pii.finding import Finding

MODES: tuple[str, ...] = ("redact", "mask", "hash", "pseudonymize", "reversible")
KEYED_MODES = ("hash", "pseudonymize", "reversible")
TOKEN_HEX = 12
HASH_HEX = 16
TOKEN_RE = re.compile(r"<([A-Z_]+)_([0-9a-f]{" + str(TOKEN_HEX) + r"})>")
_KEEP_LAST4 = {"CREDIT_CARD", "PHONE", "IBAN", "US_SSN"}
_SPACES = re.compile(r"\s+")


class TokenStore(Protocol):
    def store(self, token: str, entity_type: str, value: str) -> None: ...


def derive_key(master: bytes, label: str) -> bytes:
    """A 32-byte sub-key of ``master`` for one purpose (HMAC-SHA256 of the label)."""
    return hmac.new(master, b"datamoat-pii:" + label.encode(), hashlib.sha256).digest()


def normalize(entity_type: str, value: str) -> str:
    """The form of ``value`` that hashes and tokens are computed from."""
    if entity_type == "EMAIL":
        return value.strip().lower()
    if entity_type in ("PHONE", "CREDIT_CARD", "IBAN", "US_SSN"):
        lead = "+" if value.strip().startswith("+") else ""
        return lead + "".join(c for c in value if c.isalnum()).upper()
    if entity_type == "IP_ADDRESS":
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            return value.strip().lower()
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value)).strip().casefold()


def mask_value(entity_type: str, value: str) -> str:
    """``value`` with letters/digits starred (last 4 kept for cards, phones, IBANs, SSNs)."""
    if entity_type in _KEEP_LAST4:
        keep = 4
        chars = list(value)
        for i in range(len(chars) - 1, -1, -1):
            if chars[i].isalnum():
                if keep > 0:
                    keep -= 1
                else:
                    chars[i] = "*"
        return "".join(chars)
    return "".join(c if c.isspace() else "*" for c in value)


class Anonymizer:
    """Applies one operator to the findings of a text.

    mode: one of :data:`MODES`.
    key: the master key (32 bytes); required for hash, pseudonymize and reversible.
    store: where reversible mode puts (token, type, value) triples (a PiiVault, or a
        collector); required for reversible.
    """

    def __init__(self, mode: str, key: bytes | None = None, store: TokenStore | None = None) -> None:
        if mode not in MODES:
            raise DatamoatError(f"unknown PII operator {mode!r}; choose one of {', '.join(MODES)}.")
        if mode in KEYED_MODES and not key:
            raise DatamoatError(f"PII operator {mode!r} needs an encryption key (set DATAMOAT_KEY or DATAMOAT_KEY_FILE).")
        if mode == "reversible" and store is None:
            raise DatamoatError("PII operator 'reversible' needs a vault to keep the original values in.")
        self.mode = mode
        self.store = store
        self._hash_key = derive_key(key, "hash") if key else b""
        self._token_key = derive_key(key, "token") if key else b""

    def token(self, entity_type: str, value: str) -> str:
        """The pseudonym of ``value``: ``<TYPE_hex>`` (depends on type + normalised value + key)."""
        digest = hmac.new(self._token_key, f"{entity_type}\x00{normalize(entity_type, value)}".encode(), hashlib.sha256)
        return f"<{entity_type}_{digest.hexdigest()[:TOKEN_HEX]}>"

    def replacement(self, entity_type: str, value: str) -> str:
        """What one span becomes."""
        if self.mode == "redact":
            return f"[{entity_type}]"
        if self.mode == "mask":
            return mask_value(entity_type, value)
        if self.mode == "hash":
            digest = hmac.new(self._hash_key, f"{entity_type}\x00{normalize(entity_type, value)}".encode(), hashlib.sha256)
            return f"[{entity_type}:{digest.hexdigest()[:HASH_HEX]}]"
        token = self.token(entity_type, value)
        if self.mode == "reversible":
            assert self.store is not None
            self.store.store(token, entity_type, value)
        return token

    def apply(self, text: str, findings: Sequence[Finding]) -> str:
        """``text`` with every finding replaced (findings must not overlap)."""
        if not findings:
            return text
        parts: list[str] = []
        pos = 0
        for f in sorted(findings, key=lambda f: f.start):
            if f.start < pos:
                continue  # overlapping input: the earlier span wins
            parts.append(text[pos : f.start])
            parts.append(self.replacement(f.entity_type, text[f.start : f.end]))
            pos = f.end
        parts.append(text[pos:])
        return "".join(parts)


def anonymize(text: str, findings: Sequence[Finding], mode: str = "redact", key: bytes | None = None,
              store: TokenStore | None = None) -> str:
    """One-shot :class:`Anonymizer` (see there)."""
    return Anonymizer(mode, key, store).apply(text, findings)


class TokenCollector:
    """A :class:`TokenStore` that keeps (token, entity_type, value) in memory, for the caller to store."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[str, str]] = {}

    def store(self, token: str, entity_type: str, value: str) -> None:
        self.items.setdefault(token, (entity_type, value))

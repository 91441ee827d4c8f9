"""PHONE: a candidate regex, then libphonenumber (``phonenumbers``) for validation.

Candidates are runs of 7-15 digits with the separators phone numbers use (space, dot, dash,
slash, parentheses, a ``(0)`` trunk prefix, an ``x123`` extension). Each candidate is parsed:

* with a leading ``+`` / ``00``: as an international number (any country);
* otherwise: in each of :data:`DEFAULT_REGIONS`, first one that accepts it wins.

Score: valid number 0.75, merely possible (right length) 0.5, plus 0.2 with a phone context
word nearby (call, phone, tel, mobile, fax, reach, Telefon, téléphone, ...). A candidate
without any separator, ``+`` or parenthesis (a bare run of digits, like an order number)
needs a context word. Dates, times, IP addresses and version numbers are not candidates.
Scanning candidates ourselves and parsing each is several times faster than running
``PhoneNumberMatcher`` once per region over the whole text.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException

from datamoat.privacy.pii.finding import Finding, context_around, context_before, count_digits

DEFAULT_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "ES", "NL", "HU", "IT", "CH", "AU", "BE", "SE")

PHONE_CANDIDATE_RE = re.compile(
    r"(?<![\w+\-/.])"
    r"(?:(?:\+|00)\d{1,3}[ \t.\-]?)?"          # country code
    r"(?:\(0\)[ \t]?)?"                           # (0) trunk prefix
    r"(?:\(\d{1,5}\)[ \t.\-]?)?"                 # (area)
    r"\d[\d \t\u00a0.\-/]{4,18}\d"                   # the digits
    r"(?:[ \t]?(?:x|ext\.?|extension)[ \t]?\d{1,6})?"  # extension
    r"(?![\w]|[.\-/:]\d)",
    re.IGNORECASE,
)
_PHONE_CTX = re.compile(
    r"(?i)(?:\b(?:phone|tel|telephone|mobile|cell|call(?:ed|ing)?|ring|fax|reach|contact|number|"
    r"whats\s?app|sms|text\s+me|dial|hotline|landline|office|home|work|"
    r"telefon|handy|tél(?:éphone)?|portable|teléfono|móvil|movil|telefoonnummer|mobiel|telefonszám)\b|\bph\.?:|\bt:|\bm:)"
)
_STRONG_PHONE_CTX = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|cell|call(?:ed|ing)?|ring|fax|whats\s?app|sms|text\s+me|dial|hotline|landline|"
    r"telefon|handy|tél(?:éphone)?|portable|teléfono|móvil|movil|telefoonnummer|mobiel|telefonszám)\b"
)
_NOT_PHONE_CTX = re.compile(
    r"(?i)(?:\b(?:order|invoice|ticket|tracking|ref(?:erence)?|account|acct|customer\s+id|id|iban|card|ssn|"
    r"serial|isbn|sku|zip|postcode|postal|price|total|amount|version|booking|confirmation|case|transaction|"
    r"parcel|shipment|receipt|policy|contract|member(?:ship)?|loyalty|licen[cs]e|passport|apt|suite|unit|flat)\b[^.!?\n]{0,16}|#\s*)$"
)
_ISO_DATE_START = re.compile(r"^\d{4}-\d{2}-\d{2}")
_GROUP_SPLIT = re.compile(r"[ \t\u00a0.\-/()]+")
_IPV4_SHAPE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_DATE_LIKE = re.compile(r"^\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}$")
_SPACES = re.compile(r"\s+")


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


@lru_cache(maxsize=65536)
def _parse(value: str, regions: tuple[str, ...]) -> tuple[bool, bool]:
    """(valid somewhere, possible somewhere) for ``value``."""
    possible = False
    if value.startswith(("+", "00")):
        try:
            num = phonenumbers.parse("+" + value[2:] if value.startswith("00") else value, None)
        except NumberParseException:
            return False, False
        return phonenumbers.is_valid_number(num), phonenumbers.is_possible_number(num)
    for region in regions:
        try:
            num = phonenumbers.parse(value, region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return True, True
        possible = possible or phonenumbers.is_possible_number(num)
    return False, possible


def find_phones(text: str, regions: tuple[str, ...] = DEFAULT_REGIONS) -> list[Finding]:
    out: list[Finding] = []
    if count_digits(text) < 7:
        return out
    for m in PHONE_CANDIDATE_RE.finditer(text):
        start, end = _trim(text, m.start(), m.end())
        value = text[start:end]
        digits = _digits(value)
        if not 7 <= len(digits) <= 15 or "\n" in value:
            continue
        if _DATE_LIKE.match(value) or len(set(digits)) < 3:
            continue
        if _ISO_DATE_START.match(value):
            continue
        has_ctx = context_around(text, start, end, _PHONE_CTX, 40)
        strong_ctx = context_before(text, start, _STRONG_PHONE_CTX, 48)
        plain = value.isdigit()
        if plain and not strong_ctx:
            continue
        groups = len(_GROUP_SPLIT.split(value.strip()))
        if groups <= 2 and not has_ctx and value[0] not in "+(" and not value.startswith("00"):
            continue  # "17031 2202", "Apt. 675 62314": too ambiguous without a phone word
        if _IPV4_SHAPE.match(value) or text[max(0, start - 2) : start].strip().endswith("#"):
            continue
        if context_before(text, start, _NOT_PHONE_CTX, 30) and not context_before(text, start, _STRONG_PHONE_CTX, 48):
            continue
        compact = _SPACES.sub(" ", value)
        valid, possible = _parse(compact, regions)
        if valid:
            score = 0.75
        elif possible:
            score = 0.5
        elif has_ctx and len(digits) >= 7 and not plain:
            score = 0.3
        else:
            continue
        if has_ctx:
            score += 0.2
        out.append(Finding("PHONE", start, end, min(score, 0.95), "phone_lib"))
    return out

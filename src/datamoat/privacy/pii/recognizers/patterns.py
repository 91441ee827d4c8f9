"""Pattern recognizers with a validation step: EMAIL, URL, IP_ADDRESS, US_SSN, CREDIT_CARD, IBAN.

Each is a function ``(text) -> list[Finding]``; a regex proposes candidates and a validator
(checksum, address parser, invalid-range list) keeps only real ones, so precision does not
depend on context words. Every function has a cheap prefilter (a character that must occur).
"""

from __future__ import annotations

import ipaddress
import re

from stdnum import iban as std_iban
from stdnum import luhn

from datamoat.privacy.pii.finding import Finding, context_around, context_before, count_digits

# --- EMAIL ------------------------------------------------------------------------------------

EMAIL_RE = re.compile(
    r"(?<![\w.+\-])[\w!#$%&'*+/=?^`{|}~\-]+(?:\.[\w!#$%&'*+/=?^`{|}~\-]+)*"
    r"@(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.)+[^\W\d_]{2,24}\b"
)


def find_emails(text: str) -> list[Finding]:
    if "@" not in text:
        return []
    return [Finding("EMAIL", m.start(), m.end(), 0.95, "email_regex") for m in EMAIL_RE.finditer(text)]


# --- URL --------------------------------------------------------------------------------------

URL_RE = re.compile(
    r"\b(?:(?:https?|ftp)://|www\.)[^\s<>\"'`]+", re.IGNORECASE
)
_URL_TRAIL = ".,;:!?)]}'\""


def find_urls(text: str) -> list[Finding]:
    if "://" not in text and "www." not in text.lower():
        return []
    out = []
    for m in URL_RE.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in _URL_TRAIL:
            if text[end - 1] == ")" and "(" in text[m.start() : end - 1]:
                break
            end -= 1
        if end - m.start() > 8:
            out.append(Finding("URL", m.start(), end, 0.6, "url_regex"))
    return out


# --- IP_ADDRESS -------------------------------------------------------------------------------

IPV4_RE = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
IPV6_RE = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|(?:\d{1,3}\.){3}\d{1,3})(?![\w:])")
_VERSION_CTX = re.compile(r"(?i)\b(?:version|ver\.?|v)\s*$")
_IPV4_HINT = re.compile(r"\d\.\d")  # every IPV4_RE match has one; found by a fast scan


def find_ips(text: str) -> list[Finding]:
    out = []
    if "." in text and _IPV4_HINT.search(text):
        for m in IPV4_RE.finditer(text):
            try:
                ipaddress.IPv4Address(m.group())
            except ValueError:
                continue
            if context_before(text, m.start(), _VERSION_CTX, 10):
                continue
            out.append(Finding("IP_ADDRESS", m.start(), m.end(), 0.9, "ip_validated"))
    if text.count(":") >= 2:
        for m in IPV6_RE.finditer(text):
            value = m.group()
            if value.count(":") < 2 or not any(c.isalnum() for c in value):
                continue
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                continue
            out.append(Finding("IP_ADDRESS", m.start(), m.end(), 0.9, "ip_validated"))
    return out


# --- US_SSN -----------------------------------------------------------------------------------

SSN_RE = re.compile(r"(?<![\w\-./])(\d{3})([- .]?)(\d{2})\2(\d{4})(?![\w\-]|\.\d)")
_SSN_CTX = re.compile(r"(?i)\b(?:ssn|social\s+security|ss\s*#|ssn#|tax\s*id|taxpayer)")


def _ssn_valid(area: str, group: str, serial: str) -> bool:
    """Only numbers the SSA never issues are invalid (area 000, 666 or 9xx, group 00, serial 0000,
    one repeated digit). Published samples (078-05-1120 from a wallet insert, 219-09-9999 from an
    ad) were issued numbers and are still SSNs: text that carries them is redacted like any other."""
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return len(set(area + group + serial)) > 1


def find_ssns(text: str) -> list[Finding]:
    out: list[Finding] = []
    if count_digits(text) < 9:
        return out
    for m in SSN_RE.finditer(text):
        area, sep, group, serial = m.groups()
        if not _ssn_valid(area, group, serial):
            continue
        has_ctx = context_before(text, m.start(), _SSN_CTX, 40)
        if sep in ("-", " ") or has_ctx:
            score = 0.9 if has_ctx else (0.7 if sep == "-" else 0.45)
            out.append(Finding("US_SSN", m.start(), m.end(), score, "ssn_pattern"))
    return out


# --- CREDIT_CARD ------------------------------------------------------------------------------

CARD_RE = re.compile(r"(?<![\w\-.])(?:\d[ \-]?){11,18}\d(?![\w]|[\-.]\d)")
_CARD_CTX = re.compile(r"(?i)\b(?:card|credit|debit|visa|master\s*card|amex|american\s+express|cc|kart[ea]|tarjeta|carte)")
_CARD_NEG_CTX = re.compile(r"(?i)\b(?:order|invoice|tracking|ticket|ref(?:erence)?|account\s+(?:no|number)|imei|serial)\b")


_IBAN_HEAD = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}[ ]?$")


def _card_grouping_ok(value: str) -> bool:
    """Separators, if any, must be one kind and cut the number into groups of 4 (or 4-6-5)."""
    seps = {c for c in value if not c.isdigit()}
    if not seps:
        return True
    if len(seps) > 1:
        return False
    groups = [len(g) for g in re.split(r"[ \-]", value)]
    if groups in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4


def find_cards(text: str) -> list[Finding]:
    out: list[Finding] = []
    if count_digits(text) < 12:
        return out
    for m in CARD_RE.finditer(text):
        value = m.group()
        digits = "".join(c for c in value if c.isdigit())
        if not 12 <= len(digits) <= 19 or not _card_grouping_ok(value) or not luhn.is_valid(digits):
            continue
        has_ctx = context_before(text, m.start(), _CARD_CTX, 48)
        if len(digits) == 12 and not (has_ctx and digits[0] in "56"):
            continue  # 12-digit Maestro numbers only next to a card word
        if len(set(digits)) < 2 or digits[0] in "79" or (digits[0] == "0" and not has_ctx):
            continue
        if _IBAN_HEAD.search(text, max(0, m.start() - 6), m.start()):
            continue  # the tail of an IBAN-shaped string (valid or not) is not a card
        score = 0.8
        if has_ctx:
            score = 0.95
        elif context_before(text, m.start(), _CARD_NEG_CTX, 24):
            score = 0.3
        out.append(Finding("CREDIT_CARD", m.start(), m.end(), score, "card_luhn"))
    return out


# --- IBAN -------------------------------------------------------------------------------------

IBAN_RE = re.compile(
    r"(?<![\w])[A-Za-z]{2}\d{2}(?:[A-Za-z0-9]{11,30}|(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,4})?)(?![\w])"
)


# every IBAN_RE match starts with two letters and two digits; this finds one by a fast scan
# for a digit pair, then looks back
_IBAN_HINT = re.compile(r"\d\d(?<=[A-Za-z]{2}\d\d)")


def find_ibans(text: str) -> list[Finding]:
    out: list[Finding] = []
    if _IBAN_HINT.search(text) is None:
        return out
    for m in IBAN_RE.finditer(text):
        value = m.group()
        start, end = m.start(), m.end()
        # a grouped IBAN may have swallowed a following short word: shrink group by group
        while True:
            compact = value.replace(" ", "").upper()
            if len(compact) >= 15 and std_iban.is_valid(compact):
                out.append(Finding("IBAN", start, end, 0.95, "iban_checksum"))
                break
            cut = value.rfind(" ")
            if cut < 0:
                break
            value = value[:cut]
            end = start + cut
    return out


__all__ = [
    "context_around",
    "find_cards",
    "find_emails",
    "find_ibans",
    "find_ips",
    "find_ssns",
    "find_urls",
]

"""DATE_OF_BIRTH: a date written near a birth context word.

A date alone is not personal data worth redacting (order dates, delivery dates); a date of
birth is. So a date is reported only when a context word (born, birth, DOB, d.o.b.,
birthday, date of birth, geboren, né(e), nacimiento, naissance, született, ...) occurs within
:data:`WINDOW` characters before it, or right after it (``12/03/1980 (DOB)``), and nothing
that is not part of a short phrase sits between them (no sentence break).

Date shapes: ``dd/mm/yyyy``, ``mm/dd/yyyy``, ``dd.mm.yyyy``, ``dd-mm-yyyy``, ISO
``yyyy-mm-dd``, ``Month d, yyyy``, ``d Month yyyy``, ``d. Month yyyy`` (English, German,
French, Spanish, Dutch month names and abbreviations); the day and month are range-checked.
"""

from __future__ import annotations

import re

from datamoat.privacy.pii.finding import Finding, folded

WINDOW = 40

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|"
    "januar|februar|märz|maerz|mai|juni|juli|oktober|dezember|"
    "janvier|février|fevrier|mars|avril|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre|"
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|"
    "januari|februari|maart|mei|augustus"
)
_D = r"(?:0?[1-9]|[12]\d|3[01])"
_M = r"(?:0?[1-9]|1[0-2])"
_Y = r"(?:19\d\d|20\d\d)"
DATE_RE = re.compile(
    rf"(?<![\w/.\-])(?:"
    rf"{_D}[/.\-]{_M}[/.\-](?:{_Y}|\d\d)"            # 31/12/1980, 31.12.1980, 12-31-80 (day/month either order)
    rf"|{_M}[/.\-]{_D}[/.\-](?:{_Y}|\d\d)"
    rf"|{_Y}[\-/.]{_M}[\-/.]{_D}"                     # ISO 1980-12-31
    rf"|(?:{_MONTHS})\.?\s+{_D}(?:st|nd|rd|th)?,?\s+{_Y}"  # December 31, 1980
    rf"|{_D}(?:st|nd|rd|th)?\.?\s+(?:of\s+)?(?:{_MONTHS})\.?,?\s+{_Y}"  # 31 December 1980
    rf"|{_D}\.\s?(?:{_MONTHS})\.?\s+{_Y}"
    rf")(?![\w]|[/.\-]\d)",
    re.IGNORECASE,
)
_DOB_CTX_BEFORE = re.compile(
    r"(?i)(?:\bborn\b|\bbirth|\bdob\b|\bd\.o\.b\b\.?|birthday|\bb-?day\b|\bgeboren|geburts|\bgeb\.|"
    r"\bn[ée]e?\s+le\b|naissance|nacimiento|\bnaci[dó]|születés|szuletes|született|geboortedatum|\bgeboren)"
    r"[^.!?\n]{0," + str(WINDOW) + r"}$"
)
_DOB_CTX_AFTER = re.compile(r"(?i)^\W{0,3}(?:\(?\s*(?:dob|d\.o\.b\.?|date of birth|born|birthday)\b)")


_PREFILTER_SOURCE = r"born|birth|dob|d\.o\.b|b-?day|geb|naissance|n[ée]e?\s+le|nacimiento|naci|sz[üu]let|geboorte"
_PREFILTER = re.compile("(?i)" + _PREFILTER_SOURCE)
_PREFILTER_FOLDED = re.compile(_PREFILTER_SOURCE)  # the same on folded text, faster


def find_dates_of_birth(text: str) -> list[Finding]:
    low = folded(text)
    if (_PREFILTER_FOLDED.search(low) if low is not None else _PREFILTER.search(text)) is None:
        return []
    out = []
    for m in DATE_RE.finditer(text):
        start, end = m.start(), m.end()
        before = text[max(0, start - WINDOW - 20) : start]
        if _DOB_CTX_BEFORE.search(before) or _DOB_CTX_AFTER.match(text[end : end + 24]):
            out.append(Finding("DATE_OF_BIRTH", start, end, 0.85, "dob_context"))
    return out

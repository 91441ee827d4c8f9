"""How the tagger's spans join the recognizers' findings (PII mode ``accurate``).

The rule, in order:

1. **Pattern types win.** The recognizers' findings of the checksum and pattern types (EMAIL,
   URL, IP_ADDRESS, US_SSN, CREDIT_CARD, IBAN, PHONE, DATE_OF_BIRTH) are kept as they are, and
   every tagger span is cut where it overlaps one of them (``john`` in ``john.smith@x.com`` is
   gone; an address that ran into a phone number ends before it). A piece left with no letter
   or digit is dropped, and so is every piece of a span that was mostly pattern values (``or``
   between two phone numbers the tagger read as one address).
2. **Names.** The tagger's PERSON spans are kept. A recognizer PERSON finding that overlaps a
   tagger PERSON span is merged into it (the union of both); one that overlaps a tagger span of
   another type (the tagger read ``Morgan Stanley`` as an organisation, ``Paris`` as a place)
   is dropped; one the tagger did not touch at all is kept (the recognizers' cues stay).
3. **Addresses.** The recognizers' and the tagger's STREET_ADDRESS spans are pooled, and spans
   that overlap or are separated only by spaces, line breaks, commas or semicolons are merged
   into one (a street line, a postcode line and a city line become one address).
4. **Plausibility.** A tagger PERSON span written all in lower case is kept when each of
   its words is a first or last name in the recognizers' gazetteer (``kevin barnes``), or
   when one of its words is, none is a common word or a blocker there, and the tagger is sure
   of it (score at least :data:`LOWER_CASE_SCORE`: ``maciej sobuś``, a family name in no
   list); lower-case words at the end of a sentence are not names. A tagger
   STREET_ADDRESS span must hold a digit or a street-type word (``Road``, ``utca``, ``rue``).
   A one-word tagger PERSON span that is a blocker there (a product or month name, a
   greeting: ``Safari`` after ``Chrome and``) is dropped; one that is another word that is not
   a plain first or last name (an unknown word, a common word) needs a score of at
   least :data:`UNKNOWN_WORD_SCORE`.
5. The tagger's other types (LOCATION, ORGANIZATION, DATE_TIME, NRP) are used for rule 2 only;
   they are not reported.

The caller then resolves what still overlaps (``detect.resolve_overlaps``: a name inside an
address goes).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from datamoat.privacy.pii.finding import Finding
from datamoat.privacy.pii.recognizers.address import street_words
from datamoat.privacy.pii.recognizers.names import gazetteer
from datamoat.privacy.pii.tagger import TaggedSpan

CONTEXT_TYPES = frozenset({"PERSON", "STREET_ADDRESS"})
"""The types the tagger reports; every other type comes only from the recognizers."""
TAGGER = "pii_tagger"
UNKNOWN_WORD_SCORE = 0.75
"""Rule 4: the least score of a one-word tagger name that is not in the name lists."""
LOWER_CASE_SCORE = 0.9
"""Rule 4: the least score of a lower-case tagger name with a word that is not in the name lists
(chosen on the development set of tagger_dev.py, PERSON F2 0.932 / 0.929 / 0.928 / 0.908 at
0.8 / 0.9 / 0.95 / never; 0.9 because 0.8 let ``made glorious`` through in plain English)."""
_ADDRESS_GAP = re.compile(r"[\s,;]*")
_WORD = re.compile(r"[^\W\d_]+")
_TRIM = " \t\r\n,;:.()[]{}<>\"'|/-"


def _cut(start: int, end: int, blocks: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """[start, end) minus the ``blocks`` intervals, as pieces in order."""
    pieces = [(start, end)]
    for a, b in blocks:
        if a >= end or b <= start:
            continue
        nxt = []
        for s, e in pieces:
            if b <= s or a >= e:
                nxt.append((s, e))
                continue
            if s < a:
                nxt.append((s, a))
            if b < e:
                nxt.append((b, e))
        pieces = nxt
    return pieces


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The piece without leading / trailing separators; None when no letter or digit is left."""
    value = text[start:end]
    lead = len(value) - len(value.lstrip(_TRIM))
    core = value.strip(_TRIM)
    if not any(ch.isalnum() for ch in core):
        return None
    return start + lead, start + lead + len(core)


def _plausible(kind: str, value: str, score: float) -> bool:
    """Rule 4 of the module docstring."""
    if kind == "PERSON":
        g = gazetteer()
        kinds = [g.kinds.get(w.casefold()) for w in _WORD.findall(value)]
        if value.islower():
            if not kinds:
                return False
            if all(k in ("first", "last", "weak") for k in kinds):
                return True
            return (score >= LOWER_CASE_SCORE and any(k in ("first", "last") for k in kinds)
                    and not any(k in ("common", "blocker") for k in kinds))
        if len(kinds) == 1 and kinds[0] not in ("first", "last"):
            return kinds[0] != "blocker" and score >= UNKNOWN_WORD_SCORE
        return True
    if kind == "STREET_ADDRESS" and not any(ch.isdigit() for ch in value):
        streets = street_words()
        return any(w.lower() in streets for w in _WORD.findall(value))
    return True


def merge_findings(text: str, found: Sequence[Finding], tagged: Sequence[TaggedSpan]) -> list[Finding]:
    """The recognizers' ``found`` and the tagger's ``tagged`` spans of ``text`` joined by the
    rule in the module docstring (may still overlap; unsorted)."""
    pattern = [f for f in found if f.entity_type not in CONTEXT_TYPES]
    blocks = [(f.start, f.end) for f in pattern]
    pieces: list[tuple[str, int, int, float]] = []
    for kind, start, end, score in tagged:
        if not _plausible(kind, text[start:end], score):
            continue
        cut = _cut(start, end, blocks)
        if sum(e - s for s, e in cut) * 2 < end - start:
            continue  # mostly a pattern value (two phone numbers read as an address): no leftovers
        for s, e in cut:
            kept = _trimmed(text, s, e)
            if kept is not None:
                pieces.append((kind, kept[0], kept[1], score))
    out = list(pattern)
    persons = [[s, e, score] for kind, s, e, score in pieces if kind == "PERSON"]
    others = [(s, e) for kind, s, e, _ in pieces if kind not in CONTEXT_TYPES]
    for f in found:
        if f.entity_type != "PERSON":
            continue
        hits = [p for p in persons if p[0] < f.end and f.start < p[1]]
        if hits:
            for p in hits:
                p[0], p[1], p[2] = min(p[0], f.start), max(p[1], f.end), max(p[2], f.score)
        elif not any(s < f.end and f.start < e for s, e in others):
            out.append(f)
    out += [Finding("PERSON", s, e, score, TAGGER) for s, e, score in persons]
    addresses = sorted(
        [(f.start, f.end, f.score, f.recognizer) for f in found if f.entity_type == "STREET_ADDRESS"]
        + [(s, e, score, TAGGER) for kind, s, e, score in pieces if kind == "STREET_ADDRESS"]
    )
    merged: list[list] = []
    for s, e, score, by in addresses:
        if merged:
            last = merged[-1]
            if s <= last[1] or _ADDRESS_GAP.fullmatch(text, last[1], s):
                last[1], last[2] = max(last[1], e), max(last[2], score)
                if by not in last[3]:
                    last[3] += "+" + by
                continue
        merged.append([s, e, score, by])
    out += [Finding("STREET_ADDRESS", s, e, score, by) for s, e, score, by in merged]
    return out

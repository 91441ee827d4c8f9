"""A name found once in a text is a name at its other mentions too (PII, both modes).

A text that names someone usually names them again, often where the context alone says little
(``Tomasz fixed it``, ``Ask Berg.``, ``juan's car``). So after the detectors ran, each word of
every PERSON finding (``Anna Berg`` -> ``Anna``, ``Berg``) is looked up at its other places in
the same text: where it stands as a whole word, spelled exactly the same (case included, so
``Will`` in ``Will Smith`` does not make ``will`` a name), not inside another finding and not part
of a place's or company's name (``Weber`` in ``Weber GmbH``: merge.part_of_place_or_company), it
becomes a PERSON finding with the score of the finding it came from; neighbouring words found
this way with only spaces between them are one finding (``Anna Berg`` again).

Words that are never carried over: shorter than two letters or initials, titles, name
particles and the name lists' blockers (``Dr``, ``van``, ``May``, ``Hello``), and common English words (merge.py's list: ``Will``, ``Mark``,
``May`` start ordinary sentences), so a found name never turns an ordinary word into a name.
Written by hand: it is a few lines of string matching over the detector's own findings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from datamoat.privacy.pii.finding import Finding
from datamoat.privacy.pii.merge import part_of_place_or_company
from datamoat.privacy.pii.recognizers.names import TITLES, gazetteer

PROPAGATED = "name_propagation"
"""The recognizer name of a finding this module added."""
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_GAP = re.compile(r"[ \t]+")
_NEVER = ("particle", "blocker")


def name_words(text: str, finding: Finding, common: frozenset[str]) -> set[str]:
    """The words of a PERSON ``finding`` that may be carried over (see the module docstring)."""
    kinds = gazetteer().kinds
    out = set()
    for m in _WORD.finditer(text, finding.start, finding.end):
        word = m.group()
        key = word.casefold()
        if len(word) < 2 or key in TITLES or kinds.get(key) in _NEVER or key in common:
            continue
        out.add(word)
    return out


def propagate_names(text: str, findings: Sequence[Finding], common: frozenset[str]) -> list[Finding]:
    """``findings`` plus a PERSON finding at each other mention of a found name's words.

    text: the text the findings are in. findings: the detectors' findings (may overlap).
    common: casefolded common English words that are never carried over.
    Returns the input findings followed by the new ones (offsets in ``text``, end exclusive).
    """
    persons = [f for f in findings if f.entity_type == "PERSON"]
    if not persons:
        return list(findings)
    scores: dict[str, float] = {}
    for f in persons:
        for word in name_words(text, f, common):
            # a word the text holds once is only at the finding it came from: nothing to carry
            # over (a cheap count first, so most texts never build the pattern below)
            if text.count(word) > 1:
                scores[word] = max(scores.get(word, 0.0), f.score)
    if not scores:
        return list(findings)
    taken = sorted((f.start, f.end) for f in findings)
    pattern = re.compile(r"(?<![\w'’\-])(?:" + "|".join(map(re.escape, sorted(scores, key=len, reverse=True)))
                         + r")(?![\w\-]|['’][^\W_](?<![sS]))")
    hits: list[list] = []
    for m in pattern.finditer(text):
        s, e = m.span()
        if any(a < e and s < b for a, b in taken) or part_of_place_or_company(text, s, e):
            continue  # inside another finding, or part of a place or company (``Weber GmbH``)
        if hits and _GAP.fullmatch(text, hits[-1][1], s):
            hits[-1][1], hits[-1][2] = e, max(hits[-1][2], scores[m.group()])
        else:
            hits.append([s, e, scores[m.group()]])
    return [*findings, *(Finding("PERSON", s, e, score, PROPAGATED) for s, e, score in hits)]

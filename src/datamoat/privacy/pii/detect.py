"""The PII detector: runs the recognizers (and in mode ``accurate`` the tagger) on a text and
resolves overlapping findings.

Two modes (:data:`PII_MODES`):

* ``fast``: the recognizers only (regexes, validators, a name gazetteer, context cues);
* ``accurate`` (the default, :data:`DEFAULT_PII_MODE`): the recognizers plus the learned token
  tagger (tagger.py, a CRF shipped in the package) for names and addresses, joined by the rule
  in merge.py (pattern types win on overlap; adjacent address fragments merge; plausibility
  rules keep ordinary words from being reported). In both modes a name found once is then
  also a name at its other mentions in the same text (propagate.py). About 4-7x slower than
  ``fast`` (benchmarks/pii.py, on a shared 2-core machine: 3,180 texts/s on text it has not seen
  against 21,360, medians of three runs at a load average of ~1; an earlier version measured 839
  against 3,140 under a load of ~15). On PII-free real text (BANKING77's 10,003 training queries) it reports something in
  0.09% of the texts, ``fast`` in 0.05%.

``PiiEngine(entities=None, mode="accurate", min_score=0.4)`` is cheap to create (regexes are compiled at import,
the name gazetteer on first use) and safe to share between threads. Speed comes from:
precompiled regexes, a per-text prefilter for each recognizer (no ``@`` -> no email scan, no
digit -> no phone/card/IBAN/SSN/IP/DOB/address scan, too few digits -> no card/SSN/phone
scan), case-insensitive prefilters run as plain ones on the lower-cased text and written as
tries, context cues ("my name is", "Dear") tested by one match on the reversed window (see
``recognizers/_regex.py``), a name scan that visits only capitalised tokens, and
:meth:`PiiEngine.analyze_batch`, which also answers repeated texts from a small cache.

Overlaps: a finding fully inside a longer one is dropped unless its score is clearly higher
(by more than 0.25), then the rest are taken greedily by score (then length); a finding
that overlaps an already taken one is dropped. So ``John`` inside the address ``12 John
Street`` and a phone-shaped run inside an IBAN disappear, while a name next to an email stays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from datamoat.errors import DatamoatError
from datamoat.privacy.pii.finding import ENTITY_TYPES, Finding, has_digit
from datamoat.privacy.pii.merge import CONTEXT_TYPES, common_english, merge_findings
from datamoat.privacy.pii.propagate import propagate_names
from datamoat.privacy.pii.recognizers.address import find_addresses
from datamoat.privacy.pii.recognizers.dates import find_dates_of_birth
from datamoat.privacy.pii.recognizers.names import find_persons, gazetteer
from datamoat.privacy.pii.recognizers.patterns import (
    find_cards,
    find_emails,
    find_ibans,
    find_ips,
    find_ssns,
    find_urls,
)
from datamoat.privacy.pii.recognizers.phone import find_phones

if TYPE_CHECKING:
    from datamoat.privacy.pii.tagger import PiiTagger

Recognizer = Callable[[str], list[Finding]]

# (entity types it can report, needs a digit, function)
RECOGNIZERS: tuple[tuple[tuple[str, ...], bool, Recognizer], ...] = (
    (("EMAIL",), False, find_emails),
    (("URL",), False, find_urls),
    (("IP_ADDRESS",), True, find_ips),
    (("US_SSN",), True, find_ssns),
    (("CREDIT_CARD",), True, find_cards),
    (("IBAN",), True, find_ibans),
    (("PHONE",), True, find_phones),
    (("DATE_OF_BIRTH",), True, find_dates_of_birth),
    (("STREET_ADDRESS",), True, find_addresses),
    (("PERSON",), False, find_persons),
)
DEFAULT_MIN_SCORE = 0.4
PII_MODES: tuple[str, ...] = ("fast", "accurate")
"""``fast``: recognizers only; ``accurate``: recognizers + the learned tagger (see the module docstring)."""
DEFAULT_PII_MODE = "accurate"
_CONTAIN_MARGIN = 0.25


def check_entities(entities: Iterable[str] | None) -> tuple[str, ...]:
    """The entity types to look for (all when None); DatamoatError naming an unknown one."""
    if entities is None:
        return ENTITY_TYPES
    chosen = tuple(str(e).upper() for e in ([entities] if isinstance(entities, str) else entities))
    unknown = [e for e in chosen if e not in ENTITY_TYPES]
    if unknown:
        raise DatamoatError(f"unknown PII entity type {unknown[0]!r}; known: {', '.join(ENTITY_TYPES)}.")
    return chosen


def check_mode(mode: str | None) -> str:
    """``mode`` if it is one of :data:`PII_MODES` (None: the default); DatamoatError otherwise."""
    if mode is None:
        return DEFAULT_PII_MODE
    if mode not in PII_MODES:
        raise DatamoatError(f"unknown PII mode {mode!r}; known: {', '.join(PII_MODES)}.")
    return mode


def resolve_overlaps(findings: Sequence[Finding]) -> list[Finding]:
    """Non-overlapping findings, preferring longer spans and higher scores; sorted by start."""
    if len(findings) < 2:
        return list(findings)
    ordered = sorted(findings, key=lambda f: (f.start, -(f.end - f.start), -f.score))
    kept: list[Finding] = []
    for f in ordered:
        contained = any(
            o is not f and o.start <= f.start and f.end <= o.end and (o.end - o.start) > (f.end - f.start)
            and f.score <= o.score + _CONTAIN_MARGIN
            for o in ordered
        )
        if not contained:
            kept.append(f)
    kept.sort(key=lambda f: (-f.score, -(f.end - f.start), f.start))
    taken: list[Finding] = []
    for f in kept:
        if not any(f.overlaps(t) for t in taken):
            taken.append(f)
    taken.sort(key=lambda f: f.start)
    return taken


class PiiEngine:
    """Finds PII in free text.

    entities: entity types to report (see :data:`ENTITY_TYPES`); None for all.
    mode: ``fast`` or ``accurate`` (see the module docstring; None: :data:`DEFAULT_PII_MODE`).
    min_score: findings scoring below this are dropped (0.4 by default; raise it for
        precision, lower it for recall).
    cache_size: how many distinct texts :meth:`analyze_batch` remembers (repeated texts are
        common in ticket data); 0 turns the cache off.
    tagger: the tagger mode ``accurate`` uses (None: the shipped model, loaded once per process).
    """

    def __init__(
        self,
        entities: Iterable[str] | None = None,
        *,
        mode: str | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        cache_size: int = 10_000,
        tagger: PiiTagger | None = None,
    ) -> None:
        self.entities = check_entities(entities)
        self.mode = check_mode(mode)
        if not 0.0 <= float(min_score) <= 1.0:
            raise DatamoatError(f"min_score must be in [0, 1], got {min_score!r}.")
        self.min_score = float(min_score)
        self.cache_size = int(cache_size)
        wanted = set(self.entities)
        # every recognizer runs even when its type is not wanted: its findings still decide
        # overlaps (an address swallowing a name, an IBAN that is not a phone), so turning an
        # entity type off never turns junk into findings of another type
        self._recognizers = [(digit, fn) for _types, digit, fn in RECOGNIZERS]
        self._wanted = wanted
        if "PERSON" in wanted:
            gazetteer()
        self._propagate = "PERSON" in wanted
        self._tagger = None
        if self.mode == "accurate" and wanted & CONTEXT_TYPES:
            from datamoat.privacy.pii.tagger import default_tagger

            self._tagger = tagger if tagger is not None else default_tagger()

    def analyze(self, text: str | None) -> list[Finding]:
        """Findings in ``text`` (None or empty gives []), non-overlapping, sorted by start."""
        if not text:
            return []
        # (a long text counts ASCII digits only: it is scanned for ten characters, not char by char)
        digit = has_digit(text) if len(text) < 64 else _has_digit(text)
        found: list[Finding] = []
        for needs_digit, fn in self._recognizers:
            if needs_digit and not digit:
                continue
            found.extend(fn(text))
        if self._tagger is not None:
            found = merge_findings(text, found, self._tagger.tag(text))
        found = [f for f in found if f.score >= self.min_score]
        if self._propagate:
            found = propagate_names(text, found, common_english())
        return [f for f in resolve_overlaps(found) if f.entity_type in self._wanted]

    def redact_batch(self, texts: Sequence[str]) -> list[tuple[str, int]]:
        """Each text with its PII replaced by ``[TYPE]`` placeholders, and how many spans were replaced.

        What the server stores and predicts on, and what monitoring compares against.
        """
        from datamoat.privacy.pii.operators import anonymize

        return [(anonymize(t, f), len(f)) if f else (t, 0)
                for t, f in zip(texts, self.analyze_batch(texts), strict=True)]

    def analyze_batch(self, texts: Iterable[str | None]) -> list[list[Finding]]:
        """:meth:`analyze` for each text, in order; repeated texts are analysed once."""
        out: list[list[Finding]] = []
        cache: dict[str, list[Finding]] = {}
        for text in texts:
            if not text:
                out.append([])
                continue
            hit = cache.get(text)
            if hit is None:
                hit = self.analyze(text)
                if len(cache) < self.cache_size:
                    cache[text] = hit
            out.append(hit)
        return out


def _has_digit(text: str) -> bool:
    return any(d in text for d in "0123456789")

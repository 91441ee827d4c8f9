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
   another type the tagger is sure of (score at least :data:`OTHER_TYPE_SCORE`: it read
   ``Morgan Stanley`` as an organisation, ``Paris`` as a place) is dropped unless a title or a
   greeting stands right before it (``Mrs Hill``, ``Good morning Bertrand``), and so is one right
   after a capitalised place-name head (``New``, ``North``, ``San``, ``Port``, ``Great`` ...:
   ``New York``) or with a company suffix or a place-name ending right after one of its words
   (``Jones PLC``, ``Hoffmann GmbH``, ``Rossi e figli``: Faker's company suffixes of every locale,
   matched with their case; ``Kurt Ville``, ``Cedar Falls``; the same holds for tagger names in
   rule 4 and for a name's other mentions, propagate.py); one the tagger did not touch at all is
   kept (the recognizers' cues stay).
3. **Addresses.** The recognizers' and the tagger's STREET_ADDRESS spans are pooled (a
   recognizer address that begins inside a tagger name starts where the tagger's address in it
   starts: the name stays a name), and spans
   that overlap or are separated only by spaces, line breaks, commas or semicolons are merged
   into one (a street line, a postcode line and a city line become one address).
4. **Plausibility** (the tagger also fires on ordinary words; these rules come from what a
   name and an address look like, not from any data set). *Common English words* here are the
   recognizers' common-word list (Faker's English lorem list and the hand-written extras, which
   hold the words that are also names: ``will``, ``mark``, ``bill``, ``grace``, ``rose``) plus
   scikit-learn's English stop-word list (``made``, ``find``, ``call``), both shipped with
   packages datamoat depends on. A *cue* is a title, greeting or naming phrase right before
   the span (``Dr``, ``dear``, ``my name is``, ``spoke with``: names.py's context cues).
   A tagger PERSON span is split at blocker words (pronouns, articles, months, greetings:
   ``I made``, ``an ATM``; blockers are never part of a name, except a capitalised one that is
   also a listed name right next to another capitalised name word: ``Georgia Harvey``,
   ``June Carter``, :func:`name_blockers`, and a capital letter with a dot next to one, an
   initial: ``Okle A. Lunfakel``) and at currency, continent and
   nationality words (:func:`not_names`: ``Euro``, ``AUD``, ``Americans``), and after a company
   suffix or a place-name ending inside the span (``Cossy SA Anna Berg``: the suffix is no name
   word); a piece right after a capitalised place-name head, also one that opens the span
   (``New York``, ``San Diego``, ``Lake Jessica``), right before a company suffix or place-name
   ending (``Jones PLC``, ``Emilie Ville``), or that is exactly a place in Faker's place lists and
   holds no listed name (:func:`listed_places`: ``Utsjoki``, not ``Jordan``) is dropped; a piece not all in lower case
   loses the lower-case words at its ends that are neither particles nor first or last names
   (``Anna Berg works``). A letter with a dot beside other words is an initial: it counts as
   a name word of its own, never as a common word (``j. ahola``, ``abigail s. beltran``, also
   the blocker ``a`` in ``a. lynch``), and so does a particle (``van der``, an elided ``o'``:
   ``constance van der boateng``, ``robert o'donnell``). Then each piece

   * with an English contraction in it (``haven't gotten``, ``we'll``) is no name;
   * all in lower case, when it is one word or holds a common English word (``link``,
     ``edit``, ``transaction made``, ``will smith``, ``from us``), is a name only after a
     strong cue (a title, greeting, form label or naming phrase: ``dear will``, ``good morning
     lara``, ``surname: ahola``; not ``i am``, ``i'm``,
     ``this is``, plain English before an adjective: ``i'm stuck``), or after any cue when
     every word is a listed name and one of them no common word (``ask for rosa delgado``),
     or when it is one listed
     first name that is no common word, after any cue (``talked to sophie``) or, if the tagger
     is sure of it (:data:`LOWER_CASE_SCORE`), right after a verb whose object is a person
     (``i met daniel``), or joined by ``and`` / ``or`` to a listed first or last name
     (``was it lara or constance``); an initial with listed names is a name (``j. ahola``);
     otherwise it is a name after a strong cue (``my name is aigerim
     nurlanovna``), or it is kept when each word is a first or last name (``kevin barnes``), or
     when one is, none is a common word, and the tagger is sure of it (score at least
     :data:`LOWER_CASE_SCORE`: ``maciej sobuś``; :data:`LOWER_CASE_FIRST_SCORE` when it has
     several words and one is a listed first name: ``ingrid thiry``), or when it has several
     words, none in any list, after a naming cue, a verb people are the object of, a person
     word or a signing phrase (``my mother,``, ``signed by``, a ``to:`` header line; not a bare
     ``from`` or ``by``), and the tagger is sure of it (:data:`LOWER_CASE_SCORE`: ``thank
     tiupil vacen``);
   * of one word in capitals, at most five letters long, in a text not itself in capitals and
     without a strong cue (``from SWIFT``), is an acronym or a code (``ATM``, ``EUR``), dropped;
   * otherwise mixing cases, with a lower-case word inside that is neither a particle nor a first
     or last name (``Cash withdrawal Fees``), is dropped;
   * of one word that is not a plain first or last name (an unknown word) needs a score of at
     least :data:`UNKNOWN_WORD_SCORE` and, without a cue, must not start a sentence (capitals
     say nothing there: ``Looking``), unless ``and`` / ``or`` joins it to a capitalised listed
     first or last name (``Tamle and Anna from the office``).

   A STREET_ADDRESS made only of tagger spans (after rule 3's merging, so a street line, a
   postcode line and a city line are judged together) needs a number token (a house number or
   postcode: digits, optionally one letter, ``12``, ``12b``, ``12-14``) with a street-type word
   (``Road``, ``utca``, ``rue``, also as a capitalised compound ending: ``Hauptstraße``) or in
   address shape: a word that is not common English right before the number
   (``heimdalsgade 9``) or a capitalised one next to it, across a comma or ``Nr.`` too
   (``Canale Aldo, 62``, ``89037 Giuncugnano``). Without a number it needs a street-type word
   next to a capitalised word (``Baker Street``). So a run of letter-digit codes
   (``w143 w76 bill33``) or a sentence with a count in it (``gave me 10 pounds``) is no address.
5. The tagger's other types (LOCATION, ORGANIZATION, DATE_TIME, NRP) are used for rule 2 only;
   they are not reported.

The caller then resolves what still overlaps (``detect.resolve_overlaps``: a name inside an
address goes).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from datamoat.privacy.pii.finding import Finding
from datamoat.privacy.pii.recognizers.address import street_words
from datamoat.privacy.pii.recognizers.names import (
    GREETINGS,
    HELLO,
    NAME_CONTEXT_BEFORE,
    PERSON_WORDS,
    TITLES,
    gazetteer,
    locale_providers,
    provider_values,
)
from datamoat.privacy.pii.tagger import TaggedSpan
from datamoat.privacy.pii.tagger_features import tokenize

CONTEXT_TYPES = frozenset({"PERSON", "STREET_ADDRESS"})
"""The types the tagger reports; every other type comes only from the recognizers."""
TAGGER = "pii_tagger"
UNKNOWN_WORD_SCORE = 0.75
"""Rule 4: the least score of a one-word tagger name that is not in the name lists."""
LOWER_CASE_SCORE = 0.9
"""Rule 4: the least score of a lower-case tagger name with a word that is not in the name lists
(chosen on the development set of tagger_dev.py, PERSON F2 0.932 / 0.929 / 0.928 / 0.908 at
0.8 / 0.9 / 0.95 / never; 0.9 because 0.8 let ``made glorious`` through in plain English)."""
LOWER_CASE_FIRST_SCORE = 0.7
"""Rule 4: the least score of a lower-case tagger name of several words, one a listed first name,
none a common word, with a word in no list (``ingrid thiry``)."""
OTHER_TYPE_SCORE = 0.85
"""Rule 2: the least score of a tagger span of another type (ORGANIZATION, LOCATION ...) that
overrules a recognizer's name (a less sure one leaves the name: ``- Bertrand`` as a signature)."""
_ADDRESS_GAP = re.compile(r"[\s,;]*")
_NAME_GAP = re.compile(r"[ \t]+|-")
_TITLE = r"\b(?:" + "|".join(sorted(TITLES)) + r")\.?"
"""Regex source: a title (``Mrs``, ``Dr.``)."""
_TITLE_BEFORE = re.compile(_TITLE + r"[ \t]+\Z", re.IGNORECASE)
_PLACE_HEADS = (r"New|North|South|East|West|San|Santa|Santo|São|Saint|St\.?|Port|Fort|Mount|Mt\.?"
                r"|Lake|Los|Las|Cape|Great|Upper|Lower")
_PLACE_PREFIX = re.compile(r"\b(?:" + _PLACE_HEADS + r")[ \t]+\Z")
"""A capitalised place-name head right before a piece of a tagger name: the piece is part of a
place (``New York``, ``North Carolina``, ``San Diego``, ``Great Barrier Reef``; rule 4)."""
_PLACE_HEAD_WORD = re.compile(r"(?:" + _PLACE_HEADS + r")\Z")
"""A place-name head as the first word of a tagger name (``Lake Jessica``): the rest is a place."""
_PLACE_AFTER = re.compile(r"[ \t]+(?:Ville|City|Town|Township|Village|Heights|Springs|Falls|Valley|Creek|Harbou?r)"
                          r"(?![^\W_])")
"""A capitalised place-name ending right after a name (``Emilie Ville``, ``Kurt Town``, ``Cedar
Falls``): the name is part of a place (rules 2 and 4). Not ``Hill`` or ``Park``: surnames."""
_NOT_NAME_BLOCKERS = frozenset({
    "company", "council", "post", "royal", "north", "west", "saint", "santa", "santo", "christ", "jesus", "easter",
    "ramadan", "hermes", "safari", "sep", "mar", "mars", "mac", "sunday", "freitag", "lundi"})
"""Listed names among the blockers that stay blockers (``North Carolina``, ``Royal Mail``, ``Santa Maria``)."""
_WORD = re.compile(r"[^\W\d_]+")
_TRIM = " \t\r\n,;:.()[]{}<>\"'|/-"
_NAME_CUE = re.compile(
    r"(?i)(?:" + _TITLE + "|(?:" + HELLO + r"|\b(?:thanks|regards|cheers|sincerely))\s*[,!]?|\bmy\s+name\s+is|"
    r"\b(?:sur|first|last|given|family|full|middle|maiden)?[ \t]?name\s*[:=\-]|\bcall\s+me|\bi\s+am|\bi'm|\bthis\s+is)\s*$")
"""A title, greeting or naming cue right before a lower-case name (rule 4): also ``good morning``
and a form field's label (``name:``, ``surname:``, ``first name -``)."""
_PERSON_VERB = re.compile(
    r"(?i)\b(?:met|meet|meeting|told|tell|asked|ask|saw|see|seen|thank|thanked|invite|invited|visit|visited|"
    r"married|texted|emailed|called|and)\s+$")
"""A verb whose object is usually a person, right before a lone lower-case first name (rule 4)."""
_LOWER_UNLISTED_CUE = re.compile(
    r"(?i)(?:\b(?:signed|sent|written)\s+by|\bcare\s+of|\battn\.?|\bcontact|(?:^|\n)[ \t]*(?:from|to|cc|bcc)[ \t]*:|"
    r"\b(?:" + PERSON_WORDS + r"|guest|student))\s*[,:]?\s*$")
"""A person word or signing phrase right before a lower-case name of several words in no list
(``my mother, mespe tiisuti``, ``signed by okum arpe``, a ``to:`` header line; rule 4). Not the bare prepositions of
:data:`NAME_CONTEXT_BEFORE` (``from``, ``by``, ``with``): ``from making transfers``."""
_ADDRESSED = re.compile(r"(?i)(?:" + _TITLE + "|(?:" + HELLO + r")\s*,?)[ \t]+\Z")
"""A title or a greeting right before a recognizer's name (``Mrs Hill``, ``Good morning
Bertrand``): the name stands, whatever other type the tagger read there (rule 2)."""
_BEING = re.compile(r"(?i)(?:\bi\s+am|\bi['’]m|\bthis\s+is)\s*$")
"""The strong cues that are also plain English before an adjective (``i'm stuck``): not
enough on their own for a lower-case word that is no listed first name (rule 4)."""
_CONTRACTION = re.compile(r"(?i)n['’]t\b|['’](?:ve|ll|re|m|d)\b")
_NAME_PARTS = ("particle", "first", "last")
_LISTED = ("first", "last", "weak", "particle")
"""Kinds of the words of a lower-case name made of listed names (``constance van der boateng``)."""
_CONTINENTS = ("europe", "european", "europeans", "asia", "asian", "africa", "african", "america", "americas",
               "oceania", "antarctica", "eurozone", "scandinavia")
_NUMBER_LEADS = (",", ".")
_SENTENCE_START = re.compile(r"(?:^|[.!?\n])[\s\"'(]*\Z")
_HOUSE_NUMBER = re.compile(r"\d{1,6}[^\W\d_]?(?:[-/]\d{1,5}[^\W\d_]?)?")
_STREET_ENDINGS = ("straße", "strasse", "str", "weg", "gasse", "platz", "allee", "ring", "damm", "laan",
                   "straat", "gracht", "plein", "vej", "gatan", "gata", "veien", "utca", "tér")


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


@lru_cache(maxsize=1)
def common_english() -> frozenset[str]:
    """Casefolded common English words (rule 4): the recognizers' common-word list (with the
    words that are also names) plus scikit-learn's English stop words."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return gazetteer().common | frozenset(ENGLISH_STOP_WORDS)


@lru_cache(maxsize=1)
def not_names() -> frozenset[str]:
    """Casefolded words that never are part of a name (rule 4, split like blockers): currency
    codes and the words of currency names, also in the plural (Faker's currency list: ``EUR``,
    ``euros``, ``ruble``), continents, and nationality, religion and party words (tagger_synth's NRP
    list, also in the plural: ``Americans``)."""
    from faker.providers.currency import Provider as Currencies

    from datamoat.privacy.pii.tagger_synth import NRP

    words = {code.casefold() for code, _ in Currencies.currencies}
    words |= {w.casefold() + suffix for _, name in Currencies.currencies for w in _WORD.findall(name) if len(w) > 3
              for suffix in ("", "s")}
    words |= {w.casefold() + suffix for n in NRP for w in _WORD.findall(n) for suffix in ("", "s")}
    return frozenset(words | set(_CONTINENTS)) - gazetteer().first


_PLACE_LISTS = ("countries", "cities", "city_names", "states", "provinces", "regions", "counties", "districts",
                "villages", "settlements", "localities", "communes")
"""Faker's address-provider lists of place names (every locale)."""


@lru_cache(maxsize=1)
def listed_places() -> frozenset[str]:
    """Casefolded place names from Faker's address providers of every locale (:data:`_PLACE_LISTS`:
    countries, cities, states, provinces ...), without the ones that are a listed first or last
    name (``Jordan``, ``Florence``, ``Lincoln``; also ``Kenia`` and ``El Salvador``, whose words are
    first names): rule 4 drops a tagger name that is exactly one of these (``Utsjoki``, ``Asiago``,
    ``Viseu``)."""
    g = gazetteer()
    names = g.first | g.last
    places = {v.strip().casefold() for prov in locale_providers("address") for attr in _PLACE_LISTS
              for v in provider_values(attr, prov)}
    return frozenset(p for p in places if p and not any(w in names for w in _WORD.findall(p)))


@lru_cache(maxsize=1)
def _company_after() -> re.Pattern[str]:
    """A legal-form or company suffix right after a name (``Jones PLC``, ``Hoffmann GmbH``,
    ``Larsen & Co.``, ``Rossi e figli``): Faker's company suffixes of every locale, matched with
    their case, so the name is part of a company's name (rule 4 and rule 2)."""
    suffixes = {v.strip() for prov in locale_providers("company") for v in provider_values("company_suffixes", prov)}
    words = sorted((w for w in suffixes if len(w) > 1), key=len, reverse=True)
    return re.compile(r",?[ \t]+(?:" + "|".join(re.escape(w) for w in words) + r")(?![^\W_])")


def _suffix_end(text: str, end: int) -> int | None:
    """Where a company suffix or place-name ending right after position ``end`` ends (``Cossy
    SA``, ``Dijoux S.A.``, ``Deborah Ville``); None when there is none."""
    m = _company_after().match(text, end) or _PLACE_AFTER.match(text, end)
    return None if m is None else m.end()


def part_of_place_or_company(text: str, start: int, end: int) -> bool:
    """Whether the name ``text[start:end]`` is part of a place's or a company's name: a place-name
    head right before it (``New York``) or a company suffix or place-name ending right after one
    of its words (``Jones PLC``, ``Kurt Ville``; rule 2, and propagate.py for a name's other mentions)."""
    if _after(_PLACE_PREFIX, text, start):
        return True
    return any(_suffix_end(text, m.end()) is not None for m in _WORD.finditer(text, start, end))


def person_pieces(text: str, start: int, end: int, score: float) -> list[tuple[int, int]]:
    """Rule 4 for a tagger PERSON span ``text[start:end]``: the parts of it that may be names.

    The span is split at blocker words; a piece not all in lower case loses the lower-case
    words at its ends that are neither particles nor first or last names (``Anna Berg works``);
    each piece left is then judged by :func:`_person_plausible`.
    """
    g = gazetteer()
    words = [(m.start(), m.end(), _kind(text, m.start(), m.group(), g.kinds)) for m in _WORD.finditer(text, start, end)]
    runs: list[list[tuple[int, int, str | None]]] = [[]]
    places = not_names()
    skip_to = start  # words inside a company suffix or a place-name ending belong to no name
    for i, w in enumerate(words):
        if w[0] < skip_to:
            continue
        if (w[2] == "blocker" and not _named_blocker(text, words, i)) or text[w[0]:w[1]].casefold() in places:
            runs.append([])
            continue
        if not runs[-1] and i + 1 < len(words) and _PLACE_HEAD_WORD.match(text, w[0], w[1]):
            continue  # ``Lake Jessica``: the head starts a place, and the rest is judged after it
        runs[-1].append(w)
        suffix = _suffix_end(text, w[1])
        if suffix is not None:
            runs[-1] = []  # ``Cossy SA``, ``Jones PLC``: the run before the suffix is a company's or place's
            skip_to = suffix
    out = []
    for run in runs:
        if run and not text[run[0][0]:run[-1][1]].islower():
            while run and text[run[0][0]:run[0][1]].islower() and run[0][2] not in _NAME_PARTS:
                run = run[1:]
            while run and text[run[-1][0]:run[-1][1]].islower() and run[-1][2] not in _NAME_PARTS:
                run = run[:-1]
        if (run and not _after(_PLACE_PREFIX, text, run[0][0])
                and text[run[0][0]:run[-1][1]].casefold() not in listed_places()
                and _person_plausible(text, run[0][0], run[-1][1], score)):
            out.append((run[0][0], run[-1][1]))
    return out


@lru_cache(maxsize=1)
def name_blockers() -> frozenset[str]:
    """Casefolded blocker words that are also listed first or last names (``Georgia``, ``Jordan``,
    ``June``, ``Church``), at least three letters long, not greetings, pronouns or street types
    (rule 4: such a word stays in a tagger name next to another name word)."""
    g = gazetteer()
    streets = street_words()
    return frozenset(w for w in g.blockers if len(w) > 2 and (w in g.first or w in g.last)
                     and g.kinds.get(w) == "blocker" and w not in GREETINGS and w not in streets
                     and w not in _NOT_NAME_BLOCKERS)


def _named_blocker(text: str, words: Sequence[tuple[int, int, str | None]], i: int) -> bool:
    """Whether blocker word ``words[i]`` of a tagger PERSON span is a name there (rule 4): a
    capitalised listed name (:func:`name_blockers`) with a capitalised name word of the span
    (a first or last name, also one that is a common word, or a word in no list) right next to it, only spaces or a hyphen
    between (``Georgia Harvey``, ``Olive Church``; not ``Georgia`` alone, not ``Jordan Street``),
    or right after a title (``Mrs. Jordan``)."""
    s, e, _ = words[i]
    word = text[s:e]
    initial = _is_initial(text, s, e)  # ``A.`` in ``Okle A. Lunfakel``, ``a.`` in ``a. lynch``
    lower = not word[0].isupper()
    if (lower and not initial) or (not initial and word.casefold() not in name_blockers()):
        return False
    if _after(_TITLE_BEFORE, text, s):
        return True  # right after a title (``Mrs. Jordan``, ``Capt. Mayo``)
    # beside it: a capitalised name word, or for a lower-case initial a listed name
    neighbours = ("first", "last") if lower else ("first", "last", "weak", None)
    for j in (i - 1, i + 1):
        if 0 <= j < len(words):
            a, b, kind = words[j]
            gap = text[e + initial:a] if j > i else text[b:s]
            if kind in neighbours and (lower or text[a].isupper()) and _NAME_GAP.fullmatch(gap):
                return True
    return False


def _is_initial(text: str, start: int, end: int) -> bool:
    """Whether the word ``text[start:end]`` is one letter followed by a dot (``A.``, ``j.``)."""
    return end - start == 1 and text[end:end + 1] == "."


_BEFORE_WINDOW = max(*(len(t) for t in TITLES), len("good afternoon")) + 6
"""Characters looked at before a word for a title, greeting or place-name head (the longest title
or greeting, its dot or comma and some spaces)."""


def _after(pattern: re.Pattern[str], text: str, at: int) -> bool:
    """Whether ``pattern`` (anchored with ``\\Z``) matches right before position ``at``."""
    return pattern.search(text, max(0, at - _BEFORE_WINDOW), at) is not None


def _kind(text: str, at: int, word: str, kinds: dict[str, str]) -> str | None:
    """A word's kind in the name lists; the Dutch article ``'t`` (``van 't Erve``) and an elided
    ``O'`` / ``D'`` / ``L'`` (``o'donnell``, ``D'Angelo``) are particles."""
    if word in ("t", "T") and at and text[at - 1] in "'’":
        return "particle"
    if word in ("o", "O", "d", "D", "l", "L") and text[at + 1:at + 2] in ("'", "’"):
        return "particle"
    return kinds.get(word.casefold())


def _person_plausible(text: str, start: int, end: int, score: float) -> bool:
    """Rule 4 for a piece of a tagger PERSON span without blocker words."""
    value = text[start:end]
    matches = list(_WORD.finditer(text, start, end))
    named = [m for m in matches if not _is_initial(text, m.start(), m.end())]
    has_initial = 0 < len(named) < len(matches)
    if has_initial:
        # an initial (``j. ahola``, ``abigail s. beltran``) stands for a given name: it is judged
        # as a name word of its own, not as the common word ``s`` or ``a``
        matches = named
    words = [m.group() for m in matches]
    g = gazetteer()
    kinds = [_kind(text, m.start(), m.group(), g.kinds) for m in matches]
    n_words = len(words) + has_initial
    window = text[max(0, start - 40):start]
    strong = bool(_NAME_CUE.search(window))
    cue = strong or bool(NAME_CONTEXT_BEFORE.search(window))
    naming = strong and not _BEING.search(window)  # "i'm stuck", "this is urgent": no name
    if _CONTRACTION.search(value):
        return False  # an English verb form (``haven't gotten``) is no name
    if value.islower():
        if has_initial and all(k in _LISTED for k in kinds) and ("first" in kinds or "last" in kinds):
            return True  # an initial and listed names (``j. ahola``, ``keith c. freeman``)
        if n_words == 1 or any(w.casefold() in common_english() for w, k in zip(words, kinds, strict=True) if k != "particle"):
            # a lone lower-case word, or one with a common English word: a name only after a
            # strong cue (``dear will``), or a lone listed first name that is no common word
            # after a weaker cue (``talked to sophie``), or after a verb people are the object
            # of when the tagger is sure of it (``i met daniel``)
            if naming:
                return True
            if n_words > 1 and cue and all(k in _LISTED for k in kinds) and (
                    "first" in kinds or "last" in kinds):
                return True  # every word a listed name, one not a common word (``ask for rosa delgado``)
            if n_words > 1 or kinds[0] != "first" or words[0].casefold() in common_english():
                return False
            return (cue or (score >= LOWER_CASE_SCORE and bool(_PERSON_VERB.search(window)))
                    or _coordinated_with_name(text, start, end, any_case=True))
        if naming or (all(k in _LISTED for k in kinds) and ("first" in kinds or "last" in kinds or "weak" in kinds)):
            return True
        least = LOWER_CASE_FIRST_SCORE if n_words > 1 and "first" in kinds else LOWER_CASE_SCORE
        if (n_words > 1 and all(k is None for k in kinds) and score >= LOWER_CASE_SCORE
                and (naming or _PERSON_VERB.search(window) or _LOWER_UNLISTED_CUE.search(window))):
            return True  # every word in no list, after a naming cue, a person word or a verb people are the object of (``thank tiupil vacen``)
        return (score >= least and any(k in ("first", "last") for k in kinds)
                and not any(k in ("common", "weak") for k in kinds))
    if len(words) == 1 and words[0].isupper() and len(words[0]) <= 5 and not strong and not _mostly_upper(text):
        return False  # a short word in capitals in ordinary text: an acronym or a code (ATM, EUR)
    if any(w.islower() and k not in _NAME_PARTS for w, k in zip(words, kinds, strict=True)):
        return False
    if n_words == 1 and kinds[0] not in ("first", "last"):
        # capitals say nothing at the start of a sentence (Looking, Transfers)
        if score >= UNKNOWN_WORD_SCORE and (cue or not _SENTENCE_START.search(text, 0, start)):
            return True
        return _coordinated_with_name(text, start, end)
    return True


_AND_AFTER = re.compile(r"[ \t]+(?:and|or|&)[ \t]+([^\W\d_]+)")
_AND_BEFORE = re.compile(r"([^\W\d_]+)[ \t]+(?:and|or|&)[ \t]+\Z")


def _coordinated_with_name(text: str, start: int, end: int, any_case: bool = False) -> bool:
    """Whether the word ``text[start:end]`` is joined by ``and`` / ``or`` / ``&`` to a capitalised
    listed first or last name that is no common word (``Tamle and Anna from the office``, ``Was it
    Maria or Kelmes``; rule 4): two people named together. A partner in no list is not enough
    (``Looking and Saving``, ``Terms and Conditions``). ``any_case``: the partner may be in lower
    case too (for a lone lower-case listed first name: ``was it lara or constance``)."""
    g = gazetteer()
    after = _AND_AFTER.match(text, end)
    before = _AND_BEFORE.search(text, max(0, start - 40), start)
    for m in (after, before):
        if m is None:
            continue
        word = m.group(1)
        if (any_case or (word[0].isupper() and not word.isupper())) and g.kinds.get(word.casefold()) in ("first", "last"):
            return True
    return False


def _mostly_upper(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return sum(ch.isupper() for ch in letters) * 2 > len(letters)


def _address_plausible(value: str) -> bool:
    """Rule 4 for an address made only of tagger spans (``value``: its text)."""
    tokens = [t for t, _, _ in tokenize(value)]
    streets = street_words()
    at = [i for i, t in enumerate(tokens) if t.lower() in streets
          or (t[:1].isupper() and len(t) > 5 and t.lower().endswith(_STREET_ENDINGS))]
    numbers = [i for i, t in enumerate(tokens) if _HOUSE_NUMBER.fullmatch(t)]
    if numbers:
        if at:
            return True
        # address shape without a street-type word: a street name right before its number
        # (``heimdalsgade 9``), a word that is not common English
        # (``heimdalsgade 9``), or a capitalised name word next to the number, across a comma or
        # ``Nr.`` too (``Canale Aldo, 62``, ``89037 Giuncugnano``), a word that is not common English
        return any(_name_word(tokens, i - 1, True) or _name_word(tokens, i + 1, False)
                   or (i > 1 and tokens[i - 1] in _NUMBER_LEADS and _name_word(tokens, i - 2, True, True))
                   or (i + 2 < len(tokens) and tokens[i + 1] == "," and _name_word(tokens, i + 2, False, True))
                   for i in numbers)
    # no number: a street-type word next to a capitalised word, or a capitalised compound (Hauptstraße)
    capitals = [i for i, t in enumerate(tokens) if t[:1].isupper() and t[1:].islower() and len(t) > 1
                and t.lower() not in streets]
    return any(abs(i - j) == 1 for i in at for j in capitals) or any(tokens[i].lower() not in streets for i in at)


def _name_word(tokens: list[str], i: int, before: bool, capital: bool = False) -> bool:
    """Whether ``tokens[i]`` is a word of 3+ letters that is not common English and may name a
    street or place: capitalised, or (just ``before`` a number, unless ``capital``) in lower case."""
    if i < 0 or i >= len(tokens):
        return False
    t = tokens[i]
    if i > 1 and tokens[i] in (".",) and tokens[i - 1].casefold() == "nr":
        return _name_word(tokens, i - 2, before, True)
    if not (t[0].isalpha() and len(t) > 2) or t.casefold() in common_english():
        return False
    return t[0].isupper() or (before and not capital)


def _address_head(f: Finding, pieces: Sequence[tuple[str, int, int, float]],
                  tagged_addresses: Sequence[tuple[int, int, float, str]]) -> tuple[int, int, float, str]:
    """A recognizer address as ``(start, end, score, recognizer)``, starting where the tagger's
    address starts when it begins inside a tagger name and the tagger read an address in it
    (``Ship to Andrew Morgan at Moritz-Gstrein-Gasse 9``: not ``Morgan at ...``; rule 3)."""
    start = f.start
    for kind, s, e, _score in pieces:
        if kind == "PERSON" and s <= start < e:
            heads = [a for a, b, _, _ in tagged_addresses if e <= a < f.end]
            if heads:
                start = min(heads)
    return start, f.end, f.score, f.recognizer


def merge_findings(text: str, found: Sequence[Finding], tagged: Sequence[TaggedSpan]) -> list[Finding]:
    """The recognizers' ``found`` and the tagger's ``tagged`` spans of ``text`` joined by the
    rule in the module docstring (may still overlap; unsorted)."""
    pattern = [f for f in found if f.entity_type not in CONTEXT_TYPES]
    blocks = [(f.start, f.end) for f in pattern]
    pieces: list[tuple[str, int, int, float]] = []
    for kind, start, end, score in tagged:
        spans = person_pieces(text, start, end, score) if kind == "PERSON" else [(start, end)]
        for start, end in spans:
            cut = _cut(start, end, blocks)
            if sum(e - s for s, e in cut) * 2 < end - start:
                continue  # mostly a pattern value (two phone numbers read as an address): no leftovers
            for s, e in cut:
                kept = _trimmed(text, s, e)
                if kept is not None:
                    pieces.append((kind, kept[0], kept[1], score))
    out = list(pattern)
    persons = [[s, e, score] for kind, s, e, score in pieces if kind == "PERSON"]
    others = [(s, e) for kind, s, e, score in pieces if kind not in CONTEXT_TYPES and score >= OTHER_TYPE_SCORE]
    for f in found:
        if f.entity_type != "PERSON" or part_of_place_or_company(text, f.start, f.end):
            continue  # part of a place (``New York``, ``Kurt Ville``) or of a company (``Jones PLC``)
        hits = [p for p in persons if p[0] < f.end and f.start < p[1]]
        if hits:
            for p in hits:
                p[0], p[1], p[2] = min(p[0], f.start), max(p[1], f.end), max(p[2], f.score)
        elif not any(s < f.end and f.start < e for s, e in others) or _after(_ADDRESSED, text, f.start):
            out.append(f)
    out += [Finding("PERSON", s, e, score, TAGGER) for s, e, score in persons]
    tagged_addresses = [(s, e, score, TAGGER) for kind, s, e, score in pieces if kind == "STREET_ADDRESS"]
    addresses = sorted(
        [_address_head(f, pieces, tagged_addresses) for f in found if f.entity_type == "STREET_ADDRESS"]
        + tagged_addresses
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
    out += [Finding("STREET_ADDRESS", s, e, score, by) for s, e, score, by in merged
            if by != TAGGER or _address_plausible(text[s:e])]
    return out

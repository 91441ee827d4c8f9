"""Text damage used by the demo generator: typos, near-duplicate edits and encoding faults.

All functions take and return :class:`~datamoat.demo.pii.Segment` lists (or plain strings) and
never alter a PII segment, so PII offsets recomputed by :func:`~datamoat.demo.pii.render` stay
exact. Near-duplicate similarity is measured by :func:`shingle_jaccard`: Jaccard similarity of
the sets of word 3-shingles, where words are ``re.findall(r"\\w+", text.lower())``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

from datamoat.demo.pii import Segment, map_plain, render

NEAR_DUP_MIN_JACCARD = 0.70
NEAR_DUP_MAX_JACCARD = 0.95

_WORD = re.compile(r"[A-Za-z]{4,}")
_MISSPELLINGS: dict[str, str] = {
    "received": "recieved", "receive": "recieve", "address": "adress", "definitely": "definately",
    "until": "untill", "separate": "seperate", "tomorrow": "tommorow", "account": "acount",
    "password": "pasword", "because": "becuase", "really": "realy", "which": "wich",
    "already": "alredy", "delivery": "delivary", "please": "pls", "thanks": "thx",
    "immediately": "immediatly", "subscription": "subscribtion", "arrived": "arived",
    "payment": "payemnt", "refund": "refnd", "statement": "statment", "business": "buisness",
}
_SYNONYMS: dict[str, str] = {
    "order": "purchase", "package": "parcel", "parcel": "package", "money": "funds",
    "received": "got", "really": "very", "problem": "issue", "account": "profile",
    "charged": "billed", "broken": "damaged", "contact": "reach",
    "today": "now", "immediately": "right away", "website": "site", "email": "e-mail",
    "delivery": "shipment", "tried": "attempted", "arrived": "turned up", "sent": "shipped",
    "wrong": "incorrect", "again": "once more", "phone": "mobile", "thanks": "thank you",
}
_SYNONYM_WORDS = re.compile(r"\b(" + "|".join(_SYNONYMS) + r")\b", re.IGNORECASE)
_FILLERS = re.compile(r"\b(really|just|still|already|very|actually|please|so) ", re.IGNORECASE)
_PREPENDS: tuple[str, ...] = ("Hi again, ", "Sorry to write again. ", "Following up: ", "Resending this: ", "UPDATE - ")
_APPENDS: tuple[str, ...] = (" Any update?", " Please help.", " Thanks again.", " Hope to hear back soon.")


def shingles(text: str, k: int = 3) -> set[tuple[str, ...]]:
    """Set of word ``k``-shingles of ``text`` (lower-cased ``\\w+`` words; short texts -> 1 shingle)."""
    words = re.findall(r"\w+", text.lower())
    if len(words) < k:
        return {tuple(words)}
    return {tuple(words[i : i + k]) for i in range(len(words) - k + 1)}


def shingle_jaccard(a: str, b: str, k: int = 3) -> float:
    """Jaccard similarity (0..1) of the word ``k``-shingle sets of ``a`` and ``b``."""
    sa, sb = shingles(a, k), shingles(b, k)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def _match_case(src: str, dst: str) -> str:
    """Give ``dst`` the capitalisation style of ``src`` (all caps / initial cap / lower)."""
    if src.isupper() and len(src) > 1:
        return dst.upper()
    if src[:1].isupper():
        return dst[:1].upper() + dst[1:]
    return dst


def misspell(word: str, rng: random.Random) -> str:
    """A plausible typo of ``word``: a known misspelling, or a swapped, doubled or dropped letter."""
    known = _MISSPELLINGS.get(word.lower())
    if known and rng.random() < 0.7:
        return _match_case(word, known)
    i = rng.randrange(1, len(word) - 2)
    op = rng.random()
    if op < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op < 0.75:
        return word[: i + 1] + word[i] + word[i + 1 :]
    return word[:i] + word[i + 1 :]


def add_typos(text: str, rng: random.Random, n: int) -> str:
    """Return ``text`` with up to ``n`` words (4+ letters) replaced by typos."""
    matches = list(_WORD.finditer(text))
    if not matches:
        return text
    chosen = sorted(rng.sample(matches, min(n, len(matches))), key=lambda m: m.start(), reverse=True)
    for m in chosen:
        text = text[: m.start()] + misspell(m.group(), rng) + text[m.end() :]
    return text


def html_escape(text: str) -> str:
    """Encode ``&``, ``'`` and ``"`` as HTML entities, as a web form that double-encodes would."""
    return text.replace("&", "&amp;").replace("'", "&#39;").replace('"', "&quot;")


_CP1252 = []
for _b in range(256):
    try:
        _CP1252.append(bytes([_b]).decode("cp1252"))
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D pass through as Latin-1
        _CP1252.append(chr(_b))


def mojibake(text: str) -> str:
    """UTF-8 bytes of ``text`` wrongly decoded as Windows-1252 ("don’t" -> "donâ€™t").

    Straight apostrophes are first turned into typographic ones (as a word processor would),
    so typical English text shows the damage.
    """
    smart = text.replace("'", "\u2019")
    return "".join(_CP1252[b] for b in smart.encode("utf-8"))


def _plain_words(segments: Sequence[Segment], pattern: re.Pattern[str]) -> list[tuple[int, re.Match[str]]]:
    """All ``(segment index, match)`` pairs of ``pattern`` inside plain segments."""
    return [(i, m) for i, s in enumerate(segments) if s.pii_type is None for m in pattern.finditer(s.text)]


def _replace(segments: Sequence[Segment], i: int, start: int, end: int, new: str) -> list[Segment]:
    """Copy of ``segments`` with ``segments[i].text[start:end]`` replaced by ``new``."""
    out = list(segments)
    t = out[i].text
    out[i] = Segment(t[:start] + new + t[end:])
    return out


Edit = Callable[[list[Segment], random.Random], tuple[list[Segment], str] | None]


def _edit_synonym(segs: list[Segment], rng: random.Random) -> tuple[list[Segment], str] | None:
    """Swap one word for a synonym."""
    hits = _plain_words(segs, _SYNONYM_WORDS)
    if not hits:
        return None
    i, m = rng.choice(hits)
    new = _match_case(m.group(), _SYNONYMS[m.group().lower()])
    return _replace(segs, i, m.start(), m.end(), new), f"replaced '{m.group()}' with '{new}'"


def _edit_typo(segs: list[Segment], rng: random.Random) -> tuple[list[Segment], str] | None:
    """Introduce one typo."""
    hits = [(i, m) for i, m in _plain_words(segs, _WORD) if len(m.group()) >= 5]
    if not hits:
        return None
    i, m = rng.choice(hits)
    new = misspell(m.group(), rng)
    if new == m.group():
        return None
    return _replace(segs, i, m.start(), m.end(), new), f"typo '{m.group()}' -> '{new}'"


def _edit_drop_filler(segs: list[Segment], rng: random.Random) -> tuple[list[Segment], str] | None:
    """Delete one filler word such as 'really' or 'just'."""
    hits = _plain_words(segs, _FILLERS)
    if not hits:
        return None
    i, m = rng.choice(hits)
    return _replace(segs, i, m.start(), m.end(), ""), f"removed '{m.group(1)}'"


def _edit_prepend(segs: list[Segment], rng: random.Random) -> tuple[list[Segment], str] | None:
    """Add a resubmission phrase at the start."""
    phrase = rng.choice(_PREPENDS)
    return [Segment(phrase), *segs], f"added '{phrase.strip()}' at the start"


def _edit_append(segs: list[Segment], rng: random.Random) -> tuple[list[Segment], str] | None:
    """Add a short sentence at the end (as a P.S. after a signed-off ticket)."""
    phrase = rng.choice(_APPENDS)
    if segs and segs[-1].pii_type is not None:
        phrase = "\nP.S." + phrase
    return [*segs, Segment(phrase)], f"added '{phrase.strip()}' at the end"


def _edit_punctuation(segs: list[Segment], rng: random.Random) -> tuple[list[Segment], str] | None:
    """Change one sentence end ('.' -> '!' or '?' -> '??') or drop a comma."""
    hits = _plain_words(segs, re.compile(r"[.?,](?=\s|$)"))
    if not hits:
        return None
    i, m = rng.choice(hits)
    new = {".": "!", "?": "??", ",": ""}[m.group()]
    return _replace(segs, i, m.start(), m.end(), new), f"punctuation '{m.group()}' -> '{new}'"


def _edit_casing(segs: list[Segment], rng: random.Random) -> tuple[list[Segment], str] | None:
    """Lower-case all plain text (as typed on a phone with auto-capitalisation off)."""
    new = map_plain(segs, str.lower)
    if new == segs:
        return None
    return new, "lower-cased the text"


WORD_EDITS: tuple[Edit, ...] = (_edit_synonym, _edit_typo, _edit_drop_filler, _edit_prepend, _edit_append)
COSMETIC_EDITS: tuple[Edit, ...] = (_edit_punctuation, _edit_casing)


def near_duplicate(
    segments: list[Segment], rng: random.Random, attempts: int = 25
) -> tuple[list[Segment], str, float] | None:
    """Edit ``segments`` into a near duplicate.

    Applies at least one word-level edit (so normalised texts differ), sometimes a cosmetic
    edit, and more word edits while similarity is above the band. Returns ``(segments,
    description, jaccard)`` with ``NEAR_DUP_MIN_JACCARD <= jaccard <= NEAR_DUP_MAX_JACCARD``,
    or None when no edit sequence lands in the band.
    """
    original, _ = render(segments)
    for _ in range(attempts):
        segs, descs = list(segments), []
        edits: list[Edit] = [rng.choice(WORD_EDITS)]
        if rng.random() < 0.35:
            edits.append(rng.choice(COSMETIC_EDITS))
        for edit in edits:
            res = edit(segs, rng)
            if res:
                segs, desc = res
                descs.append(desc)
        text, _ = render(segs)
        sim = shingle_jaccard(original, text)
        while sim > NEAR_DUP_MAX_JACCARD and len(descs) < 6:
            res = rng.choice(WORD_EDITS)(segs, rng)
            if res:
                segs, desc = res
                descs.append(desc)
                text, _ = render(segs)
                sim = shingle_jaccard(original, text)
        if descs and NEAR_DUP_MIN_JACCARD <= sim <= NEAR_DUP_MAX_JACCARD:
            return segs, "; ".join(descs), round(sim, 4)
    return None

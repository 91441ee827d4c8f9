"""Tokens and features for the PII token tagger (tagger.py); the same code serves training and use.

Tokens: runs of letters/digits, joined over an inner apostrophe or hyphen (``O'Brien``,
``Jean-Luc``, ``12-14``), except a possessive ``'s`` at a word's end, which is a token of its
own (``Juan's`` -> ``Juan`` ``'s``: the name keeps its gazetteer flags and its own label), and
every other non-space character alone. Offsets are Python ``str`` code points, end exclusive.

Features (strings ``name=value`` or bare flags, as crfsuite takes them). For each token:

* its own word features (:func:`word_features`): the lower-cased word (up to 24 characters),
  a short shape (``Xx``, ``d``, ``XdX`` ...), its first and last three letters, case flags,
  digit counts, a UK / Canadian postcode-part shape, and gazetteer flags from the recognizers'
  lists: first name, last name, a common word that is also a name, other common word, a
  blocker (month, street word, company word ...), a name particle, a title, a street type,
  or ``g0``: a word in none of the lists, with ``Tg0`` / ``Ug0`` when such a word is
  capitalised / in capitals (a name from elsewhere); its word clusters ``k128=N`` /
  ``k1024=N`` when it is in the bundled encoder's vocabulary (word_clusters.py: words of one
  kind share them, so a context word training never used still means something);
* the word, shape, case, gazetteer flags and clusters of the tokens just before and after it
  (``-1:``, ``+1:``), and the word, gazetteer flags and clusters of those two away (``-2:``, ``+2:``);
* layout: a line break before / after it, first token of a sentence, start / end of the text,
  and ``Tmid``: capitalised inside a sentence, after a space.

Word features are computed once per distinct word and kept in a bounded dict (texts repeat
words), so a text costs a few list concatenations per token. They are kept as UTF-8 bytes
(crfsuite encodes every ``str`` feature on every call; bytes go through as they are), and when
the cache knows the model's attributes it keeps only those (a feature the model has no weight
for changes nothing but costs a lookup): together about twice as fast to tag. Written by hand because the
tagger is a CRF over these exact strings: no feature library knows the gazetteers.
"""

from __future__ import annotations

import re
from functools import lru_cache

from datamoat.privacy.pii import word_clusters

TOKEN = re.compile(r"[^\W_]+(?:['’\-](?![sS]\b)[^\W_]+)*|['’][sS]\b|\S")
_UK_OUTWARD = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?")
_UK_INWARD = re.compile(r"\d[A-Z]{2}")
_CA_PART = re.compile(r"[A-Z]\d[A-Z]|\d[A-Z]\d")
_SENTENCE_END = frozenset(".!?:;")
_NEAR_KEYS = ("w=", "sh=", "T", "U", "L", "g", "P=", "k")
_FAR_KEYS = ("w=", "g", "P=", "k")
_CACHE_LIMIT = 200_000
_OFFSETS = (-2, -1, 1, 2)

Token = tuple[str, int, int]


def tokenize(text: str) -> list[Token]:
    """``[(token, start, end), ...]`` for ``text`` in order (see the module docstring)."""
    return [(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]


def shape(word: str) -> str:
    """Character classes with repeats collapsed: ``Baker`` -> ``Xx``, ``SW1A`` -> ``XdX``, ``12`` -> ``d``."""
    out: list[str] = []
    for ch in word:
        c = "X" if ch.isupper() else "x" if ch.isalpha() else "d" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, str]:
    """Casefolded word -> gazetteer flag string (several flags joined), from the recognizers' lists."""
    from datamoat.privacy.pii.recognizers.address import street_words
    from datamoat.privacy.pii.recognizers.names import MONTHS_DAYS, PARTICLES, TITLES, gazetteer

    g = gazetteer()
    flags: dict[str, list[str]] = {}

    def add(words, flag: str) -> None:
        for w in words:
            flags.setdefault(w.casefold(), []).append(flag)

    add(g.first, "gF")
    add(g.last, "gL")
    add(g.common, "gC")
    add(g.blockers - MONTHS_DAYS, "gB")
    add(MONTHS_DAYS, "gM")
    add(PARTICLES, "gP")
    add(TITLES, "gT")
    add(street_words(), "gS")
    return {k: " ".join(v) for k, v in flags.items()}


def word_features(word: str, gazetteer: bool = True) -> list[str]:
    """The features of one word on its own (see the module docstring); ``gazetteer=False``
    leaves out the gazetteer flags (training drops them from some texts so the model also
    learns names from context and shape)."""
    low = word.lower()
    feats = [f"w={low[:24]}", f"sh={shape(word)[:6]}"]
    if word[0].isalnum():
        if len(low) > 2:
            feats += [f"s3={low[-3:]}", f"p3={low[:3]}"]
        if word.istitle():
            feats.append("T")
        elif word.isupper():
            feats.append("U")
        elif word.islower():
            feats.append("L")
        digits = sum(ch.isdigit() for ch in word)
        if digits:
            feats.append(f"D={min(digits, 6)}" + ("a" if digits < len(word) else ""))
            if _UK_OUTWARD.fullmatch(word):
                feats.append("pcO")
            if _UK_INWARD.fullmatch(word):
                feats.append("pcI")
            if _CA_PART.fullmatch(word):
                feats.append("pcC")
    else:
        feats.append(f"P={word}")
    if gazetteer:
        flag = _lexicon().get(word.casefold())
        if flag:
            feats.extend(flag.split())
        elif word[0].isalpha():
            feats.append("g0")  # a word in none of the lists (a name from elsewhere, a rare word)
            if word.istitle() or word.isupper():
                # capitalised and in no list: a CRF weighs features one by one, so the pair is a
                # feature of its own (a name from elsewhere, read from shape and context)
                feats.append("Tg0" if word.istitle() else "Ug0")
    if word[0].isalpha():
        feats.extend(word_clusters.features().get(word_clusters.fold(word), ()))
    return feats


class FeatureCache:
    """Per-word feature lists (UTF-8 bytes) with the context prefixes already applied (bounded dict).

    gazetteer: whether to include the gazetteer flags.
    known: the model's attributes; features outside it are left out (None: keep all, as in training).
    """

    def __init__(self, gazetteer: bool = True, known: frozenset[bytes] | None = None) -> None:
        self.gazetteer = gazetteer
        self.known = known
        self._cache: dict[str, tuple[list[bytes], ...]] = {}

    def get(self, word: str) -> tuple[list[bytes], ...]:
        """(own features, features as seen from -2, -1, +1, +2 away)."""
        hit = self._cache.get(word)
        if hit is None:
            own = word_features(word, self.gazetteer)
            near = [f for f in own if f.startswith(_NEAR_KEYS)]
            far = [f for f in near if f.startswith(_FAR_KEYS)]
            lists = (own, *([f"{o:+d}:{f}" for f in (far if abs(o) == 2 else near)] for o in _OFFSETS))
            known = self.known
            hit = tuple([b for b in (f.encode() for f in fs) if known is None or b in known] for fs in lists)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[word] = hit
        return hit


_DEFAULT = FeatureCache()


def sequence_features(text: str, tokens: list[Token], cache: FeatureCache = _DEFAULT) -> list[list[bytes]]:
    """One feature list (UTF-8 bytes) per token of ``text`` (``tokens`` from :func:`tokenize`).

    Per token: its own word features; layout (``BOS`` / ``nl`` a line break before it /
    ``glued`` no space before it, ``sent0`` first of a sentence, ``nl+`` a line break after it,
    ``EOS``); the features of the tokens one and two before and after it, as seen from there.
    """
    n = len(tokens)
    get, cached = cache.get, cache._cache
    words = [cached.get(t[0]) or get(t[0]) for t in tokens]
    if "\n" in text:
        nl_after = ["\n" in text[tokens[i][2]:tokens[i + 1][1]] for i in range(n - 1)]
        nl_after.append(False)
    else:
        nl_after = [False] * n
    out: list[list[bytes]] = []
    for i in range(n):
        if i == 0:
            feats = [b"b", b"BOS", b"sent0", *words[0][0]]
        else:
            prev = tokens[i - 1]
            if nl_after[i - 1]:
                head = _HEAD_NL
            else:
                head = _HEADS[prev[0] in _SENTENCE_END][prev[2] == tokens[i][1]]
            feats = [*head, *words[i][0], *words[i - 1][2]]
            if len(head) == 1 and b"T" in words[i][0]:
                feats.append(b"Tmid")  # capitalised inside a sentence (capitals at its start say little)
            if i > 1:
                feats += words[i - 2][1]
        if i + 1 < n:
            if nl_after[i]:
                feats.append(b"nl+")
            feats += words[i + 1][3]
            if i + 2 < n:
                feats += words[i + 2][4]
        else:
            feats.append(b"EOS")
        out.append(feats)
    return out


_HEAD_NL = (b"b", b"nl", b"sent0")
_HEADS = (((b"b",), (b"b", b"glued")), ((b"b", b"sent0"), (b"b", b"sent0", b"glued")))
"""Layout features of a token after another on the same line: [sentence start][glued]."""

"""Regex helpers for speed: reversed tail patterns and trie-shaped literal alternations.

**Tail patterns.** 
Several recognizers ask whether the few dozen characters before a candidate end with a cue
(``my name is``, ``Dear``, ``born on``): ``pattern.search(window)`` with a pattern that ends in
``$``. ``re`` answers that by trying the pattern at every start position in the window, and
with a large case-insensitive alternation that costs microseconds per call.

:class:`TailPattern` answers the same question with one attempt: it derives (once, at import)
the *reversed* pattern and matches it at position 0 of the reversed window. A regular
language reversed is regular, and the translation is mechanical: sequences run backwards,
``^`` and ``$`` swap places, ``\\b`` stays ``\\b``, character classes, repeats and branches
keep their meaning. Only patterns ending in ``$`` or ``\\Z`` qualify (that is what makes one
attempt enough); lookarounds, back-references and multi-line anchors are not translated, and
such a pattern (or any translation error) falls back to the plain forward search, so results
never depend on the trick.

**Literal alternations.** ``re`` tries the alternatives of ``foo|far|bar`` one after another at
each position; :func:`literal_alternation` writes the same set of words as a trie
(``(?:f(?:oo|ar)|bar)``), which finds the same occurrences with far fewer attempts.
:func:`expand_literals` lists the words of a small finite pattern (``bd\\.?|c/``) for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

try:  # the parser behind ``re`` (public as ``sre_parse`` before Python 3.11)
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover - other Python implementations
    _c = _p = None  # type: ignore[assignment]

_FLAG_LETTERS = ((re.IGNORECASE, "i"), (re.DOTALL, "s"), (re.ASCII, "a"))


def literal_alternation(words: Iterable[str]) -> str:
    """A regex source matching exactly the given words (non-empty strings), as a trie.

    Where one word is a prefix of another, the longer one is tried first, like ``re`` does for
    an alternation sorted longest first; callers that only ask *whether* a word occurs do not
    depend on that.
    """
    trie: dict[str, dict] = {}
    for word in words:
        if not word:
            raise ValueError("empty word in a literal alternation")
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


def expand_literals(source: str, limit: int = 10_000) -> list[str]:
    """Every string the regex ``source`` matches, for a small finite pattern of literals.

    Supports literals, ``|``, groups, ``?`` and ``{m,n}`` with a small ``n`` and character
    sets of literals; :class:`Untranslatable` for anything else (classes like ``\\w``,
    unbounded repeats, anchors) or more than ``limit`` strings. Case flags are ignored: the
    strings are as written.
    """
    if _p is None:  # pragma: no cover
        raise Untranslatable("no regex parser")

    def seq(items: Any) -> list[str]:
        out = [""]
        for op, av in items:
            options = item(op, av)
            out = [a + b for a in out for b in options]
            if len(out) > limit:
                raise Untranslatable("too many strings")
        return out

    def item(op: Any, av: Any) -> list[str]:
        if op is _c.LITERAL:
            return [chr(av)]
        if op is _c.IN and all(o is _c.LITERAL for o, _a in av):
            return [chr(a) for _o, a in av]
        if op is _c.BRANCH:
            return [s for alt in av[1] for s in seq(alt)]
        if op is _c.SUBPATTERN:
            return seq(av[3])
        if op is _c.MAX_REPEAT and av[1] is not _c.MAXREPEAT and av[1] <= 8:
            lo, hi, sub = av
            once = seq(sub)
            out: list[str] = []
            for count in range(lo, hi + 1):
                strings = [""]
                for _ in range(count):
                    strings = [a + b for a in strings for b in once]
                out.extend(strings)
            return out
        raise Untranslatable(f"construct {op}")

    return list(dict.fromkeys(seq(_p.parse(source).data)))


class Untranslatable(ValueError):
    """The pattern uses a construct :func:`reverse_source` does not translate."""


def _char(code: int) -> str:
    return re.escape(chr(code))


def _class_item(op: Any, av: Any) -> str:
    if op is _c.LITERAL:
        return _char(av)  # re.escape also escapes ] ^ - \\
    if op is _c.RANGE:
        return f"{_char(av[0])}-{_char(av[1])}"
    if op is _c.CATEGORY:
        return _CATEGORIES[av]
    raise Untranslatable(f"class item {op}")


def _flags(add: int, remove: int) -> str:
    on = "".join(ch for flag, ch in _FLAG_LETTERS if add & flag)
    off = "".join(ch for flag, ch in _FLAG_LETTERS if remove & flag)
    if (add | remove) & ~(re.IGNORECASE | re.DOTALL | re.ASCII | re.UNICODE):
        raise Untranslatable("inline flags")
    return on + (f"-{off}" if off else "")


def _reverse_seq(items: Any) -> str:
    """The reversed pattern source for a parsed sequence (a SubPattern or its data list)."""
    return "".join(_reverse_item(op, av) for op, av in reversed(list(items)))


def _reverse_item(op: Any, av: Any) -> str:
    if op is _c.LITERAL:
        return _char(av)
    if op is _c.NOT_LITERAL:
        return f"[^{_class_item(_c.LITERAL, av)}]"
    if op is _c.ANY:
        return "."
    if op is _c.IN:
        negate = av and av[0][0] is _c.NEGATE
        items = av[1:] if negate else av
        return "[" + ("^" if negate else "") + "".join(_class_item(o, a) for o, a in items) + "]"
    if op is _c.CATEGORY:
        return _CATEGORIES[av]
    if op is _c.BRANCH:
        return "(?:" + "|".join(_reverse_seq(alt) for alt in av[1]) + ")"
    if op is _c.SUBPATTERN:
        _group, add, remove, sub = av
        flags = _flags(add, remove)
        return f"(?{flags}:{_reverse_seq(sub)})"
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        lo, hi, sub = av
        count = f"{{{lo},}}" if hi is _c.MAXREPEAT else f"{{{lo},{hi}}}"
        lazy = {_c.MAX_REPEAT: "", _c.MIN_REPEAT: "?", _c.POSSESSIVE_REPEAT: "+"}[op]
        return f"(?:{_reverse_seq(sub)}){count}{lazy}"
    if op is _c.AT:
        if av in _AT_REVERSED:
            return _AT_REVERSED[av]
        raise Untranslatable(f"anchor {av}")
    raise Untranslatable(f"construct {op}")


def reverse_source(pattern: re.Pattern[str], *, case_sensitive: bool = False) -> str:
    """Source of a pattern R with: ``pattern.search(s)`` finds a match iff ``R.match(s[::-1])`` does.

    ``pattern`` must end in ``$`` or ``\\Z`` (outside any group) and must not use MULTILINE,
    lookarounds or back-references; :class:`Untranslatable` otherwise. case_sensitive: leave
    out the IGNORECASE flag (for folded text, see :func:`_folds`).
    """
    if _p is None:  # pragma: no cover
        raise Untranslatable("no regex parser")
    if pattern.flags & re.MULTILINE:
        raise Untranslatable("MULTILINE")
    parsed = _p.parse(pattern.pattern, pattern.flags & ~re.UNICODE)
    data = list(parsed.data)
    if not data or data[-1][0] is not _c.AT or data[-1][1] not in (_c.AT_END, _c.AT_END_STRING):
        raise Untranslatable("pattern not anchored at the end")
    # ``$`` also matches before a final newline: in the reversed text, after a leading one
    head = "\\A\\n?" if data[-1][1] is _c.AT_END else "\\A"
    drop = re.VERBOSE | re.UNICODE | (re.IGNORECASE if case_sensitive else 0)
    flags = _flags(parsed.state.flags & ~drop, 0)
    return (f"(?{flags})" if flags else "") + head + _reverse_seq(data[:-1])


def _folds(pattern: re.Pattern[str]) -> bool:
    """True if ``pattern`` is case-insensitive and written in lower case (Latin letters only),
    so that without IGNORECASE it finds the same on :func:`~datamoat.privacy.pii.finding.folded`
    text as it does with IGNORECASE on the original."""
    if not pattern.flags & re.IGNORECASE or _p is None:
        return False

    def stable(code: int) -> bool:
        ch = chr(code)
        return ch.lower() == ch and (code < 0x250 or not ch.isalpha())

    def ok(items: Any) -> bool:
        for op, av in items:
            if op in (_c.LITERAL, _c.NOT_LITERAL) and not stable(av):
                return False
            if op is _c.RANGE and not all(stable(c) for c in range(av[0], av[1] + 1)):
                return False
            if op is _c.IN and not ok(av):
                return False
            if op is _c.BRANCH and not all(ok(alt) for alt in av[1]):
                return False
            if op is _c.SUBPATTERN and (av[1] or av[2] or not ok(av[3])):
                return False
            if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT) and not ok(av[2]):
                return False
        return True

    return ok(_p.parse(pattern.pattern, pattern.flags & ~re.UNICODE).data)


class TailPattern:
    """``pattern.search(text[start:end]) is not None``, in one match attempt.

    ``pattern`` must end in ``$`` (see :func:`reverse_source`); one that cannot be reversed is
    searched forwards as given. ``pattern`` stays available as ``.pattern``. ``foldable``: the
    pattern may also be asked about a window of folded (lower-cased) text, which is faster
    (see :meth:`match_reversed`).
    """

    __slots__ = ("pattern", "foldable", "_reversed", "_reversed_folded")

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self._reversed: re.Pattern[str] | None = None
        self._reversed_folded: re.Pattern[str] | None = None
        try:
            self._reversed = re.compile(reverse_source(pattern))
            if _folds(pattern):
                self._reversed_folded = re.compile(reverse_source(pattern, case_sensitive=True))
        except (Untranslatable, re.error):  # pragma: no cover - all current patterns translate
            self._reversed = self._reversed_folded = None
        self.foldable = self._reversed_folded is not None

    def ends(self, text: str, start: int, end: int) -> bool:
        """True if ``pattern`` matches somewhere in ``text[start:end]`` (so, at its end)."""
        return self.match_reversed(text[max(0, start) : end][::-1])

    def match_reversed(self, reversed_window: str, folded: bool = False) -> bool:
        """:meth:`ends` for a window already reversed (``text[start:end][::-1]``).

        folded: the window was cut from ``folded(text)`` rather than ``text``; only when
        :attr:`foldable`.
        """
        if folded:
            if self._reversed_folded is None:
                raise ValueError("this pattern cannot be asked about folded text")
            return self._reversed_folded.match(reversed_window) is not None
        if self._reversed is None:  # pragma: no cover
            return self.pattern.search(reversed_window[::-1]) is not None
        return self._reversed.match(reversed_window) is not None


if _c is not None:
    _CATEGORIES = {
        _c.CATEGORY_DIGIT: "\\d", _c.CATEGORY_NOT_DIGIT: "\\D", _c.CATEGORY_SPACE: "\\s",
        _c.CATEGORY_NOT_SPACE: "\\S", _c.CATEGORY_WORD: "\\w", _c.CATEGORY_NOT_WORD: "\\W",
    }
    # forward ``^`` / ``\A`` (start of the string) is the end of the reversed string, and back
    _AT_REVERSED = {
        _c.AT_BEGINNING: "\\Z", _c.AT_BEGINNING_STRING: "\\Z", _c.AT_END_STRING: "\\A",
        _c.AT_BOUNDARY: "\\b", _c.AT_NON_BOUNDARY: "\\B",
    }

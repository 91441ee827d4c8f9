"""``language``: which language each text is in (lingua, offline), and rows not in the expected one.

The detector is built once per process and set of languages (:func:`get_detector`, cached)
with lingua's preloaded models, restricted to :data:`DEFAULT_LANGUAGES` (configurable with
``languages``, ISO 639-1 codes): fewer candidate languages is faster and more accurate on
short texts, as long as the languages really present are among them. Only the first
``max_chars`` characters of each text are looked at (default 300), and texts are detected in
parallel by lingua's own thread pool: about 8k texts/s on 2 cores with the 7 default
languages (5k/s with 11), so 100k rows take ~13 s, plus ~1-3 s to load the models once.

Per row: ``language`` (ISO 639-1 code of the most likely language, null when the text has
fewer than ``min_letters`` letters or is null) and ``language_confidence`` (its
probability). ``is_issue`` when the detected language is not ``expected`` and its confidence
is at least ``min_confidence``; ``score`` is the probability of the expected language (null
for undetected rows, which are not judged).

Summary: ``languages`` (count per detected language, largest first), ``undetected``,
``expected``.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.quality.check import Check, CheckResult, issue_table, register_check, require_role

DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "it", "pt", "nl")
_LETTER = re.compile(r"[^\W\d_]")


def _language(code: str) -> Any:
    from lingua import IsoCode639_1, Language

    iso = getattr(IsoCode639_1, code.upper(), None)
    if iso is None:
        raise DatamoatError(f"unknown ISO 639-1 language code {code!r}.")
    return Language.from_iso_code_639_1(iso)


def check_languages(codes: Sequence[str], *, what: str = "languages") -> list[str]:
    """``codes`` as a list of lower-case ISO 639-1 codes lingua knows; DatamoatError otherwise."""
    if isinstance(codes, str) or not codes:
        raise DatamoatError(f"{what} must be a non-empty list of ISO 639-1 codes, got {codes!r}.")
    out = [str(c).lower() for c in codes]
    for code in out:
        _language(code)
    return out


@functools.lru_cache(maxsize=8)
def get_detector(languages: tuple[str, ...]) -> Any:
    """A lingua detector for ``languages`` (ISO 639-1 codes), built once per process."""
    from lingua import LanguageDetectorBuilder

    langs = [_language(c) for c in languages]
    if len(langs) == 1:
        raise DatamoatError("language detection needs at least 2 candidate languages.")
    return LanguageDetectorBuilder.from_languages(*langs).with_preloaded_language_models().build()


def detect_languages(
    texts: Sequence[str | None],
    *,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
    expected: str | None = None,
    max_chars: int = 300,
    min_letters: int = 10,
) -> tuple[list[str | None], list[float | None], list[float | None]]:
    """Detect the language of each text.

    Returns three lists aligned with ``texts``: the ISO 639-1 code of the most likely
    language, its probability, and the probability of ``expected`` (None when ``expected`` is
    None); all None for texts that are null or have fewer than ``min_letters`` letters
    within their first ``max_chars`` characters.
    """
    codes = tuple(sorted(set(languages) | ({expected} if expected else set())))
    detector = get_detector(codes)
    todo: list[int] = []
    heads: list[str] = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            continue
        head = text[:max_chars]
        if len(_LETTER.findall(head, 0, len(head))) >= min_letters:
            todo.append(i)
            heads.append(head)
    n = len(texts)
    found: list[str | None] = [None] * n
    conf: list[float | None] = [None] * n
    exp_conf: list[float | None] = [None] * n
    if not heads:
        return found, conf, exp_conf
    results = detector.compute_language_confidence_values_in_parallel(heads)
    for i, values in zip(todo, results, strict=True):
        if not values or values[0].value <= 0:
            continue
        found[i] = values[0].language.iso_code_639_1.name.lower()
        conf[i] = float(values[0].value)
        if expected is not None:
            exp_conf[i] = next(
                (float(v.value) for v in values if v.language.iso_code_639_1.name.lower() == expected), 0.0
            )
    return found, conf, exp_conf


@register_check
class LanguageCheck(Check):
    """Detect each text's language; flag texts confidently not in ``expected``.

    column: the text column; None means the ``text`` role column.
    expected: ISO 639-1 code of the language the data should be in.
    languages: candidate languages (``expected`` is always added).
    min_confidence: flag only when the detected other language has at least this probability.
    max_chars: detect on the first this many characters.
    min_letters: texts with fewer letters are not judged.
    """

    name = "language"
    max_rows = 20_000  # per-row cost: the profile samples larger data (see Check.max_rows)
    needs = ("text",)

    def __init__(
        self,
        *,
        column: str | None = None,
        expected: str = "en",
        languages: list[str] | tuple[str, ...] = DEFAULT_LANGUAGES,
        min_confidence: float = 0.7,
        max_chars: int = 300,
        min_letters: int = 10,
    ) -> None:
        self.expected = check_languages([expected], what="expected")[0]
        self.languages = check_languages(languages)
        if not 0 <= min_confidence <= 1:
            raise DatamoatError(
                f"check 'language': min_confidence must be between 0 and 1, got {min_confidence!r}."
            )
        for param, value in (("max_chars", max_chars), ("min_letters", min_letters)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DatamoatError(f"check 'language': {param} must be a whole number >= 1, got {value!r}.")
        self.column = column
        self.min_confidence = min_confidence
        self.max_chars = max_chars
        self.min_letters = min_letters

    def run(self, table: pa.Table, roles: ColumnRoles) -> CheckResult:
        """``language`` and ``language_confidence`` per row; the language mix in the summary."""
        column = self.column or require_role(self.name, roles, "text", table)
        found, conf, exp_conf = detect_languages(
            table.column(column).to_pylist(),
            languages=self.languages,
            expected=self.expected,
            max_chars=self.max_chars,
            min_letters=self.min_letters,
        )
        flagged = [
            lang is not None and lang != self.expected and (c or 0.0) >= self.min_confidence
            for lang, c in zip(found, conf, strict=True)
        ]
        mix = Counter(lang for lang in found if lang is not None)
        summary: dict[str, Any] = {
            "column": column,
            "expected": self.expected,
            "languages": dict(sorted(mix.items(), key=lambda kv: (-kv[1], kv[0]))),
            "undetected": sum(lang is None for lang in found),
        }
        issues = issue_table(
            table.column(ROW_ID_COLUMN),
            flagged,
            pa.array(exp_conf, pa.float64()),
            language=pa.array(found, pa.string()),
            language_confidence=pa.array(conf, pa.float64()),
        )
        return CheckResult(self.name, issues, summary)

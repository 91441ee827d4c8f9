"""Row filters: ``language_filter`` and ``min_words``.

``language_filter`` (row step)
    Detects each text's language with lingua (see :mod:`datamoat.quality.language`; the
    detector is built once per process, not pickled with the step) and drops rows whose
    detected language is not in ``allowed`` with probability at least ``min_confidence``;
    reason ``"language xx"`` (the ISO 639-1 code). Texts too short to tell (fewer than
    ``min_letters`` letters) and null texts are kept unless ``keep_undetected`` is false
    (reason ``"language unknown"``). A detected language below ``min_confidence`` is kept:
    the filter only drops what it is sure about. Stats column ``_dm_language`` (the detected
    code, null when undetected).
``min_words`` (row step)
    Drops texts with fewer than ``min_words`` words (runs of letters/digits); reason
    ``"fewer than N words"``. Stats column ``_dm_words`` (int64; null for a null text, which
    is kept: ``drop_missing`` handles those).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.pipeline.registry import register
from datamoat.pipeline.step import (
    Step,
    add_reasons,
    as_text,
    bad_param,
    check_bool,
    check_column_name,
    check_int,
    drop_where,
    require_text_column,
    set_column,
)
from datamoat.quality.language import DEFAULT_LANGUAGES, check_languages, detect_languages

LANGUAGE_COLUMN = "_dm_language"
WORDS_COLUMN = "_dm_words"
WORD_RE = r"[\p{L}\p{N}]+"


@register
class LanguageFilter(Step):
    """Drop rows whose text is confidently in a language not in ``allowed``.

    column: the text column; None means the ``text`` role column.
    allowed: ISO 639-1 codes to keep (default ``["en"]``).
    languages: the candidate languages for detection (``allowed`` is always added).
    min_confidence: drop only when the detected language has at least this probability.
    keep_undetected: keep texts whose language cannot be told (too short, null).
    max_chars, min_letters: see :func:`datamoat.quality.language.detect_languages`.
    """

    name = "language_filter"
    kind = "row"

    def __init__(
        self,
        *,
        column: str | None = None,
        allowed: list[str] | tuple[str, ...] = ("en",),
        languages: list[str] | tuple[str, ...] = DEFAULT_LANGUAGES,
        min_confidence: float = 0.7,
        keep_undetected: bool = True,
        max_chars: int = 300,
        min_letters: int = 10,
    ) -> None:
        self.column = check_column_name(self.name, "column", column)
        try:
            self.allowed = check_languages(allowed, what="allowed")
            self.languages = check_languages(languages)
        except DatamoatError as err:
            raise bad_param(self.name, "allowed/languages", str(err)) from err
        if (
            isinstance(min_confidence, bool)
            or not isinstance(min_confidence, int | float)
            or not 0 <= min_confidence <= 1
        ):
            raise bad_param(self.name, "min_confidence", f"must be between 0 and 1, got {min_confidence!r}")
        self.min_confidence = float(min_confidence)
        self.keep_undetected = check_bool(self.name, "keep_undetected", keep_undetected)
        self.max_chars = check_int(self.name, "max_chars", max_chars, minimum=1, optional=False)
        self.min_letters = check_int(self.name, "min_letters", min_letters, minimum=1, optional=False)
        self._resolved = ""

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the text column; StepError if absent or not text."""
        self._resolved = require_text_column(self.name, schema, self.column, roles)

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Add ``_dm_language``; mark rows in other languages with ``"language xx"``."""
        texts = as_text(batch.column(self._resolved)).to_pylist()
        if not texts:
            found, conf = [], []
        else:
            found, conf, _ = detect_languages(
                texts,
                languages=sorted(set(self.languages) | set(self.allowed)),
                max_chars=self.max_chars,
                min_letters=self.min_letters,
            )
        allowed = set(self.allowed)
        reasons: list[str | None] = []
        for lang, c in zip(found, conf, strict=True):
            if lang is None:
                reasons.append(None if self.keep_undetected else "language unknown")
            elif lang not in allowed and (c or 0.0) >= self.min_confidence:
                reasons.append(f"language {lang}")
            else:
                reasons.append(None)
        batch = set_column(batch, LANGUAGE_COLUMN, pa.array(found, pa.string()))
        return add_reasons(batch, pa.array(reasons, pa.string()))


@register
class MinWords(Step):
    """Drop texts with fewer than ``min_words`` words.

    column: the text column; None means the ``text`` role column.
    min_words: the least number of words (runs of letters or digits) a text must have.
    """

    name = "min_words"
    kind = "row"

    def __init__(self, *, column: str | None = None, min_words: int = 3) -> None:
        self.column = check_column_name(self.name, "column", column)
        self.min_words = check_int(self.name, "min_words", min_words, minimum=1, optional=False)
        self._resolved = ""

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the text column; StepError if absent or not text."""
        self._resolved = require_text_column(self.name, schema, self.column, roles)

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Add ``_dm_words``; mark texts with too few words."""
        words = pc.count_substring_regex(as_text(batch.column(self._resolved)), WORD_RE).cast(pa.int64())
        reasons = drop_where(pc.less(words, self.min_words), f"fewer than {self.min_words} words")
        return add_reasons(set_column(batch, WORDS_COLUMN, words), reasons)

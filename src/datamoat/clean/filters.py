"""Row filters: ``length_filter``, ``language_filter`` and ``min_words``.

``length_filter`` (row step)
    Drops texts shorter than ``min_chars`` or longer than ``max_chars`` characters (Unicode
    code points); reasons ``"shorter than N chars"`` / ``"longer than N chars"``. Stats column
    ``_dm_len`` (int64, null for a null text, which is kept).
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

from datamoat.errors import DatamoatError
from datamoat.pipeline.registry import register
from datamoat.pipeline.step import (
    add_reasons,
    as_text,
    bad_param,
    check_bool,
    check_int,
    drop_where,
    set_column,
)
from datamoat.pipeline.text_step import TextColumnStep
from datamoat.quality.language import DEFAULT_LANGUAGES, check_languages, detect_languages

LEN_COLUMN = "_dm_len"
LANGUAGE_COLUMN = "_dm_language"
WORDS_COLUMN = "_dm_words"
WORD_RE = r"[\p{L}\p{N}]+"


@register
class LengthFilter(TextColumnStep):
    """Drop texts outside a length range, in characters (Unicode code points).

    column: the text column; None means the ``text`` role column.
    min_chars: drop texts with fewer characters; None for no minimum.
    max_chars: drop texts with more characters; None for no maximum.
    Null texts are kept (``drop_missing`` handles them).
    """

    name = "length_filter"
    kind = "row"

    def __init__(
        self, *, column: str | None = None, min_chars: int | None = None, max_chars: int | None = None
    ) -> None:
        super().__init__(column=column)
        self.min_chars = check_int(self.name, "min_chars", min_chars)
        self.max_chars = check_int(self.name, "max_chars", max_chars)
        if self.min_chars is None and self.max_chars is None:
            raise bad_param(self.name, "min_chars", "or 'max_chars' must be given")
        if self.min_chars is not None and self.max_chars is not None and self.min_chars > self.max_chars:
            raise bad_param(
                self.name, "min_chars", f"({self.min_chars}) is larger than max_chars ({self.max_chars})"
            )

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Add ``_dm_len`` and mark too short / too long texts."""
        lengths = pc.utf8_length(as_text(batch.column(self._resolved))).cast(pa.int64())
        reasons = pa.nulls(batch.num_rows, pa.string())
        if self.min_chars is not None:
            reasons = drop_where(pc.less(lengths, self.min_chars), f"shorter than {self.min_chars} chars")
        if self.max_chars is not None:
            longer = drop_where(pc.greater(lengths, self.max_chars), f"longer than {self.max_chars} chars")
            reasons = pc.coalesce(reasons, longer)
        return add_reasons(set_column(batch, LEN_COLUMN, lengths), reasons)


@register
class LanguageFilter(TextColumnStep):
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
        super().__init__(column=column)
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
class MinWords(TextColumnStep):
    """Drop texts with fewer than ``min_words`` words.

    column: the text column; None means the ``text`` role column.
    min_words: the least number of words (runs of letters or digits) a text must have.
    """

    name = "min_words"
    kind = "row"

    def __init__(self, *, column: str | None = None, min_words: int = 3) -> None:
        super().__init__(column=column)
        self.min_words = check_int(self.name, "min_words", min_words, minimum=1, optional=False)

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Add ``_dm_words``; mark texts with too few words."""
        words = pc.count_substring_regex(as_text(batch.column(self._resolved)), WORD_RE).cast(pa.int64())
        reasons = drop_where(pc.less(words, self.min_words), f"fewer than {self.min_words} words")
        return add_reasons(set_column(batch, WORDS_COLUMN, words), reasons)

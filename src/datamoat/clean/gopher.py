"""Gopher-style document filters: ``repetition_filter`` and ``quality_filter`` (row steps).

Both compute their statistics with :func:`datamoat.quality.text_stats.text_stats` (the same
function the profile's ``text_quality`` check uses) and keep each as a stats column named
``_dm_<stat>`` (float64, null for a null text, which is kept), then drop a text that fails one
of their rules, with the first failed rule's reason (e.g. ``"duplicate lines over 30%"``).
Every threshold is a parameter named after its rule, defaulting to Gopher's published value
(but one, off by default); None turns the rule off (:data:`datamoat.quality.text_stats.RULES` lists them with their
definitions).

``repetition_filter``
    Duplicate lines (share of lines, share of their characters), the most frequent 2/3/4-gram,
    duplicated 5...10-grams: ``max_dup_line_share`` off (Gopher: 0.30; off by default for
    dialogue, see :mod:`datamoat.quality.text_stats`), ``max_dup_line_char_share`` 0.20,
    ``max_top_{2,3,4}gram_share`` 0.20/0.18/0.16, ``max_dup_{5..10}gram_share``
    0.15/0.14/0.13/0.12/0.11/0.10.
``quality_filter``
    Length and shape: ``min_words`` 50, ``max_words`` 100,000, ``min_mean_word_len`` 3,
    ``max_mean_word_len`` 10, ``max_symbol_word_ratio`` 0.1, ``max_bullet_line_share`` 0.9,
    ``max_ellipsis_line_share`` 0.3.

These rules were made for web documents of hundreds of words; on short texts (tweets, support
one-liners) the word-count rule drops nearly everything, so they belong in language-model
recipes (:mod:`datamoat.clean.lm_recipe`), not in the classifiers' default.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa

from datamoat.pipeline.registry import register
from datamoat.pipeline.step import STATS_PREFIX, add_reasons, as_text, bad_param, set_column
from datamoat.pipeline.text_step import TextColumnStep
from datamoat.quality.text_stats import (
    QUALITY_RULES,
    REPETITION_RULES,
    Rule,
    failed_rules,
    text_stats_columns,
)


class _RuleFilter(TextColumnStep):
    """A row step that adds the stats of its :attr:`rules` and drops on their thresholds."""

    rules: ClassVar[tuple[Rule, ...]]
    kind = "row"

    def _set_thresholds(self, values: dict[str, Any]) -> None:
        for rule in self.rules:
            value = values[rule.param]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
                raise bad_param(self.name, rule.param, f"must be a number of at least 0 or null, got {value!r}")
            if value is not None and "share" in rule.stat and value > 1:
                raise bad_param(self.name, rule.param, f"is a share and must be at most 1, got {value!r}")
            setattr(self, rule.param, value)

    def stats(self) -> list[str]:
        """The statistics this step adds as ``_dm_<stat>`` columns, in order (each once)."""
        return list(dict.fromkeys(r.stat for r in self.rules))

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Add the ``_dm_<stat>`` columns; mark texts that fail a rule with its reason."""
        texts = as_text(batch.column(self._resolved)).to_pylist()
        stats = self.stats()
        columns = text_stats_columns(texts, stats)
        reasons = failed_rules(columns, {r.param: getattr(self, r.param) for r in self.rules}, self.rules)
        for stat in stats:
            batch = set_column(batch, STATS_PREFIX + stat, pa.array(columns[stat], pa.float64()))
        return add_reasons(batch, pa.array(reasons, pa.string()))


@register
class RepetitionFilter(_RuleFilter):
    """Drop texts that repeat themselves (Gopher's repetition rules; see the module docstring).

    column: the text column; None means the ``text`` role column. The other parameters are
    thresholds (shares in [0, 1]; None turns the rule off).
    """

    name = "repetition_filter"
    rules = REPETITION_RULES

    def __init__(
        self,
        *,
        column: str | None = None,
        max_dup_line_share: float | None = None,
        max_dup_line_char_share: float | None = 0.20,
        max_top_2gram_share: float | None = 0.20,
        max_top_3gram_share: float | None = 0.18,
        max_top_4gram_share: float | None = 0.16,
        max_dup_5gram_share: float | None = 0.15,
        max_dup_6gram_share: float | None = 0.14,
        max_dup_7gram_share: float | None = 0.13,
        max_dup_8gram_share: float | None = 0.12,
        max_dup_9gram_share: float | None = 0.11,
        max_dup_10gram_share: float | None = 0.10,
    ) -> None:
        super().__init__(column=column)
        self._set_thresholds(locals())


@register
class QualityFilter(_RuleFilter):
    """Drop texts of the wrong length or shape (Gopher's quality rules; see the module docstring).

    column: the text column; None means the ``text`` role column. The other parameters are
    thresholds (None turns the rule off).
    """

    name = "quality_filter"
    rules = QUALITY_RULES

    def __init__(
        self,
        *,
        column: str | None = None,
        min_words: int | None = 50,
        max_words: int | None = 100_000,
        min_mean_word_len: float | None = 3,
        max_mean_word_len: float | None = 10,
        max_symbol_word_ratio: float | None = 0.1,
        max_bullet_line_share: float | None = 0.9,
        max_ellipsis_line_share: float | None = 0.3,
    ) -> None:
        super().__init__(column=column)
        self._set_thresholds(locals())

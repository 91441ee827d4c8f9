"""Gopher's document statistics on hand-made texts with known values, and the text_quality check
(which must give the same figures as the cleaning steps: one function)."""

from __future__ import annotations

import random

import pytest
from conftest import ROLES, table
from corpusgen import document

from datamoat.quality.text_stats import RULES, TEXT_STATS, failed_rules, text_stats, text_stats_columns


def test_duplicate_lines_and_top_bigram():
    s = text_stats("hello world\nhello world\n\n  foo bar baz  \n")
    assert s["dup_line_share"] == pytest.approx(1 / 3)
    assert s["dup_line_char_share"] == pytest.approx(11 / 33)
    assert s["word_count"] == 7 and s["mean_word_len"] == pytest.approx(29 / 7)
    assert s["top_2gram_share"] == pytest.approx(20 / 29)  # "hello world" twice, 10 letters each
    assert s["top_3gram_share"] == 0.0  # no 3-gram occurs twice
    assert s["dup_5gram_share"] == 0.0


def test_duplicated_ngrams_count_each_word_once():
    s = text_stats("one two three four five six one two three four five")
    assert s["dup_5gram_share"] == pytest.approx(38 / 41)  # every word but "six"
    assert s["dup_6gram_share"] == 0.0
    assert s["top_2gram_share"] == pytest.approx(12 / 41)
    assert s["top_3gram_share"] == pytest.approx(22 / 41)
    assert s["top_4gram_share"] == pytest.approx(30 / 41)


def test_symbols_bullets_and_ellipses():
    assert text_stats("# hash ... and … end")["symbol_word_ratio"] == pytest.approx(3 / 6)
    s = text_stats("• first item\n  - second item\nplain line...\nanother line…\nlast line")
    assert s["bullet_line_share"] == pytest.approx(2 / 5)
    assert s["ellipsis_line_share"] == pytest.approx(2 / 5)


def test_empty_text_is_all_zeros_and_null_stays_null():
    assert set(text_stats("").values()) == {0.0}
    cols = text_stats_columns(["a b", None])
    assert list(cols) == list(TEXT_STATS) and cols["word_count"] == [2.0, None]


def test_rules_give_the_first_failed_reason():
    cols = text_stats_columns(["a bb c", "word " * 60, None])
    reasons = failed_rules(cols, {})
    assert reasons[0] == "fewer than 50 words"
    assert reasons[1] == "top 2-gram over 20% of characters"  # "word word" repeated
    assert reasons[2] is None
    off = failed_rules(cols, {"min_words": None, "max_top_2gram_share": None, "max_top_3gram_share": None,
                              "max_top_4gram_share": None, **{f"max_dup_{n}gram_share": None for n in range(5, 11)}})
    assert off[0] == "mean word length under 3" and off[1] is None


def test_check_flags_the_same_rows_the_steps_drop_and_skips_short_texts():
    from conftest import run_step

    from datamoat.clean.gopher import QualityFilter, RepetitionFilter
    from datamoat.quality.text_quality import TextQuality

    rng = random.Random(5)
    good = document(rng)
    repeated = "\n".join(["buy our product now today"] * 30)
    texts = [good, repeated, "too short to judge", None]
    result = TextQuality().run(table(texts), ROLES)
    issues = result.issues.to_pydict()
    assert issues["is_issue"] == [False, True, False, False]
    assert issues["score"][2] is None and issues["score"][3] is None  # not judged
    assert result.summary["short_texts"] == 1 and result.summary["judged"] == 2
    from conftest import batch

    out = run_step(RepetitionFilter(), batch(texts))
    assert issues["reason"][1] == out.column("_dm_drop").to_pylist()[1] == "characters in duplicate lines over 20%"
    assert out.column("_dm_dup_line_char_share").to_pylist() == issues["dup_line_char_share"]
    assert run_step(QualityFilter(), batch(texts)).column("_dm_drop").to_pylist()[2] == "fewer than 50 words"


def test_rule_defaults_are_the_step_defaults():
    from datamoat.clean.gopher import QualityFilter, RepetitionFilter
    from datamoat.pipeline.step import param_defaults

    defaults = {**param_defaults(RepetitionFilter), **param_defaults(QualityFilter)}
    assert {r.param: r.default for r in RULES} == {k: v for k, v in defaults.items() if k != "column"}
    assert next(r for r in RULES if r.param == "max_dup_line_share").default is None  # off: see text_stats

"""The label-issue features and near-duplicate hashing read at most MAX_TEXT_CHARS characters."""

from __future__ import annotations

import pyarrow as pa

from datamoat.data.text_limits import MAX_TEXT_CHARS, truncate_array

TAIL = "zebrafishtailword"


def test_truncate_array_cuts_code_points_and_keeps_nulls_and_type() -> None:
    values = pa.array(["👍" * (MAX_TEXT_CHARS + 3), "short", None], pa.large_string())
    out = truncate_array(values)
    assert out.type == pa.large_string()
    assert out.to_pylist() == ["👍" * MAX_TEXT_CHARS, "short", None]


def test_text_features_never_sees_text_past_the_limit() -> None:
    from datamoat.quality.label_issues import text_features

    long = "refund please " * (MAX_TEXT_CHARS // 14 + 1) + TAIL
    with_tail = text_features([long, "card declined"])
    without = text_features([long[:MAX_TEXT_CHARS], "card declined"])
    assert with_tail.shape == without.shape and (with_tail != without).nnz == 0  # the cut is inside text_features: callers cannot forget it


def test_word_hashes_read_only_the_first_characters() -> None:
    from datamoat.quality.minhash import word_hashes

    long = "a " * (MAX_TEXT_CHARS // 2) + TAIL
    hashes, offsets = word_hashes([long, TAIL])
    assert offsets[1] - offsets[0] == MAX_TEXT_CHARS // 2  # the tail word is past the limit
    assert hashes[offsets[1]] not in set(hashes[: offsets[1]].tolist())

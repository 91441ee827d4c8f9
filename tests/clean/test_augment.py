"""Synthetic training rows: text word edits and SMOTE oversampling, with their provenance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

TEXTS = {
    "card": ["my card has not arrived yet", "the new card is blocked again", "card payment was declined today"],
    "refund": ["i want a refund for this order", "where is my refund money", "refund the double charge please"],
}


def text_frame() -> pd.DataFrame:
    rows = [(t, label) for label, texts in TEXTS.items() for t in texts] + [("", "card"), ("hello", None)]
    df = pd.DataFrame(rows, columns=["text", "intent"])
    df.index = pd.Index([f"r{i}" for i in range(len(df))], name="_dm_row_id")
    return df


def test_text_augmentation_makes_per_row_rows_with_provenance_deterministically():
    from datamoat.clean.augment import SYNTHETIC_COLUMN, SYNTHETIC_OF_COLUMN, augment_text

    df = text_frame()
    eda = ("swap", "delete", "insert")
    made = augment_text(df, text_column="text", label_column="intent", per_row=3, methods=eda, seed=7)
    rows = made.rows
    # 6 labelled non-blank rows x 3 (every text has several words, so every edit changes it)
    assert len(rows) == 18 and made.added == {"card": 9, "refund": 9}
    assert set(rows[SYNTHETIC_COLUMN]) == {"swap", "delete", "insert"}
    assert set(rows[SYNTHETIC_OF_COLUMN]) == {f"r{i}" for i in range(6)}  # never the blank or unlabelled row
    assert rows.index.is_unique and not set(rows.index) & set(df.index)
    for rid, row in rows.iterrows():
        source = df.loc[row[SYNTHETIC_OF_COLUMN]]
        assert row["intent"] == source["intent"] and row["text"] != source["text"]
        assert rid.startswith(f"{row[SYNTHETIC_OF_COLUMN]}+{row[SYNTHETIC_COLUMN]}:")
        if row[SYNTHETIC_COLUMN] == "insert":  # inserted words come from the same class's rows only
            vocab = {w for t in TEXTS[source["intent"]] for w in t.split()}
            assert set(row["text"].split()) <= vocab
    again = augment_text(df, text_column="text", label_column="intent", per_row=3, methods=eda, seed=7).rows
    pd.testing.assert_frame_equal(rows, again)
    other = augment_text(df, text_column="text", label_column="intent", per_row=3, methods=eda, seed=8).rows
    assert other["text"].tolist() != rows["text"].tolist()
    assert df.equals(text_frame())  # the real rows are not changed
    assert made.summary() == {"method": "swap+delete+insert", "rows_added": 18,
                              "added_per_class": {"card": 9, "refund": 9}}


def test_typo_changes_one_letter_inside_one_word_of_four_letters_or_more():
    from datamoat.clean.augment import SYNTHETIC_OF_COLUMN, augment_text

    df = text_frame()
    rows = augment_text(df, text_column="text", label_column="intent", per_row=3, methods=("typo",), seed=3).rows
    assert len(rows) == 18  # every text has a word of 4+ letters, so every slip changes it
    for _rid, row in rows.iterrows():
        before, after = df.loc[row[SYNTHETIC_OF_COLUMN], "text"].split(), row["text"].split()
        assert len(before) == len(after)  # alpha 0.1 of 4-7 words: one word changed
        [(old, new)] = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert len(old) >= 4 and new[0] == old[0] and abs(len(new) - len(old)) <= 1
        assert sorted(new) == sorted(old) or len(new) != len(old)  # a swap keeps the letters


def test_text_augmentation_rejects_bad_parameters():
    from datamoat.clean.augment import augment_text
    from datamoat.errors import DatamoatError

    with pytest.raises(DatamoatError, match="per_row"):
        augment_text(text_frame(), text_column="text", label_column="intent", per_row=0)
    with pytest.raises(DatamoatError, match="unknown method 'paraphrase'"):
        augment_text(text_frame(), text_column="text", label_column="intent", methods=("paraphrase",))
    with pytest.raises(DatamoatError, match="no column 'body'"):
        augment_text(text_frame(), text_column="body", label_column="intent")


def test_smote_brings_the_minority_classes_up_to_the_largest():
    from datamoat.clean.augment import SYNTHETIC_COLUMN, SYNTHETIC_OF_COLUMN
    from datamoat.clean.oversample import oversample_minority

    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "amount": np.concatenate([rng.normal(10, 1, 40), rng.normal(30, 1, 8), [50.0]]),
        "items": np.concatenate([rng.integers(1, 4, 40), rng.integers(7, 9, 8), [20]]),
        "channel": ["web"] * 40 + ["app"] * 4 + ["phone"] * 4 + ["web"],
        "label": ["ok"] * 40 + ["fraud"] * 8 + ["odd"],
    })
    df.index = pd.Index([f"r{i}" for i in range(len(df))], name="_dm_row_id")
    made = oversample_minority(df, label_column="label", seed=0)
    rows = made.rows
    assert made.added == {"fraud": 32}  # 8 -> 40, the majority's count
    assert "odd" in made.left_out  # one row: nothing to interpolate with
    assert (rows["label"] == "fraud").all() and (rows[SYNTHETIC_COLUMN] == "smote").all()
    sources = df.loc[rows[SYNTHETIC_OF_COLUMN]]
    assert (sources["label"] == "fraud").all()  # each names a real row of its own class
    assert rows["amount"].between(df["amount"][40:48].min(), df["amount"][40:48].max()).all()
    assert rows["items"].dtype == df["items"].dtype and set(rows["items"]) <= {7, 8}
    assert set(rows["channel"]) <= {"app", "phone"}  # categorical values the class holds
    again = oversample_minority(df, label_column="label", seed=0).rows
    pd.testing.assert_frame_equal(rows, again)

"""Features and models read at most MAX_TEXT_CHARS characters of each text."""

from __future__ import annotations

import pandas as pd

from datamoat.data.text_limits import MAX_TEXT_CHARS, truncate_texts

TAIL_WORD = "zebrafishtailword"


def huge(head: str) -> str:
    """A 1 MB text whose only occurrences of TAIL_WORD lie past the limit."""
    filler = (head + " ") * (MAX_TEXT_CHARS // (len(head) + 1) + 1)
    return (filler + (TAIL_WORD + " ") * 100_000)[: 1_000_000]


def test_truncate_texts_cuts_and_counts() -> None:
    texts, cut = truncate_texts(["short", "x" * (MAX_TEXT_CHARS + 5), "y" * MAX_TEXT_CHARS])
    assert cut == 1 and [len(t) for t in texts] == [5, MAX_TEXT_CHARS, MAX_TEXT_CHARS]
    same = ["a", "b"]
    assert truncate_texts(same) == (same, 0)


def test_tfidf_trainer_never_sees_text_past_the_limit() -> None:
    from datamoat.models.trainers.contract import create_trainer

    df = pd.DataFrame({"text": [huge("refund please"), "card declined again", huge("refund now"), "card blocked"] * 3,
                       "label": ["refund", "card"] * 6})
    trainer = create_trainer("tfidf-linear", text_column="text", label_column="label")
    trainer.fit(df)
    assert trainer.truncated_training_texts_ == 6
    words = dict(trainer.model_.named_steps["features"].transformer_list)["word"].vocabulary_
    assert "refund" in words and not any(TAIL_WORD in term for term in words)
    texts = trainer._texts(df, "prediction input")
    assert max(map(len, texts)) == MAX_TEXT_CHARS and all(TAIL_WORD not in t for t in texts)
    assert list(trainer.predict(df.head(2))) == ["refund", "card"]


def test_label_issue_finder_runs_on_megabyte_texts() -> None:
    from datamoat.quality.label_issues import out_of_fold_probabilities

    texts = [huge("refund please"), "card declined again", huge("refund now"), "card blocked"] * 3
    labels = ["refund", "card"] * 6
    probs, classes = out_of_fold_probabilities(texts, labels, folds=2)
    assert probs.shape == (12, 2) and sorted(classes) == ["card", "refund"]

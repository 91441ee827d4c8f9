"""How much of one text the features and models read: :data:`MAX_TEXT_CHARS`.

A CSV cell can hold megabytes; TF-IDF n-grams, the encoder's tokenizer, the label-issue finder
and MinHash signatures grow with the text, so one huge cell can take gigabytes. Each text is
cut to its first ``MAX_TEXT_CHARS`` characters (the rest is ignored) where it enters:

* a text trainer, at fit and predict (``TextTrainer._texts`` in
  :mod:`datamoat.models.trainers.text_trainer`, with :func:`truncate_texts`); training
  reports how many training texts were cut (``truncated_texts`` in the training report);
* the label-issue finder's features (:func:`datamoat.quality.label_issues.text_features`,
  with :func:`truncate_texts`; the count is only logged at debug level);
* near-duplicate hashing (:func:`datamoat.quality.minhash.word_hashes`, with
  :func:`truncate_array`: the ``near_duplicates`` and ``leakage`` checks and the
  ``near_dedup`` step; not counted).

The stored data is never cut: only what these read.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

MAX_TEXT_CHARS = 10_000
"""Characters of one text read by features and models (the encoders read far fewer tokens)."""


def truncate_texts(texts: list[str], limit: int = MAX_TEXT_CHARS) -> tuple[list[str], int]:
    """``texts`` with each cut to ``limit`` characters, and how many were cut."""
    cut = sum(1 for t in texts if len(t) > limit)
    if not cut:
        return texts, 0
    return [t[:limit] for t in texts], cut


def truncate_array(values: pa.Array, limit: int = MAX_TEXT_CHARS) -> pa.Array:
    """A string (or large_string) Arrow array with each text cut to its first ``limit``
    characters (code points, as :func:`truncate_texts`); nulls stay null."""
    return pc.utf8_slice_codeunits(values, 0, limit)

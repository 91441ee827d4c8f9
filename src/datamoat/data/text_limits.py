"""How much of one text the features and models read: :data:`MAX_TEXT_CHARS`.

A CSV cell can hold megabytes; TF-IDF n-grams, the encoder's tokenizer and the label-issue
finder grow with the text, so one huge cell can take gigabytes. Every text that enters a text
trainer (fit and predict) or the label-issue finder is cut to its first ``MAX_TEXT_CHARS``
characters; the rest is ignored, and the number of texts cut is reported.
"""

from __future__ import annotations

MAX_TEXT_CHARS = 10_000
"""Characters of one text read by features and models (the encoders read far fewer tokens)."""


def truncate_texts(texts: list[str], limit: int = MAX_TEXT_CHARS) -> tuple[list[str], int]:
    """``texts`` with each cut to ``limit`` characters, and how many were cut."""
    cut = sum(1 for t in texts if len(t) > limit)
    if not cut:
        return texts, 0
    return [t[:limit] for t in texts], cut

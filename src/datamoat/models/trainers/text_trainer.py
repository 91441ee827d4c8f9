"""Base class of trainers that read one text column (tfidf-linear, embed-linear, finetune)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from datamoat.data.text_limits import MAX_TEXT_CHARS, truncate_texts
from datamoat.errors import DatamoatError
from datamoat.models.trainers.contract import Trainer, require_columns

log = logging.getLogger(__name__)


class TextTrainer(Trainer):
    """A trainer whose features are the texts of ``self.text_column``.

    Prediction input may also be a plain string, list, tuple, Series or array of texts.
    """

    text_column: str

    def _texts(self, df: pd.DataFrame, what: str) -> list[str]:
        """The text column as a list of str (missing values become ""), each cut to
        :data:`~datamoat.data.text_limits.MAX_TEXT_CHARS` characters (the excess is ignored)."""
        return self._cut_texts(df, what)[0]

    def _cut_texts(self, df: pd.DataFrame, what: str) -> tuple[list[str], int]:
        """:meth:`_texts` and how many texts were cut."""
        require_columns(df, [self.text_column], what)
        texts, cut = truncate_texts(df[self.text_column].fillna("").astype(str).tolist())
        if cut:
            log.debug("%s: %d text(s) longer than %d characters were cut to that length", what, cut, MAX_TEXT_CHARS)
        return texts, cut

    def _training_texts(self, df: pd.DataFrame) -> list[str]:
        """The training texts (cut as in :meth:`_texts`; ``truncated_training_texts_`` counts
        the cut ones); DatamoatError when every one of them is empty."""
        texts, self.truncated_training_texts_ = self._cut_texts(df, "training data")
        if not any(t.strip() for t in texts):
            raise DatamoatError(
                f"text column {self.text_column!r} is empty in all {len(texts)} training rows; "
                "there is no text to learn from."
            )
        return texts

    def _as_input(self, X: Any) -> pd.DataFrame:
        if isinstance(X, str):
            X = [X]
        if isinstance(X, pd.Series | np.ndarray | list | tuple) and not (
            isinstance(X, list) and X and isinstance(X[0], dict)
        ):
            return pd.DataFrame({self.text_column: list(X)})
        return super()._as_input(X)

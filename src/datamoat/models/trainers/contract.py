"""The contract every trainer fulfils, and the registry of trainers.

A trainer is a scikit-learn style class: its hyper-parameters are keyword-only ``__init__``
arguments stored under the same names (no work, no validation beyond storing them in
``__init__``); :meth:`Trainer.fit` does the work and sets the fitted attributes (names ending
in ``_``). Trainers are plain classes in the :data:`TRAINERS` dict (``kind -> class``)::

    t = create_trainer("tfidf-linear", text_column="body", label_column="intent")
    t.fit(train_df, valid=valid_df)
    t.predict_proba(test_df)          # (n, len(t.classes_)), columns in t.classes_ order
    t.predict(test_df)                # array of label strings
    t.save(Path("models/m1"))
    t2 = Trainer.load(Path("models/m1"))

Labels are always handled as strings: ``classes_`` is the sorted list of distinct training
labels converted with ``str``. A saved trainer is a folder with ``trainer.json`` (kind,
params, classes, datamoat version, fitted JSON state) and ``model.joblib`` (the fitted
scikit-learn objects).

.. warning:: ``model.joblib`` is a pickle: loading it runs code chosen by whoever wrote the
   file. Only :meth:`Trainer.load` folders that datamoat itself wrote into a workspace you
   trust; never load a model folder received from someone else.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from datamoat.errors import DatamoatError, NotFoundError
from datamoat.plugins import Registry, keyword_params

META_FILE = "trainer.json"
MODEL_FILE = "model.joblib"
SYSTEM_PREFIX = "_dm_"


def as_frame(data: Any, what: str = "data") -> pd.DataFrame:
    """``data`` as a DataFrame: a DataFrame, a dict of columns, or a list of row dicts."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame(dict(data))
        except ValueError as exc:
            raise DatamoatError(f"{what}: the columns given as a dict are not a table ({exc}).") from exc
    if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
        return pd.DataFrame(data)
    raise DatamoatError(f"{what} must be a pandas DataFrame or a dict of columns, not {type(data).__name__}.")


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """DatamoatError naming the missing columns and the available ones."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        avail = ", ".join(repr(str(c)) for c in df.columns[:20])
        raise DatamoatError(f"{what}: column(s) {names} not found; available columns: {avail}.")


def expand_proba(proba: np.ndarray, fitted_codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities (n, n_classes) from a model fitted on class codes ``fitted_codes`` only.

    scikit-learn models know only the classes they saw; this puts their columns at the codes'
    positions (indices into ``classes_``) and zeros elsewhere.
    """
    out = np.zeros((len(proba), n_classes))
    out[:, np.asarray(fitted_codes).astype(int)] = proba
    return out


def label_strings(values: pd.Series, label_column: str, what: str) -> np.ndarray:
    """Labels as an object array of strings; DatamoatError if any label is missing."""
    missing = values.isna()
    if missing.any():
        raise DatamoatError(
            f"{what}: label column {label_column!r} has {int(missing.sum())} missing value(s) "
            f"out of {len(values)}; drop or label those rows before training."
        )
    return values.astype(str).to_numpy(dtype=object)


class Trainer(ABC):
    """Base class of trainers.

    Subclasses set :attr:`kind`, take their hyper-parameters as keyword-only ``__init__``
    arguments stored under the same names, and implement :meth:`_fit` and
    :meth:`_predict_proba`; JSON-ready fitted state goes through :meth:`_state` /
    :meth:`_set_state`, and scikit-learn objects live in ``self.model_`` (saved with joblib).
    """

    kind: ClassVar[str]
    label_column: str

    # ----------------------------------------------------------------- parameters
    @classmethod
    def param_names(cls) -> list[str]:
        """The hyper-parameter names (``__init__``'s keyword arguments)."""
        return keyword_params(cls)

    def params(self) -> dict[str, Any]:
        """The hyper-parameters, JSON-ready (read from same-named attributes)."""
        return {p: getattr(self, p) for p in self.param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    # ----------------------------------------------------------------- fitting
    def fit(self, train: Any, valid: Any = None) -> Trainer:
        """Fit on ``train`` (DataFrame or dict of columns with the features and the label).

        ``valid`` (same shape) is used by trainers that can (early stopping); for all of them
        its accuracy / log loss on the labels seen in training go to ``valid_metrics_``.
        """
        train_df = as_frame(train, "training data")
        if len(train_df) == 0:
            raise DatamoatError("training data has no rows.")
        require_columns(train_df, [self.label_column], "training data")
        y_str = label_strings(train_df[self.label_column], self.label_column, "training data")
        classes = sorted(set(y_str))
        if len(classes) < 2:
            only = f" (every row is {classes[0]!r})" if classes else ""
            raise DatamoatError(
                f"label column {self.label_column!r} has one class{only}; a classifier needs at "
                "least two classes."
            )
        self.classes_ = classes
        index = {c: i for i, c in enumerate(classes)}
        y = np.array([index[v] for v in y_str], dtype=np.int64)

        valid_df = y_valid = None
        if valid is not None:
            valid_df = as_frame(valid, "validation data")
            require_columns(valid_df, [self.label_column], "validation data")
            yv = label_strings(valid_df[self.label_column], self.label_column, "validation data")
            seen = np.array([v in index for v in yv], dtype=bool)
            valid_df = valid_df.loc[seen]
            y_valid = np.array([index[v] for v in yv[seen]], dtype=np.int64)
            if len(valid_df) == 0:
                valid_df = y_valid = None

        self._fit(train_df, y, valid_df, y_valid)
        self.valid_metrics_: dict[str, float] | None = None
        if valid_df is not None and y_valid is not None:
            proba = self.predict_proba(valid_df)
            p_true = np.clip(proba[np.arange(len(y_valid)), y_valid], 1e-15, 1.0)
            self.valid_metrics_ = {
                "rows": int(len(y_valid)),
                "accuracy": float(np.mean(proba.argmax(axis=1) == y_valid)),
                "log_loss": float(-np.mean(np.log(p_true))),
            }
        return self

    @abstractmethod
    def _fit(
        self, train: pd.DataFrame, y: np.ndarray, valid: pd.DataFrame | None, y_valid: np.ndarray | None
    ) -> None:
        """Fit ``self.model_``; ``y`` / ``y_valid`` are indices into ``self.classes_``."""

    @abstractmethod
    def _predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities (n, k) in ``self.classes_`` order for a prepared frame."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise DatamoatError(f"trainer {self.kind!r} is not fitted yet; call fit() or load() first.")

    # ----------------------------------------------------------------- prediction
    def _as_input(self, X: Any) -> pd.DataFrame:
        return as_frame(X, "prediction input")

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n, len(classes_))``, columns in ``classes_`` order."""
        self._check_fitted()
        df = self._as_input(X)
        if len(df) == 0:
            return np.zeros((0, len(self.classes_)), dtype=np.float64)
        proba = np.asarray(self._predict_proba(df), dtype=np.float64)
        if proba.shape != (len(df), len(self.classes_)):  # pragma: no cover - a trainer bug
            raise RuntimeError(f"{self.kind}: predict_proba returned shape {proba.shape}")
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (strings from ``classes_``), an object array of length n."""
        proba = self.predict_proba(X)
        return np.asarray(self.classes_, dtype=object)[proba.argmax(axis=1)]

    def unseen_labels(self, y: Any) -> set[str]:
        """Labels in ``y`` (values, or a table with the label column) not seen in training.

        Such labels are no error: predict never returns them and evaluation can count them.
        """
        self._check_fitted()
        if isinstance(y, pd.DataFrame | Mapping):
            df = as_frame(y, "labels")
            require_columns(df, [self.label_column], "labels")
            y = df[self.label_column]
        values = pd.Series(list(y) if not isinstance(y, pd.Series) else y)
        return set(values.dropna().astype(str)) - set(self.classes_)

    # ----------------------------------------------------------------- persistence
    def _state(self) -> dict[str, Any]:
        """JSON-ready fitted state besides ``classes_`` and ``model_``."""
        return {}

    def _set_state(self, state: dict[str, Any]) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Restore what :meth:`_state` returned (trainers without extra state keep this no-op)."""

    def _save_model(self, directory: Path) -> None:
        """Write the fitted model's files (default: ``self.model_`` into ``model.joblib``)."""
        import joblib

        joblib.dump(self.model_, directory / MODEL_FILE)

    def _load_model(self, directory: Path) -> None:
        """Read what :meth:`_save_model` wrote and set ``self.model_``."""
        import joblib

        model_path = directory / MODEL_FILE
        if not model_path.is_file():
            raise NotFoundError(f"{directory}: {MODEL_FILE} is missing; the saved trainer is incomplete.")
        self.model_ = joblib.load(model_path)

    def save(self, directory: Path) -> Path:
        """Write ``trainer.json`` and the model files into ``directory`` (created); return it."""
        import datamoat

        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._save_model(directory)
        meta = {
            "kind": self.kind,
            "params": self.params(),
            "classes": list(self.classes_),
            "datamoat_version": datamoat.__version__,
            "state": self._state(),
            "valid_metrics": getattr(self, "valid_metrics_", None),
        }
        (directory / META_FILE).write_text(
            json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        return directory

    @classmethod
    def load(cls, directory: Path) -> Trainer:
        """Load a folder written by :meth:`save`.

        Only load folders from a trusted workspace: ``model.joblib`` is a pickle and loading it
        can run arbitrary code.
        """
        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            raise NotFoundError(f"{directory}: no saved trainer here ({META_FILE} is missing).")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            lm_class = TRAINERS.lookup(str(meta["kind"])) if meta.get("language_model") else None
            kind, params = meta["kind"], meta["params"]
            classes = meta["classes"] if lm_class is None else []
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DatamoatError(f"{meta_path}: not a valid trainer description ({exc}).") from exc
        if lm_class is not None and cls is Trainer:  # a language model's folder (lm_contract.LMTrainer)
            return lm_class.load(directory)
        trainer = create_trainer(kind, **params)
        if cls is not Trainer and not isinstance(trainer, cls):
            raise DatamoatError(f"{directory}: holds a {kind!r} trainer, not a {cls.__name__}.")
        trainer.classes_ = [str(c) for c in classes]
        trainer._set_state(meta.get("state") or {})
        trainer.valid_metrics_ = meta.get("valid_metrics")
        trainer._load_model(directory)
        return trainer


# --------------------------------------------------------------------- registry
BUILTIN_TRAINER_MODULES: tuple[str, ...] = (
    "datamoat.models.trainers.tfidf_linear",
    "datamoat.models.trainers.tabular",
    "datamoat.models.trainers.embed_linear",
    "datamoat.models.trainers.ensemble",
    "datamoat.models.trainers.finetune",
    "datamoat.models.trainers.causal_lm",
    "datamoat.models.trainers.causal_lm_finetune",
)
"""Modules that register the built-in trainers (imported on first use of the registry)."""

TRAINERS = Registry("trainer", "kind", BUILTIN_TRAINER_MODULES)
"""Registered trainer classes by :attr:`Trainer.kind`."""

register_trainer = TRAINERS.register
load_builtin_trainers = TRAINERS.load_builtins


def create_trainer(kind: str, **params: Any) -> Any:
    """A new, unfitted trainer of ``kind`` (a :class:`Trainer`, or an
    :class:`~datamoat.models.trainers.lm_contract.LMTrainer` for the language-model kinds);
    DatamoatError for unknown kinds or parameters."""
    cls = TRAINERS.lookup(kind)
    if cls is None:
        raise DatamoatError(f"unknown trainer kind {kind!r}; known kinds: {', '.join(TRAINERS.known())}.")
    known = cls.param_names()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise DatamoatError(
            f"trainer {kind!r} has no parameter(s) {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(known)}."
        )
    return cls(**params)

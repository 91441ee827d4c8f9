"""Generalisation hierarchies for quasi-identifier columns.

A hierarchy has ``levels`` levels: level 0 is the value itself (as text), the top level is
``"*"`` (everything in one group), and the levels between group values ever more coarsely.
Every level is a *coarsening* of the one below it (two values grouped at level ``j`` stay
grouped at ``j + 1``), so raising a level never splits an equivalence class.

Numeric columns: :class:`IntervalHierarchy`
    ``width``: bins of width ``w, 2w, 4w, ...`` aligned at multiples of the width (nested, since
    a ``2w`` bin is two aligned ``w`` bins). Integer columns read ``"30-39"``, others
    ``"[30, 40)"``. The default width is a "nice" number (1, 2, 5 x 10^j) near range / 20.
    ``quantile``: ``2^J, 2^(J-1), ... 2`` bins with edges at the data's quantiles (nested,
    since the ``i / 2^j`` quantiles are among the ``i / 2^(j+1)`` ones); labels ``"21-27"``.
Other columns: :class:`MappingHierarchy`, one ``{value: label}`` dict per level, built from
    * a tree, child -> parent (``{"A91": "male", "A93": "male", "male": "person"}``),
    * each value's list of generalisations (``{"A91": ["male", "person"]}``),
    * ``levels``: a list of dicts, each mapping the previous level's labels on,
    * ``mask``: hide the last 1, 2, ... characters (``"02139" -> "0213*" -> "021**"``), the
      default for columns of equal-length digit strings such as postcodes,
    * ``frequency`` (the default for other text): values seen fewer than ``k``, ``2k``, ``4k``
      ... times are merged into ``"other"``.
Values a tree does not name go straight to ``"*"`` above level 0; missing values stay missing
at every level (they form their own group).

Information loss per value (normalised certainty penalty, NCP, in [0, 1]): an interval's
width over the column's range; for a mapped label, (distinct values under it - 1) / (distinct
values - 1); ``"*"`` costs 1 and level 0 costs 0.

Hierarchy specs, as written in recipes (``hierarchies: {column: spec}``)::

    age: {width: 10}                 # or {method: quantile, levels: 5} or {bins: [[...], ...]}
    postcode: {method: mask}
    city: {method: frequency}
    status: {A91: male, A93: male, A92: female, male: person, female: person}
    job: {levels: [{A171: unskilled, A172: unskilled, A173: skilled, A174: skilled}]}

A spec may also be the path of a YAML file holding one of these.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datamoat.errors import DatamoatError

TOP = "*"
OTHER = "other"
_OPTION_KEYS = {"method", "width", "bins", "levels", "mask", "max_levels"}


class Hierarchy(ABC):
    """Base class: ``levels`` levels (0 = the value, ``levels - 1`` = ``"*"``)."""

    column: str
    levels: int

    @abstractmethod
    def generalize(self, values: pd.Series, level: int) -> pd.Series:
        """The values at ``level`` as text (object dtype; missing values stay None)."""

    @abstractmethod
    def ncp(self, values: pd.Series, level: int) -> np.ndarray:
        """Information loss of each value at ``level``, in [0, 1] (0 for missing values)."""

    @abstractmethod
    def describe(self, level: int) -> str:
        """What ``level`` does, in a few words (``"bins of 10"``)."""

    def _check(self, level: int) -> None:
        if not 0 <= level < self.levels:
            raise DatamoatError(f"column {self.column!r}: level {level} is outside 0..{self.levels - 1}.")


def _level0_text(values: pd.Series, integer: bool) -> pd.Series:
    """Values as text (object dtype, None for missing); integral floats lose their ``.0``."""
    missing = values.isna().to_numpy()
    if integer:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        text = np.where(missing, 0, numbers).astype(np.int64).astype(str).astype(object)
    else:
        text = values.astype(str).to_numpy(dtype=object)
    text[missing] = None
    return pd.Series(text, index=values.index, dtype=object)


def _nice_width(span: float, target_bins: int = 20, integer: bool = False) -> float:
    """A width of the form 1, 2 or 5 x 10^j near ``span / target_bins`` (>= 1 for integers)."""
    raw = span / target_bins if span > 0 else 1.0
    exp = math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        width = mult * 10.0**exp
        if width >= raw:
            break
    return max(width, 1.0) if integer else width


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


class IntervalHierarchy(Hierarchy):
    """Nested ranges for a numeric column (see the module docstring).

    spec per middle level: ``("width", w)`` or ``("edges", [e0, e1, ...])``.
    lo / hi: the column's observed range (for the NCP). integer: integer labels (``"30-39"``).
    """

    def __init__(
        self, column: str, specs: list[tuple[str, Any]], lo: float, hi: float, integer: bool
    ) -> None:
        self.column = column
        self.specs = specs
        self.lo, self.hi, self.integer = float(lo), float(hi), bool(integer)
        self.levels = len(specs) + 2

    @classmethod
    def from_values(
        cls, column: str, values: pd.Series, spec: Mapping[str, Any] | None = None
    ) -> IntervalHierarchy:
        """Build from the data and a spec (``width``, ``method: quantile``, ``bins``)."""
        spec = dict(spec or {})
        numbers = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
        lo, hi = (float(numbers.min()), float(numbers.max())) if len(numbers) else (0.0, 0.0)
        integer = bool(len(numbers) and np.all(np.mod(numbers, 1) == 0))
        span = hi - lo
        max_levels = int(spec.get("max_levels", 12))
        specs: list[tuple[str, Any]] = []
        method = spec.get("method", "bins" if "bins" in spec else "width")
        if method == "width":
            width = float(spec.get("width") or _nice_width(span, integer=integer))
            if width <= 0:
                raise DatamoatError(f"hierarchy of {column!r}: width must be positive, got {width}.")
            while len(specs) < max_levels:
                specs.append(("width", width))
                if math.floor(lo / width) == math.floor(hi / width):  # one bin covers everything
                    specs.pop()
                    break
                width *= 2
        elif method == "quantile":
            depth = int(spec.get("levels", 5))
            for j in range(depth, 0, -1):
                qs = np.linspace(0, 1, 2**j + 1)
                edges = np.unique(np.quantile(numbers, qs)) if len(numbers) else np.zeros(0)
                if len(edges) > 2 and (not specs or len(edges) < len(specs[-1][1])):
                    specs.append(("edges", [float(e) for e in edges]))
        elif method == "bins":
            for edges in spec.get("bins") or []:
                specs.append(("edges", sorted(float(e) for e in edges)))
        else:
            raise DatamoatError(
                f"hierarchy of {column!r}: unknown method {method!r} for a numeric column "
                "(width, quantile, bins)."
            )
        return cls(column, specs, lo, hi, integer)

    def _bins(self, numbers: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) bound of each value's bin at a middle ``level`` (upper exclusive for widths)."""
        kind, arg = self.specs[level - 1]
        if kind == "width":
            lower = np.floor(numbers / arg) * arg
            return lower, lower + arg
        edges = np.asarray(arg, dtype=float)
        # bin i is [edges[i], edges[i+1]) and the last one closed; values outside go to the ends
        idx = np.clip(np.searchsorted(edges, numbers, side="right") - 1, 0, len(edges) - 2)
        return edges[idx], edges[idx + 1]

    def generalize(self, values: pd.Series, level: int) -> pd.Series:
        self._check(level)
        if level == 0:
            return _level0_text(values, self.integer)
        missing = values.isna().to_numpy()
        if level == self.levels - 1:
            return pd.Series(np.where(missing, None, TOP), index=values.index, dtype=object)
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        lower, upper = self._bins(np.where(missing, self.lo, numbers), level)
        uniq, first, inverse = np.unique(lower, return_index=True, return_inverse=True)
        label = self._label_fn(self.specs[level - 1][0])
        names = np.array(
            [label((a, b)) for a, b in zip(uniq, upper[first], strict=True)] + [None], dtype=object
        )
        labels = names[np.where(missing, len(uniq), inverse.reshape(-1))]
        return pd.Series(labels, index=values.index, dtype=object)

    def _label_fn(self, kind: str):  # type: ignore[no-untyped-def]
        cache: dict[tuple[float, float], str] = {}

        def label(pair: tuple[float, float]) -> str:
            if pair not in cache:
                a, b = pair
                if kind == "width" and self.integer:
                    cache[pair] = _fmt(a) if b - a <= 1 else f"{_fmt(a)}-{_fmt(b - 1)}"
                elif kind == "width":
                    cache[pair] = f"[{_fmt(a)}, {_fmt(b)})"
                else:
                    cache[pair] = f"{_fmt(a)}-{_fmt(b)}"
            return cache[pair]

        return label

    def ncp(self, values: pd.Series, level: int) -> np.ndarray:
        self._check(level)
        missing = values.isna().to_numpy()
        if level == 0:
            return np.zeros(len(values))
        if level == self.levels - 1 or self.hi <= self.lo:
            return np.where(missing, 0.0, 1.0 if level else 0.0)
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        lower, upper = self._bins(np.where(missing, self.lo, numbers), level)
        kind = self.specs[level - 1][0]
        width = upper - lower - (1 if (kind == "width" and self.integer) else 0)
        return np.where(missing, 0.0, np.clip(width / (self.hi - self.lo), 0.0, 1.0))

    def describe(self, level: int) -> str:
        self._check(level)
        if level == 0:
            return "values"
        if level == self.levels - 1:
            return "suppressed (*)"
        kind, arg = self.specs[level - 1]
        return f"bins of {_fmt(arg)}" if kind == "width" else f"{len(arg) - 1} quantile bins"


class MappingHierarchy(Hierarchy):
    """Levels as ``{value: label}`` dicts over the observed values (level 0 and the top implied).

    maps: one dict per middle level, mapping each observed value (as text) to its label.
    names: a short description of each middle level.
    """

    def __init__(self, column: str, maps: list[dict[str, str]], names: list[str] | None = None) -> None:
        self.column = column
        self.maps = maps
        self.names = names or [f"level {i + 1}" for i in range(len(maps))]
        self.levels = len(maps) + 2

    @classmethod
    def from_values(cls, column: str, values: pd.Series, spec: Any = None, k: int = 2) -> MappingHierarchy:
        """Build from the data and a spec (tree, ancestor lists, ``levels``, ``mask``, ``frequency``)."""
        text = _level0_text(values, integer=_integral(values))
        observed = sorted(set(text.dropna()))
        method = spec.get("method") if isinstance(spec, Mapping) else None
        if isinstance(spec, Mapping) and spec.get("mask"):
            method = "mask"
        if spec is None or method is not None:
            method = method or ("mask" if _looks_like_code(observed) else "frequency")
            if method == "mask":
                return cls._mask(column, observed)
            if method == "frequency":
                return cls._frequency(column, text, observed, k)
            raise DatamoatError(f"hierarchy of {column!r}: unknown method {method!r} (mask, frequency).")
        if isinstance(spec, Mapping) and isinstance(spec.get("levels"), list):
            chains = {v: [] for v in observed}
            for depth, mapping in enumerate(spec["levels"] or []):
                if not isinstance(mapping, Mapping):
                    raise DatamoatError(
                        f"hierarchy of {column!r}: levels[{depth}] must map values to labels."
                    )
                for v, chain in chains.items():
                    current = chain[-1] if chain else v
                    chain.append(None if current is None else _opt_str(mapping.get(current)))
            return cls._from_chains(column, chains)
        if isinstance(spec, Mapping):
            chains = {}
            for v in observed:
                entry = spec.get(v, _lookup_loose(spec, v))
                if isinstance(entry, list | tuple):
                    chains[v] = [str(x) for x in entry]
                else:
                    chain, seen, node = [], {v}, entry
                    while node is not None:
                        node = str(node)
                        if node in seen:
                            raise DatamoatError(f"hierarchy of {column!r}: {node!r} is its own ancestor.")
                        seen.add(node)
                        chain.append(node)
                        node = spec.get(node)
                    chains[v] = chain
            return cls._from_chains(column, chains)
        raise DatamoatError(f"hierarchy of {column!r}: expected a mapping, got {type(spec).__name__}.")

    @classmethod
    def _from_chains(cls, column: str, chains: dict[str, list[str | None]]) -> MappingHierarchy:
        """Levels from each value's ancestors; a value with fewer ancestors keeps its last one."""
        depth = max((len(c) for c in chains.values()), default=0)
        maps: list[dict[str, str]] = []
        for level in range(depth):
            mapping = {}
            for v, chain in chains.items():
                label = chain[min(level, len(chain) - 1)] if chain else None
                mapping[v] = TOP if label is None else label
            if any(lab != TOP for lab in mapping.values()):
                maps.append(mapping)
        return cls(column, _nested(maps), [f"tree level {i + 1}" for i in range(len(maps))])

    @classmethod
    def _mask(cls, column: str, observed: list[str]) -> MappingHierarchy:
        width = max((len(v) for v in observed), default=0)
        maps = []
        for hidden in range(1, width):
            maps.append({v: (v[: max(len(v) - hidden, 0)] + "*" * min(hidden, len(v))) for v in observed})
        return cls(column, maps, [f"last {h} chars masked" for h in range(1, width)])

    @classmethod
    def _frequency(cls, column: str, text: pd.Series, observed: list[str], k: int) -> MappingHierarchy:
        counts = text.value_counts()
        maps, names, threshold = [], [], max(int(k), 2)
        other = OTHER if OTHER not in counts.index else OTHER + "*"
        previous = 0
        while True:
            rare = set(counts.index[counts < threshold])
            if len(rare) >= len(observed):  # everything merged: that is "*"
                break
            if len(rare) > previous and len(rare) > 1:
                maps.append({v: other if v in rare else v for v in observed})
                names.append(f"values seen < {threshold} times -> {other}")
                previous = len(rare)
            threshold *= 2
        return cls(column, maps, names)

    def generalize(self, values: pd.Series, level: int) -> pd.Series:
        self._check(level)
        text = _level0_text(values, integer=_integral(values))
        if level == 0:
            return text
        if level == self.levels - 1:
            return pd.Series(np.where(text.isna(), None, TOP), index=values.index, dtype=object)
        out = text.map(self.maps[level - 1]).astype(object)
        out[text.notna() & out.isna()] = TOP
        out[text.isna()] = None
        return out

    def ncp(self, values: pd.Series, level: int) -> np.ndarray:
        self._check(level)
        missing = values.isna().to_numpy()
        if level == 0:
            return np.zeros(len(values))
        labels = self.generalize(values, level)
        total = max(len(self.maps[0]) if self.maps else 0, values.dropna().nunique())
        if level == self.levels - 1 or total <= 1:
            return np.where(missing, 0.0, 1.0 if total > 1 else 0.0)
        under = pd.Series(self.maps[level - 1]).value_counts()
        cost = labels.map(lambda lab: 1.0 if lab == TOP else (under.get(lab, 1) - 1) / (total - 1))
        return np.where(missing, 0.0, cost.to_numpy(dtype=float, na_value=0.0))

    def describe(self, level: int) -> str:
        self._check(level)
        if level == 0:
            return "values"
        if level == self.levels - 1:
            return "suppressed (*)"
        return self.names[level - 1]


def _nested(maps: list[dict[str, str]]) -> list[dict[str, str]]:
    """Drop levels that do not coarsen the one below (so every level strictly coarsens)."""
    out: list[dict[str, str]] = []
    for mapping in maps:
        if out:
            groups_before = len(set(out[-1].values()))
            if len(set(mapping.values())) >= groups_before:
                continue
        elif len(set(mapping.values())) >= len(mapping):
            continue
        out.append(mapping)
    return out


def _integral(values: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return False
    numbers = values.dropna().to_numpy(dtype=float)
    return bool(np.all(np.mod(numbers, 1) == 0))


def _looks_like_code(observed: list[str]) -> bool:
    """Equal-length digit strings of 3+ characters (postcodes, area codes)."""
    return (
        bool(observed)
        and len({len(v) for v in observed}) == 1
        and len(observed[0]) >= 3
        and all(v.isdigit() for v in observed)
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _lookup_loose(spec: Mapping[Any, Any], value: str) -> Any:
    """YAML turns ``1: a`` into an int key; look such keys up by their text."""
    for key, entry in spec.items():
        if not isinstance(key, str) and str(key) == value:
            return entry
    return None


def load_spec(spec: Any, column: str) -> Any:
    """A spec as given, or the YAML file it names."""
    if isinstance(spec, str | Path):
        import yaml

        path = Path(spec).expanduser()
        if not path.is_file():
            raise DatamoatError(f"hierarchy of {column!r}: no file {path}.")
        try:
            return yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise DatamoatError(f"hierarchy of {column!r}: {path} is not valid YAML ({err}).") from err
    return spec


def build_hierarchy(column: str, values: pd.Series, spec: Any = None, *, k: int = 2) -> Hierarchy:
    """The hierarchy for one QI column from its values and an optional spec (module docstring).

    k: the target k (the ``frequency`` default merges values seen fewer than k, 2k ... times).
    """
    spec = load_spec(spec, column)
    numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
    is_options = isinstance(spec, Mapping) and set(map(str, spec)) <= _OPTION_KEYS
    wants_interval = (
        is_options
        and spec.get("method") in (None, "width", "quantile", "bins")
        and not spec.get("mask")
        and not isinstance(spec.get("levels"), list)
    )
    if numeric and (spec is None or wants_interval):
        return IntervalHierarchy.from_values(column, values, spec)
    if spec is not None and not isinstance(spec, Mapping):
        raise DatamoatError(f"hierarchy of {column!r}: expected a mapping or a YAML file, got {spec!r}.")
    if is_options and spec.get("method") in ("width", "quantile", "bins"):
        raise DatamoatError(f"hierarchy of {column!r}: method {spec['method']!r} needs a numeric column.")
    return MappingHierarchy.from_values(column, values, spec, k=k)

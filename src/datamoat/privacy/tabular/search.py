"""Choose generalisation levels and rows to suppress: the search behind ``k_anonymize``.

1. Each quasi-identifier (QI) gets a hierarchy (:mod:`~datamoat.privacy.tabular.generalize`):
   level 0 is the value, the top level ``"*"``. A *node* of the lattice is one level per QI.
2. A node is evaluated on integer codes (numpy only): its equivalence classes, and the rows of
   classes that break the privacy model (size < k; fewer than ``l`` distinct (or
   entropy-``l``) sensitive values; a sensitive distribution farther than ``t`` (EMD) from the
   table's). Those rows would be *suppressed*; the node is *feasible* when they are at most
   ``max_suppression`` of the rows.
3. Loss of a node = the average normalised certainty penalty (NCP) over all cells of the QI
   columns, a suppressed row costing 1 per QI (as if fully generalised). Ties are broken by
   the discernibility metric. NCP is chosen over DM for the search because it sees *how much*
   each value was coarsened, not just how big the classes are.
4. Search (``search="auto"``):
   * **full lattice** when the lattice has at most ``max_nodes`` nodes (default 4,096) and
     nodes x rows stays under 2*10^8: every node is evaluated and the feasible node with the
     least loss wins (optimal for this loss);
   * otherwise **greedy bottom-up**: from the all-zero node, repeatedly raise the one QI whose
     next level costs the least loss per suppression-row saved (``delta NCP / delta rows to
     suppress``; if no step saves any, the cheapest step), until feasible; then a
     **top-down refinement** lowers any QI whose lowering keeps the node feasible and lowers
     the loss, until none does.
5. t-closeness is checked during the search against the distribution of the whole input;
   suppression shifts the released table's distribution a little, so classes that fail
   against the released rows are suppressed too (a few rounds, within the suppression
   budget); a remaining gap is reported in :attr:`Plan.warnings`.

:func:`plan_anonymization` returns a :class:`Plan`; :func:`generalize_frame` applies its
levels. Applying a plan to a table or a pipeline is :mod:`~datamoat.privacy.tabular.anonymize`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from datamoat.errors import DatamoatError
from datamoat.privacy.tabular.generalize import Hierarchy, build_hierarchy
from datamoat.privacy.tabular.measure import (
    class_closeness,
    class_diversity,
    combine_codes,
    discernibility,
    require_columns,
    value_codes,
)

MAX_NODES = 4096
MAX_FULL_WORK = 200_000_000
L_KINDS = ("distinct", "entropy")


@dataclass(frozen=True)
class _Node:
    levels: tuple[int, ...]
    feasible: bool
    to_suppress: int
    loss: float
    dm: int


class _Searcher:
    """Evaluates lattice nodes on precomputed integer codes (see the module docstring)."""

    def __init__(
        self,
        df: pd.DataFrame,
        qi: list[str],
        sensitive: list[str],
        hierarchies: dict[str, Hierarchy],
        k: int,
        l: int | None,  # noqa: E741
        l_kind: str,
        t: float | None,
        max_suppression: float,
    ) -> None:
        self.n = len(df)
        self.qi, self.k, self.l, self.l_kind, self.t = qi, k, l, l_kind, t
        self.allowed = math.floor(max_suppression * self.n + 1e-9)
        self.max_levels = [hierarchies[c].levels - 1 for c in qi]
        self.codes: list[list[np.ndarray]] = []
        self.ncp: list[list[np.ndarray]] = []
        for column in qi:
            h = hierarchies[column]
            values = df[column]
            self.codes.append([_codes(h.generalize(values, lv)) for lv in range(h.levels)])
            self.ncp.append([h.ncp(values, lv) for lv in range(h.levels)])
        self.sensitive = [value_codes(df[c]) for c in sensitive] if (l or t is not None) else []
        self.global_q = [np.bincount(codes, minlength=m) / max(self.n, 1) for codes, m, _ in self.sensitive]
        self.cache: dict[tuple[int, ...], _Node] = {}

    def bad_rows(self, levels: Sequence[int]) -> tuple[np.ndarray, np.ndarray, int]:
        """(bool mask of rows to suppress, class ids, number of classes) at ``levels``."""
        ids, g = combine_codes([self.codes[i][lv] for i, lv in enumerate(levels)])
        sizes = np.bincount(ids, minlength=g)
        bad = sizes < self.k
        for (codes, m, ordered), q in zip(self.sensitive, self.global_q, strict=True):
            if self.l:
                distinct, entropy = class_diversity(ids, g, codes, m)
                bad |= (distinct < self.l) if self.l_kind == "distinct" else (entropy < self.l - 1e-9)
            if self.t is not None:
                bad |= class_closeness(ids, g, codes, m, ordered, q) > self.t + 1e-12
        return bad[ids], ids, g

    def evaluate(self, levels: tuple[int, ...]) -> _Node:
        if levels in self.cache:
            return self.cache[levels]
        mask, ids, g = self.bad_rows(levels)
        to_suppress = int(mask.sum())
        kept = ~mask
        cells = sum(float(self.ncp[i][lv] @ kept) for i, lv in enumerate(levels))
        loss = (cells + to_suppress * len(levels)) / max(self.n * len(levels), 1)
        sizes = np.bincount(ids[kept], minlength=g)
        node = _Node(
            levels,
            to_suppress <= self.allowed,
            to_suppress,
            loss,
            discernibility(sizes[sizes > 0], to_suppress, self.n),
        )
        self.cache[levels] = node
        return node

    def lattice_size(self) -> int:
        return math.prod(m + 1 for m in self.max_levels)

    def full(self) -> _Node | None:
        best: _Node | None = None
        for levels in itertools.product(*(range(m + 1) for m in self.max_levels)):
            node = self.evaluate(tuple(levels))
            if node.feasible and (best is None or (node.loss, node.dm) < (best.loss, best.dm)):
                best = node
        return best

    def greedy(self) -> _Node | None:
        node = self.evaluate(tuple(0 for _ in self.qi))
        while not node.feasible:
            candidates = []
            for i, top in enumerate(self.max_levels):
                if node.levels[i] < top:
                    up = tuple(lv + (j == i) for j, lv in enumerate(node.levels))
                    candidates.append(self.evaluate(up))
            if not candidates:
                return None
            node = min(candidates, key=lambda c, at=node: _greedy_score(at, c))
        improved = True
        while improved:  # top-down refinement
            improved = False
            for i in range(len(self.qi)):
                if node.levels[i] == 0:
                    continue
                down = self.evaluate(tuple(lv - (j == i) for j, lv in enumerate(node.levels)))
                if down.feasible and (down.loss, down.dm) < (node.loss, node.dm):
                    node, improved = down, True
        return node


def _greedy_score(at: _Node, step: _Node) -> tuple[int, float, float]:
    """Order of greedy steps: least loss per suppression-row saved; steps that save none last."""
    gained = at.to_suppress - step.to_suppress
    cost = max(step.loss - at.loss, 0.0)
    return (0, cost / gained, step.loss) if gained > 0 else (1, cost, step.loss)


def _codes(labels: pd.Series) -> np.ndarray:
    codes, _ = pd.factorize(labels, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False)


@dataclass
class Plan:
    """A fitted anonymisation: the hierarchies, the chosen levels and the rows to suppress."""

    hierarchies: dict[str, Hierarchy]
    levels: dict[str, int]
    suppress: np.ndarray
    ncp: float
    search: str
    nodes_evaluated: int
    warnings: list[str]

    def level_names(self) -> dict[str, str]:
        """What each chosen level means per QI (``{"age": "bins of 10"}``)."""
        return {c: self.hierarchies[c].describe(lv) for c, lv in self.levels.items()}


def plan_anonymization(
    df: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: Sequence[str] = (),
    *,
    k: int = 5,
    l: int | None = None,  # noqa: E741
    t: float | None = None,
    max_suppression: float = 0.05,
    hierarchies: Mapping[str, Any] | None = None,
    l_kind: str = "distinct",
    search: str = "auto",
    max_nodes: int = MAX_NODES,
) -> Plan:
    """Choose generalisation levels and rows to suppress for ``df`` (see the module docstring).

    Raises DatamoatError for bad arguments, or when no node meets the targets within
    ``max_suppression``.
    """
    qi, sens = list(quasi_identifiers), list(sensitive)
    _check_args(df, qi, sens, k, l, t, max_suppression, l_kind, search)
    specs = dict(hierarchies or {})
    unknown = [c for c in specs if c not in qi]
    if unknown:
        raise DatamoatError(
            f"a hierarchy is given for {unknown[0]!r}, which is not a quasi-identifier ({', '.join(qi)})."
        )
    built = {c: build_hierarchy(c, df[c], specs.get(c), k=k) for c in qi}
    if len(df) == 0:
        return Plan(built, {c: 0 for c in qi}, np.zeros(0, bool), 0.0, "none", 0, [])
    searcher = _Searcher(df, qi, sens, built, k, l, l_kind, t, max_suppression)
    size = searcher.lattice_size()
    use_full = search == "full" or (
        search == "auto" and size <= max_nodes and size * len(df) <= MAX_FULL_WORK
    )
    best = searcher.full() if use_full else searcher.greedy()
    if best is None:
        top = searcher.evaluate(tuple(searcher.max_levels))
        raise DatamoatError(_infeasible(k, l, t, max_suppression, top.to_suppress, len(df)))
    mask, _, _ = searcher.bad_rows(best.levels)
    warnings: list[str] = []
    if t is not None and sens:
        mask = _settle_closeness(df, searcher, best.levels, mask, t, warnings)
    return Plan(
        built,
        dict(zip(qi, best.levels, strict=True)),
        mask,
        best.loss,
        "full" if use_full else "greedy",
        len(searcher.cache),
        warnings,
    )


def _settle_closeness(
    df: pd.DataFrame,
    searcher: _Searcher,
    levels: tuple[int, ...],
    mask: np.ndarray,
    t: float,
    warnings: list[str],
) -> np.ndarray:
    """Also suppress classes that fail t against the *released* distribution (a few rounds)."""
    ids, g = combine_codes([searcher.codes[i][lv] for i, lv in enumerate(levels)])
    for _ in range(10):
        kept = ~mask
        bad = np.zeros(g, bool)
        for codes, m, ordered in searcher.sensitive:
            q = np.bincount(codes[kept], minlength=m) / max(int(kept.sum()), 1)
            sub_ids, sub_g = pd.factorize(ids[kept])
            emd = class_closeness(sub_ids.astype(np.int64), len(sub_g), codes[kept], m, ordered, q)
            bad[np.asarray(sub_g)[emd > t + 1e-12]] = True
        if not bad.any():
            return mask
        more = mask | bad[ids]
        if int(more.sum()) > searcher.allowed:
            warnings.append(
                f"t-closeness {t} holds against the input's distribution; against the released rows' "
                "distribution some classes exceed it and suppressing them would pass max_suppression."
            )
            return mask
        mask = more
    return mask


def _infeasible(k: int, l: int | None, t: float | None, share: float, top_rows: int, n: int) -> str:  # noqa: E741
    target = f"k={k}" + (f", l={l}" if l else "") + (f", t={t}" if t is not None else "")
    return (
        f"cannot reach {target} with at most {share:.0%} of the rows suppressed: even fully generalised, "
        f"{top_rows} of {n} rows would have to be suppressed; raise max_suppression or lower the targets."
    )


def _check_args(
    df: pd.DataFrame,
    qi: list[str],
    sens: list[str],
    k: int,
    l: int | None,  # noqa: E741
    t: float | None,
    max_suppression: float,
    l_kind: str,
    search: str,
) -> None:
    require_columns(df, qi, sens, "anonymisation")
    overlap = set(qi) & set(sens)
    if overlap:
        raise DatamoatError(f"column {sorted(overlap)[0]!r} cannot be both a quasi-identifier and sensitive.")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise DatamoatError(f"k must be a whole number >= 1, got {k!r}.")
    if l is not None and (isinstance(l, bool) or not isinstance(l, int) or l < 1):
        raise DatamoatError(f"l must be a whole number >= 1, got {l!r}.")
    if (l or t is not None) and not sens:
        raise DatamoatError("l-diversity and t-closeness need at least one sensitive column.")
    if t is not None and not (0 <= float(t) <= 1):
        raise DatamoatError(f"t must lie in [0, 1], got {t!r}.")
    if not (0 <= float(max_suppression) < 1):
        raise DatamoatError(f"max_suppression must lie in [0, 1), got {max_suppression!r}.")
    if l_kind not in L_KINDS:
        raise DatamoatError(f"l_kind must be one of {', '.join(L_KINDS)}, got {l_kind!r}.")
    if search not in ("auto", "full", "greedy"):
        raise DatamoatError(f"search must be auto, full or greedy, got {search!r}.")


def generalize_frame(df: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """``df`` with each QI column replaced by its text at the plan's level (no rows dropped)."""
    out = df.copy()
    for column, level in plan.levels.items():
        out[column] = plan.hierarchies[column].generalize(df[column], level)
    return out

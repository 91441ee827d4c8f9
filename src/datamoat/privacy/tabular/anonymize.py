"""Reach k-anonymity (and optionally l-diversity and t-closeness) by generalising and suppressing.

How it works
------------
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
5. The chosen node is applied: QI values become their generalised text (``"30-39"``) and the
   rows of violating classes are suppressed (dropped). The result is measured again with
   :func:`~datamoat.privacy.tabular.measure.measure`. t-closeness is checked during the search
   against the distribution of the whole input; suppression shifts the released table's
   distribution a little, so classes that fail against the released table are suppressed too
   (a few rounds, within the suppression budget); any remaining gap shows in the metrics and
   in ``warnings``.

The global pipeline step ``k_anonymize`` does the same: :meth:`KAnonymize.fit` reads the QI and
sensitive columns and the row ids of the whole input and runs the search;
:meth:`KAnonymize.apply` generalises each batch and gives suppressed rows the reason
``"suppressed for k-anonymity"`` (they land in the version's exclusions). QI columns become
text columns in the output at every level (level 0 is the value as text), so the output
schema does not depend on the data.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError, StepError
from datamoat.pipeline.registry import register
from datamoat.pipeline.step import (
    Step,
    add_reasons,
    bad_param,
    check_column_list,
    check_int,
    drop_where,
    set_column,
)
from datamoat.privacy.tabular.generalize import Hierarchy, build_hierarchy
from datamoat.privacy.tabular.measure import (
    AnonymityMetrics,
    class_closeness,
    class_diversity,
    combine_codes,
    discernibility,
    measure,
    value_codes,
)

SUPPRESSED_REASON = "suppressed for k-anonymity"
MAX_NODES = 4096
MAX_FULL_WORK = 200_000_000
L_KINDS = ("distinct", "entropy")


@dataclass
class AnonymizationResult:
    """What :func:`anonymize_table` produced.

    table: the released rows (suppressed ones removed), QIs generalised to text.
    suppressed_index: index labels of the suppressed rows of the input.
    metrics: the released table measured again (k, l, t, classes, DM, C_avg).
    levels: chosen level per QI; level_names: what each level means (``"bins of 10"``).
    ncp: average normalised certainty penalty over the QI cells (suppressed rows count 1).
    search: ``"full"`` or ``"greedy"``; nodes_evaluated: lattice nodes looked at.
    warnings: targets that the released table misses (only possible for t).
    """

    table: pd.DataFrame
    suppressed_index: pd.Index
    metrics: AnonymityMetrics
    levels: dict[str, int]
    level_names: dict[str, str]
    ncp: float
    search: str
    nodes_evaluated: int
    hierarchies: dict[str, Hierarchy] = field(repr=False, default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def suppressed(self) -> int:
        """Number of suppressed rows."""
        return len(self.suppressed_index)

    @property
    def loss(self) -> dict[str, Any]:
        """Information loss: NCP, discernibility, C_avg, suppressed rows and share."""
        total = len(self.table) + self.suppressed
        return {
            "ncp": self.ncp,
            "discernibility": self.metrics.discernibility,
            "c_avg": self.metrics.c_avg,
            "suppressed": self.suppressed,
            "suppressed_share": self.suppressed / total if total else 0.0,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the table)."""
        return {
            "metrics": self.metrics.to_dict(),
            "levels": dict(self.levels),
            "level_names": dict(self.level_names),
            "loss": self.loss,
            "search": self.search,
            "nodes_evaluated": self.nodes_evaluated,
            "warnings": list(self.warnings),
        }


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
    if not qi:
        raise DatamoatError("anonymisation needs at least one quasi-identifier column.")
    missing = [c for c in qi + sens if c not in df.columns]
    if missing:
        raise DatamoatError(
            f"no column {missing[0]!r} in the table; the columns are: {', '.join(map(str, df.columns))}."
        )
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


def anonymize_table(
    df: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: Sequence[str] = (),
    k: int = 5,
    l: int | None = None,  # noqa: E741
    t: float | None = None,
    max_suppression: float = 0.05,
    hierarchies: Mapping[str, Any] | None = None,
    *,
    l_kind: str = "distinct",
    search: str = "auto",
    max_nodes: int = MAX_NODES,
) -> AnonymizationResult:
    """Generalise and suppress ``df`` until it is k-anonymous (and l-diverse, t-close).

    quasi_identifiers / sensitive: column names. k, l, t: the targets (l and t optional;
    ``l_kind`` "distinct" or "entropy"). max_suppression: the largest share of rows that may be
    dropped. hierarchies: ``{column: spec}`` (see :mod:`~datamoat.privacy.tabular.generalize`);
    columns without one get the default for their type. search: "auto", "full" or "greedy".
    Raises DatamoatError when the targets cannot be met.
    """
    plan = plan_anonymization(
        df,
        quasi_identifiers,
        sensitive,
        k=k,
        l=l,
        t=t,
        max_suppression=max_suppression,
        hierarchies=hierarchies,
        l_kind=l_kind,
        search=search,
        max_nodes=max_nodes,
    )
    generalized = generalize_frame(df, plan)
    table = generalized[~plan.suppress]
    suppressed_index = df.index[plan.suppress]
    metrics = measure(table, list(quasi_identifiers), list(sensitive), k=k, suppressed=len(suppressed_index))
    warnings = list(plan.warnings)
    if t is not None and metrics.t_max is not None and metrics.t_max > t + 1e-9 and not warnings:
        warnings.append(f"the released table's t is {metrics.t_max:.4f}, above the target {t}.")
    return AnonymizationResult(
        table=table,
        suppressed_index=suppressed_index,
        metrics=metrics,
        levels=dict(plan.levels),
        level_names={c: plan.hierarchies[c].describe(lv) for c, lv in plan.levels.items()},
        ncp=plan.ncp,
        search=plan.search,
        nodes_evaluated=plan.nodes_evaluated,
        hierarchies=plan.hierarchies,
        warnings=warnings,
    )


# --- the pipeline step -----------------------------------------------------------------------


@register
class KAnonymize(Step):
    """Generalise quasi-identifiers and suppress rows until the data is k-anonymous (global step).

    k: the smallest equivalence class size to reach.
    l: optional l-diversity of each sensitive column (``l_kind``: distinct or entropy).
    t: optional t-closeness (EMD) of each sensitive column.
    max_suppression: the largest share of rows that may be suppressed (default 0.05).
    hierarchies: ``{column: spec}``, see :mod:`datamoat.privacy.tabular.generalize`.
    quasi_identifiers / sensitive: columns; None means the dataset's ``quasi_identifier`` /
        ``sensitive`` roles.
    QI columns become text in the output; suppressed rows get the reason
    ``"suppressed for k-anonymity"``. After :meth:`fit`, :attr:`stats` holds the achieved k, l,
    t, the levels and the loss (JSON-ready). Memory: fit holds the QI and sensitive columns and
    the row ids of the whole input as one DataFrame.
    """

    name = "k_anonymize"
    kind = "global"

    def __init__(
        self,
        *,
        k: int = 5,
        l: int | None = None,  # noqa: E741
        t: float | None = None,
        max_suppression: float = 0.05,
        hierarchies: dict[str, Any] | None = None,
        quasi_identifiers: list[str] | None = None,
        sensitive: list[str] | None = None,
        l_kind: str = "distinct",
    ) -> None:
        self.k = check_int(self.name, "k", k, minimum=1, optional=False)
        self.l = check_int(self.name, "l", l, minimum=1)
        if t is not None and (isinstance(t, bool) or not isinstance(t, int | float) or not 0 <= t <= 1):
            raise bad_param(self.name, "t", f"must be a number in [0, 1], got {t!r}")
        self.t = t
        if (
            isinstance(max_suppression, bool)
            or not isinstance(max_suppression, int | float)
            or not (0 <= max_suppression < 1)
        ):
            raise bad_param(
                self.name, "max_suppression", f"must be a share in [0, 1), got {max_suppression!r}"
            )
        self.max_suppression = max_suppression
        if hierarchies is not None and not isinstance(hierarchies, dict):
            raise bad_param(
                self.name, "hierarchies", f"must map column names to hierarchies, got {hierarchies!r}"
            )
        self.hierarchies = hierarchies
        self.quasi_identifiers = check_column_list(self.name, "quasi_identifiers", quasi_identifiers)
        self.sensitive = check_column_list(self.name, "sensitive", sensitive)
        if l_kind not in L_KINDS:
            raise bad_param(self.name, "l_kind", f"must be one of {', '.join(L_KINDS)}, got {l_kind!r}")
        self.l_kind = l_kind
        self._qi: list[str] = []
        self._sens: list[str] = []
        self._plan: Plan | None = None
        self._suppressed_ids = pa.array([], pa.string())
        self.stats: dict[str, Any] = {}

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the QI and sensitive columns; StepError if absent or no row ids."""
        self._qi = self.quasi_identifiers or roles.columns("quasi_identifier")
        self._sens = self.sensitive if self.sensitive is not None else roles.columns("sensitive")
        if not self._qi:
            raise StepError(
                f"step {self.name!r}: no quasi_identifiers given and the dataset has no quasi_identifier role."
            )
        for column in self._qi + self._sens:
            if column not in schema.names:
                shown = ", ".join(n for n in schema.names if not n.startswith("_dm_"))
                raise StepError(
                    f"step {self.name!r}: no column {column!r} in the data; the columns are: {shown}."
                )
        if (self.l or self.t is not None) and not self._sens:
            raise StepError(f"step {self.name!r}: l and t need sensitive columns (parameter or role).")
        if ROW_ID_COLUMN not in schema.names:
            raise StepError(f"step {self.name!r} needs the {ROW_ID_COLUMN} column to mark suppressed rows.")
        for column in self.hierarchies or {}:
            if column not in self._qi:
                raise bad_param(
                    self.name, "hierarchies", f"names {column!r}, which is not a quasi-identifier"
                )

    def fit(self, batches: Iterable[pa.RecordBatch]) -> None:
        """Read the QI/sensitive columns of the whole input and choose levels and suppressions."""
        columns = [ROW_ID_COLUMN, *self._qi, *self._sens]
        parts = [b.select(columns) for b in batches]
        if not parts or sum(p.num_rows for p in parts) == 0:
            self._plan = None
            self._suppressed_ids = pa.array([], pa.string())
            return
        df = pa.Table.from_batches(parts).to_pandas()
        try:
            plan = plan_anonymization(
                df,
                self._qi,
                self._sens,
                k=self.k,
                l=self.l,
                t=self.t,
                max_suppression=self.max_suppression,
                hierarchies=self.hierarchies,
                l_kind=self.l_kind,
            )
        except DatamoatError as err:
            raise StepError(f"step {self.name!r}: {err}") from err
        self._plan = plan
        self._suppressed_ids = pa.array(df[ROW_ID_COLUMN][plan.suppress].astype(str).tolist(), pa.string())
        released = generalize_frame(df[~plan.suppress], plan)
        metrics = measure(released, self._qi, self._sens, k=self.k, suppressed=int(plan.suppress.sum()))
        self.stats = {
            "k": metrics.k,
            "l_distinct": metrics.l_distinct,
            "l_entropy": metrics.l_entropy,
            "t": metrics.t,
            "classes": metrics.classes,
            "levels": dict(plan.levels),
            "level_names": {c: plan.hierarchies[c].describe(lv) for c, lv in plan.levels.items()},
            "ncp": plan.ncp,
            "discernibility": metrics.discernibility,
            "c_avg": metrics.c_avg,
            "suppressed": int(plan.suppress.sum()),
            "search": plan.search,
            "warnings": plan.warnings,
        }
        # the plan's row mask is only needed for the ids above; drop it so the step stays small
        plan.suppress = np.zeros(0, bool)

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """QI columns as generalised text; suppressed rows marked ``"suppressed for k-anonymity"``."""
        for column in self._qi:
            values = batch.column(column).to_pandas()
            if self._plan is None:
                text = values.map(lambda v: None if pd.isna(v) else str(v)) if len(values) else values
            else:
                text = self._plan.hierarchies[column].generalize(values, self._plan.levels[column])
            batch = set_column(batch, column, pa.array(list(text), pa.string()))
        if len(self._suppressed_ids):
            suppressed = pc.is_in(
                batch.column(ROW_ID_COLUMN).cast(pa.string()), value_set=self._suppressed_ids
            )
        else:
            suppressed = pa.array(np.zeros(batch.num_rows, bool))
        return add_reasons(batch, drop_where(suppressed, SUPPRESSED_REASON))

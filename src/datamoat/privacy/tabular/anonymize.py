"""Reach k-anonymity (and optionally l-diversity and t-closeness) by generalising and suppressing.

:func:`~datamoat.privacy.tabular.search.plan_anonymization` chooses one generalisation level
per quasi-identifier (QI) and the rows to suppress (see :mod:`~datamoat.privacy.tabular.search`
for the lattice search and its loss). This module applies the plan:

* :func:`anonymize_table`: QI values become their generalised text (``"30-39"``) and the rows
  of violating classes are suppressed (dropped). The result is measured again with
  :func:`~datamoat.privacy.tabular.measure.measure`; a t the released table misses shows in
  the metrics and in ``warnings``.
* The global pipeline step ``k_anonymize`` does the same: :meth:`KAnonymize.fit` reads the QI
  and sensitive columns and the row ids of the whole input and runs the search;
  :meth:`KAnonymize.apply` generalises each batch and gives suppressed rows the reason
  ``"suppressed for k-anonymity"`` (they land in the version's exclusions). QI columns become
  text columns in the output at every level (level 0 is the value as text), so the output
  schema does not depend on the data.
"""

from __future__ import annotations

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
from datamoat.privacy.tabular.generalize import Hierarchy
from datamoat.privacy.tabular.measure import AnonymityMetrics, measure
from datamoat.privacy.tabular.search import (
    L_KINDS,
    MAX_NODES,
    Plan,
    generalize_frame,
    plan_anonymization,
)

SUPPRESSED_REASON = "suppressed for k-anonymity"


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
        level_names=plan.level_names(),
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
            "level_names": plan.level_names(),
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

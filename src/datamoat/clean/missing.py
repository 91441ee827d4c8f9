"""Missing values: ``drop_missing`` removes incomplete rows, ``impute_missing`` fills them.

``drop_missing`` (row step)
    Drop rows where any of ``columns`` is missing (null, NaN, or, for text, empty or only
    whitespace when ``blank_is_missing``). Reason ``"missing <col>"`` for the first such column.

``impute_missing`` (global step)
    Fill missing values of one column (rows are kept, values change). It is a global step
    because the ``most_frequent`` strategy needs the mode of the whole column before the first
    batch is filled (with ``strategy: constant`` fit does nothing, but the executor still cuts
    the recipe there and spools the input to a scratch file).

For ``impute_missing`` a value is missing when it is null, a float NaN, or (strings, with
``blank_is_missing``) empty or whitespace-only. ``strategy``:

* ``constant``: fill with ``value`` (required; cast to the column's type, StepError at bind
  if it cannot be, or if the column is typed null, i.e. held only nulls at ingest);
* ``most_frequent``: fill with the most frequent non-missing value (ties: the value seen
  first); with no value present at all, nothing is filled.

Stats column ``_dm_imputed_<column>`` (bool): true where the value was filled. Filled rows
keep their ``_dm_row_id``, so a version diff shows them as changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ColumnRoles
from datamoat.errors import StepError
from datamoat.pipeline.registry import register
from datamoat.pipeline.step import (
    Step,
    add_reasons,
    bad_param,
    check_bool,
    check_column_list,
    check_column_name,
    drop_where,
    require_column,
    set_column,
)
from datamoat.quality.missing import missing_mask

STRATEGIES: tuple[str, ...] = ("constant", "most_frequent")


@register
class DropMissing(Step):
    """Drop rows with a missing value in any of the given columns.

    columns: the columns that must be present; None means the ``text`` and ``label`` role
        columns the dataset has.
    blank_is_missing: count empty and whitespace-only strings as missing.
    """

    name = "drop_missing"
    kind = "row"

    def __init__(self, *, columns: list[str] | None = None, blank_is_missing: bool = True) -> None:
        self.columns = check_column_list(self.name, "columns", columns)
        self.blank_is_missing = check_bool(self.name, "blank_is_missing", blank_is_missing)
        self._resolved: list[str] = []

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the columns; StepError if one is absent or none is given and no role applies."""
        if self.columns is not None:
            self._resolved = [require_column(self.name, schema, c, roles, "text") for c in self.columns]
            return
        self._resolved = [c for role in ("text", "label") for c in roles.columns(role)]
        if not self._resolved:
            raise StepError(
                f"step {self.name!r}: no columns given and the dataset has no text or label role."
            )
        for column in self._resolved:
            require_column(self.name, schema, column, roles, "text")

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Mark rows with a missing value; reason ``"missing <col>"``."""
        reasons = pa.nulls(batch.num_rows, pa.string())
        for column in self._resolved:
            missing = missing_mask(batch.column(column), blank_is_missing=self.blank_is_missing)
            reasons = pc.coalesce(reasons, drop_where(pa.array(missing), f"missing {column}"))
        return add_reasons(batch, reasons)


@register
class ImputeMissing(Step):
    """Fill missing values of ``column`` with a constant or the most frequent value.

    column: the column to fill (required).
    strategy: ``"constant"`` or ``"most_frequent"``.
    value: the fill value for ``constant``.
    blank_is_missing: also fill empty / whitespace-only strings.
    """

    name = "impute_missing"
    kind = "global"

    def __init__(
        self,
        *,
        column: str,
        strategy: str = "constant",
        value: Any = None,
        blank_is_missing: bool = True,
    ) -> None:
        self.column = check_column_name(self.name, "column", column)
        if self.column is None:
            raise bad_param(self.name, "column", "is required")
        if strategy not in STRATEGIES:
            raise bad_param(
                self.name, "strategy", f"must be one of {', '.join(STRATEGIES)}, got {strategy!r}"
            )
        if strategy == "constant" and value is None:
            raise bad_param(self.name, "value", "is required with strategy 'constant'")
        if strategy == "most_frequent" and value is not None:
            raise bad_param(self.name, "value", "is only used with strategy 'constant'")
        self.strategy = strategy
        self.value = value
        self.blank_is_missing = check_bool(self.name, "blank_is_missing", blank_is_missing)
        self._type: pa.DataType = pa.null()
        self._fill: pa.Scalar | None = None

    @property
    def stats_column(self) -> str:
        return f"_dm_imputed_{self.column}"

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Check the column exists and the constant fits its type."""
        require_column(self.name, schema, self.column, roles, "text")
        self._type = schema.field(self.column).type
        if pa.types.is_null(self._type) and self.strategy == "constant":
            raise StepError(
                f"step {self.name!r}: column {self.column!r} holds only nulls (no type to fill with); "
                "give it a type when ingesting."
            )
        if self.strategy == "constant":
            self._fill = self._cast(self.value)

    def _cast(self, value: Any) -> pa.Scalar:
        try:
            return pa.scalar(value).cast(self._type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
            raise bad_param(
                self.name, "value", f"{value!r} does not fit column {self.column!r} of type {self._type}"
            ) from err

    def fit(self, batches: Iterable[pa.RecordBatch]) -> None:
        """For ``most_frequent``: find the mode of the non-missing values."""
        if self.strategy != "most_frequent" or pa.types.is_null(self._type):
            return
        self.fit_merge([self.fit_partial(batch) for batch in batches])

    def fit_partial(self, batch: pa.RecordBatch) -> list[tuple[Any, int]]:
        """(value, count) of the block's present values in first-seen order (most_frequent only;
        pipeline.fit_hooks.PartialFit, one round)."""
        if self.strategy != "most_frequent" or pa.types.is_null(self._type):
            return []
        values = batch.column(self.column)
        present = values.filter(pa.array(~missing_mask(values, blank_is_missing=self.blank_is_missing)))
        if len(present) == 0:
            return []
        vc = pc.value_counts(present)
        return list(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True))

    def fit_merge(self, states: list[list[tuple[Any, int]]]) -> bool:
        """The mode over the blocks' counts (ties: the value seen first in input order)."""
        if self.strategy != "most_frequent" or pa.types.is_null(self._type):
            return True
        counts: Counter[Any] = Counter()
        for state in states:
            for v, c in state:
                counts[v] += c  # Counter keeps first-seen order, so most_common breaks ties by it
        if not counts:
            self._fill = None
            return True
        mode = counts.most_common(1)[0][0]
        self._fill = pa.scalar(mode, self._type)
        return True

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with missing values filled and ``_dm_imputed_<column>`` added."""
        values = batch.column(self.column)
        mask = missing_mask(values, blank_is_missing=self.blank_is_missing)
        if self._fill is None or not mask.any():
            return set_column(batch, self.stats_column, pa.array(np.zeros(len(mask), dtype=bool)))
        filled = pc.if_else(pa.array(mask), self._fill, values)
        batch = set_column(batch, self.column, filled)
        return set_column(batch, self.stats_column, pa.array(mask))

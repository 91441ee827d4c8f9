"""The contract every pipeline step fulfils.

A step is a small object that turns one ``pyarrow.RecordBatch`` into another of the same
length. It never knows which executor runs it (in-process, a process pool, Ray), so:

* parameters are keyword-only ``__init__`` arguments, validated there, stored as attributes
  of the same name (that is what :meth:`Step.params` reports), and no heavy work is done;
* :meth:`Step.bind` resolves default columns from the column roles and the input schema,
  once, before any data flows; it raises :class:`~datamoat.errors.StepError` naming the step
  and the missing column;
* :meth:`Step.fit` sees the whole input first, for ``kind = "global"`` steps only (e.g.
  exact dedup); row-local steps (``kind = "row"``) inherit a no-op;
* :meth:`Step.apply` maps one batch to one batch with the same rows in the same order;
* steps hold plain attributes only, so they pickle and can be shipped to workers.

Dropping rows ("stats, then decide"): a step never deletes a row. It returns the batch with a
string column :data:`DROP_COLUMN` that holds a short reason for rows to drop and null for rows
to keep; the executor splits kept and dropped rows and records the dropped ones as exclusions,
so no step can lose a row. Steps may add stats columns whose names start with
:data:`STATS_PREFIX` (e.g. ``_dm_len``); a step must add the same columns to every batch, the
empty one included. Steps that change values keep ``_dm_row_id`` unchanged, so a diff between
versions shows the row as changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import StepError
from datamoat.plugins import keyword_defaults, keyword_params

DROP_COLUMN = "_dm_drop"
"""String column a step returns: the reason to drop a row, or null to keep it."""

STATS_PREFIX = "_dm_"
"""Prefix of the system columns: the row id, the drop reason and the stats steps add."""

STEP_KINDS: tuple[str, ...] = ("row", "global")


class Step:
    """Base class of pipeline steps; see the module docstring for the contract.

    Class attributes
    ----------------
    name:
        Registry key, as written in recipes (``"length_filter"``).
    kind:
        ``"row"`` (each row is decided on its own) or ``"global"`` (:meth:`fit` must see the
        whole input before :meth:`apply`).
    """

    name: ClassVar[str]
    kind: ClassVar[str] = "row"

    def params(self) -> dict[str, Any]:
        """The step's parameters as given (JSON-serialisable), for recipes and manifests.

        Reads the attribute named like each keyword-only ``__init__`` parameter.
        """
        return {key: _plain(getattr(self, key)) for key in param_names(type(self))}

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve columns against the roles and the input ``schema``; raise StepError if missing."""

    def fit(self, batches: Iterable[pa.RecordBatch]) -> None:
        """Learn from the whole input (global steps). ``batches`` may be iterated more than once."""

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Return ``batch`` with the same rows in order, plus DROP_COLUMN and stats columns."""
        raise StepError(f"step {self.name!r} has no apply(); every step must define it.")

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({shown})"


def param_names(cls: type[Step]) -> list[str]:
    """Names of the keyword-only ``__init__`` parameters of a step class, in order."""
    return keyword_params(cls)


def param_defaults(cls: type[Step]) -> dict[str, Any]:
    """Default value of each keyword-only ``__init__`` parameter that has one."""
    return keyword_defaults(cls)


def _plain(value: Any) -> Any:
    """Tuples become lists, so params compare equal to their YAML/JSON round trip."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


# --- parameter validation -------------------------------------------------------------------


def bad_param(step: str, param: str, message: str) -> StepError:
    """A StepError saying that parameter ``param`` of step ``step`` is wrong and why."""
    return StepError(f"step {step!r}: parameter {param!r} {message.rstrip('.')}.")


def check_int(step: str, param: str, value: Any, *, minimum: int = 0, optional: bool = True) -> int | None:
    """``value`` as an int >= ``minimum`` (None allowed when ``optional``); StepError otherwise."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_param(step, param, f"must be a whole number, got {value!r}")
    if value < minimum:
        raise bad_param(step, param, f"must be at least {minimum}, got {value}")
    return value


def check_bool(step: str, param: str, value: Any) -> bool:
    """``value`` if it is a bool; StepError otherwise."""
    if not isinstance(value, bool):
        raise bad_param(step, param, f"must be true or false, got {value!r}")
    return value


def check_column_name(step: str, param: str, value: Any) -> str | None:
    """``value`` if it is None or a non-empty string; StepError otherwise."""
    if value is None or (isinstance(value, str) and value):
        return value
    raise bad_param(step, param, f"must be a column name, got {value!r}")


def check_column_list(step: str, param: str, value: Any) -> list[str] | None:
    """``value`` as a non-empty list of column names (a single name is accepted), or None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not value or not all(isinstance(v, str) and v for v in value):
        raise bad_param(step, param, f"must be a list of column names, got {value!r}")
    return list(value)


# --- binding helpers -------------------------------------------------------------------------


def require_column(step: str, schema: pa.Schema, column: str | None, roles: ColumnRoles, role: str) -> str:
    """The column a step works on: ``column`` if given, else the column with ``role``.

    Raises StepError when neither names a column, or the column is not in ``schema``.
    """
    name = column or roles.get(role)
    if name is None:
        raise StepError(f"step {step!r}: no column given and the dataset has no {role!r} role.")
    if name not in schema.names:
        shown = ", ".join(n for n in schema.names if not n.startswith(STATS_PREFIX))
        raise StepError(f"step {step!r}: no column {name!r} in the data; the columns are: {shown}.")
    return name


def require_row_ids(step: str, schema: pa.Schema, why: str) -> None:
    """StepError unless ``schema`` has the ``_dm_row_id`` column, which steps that find rows
    by id need; ``why`` ends the sentence (e.g. ``"to tell copies apart"``)."""
    if ROW_ID_COLUMN not in schema.names:
        raise StepError(f"step {step!r} needs the {ROW_ID_COLUMN} column {why}.")


def require_text_column(step: str, schema: pa.Schema, column: str | None, roles: ColumnRoles) -> str:
    """Like :func:`require_column` for the ``text`` role, also checking the column holds strings."""
    name = require_column(step, schema, column, roles, "text")
    typ = schema.field(name).type
    if not (pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_null(typ)):
        raise StepError(f"step {step!r}: column {name!r} holds {typ}, not text.")
    return name


# --- batch helpers ---------------------------------------------------------------------------


def set_column(batch: pa.RecordBatch, name: str, values: pa.Array) -> pa.RecordBatch:
    """``batch`` with column ``name`` replaced by ``values``, or appended if it is new."""
    index = batch.schema.get_field_index(name)
    if index >= 0:
        return batch.set_column(index, name, values)
    return batch.append_column(name, values)


def drop_where(mask: pa.Array, reason: str) -> pa.Array:
    """A string array: ``reason`` where ``mask`` is true, null where it is false or null."""
    return pc.if_else(mask, pa.scalar(reason, pa.string()), pa.scalar(None, pa.string()))


def add_reasons(batch: pa.RecordBatch, reasons: pa.Array) -> pa.RecordBatch:
    """Merge ``reasons`` into the batch's DROP_COLUMN; an earlier reason in the column wins."""
    index = batch.schema.get_field_index(DROP_COLUMN)
    if index >= 0:
        reasons = pc.coalesce(batch.column(index), reasons)
    return set_column(batch, DROP_COLUMN, reasons.cast(pa.string()))


def as_text(values: pa.Array) -> pa.Array:
    """A text column as ``string`` (a column of only nulls, typed ``null``, becomes string)."""
    return values.cast(pa.string()) if pa.types.is_null(values.type) else values

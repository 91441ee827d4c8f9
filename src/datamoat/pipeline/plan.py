"""Executor-neutral pieces of running a recipe: binding, segmenting, and the per-batch kernel.

Every executor (in-process, process pool, Ray) runs a recipe the same way:

1. :func:`bind_recipe` binds each step to the schema it will see, once, in the driver, by
   pushing an empty batch through the steps (a global step is probed on a copy fitted on no
   data). Configuration errors surface here, before any data flows.
2. :func:`split_segments` cuts the recipe before each global step. A segment is a chain of
   steps that is row-local once its first step (if global) has been fitted, so it can run
   batch by batch on any worker.
3. For each segment, the executor fits the head step (if global) on the segment's whole
   input, which is the previous segment's output, then maps :func:`apply_chain` over the
   input batches and keeps the output order.

:func:`apply_chain` runs the steps of a segment over one batch; after each step it splits off
the rows the step marked in ``_dm_drop`` into an exclusions batch, so rows dropped by one step
never reach the next and no row is lost.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import StepError
from datamoat.pipeline.exclusions import make_exclusions
from datamoat.pipeline.recipe import Recipe, step_label
from datamoat.pipeline.step import DROP_COLUMN, STATS_PREFIX, Step

LabelledStep = tuple[str, Step]
"""A step with its label ``"<1-based position>:<name>"``."""


@dataclass
class Segment:
    """A run of steps that can be mapped over batches independently.

    steps: the labelled steps in order; only the first may be a global step.
    input_schema: the schema of the segment's input, as bound.
    output_schema: the schema of its kept output (without ``_dm_drop``).
    """

    steps: list[LabelledStep] = field(default_factory=list)
    input_schema: pa.Schema | None = None
    output_schema: pa.Schema | None = None

    @property
    def head_is_global(self) -> bool:
        """True when the first step is global and must be fitted on the whole input first."""
        return bool(self.steps) and self.steps[0][1].kind == "global"


def split_segments(recipe: Recipe) -> list[Segment]:
    """Cut the recipe before each global step; always at least one (possibly empty) segment."""
    segments = [Segment()]
    for index, step in enumerate(recipe.steps):
        if step.kind == "global" and segments[-1].steps:
            segments.append(Segment())
        segments[-1].steps.append((step_label(index, step), step))
    return segments


def bind_recipe(segments: list[Segment], roles: ColumnRoles, schema: pa.Schema) -> None:
    """Bind every step to the schema it will see and record each segment's schemas.

    schema: the schema of the recipe's input batches.
    Raises StepError from a step's bind, or when a step breaks the contract on an empty batch.
    """
    for segment in segments:
        segment.input_schema = schema
        batch = pa.RecordBatch.from_pylist([], schema=schema)
        for label, step in segment.steps:
            step.bind(roles, batch.schema)
            probe = step
            if step.kind == "global":
                probe = copy.deepcopy(step)
                probe.fit([])
            batch, _ = apply_step(label, probe, batch)
        segment.output_schema = batch.schema
        schema = batch.schema


def apply_step(label: str, step: Step, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.RecordBatch | None]:
    """Apply one step to ``batch`` and split off the rows it marked to drop.

    Returns (kept rows without ``_dm_drop``, exclusions batch or None if nothing was dropped).
    Raises StepError if the step changed the number of rows or the row ids.
    """
    kept, excluded, _ = apply_step_masked(label, step, batch)
    return kept, excluded


def apply_step_masked(
    label: str, step: Step, batch: pa.RecordBatch
) -> tuple[pa.RecordBatch, pa.RecordBatch | None, pa.Array | None]:
    """:func:`apply_step`, also returning the boolean mask of the dropped rows (None: none dropped),
    for executors that carry their own per-row bookkeeping (e.g. a row's input position)."""
    try:
        out = step.apply(batch)
    except Exception as err:
        err.add_note(f"in pipeline step {label}")
        raise
    if not isinstance(out, pa.RecordBatch):
        raise StepError(f"step {label} returned {type(out).__name__}, not a RecordBatch.")
    if out.num_rows != batch.num_rows:
        raise StepError(
            f"step {label} returned {out.num_rows} rows for {batch.num_rows}; "
            f"steps mark rows to drop in {DROP_COLUMN} instead of removing them."
        )
    if ROW_ID_COLUMN in batch.schema.names:
        if ROW_ID_COLUMN not in out.schema.names or not out.column(ROW_ID_COLUMN).equals(
            batch.column(ROW_ID_COLUMN)
        ):
            raise StepError(f"step {label} changed or removed {ROW_ID_COLUMN}; steps must keep row ids.")
    index = out.schema.get_field_index(DROP_COLUMN)
    if index < 0:
        return out, None, None
    reasons = out.column(index)
    if not (
        pa.types.is_string(reasons.type)
        or pa.types.is_large_string(reasons.type)
        or pa.types.is_null(reasons.type)
    ):
        raise StepError(f"step {label}: {DROP_COLUMN} must hold strings, not {reasons.type}.")
    out = out.remove_column(index)
    if reasons.null_count == len(reasons):
        return out, None, None
    drop = pc.is_valid(reasons)
    excluded = make_exclusions(out.filter(drop), label, reasons.filter(drop))
    return out.filter(pc.invert(drop)), excluded, drop


def apply_chain(
    steps: list[LabelledStep], batch: pa.RecordBatch
) -> tuple[pa.RecordBatch, list[pa.RecordBatch]]:
    """Run a segment's steps over one batch.

    Returns (the kept rows, the exclusions batches of the steps that dropped rows). Once no
    row is left the remaining steps are skipped and the (empty) kept batch is returned.
    """
    excluded: list[pa.RecordBatch] = []
    for label, step in steps:
        if batch.num_rows == 0:
            break
        batch, dropped = apply_step(label, step, batch)
        if dropped is not None:
            excluded.append(dropped)
    return batch, excluded


def stats_to_remove(input_schema: pa.Schema, output_schema: pa.Schema) -> list[str]:
    """The ``_dm_`` stats columns a run added (in the output, not in the input)."""
    before = set(input_schema.names)
    return [n for n in output_schema.names if n.startswith(STATS_PREFIX) and n not in before]


def conform(batch: pa.RecordBatch, schema: pa.Schema, where: str) -> pa.RecordBatch:
    """``batch`` with exactly ``schema`` (casting if the types differ); StepError if impossible."""
    if batch.schema.equals(schema):
        return batch
    try:
        return batch.select(schema.names).cast(schema)
    except (KeyError, ValueError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise StepError(
            f"{where}: a batch has columns/types that differ from the first batch "
            f"({batch.schema.to_string(show_schema_metadata=False)}); input batches must share one schema."
        ) from err

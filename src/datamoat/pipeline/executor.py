"""The :class:`Executor` protocol: what runs a recipe over a dataset's batches.

An executor takes a :class:`~datamoat.pipeline.recipe.Recipe`, the dataset's column roles
and a source of input batches, and returns a :class:`~datamoat.pipeline.run.RecipeRun` at
once. It must run a recipe the way :mod:`datamoat.pipeline.plan` lays out: bind every step to
the first batch's schema (raising StepError before any work), cut the recipe before each
global step, fit that step on the whole output of the steps before it (spilling it wherever
the executor keeps intermediate data), and map row steps over batches. The run yields the
kept rows in input order and records every dropped row as an exclusion with the step and the
reason, so ``rows_in == rows_out + rows dropped``.

:class:`~datamoat.pipeline.executor_local.LocalExecutor` runs on this machine (in-process or
in a process pool); a distributed executor (e.g. Ray) implements the same method. Steps never
know which executor runs them, and callers such as
:func:`~datamoat.pipeline.apply.apply_recipe` only see this protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

import pyarrow as pa

from datamoat.data.roles import ColumnRoles
from datamoat.pipeline.recipe import Recipe
from datamoat.pipeline.run import RecipeRun


@runtime_checkable
class Executor(Protocol):
    """Runs recipes; see the module docstring for what :meth:`run` must guarantee."""

    def run(
        self,
        recipe: Recipe,
        roles: ColumnRoles,
        source: Callable[[], Iterator[pa.RecordBatch]],
        *,
        keep_stats: bool = True,
    ) -> RecipeRun:
        """Start running ``recipe`` over the batches of ``source()``.

        roles: the dataset's column roles (steps take default columns from them).
        source: called to read the input; yields its batches in order, which should share
            one schema.
        keep_stats: keep the ``_dm_`` stats columns the steps add in the output.
        Returns a RecipeRun whose :meth:`~RecipeRun.batches` yields the kept rows and whose
        exclusions hold every dropped row. Raises StepError for a step that cannot bind.
        """
        ...

"""datamoat's pipeline core: the step contract, the step registry, recipes and executors.

A :class:`Recipe` is an ordered list of :class:`Step` objects, written in YAML. An
:class:`Executor` (here :class:`LocalExecutor`; a Ray executor can run the same recipe)
streams a dataset's batches through it and returns a :class:`RecipeRun`: the kept rows, plus
every dropped row as an exclusion with the step and the reason. Steps never know which
executor runs them.

This package holds no steps itself: the built-in ones live in :mod:`datamoat.clean`,
:mod:`datamoat.privacy` and :mod:`datamoat.split`, and the registry imports them on the first
lookup by name (:data:`~datamoat.pipeline.registry.BUILTIN_STEP_MODULES`).
"""

from datamoat.pipeline.exclusions import EXCLUSION_SCHEMA, make_exclusions, rows_from_exclusions
from datamoat.pipeline.executor import Executor
from datamoat.pipeline.executor_local import LocalExecutor
from datamoat.pipeline.recipe import Recipe, step_label
from datamoat.pipeline.registry import STEPS, create_step, register
from datamoat.pipeline.run import RecipeRun, RunCounts
from datamoat.pipeline.step import DROP_COLUMN, STATS_PREFIX, Step
from datamoat.pipeline.text_step import TextColumnStep

__all__ = [
    "DROP_COLUMN",
    "EXCLUSION_SCHEMA",
    "STATS_PREFIX",
    "STEPS",
    "Executor",
    "LocalExecutor",
    "Recipe",
    "RecipeRun",
    "RunCounts",
    "Step",
    "TextColumnStep",
    "create_step",
    "make_exclusions",
    "register",
    "rows_from_exclusions",
    "step_label",
]

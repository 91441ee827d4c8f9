"""datamoat's pipeline core: steps, the step registry, recipes and executors.

A :class:`Recipe` is an ordered list of :class:`Step` objects, written in YAML. An executor
(here :class:`LocalExecutor`; a Ray executor can run the same recipe) streams a dataset's
batches through it and returns a :class:`RecipeRun`: the kept rows, plus every dropped row as
an exclusion with the step and the reason. Steps never know which executor runs them.
"""

from datamoat.pipeline.exclusions import EXCLUSION_SCHEMA, make_exclusions, rows_from_exclusions
from datamoat.pipeline.executor_local import LocalExecutor
from datamoat.pipeline.recipe import Recipe, step_label
from datamoat.pipeline.registry import STEPS, create_step, register
from datamoat.pipeline.run import RecipeRun, RunCounts
from datamoat.pipeline.step import DROP_COLUMN, STATS_PREFIX, Step
from datamoat.pipeline.steps import basic as _basic  # noqa: F401  (registers the built-in steps)

__all__ = [
    "DROP_COLUMN",
    "EXCLUSION_SCHEMA",
    "STATS_PREFIX",
    "STEPS",
    "LocalExecutor",
    "Recipe",
    "RecipeRun",
    "RunCounts",
    "Step",
    "create_step",
    "make_exclusions",
    "register",
    "rows_from_exclusions",
    "step_label",
]

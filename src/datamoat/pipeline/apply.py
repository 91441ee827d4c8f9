"""Applying a recipe to a dataset version, producing a new version with lineage.

The executor's kept batches stream straight into a :class:`~datamoat.data.version_writer.VersionWriter`
and its exclusions into the new version's exclusions table, so every dropped row stays
findable (``datamoat excluded N@VER``) with the step and the reason. The new version's parent
is the input version; its manifest records the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass

from datamoat.catalog import Catalog
from datamoat.catalog.records import utc_now
from datamoat.data.object_store import ObjectStore
from datamoat.data.register import register_version
from datamoat.data.version import Version
from datamoat.data.version_writer import VersionWriter
from datamoat.pipeline.executor import Executor
from datamoat.pipeline.executor_local import LocalExecutor
from datamoat.pipeline.recipe import Recipe

RECIPE_STEP = "recipe"


@dataclass(frozen=True)
class ApplyResult:
    """version: the output version, ready to read; input_ref: the version it was made from;
    created: False if identical content existed already; rows_in / rows_out: row counts;
    dropped_by_reason / dropped_by_step: what was dropped."""

    version: Version
    created: bool
    rows_in: int
    rows_out: int
    dropped_by_reason: dict[str, int]
    dropped_by_step: dict[str, int]
    input_ref: str = ""


def apply_recipe(
    catalog: Catalog,
    store: ObjectStore,
    version: Version,
    recipe: Recipe,
    *,
    output: str | None = None,
    executor: Executor | None = None,
    keep_stats: bool = True,
    label: str = RECIPE_STEP,
) -> ApplyResult:
    """Run ``recipe`` over ``version`` and register the result as a new version.

    output: dataset name of the result (default: the input's dataset).
    executor: what runs the recipe (default: a LocalExecutor with its scratch in the store).
    label: the step name recorded in the catalog (``recipe``, ``clean`` ...).
    """
    started = utc_now()
    executor = executor or LocalExecutor(scratch_dir=store.tmp)
    roles = version.roles
    writer = VersionWriter(store)
    with writer:
        run = executor.run(recipe, roles, lambda: version.batches(), keep_stats=keep_stats)
        with run:
            for batch in run.batches():
                writer.write(batch)
            for batch in run.exclusions():
                writer.write_exclusions(batch)
            written = writer.finish(empty_schema=run.schema or version.schema, roles=roles.to_dict())
            rows_in, rows_out = run.rows_in, run.rows_out
            by_reason, by_step = run.dropped_by_reason, run.dropped_by_step
    params = {"recipe": recipe.to_list(), "keep_stats": keep_stats}
    record, created = register_version(
        catalog, output or version.dataset, written, roles,
        step=label, params=params, source={}, parents=[version.record.id], started=started,
        run_params={"input": version.ref, **params},
        summary={"rows_in": rows_in, "rows_out": rows_out, "dropped_by_reason": by_reason},
    )
    return ApplyResult(
        Version(record, store), created, rows_in, rows_out, by_reason, by_step, input_ref=version.ref
    )

"""Choosing the executor by name: ``local`` (:class:`LocalExecutor`) or ``ray`` (:class:`RayExecutor`).

The one place that turns ``executor:`` in datamoat.yaml, or a command's ``--executor`` and
``--ray-address``, into an :class:`~datamoat.pipeline.executor.Executor`. ``ray`` is imported
only when chosen (it is the optional ``scale`` extra).
"""

from __future__ import annotations

from pathlib import Path

from datamoat.errors import DatamoatError
from datamoat.pipeline.executor import Executor
from datamoat.pipeline.executor_local import LocalExecutor

EXECUTOR_NAMES = ("local", "ray")


def make_executor(
    name: str,
    *,
    workers: int | None = None,
    address: str | None = None,
    scratch_dir: Path | None = None,
) -> Executor:
    """The executor called ``name``.

    workers: worker processes (local) or parallel tasks (ray); None: one per CPU.
    address: with ``ray``, the cluster to join (None: ``$RAY_ADDRESS``, else a local Ray).
    scratch_dir: where the local executor spills between global steps.
    Raises DatamoatError for an unknown name.
    """
    if name == "local":
        return LocalExecutor(workers=workers, scratch_dir=scratch_dir)
    if name == "ray":
        from datamoat.pipeline.executor_ray import RayExecutor

        return RayExecutor(workers=workers, address=address)
    raise DatamoatError(f"unknown executor {name!r}; the executors are: {', '.join(EXECUTOR_NAMES)}.")

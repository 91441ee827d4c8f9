"""Optional hooks that let a distributed executor fit a global step without the driver reading everything.

A global step's :meth:`~datamoat.pipeline.step.Step.fit` sees the whole input as one stream of
batches. That is all :class:`~datamoat.pipeline.executor_local.LocalExecutor` needs, and every
executor may fall back to it (streaming the batches to the driver). A step whose algorithm
splits into per-block work can also implement one of these protocols; a distributed executor
(:mod:`datamoat.pipeline.executor_ray`) then runs the per-block part on the workers and the
reduction on the driver. Whatever route is taken, the fitted step must be the same as after
``fit`` over the same rows in the same order (the parity tests compare the outputs).

:class:`PartialFit` (map / reduce, in rounds)
    ``fit_partial(batch)`` runs on every block of the input, in parallel, on a copy of the
    step as it stands; ``fit_merge(states)`` gets the states of all blocks *in input order*
    on the driver and updates the step. It returns True when the step is fitted, False when
    it needs another round (the step, updated by the merge, is shipped to the workers again):
    exact dedup counts hashes in round 1 and finds each duplicated hash's first row id in
    round 2; label counts need one round.

:class:`ClusterFit` (bucket -> candidate pairs -> verify -> connected components)
    For steps that cluster rows whose keys collide in some bucket (MinHash LSH near-dedup):
    ``cluster_entries`` gives each row's (band, key) bucket memberships per block,
    the executor hash-partitions the entries by key so each bucket lands whole in one
    partition, ``cluster_pairs`` turns a partition's buckets into candidate pairs,
    ``cluster_payload`` extracts what verification needs of the rows in some pair,
    ``cluster_verify`` checks a chunk of pairs (in parallel), and ``cluster_set`` takes the
    verified pairs and does the connected components on the driver.

:class:`TaskFit` (a fit whose independent work goes through a task map)
    A step whose ``fit`` splits into independent tasks ``fn(shared, item)`` (e.g. label issues:
    counting the n-grams of chunks of texts, then one linear model per fold and class) gives
    them to the :class:`TaskMap` it is handed: ``fit_tasks(batches, tasks)``. Locally that is
    :class:`SerialTasks` (in order, in this process) or :class:`JoblibTasks` (joblib processes);
    a distributed executor passes its own (Ray tasks, ``shared`` put into the object store
    once). The result must not depend on which map ran the tasks, nor on ``tasks.workers``
    (a step may use it to cut the work finer, never to change it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa


@runtime_checkable
class PartialFit(Protocol):
    """A global step whose fit is a map over blocks and a reduce on the driver (see module docstring)."""

    def fit_partial(self, batch: pa.RecordBatch) -> Any:
        """The partial state of one block of the input (picklable; small next to the block)."""
        ...

    def fit_merge(self, states: list[Any]) -> bool:
        """Fold the blocks' states (in input order) into the step; True when fitted, False for another round."""
        ...


@runtime_checkable
class ClusterFit(Protocol):
    """A global step whose fit clusters rows that share a bucket key (see the module docstring).

    Row indices (``docs``, ``i``, ``j``) are positions in the whole input, in stream order.
    """

    def cluster_entries(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row position in ``batch`` int64, band int64, bucket key uint64), one per bucket membership."""
        ...

    def cluster_pairs(
        self, band: np.ndarray, key: np.ndarray, docs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidate pairs ``(i, j)``, ``i < j``, among rows sharing a (band, key) bucket.

        The arrays hold whole buckets (every member of each bucket present is there)."""
        ...

    def cluster_payload(self, batch: pa.RecordBatch, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(flat values, offsets) of what verification needs of ``rows`` (positions in ``batch``)."""
        ...

    def cluster_verify(
        self, values: np.ndarray, offsets: np.ndarray, i: np.ndarray, j: np.ndarray
    ) -> np.ndarray:
        """Boolean per pair: rows ``i[p]`` and ``j[p]`` (indices into the payload) belong together."""
        ...

    def cluster_set(self, ids: pa.Array, i: np.ndarray, j: np.ndarray) -> None:
        """Fit from the verified pairs: ``ids`` are the row ids of the payload rows (stream
        order), ``i`` / ``j`` index into them."""
        ...


class TaskMap(Protocol):
    """Runs independent tasks: ``tasks(fn, shared, items)`` is ``[fn(shared, item) for item in
    items]``, in that order, possibly in parallel. ``fn`` must be a module-level function (it is
    pickled by reference); ``shared`` is sent once per worker where the map can (one object for
    all tasks), each item with its task. ``workers``: how many tasks may run at once."""

    workers: int

    def __call__(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> list[Any]: ...


class SerialTasks:
    """A :class:`TaskMap` that runs every task in this process, in order."""

    workers = 1

    def __call__(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> list[Any]:
        return [fn(shared, item) for item in items]

    def share(self, obj: Any) -> Any:
        """``obj`` itself: the tasks run in this process."""
        return obj


class JoblibTasks:
    """A :class:`TaskMap` over ``workers`` joblib processes (loky: large arrays of ``shared`` are
    memory-mapped, not copied per task)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def __call__(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> list[Any]:
        from joblib import Parallel, delayed

        return list(Parallel(n_jobs=self.workers)(delayed(fn)(shared, item) for item in items))

    def share(self, obj: Any) -> Any:
        """``obj`` itself (joblib memory-maps its large arrays per call)."""
        return obj


def local_tasks(n_jobs: int) -> TaskMap:
    """The local task map for ``n_jobs`` workers: serial for 1, joblib processes otherwise."""
    return SerialTasks() if n_jobs <= 1 else JoblibTasks(n_jobs)


@runtime_checkable
class TaskFit(Protocol):
    """A global step whose fit runs its independent work through a :class:`TaskMap` (see the module docstring)."""

    def fit_tasks(self, batches: Any, tasks: TaskMap) -> None:
        """Fit on the whole input with ``tasks`` running the independent work; the result must
        not depend on the map."""
        ...

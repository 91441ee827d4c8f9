"""Run a recipe on this machine: in-process, or over batches in a pool of worker processes.

How a run goes (see :mod:`datamoat.pipeline.plan`):

* The first source batch is read and every step is bound to the schema it will see, so
  configuration errors are raised by :meth:`LocalExecutor.run` itself.
* The recipe is cut before each global step. Each segment's output, except the last one's, is
  written to an Arrow IPC stream file in the scratch folder; the next segment's global head
  step is fitted on that file (it may read it several times), then the segment runs over it.
  The file is deleted once read. The last segment's output is the run's output, yielded
  lazily as the caller consumes it.
* Within a segment, batches are processed in order with ``workers == 1``, or by a process pool
  (``spawn`` context, each worker receiving the segment's steps once) that keeps at most
  ``2 x workers`` batches in flight and yields results in input order.

Memory is bounded by batch size x workers (plus what global steps keep from fit), not by the
dataset size. Exclusions are written to a scratch IPC file as they come.

Worker processes are started with ``spawn``, which is safe with threads (DuckDB, Arrow) in the
parent but re-imports the main script: a script that runs a recipe with ``workers > 1`` must
do so under ``if __name__ == "__main__":`` (``python -m datamoat`` and the ``datamoat``
command are fine). Steps must be importable by module path (defined at module level).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import chain
from pathlib import Path

import pyarrow as pa

from datamoat.data.object_store import RUN_PREFIX
from datamoat.data.roles import ColumnRoles
from datamoat.pipeline.exclusions import EXCLUSION_SCHEMA
from datamoat.pipeline.plan import (
    LabelledStep,
    Segment,
    apply_chain,
    bind_recipe,
    conform,
    split_segments,
    stats_to_remove,
)
from datamoat.pipeline.recipe import Recipe
from datamoat.pipeline.run import RecipeRun, RunCounts

ChainResult = tuple[pa.RecordBatch, list[pa.RecordBatch]]


class LocalExecutor:
    """Runs recipes on the local machine.

    workers: worker processes for row-local work; 1 runs everything in this process, None
        uses the number of CPUs. A pool is only started for segments with two or more batches.
    scratch_dir: folder for intermediate and exclusions files (a private subfolder is made in
        it per run and removed by :meth:`RecipeRun.close`); None uses the system temp folder.
    """

    def __init__(self, workers: int | None = None, scratch_dir: Path | None = None) -> None:
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be a positive whole number, got {workers!r}")
        self.workers = workers or os.cpu_count() or 1
        self.scratch_dir = Path(scratch_dir) if scratch_dir is not None else None

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
        source: called once; yields the input batches, which should share one schema.
        keep_stats: keep the ``_dm_`` stats columns the steps add (``_dm_len`` ...) in the
            output; ``_dm_row_id`` and the input's own columns are always kept.
        Returns a RecipeRun whose :meth:`~RecipeRun.batches` does the work as it is consumed.
        Raises StepError for a step that cannot bind to the data.
        """
        counts = RunCounts()
        batches = iter(source())
        first = next(batches, None)
        if first is None:
            counts.finished = True
            return RecipeRun(iter(()), counts, lambda: iter(()), None)
        segments = split_segments(recipe)
        bind_recipe(segments, roles, first.schema)
        output_schema = segments[-1].output_schema
        assert output_schema is not None
        removed = [] if keep_stats else stats_to_remove(first.schema, output_schema)
        if removed:
            output_schema = pa.schema([f for f in output_schema if f.name not in removed])

        if self.scratch_dir is not None:
            self.scratch_dir.mkdir(parents=True, exist_ok=True)
        # the owner pid in the name lets the next workspace open remove it after a kill
        scratch = Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-", dir=self.scratch_dir))
        cleanup = weakref.finalize(counts, shutil.rmtree, scratch, ignore_errors=True)
        exclusions_path = scratch / "exclusions.arrows"
        kept = self._stream(segments, chain([first], batches), counts, scratch, exclusions_path, removed)
        return RecipeRun(kept, counts, lambda: _read_ipc(exclusions_path), output_schema, cleanup)

    # --- the work -------------------------------------------------------------------------------

    def _stream(
        self,
        segments: list[Segment],
        source: Iterator[pa.RecordBatch],
        counts: RunCounts,
        scratch: Path,
        exclusions_path: Path,
        removed: list[str],
    ) -> Iterator[pa.RecordBatch]:
        """Run all segments; yield the last one's kept batches; fill ``counts``."""
        inputs: Iterable[pa.RecordBatch] = _count_rows(source, counts)
        previous: Path | None = None
        with pa.OSFile(str(exclusions_path), "wb") as sink, pa.ipc.new_stream(sink, EXCLUSION_SCHEMA) as excl:
            if segments[0].head_is_global:
                # A global first step is fitted on the source, which can be read only once.
                previous = scratch / "segment-0.arrows"
                _write_ipc(previous, inputs, segments[0].input_schema, "input")
                inputs = _IpcBatches(previous)
            for index, segment in enumerate(segments):
                if segment.head_is_global:
                    segment.steps[0][1].fit(inputs)
                results = self._map(segment.steps, inputs)
                outputs = _record(results, excl, counts)
                if index == len(segments) - 1:
                    for batch in outputs:
                        if removed:
                            batch = batch.drop_columns(removed)
                        counts.rows_out += batch.num_rows
                        yield batch
                else:
                    path = scratch / f"segment-{index + 1}.arrows"
                    where = f"output of step {segment.steps[-1][0]}" if segment.steps else "input"
                    _write_ipc(path, outputs, segment.output_schema, where)
                    inputs = _IpcBatches(path)
                if previous is not None:
                    previous.unlink(missing_ok=True)
                previous = path if index < len(segments) - 1 else None
        if counts.rows_in != counts.rows_out + counts.rows_dropped():
            raise RuntimeError(
                f"pipeline lost rows: {counts.rows_in} in, {counts.rows_out} out, {counts.rows_dropped()} dropped"
            )
        counts.finished = True

    def _map(self, steps: list[LabelledStep], batches: Iterable[pa.RecordBatch]) -> Iterator[ChainResult]:
        """``apply_chain(steps, batch)`` for each batch, in order, in-process or in a pool."""
        it = iter(batches)
        if self.workers == 1 or not steps:
            return (apply_chain(steps, b) for b in it)
        head = [b for _, b in zip(range(2), it, strict=False)]
        if len(head) < 2:
            return (apply_chain(steps, b) for b in head)
        return self._map_pool(steps, chain(head, it))

    def _map_pool(
        self, steps: list[LabelledStep], batches: Iterator[pa.RecordBatch]
    ) -> Iterator[ChainResult]:
        """Process batches in worker processes, at most 2 x workers in flight, results in order."""
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker, initargs=(steps,)
        )
        pending: deque[Future[ChainResult]] = deque()
        try:
            for batch in batches:
                pending.append(pool.submit(_work, batch))
                if len(pending) >= 2 * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# --- worker side ------------------------------------------------------------------------------

_WORKER_STEPS: list[LabelledStep] = []


def _init_worker(steps: list[LabelledStep]) -> None:
    """Pool initializer: keep the segment's (bound, fitted) steps for :func:`_work`."""
    global _WORKER_STEPS
    _WORKER_STEPS = steps


def _work(batch: pa.RecordBatch) -> ChainResult:
    """Run the worker's steps over one batch."""
    return apply_chain(_WORKER_STEPS, batch)


# --- plumbing ---------------------------------------------------------------------------------


def _count_rows(batches: Iterator[pa.RecordBatch], counts: RunCounts) -> Iterator[pa.RecordBatch]:
    """Pass batches through, adding their rows to ``counts.rows_in``."""
    for batch in batches:
        counts.rows_in += batch.num_rows
        yield batch


def _record(
    results: Iterator[ChainResult], excl: pa.ipc.RecordBatchStreamWriter, counts: RunCounts
) -> Iterator[pa.RecordBatch]:
    """Write and count each result's exclusions; yield its kept batch if it has rows."""
    for kept, excluded in results:
        for batch in excluded:
            excl.write_batch(batch)
            counts.add_exclusions(batch)
        if kept.num_rows:
            yield kept


def _write_ipc(path: Path, batches: Iterable[pa.RecordBatch], schema: pa.Schema | None, where: str) -> None:
    """Write batches to an IPC stream file with ``schema`` (``where`` names them in errors)."""
    assert schema is not None
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(conform(batch, schema, where))


def _read_ipc(path: Path) -> Iterator[pa.RecordBatch]:
    """The batches of an IPC stream file (each read into memory on its own)."""
    with pa.OSFile(str(path), "rb") as src, pa.ipc.open_stream(src) as reader:
        yield from reader


class _IpcBatches:
    """A re-iterable view of an IPC stream file, so a global step's fit may read it twice."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return _read_ipc(self.path)

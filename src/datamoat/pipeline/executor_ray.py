"""Run a recipe on a Ray cluster (``pip install datamoat[scale]``): the same plan, distributed.

How a run goes (the plan is :mod:`datamoat.pipeline.plan`'s, as for
:class:`~datamoat.pipeline.executor_local.LocalExecutor`):

* The driver reads the source once, binds every step to the first batch's schema (so
  configuration errors come from :meth:`RayExecutor.run` itself), tags each row with its input
  position (``__dm_seq``) and puts the batches into Ray's object store
  (``ray.data.from_arrow_refs``).
* Each segment's row steps run as ``Dataset.map_batches`` tasks; each worker process unpickles
  the segment's bound (and fitted) steps once into a :class:`_SegmentMapper` (steps with
  expensive setup pay it once per process, as with an actor pool, without an actor pool's
  fresh processes per segment). A mapper returns one table per block holding both the kept
  rows and the rows its steps dropped (as exclusions, tagged with the step's position), so a
  dropped row is never lost on Ray either.
* Before a global step the previous segment's output is materialized in the object store;
  its exclusions are collected by the driver, and the step is fitted:

  - :class:`~datamoat.pipeline.fit_hooks.PartialFit` steps (exact dedup, rebalance, impute):
    ``fit_partial`` as a Ray task per block, ``fit_merge`` on the driver, in rounds;
  - :class:`~datamoat.pipeline.fit_hooks.ClusterFit` steps (near dedup): LSH band keys per
    block in parallel, hash-partitioned by key so each bucket lands in one partition,
    candidate pairs per partition in parallel, the shingles of the rows in a pair fetched,
    the pairs verified in parallel in chunks, connected components on the driver;
  - :class:`~datamoat.pipeline.fit_hooks.TaskFit` steps (label issues: n-gram counting per
    chunk of texts, one model per fold and class): ``fit_tasks`` on the driver with a
    :class:`RayTasks` map, so that work runs as Ray tasks (its shared data put into Ray's
    object store once) and the driver keeps only the merges;
  - any other global step (k-anonymity, split): ``fit`` on the driver over the blocks,
    streamed from the object store in input order.

* The last segment's blocks stream to the driver in input order (``preserve_order``); the
  caller (:func:`~datamoat.pipeline.apply.apply_recipe`) writes them through the one version
  writer. Exclusions are put in the order :class:`LocalExecutor` writes them (segment, input
  batch, step, row), so the version's content hash is the same whichever executor ran it.

Memory on the driver: one input batch at a time while loading, the exclusions (all of them, to
order them), what a driver-side fit keeps, and the verification payload of near-dedup (the
shingles of the rows in some candidate pair). Fault tolerance: tasks are retried and actors
``max_retries`` times when a worker process dies; past that the run fails with one
sentence (UnavailableError) and apply_recipe writes no version.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ColumnRoles
from datamoat.errors import DatamoatError, UnavailableError
from datamoat.pipeline.exclusions import EXCLUSION_SCHEMA
from datamoat.pipeline.fit_hooks import ClusterFit, PartialFit, TaskFit
from datamoat.pipeline.plan import (
    LabelledStep,
    Segment,
    apply_step_masked,
    bind_recipe,
    conform,
    split_segments,
    stats_to_remove,
)
from datamoat.pipeline.recipe import Recipe
from datamoat.pipeline.run import RecipeRun, RunCounts
from datamoat.pipeline.step import Step

SEQ = "__dm_seq"
"""Internal column: the row's position in the run's input (int64)."""
KIND = "__dm_kind"
"""Internal column: 0 for a kept row, 1 for an exclusion row."""
POS = "__dm_step_pos"
"""Internal column: the 0-based recipe position of the step that dropped an exclusion row."""
EXCL_PREFIX = "__dm_x"
"""Prefix of the exclusion columns in a mapper's output (``__dm_x_dm_reason`` ...)."""

ADDRESS_ENV = "RAY_ADDRESS"
DEFAULT_MAX_RETRIES = 3
DEFAULT_BLOCK_ROWS = 16_384
VERIFY_CHUNK_PAIRS = 200_000


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Connect to Ray once per process: the cluster at ``address`` (or ``$RAY_ADDRESS``), else a
    local one with ``num_cpus`` CPUs (default: the machine's). Usage stats and the dashboard
    are off; worker logs stay in Ray's log folder. Raises UnavailableError when ray is not
    installed or the cluster cannot be reached.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = address or os.environ.get(ADDRESS_ENV) or None
    if not address:  # a local Ray listens on 127.0.0.1 only (ray reads this when imported)
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError as err:
        raise UnavailableError(
            "the Ray executor needs ray: pip install 'datamoat[scale]' (or use --executor local)."
        ) from err
    quiet_ray_logging()
    if ray.is_initialized():
        return
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.WARNING,
    }
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count() or 1, **options)
    except (ConnectionError, RuntimeError, ValueError) as err:
        where = f"at {address}" if address else "on this machine"
        raise UnavailableError(f"cannot start or reach a Ray cluster {where}: {err}") from err
    quiet_ray_logging()


RAY_LOGGERS = ("ray", "ray.data")


def quiet_ray_logging() -> None:
    """Take Ray's own stderr handlers off its loggers (Ray Data's file handler in Ray's session
    folder stays): its records then go wherever the application sends them (the CLI: the
    workspace log, see :mod:`datamoat.cli.noise`). Call after ``import ray.data``, which
    installs them."""
    for name in RAY_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                logger.removeHandler(handler)
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())
        if logger.level < logging.INFO:
            logger.setLevel(logging.INFO)


class RayExecutor:
    """Runs recipes on Ray (see the module docstring).

    workers: actors per row segment and the partitions of near-dedup's shuffle; None uses
        the cluster's CPUs.
    address: the cluster to join (``ray://...`` or ``host:port``); None uses ``$RAY_ADDRESS``,
        else starts a local Ray with ``num_cpus`` (default: the machine's CPUs).
    max_retries: retries of a task whose worker process died.
    block_rows: the most rows of one Ray block (input batches are sliced to it), the unit of
        parallel work.
    Ray is started on the first :meth:`run`, not here. ``timings`` holds the seconds each stage
    of the last run took (input upload, each fit, each materialization, the output stream).
    """

    def __init__(
        self,
        workers: int | None = None,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        block_rows: int = DEFAULT_BLOCK_ROWS,
    ) -> None:
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be a positive whole number, got {workers!r}")
        self.workers = workers
        self.address = address
        self.num_cpus = num_cpus
        self.max_retries = max_retries
        self.block_rows = block_rows
        self.timings: dict[str, float] = {}

    def run(
        self,
        recipe: Recipe,
        roles: ColumnRoles,
        source: Callable[[], Iterator[pa.RecordBatch]],
        *,
        keep_stats: bool = True,
    ) -> RecipeRun:
        """Start running ``recipe`` over the batches of ``source()`` on Ray.

        roles: the dataset's column roles. source: called once; yields the input batches.
        keep_stats: keep the ``_dm_`` stats columns the steps add.
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
        excluded: list[pa.RecordBatch] = []
        kept = self._guarded(self._stream(segments, chain([first], batches), counts, excluded, removed))
        return RecipeRun(kept, counts, lambda: iter(excluded), output_schema)

    # --- the work -------------------------------------------------------------------------------

    def _guarded(self, stream: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """``stream``, with Ray's errors turned into datamoat's (one sentence)."""
        import ray

        try:
            yield from stream
        except ray.exceptions.RayError as err:
            cause = _datamoat_cause(err)
            if cause is not None:
                raise cause from err
            if isinstance(err, ray.exceptions.OutOfMemoryError):
                raise UnavailableError(
                    "the Ray run ran out of memory: Ray's memory monitor killed a task on every "
                    f"try ({self.max_retries} retries); give each node fewer CPUs (ray start "
                    "--num-cpus N: fewer tasks at once) or more memory; no version was written."
                ) from err
            raise UnavailableError(
                f"the Ray run failed after {self.max_retries} retries ({type(err).__name__}: "
                f"{_first_line(err)}); no version was written."
            ) from err

    def _stream(
        self,
        segments: list[Segment],
        source: Iterator[pa.RecordBatch],
        counts: RunCounts,
        excluded: list[pa.RecordBatch],
        removed: list[str],
    ) -> Iterator[pa.RecordBatch]:
        """Run all segments on Ray; yield the last one's kept batches; fill ``excluded`` and ``counts``."""
        ensure_ray(self.address, self.num_cpus)
        import ray
        import ray.data
        from ray import cloudpickle  # by value for classes registered so (steps defined in a script)

        quiet_ray_logging()
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        workers = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.timings = {}
        clock = time.perf_counter()

        offsets = [0]
        refs = []
        input_schema = segments[0].input_schema
        assert input_schema is not None
        for batch in source:
            batch = conform(batch, input_schema, "input")
            for start in range(0, batch.num_rows, self.block_rows):
                piece = batch.slice(start, self.block_rows)
                refs.append(ray.put(_tagged(piece, offsets[-1] + start)))
            offsets.append(offsets[-1] + batch.num_rows)  # the input batches, for the exclusions' order
        counts.rows_in = offsets[-1]
        self.timings["input to object store"] = time.perf_counter() - clock
        dataset = ray.data.from_arrow_refs(refs)
        parts: list[pa.Table] = []
        position = 0
        for index, segment in enumerate(segments):
            if segment.head_is_global:
                clock = time.perf_counter()
                dataset = dataset.materialize()
                blocks = dataset.to_arrow_refs()
                self.timings[f"segment {index} input materialized"] = time.perf_counter() - clock
                if index > 0:
                    parts.extend(ray.get([_remote(_exclusion_rows, self.max_retries).remote(b) for b in blocks]))
                clock = time.perf_counter()
                label, step = segment.steps[0]
                mode = self._fit(step, blocks, segment.input_schema, offsets[-1], workers)
                self.timings[f"fit {label} ({mode})"] = time.perf_counter() - clock
            positions = list(range(position, position + len(segment.steps)))
            position += len(segment.steps)
            spec = cloudpickle.dumps((segment.steps, positions, segment.input_schema, segment.output_schema))
            with warnings.catch_warnings():  # max_retries has no named parameter yet in ray 2.60-2.63
                warnings.simplefilter("ignore", DeprecationWarning)
                dataset = dataset.map_batches(
                    _map_block,
                    fn_kwargs={"spec": spec, "token": uuid.uuid4().hex},
                    batch_format="pyarrow",
                    batch_size=None,
                    zero_copy_batch=True,
                    compute=ray.data.TaskPoolStrategy(size=workers),
                    num_cpus=1,
                    max_retries=self.max_retries,
                )
        clock = time.perf_counter()
        last_seq = -1
        final_schema = segments[-1].output_schema
        assert final_schema is not None
        for table in dataset.iter_batches(batch_format="pyarrow", batch_size=None, prefetch_batches=2):
            is_excl = pc.equal(table.column(KIND), 1)
            if pc.any(is_excl).as_py():
                parts.append(table.filter(is_excl))
            kept = table.filter(pc.invert(is_excl))
            if kept.num_rows == 0:
                continue
            seq = kept.column(SEQ).to_numpy()
            if seq[0] <= last_seq or (len(seq) > 1 and (np.diff(seq) <= 0).any()):
                raise RuntimeError("the Ray run returned rows out of input order")
            last_seq = int(seq[-1])
            for batch in _data_batches(kept, final_schema):
                if removed:
                    batch = batch.drop_columns(removed)
                counts.rows_out += batch.num_rows
                yield batch
        self.timings["map and stream output"] = time.perf_counter() - clock
        clock = time.perf_counter()
        positions_segment = {pos: i for i, s in enumerate(segments) for pos in _positions(segments, i)}
        excluded.extend(_ordered_exclusions(parts, np.asarray(offsets), positions_segment))
        for batch in excluded:
            counts.add_exclusions(batch)
        self.timings["order exclusions"] = time.perf_counter() - clock
        if counts.rows_in != counts.rows_out + counts.rows_dropped():
            raise RuntimeError(
                f"pipeline lost rows: {counts.rows_in} in, {counts.rows_out} out, {counts.rows_dropped()} dropped"
            )
        counts.finished = True

    # --- fitting a global step --------------------------------------------------------------

    def _fit(self, step: Step, blocks: list[Any], schema: pa.Schema | None, rows: int, workers: int) -> str:
        """Fit ``step`` on the blocks (kept rows only); returns how ("partial", "cluster", "driver")."""
        import ray

        assert schema is not None
        if isinstance(step, ClusterFit):
            self._fit_cluster(step, blocks, schema, rows, workers)
            return "cluster"
        if isinstance(step, PartialFit):
            partial = _remote(_partial_fit, self.max_retries)
            while True:
                shipped = ray.put(step)
                states = ray.get([partial.remote(shipped, b, schema) for b in blocks])
                if step.fit_merge([s for s in states if s is not None]):
                    return "partial"
        if isinstance(step, TaskFit):
            step.fit_tasks(_DriverBatches(blocks, schema), RayTasks(workers, self.max_retries))
            return "driver, tasks on ray"
        step.fit(_DriverBatches(blocks, schema))
        return "driver"

    def _fit_cluster(self, step: ClusterFit, blocks: list[Any], schema: pa.Schema, rows: int, workers: int) -> None:
        """Near-dedup style fit: entries -> hash partitions -> pairs -> payload -> verify -> clusters."""
        import ray

        shipped = ray.put(step)
        nparts = max(1, 2 * workers)
        entries = _remote(_cluster_entries, self.max_retries).options(num_returns=nparts)
        by_block = [entries.remote(shipped, b, schema, nparts) for b in blocks]
        if nparts == 1:
            by_block = [[r] for r in by_block]
        pairs = _remote(_cluster_pairs, self.max_retries)
        found = ray.get([pairs.remote(shipped, *[refs[p] for refs in by_block]) for p in range(nparts)])
        codes = np.unique(np.concatenate([i * np.int64(rows) + j for i, j in found]))
        ci, cj = codes // rows, codes % rows
        involved = np.unique(np.concatenate([ci, cj]))
        if len(involved) == 0:
            step.cluster_set(pa.array([], pa.string()), ci, cj)
            return
        payloads = ray.get([_remote(_cluster_payload, self.max_retries).remote(shipped, b, schema, involved) for b in blocks])
        ids = pa.concat_arrays([p[0] for p in payloads])
        values = np.concatenate([p[1] for p in payloads])
        offsets = np.zeros(len(involved) + 1, dtype=np.int64)
        np.cumsum(np.concatenate([p[2] for p in payloads]), out=offsets[1:])
        li, lj = np.searchsorted(involved, ci), np.searchsorted(involved, cj)
        payload = ray.put((values, offsets))
        verify = _remote(_cluster_verify, self.max_retries)
        chunks = range(0, len(li), VERIFY_CHUNK_PAIRS)
        ok = np.concatenate(
            ray.get([verify.remote(shipped, payload, li[s : s + VERIFY_CHUNK_PAIRS], lj[s : s + VERIFY_CHUNK_PAIRS]) for s in chunks])
        )
        step.cluster_set(ids, li[ok], lj[ok])


class RayTasks:
    """A :class:`~datamoat.pipeline.fit_hooks.TaskMap` on Ray: ``shared`` is put into the object
    store once (workers on this node map its arrays without copying), each item is one Ray task
    (one CPU, retried ``max_retries`` times when its worker dies), results in item order.
    :meth:`share` puts an object there ahead of the calls, so the driver can drop its copy."""

    def __init__(self, workers: int, max_retries: int = DEFAULT_MAX_RETRIES) -> None:
        self.workers = workers
        self.max_retries = max_retries

    def __call__(self, fn: Callable[[Any, Any], Any], shared: Any, items: Any) -> list[Any]:
        import ray

        if not items:
            return []
        shared_ref = shared.ref if isinstance(shared, _SharedRef) else ray.put(shared)
        task = _remote(_run_task, self.max_retries)
        return ray.get([task.remote(fn, shared_ref, item) for item in items])

    def share(self, obj: Any) -> _SharedRef:
        """``obj`` put into the object store; pass the result as ``shared``."""
        import ray

        return _SharedRef(ray.put(obj))


@dataclass(frozen=True)
class _SharedRef:
    """An object already in Ray's object store (what :meth:`RayTasks.share` returns)."""

    ref: Any


# --- worker side --------------------------------------------------------------------------------


def _run_task(fn: Callable[[Any, Any], Any], shared: Any, item: Any) -> Any:
    """Task: one item of a :class:`RayTasks` map."""
    return fn(shared, item)

_MAPPERS: dict[str, _SegmentMapper] = {}
MAPPERS_KEPT = 4


def _map_block(table: pa.Table, spec: bytes, token: str) -> pa.Table:
    """Ray Data task: one block through a segment. The segment's steps are unpickled (and set
    up) once per worker process and run, not once per block: Ray reuses its worker processes
    across tasks, so this is what a pool of actors would give without starting fresh processes
    for every segment (measured: an actor pool costs several seconds per segment to start)."""
    mapper = _MAPPERS.get(token)
    if mapper is None:
        while len(_MAPPERS) >= MAPPERS_KEPT:
            _MAPPERS.pop(next(iter(_MAPPERS)))
        mapper = _MAPPERS[token] = _SegmentMapper(*pickle.loads(spec))
    return mapper(table)


class _SegmentMapper:
    """One segment's bound, fitted steps; maps a block to a union table of its kept rows
    (``__dm_kind`` 0) and the rows its steps dropped (``__dm_kind`` 1)."""

    def __init__(
        self, steps: list[LabelledStep], positions: list[int], input_schema: pa.Schema, output_schema: pa.Schema
    ) -> None:
        self.steps = steps
        self.positions = positions
        self.input_schema = input_schema
        self.output_schema = output_schema
        self.union = union_schema(output_schema)

    def __call__(self, table: pa.Table) -> pa.Table:
        if KIND in table.column_names and table.num_rows:
            table = table.filter(pc.equal(table.column(KIND), 0))
        seq = table.column(SEQ).to_numpy() if table.num_rows else np.empty(0, np.int64)
        out: list[pa.Table] = []
        for batch in _data_batches(table, self.input_schema):
            n = batch.num_rows
            part_seq, seq = seq[:n], seq[n:]
            out.extend(self._apply(batch, part_seq))
        if not out:
            return self.union.empty_table()
        return pa.concat_tables(out)

    def _apply(self, batch: pa.RecordBatch, seq: np.ndarray) -> list[pa.Table]:
        """The segment's steps over one batch, as union tables (kept rows first, then each step's drops)."""
        drops: list[pa.Table] = []
        for pos, (label, step) in zip(self.positions, self.steps, strict=True):
            if batch.num_rows == 0:
                break
            batch, dropped, mask = apply_step_masked(label, step, batch)
            if dropped is not None and mask is not None:
                gone = mask.to_numpy(zero_copy_only=False)
                drops.append(self._exclusion_table(dropped, seq[gone], pos))
                seq = seq[~gone]
        kept = conform(batch, self.output_schema, f"output of step {self.steps[-1][0]}" if self.steps else "input")
        n = kept.num_rows
        columns = [
            *kept.columns,
            pa.array(seq, pa.int64()),
            pa.array(np.zeros(n, np.int8)),
            pa.nulls(n, pa.int32()),
            *[pa.nulls(n, f.type) for f in EXCLUSION_SCHEMA],
        ]
        return [pa.Table.from_arrays(columns, schema=self.union), *drops]

    def _exclusion_table(self, dropped: pa.RecordBatch, seq: np.ndarray, pos: int) -> pa.Table:
        m = dropped.num_rows
        columns = [
            *[pa.nulls(m, f.type) for f in self.output_schema],
            pa.array(seq, pa.int64()),
            pa.array(np.ones(m, np.int8)),
            pa.array(np.full(m, pos, np.int32)),
            *dropped.columns,
        ]
        return pa.Table.from_arrays(columns, schema=self.union)


def _partial_fit(step: PartialFit, table: pa.Table, schema: pa.Schema) -> Any:
    """Task: the step's partial fit state of one block (None for a block without kept rows)."""
    batch = _one_batch(table, schema)
    return None if batch is None else step.fit_partial(batch)


def _cluster_entries(step: ClusterFit, table: pa.Table, schema: pa.Schema, nparts: int) -> Any:
    """Task: the block's (band, key, input position) entries, split into ``nparts`` by key."""
    batch = _one_batch(table, schema)
    if batch is None:
        row, band, key = np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.uint64)
        seq = np.empty(0, np.int64)
    else:
        row, band, key = step.cluster_entries(batch)
        seq = _kept(table).column(SEQ).to_numpy()
    docs = seq[row] if len(row) else np.empty(0, np.int64)
    part = (key % np.uint64(nparts)).astype(np.int64)
    out = tuple((band[part == p], key[part == p], docs[part == p]) for p in range(nparts))
    return out if nparts > 1 else out[0]


def _cluster_pairs(step: ClusterFit, *parts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Task: the candidate pairs of one partition (whole buckets from every block)."""
    band = np.concatenate([p[0] for p in parts])
    key = np.concatenate([p[1] for p in parts])
    docs = np.concatenate([p[2] for p in parts])
    if len(docs) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return step.cluster_pairs(band, key, docs)


def _cluster_payload(step: ClusterFit, table: pa.Table, schema: pa.Schema, involved: np.ndarray) -> Any:
    """Task: (row ids, payload values, payload lengths) of the block's rows in some candidate pair."""
    from datamoat.data.roles import ROW_ID_COLUMN

    batch = _one_batch(table, schema)
    if batch is None:
        return pa.array([], pa.string()), np.empty(0, np.uint64), np.empty(0, np.int64)
    seq = _kept(table).column(SEQ).to_numpy()
    rows = np.flatnonzero(np.isin(seq, involved))
    values, lengths = step.cluster_payload(batch, rows)
    ids = batch.column(ROW_ID_COLUMN).cast(pa.string()).take(pa.array(rows, pa.int64()))
    return ids, values, lengths


def _cluster_verify(step: ClusterFit, payload: tuple[np.ndarray, np.ndarray], i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Task: verify one chunk of candidate pairs."""
    return step.cluster_verify(payload[0], payload[1], i, j)


def _exclusion_rows(table: pa.Table) -> pa.Table:
    """Task: the exclusion rows of one materialized block."""
    if KIND not in table.column_names:
        return table.slice(0, 0)
    return table.filter(pc.equal(table.column(KIND), 1))


_REMOTES: dict[tuple[Callable[..., Any], int], Any] = {}


def _remote(fn: Callable[..., Any], retries: int) -> Any:
    """``fn`` as a Ray remote function (one CPU, ``retries`` retries when its worker dies), made once."""
    import ray

    key = (fn, retries)
    if key not in _REMOTES:
        _REMOTES[key] = ray.remote(num_cpus=1, max_retries=retries)(fn)
    return _REMOTES[key]


# --- tables -------------------------------------------------------------------------------------


def union_schema(data: pa.Schema) -> pa.Schema:
    """A mapper's output schema: the data columns, ``__dm_seq``, ``__dm_kind``, ``__dm_step_pos``
    and the exclusion columns (prefixed ``__dm_x``)."""
    internal = [pa.field(SEQ, pa.int64()), pa.field(KIND, pa.int8()), pa.field(POS, pa.int32())]
    excl = [pa.field(EXCL_PREFIX + f.name, f.type) for f in EXCLUSION_SCHEMA]
    return pa.schema([*data, *internal, *excl])


def _tagged(batch: pa.RecordBatch, start: int) -> pa.Table:
    """``batch`` as a table with ``__dm_seq`` (input positions from ``start``) and ``__dm_kind`` 0."""
    n = batch.num_rows
    table = pa.Table.from_batches([batch])
    table = table.append_column(SEQ, pa.array(np.arange(start, start + n, dtype=np.int64)))
    return table.append_column(KIND, pa.array(np.zeros(n, np.int8)))


def _kept(table: pa.Table) -> pa.Table:
    """The kept rows of a union (or input) table."""
    if KIND in table.column_names and table.num_rows:
        return table.filter(pc.equal(table.column(KIND), 0))
    return table


def _data_batches(table: pa.Table, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The data columns of ``table`` as batches with exactly ``schema``."""
    for batch in table.select(schema.names).combine_chunks().to_batches():
        if batch.num_rows:
            yield conform(batch, schema, "Ray block")


def _one_batch(table: pa.Table, schema: pa.Schema) -> pa.RecordBatch | None:
    """The kept rows of a block as one batch with ``schema``; None when it has none."""
    kept = _kept(table)
    if kept.num_rows == 0:
        return None
    return conform(kept.select(schema.names).combine_chunks().to_batches()[0], schema, "Ray block")


class _DriverBatches:
    """Re-iterable kept batches of materialized blocks, fetched to the driver one at a time in order."""

    def __init__(self, blocks: list[Any], schema: pa.Schema) -> None:
        self.blocks = blocks
        self.schema = schema

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        import ray

        for ref in self.blocks:
            batch = _one_batch(ray.get(ref), self.schema)
            if batch is not None:
                yield batch


def _positions(segments: list[Segment], index: int) -> range:
    """The recipe positions of segment ``index``'s steps."""
    start = sum(len(s.steps) for s in segments[:index])
    return range(start, start + len(segments[index].steps))


def _ordered_exclusions(
    parts: list[pa.Table], offsets: np.ndarray, segment_of: dict[int, int]
) -> list[pa.RecordBatch]:
    """The exclusion rows as EXCLUSION_SCHEMA batches, in LocalExecutor's order: by segment,
    then input batch, then step, then input position."""
    names = [SEQ, POS, *(EXCL_PREFIX + f.name for f in EXCLUSION_SCHEMA)]
    parts = [p.select(names) for p in parts if p.num_rows]
    if not parts:
        return []
    table = pa.concat_tables(parts)
    seq = table.column(SEQ).to_numpy()
    pos = table.column(POS).to_numpy()
    batch_index = np.searchsorted(offsets, seq, side="right") - 1
    segment = np.array([segment_of[int(p)] for p in pos], dtype=np.int64) if len(pos) else pos
    order = np.lexsort((seq, pos, batch_index, segment))
    columns = [table.column(EXCL_PREFIX + f.name).take(pa.array(order)) for f in EXCLUSION_SCHEMA]
    return pa.Table.from_arrays(columns, schema=EXCLUSION_SCHEMA).combine_chunks().to_batches()


# --- errors -------------------------------------------------------------------------------------


_ERROR_LINE = re.compile(r"^datamoat\.errors\.(\w+): (.+)$", re.MULTILINE)


def _datamoat_cause(err: BaseException) -> DatamoatError | None:
    """The datamoat error a step raised on a worker, found in the chain of a Ray error.

    Ray Data wraps an exception raised in a task in a UserCodeException whose ``__cause__`` does
    not survive pickling, so when the chain has none, the error is rebuilt from the last
    ``datamoat.errors.<Class>: <message>`` line of the worker's traceback text."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DatamoatError):
            return current
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else (current.__cause__ or current.__context__)
    found = _ERROR_LINE.findall(str(getattr(err, "traceback_str", "") or err))
    if found:
        from datamoat import errors

        cls = getattr(errors, found[-1][0], None)
        message = found[-1][1].strip()
        if isinstance(cls, type) and issubclass(cls, DatamoatError):
            try:
                return cls(message)
            except TypeError:  # a class with more fields (InputError): the sentence is all we have
                return DatamoatError(message)
    return None


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__

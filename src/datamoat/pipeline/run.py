"""The result of running a recipe: the kept rows as a stream, then exclusions and counts.

An executor returns a :class:`RecipeRun` at once; the work happens while :meth:`RecipeRun.batches`
is consumed (so the output can be written as it is produced, in bounded memory). The
exclusions and the counts are complete once that stream is exhausted; reading them earlier
raises RuntimeError. :meth:`RecipeRun.drain` consumes the stream without keeping it, for a
dry run that only wants the counts ("stats, then decide").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import pyarrow as pa

from datamoat.pipeline.exclusions import EXCLUSION_SCHEMA, REASON_COLUMN, STEP_COLUMN
from datamoat.pipeline.plan import conform


class RunCounts:
    """Row counts of one run, filled in by the executor as batches flow.

    rows_in: rows read from the source.
    rows_out: rows in the kept output.
    dropped: step label -> reason -> number of rows dropped.
    finished: True once the whole input has been processed.
    """

    def __init__(self) -> None:
        self.rows_in = 0
        self.rows_out = 0
        self.dropped: dict[str, Counter[str]] = {}
        self.finished = False

    def add_exclusions(self, batch: pa.RecordBatch) -> None:
        """Count the rows of one exclusions batch by step and reason."""
        if batch.num_rows == 0:
            return
        counts = (
            pa.table(batch)
            .group_by([STEP_COLUMN, REASON_COLUMN], use_threads=False)
            .aggregate([([], "count_all")])
        )
        for step, reason, n in zip(*(counts.column(i).to_pylist() for i in range(3)), strict=True):
            self.dropped.setdefault(step, Counter())[reason] += n

    def rows_dropped(self) -> int:
        """Rows dropped by all steps together."""
        return sum(sum(c.values()) for c in self.dropped.values())


class RecipeRun:
    """A recipe run in progress; see the module docstring.

    kept: iterator of kept batches (final output), doing the work as it is consumed; it must
        set ``counts.finished`` when exhausted.
    counts: the counts the iterator fills in.
    exclusions: callable giving a fresh iterator over the exclusions batches
        (:data:`~datamoat.pipeline.exclusions.EXCLUSION_SCHEMA`), valid once finished.
    schema: the schema of the kept output, or None if the source had no batches. Batches
        have it when the input batches share one schema; otherwise they may differ as the
        input batches did (a column all null in one batch ...), like a reader's batches.
    cleanup: called by :meth:`close` (removes scratch files).
    """

    def __init__(
        self,
        kept: Iterator[pa.RecordBatch],
        counts: RunCounts,
        exclusions: Callable[[], Iterator[pa.RecordBatch]],
        schema: pa.Schema | None,
        cleanup: Callable[[], None] | None = None,
    ) -> None:
        self._kept = kept
        self._started = False
        self.counts = counts
        self._exclusions = exclusions
        self.schema = schema
        self._cleanup = cleanup

    # --- the output ---------------------------------------------------------------------------

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The kept batches in input order; can be iterated only once."""
        if self._started:
            raise RuntimeError("RecipeRun.batches() can be consumed only once.")
        self._started = True
        return self._kept

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self.batches()

    def to_table(self) -> pa.Table:
        """Consume the output into one table (only for small data and tests)."""
        batches = list(self.batches())
        if self.schema is None:
            return pa.table({})
        return pa.Table.from_batches(
            [conform(b, self.schema, "recipe output") for b in batches], schema=self.schema
        )

    def drain(self) -> None:
        """Consume the output without keeping it, so exclusions and counts are complete."""
        if not self._started:
            for _ in self.batches():
                pass

    # --- what was dropped ---------------------------------------------------------------------

    def exclusions(self) -> Iterator[pa.RecordBatch]:
        """The exclusions batches, in the order rows were dropped; after the output is consumed."""
        self._require_finished("exclusions")
        return self._exclusions()

    def exclusions_table(self) -> pa.Table:
        """All exclusions as one table with EXCLUSION_SCHEMA."""
        return pa.Table.from_batches(list(self.exclusions()), schema=EXCLUSION_SCHEMA)

    @property
    def rows_in(self) -> int:
        """Rows read from the source."""
        self._require_finished("rows_in")
        return self.counts.rows_in

    @property
    def rows_out(self) -> int:
        """Rows in the kept output."""
        self._require_finished("rows_out")
        return self.counts.rows_out

    @property
    def rows_dropped(self) -> int:
        """Rows dropped by all steps (``rows_in == rows_out + rows_dropped``)."""
        self._require_finished("rows_dropped")
        return self.counts.rows_dropped()

    @property
    def drop_counts(self) -> dict[str, dict[str, int]]:
        """Step label (``"3:length_filter"``) -> reason -> rows dropped, in recipe order."""
        self._require_finished("drop_counts")
        return {step: dict(c) for step, c in sorted(self.counts.dropped.items(), key=_label_order)}

    @property
    def dropped_by_step(self) -> dict[str, int]:
        """Step label -> rows that step dropped."""
        return {step: sum(c.values()) for step, c in self.drop_counts.items()}

    @property
    def dropped_by_reason(self) -> dict[str, int]:
        """Reason -> rows dropped for it, over all steps."""
        total: Counter[str] = Counter()
        for counts in self.drop_counts.values():
            total.update(counts)
        return dict(total)

    # --- lifetime -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the run if still going and remove its scratch files; exclusions are gone after."""
        close = getattr(self._kept, "close", None)
        if close is not None:
            close()
        if self._cleanup is not None:
            self._cleanup()
            self._cleanup = None

    def __enter__(self) -> RecipeRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require_finished(self, what: str) -> None:
        if not self.counts.finished:
            raise RuntimeError(
                f"RecipeRun.{what} is known only after the output has been consumed (see drain())."
            )


def _label_order(item: tuple[str, object]) -> int:
    """Sort key for ``"<position>:<name>"`` labels: the position."""
    head = item[0].split(":", 1)[0]
    return int(head) if head.isdigit() else 0

"""Feedback + the current training data -> a new version of the training dataset, with lineage.

:func:`merge_feedback` streams the base version's rows into a
:class:`~datamoat.data.version_writer.VersionWriter`, appends one row per feedback record
(text and label; every other column null; row id ``feedback-<record_id>``) and registers the
result as the next version of the base's dataset with the base as its parent, step
``feedback`` and the record ids in its parameters. Feedback texts are stored as given: they
were PII-redacted when the prediction or the feedback was logged.

Internal ``_dm_`` columns other than the row id (stats a previous cleaning added, such as
``_dm_label_quality``) are left out: the next cleaning computes them afresh for all rows.
Synthetic rows (``_dm_synthetic`` set: a champion trained with ``--augment auto`` has the
augmented version as its training version) are left out too, on purpose: they must never
become real data of the next version; augmentation is made afresh from the real rows, and
gated again, by the training that asks for it. They stay in the augmented version they came
from, and the merged version records how many were left out (``synthetic_rows_left_out``).
A record whose row id the base already holds (it went into an earlier version whose retrain
stopped before marking it consumed) is not added twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.catalog.records import utc_now
from datamoat.clean.augment import SYNTHETIC_COLUMN
from datamoat.data.register import register_version
from datamoat.data.roles import ROW_ID_COLUMN
from datamoat.data.version import INTERNAL_PREFIX, Version
from datamoat.data.version_writer import VersionWriter
from datamoat.errors import DatamoatError

if TYPE_CHECKING:
    from datamoat.workspace import Workspace

FEEDBACK_STEP = "feedback"
"""The step name recorded for versions made by :func:`merge_feedback`."""
FEEDBACK_ROW_PREFIX = "feedback-"
FEEDBACK_COLUMNS = ("record_id", "text", "label")


def feedback_row_id(record_id: Any) -> str:
    """The row id a feedback record gets in a training version: ``feedback-<record_id>``."""
    return f"{FEEDBACK_ROW_PREFIX}{record_id}"


@dataclass(frozen=True)
class MergeResult:
    """What :func:`merge_feedback` made.

    version: the merged version (a child of ``base``). created: False when identical content
    existed already (the same feedback merged into the same base before).
    base_rows: real rows taken from the base. added_record_ids: feedback records appended as
    rows. skipped_record_ids: records already present in the base (by row id), not added again.
    synthetic_left_out: the base's synthetic rows (``_dm_synthetic`` set), not taken.
    """

    version: Version
    created: bool
    base_rows: int
    added_record_ids: list[int] = field(default_factory=list)
    skipped_record_ids: list[int] = field(default_factory=list)
    synthetic_left_out: int = 0

    @property
    def rows(self) -> int:
        """Rows in the merged version."""
        return self.version.num_rows


def _check_feedback(feedback: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in FEEDBACK_COLUMNS if c not in feedback.columns]
    if missing:
        raise DatamoatError(
            f"feedback rows need the columns record_id, text and label; {', '.join(missing)} missing."
        )
    out = feedback[list(FEEDBACK_COLUMNS)].copy()
    if out["record_id"].duplicated().any():
        dup = out.loc[out["record_id"].duplicated(), "record_id"].iloc[0]
        raise DatamoatError(f"feedback record {dup!r} occurs twice in the feedback rows.")
    return out


def _feedback_column(values: list[Any], field_: pa.Field, what: str, base_ref: str) -> pa.Array:
    """``values`` (text) as an array of ``field_``'s type; DatamoatError when they do not fit it."""
    arr = pa.array([None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v) for v in values],
                   pa.string())
    if arr.type.equals(field_.type):
        return arr
    try:
        return pc.cast(arr, field_.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        bad = next((v for v in values if v is not None), None)
        raise DatamoatError(
            f"feedback {what} {bad!r} cannot be stored in column {field_.name!r} of {base_ref}, "
            f"which holds {field_.type} ({exc})."
        ) from exc


def _base_feedback_ids(base: Version) -> set[str]:
    """Row ids of feedback rows the base already holds."""
    ids = base.to_arrow([ROW_ID_COLUMN]).column(ROW_ID_COLUMN).cast(pa.string())
    mask = pc.starts_with(ids, FEEDBACK_ROW_PREFIX)
    return set(pc.filter(ids, mask).to_pylist())


def split_new_feedback(base: Version, feedback: pd.DataFrame) -> tuple[pd.DataFrame, list[int]]:
    """The feedback rows whose records ``base`` does not hold yet, and the ids of those it holds."""
    rows = _check_feedback(feedback)
    present = _base_feedback_ids(base)
    fresh = [feedback_row_id(r) not in present for r in rows["record_id"]]
    skipped = [int(r) for r, ok in zip(rows["record_id"], fresh, strict=True) if not ok]
    return rows[fresh], skipped


def merge_feedback(
    ws: Workspace,
    base: Version,
    feedback: pd.DataFrame,
    *,
    model_name: str | None = None,
) -> MergeResult:
    """Register ``base`` + ``feedback`` as the next version of ``base.dataset``.

    base: the training version the rows are added to; it needs ``text`` and ``label`` roles
        (only ``text`` when every feedback label is null: a language model's documents).
    feedback: DataFrame[record_id, text, label] (one row per feedback record, texts already
        PII-redacted).
    model_name: recorded in the new version's source (which model's feedback it holds).
    Returns a :class:`MergeResult`; DatamoatError when there is nothing new to add or a label
    does not fit the base's label column type.
    """
    roles = base.roles
    text_col, label_col = roles.get("text"), roles.get("label")
    unlabelled = "label" in feedback.columns and bool(feedback["label"].isna().all())  # a language model's documents
    if not text_col or (not label_col and not unlabelled):
        raise DatamoatError(
            f"{base.ref} has no text and label roles, so feedback (a text and its label) cannot be added to it."
        )
    rows, skipped = split_new_feedback(base, feedback)
    if rows.empty:
        raise DatamoatError(f"every feedback record given is already in {base.ref}; there is nothing new to add.")

    columns = [f.name for f in base.schema if f.name == ROW_ID_COLUMN or not f.name.startswith(INTERNAL_PREFIX)]
    schema = pa.schema([base.schema.field(c) for c in columns])
    n = len(rows)
    arrays: list[pa.Array] = []
    for f in schema:
        if f.name == ROW_ID_COLUMN:
            arrays.append(_feedback_column([feedback_row_id(r) for r in rows["record_id"]], f, "row id", base.ref))
        elif f.name == text_col:
            arrays.append(_feedback_column(rows["text"].tolist(), f, "text", base.ref))
        elif label_col and f.name == label_col:
            arrays.append(_feedback_column(rows["label"].tolist(), f, "label", base.ref))
        else:
            arrays.append(pa.nulls(n, f.type))
    added = pa.RecordBatch.from_arrays(arrays, schema=schema)
    record_ids = [int(r) for r in rows["record_id"]]

    started = utc_now()
    synthetic = SYNTHETIC_COLUMN in base.schema.names
    taken = 0
    with VersionWriter(ws.store) as writer:
        for batch in base.batches(columns=[*columns, SYNTHETIC_COLUMN] if synthetic else columns):
            if synthetic:  # real rows only: a synthetic row never becomes real data
                batch = batch.filter(pc.is_null(batch.column(SYNTHETIC_COLUMN))).select(columns)
            taken += batch.num_rows
            writer.write(batch)
        writer.write(added)
        written = writer.finish(empty_schema=schema, roles=roles.to_dict())
    left_out = base.num_rows - taken
    params: dict[str, Any] = {"base": base.ref, "feedback_rows": n, "feedback_record_ids": record_ids}
    if left_out:
        params["synthetic_rows_left_out"] = left_out
    record, created = register_version(
        ws.catalog, base.dataset, written, roles,
        step=FEEDBACK_STEP, params=params, source={"feedback": {"model": model_name}},
        parents=[base.record.id], started=started,
        run_params={"input": base.ref, "model": model_name, "feedback_rows": n},
        summary={"rows_in": base.num_rows, "rows_out": written.row_count, "feedback_rows": n,
                 "synthetic_rows_left_out": left_out},
    )
    return MergeResult(Version(record, ws.store), created, taken, record_ids, skipped, left_out)

"""``insert_canaries`` (global step): put known strings into a copy of a corpus, for a memorisation check.

A memorisation check (Carlini et al., "The Secret Sharer", 2019; scored in
:mod:`datamoat.models.evaluation.lm_canaries`) needs the canaries in the training text *before*
PII redaction, so that the redaction gets the chance to remove the ones that look like personal
data, exactly as it would real secrets. This step inserts each of ``texts`` ``repeats`` times,
each time as a line of its own at a line boundary of a document, both chosen with a seeded
generator over the rows in row-id order (so the result depends on the rows and the seed only,
not on how the input is cut into batches). A row that gets canaries keeps its ``_dm_row_id``
(a diff shows it as changed); nothing is dropped. Stats column ``_dm_canaries`` (int64): how
many canary lines the row got.

It is for training copies only: run it on the training split, never on the validation or test
text, and do not serve a model trained on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa

from datamoat.data.roles import ROW_ID_COLUMN
from datamoat.pipeline.registry import register
from datamoat.pipeline.step import as_text, bad_param, check_int, require_row_ids, set_column
from datamoat.pipeline.text_step import TextColumnStep

CANARIES_COLUMN = "_dm_canaries"


def place_lines(docs: Sequence[str], texts: Sequence[str], repeats: int, seed: int) -> tuple[list[str], list[int]]:
    """(a copy of ``docs`` with each of ``texts`` inserted ``repeats`` times, canary lines per
    document). Each copy goes to a seeded random document, as a line of its own at a seeded
    random line boundary of it (at the end when it has no line break). ``docs`` is not changed;
    the same docs, texts, repeats and seed give the same result. The one placement of canaries:
    the ``insert_canaries`` step and the model side's
    :func:`~datamoat.models.evaluation.lm_canaries.insert_canaries` both call it."""
    out = list(docs)
    counts = [0] * len(out)
    if not out:
        return out, counts
    rng = np.random.default_rng(seed)
    for canary in texts:
        for _ in range(repeats):
            d = int(rng.integers(len(out)))
            doc = out[d]
            cuts = [i + 1 for i, ch in enumerate(doc) if ch == "\n"]
            at = cuts[int(rng.integers(len(cuts)))] if cuts else len(doc)
            line = canary + "\n" if at < len(doc) else ("\n" if doc and not doc.endswith("\n") else "") + canary
            out[d] = doc[:at] + line + doc[at:]
            counts[d] += 1
    return out, counts


@register
class InsertCanaries(TextColumnStep):
    """Insert each of ``texts`` ``repeats`` times into the documents (see the module docstring).

    column: the text column; None means the ``text`` role column. texts: the canary strings
    (one line each). repeats: copies of each canary. seed: where they go.
    """

    name = "insert_canaries"
    kind = "global"

    def __init__(
        self, *, column: str | None = None, texts: list[str] | tuple[str, ...] = (), repeats: int = 4, seed: int = 0
    ) -> None:
        super().__init__(column=column)
        if isinstance(texts, str) or not all(isinstance(t, str) and t.strip() and "\n" not in t for t in texts):
            raise bad_param(self.name, "texts", f"must be a list of one-line strings, got {texts!r}")
        self.texts = list(texts)
        self.repeats = check_int(self.name, "repeats", repeats, minimum=1, optional=False)
        self.seed = check_int(self.name, "seed", seed, optional=False)
        self._new: dict[str, tuple[str, int]] = {}

    def bind(self, roles, schema: pa.Schema) -> None:  # noqa: ANN001 - the base signature
        """Resolve the text column; the rows are found by id."""
        super().bind(roles, schema)
        require_row_ids(self.name, schema, "to find the rows it inserted into")

    def fit(self, batches: Iterable[pa.RecordBatch]) -> None:
        """Choose the rows and line boundaries; remember each changed row's new text."""
        rows: dict[str, str] = {}
        for b in batches:
            ids = b.column(ROW_ID_COLUMN).cast(pa.string()).to_pylist()
            for rid, text in zip(ids, as_text(b.column(self._resolved)).to_pylist(), strict=True):
                if text is not None:
                    rows[rid] = text
        self._new = {}
        if not rows or not self.texts:
            return
        order = sorted(rows)
        placed, counts = place_lines([rows[rid] for rid in order], self.texts, self.repeats, self.seed)
        self._new = {order[i]: (placed[i], n) for i, n in enumerate(counts) if n}

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The chosen rows' texts with their canaries; ``_dm_canaries`` per row."""
        ids = batch.column(ROW_ID_COLUMN).cast(pa.string()).to_pylist()
        texts = as_text(batch.column(self._resolved)).to_pylist()
        found = [self._new.get(rid) for rid in ids]
        new = [f[0] if f is not None else t for f, t in zip(found, texts, strict=True)]
        batch = set_column(batch, self._resolved, pa.array(new, pa.string()))
        return set_column(batch, CANARIES_COLUMN, pa.array([f[1] if f else 0 for f in found], pa.int64()))

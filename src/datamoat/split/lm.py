"""The split of a language-model corpus: whole documents, or contiguous text, never single lines.

:func:`lm_split_indices` gives every row 0 (train), 1 (valid) or 2 (test), in one of two ways:

* **Contiguous** (the rows are pieces of longer text in order: an ``order`` column, by default
  ``block`` - the text reader's block mode - else ``line``): the rows are put in reading order
  (by ``source_file`` when there is one, then by the order column) and the sequence is cut in
  three ranges by characters: the first ``1 - valid_size - test_size`` of the text is train,
  the next ``valid_size`` valid, the last ``test_size`` test. The validation and test text is
  the tail of the corpus (for several files, the last files in name order and the tail of the
  one that straddles a cut), so no validation line sits between training lines, and a model
  is scored on text that follows what it read, as it will be used. The seed plays no part.
* **By document** (one row per document: a folder read one file per row, a text column):
  :func:`datamoat.split.assign.split_indices` with the ``group`` role (else ``source_file``)
  as the group, no stratification, and exact and near duplicates kept on one side, so a
  document and its copy are never split apart.

Either way a row (a document or a block) goes whole to one side, so no validation text is
trained on unless the same text occurs in two rows; the LM recipe removes exact and near
duplicate rows before the split (:mod:`datamoat.clean.lm_recipe`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.corpus import DOCUMENT_COLUMN, ORDER_COLUMNS
from datamoat.data.roles import ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.split.assign import DEFAULT_NEAR_DUP_THRESHOLD, split_fractions, split_indices


def order_column(table: pa.Table, order: str | None = None) -> str | None:
    """The column that orders the rows as contiguous text, or None for documents.

    order: a column to use (DatamoatError when the table lacks it); None picks the first of
    :data:`ORDER_COLUMNS` the table has.
    """
    if order is not None:
        if order not in table.column_names:
            raise DatamoatError(f"lm split: no order column {order!r} in the data.")
        return order
    return next((c for c in ORDER_COLUMNS if c in table.column_names), None)


def lm_split_indices(
    table: pa.Table,
    roles: ColumnRoles,
    *,
    valid_size: float = 0.1,
    test_size: float = 0.1,
    seed: int = 0,
    order: str | None = None,
    near_dup_threshold: float | None = DEFAULT_NEAR_DUP_THRESHOLD,
) -> np.ndarray:
    """int8 split code per row of ``table`` (0 train, 1 valid, 2 test); see the module docstring.

    valid_size, test_size: shares of the text (contiguous) or of the documents (by document).
    seed: the document split's seed. order: the order column (None: ``block``, else ``line``,
    else the split is by document). near_dup_threshold: Jaccard at which two documents stay on
    one side (by document only; None: exact duplicates only).
    """
    fractions = split_fractions(test_size, valid_size)
    if table.num_rows == 0:
        return np.empty(0, dtype=np.int8)
    column = order_column(table, order)
    if column is not None:
        return _contiguous(table, roles, column, fractions)
    single = {"text": roles.get("text")} if roles.get("text") else {}
    group = roles.get("group") or (DOCUMENT_COLUMN if DOCUMENT_COLUMN in table.column_names else None)
    if group is not None:
        single["group"] = group
    return split_indices(
        table, ColumnRoles.from_dict(single), test_size=test_size, valid_size=valid_size, seed=seed,
        near_dup_threshold=near_dup_threshold,
    )


def _contiguous(table: pa.Table, roles: ColumnRoles, column: str, fractions: np.ndarray) -> np.ndarray:
    """Cut the rows, in reading order, into train / valid / test ranges by characters."""
    keys = [(column, "ascending")]
    if DOCUMENT_COLUMN in table.column_names and column != DOCUMENT_COLUMN:
        keys.insert(0, (DOCUMENT_COLUMN, "ascending"))
    position = pa.array(np.arange(table.num_rows))
    reading = pc.sort_indices(table.append_column("__pos", position), sort_keys=[*keys, ("__pos", "ascending")])
    reading = reading.to_numpy()
    text = roles.get("text")
    if text is None or text not in table.column_names:
        raise DatamoatError("lm split: the data has no text column (give the text role).")
    chars = pc.fill_null(pc.utf8_length(table.column(text).cast(pa.string())), 0).to_numpy()
    ends = np.cumsum(chars[reading].astype(np.float64))
    total = ends[-1] if len(ends) else 0.0
    starts = ends - chars[reading]  # characters before each row, in reading order
    cut_valid = total * fractions[0]
    cut_test = total * (fractions[0] + fractions[1])
    code = np.where(starts < cut_valid, 0, np.where(starts < cut_test, 1, 2)).astype(np.int8)
    out = np.empty(table.num_rows, dtype=np.int8)
    out[reading] = code
    return out

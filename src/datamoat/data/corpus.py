"""How a language-model corpus is read: which reader and options make one row per document.

:func:`corpus_read_options` decides, from the path alone, before anything is read:

* a **folder**: the text reader in ``file`` mode, one row per file (the document), no label;
* a **table file** (CSV/TSV, JSON, JSON Lines, Parquet, by extension or ``format``): its rows
  are the documents and the text column is ``text`` (given, else inferred at ingest as for any
  dataset, :mod:`datamoat.data.role_inference`);
* any other **file** (``.txt``, ``.md``, no extension ...): one long text, read in the text
  reader's ``block`` mode: contiguous blocks of whole paragraphs of at least ``block_chars``
  characters, with a ``block`` index that keeps their order (:mod:`.readers.text_folder`).

An existing dataset with a text column is a corpus as it is (no re-ingest needed).

:func:`corpus_texts` goes back the other way for a model: the texts of a version's rows, with
neighbouring blocks (or lines) of one file joined into one document, so a language model reads
a split of one long file as continuous text, not as blocks cut apart.
"""

from __future__ import annotations

import os
from typing import Any

import pyarrow as pa

from datamoat.data.readers.text_folder import DEFAULT_BLOCK_CHARS

TABLE_EXTENSIONS = (".csv", ".tsv", ".tab", ".json", ".jsonl", ".ndjson", ".parquet", ".pq")
TABLE_FORMATS = ("csv", "tsv", "json", "jsonl", "ndjson", "parquet", "sql")


def corpus_read_options(
    path: str, *, format: str | None = None, block_chars: int = DEFAULT_BLOCK_CHARS  # noqa: A002
) -> tuple[str | None, dict[str, Any]]:
    """``(format, reader options)`` that read ``path`` as a corpus (see the module docstring).

    format: the user's format, if any (a table format keeps the table reading). block_chars:
    the least characters per block of a long text file.
    """
    fmt = (format or "").lower() or None
    if os.path.isdir(path):
        return "text", {"mode": "file", "label_from": "none"}
    if fmt in TABLE_FORMATS or "://" in path or (fmt is None and os.path.splitext(path)[1].lower() in TABLE_EXTENSIONS):
        return fmt, {}
    return "text", {"mode": "block", "block_chars": block_chars}


ORDER_COLUMNS: tuple[str, ...] = ("block", "line")
"""Columns that mark rows as pieces of a longer text in reading order (block mode, then line mode)."""
DOCUMENT_COLUMN = "source_file"
JOINERS = {"block": "\n\n", "line": "\n"}
"""What joins two neighbouring rows back into text: blocks were cut at blank lines, lines at line ends."""


def corpus_texts(table: pa.Table, text: str) -> list[str]:
    """The documents of a corpus version's rows, for a language model to read.

    Rows without an order column (:data:`ORDER_COLUMNS`) are documents as they are (null texts
    left out), in row order. Ordered rows (blocks or lines of a file) are put in reading order
    (``source_file``, then the order column) and neighbours are joined back into one text with
    :data:`JOINERS`: a run of consecutive blocks (or lines) of one file is one document, and a gap
    (a row the recipe dropped, or the other side of a split) starts a new one, so no text is
    joined across a hole. A row without an order value (a feedback document a retrain added) is
    a document of its own, after the others. table: the rows; text: the text column. Returns the texts in order.
    """
    order = next((c for c in ORDER_COLUMNS if c in table.column_names), None)
    if order is None:
        return [t for t in table.column(text).to_pylist() if t is not None]
    files = table.column(DOCUMENT_COLUMN).to_pylist() if DOCUMENT_COLUMN in table.column_names else [None] * table.num_rows
    triples = list(zip(files, table.column(order).to_pylist(), table.column(text).to_pylist(), strict=True))
    rows = sorted(((f or "", int(i), t) for f, i, t in triples if t is not None and i is not None),
                  key=lambda r: (r[0], r[1]))
    loose = [t for _, i, t in triples if t is not None and i is None]  # e.g. a retrain's feedback documents
    out: list[str] = []
    last: tuple[str, int] | None = None
    for file, index, body in rows:
        if last is not None and last[0] == file and index - last[1] == 1:
            out[-1] += JOINERS[order] + body
        else:
            out.append(body)
        last = (file, index)
    return out + loose

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
"""

from __future__ import annotations

import os
from typing import Any

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

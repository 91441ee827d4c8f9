"""Read plain text: a folder of text files, or one text file, as documents.

Three modes:

* ``"file"``: one row per file, the whole (decoded) file is the document.
* ``"block"``: a corpus cut into contiguous blocks of whole paragraphs (paragraphs are
  separated by blank lines): paragraphs are added to a block until it holds at least
  ``block_chars`` characters; a paragraph that alone runs past twice ``block_chars`` is cut at
  line ends (one line longer than that stays whole). The ``block`` column is the 0-based index
  of the block in its file and ``line`` its first physical line, so the blocks keep their order;
  the blank lines between two blocks are dropped, those inside a block are kept. For one long
  text file (a book, a log) as a language-model corpus, whose validation part must be
  contiguous text (:mod:`datamoat.split.lm`).
* ``"line"``: one row per line of each file; the ``line`` column is the 1-based physical line.
  Blank lines (only whitespace) of a single text file are kept by default, so a corpus
  ingests intact, one row per physical line (for language-model training, blank lines
  separate paragraphs); in a folder, where each line is one example, they are dropped by
  default. ``keep_blank`` overrides either default; blank lines are counted in
  ``info.options["blank_lines"]`` once :meth:`TextSource.batches` has run. Line endings are removed, other whitespace is kept.

Labels (the ``label`` column) come from:

* ``"folder"``: the name of the file's parent folder (``root/<label>/doc.txt``); null for
  files directly in the root;
* ``"file"``: the file name without extension (``root/<label>.txt``, one document per line);
* ``"extension"``: the file's extension without the dot (``rt-polarity.pos``,
  ``rt-polarity.neg``);
* ``"none"``: no label column.

Defaults for a folder: when any file sits in a subfolder, ``mode="file"`` and
``label_from="folder"``; when all files sit directly in the root, ``mode="line"`` and the
label comes from whatever tells the files apart: the file name when the names (without
extension) differ, else the extension when those differ. The choice is in
``info.options["label_from"]`` and, when it was not given, said in ``info.warnings``. For a
single file: ``mode="line"`` and ``label_from="none"``.

Which files of a folder: every non-hidden file (``pattern``, a glob, narrows it), except binary
ones: a file the encoding scan finds a NUL byte in (:class:`~.encoding.BinaryFileError`; a
UTF-16/32 file with a byte-order mark is text) is skipped and named in ``info.warnings``
(counted in ``info.options["binary_files"]``); a single binary file is refused. Columns: ``text``, ``label`` (unless
``"none"``), ``source_file`` (path relative to the folder, or the file name), and ``line`` in
line mode. Files are read in sorted path order; hidden files and folders (name starting with
``.``) are skipped, and so are empty files (counted in ``info.options["empty_files"]``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pyarrow as pa

from datamoat.data.readers.base import DEFAULT_BATCH_ROWS, BadRow, BadRowCallback, SourceInfo
from datamoat.data.readers.decode_errors import SKIP_REASON, escaped, undecodable
from datamoat.data.readers.encoding import BinaryFileError, TextScan, scan_text_file
from datamoat.errors import InputError

Mode = Literal["file", "line", "block"]
MODES: tuple[str, ...] = ("file", "line", "block")
DEFAULT_BLOCK_CHARS = 2000
"""Characters a corpus block holds at least (``mode="block"``), the last block of a file aside."""
LabelFrom = Literal["folder", "file", "extension", "none"]
LABEL_SOURCES = {"folder": "sub-folder", "file": "file name", "extension": "file extension"}
def _flat_label_from(files: list[Path]) -> LabelFrom:
    """``"file"`` when the names (without extension) tell the files apart, else ``"extension"``
    when the extensions do, else ``"file"``."""
    if len({f.stem for f in files}) > 1 or len({f.suffix for f in files}) < 2:
        return "file"
    return "extension"


def list_text_files(root: Path, pattern: str) -> list[Path]:
    """Files under ``root`` matching ``pattern`` (recursive), sorted, hidden ones skipped."""
    found = []
    for path in root.rglob(pattern):
        relative = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            found.append(path)
    return sorted(found)


class TextSource:
    """Documents from a text folder or one text file; see the module docstring.

    ``path``: a folder or a file. ``mode`` / ``label_from``: None picks the defaults above.
    ``keep_blank``: keep blank lines in line mode (default: yes for a file, no for a folder). ``encoding``: force a codec for every file.
    ``pattern``: which files of a folder to read (glob, default: every file; binary ones are skipped).
    ``on_decode_error`` / ``bad_row``: see :mod:`.decode_errors` (skipped rows go to ``bad_row``).
    ``batch_rows``: maximum rows per batch. ``block_chars``: the least characters of a block
    (``mode="block"``; see the module docstring).
    """

    def __init__(
        self,
        path: str,
        *,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        mode: Mode | None = None,
        label_from: LabelFrom | None = None,
        keep_blank: bool | None = None,
        encoding: str | None = None,
        on_decode_error: str = "fail",
        pattern: str | None = None,
        bad_row: BadRowCallback | None = None,
        block_chars: int = DEFAULT_BLOCK_CHARS,
    ) -> None:
        root = Path(path)
        self.is_folder = root.is_dir()
        # a single file is a corpus: keep it intact; in a folder each line is an example
        keep_blank = (not self.is_folder) if keep_blank is None else keep_blank
        self.path, self.batch_rows, self.keep_blank = path, batch_rows, keep_blank
        self.root = root if self.is_folder else root.parent
        if mode is not None and mode not in MODES:
            raise InputError(path, f"unknown text mode {mode!r}; use 'file', 'line' or 'block'")
        if isinstance(block_chars, str) and block_chars.strip().isdigit():  # -o block_chars=3000
            block_chars = int(block_chars)
        if isinstance(block_chars, bool) or not isinstance(block_chars, int) or block_chars < 1:
            raise InputError(path, f"block_chars must be a whole number of at least 1, not {block_chars!r}")
        self.block_chars = block_chars
        if label_from is not None and label_from not in ("folder", "file", "extension", "none"):
            raise InputError(path, f"unknown label_from {label_from!r}; use 'folder', 'file', 'extension' or 'none'")
        files = list_text_files(root, pattern or "*") if self.is_folder else [root]
        scans: dict[Path, TextScan] = {}
        binary: list[Path] = []
        for file in files:
            if self.is_folder and file.stat().st_size == 0:
                continue
            try:
                scans[file] = scan_text_file(str(file), encoding=encoding, on_decode_error=on_decode_error)
            except BinaryFileError:
                if not self.is_folder:
                    raise
                binary.append(file)  # a NUL byte outside UTF-16/32: skipped and named below
        skip = set(binary)
        files = [f for f in files if f not in skip]
        if not files:
            skipped = f" ({len(binary)} binary file(s) skipped)" if binary else ""
            what = "no text files" if binary and not pattern else f"no files matching {pattern or '*'!r}"
            hint = "give another -o pattern=GLOB, or none to read every text file" if pattern else (
                "choose the files with -o pattern=GLOB")
            raise InputError(path, f"the folder has {what}{skipped}; {hint}")
        nested = any(f.parent != self.root for f in files)
        self.mode: Mode = mode or ("file" if nested else "line")
        default_label: LabelFrom = "none" if not self.is_folder else ("folder" if nested else _flat_label_from(files))
        self.label_from: LabelFrom = label_from or default_label
        self.files: list[tuple[Path, TextScan]] = [(f, scans[f]) for f in files if f in scans]
        empty = len(files) - len(self.files)
        self.bad_row = bad_row
        if not self.files:
            raise InputError(path, "every text file in the folder is empty")
        encodings = Counter(scan.encoding for _, scan in self.files)
        self.info = SourceInfo(
            path=path,
            format="text",
            options={
                "mode": self.mode,
                "label_from": self.label_from,
                "keep_blank": keep_blank,
                "files": len(self.files),
                "empty_files": empty,
                "lines": sum(scan.lines for _, scan in self.files),
                "encoding": next(iter(encodings)) if len(encodings) == 1 else dict(encodings),
                "undecodable_lines": sum(scan.bad_lines for _, scan in self.files),
                "binary_files": len(binary),
                **({"block_chars": block_chars} if self.mode == "block" else {}),
            },
            warnings=[scan.warning for _, scan in self.files if scan.warning],
        )
        self.info.roles = {"text": "text", **({"label": "label"} if self.label_from != "none" else {})}
        if binary:
            names = ", ".join(f.relative_to(self.root).as_posix() for f in binary[:10])
            more = f" and {len(binary) - 10} more" if len(binary) > 10 else ""
            self.info.warnings.append(f"{path}: skipped {len(binary)} binary file(s): {names}{more}")
        if self.is_folder and label_from is None and self.label_from in LABEL_SOURCES:
            labels = sorted({lab for f, _ in self.files if (lab := self._label(f)) is not None})
            shown = ", ".join(map(repr, labels[:5])) + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
            self.info.warnings.append(
                f"{path}: labels taken from the {LABEL_SOURCES[self.label_from]} ({shown}); "
                "override with -o label_from=folder|file|extension|none")

    @property
    def schema(self) -> pa.Schema:
        """``text``, ``label`` (unless label_from is "none"), ``source_file``, ``block`` (block
        mode), ``line`` (line and block modes)."""
        fields = [pa.field("text", pa.string())]
        if self.label_from != "none":
            fields.append(pa.field("label", pa.string()))
        fields.append(pa.field("source_file", pa.string()))
        if self.mode == "block":
            fields.append(pa.field("block", pa.int64()))
        if self.mode in ("line", "block"):
            fields.append(pa.field("line", pa.int64()))
        return pa.schema(fields)

    def _label(self, file: Path) -> str | None:
        if self.label_from == "file":
            return file.stem
        if self.label_from == "extension":
            return file.suffix.lstrip(".") or None
        if self.label_from == "folder":
            return file.parent.name if file.parent != self.root else None
        return None

    def _rows(self, blank: list[int]) -> Iterator[tuple[str, str | None, str, int | None, int | None]]:
        """(text, label, source_file, line, block) for every document; counts dropped blank lines."""
        for file, scan in self.files:
            label, name = self._label(file), file.relative_to(self.root).as_posix()
            skip_undecodable = scan.errors == "surrogateescape"  # else no row can hold a bad byte
            with open(file, encoding=scan.encoding, errors=scan.errors) as f:
                if self.mode == "block":
                    lines = ((n, line.rstrip("\n")) for n, line in enumerate(f, start=1))
                    kept = ((n, t) for n, t in lines
                            if not (skip_undecodable and self._undecodable(t, name, n, scan.encoding)))
                    for index, (first, text) in enumerate(paragraph_blocks(kept, self.block_chars, blank)):
                        yield text, label, name, first, index
                    continue
                if self.mode == "file":
                    text = f.read()
                    if not (skip_undecodable and self._undecodable(text, name, None, scan.encoding)):
                        yield text, label, name, None, None
                    continue
                for number, line in enumerate(f, start=1):
                    text = line.rstrip("\n")
                    if skip_undecodable and self._undecodable(text, name, number, scan.encoding):
                        continue
                    if not self.keep_blank and not text.strip():
                        blank[0] += 1
                        continue
                    yield text, label, name, number, None

    def _undecodable(self, text: str, name: str, line: int | None, codec: str) -> bool:
        """True (and the row reported to ``bad_row``) when ``text`` holds bytes that did not
        decode; happens only with ``on_decode_error="skip-row"``."""
        if not undecodable(text):
            return False
        if self.bad_row is not None:
            self.bad_row(BadRow(line=line, reason=f"{name}: {SKIP_REASON.format(codec=codec)}", raw=escaped(text)))
        return True

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield the documents, at most ``batch_rows`` per batch (at least one batch)."""
        blank = [0]
        columns: list[list[object]] = [[], [], [], [], []]
        produced = False
        for row in self._rows(blank):
            for column, value in zip(columns, row, strict=True):
                column.append(value)
            if len(columns[0]) >= self.batch_rows:
                produced = True
                yield self._batch(columns)
                columns = [[], [], [], [], []]
        if self.mode == "block" and not produced and not columns[0]:
            raise InputError(self.path, "the corpus holds no text, only blank lines")
        if columns[0] or not produced:
            yield self._batch(columns)
        if self.mode in ("line", "block"):
            self.info.options["blank_lines"] = blank[0]

    def _batch(self, columns: list[list[object]]) -> pa.RecordBatch:
        text, label, source, line, block = columns
        arrays = {"text": text, "label": label, "source_file": source, "line": line, "block": block}
        schema = self.schema
        return pa.RecordBatch.from_arrays(
            [pa.array(arrays[f.name], type=f.type) for f in schema], schema=schema
        )


def paragraph_blocks(
    lines: Iterator[tuple[int, str]], block_chars: int, blank: list[int]
) -> Iterator[tuple[int, str]]:
    """Group numbered lines into blocks of whole paragraphs (see the module docstring).

    lines: ``(line number, text without the line end)`` in file order. block_chars: the least
    characters of a block (the file's last block may be shorter). blank: ``blank[0]`` counts
    the blank lines dropped between blocks. Yields ``(first line number, block text)``: the
    lines joined with ``"\\n"``, blank lines inside the block kept, none at its ends.
    """
    block: list[str] = []
    size, first = 0, 0
    pending_blank = 0  # blank lines seen after the block's last text line
    for number, text in lines:
        if not text.strip():
            if block:
                pending_blank += 1
                if size >= block_chars:  # a paragraph ends and the block is full
                    yield first, "\n".join(block)
                    blank[0] += pending_blank
                    block, size, pending_blank = [], 0, 0
            else:
                blank[0] += 1
            continue
        if block and size >= 2 * block_chars:  # one paragraph runs on: cut at this line end
            yield first, "\n".join(block)
            blank[0] += pending_blank
            block, size, pending_blank = [], 0, 0
        if not block:
            first = number
        block.extend([""] * pending_blank)
        size += pending_blank + len(text) + (1 if len(block) else 0)
        pending_blank = 0
        block.append(text)
    if block:
        blank[0] += pending_blank
        yield first, "\n".join(block)

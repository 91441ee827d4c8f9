"""Find a text file's encoding, and check its line lengths, in one streaming pass.

:func:`scan_text_file` reads the file once in 1 MiB chunks (constant memory) and decides:

* a UTF-16/32 byte-order mark -> that codec; a UTF-8 BOM -> ``"utf-8-sig"``;
* otherwise ``"utf-8"`` when every byte of the whole file decodes as UTF-8;
* otherwise ``"cp1252"`` (Windows Western European, the usual non-UTF-8 export) when most of
  its non-ASCII bytes are not UTF-8 (more invalid bytes than bytes of valid multi-byte UTF-8
  characters) and no byte is one of the five bytes cp1252 leaves undefined; this is never
  silent: :attr:`TextScan.warning` names the encoding and the first non-UTF-8 line;
* otherwise the file is UTF-8 with damaged bytes (or not in the forced codec), and
  ``on_decode_error`` decides (:mod:`.decode_errors`): ``fail`` (default, an
  :class:`~datamoat.errors.InputError` naming the line and byte offset of the first bad byte),
  ``replace`` (U+FFFD) or ``skip-row`` (those rows go to the exclusions).

The same pass counts physical lines, rejects NUL bytes outside UTF-16/32 with a
:class:`BinaryFileError` (a binary file, e.g. a compressed or spreadsheet file renamed ``.csv``) and, when asked, rejects a physical line longer than
``max_line_bytes`` as soon as it passes the limit, without reading the rest of the file.
:func:`read_sample` then decodes the first few MiB for the sniffers.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass

import numpy as np

from datamoat.data.readers.decode_errors import (
    ESCAPED_BYTE,
    FIX_HINT,
    check_policy,
    damaged_scan,
    legacy_warning,
)
from datamoat.errors import InputError

CHUNK_BYTES = 1 << 20
"""Bytes read per step of the scan."""

MAX_LINE_BYTES = 64 << 20
"""Longest physical line (bytes) that the line-based readers accept: 64 MiB."""

SAMPLE_BYTES = 2 << 20
"""Bytes of the file's start that the sniffers look at: 2 MiB."""

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")


class BinaryFileError(InputError):
    """The file holds a NUL byte (outside UTF-16/32): a binary file, not text. A folder of text
    files skips such a file and names it; a single file is refused."""


def _first_cp1252_undefined(chunk: bytes) -> int:
    """Index of the first byte cp1252 cannot decode in ``chunk``, or -1 (memchr-fast)."""
    hits = [i for i in (chunk.find(b) for b in _CP1252_UNDEFINED) if i >= 0]
    return min(hits) if hits else -1


@dataclass(frozen=True)
class TextScan:
    """What one pass over a text file found.

    encoding: Python codec name to decode the file with (``utf-8``, ``utf-8-sig``, ``cp1252``,
        ``utf-16``, ``utf-32`` or the name the user forced).
    size_bytes: file size in bytes.
    lines: physical lines (a last line without a newline counts).
    longest_line_bytes: upper bound on the longest physical line, in bytes: exact when that
        line is longer than :data:`CHUNK_BYTES`, else ``min(size_bytes, CHUNK_BYTES)``.
    errors: the ``errors=`` to open the file with: ``strict``; ``replace`` (U+FFFD for bad
        bytes); ``surrogateescape`` (bad bytes kept as U+DC80..U+DCFF so that the reader can
        move their rows to the exclusions: policy ``skip-row``).
    warning: one line for the terminal when the file was not plain valid text in the chosen
        codec (read as cp1252, or bad bytes replaced / skipped); None otherwise.
    bad_lines: physical lines holding bytes the chosen codec cannot decode.
    """

    encoding: str
    size_bytes: int
    lines: int
    longest_line_bytes: int
    errors: str = "strict"
    warning: str | None = None
    bad_lines: int = 0


def _bom_encoding(head: bytes) -> str | None:
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None


def _is_wide(encoding: str) -> bool:
    """True for codecs where a newline is not the single byte 0x0A (UTF-16/32)."""
    name = codecs.lookup(encoding).name
    return name.startswith(("utf-16", "utf-32"))


class _LineCounter:
    """Counts newlines and tracks the current line's length across chunks (bytes)."""

    def __init__(self, path: str, max_line_bytes: int | None) -> None:
        self.path = path
        self.limit = max_line_bytes
        self.newlines = 0
        self.run = 0
        self.longest = 0

    def feed(self, chunk: bytes) -> None:
        first = chunk.find(b"\n")
        if first < 0:
            self.run += len(chunk)
        else:
            self.longest = max(self.longest, self.run + first)
            self._check(self.run + first)
            self.newlines += chunk.count(b"\n")
            self.run = len(chunk) - chunk.rfind(b"\n") - 1
        self._check(self.run)

    def _check(self, length: int) -> None:
        if self.limit is not None and length > self.limit:
            raise InputError(
                self.path,
                f"a single line is longer than the {self.limit >> 20} MiB limit "
                "(is this really a line-based text file?)",
                line=self.newlines + 1,
            )

    def line_of(self, chunk: bytes, index: int) -> int:
        """1-based line of byte ``index`` of ``chunk`` (the chunk not yet fed)."""
        return self.newlines + chunk.count(b"\n", 0, index) + 1


class _BadBytes:
    """Tallies the file's bad bytes, chunk by chunk: :meth:`clean` for a chunk that decoded
    strictly, :meth:`feed` with the surrogateescape decode of one that did not.

    invalid: bytes that did not decode (each became one U+DC80..U+DCFF character).
    valid_multibyte: bytes of properly decoded non-ASCII characters.
    lines: physical lines holding at least one invalid byte.
    first: (byte value, byte offset, line) of the first invalid byte, or None.
    """

    def __init__(self) -> None:
        self.invalid = 0
        self.valid_multibyte = 0
        self.lines = 0
        self.first: tuple[int, int, int] | None = None
        self._tail_bad = False  # the text after the last newline so far holds a bad byte

    def clean(self, raw_non_ascii: int, has_newline: bool) -> None:
        """A chunk that decoded strictly: ``raw_non_ascii`` bytes of valid characters."""
        self.valid_multibyte += raw_non_ascii
        self._tail_bad = self._tail_bad and not has_newline

    def feed(self, text: str, raw_non_ascii: int, byte_offset: int, line: int) -> None:
        """``text``: the chunk decoded with surrogateescape; ``raw_non_ascii``: its non-ASCII
        byte count; ``byte_offset`` / ``line``: where the chunk's text starts."""
        bad = ESCAPED_BYTE.search(text)
        if bad is None:
            self.clean(raw_non_ascii, "\n" in text)
            return
        invalid = ESCAPED_BYTE.subn("", text)[1]
        self.invalid += invalid
        self.valid_multibyte += max(raw_non_ascii - invalid, 0)
        if self.first is None:
            before = len(text[: bad.start()].encode("utf-8", "surrogateescape"))
            self.first = (ord(text[bad.start()]) - 0xDC00, byte_offset + before, line + text.count("\n", 0, bad.start()))
        lines, found = 0, bad
        while found is not None:  # one search per bad line, then on from the line's end
            lines += 1
            end = text.find("\n", found.start())
            found = None if end < 0 else ESCAPED_BYTE.search(text, end + 1)
        first_newline = text.find("\n")
        if self._tail_bad and (first_newline < 0 or bad.start() < first_newline):
            lines -= 1  # that line was counted with the previous chunk
        self.lines += lines
        last_newline = text.rfind("\n")
        tail_bad = ESCAPED_BYTE.search(text, last_newline + 1) is not None
        self._tail_bad = tail_bad or (last_newline < 0 and self._tail_bad)


def _non_ascii(chunk: bytes) -> int:
    """Bytes >= 0x80 in ``chunk`` (numpy: 20x faster than ``bytes.translate``)."""
    return int(np.count_nonzero(np.frombuffer(chunk, np.int8) < 0))


def scan_text_file(
    path: str,
    *,
    encoding: str | None = None,
    on_decode_error: str = "fail",
    max_line_bytes: int | None = MAX_LINE_BYTES,
) -> TextScan:
    """Scan ``path`` once and return its encoding, size, line statistics and decode policy.

    ``encoding`` forces a codec (it is still checked). ``on_decode_error`` (see
    :data:`~datamoat.data.readers.decode_errors.POLICIES`) says what to do with bytes the chosen
    codec cannot decode. ``max_line_bytes`` (None: no limit) makes a longer physical line an
    InputError. Raises InputError for an empty file or undecodable bytes under ``fail``, and
    its subclass :class:`BinaryFileError` for a NUL byte.
    """
    policy = check_policy(path, on_decode_error)
    size = os.path.getsize(path)
    if size == 0:
        raise InputError(path, "the file is empty")
    with open(path, "rb") as f:
        bom = _bom_encoding(f.read(4))
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(path, f"unknown encoding {encoding!r}") from None
    chosen = encoding or bom or "utf-8"
    wide = _is_wide(chosen)
    sig = codecs.lookup(chosen).name == "utf-8-sig"
    auto = encoding is None and bom is None
    counter = _LineCounter(path, None if wide else max_line_bytes)
    decoder = codecs.getincrementaldecoder(chosen)("strict")
    lenient = codecs.getincrementaldecoder(chosen)("surrogateescape")  # only for a chunk that fails
    wide_newlines, last_char = 0, ""
    bad = _BadBytes()
    cp1252_error: tuple[int, int, int] | None = None

    def decode(chunk: bytes, offset: int, final: bool = False) -> str:
        """Decode ``chunk`` strictly; only when that fails, decode it again with surrogateescape
        from the same decoder state, for ``bad`` to locate and count the bad bytes."""
        state = decoder.getstate()
        held = len(state[0])  # bytes of a character cut at the previous chunk's end
        try:
            text, damaged = decoder.decode(chunk, final), False
        except UnicodeDecodeError:
            lenient.setstate(state)
            try:
                text, damaged = lenient.decode(chunk, final), True
            except UnicodeDecodeError as err:  # UTF-16/32 bytes that surrogateescape cannot keep
                raise InputError(
                    path,
                    f"bytes at byte offset {offset - held + err.start} are not valid {chosen} "
                    f"({err.reason}); pass --encoding ENC if the file has another encoding",
                ) from None
            decoder.setstate(lenient.getstate())
        # non-ASCII bytes decoded now: the chunk's and those held back before, less those held now
        non_ascii = _non_ascii(chunk) + held - len(decoder.getstate()[0])
        if not damaged:
            bad.clean(non_ascii, "\n" in text)
            return text
        start = offset - held
        if start == 0 and sig:
            start = len(codecs.BOM_UTF8)  # the text starts after the BOM the codec removed
        bad.feed(text, non_ascii, start, counter.newlines + 1)
        return text

    offset = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            if not wide and (nul := chunk.find(b"\x00")) >= 0:
                raise BinaryFileError(
                    path,
                    f"the file contains a NUL byte at byte offset {offset + nul}: it looks like a binary "
                    "file, not text (is it compressed, or a spreadsheet?)",
                    line=counter.line_of(chunk, nul),
                )
            ascii_chunk = chunk.isascii()
            if not (ascii_chunk and not wide and not decoder.getstate()[0]):
                text = decode(chunk, offset)
                if wide and text:
                    wide_newlines += text.count("\n")
                    last_char = text[-1]
            elif b"\n" in chunk:
                bad.clean(0, True)
            if auto and cp1252_error is None and not ascii_chunk:
                if (index := _first_cp1252_undefined(chunk)) >= 0:
                    cp1252_error = (chunk[index], offset + index, counter.line_of(chunk, index))
            counter.feed(chunk)
            offset += len(chunk)
    decode(b"", size, final=True)
    if wide:
        lines = wide_newlines + (1 if last_char not in ("", "\n") else 0)
    else:
        lines = counter.newlines + (1 if counter.run else 0)
    longest = max(counter.longest, counter.run, min(size, CHUNK_BYTES))
    if bad.first is None:
        return TextScan(chosen, size, lines, longest)
    legacy = auto and bad.invalid > bad.valid_multibyte
    if legacy and cp1252_error is None:
        return TextScan("cp1252", size, lines, longest, warning=legacy_warning(path, bad.first, bad.lines))
    if legacy and policy == "fail":
        raise _neither(path, bad.first, cp1252_error)  # type: ignore[arg-type]
    return damaged_scan(path, TextScan(chosen, size, lines, longest), policy, bad.first, bad.lines)


def _neither(path: str, utf8: tuple[int, int, int], cp1252: tuple[int, int, int]) -> InputError:
    """The error for a file that is neither UTF-8 nor cp1252, located at the later failure."""
    later, earlier = (utf8, cp1252) if utf8[1] >= cp1252[1] else (cp1252, utf8)
    detail = ""
    if utf8[1] != cp1252[1]:
        codec = "UTF-8" if earlier is utf8 else "cp1252"
        detail = f" (the file already stopped being {codec} at line {earlier[2]}, byte offset {earlier[1]})"
    return InputError(
        path,
        f"byte 0x{later[0]:02x} at byte offset {later[1]} is neither UTF-8 nor cp1252{detail}; {FIX_HINT}",
        line=later[2],
    )


def read_sample(path: str, encoding: str, max_bytes: int = SAMPLE_BYTES) -> tuple[str, bool]:
    """Decode the first ``max_bytes`` bytes of ``path``.

    Returns ``(text, at_eof)``: ``at_eof`` is True when the sample is the whole file;
    otherwise ``text`` is cut after its last newline so that it ends with a whole line
    (unless it has no newline at all). A BOM is removed.
    """
    with open(path, "rb") as f:
        raw = f.read(max_bytes + 1)
    at_eof = len(raw) <= max_bytes
    raw = raw[:max_bytes]
    text = codecs.getincrementaldecoder(encoding)("replace").decode(raw, final=at_eof)
    text = text.removeprefix("\ufeff")
    if not at_eof:
        cut = text.rfind("\n")
        if cut >= 0:
            text = text[: cut + 1]
    return text, at_eof

"""What to do with bytes a text file's codec cannot decode: the ``on_decode_error`` option.

Policies (``--on-decode-error`` on the command line):

* ``fail`` (default): an InputError naming the file, the line and byte offset of the first bad
  byte, and these options;
* ``replace``: every bad byte becomes U+FFFD in its line; the terminal says how many lines were
  affected and which was first;
* ``skip-row``: rows holding a bad byte are moved to the version's exclusions, with the reason
  and the raw row (bad bytes written as ``\\xe9`` escapes), so no row is lost.

Readers open the file with :attr:`TextScan.errors` (``surrogateescape`` for ``skip-row``) and,
only when it is ``surrogateescape`` (decided once per file), ask :func:`undecodable` of each
row's raw text.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from datamoat.errors import InputError

if TYPE_CHECKING:
    from datamoat.data.readers.encoding import TextScan

POLICIES: tuple[str, ...] = ("fail", "replace", "skip-row")
"""Accepted values of ``on_decode_error``."""

SKIP_REASON = "bytes that are not valid {codec}"
"""Exclusion reason of a row dropped by ``skip-row`` ({codec}: the file's codec)."""

ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
"""One byte that did not decode, as ``surrogateescape`` writes it (U+DC80..U+DCFF)."""
_ERRORS = {"fail": "strict", "replace": "replace", "skip-row": "surrogateescape"}

FIX_HINT = (
    "pass --encoding ENC if the file has another encoding (for example latin-1), or --on-decode-error "
    "replace (U+FFFD in their place) or skip-row (those rows go to the exclusions); in Python: "
    "encoding=, on_decode_error="
)
"""The end of every ``fail`` error about undecodable bytes: the options that read the file."""


def check_policy(path: str, policy: str) -> str:
    """``policy`` if it is one of :data:`POLICIES`; InputError otherwise."""
    if policy not in POLICIES:
        raise InputError(path, f"on_decode_error must be one of {', '.join(POLICIES)}, not {policy!r}")
    return policy


def legacy_warning(path: str, first: tuple[int, int, int], lines: int) -> str:
    """The terminal line for a file read as cp1252 because most of it is not UTF-8."""
    _, offset, line = first
    count = f"{lines:,} line is" if lines == 1 else f"{lines:,} lines are"
    return (
        f"{path}: read as cp1252, not UTF-8: {count} not valid UTF-8, the first is line {line} "
        f"(byte offset {offset}); pass --encoding if the file has another encoding"
    )


def damaged_scan(
    path: str, scan: TextScan, policy: str, first: tuple[int, int, int], lines: int
) -> TextScan:
    """Apply ``policy`` to a file whose codec fails on some bytes: raise (``fail``) or return
    ``scan`` with the ``errors=`` handler and the terminal warning the policy needs."""
    byte, offset, line = first
    codec = scan.encoding
    if policy == "fail":
        raise InputError(
            path,
            f"byte 0x{byte:02x} at byte offset {offset} is not valid {codec} ({_lines(lines)} such bytes); {FIX_HINT}",
            line=line,
        )
    done = (
        "those bytes were replaced by U+FFFD"
        if policy == "replace"
        else "those rows were moved to the exclusions (`datamoat excluded`)"
    )
    warning = f"{path}: {_lines(lines)} bytes that are not valid {codec} and {done}; the first is line {line}"
    return dataclasses.replace(scan, errors=_ERRORS[policy], warning=warning, bad_lines=lines)


def _lines(n: int) -> str:
    """``"1 line has"`` / ``"3 lines have"``."""
    return f"{n:,} line has" if n == 1 else f"{n:,} lines have"


def undecodable(text: str) -> bool:
    """True when ``text`` (read with ``surrogateescape``) holds a byte that did not decode."""
    return ESCAPED_BYTE.search(text) is not None


def escaped(text: str) -> str:
    """``text`` with undecoded bytes written as ``\\xNN`` escapes (safe to store as UTF-8)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def row_has_undecodable(values: list[Any]) -> bool:
    """True when any string in ``values`` holds an undecoded byte."""
    return any(isinstance(v, str) and undecodable(v) for v in values)

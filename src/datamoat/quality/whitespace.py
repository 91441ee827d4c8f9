"""Whitespace runs in text: the one definition shared by checks and cleaning steps.

:data:`WHITESPACE_RUN` matches the same characters as Python's ``str.isspace`` (any Unicode
whitespace), so ``collapse_whitespace`` gives what ``" ".join(text.split())`` gives, but on
whole Arrow columns. Used by the ``exact_duplicates`` check (and through its ``normalise`` by
the ``exact_dedup`` step) and by the ``strip_whitespace`` step. A blank text (empty or only
whitespace) is told by ``utf8_trim_whitespace``, which trims the same characters.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from datamoat.pipeline.step import as_text

WHITESPACE_RUN = r"[\s\x{0B}\x{1C}-\x{1F}\x{85}\p{Z}]+"
"""RE2 pattern for a run of whitespace; the same characters as Python's ``str.isspace``."""


def collapse_whitespace(values: pa.Array) -> pa.Array:
    """Text with each whitespace run replaced by one space and both ends stripped; nulls stay.

    values: a string, large_string or null-typed array. Returns a string array of the same
    length (large_string input stays large_string; a null-typed column becomes string).
    """
    collapsed = pc.replace_substring_regex(as_text(values), WHITESPACE_RUN, " ")
    return pc.utf8_trim(collapsed, characters=" ")

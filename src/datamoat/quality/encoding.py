"""``encoding_problems``: mojibake, HTML entities and control characters in the text column.

Three kinds of damage are looked for, each with a cheap pre-filter so clean ASCII text costs
almost nothing:

``mojibake``
    UTF-8 text decoded with the wrong codec ("donâ€™t"). Only texts with a non-ASCII
    character can be mojibake; for those, ftfy's :func:`ftfy.fix_encoding` is asked whether it
    would change the text (ftfy only changes text it is confident about), or
    :func:`ftfy.badness.is_bad` sees typical mojibake sequences.
``html_entity``
    HTML character references that should have been decoded (``&amp;``, ``&#39;``,
    ``&quot;``, ``&lt;``, ``&#x27;`` ...): a ``&`` followed by a name or number and a
    ``;`` that :func:`html.unescape` actually decodes (so "R&D;" is not one).
``control_char``
    C0/C1 control characters other than tab, newline and carriage return, and the
    replacement character U+FFFD (a decoding that already lost data).

The issue table has ``kind`` (the kinds found, comma-separated in the order above, null when
clean) and ``suggested_fix`` (the text after :func:`fix_text`, null when clean). ``score`` is
0.0 for mojibake, 0.25 for HTML entities, 0.5 for control characters (the worst kind found
wins) and 1.0 for clean text. Null texts are not judged (``is_issue`` false, ``score`` null).

:func:`fix_text` and :func:`find_problems` are shared with the ``normalize_text`` cleaning step.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from typing import Any

import ftfy
import ftfy.badness
import pyarrow as pa

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.quality.check import Check, CheckResult, issue_table, register_check, require_role

MOJIBAKE = "mojibake"
HTML_ENTITY = "html_entity"
CONTROL_CHAR = "control_char"
KINDS: tuple[str, ...] = (MOJIBAKE, HTML_ENTITY, CONTROL_CHAR)
KIND_SCORES: dict[str, float] = {MOJIBAKE: 0.0, HTML_ENTITY: 0.25, CONTROL_CHAR: 0.5}

ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
"""An HTML character reference with its closing semicolon."""

CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
"""Control characters other than tab, LF and CR (C0, DEL, C1), and U+FFFD."""


def _unescape_entity(match: re.Match[str]) -> str:
    return html.unescape(match.group())


def has_entities(text: str) -> bool:
    """True if ``text`` holds an HTML character reference that decodes to something else."""
    if "&" not in text:
        return False
    return any(html.unescape(m.group()) != m.group() for m in ENTITY_RE.finditer(text))


def unescape_entities(text: str) -> str:
    """``text`` with HTML character references (with a ``;``) decoded; a bare ``&`` stays.

    Unlike :func:`html.unescape` alone, "&copy" or "&not" without a semicolon are left as
    they are, so ordinary text such as "terms&nothing" is not changed. Applied repeatedly
    (at most 3 times) so double-escaped text (``&amp;amp;``) is fully decoded.
    """
    for _ in range(3):
        if "&" not in text:
            break
        new = ENTITY_RE.sub(_unescape_entity, text)
        if new == text:
            break
        text = new
    return text


def is_mojibake(text: str) -> bool:
    """True if ``text`` looks like mis-decoded UTF-8 (ftfy would repair it)."""
    if text.isascii():
        return False
    return ftfy.fix_encoding(text) != text or ftfy.badness.is_bad(text)


def fix_mojibake(text: str) -> str:
    """``text`` with mis-decoded UTF-8 repaired by ftfy (only the encoding fix, no other changes)."""
    if text.isascii():
        return text
    return ftfy.fix_encoding(text)


def remove_control_chars(text: str) -> str:
    """``text`` without control characters (tab, LF and CR stay) and U+FFFD."""
    return CONTROL_RE.sub("", text)


def find_problems(text: str) -> list[str]:
    """The kinds of damage in ``text``, in :data:`KINDS` order ([] for clean text)."""
    found = []
    if is_mojibake(text):
        found.append(MOJIBAKE)
    if has_entities(text):
        found.append(HTML_ENTITY)
    if CONTROL_RE.search(text):
        found.append(CONTROL_CHAR)
    return found


def fix_text(text: str, *, unescape_html: bool = True, mojibake: bool = True, control: bool = True) -> str:
    """Repair ``text``: decode HTML entities, fix mojibake, drop control characters (in that order).

    Entities are decoded first so that escaped mojibake (``donâ€&trade;t``) is repaired too.
    """
    if unescape_html:
        text = unescape_entities(text)
    if mojibake:
        text = fix_mojibake(text)
    if control:
        text = remove_control_chars(text)
    return text


@register_check
class EncodingProblems(Check):
    """Find mojibake, undecoded HTML entities and control characters in the text.

    column: the text column; None means the ``text`` role column.
    kinds: which kinds to look for (default all of :data:`KINDS`).
    """

    name = "encoding_problems"
    max_rows = 200_000  # per-row cost: the profile samples larger data (see Check.max_rows)
    needs = ("text",)

    def __init__(self, *, column: str | None = None, kinds: list[str] | tuple[str, ...] = KINDS) -> None:
        unknown = [k for k in kinds if k not in KINDS]
        if unknown or not kinds:
            raise ValueError(f"kinds must be a non-empty subset of {', '.join(KINDS)}, got {list(kinds)!r}")
        self.column = column
        self.kinds = list(kinds)

    def run(self, table: pa.Table, roles: ColumnRoles) -> CheckResult:
        """One row per input row: ``kind`` and ``suggested_fix`` for damaged texts."""
        column = self.column or require_role(self.name, roles, "text", table)
        texts = table.column(column).to_pylist()
        wanted = set(self.kinds)
        kinds: list[str | None] = []
        fixes: list[str | None] = []
        scores: list[float | None] = []
        counts: Counter[str] = Counter()
        for text in texts:
            found = [k for k in find_problems(text) if k in wanted] if isinstance(text, str) else []
            if not found:
                kinds.append(None)
                fixes.append(None)
                scores.append(1.0 if isinstance(text, str) else None)
                continue
            counts.update(found)
            kinds.append(",".join(found))
            fixes.append(
                fix_text(
                    text,
                    unescape_html=HTML_ENTITY in found,
                    mojibake=MOJIBAKE in found,
                    control=CONTROL_CHAR in found,
                )
            )
            scores.append(min(KIND_SCORES[k] for k in found))
        flagged = [k is not None for k in kinds]
        issues = issue_table(
            table.column(ROW_ID_COLUMN),
            flagged,
            scores,
            kind=pa.array(kinds, pa.string()),
            suggested_fix=pa.array(fixes, pa.string()),
        )
        summary: dict[str, Any] = {
            "column": column,
            "by_kind": {k: counts.get(k, 0) for k in self.kinds},
        }
        return CheckResult(self.name, issues, summary)

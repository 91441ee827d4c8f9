"""Text normalisation steps: ``normalize_text``, ``strip_whitespace`` and ``lowercase``.

``normalize_text`` (row step)
    Repairs the text column in this order, each part switchable:

    1. ``unescape_html``: decode HTML character references that end in ``;`` (``&amp;``,
       ``&#39;``, ``&quot;`` ...; double-escaped ones too); a bare ``&`` and "&copy"
       without a semicolon stay as they are;
    2. ``fix_mojibake``: repair mis-decoded UTF-8 ("donâ€™t" -> "don’t") with ftfy's
       ``fix_encoding`` (ftfy changes only what it is confident about);
    3. ``remove_control``: delete control characters other than tab / newline / CR, and
       U+FFFD;
    4. ``nfkc``: Unicode NFKC normalisation (compatibility forms: ligatures "ﬁ" -> "fi",
       full-width letters, no-break spaces -> spaces, "…" -> "..."); typographic quotes stay.

    Stats column ``_dm_normalized`` (string): the fixes that changed the row, comma-separated
    from ``html``, ``mojibake``, ``control``, ``nfkc``; null for unchanged rows, so a run's
    stats count the changed rows per fix. Rows are never dropped; changed rows keep their
    ``_dm_row_id``. Pure-ASCII texts without ``&`` or control characters are passed through
    untouched without any Python work, so clean data costs little.
``strip_whitespace`` (row step)
    Collapses each run of whitespace (any Unicode whitespace, as Python's ``str.isspace``) to
    one space and strips both ends, in the text column. Changed rows keep their row id.
``lowercase`` (row step)
    Lower-cases the text column (Unicode-aware). Optional: most modern models want the case.
"""

from __future__ import annotations

import unicodedata

import pyarrow as pa
import pyarrow.compute as pc

from datamoat.pipeline.registry import register
from datamoat.pipeline.step import as_text, bad_param, check_bool, set_column
from datamoat.pipeline.text_step import TextColumnStep
from datamoat.quality.encoding import CONTROL_RE, fix_mojibake, remove_control_chars, unescape_entities
from datamoat.quality.whitespace import collapse_whitespace

NORMALIZED_COLUMN = "_dm_normalized"
FIXES: tuple[str, ...] = ("html", "mojibake", "control", "nfkc")


def normalize(
    text: str, *, unescape_html: bool = True, mojibake: bool = True, control: bool = True, nfkc: bool = True
) -> tuple[str, list[str]]:
    """``(normalised text, fixes that changed it)`` for one text (see the module docstring)."""
    if text.isascii() and "&" not in text and not CONTROL_RE.search(text):
        return text, []
    done = []
    steps = (
        ("html", unescape_html, unescape_entities),
        ("mojibake", mojibake, fix_mojibake),
        ("control", control, remove_control_chars),
        ("nfkc", nfkc, lambda t: unicodedata.normalize("NFKC", t)),
    )
    for name, enabled, fn in steps:
        if not enabled:
            continue
        new = fn(text)
        if new != text:
            done.append(name)
            text = new
    return text, done


def _same_type(values: pa.Array, original: pa.DataType) -> pa.Array:
    return values if pa.types.is_null(original) else values.cast(original)


@register
class NormalizeText(TextColumnStep):
    """Repair encoding damage and normalise Unicode in a text column (no rows dropped).

    column: the text column; None means the ``text`` role column.
    unescape_html, fix_mojibake, remove_control, nfkc: which fixes to apply.
    """

    name = "normalize_text"
    kind = "row"

    def __init__(
        self,
        *,
        column: str | None = None,
        unescape_html: bool = True,
        fix_mojibake: bool = True,
        remove_control: bool = True,
        nfkc: bool = True,
    ) -> None:
        super().__init__(column=column)
        self.unescape_html = check_bool(self.name, "unescape_html", unescape_html)
        self.fix_mojibake = check_bool(self.name, "fix_mojibake", fix_mojibake)
        self.remove_control = check_bool(self.name, "remove_control", remove_control)
        self.nfkc = check_bool(self.name, "nfkc", nfkc)
        if not (unescape_html or fix_mojibake or remove_control or nfkc):
            raise bad_param(self.name, "nfkc", "or another fix must be enabled; all four are off")

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with the text repaired and ``_dm_normalized`` added."""
        original = batch.column(self._resolved)
        texts = as_text(original).to_pylist()
        out: list[str | None] = []
        fixes: list[str | None] = []
        for text in texts:
            if text is None:
                out.append(None)
                fixes.append(None)
                continue
            new, done = normalize(
                text,
                unescape_html=self.unescape_html,
                mojibake=self.fix_mojibake,
                control=self.remove_control,
                nfkc=self.nfkc,
            )
            out.append(new)
            fixes.append(",".join(done) if done else None)
        values = _same_type(pa.array(out, pa.string()), original.type)
        batch = set_column(batch, self._resolved, values)
        return set_column(batch, NORMALIZED_COLUMN, pa.array(fixes, pa.string()))


@register
class StripWhitespace(TextColumnStep):
    """Collapse whitespace runs to one space and strip the ends of a text column.

    column: the text column; None means the ``text`` role column.
    """

    name = "strip_whitespace"
    kind = "row"

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with the text column cleaned (same type); no rows dropped."""
        values = batch.column(self._resolved)
        cleaned = collapse_whitespace(values)
        if not pa.types.is_null(values.type):
            cleaned = cleaned.cast(values.type)
        return set_column(batch, self._resolved, cleaned)


@register
class Lowercase(TextColumnStep):
    """Lower-case a text column (no rows dropped; row ids kept).

    column: the text column; None means the ``text`` role column.
    """

    name = "lowercase"
    kind = "row"

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with the text column lower-cased."""
        original = batch.column(self._resolved)
        lowered = _same_type(pc.utf8_lower(as_text(original)), original.type)
        return set_column(batch, self._resolved, lowered)

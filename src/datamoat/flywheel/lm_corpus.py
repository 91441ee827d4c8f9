"""A language-model corpus through the loop: ingest -> profile -> clean -> redact -> split.

:func:`prepare_corpus` is the data half of ``datamoat run --task lm``: from a text file, a
folder of documents, a table's text column, or an existing dataset version, it makes

* ``NAME@k`` (raw): one row per document, or ordered blocks of one long file
  (:meth:`datamoat.workspace.Workspace.ingest_corpus`), profiled (the profile includes the
  ``text_quality`` check: the same Gopher statistics the recipe filters on);
* ``NAME@k+1`` (clean): the language-model recipe (:mod:`datamoat.clean.lm_recipe`) less its
  ``pii_redact``: repaired text, exact and near duplicate documents dropped, Gopher's
  repetition and quality rules; every dropped row is in the version's exclusions;
* ``NAME-train``, ``NAME-valid`` and ``NAME-test`` (a share of 0 makes none): the split of the
  cleaned rows (:mod:`datamoat.split.lm`: contiguous text ranges for ordered blocks or lines,
  whole documents otherwise, so no validation text is trained on), each then PII-redacted
  (on unless ``pii=False``). Redaction is row-local, so redacting each split is redacting the
  corpus; it comes after the split so that memorisation canaries (``canaries``) can be put
  into the training split first (``insert_canaries``) and go through the same redaction as
  real secrets would.

The validation and test text is a held-out part of the *cleaned* corpus: a perplexity on it is
a perplexity on text the recipe would keep. A failure anywhere rolls back every version the
call made (:mod:`datamoat.catalog.rollback`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datamoat.catalog.rollback import undo_on_failure
from datamoat.data.corpus import ORDER_COLUMNS
from datamoat.data.dataset_name import name_from_path
from datamoat.data.readers.text_folder import DEFAULT_BLOCK_CHARS
from datamoat.data.version import Version
from datamoat.errors import DatamoatError

if TYPE_CHECKING:
    from datamoat.workspace import Workspace

LM_SPLITS = ("train", "valid", "test")


@dataclass
class CorpusResult:
    """What :func:`prepare_corpus` made.

    versions: refs of ``raw``, ``clean`` and each split made (``train``, ``valid``, ``test``).
    rows: row counts of the same. dropped: cleaned-away rows by reason. split: ``"contiguous"``
    (ordered blocks or lines, cut into text ranges) or ``"by document"``. pii: ``"redact"``
    (or another mode) or ``"off"``. report: the profile's HTML file. quality: the profile's
    score and the ``text_quality`` summary (when the check ran).
    """

    dataset: str
    versions: dict[str, str]
    rows: dict[str, int]
    dropped: dict[str, int]
    split: str
    pii: str
    report: Path
    quality: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"dataset": self.dataset, "versions": self.versions, "rows": self.rows, "dropped": self.dropped,
                "split": self.split, "pii": self.pii, "report": str(self.report), "quality": self.quality}


def prepare_corpus(
    ws: Workspace,
    source: str | Path | None = None,
    *,
    data: str | None = None,
    name: str | None = None,
    text: str | None = None,
    pii: bool | str = True,
    valid_size: float = 0.1,
    test_size: float = 0.1,
    seed: int = 0,
    block_chars: int = DEFAULT_BLOCK_CHARS,
    recipe: list[dict[str, Any]] | None = None,
    canaries: Sequence[str] = (),
    canary_repeats: int = 4,
    ingest_options: dict[str, Any] | None = None,
    profile_checks: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> CorpusResult:
    """Make a cleaned, redacted, split corpus ready to train a language model on.

    source: a text file, a folder of documents, or a table file (CSV, JSON, Parquet) with a
    text column; or data: an existing version (``name@3``) with a text role instead. name: the
    dataset (default: from the file name, or ``data``'s dataset). text: the text column of a
    table. pii: True redacts PII (``pii_redact`` mode ``redact``), False keeps it (``"off"`` in
    the result), a string picks another ``pii_redact`` mode. valid_size, test_size: held-out
    shares of the text (contiguous) or of the documents; a share of 0 makes no such version.
    seed: the document split's seed (and the canaries'). block_chars: block size for one long
    file. recipe: step entries instead of the default LM recipe (its own ``pii_redact``, if
    any, runs before the split too). canaries: strings to insert ``canary_repeats`` times each
    into the training split, before its redaction (a memorisation check's canaries).
    ingest_options: extra reader options.
    profile_checks: the profile's checks (default: every check the roles allow). progress: called with one line per stage. Raises DatamoatError (one sentence) and rolls
    back what it made.
    """
    if (source is None) == (data is None):
        raise DatamoatError("give either a corpus path or an existing dataset version (--data NAME@VER), not both.")
    from datamoat.split.assign import split_fractions

    split_fractions(test_size, valid_size)  # bad shares fail before anything is written
    dataset = name or (name_from_path(str(source)) if source is not None else str(data).split("@")[0])
    touched = [dataset, *(f"{dataset}-{s}" for s in LM_SPLITS)]
    with undo_on_failure(ws.catalog, touched, str(source or data)) as at:
        return _prepare(ws, source, data, at, dataset=dataset, text=text, pii=pii, valid_size=valid_size,
                        test_size=test_size, seed=seed, block_chars=block_chars, recipe=recipe,
                        canaries=list(canaries), canary_repeats=canary_repeats, ingest_options=dict(ingest_options or {}), checks=profile_checks,
                        say=progress or (lambda _msg: None))


def _prepare(
    ws: Workspace, source: str | Path | None, data: str | None, at: Any, *, dataset: str, text: str | None,
    pii: bool | str, valid_size: float, test_size: float, seed: int, block_chars: int,
    recipe: list[dict[str, Any]] | None, canaries: list[str], canary_repeats: int, ingest_options: dict[str, Any],
    checks: list[str] | None, say: Callable[[str], None],
) -> CorpusResult:
    from datamoat.clean.lm_recipe import lm_clean_recipe
    from datamoat.pipeline.recipe import Recipe
    from datamoat.quality.profile import profile_version
    from datamoat.quality.report import write_report

    def own(v: Version) -> Version:
        at.own(v.record.id)
        return v

    if source is not None:
        raw = own(ws.ingest_corpus(source, name=dataset, text=text, block_chars=block_chars, **ingest_options))
        say(f"ingested {raw.ref}: {raw.num_rows:,} documents" if "block" not in raw.schema.names
            else f"ingested {raw.ref}: {raw.num_rows:,} blocks of about {block_chars:,} characters")
    else:
        raw = ws.version(str(data))
    if raw.roles.get("text") is None:
        raise DatamoatError(f"{raw.ref} has no text column; ingest it with --text COLUMN.")

    prof = profile_version(raw, checks=checks)
    report = write_report(prof, ws.state / "reports" / f"{raw.dataset}-{raw.ordinal}-profile.html")
    quality: dict[str, Any] = {"score": prof.score["value"]}
    if "text_quality" in prof.checks:
        quality["text_quality"] = {k: v for k, v in prof.checks["text_quality"].items() if k != "examples"}

    the_recipe = Recipe.from_list(recipe, source="corpus recipe") if recipe is not None else lm_clean_recipe(pii=False)
    cleaned = ws.apply(raw.ref, the_recipe, label="clean")
    clean = own(cleaned.version)
    dropped = dict(cleaned.dropped_by_reason)
    if clean.num_rows == 0:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(dropped.items(), key=lambda kv: -kv[1]))
        raise DatamoatError(f"cleaning dropped every document of {raw.ref} ({reasons}); nothing is left to train on.")
    say(f"cleaned {clean.ref}: {clean.num_rows:,} kept, {sum(dropped.values()):,} dropped")

    contiguous = any(c in clean.schema.names for c in ORDER_COLUMNS)
    versions = {"raw": raw.ref, "clean": clean.ref}
    rows = {"raw": raw.num_rows, "clean": clean.num_rows}
    mode = "off" if pii is False else ("redact" if pii is True else str(pii))
    sizes = {"train": 1.0, "valid": valid_size, "test": test_size}
    for keep in LM_SPLITS:
        if sizes[keep] <= 0:
            continue
        steps: list[dict[str, Any]] = [
            {"step": "take_lm_split", "keep": keep, "valid_size": valid_size, "test_size": test_size, "seed": seed}]
        if keep == "train" and canaries:
            steps.append({"step": "insert_canaries", "texts": canaries, "repeats": canary_repeats, "seed": seed})
        if mode != "off":
            steps.append({"step": "pii_redact", "mode": mode})
        part = own(ws.apply(clean.ref, steps, output=f"{dataset}-{keep}", label="split").version)
        versions[keep], rows[keep] = part.ref, part.num_rows
        if part.num_rows == 0:
            raise DatamoatError(
                f"{clean.ref} is too small to hold out {keep} text: {clean.num_rows:,} rows after cleaning "
                f"leave none for {keep}; give more text{' or smaller --block-chars' if contiguous else ''}."
            )
    say("split " + ("into contiguous text ranges" if contiguous else "by document") + ": "
        + ", ".join(f"{k} {rows[k]:,}" for k in LM_SPLITS if k in rows))
    return CorpusResult(dataset=dataset, versions=versions, rows=rows, dropped=dropped,
                        split="contiguous" if contiguous else "by document", pii=mode, report=report, quality=quality)

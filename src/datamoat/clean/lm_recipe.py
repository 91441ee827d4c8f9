"""The default recipe for a language-model corpus (rows are documents or contiguous blocks).

:data:`DEFAULT_LM_RECIPE`, in order:

1. ``normalize_text``: repair HTML entities, mojibake, control characters, NFKC (line ends
   stay: the repetition rules count lines);
2. ``drop_missing``: rows without a text;
3. ``exact_dedup`` of whole documents (case and whitespace insensitive), first copy kept;
4. ``near_dedup`` of documents (MinHash, :mod:`datamoat.clean.dedup`), earliest kept;
5. ``repetition_filter`` and 6. ``quality_filter``: Gopher's rules with Gopher's thresholds
   (:mod:`datamoat.clean.gopher`; the duplicate-line-share rule is off by default, see
   :mod:`datamoat.quality.text_stats`);
7. ``pii_redact`` (mode ``redact``): names, e-mails, card and phone numbers ... become
   placeholders before any model sees the text. :func:`lm_clean_recipe` leaves it out with
   ``pii=False`` (``--no-redact-pii``) or changes its mode.

Dedup runs before the split (:mod:`datamoat.split.lm`), so a document and its copy cannot
land on both sides; every dropped row is kept in the version's exclusions with its reason.
Each step is an ordinary registered step: a user recipe may reorder, retune or drop them.
"""

from __future__ import annotations

import copy
from typing import Any

from datamoat.pipeline.recipe import Recipe

DEFAULT_LM_RECIPE: list[dict[str, Any]] = [
    {"step": "normalize_text"},
    {"step": "drop_missing"},
    {"step": "exact_dedup", "ignore_case": True, "ignore_whitespace": True},
    {"step": "near_dedup"},
    {"step": "repetition_filter"},
    {"step": "quality_filter"},
    {"step": "pii_redact", "mode": "redact"},
]


def lm_clean_recipe(*, pii: bool | str = True, overrides: dict[str, dict[str, Any]] | None = None) -> Recipe:
    """:data:`DEFAULT_LM_RECIPE` as a Recipe.

    pii: True redacts (``mode: redact``), False leaves ``pii_redact`` out, a string is the
        ``pii_redact`` mode (``mask``, ``pseudonymize`` ...). overrides: extra parameters per
        step name, e.g. ``{"quality_filter": {"min_words": 20}}`` for short documents.
    """
    entries = [copy.deepcopy(e) for e in DEFAULT_LM_RECIPE]
    if pii is False:
        entries = [e for e in entries if e["step"] != "pii_redact"]
    elif isinstance(pii, str):
        for e in entries:
            if e["step"] == "pii_redact":
                e["mode"] = pii
    for e in entries:
        e.update((overrides or {}).get(e["step"], {}))
    return Recipe.from_list(entries, source="default language-model recipe")

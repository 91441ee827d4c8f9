"""The default cleaning recipe, and a helper to build it as a :class:`~datamoat.pipeline.Recipe`.

:data:`DEFAULT_CLEAN_RECIPE` is a list of step entries (as in a recipe YAML file), in the
order that makes each step see the cleanest input it can:

1. ``normalize_text``: repair HTML entities, mojibake, control characters, NFKC (first, so
   every later comparison sees repaired text);
2. ``drop_missing``: rows without a text or label;
3. ``strip_whitespace``;
4. ``length_filter``: drop texts under 5 characters;
5. ``exact_dedup`` (case and whitespace insensitive);
6. ``near_dedup`` (MinHash near duplicates; :mod:`datamoat.clean.dedup`);
7. ``label_issues`` with ``action: drop`` (last: the model learns from the deduplicated,
   complete rows, and duplicates cannot vouch for each other's labels).

Tables (roles without a ``text`` column) get :data:`DEFAULT_TABLE_RECIPE` instead: ``drop_missing``
(rows without a label; missing feature values stay, the tabular trainers handle them) and
``duplicate_rows`` (whole-row duplicates, the exact duplicates of a table;
:mod:`datamoat.clean.row_dedup`).

Language filtering and rebalancing are left out on purpose: which languages belong in a
dataset, and whether to throw away majority-class data, are decisions for the user (add
``language_filter`` / ``rebalance`` entries to a copy of the list).

Importing this module registers the steps of :mod:`datamoat.clean` that it knows about.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Iterable
from typing import Any

from datamoat.clean import filters, labels, missing, normalize, rebalance  # noqa: F401  (register the steps)
from datamoat.data.roles import ColumnRoles
from datamoat.pipeline.recipe import Recipe

DEFAULT_CLEAN_RECIPE: list[dict[str, Any]] = [
    {"step": "normalize_text"},
    {"step": "drop_missing"},
    {"step": "strip_whitespace"},
    {"step": "length_filter", "min_chars": 5},
    {"step": "exact_dedup", "ignore_case": True, "ignore_whitespace": True},
    {"step": "near_dedup"},
    {"step": "label_issues", "action": "drop"},
]

DEFAULT_TABLE_RECIPE: list[dict[str, Any]] = [
    {"step": "drop_missing"},
    {"step": "duplicate_rows"},
]
"""The default recipe for tables (no ``text`` role): rows without a label, whole-row duplicates."""

TEXT_STEPS = ("normalize_text", "strip_whitespace", "length_filter", "exact_dedup", "near_dedup")
STEP_ROLES: dict[str, tuple[str, ...]] = {**{s: ("text",) for s in TEXT_STEPS}, "label_issues": ("text", "label")}
"""The roles each default step needs (all of them); ``drop_missing`` needs either one."""


def steps_left_out(roles: ColumnRoles) -> dict[str, tuple[str, ...]]:
    """The default steps ``roles`` leave out, in recipe order, each with the roles it lacks.

    No ``text`` role: the text steps and ``label_issues`` (the label-issue finder reads text;
    such data is cleaned as a table, :data:`DEFAULT_TABLE_RECIPE`); no ``label``:
    ``label_issues``; neither: ``drop_missing`` too (dropping rows missing nothing is
    pointless). The one statement of these rules: :func:`default_clean_recipe` leaves these
    steps out, and ``datamoat clean`` names them.
    """
    lacking = tuple(r for r in ("text", "label") if roles.get(r) is None)
    out: dict[str, tuple[str, ...]] = {}
    for entry in DEFAULT_CLEAN_RECIPE:
        step = entry["step"]
        if step == "drop_missing":
            missing = lacking if len(lacking) == 2 else ()
        else:
            missing = tuple(r for r in STEP_ROLES.get(step, ()) if r in lacking)
        if missing:
            out[step] = missing
    return out


def default_clean_recipe(roles: ColumnRoles | None = None, *, skip: Iterable[str] = ()) -> Recipe:
    """:data:`DEFAULT_CLEAN_RECIPE` as a Recipe, without the steps named in ``skip``.

    roles: when given, the steps :func:`steps_left_out` names are left out, and data without a
        ``text`` column gets :data:`DEFAULT_TABLE_RECIPE` (so a table without a label gets only
        ``duplicate_rows``).
    """
    skipped = set(skip)
    entries_in = DEFAULT_CLEAN_RECIPE
    if roles is not None:
        if roles.get("text") is None:
            entries_in = DEFAULT_TABLE_RECIPE
        skipped.update(steps_left_out(roles))
    importlib.import_module("datamoat.clean.dedup")
    importlib.import_module("datamoat.clean.row_dedup")
    entries = [copy.deepcopy(e) for e in entries_in if e["step"] not in skipped]
    return Recipe.from_list(entries, source="default clean recipe")


TRAINING_SKIP = ("near_dedup", "label_issues")
"""Steps the main job leaves out of the training rows' default recipe: near duplicates inside
the training split mostly re-weight (the split already keeps them out of the test set), and
label-issue dropping is a selection candidate that must win on untouched validation folds
(:mod:`datamoat.models.cleaning_gate`) instead of a given."""


def training_clean_recipe(roles: ColumnRoles) -> Recipe:
    """The default recipe for the training rows of ``datamoat run``: :data:`TRAINING_SKIP` left out."""
    return default_clean_recipe(roles, skip=TRAINING_SKIP)


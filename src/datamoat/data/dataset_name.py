"""The one rule for dataset names, checked wherever a name is created.

A dataset name is 1 to :data:`MAX_NAME_CHARS` characters: ASCII letters, digits, ``-``, ``_``
and ``.``, starting with a letter or a digit. Names go into file names (reports, exports) and
into refs (``name@3``), so nothing else is allowed. Derived names (``<name>-train``,
``<name>-test``, ``<name>-testfile`` ...) follow the same rule, so a name near the limit leaves
no room for them: :func:`check_dataset_name` with ``suffix_room`` says so before any work.
"""

from __future__ import annotations

import re

from datamoat.errors import DatamoatError

MAX_NAME_CHARS = 100
"""Longest dataset name, in characters."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_dataset_name(name: str, suffix_room: int = 0) -> str:
    """Return ``name`` when it follows the rule; DatamoatError (one sentence) otherwise.

    suffix_room: characters that derived names will append (e.g. 9 for ``-testfile``); the
    name must then be at most ``MAX_NAME_CHARS - suffix_room`` characters long.
    """
    shown = name if len(name) <= 40 else name[:40] + "..."
    if not _NAME.fullmatch(name or ""):
        raise DatamoatError(
            f"dataset name {shown!r} is not allowed; use letters, digits, '-', '_' or '.', "
            "starting with a letter or a digit."
        )
    limit = MAX_NAME_CHARS - suffix_room
    if len(name) > limit:
        room = f" (leaving room for {suffix_room} characters of derived names)" if suffix_room else ""
        raise DatamoatError(
            f"dataset name {shown!r} has {len(name)} characters; at most {limit} are allowed{room}."
        )
    return name


_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9._-]+")


def name_from_path(path: str) -> str:
    """A default dataset name for a file or folder: its stem with every run of characters the
    rule does not allow made one ``_``, cut to :data:`MAX_NAME_CHARS` (``data`` if nothing is left)."""
    stem = path.rstrip("/").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem[1:] else stem
    name = _NOT_ALLOWED.sub("_", stem).lstrip("._-")[:MAX_NAME_CHARS]
    return name or "data"

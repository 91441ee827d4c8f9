"""JSONPath selectors for API responses (``data_selector``, ``total_path``, ``cursor_path`` ...).

jsonpath-ng parses the expressions (the library dlt uses too): ``data``, ``$.data.items``,
``$.results[*]``, ``meta.next`` all work. A path that does not parse is an InputError naming
the option; a path that matches nothing gives None.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonpath_ng import JSONPath, parse
from jsonpath_ng.exceptions import JSONPathError

from datamoat.errors import InputError


@lru_cache(maxsize=256)
def compile_path(expression: str) -> JSONPath:
    """The parsed ``expression``; raises ValueError with the parser's reason."""
    try:
        return parse(expression)
    except JSONPathError as exc:
        raise ValueError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - jsonpath-ng's lexer raises plain Exception
        raise ValueError(str(exc)) from None


def check_path(expression: str, where: str, option: str) -> str:
    """``expression`` when it parses; InputError naming ``where`` and ``option`` otherwise."""
    try:
        compile_path(expression)
    except ValueError as exc:
        raise InputError(where, f"{option} {expression!r} is not a JSONPath ({exc})") from None
    return expression


def find(document: Any, expression: str) -> list[Any]:
    """Every value ``expression`` matches in ``document`` (in document order)."""
    return [m.value for m in compile_path(expression).find(document)]


def find_one(document: Any, expression: str) -> Any:
    """The first value ``expression`` matches, or None when it matches nothing."""
    found = find(document, expression)
    return found[0] if found else None


def select_records(document: Any, expression: str | None) -> list[Any] | None:
    """The records of one response: what ``expression`` selects (the whole body when None).

    A selected list is the records; a path ending in ``[*]`` gives them one by one; a single
    object is one record; null or nothing matched is None (no records on this page).
    """
    if expression is None:
        found = [document]
    else:
        found = find(document, expression)
    if not found:
        return None
    if len(found) == 1:
        only = found[0]
        if only is None:
            return None
        return only if isinstance(only, list) else [only]
    return found

"""Recipes: an ordered list of steps, written in YAML.

A recipe file is a list of entries, each a mapping with a ``step`` key (the registered step
name) and the step's parameters as the other keys::

    - step: drop_missing
      columns: [text]
    - step: strip_whitespace
    - step: length_filter
      min_chars: 5

A mapping with a single ``steps`` key holding that list is accepted too. Steps are labelled
``"<position>:<name>"`` with 1-based positions (``"3:length_filter"``); the labels name the
step in exclusions and counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from datamoat.errors import StepError
from datamoat.pipeline.registry import create_step
from datamoat.pipeline.step import Step, param_defaults


class Recipe:
    """An ordered list of configured steps.

    steps: the steps in the order they run.
    """

    def __init__(self, steps: list[Step] | None = None) -> None:
        self.steps: list[Step] = list(steps or [])

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def from_list(cls, entries: list[dict[str, Any]], *, source: str = "recipe") -> Recipe:
        """Build from ``[{"step": "drop_missing", "columns": ["text"]}, ...]``.

        source: how to name the recipe in errors (a file name, or "recipe").
        Raises StepError naming the entry (1-based) for a non-mapping entry, a missing or
        non-string ``step``, an unknown step or a bad parameter.
        """
        return cls._from_entries(entries, source=source, lines=None)

    @classmethod
    def from_yaml(cls, text_or_path: str | Path) -> Recipe:
        """Build from YAML text, or from a file: a Path, a ``*.yaml`` / ``*.yml`` path, or any
        one-line string naming an existing file.

        Raises StepError with the line for malformed YAML, and naming the entry and its line
        for a bad entry.
        """
        text, source = _read_yaml_source(text_or_path)
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
            problem = getattr(err, "problem", None) or str(err)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise StepError(f"{source}: invalid YAML{where}: {problem}.") from err
        if data is None:
            return cls([])
        if isinstance(data, dict):
            if set(data) != {"steps"}:
                raise StepError(f"{source}: expected a list of steps or a mapping with only a 'steps' key.")
            data = data["steps"] or []
            node = node.value[0][1] if node is not None else None
        if not isinstance(data, list):
            raise StepError(f"{source}: expected a list of steps, got {type(data).__name__}.")
        lines = (
            [item.start_mark.line + 1 for item in node.value] if isinstance(node, yaml.SequenceNode) else None
        )
        return cls._from_entries(data, source=source, lines=lines)

    @classmethod
    def _from_entries(cls, entries: Any, *, source: str, lines: list[int] | None) -> Recipe:
        if not isinstance(entries, list):
            raise StepError(f"{source}: expected a list of steps, got {type(entries).__name__}.")
        steps = []
        for index, entry in enumerate(entries):
            where = f"{source}: entry {index + 1}" + (f" (line {lines[index]})" if lines else "")
            if not isinstance(entry, dict):
                raise StepError(f"{where}: expected a mapping with a 'step' key, got {entry!r}.")
            if "step" not in entry:
                raise StepError(f"{where}: no 'step' key naming the step to run.")
            name = entry["step"]
            if not isinstance(name, str):
                raise StepError(f"{where}: 'step' must be a step name, got {name!r}.")
            params = {str(k): v for k, v in entry.items() if k != "step"}
            try:
                steps.append(create_step(name, params))
            except StepError as err:
                raise StepError(f"{where}: {err}") from err
        return cls(steps)

    # --- writing ----------------------------------------------------------------------------

    def to_list(self, *, full: bool = False) -> list[dict[str, Any]]:
        """Entries as in :meth:`from_list`.

        full: include every parameter (for manifests); by default parameters left at their
        default value are omitted (for readable recipe files).
        """
        entries = []
        for step in self.steps:
            params = step.params()
            if not full:
                defaults = param_defaults(type(step))
                params = {k: v for k, v in params.items() if k not in defaults or defaults[k] != v}
            entries.append({"step": step.name, **params})
        return entries

    def to_yaml(self) -> str:
        """The recipe as YAML text that :meth:`from_yaml` reads back to an equal recipe."""
        return yaml.safe_dump(self.to_list(), sort_keys=False, allow_unicode=True, default_flow_style=False)

    # --- inspecting -------------------------------------------------------------------------

    def labels(self) -> list[str]:
        """``"<1-based position>:<name>"`` for each step, as used in exclusions and counts."""
        return [step_label(i, s) for i, s in enumerate(self.steps)]

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return f"Recipe({self.steps!r})"


def step_label(index: int, step: Step) -> str:
    """The label of the step at 0-based ``index``: ``"<index + 1>:<name>"``."""
    return f"{index + 1}:{step.name}"


def _read_yaml_source(text_or_path: str | Path) -> tuple[str, str]:
    """The YAML text and a name for errors ("recipe" for inline text, else the path)."""
    is_path = isinstance(text_or_path, Path) or (
        "\n" not in text_or_path
        and (text_or_path.strip().endswith((".yaml", ".yml")) or _is_file(text_or_path))
    )
    if not is_path:
        return str(text_or_path), "recipe"
    path = Path(text_or_path)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError as err:
        raise StepError(f"recipe file {str(path)!r} not found.") from err
    except (OSError, UnicodeDecodeError) as err:
        raise StepError(f"recipe file {str(path)!r} cannot be read: {err}.") from err


def _is_file(text: str) -> bool:
    """True if ``text`` names an existing file (False for text that cannot be a path)."""
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False

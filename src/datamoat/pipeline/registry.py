"""The step registry: a plain dict from step name to step class.

Step modules register their classes with the :func:`register` decorator when imported;
``import datamoat.pipeline`` imports the built-in steps. Recipes create steps by name with
:func:`create_step`.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

from datamoat.errors import StepError
from datamoat.pipeline.step import STEP_KINDS, Step, param_names

STEPS: dict[str, type[Step]] = {}
"""Registered step classes by :attr:`Step.name`."""

BUILTIN_STEP_MODULES: tuple[str, ...] = (
    "datamoat.pipeline.steps.basic",
    "datamoat.clean.normalize",
    "datamoat.clean.filters",
    "datamoat.clean.missing",
    "datamoat.clean.labels",
    "datamoat.clean.rebalance",
    "datamoat.clean.dedup",
    "datamoat.privacy.pii.step",
    "datamoat.privacy.tabular.anonymize",
    "datamoat.privacy.encryption",
)
"""Modules whose steps every recipe can use. They are named, not imported, here: the cleaning
and privacy layers sit above the pipeline and register their steps into it when loaded (the
way a plugin registers through an entry point), so dependencies keep pointing one way."""

_loaded = False


def load_builtin_steps() -> None:
    """Import the built-in step modules once (their ``@register`` fills :data:`STEPS`)."""
    global _loaded
    if _loaded:
        return
    import importlib

    for module in BUILTIN_STEP_MODULES:
        importlib.import_module(module)
    _loaded = True

S = TypeVar("S", bound=type[Step])


def register(cls: S) -> S:
    """Class decorator: add a Step subclass to :data:`STEPS` under its ``name``.

    Raises ValueError (a programming error) for a missing name, an unknown kind, or a name
    already taken by another class.
    """
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls.__qualname__} has no step name")
    if cls.kind not in STEP_KINDS:
        raise ValueError(f"step {name!r} has kind {cls.kind!r}; kinds are {', '.join(STEP_KINDS)}")
    known = STEPS.get(name)
    if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"step name {name!r} is taken by {known.__module__}.{known.__qualname__}")
    STEPS[name] = cls
    return cls


def create_step(name: str, params: dict[str, Any] | None = None) -> Step:
    """Instantiate the registered step ``name`` with keyword ``params``.

    Raises StepError for an unknown step (listing the known ones), an unknown or missing
    parameter (naming it and listing the accepted ones), or a value the step rejects.
    """
    cls = STEPS.get(name)
    if cls is None:
        load_builtin_steps()
        cls = STEPS.get(name)
    if cls is None:
        known = ", ".join(sorted(STEPS)) or "none"
        raise StepError(f"unknown step {name!r}; known steps: {known}.")
    params = dict(params or {})
    accepted = param_names(cls)
    unknown = [key for key in params if key not in accepted]
    if unknown:
        shown = ", ".join(accepted) or "none"
        raise StepError(f"step {name!r}: unknown parameter {unknown[0]!r}; its parameters are: {shown}.")
    sig = inspect.signature(cls.__init__)
    missing = [
        p.name
        for p in sig.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
        and p.default is inspect.Parameter.empty
        and p.name not in params
    ]
    if missing:
        raise StepError(f"step {name!r}: parameter {missing[0]!r} is required.")
    return cls(**params)

"""The step registry: a plain dict from step name to step class.

Step modules register their classes with the :func:`register` decorator when imported. The
built-in steps live in higher layers (cleaning, privacy, split) and are imported on the first
lookup by name (see :data:`BUILTIN_STEP_MODULES`). Recipes create steps by name with
:func:`create_step`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from datamoat.errors import StepError
from datamoat.pipeline.step import STEP_KINDS, Step, param_defaults, param_names
from datamoat.plugins import Registry

BUILTIN_STEP_MODULES: tuple[str, ...] = (
    "datamoat.clean.missing",
    "datamoat.clean.normalize",
    "datamoat.clean.filters",
    "datamoat.clean.labels",
    "datamoat.clean.rebalance",
    "datamoat.clean.dedup",
    "datamoat.clean.row_dedup",
    "datamoat.clean.gopher",
    "datamoat.clean.canaries",
    "datamoat.privacy.pii.step",
    "datamoat.privacy.tabular.anonymize",
    "datamoat.privacy.encryption",
    "datamoat.split.step",
)
"""Modules whose steps every recipe can use. They are named, not imported, here: the cleaning
and privacy layers sit above the pipeline and register their steps into it when loaded (the
way a plugin registers through an entry point), so dependencies keep pointing one way."""

STEPS = Registry("step", "name", BUILTIN_STEP_MODULES)
"""Registered step classes by :attr:`Step.name`."""

load_builtin_steps = STEPS.load_builtins


S = TypeVar("S", bound=type[Step])


def register(cls: S) -> S:
    """Class decorator: add a Step subclass to :data:`STEPS` under its ``name``.

    Raises ValueError (a programming error) for a missing name, an unknown kind, or a name
    already taken by another class.
    """
    if cls.kind not in STEP_KINDS:
        raise ValueError(f"step {cls.__qualname__} has kind {cls.kind!r}; kinds are {', '.join(STEP_KINDS)}")
    return STEPS.register(cls)


def create_step(name: str, params: dict[str, Any] | None = None) -> Step:
    """Instantiate the registered step ``name`` with keyword ``params``.

    Raises StepError for an unknown step (listing the known ones), an unknown or missing
    parameter (naming it and listing the accepted ones), or a value the step rejects.
    """
    cls = STEPS.lookup(name)
    if cls is None:
        known = ", ".join(STEPS.known()) or "none"
        raise StepError(f"unknown step {name!r}; known steps: {known}.")
    params = dict(params or {})
    accepted = param_names(cls)
    unknown = [key for key in params if key not in accepted]
    if unknown:
        shown = ", ".join(accepted) or "none"
        raise StepError(f"step {name!r}: unknown parameter {unknown[0]!r}; its parameters are: {shown}.")
    defaults = param_defaults(cls)
    missing = [p for p in accepted if p not in defaults and p not in params]
    if missing:
        raise StepError(f"step {name!r}: parameter {missing[0]!r} is required.")
    return cls(**params)

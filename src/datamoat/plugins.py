"""Plain registries of named classes (steps, checks, trainers), shared by every layer.

A :class:`Registry` is a dict from a name to a class, filled by its :meth:`Registry.register`
decorator. Built-in modules are listed by their dotted names and imported on first lookup, the
way a plugin registers through an entry point: a lower layer (the pipeline) can list steps that
live in higher layers (cleaning, privacy) without importing them, so dependencies keep pointing
one way. This module depends on nothing else in datamoat.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, TypeVar

C = TypeVar("C", bound=type)


class Registry(dict[str, type]):
    """name -> class.

    what: what the classes are, for messages (``"step"``). key: the class attribute holding
    the name (``"name"``, ``"kind"``). builtin_modules: modules that register the built-ins.
    """

    def __init__(self, what: str, key: str, builtin_modules: tuple[str, ...]) -> None:
        super().__init__()
        self.what = what
        self.key = key
        self.builtin_modules = builtin_modules
        self._loaded = False

    def register(self, cls: C) -> C:
        """Class decorator: add ``cls`` under its name; ValueError if another class has it."""
        name = getattr(cls, self.key, None)
        if not isinstance(name, str) or not name:
            raise ValueError(f"{cls.__qualname__} has no {self.what} {self.key}")
        known = self.get(name)
        if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"{self.what} {self.key} {name!r} is taken by {known.__module__}.{known.__qualname__}")
        self[name] = cls
        return cls

    def load_builtins(self) -> None:
        """Import the built-in modules once (their decorators fill the registry)."""
        if self._loaded:
            return
        for module in self.builtin_modules:
            importlib.import_module(module)
        self._loaded = True

    def lookup(self, name: str) -> type | None:
        """The class registered as ``name`` (loading the built-ins if needed), or None."""
        if name not in self:
            self.load_builtins()
        return self.get(name)

    def known(self) -> list[str]:
        """Every registered name, built-ins included, sorted."""
        self.load_builtins()
        return sorted(self)


def keyword_params(cls: type) -> list[str]:
    """Names of the keyword-only ``__init__`` parameters of ``cls``, in order."""
    sig = inspect.signature(cls.__init__)
    return [p.name for p in sig.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]


def keyword_defaults(cls: type) -> dict[str, Any]:
    """Default value of each keyword-only ``__init__`` parameter of ``cls`` that has one."""
    sig = inspect.signature(cls.__init__)
    return {
        p.name: p.default
        for p in sig.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not inspect.Parameter.empty
    }

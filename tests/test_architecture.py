"""The layers of docs/architecture.md, enforced: no import from a lower layer into a higher one.

Every ``import datamoat.x`` / ``from datamoat.x import ...`` in src/datamoat is read with the
AST (module-level, inside functions and under TYPE_CHECKING alike). A module may import its own
package and any package of a LOWER layer; never a package of its own layer or a higher one.
Plugin registries load built-in modules by dotted-name strings (``plugins.Registry``) and the
package root's lazy facade uses ``importlib``: those are not imports and are not checked here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "datamoat"

LAYERS: list[tuple[str, ...]] = [
    ("datamoat.errors",),
    ("datamoat", "datamoat.plugins", "datamoat.budget", "datamoat.config", "datamoat.keys"),
    ("datamoat.catalog",),
    ("datamoat.data",),
    ("datamoat.pipeline",),
    ("datamoat.quality",),
    ("datamoat.clean", "datamoat.privacy", "datamoat.split"),
    ("datamoat.workspace",),
    ("datamoat.models.trainers",),
    ("datamoat.models.evaluation",),
    ("datamoat.models.export",),
    ("datamoat.models",),
    ("datamoat.feedback", "datamoat.monitor"),
    ("datamoat.flywheel",),
    ("datamoat.demo",),
    ("datamoat.serve",),
    ("datamoat.cli",),
    ("datamoat.__main__",),
]
"""Lowest first; the same order as the table in docs/architecture.md."""


def unit_of(module: str) -> tuple[int, str]:
    """(layer index, unit name) of a dotted module: the longest unit that is a prefix of it."""
    best: tuple[int, str] | None = None
    for i, units in enumerate(LAYERS):
        for unit in units:
            if (module == unit or module.startswith(unit + ".")) and (best is None or len(unit) > len(best[1])):
                best = (i, unit)
    if best is None:
        raise AssertionError(f"{module} is in no layer of tests/test_architecture.py (add it, and to the docs)")
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported dotted module) for every datamoat import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.split(".")[0] == "datamoat":
            for alias in node.names:
                # `from datamoat.models import training` imports the submodule datamoat.models.training
                candidate = f"{node.module}.{alias.name}"
                out.append((node.lineno, candidate if (SRC.parent / candidate.replace(".", "/")).exists()
                            or (SRC.parent / (candidate.replace(".", "/") + ".py")).exists() else node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "datamoat"]
    return out


def all_modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


def test_every_module_belongs_to_a_layer():
    for path in all_modules():
        unit_of(module_name(path))


def test_no_import_reaches_up_or_sideways():
    bad = []
    for path in all_modules():
        me = module_name(path)
        my_layer, my_unit = unit_of(me)
        for line, target in imports_of(path):
            layer, unit = unit_of(target)
            if unit == my_unit or layer < my_layer:
                continue
            if target == "datamoat":
                continue  # the package root: errors and __version__ only (its facade is lazy)
            bad.append(f"{path.relative_to(SRC.parent)}:{line} ({my_unit}, layer {my_layer}) imports {target} "
                       f"({unit}, layer {layer})")
    assert not bad, "imports against the layers of docs/architecture.md:\n" + "\n".join(bad)


def test_the_package_root_imports_only_the_errors():
    targets = {t for _, t in imports_of(SRC / "__init__.py")}
    assert targets <= {"datamoat.errors"}


@pytest.mark.parametrize("unit", [u for layer in LAYERS for u in layer if u != "datamoat"])
def test_the_architecture_document_names_every_package(unit):
    doc = (SRC.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    short = unit.split(".", 1)[1].replace(".", "/")
    assert f"`{short}" in doc, f"docs/architecture.md does not describe {unit}"

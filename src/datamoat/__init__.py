"""datamoat: from a team's own raw data to a model that keeps getting better.

The Python API mirrors the CLI::

    from datamoat import Workspace, run_loop
    ws = Workspace.open(".")                 # or Workspace.init("proj")
    v = ws.ingest("tickets.csv", name="tickets", text="body", label="intent")
    df = v.to_pandas()
    result = run_loop(ws, "tickets.csv", text="body", label="intent", budget="5m")  # the main job
    result.train.headline()                  # test accuracy with its CI, macro F1, ECE, rows
    result.to_dict()                         # what `datamoat run --json` prints

:func:`run_loop` is :func:`datamoat.flywheel.run.run_loop`; :func:`retrain` (the loop's second
half) is :func:`datamoat.flywheel.retrain.retrain`.
"""

from typing import Any

from datamoat.errors import DatamoatError, InputError, NotFoundError

__version__ = "0.1.0"

__all__ = ["DatamoatError", "InputError", "NotFoundError", "RunResult", "Workspace", "__version__", "retrain",
           "run_loop"]

_LAZY = {
    "Workspace": ("datamoat.workspace", "Workspace"),
    "run_loop": ("datamoat.flywheel.run", "run_loop"),
    "RunResult": ("datamoat.flywheel.run", "RunResult"),
    "retrain": ("datamoat.flywheel.retrain", "retrain"),
}


def __getattr__(name: str) -> Any:  # lazy: keep `import datamoat` cheap for the CLI's --help
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(name)

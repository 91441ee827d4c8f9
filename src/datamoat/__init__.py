"""datamoat: from a team's own raw data to a model that keeps getting better.

The Python API mirrors the CLI::

    from datamoat import Workspace
    ws = Workspace.open(".")                 # or Workspace.init("proj")
    v = ws.ingest("tickets.csv", name="tickets", text="body", label="intent")
    df = v.to_pandas()
"""

from datamoat.errors import DatamoatError, InputError, NotFoundError

__version__ = "0.1.0"

__all__ = ["DatamoatError", "InputError", "NotFoundError", "Workspace", "__version__"]


def __getattr__(name: str):  # lazy: keep `import datamoat` cheap for the CLI's --help
    if name == "Workspace":
        from datamoat.workspace import Workspace

        return Workspace
    raise AttributeError(name)

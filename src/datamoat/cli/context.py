"""Shared CLI state: which workspace the command works on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from datamoat.workspace import Workspace

WORKSPACE_ENV = "DATAMOAT_WORKSPACE"


def workspace_dir(ctx: typer.Context) -> Path:
    """The --workspace option, else $DATAMOAT_WORKSPACE, else the current directory."""
    root = ctx.find_root()
    chosen = (root.obj or {}).get("workspace") if root.obj else None
    return Path(chosen or os.environ.get(WORKSPACE_ENV) or ".")


def open_workspace(ctx: typer.Context) -> Workspace:
    """Open the workspace for this command (searching parent directories)."""
    from datamoat.workspace import Workspace  # heavy (pyarrow, SQLAlchemy): not needed for --help

    return Workspace.open(workspace_dir(ctx))

"""The ``--executor`` and ``--ray-address`` options of the commands that run recipes (apply, clean, run)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from datamoat.workspace import Workspace

ExecutorOpt = Annotated[
    str | None,
    typer.Option(
        "--executor",
        help="What runs the recipe: local (a process pool on this machine) or ray (needs the scale "
        "extra of datamoat). Default: executor in datamoat.yaml, else local.",
    ),
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="With --executor ray: the cluster to join (host:6379). Default: ray_address in "
        "datamoat.yaml, then $RAY_ADDRESS, else a local Ray with this machine's CPUs.",
    ),
]


def choose_executor(ws: Workspace, executor: str | None, ray_address: str | None) -> None:
    """Apply the options to the workspace (DatamoatError for an unknown executor)."""
    ws.use_executor(executor, ray_address)

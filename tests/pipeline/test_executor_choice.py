"""Choosing the executor: by name, from datamoat.yaml, overridden by the commands' options."""

from __future__ import annotations

from pathlib import Path

import pytest

from datamoat.errors import DatamoatError, WorkspaceError
from datamoat.pipeline import LocalExecutor
from datamoat.pipeline.executor_choice import make_executor


def test_make_executor_by_name(tmp_path: Path):
    local = make_executor("local", workers=2, scratch_dir=tmp_path)
    assert isinstance(local, LocalExecutor) and local.workers == 2
    with pytest.raises(DatamoatError, match=r"unknown executor 'spark'; the executors are: local, ray\."):
        make_executor("spark")


def test_ray_executor_is_made_without_starting_ray():
    pytest.importorskip("ray")
    from datamoat.pipeline.executor_ray import RayExecutor

    executor = make_executor("ray", workers=3, address="10.1.2.3:6379")
    assert isinstance(executor, RayExecutor)
    assert (executor.workers, executor.address) == (3, "10.1.2.3:6379")


def write_config(root: Path, extra: str) -> None:
    from datamoat.workspace import Workspace

    Workspace.init(root).close()
    with (root / "datamoat.yaml").open("a", encoding="utf-8") as f:
        f.write(extra)


def test_datamoat_yaml_chooses_the_executor_and_options_win(tmp_path: Path):
    from datamoat.workspace import Workspace

    write_config(tmp_path, "executor: ray\nray_address: head:6379\n")
    with Workspace.open(tmp_path) as ws:
        assert (ws.executor, ws.ray_address) == ("ray", "head:6379")
        ws.use_executor("local", None)
        assert (ws.executor, ws.ray_address) == ("local", "head:6379")
        with pytest.raises(DatamoatError, match="unknown executor 'dask'"):
            ws.use_executor("dask")


def test_an_unknown_executor_in_datamoat_yaml_names_the_file(tmp_path: Path):
    from datamoat.workspace import Workspace

    write_config(tmp_path, "executor: spark\n")
    with pytest.raises(WorkspaceError, match=r"datamoat\.yaml: 'executor' must be one of local, ray, got 'spark'\."):
        Workspace.open(tmp_path)

"""Scratch directories left in .datamoat/tmp by killed ingests and recipe runs are removed when
the workspace is next opened, once their owner process is gone."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from datamoat.workspace import Workspace


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_run_and_staging_dirs_go_at_open_live_ones_stay(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    tmp = tmp_path / "ws" / ".datamoat" / "tmp"
    pid = dead_pid()
    stale_run = tmp / f"datamoat-run-{pid}-abc123"
    stale_staging = tmp / f"{pid}-0f0f"
    live_run = tmp / f"datamoat-run-{os.getpid()}-def456"
    other = tmp / "not-ours"
    for d in (stale_run, stale_staging, live_run, other):
        (d / "sub").mkdir(parents=True)
        (d / "sub" / "spill.arrows").write_bytes(b"x" * 100)
    Workspace.open(tmp_path / "ws").close()
    assert not stale_run.exists() and not stale_staging.exists()
    assert live_run.exists() and other.exists()


def test_a_recipe_run_names_its_spill_dir_after_its_pid(tmp_path: Path, monkeypatch) -> None:
    """The pid in the name is what lets a later open tell a killed run's directory (spied on
    through the standard library's mkdtemp, which the executor calls)."""
    seen: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def spy(*args: Any, **kwargs: Any) -> str:
        path = real_mkdtemp(*args, **kwargs)
        seen.append(Path(path).name)
        return path

    ws = Workspace.init(tmp_path / "ws")
    src = tmp_path / "t.csv"
    src.write_text("id,text\n1, a \n2,b\n")
    ws.ingest(src, name="t", id="id", text="text")
    monkeypatch.setattr(tempfile, "mkdtemp", spy)
    try:
        ws.apply("t", [{"step": "strip_whitespace"}], workers=1)
    finally:
        ws.close()
    assert any(name.startswith(f"datamoat-run-{os.getpid()}-") for name in seen)

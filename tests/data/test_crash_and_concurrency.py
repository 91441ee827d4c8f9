"""A SIGKILL in the middle of an ingest, and several CLI processes on one workspace at once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import run_cli_subprocess


def _big_csv(path: Path, rows: int) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,text,amount\n")
        for i in range(rows):
            f.write(f"{i},ticket number {i} about a late delivery and a refund,{i * 0.5}\n")
    return path


def test_sigkill_during_ingest_leaves_no_trace_and_the_next_command_works(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run_cli_subprocess("init", str(ws), cwd=tmp_path).returncode == 0
    small = tmp_path / "small.csv"
    small.write_text("id,text\n1,a\n")
    assert run_cli_subprocess("-w", str(ws), "ingest", str(small), "--name", "d", cwd=tmp_path).returncode == 0
    before = run_cli_subprocess("-w", str(ws), "datasets", "--json", cwd=tmp_path).stdout
    big = _big_csv(tmp_path / "big.csv", 600_000)
    tmp_dir = ws / ".datamoat" / "tmp"

    proc = subprocess.Popen([sys.executable, "-m", "datamoat", "-w", str(ws), "ingest", str(big), "--name", "d"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until it is writing its staging files
        if any(p.is_file() for p in tmp_dir.rglob("*")):
            break
        time.sleep(0.01)
    else:
        proc.kill()
        raise AssertionError("ingest never started writing")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    after = run_cli_subprocess("-w", str(ws), "datasets", "--json", cwd=tmp_path)
    assert after.returncode == 0 and after.stdout == before
    con = sqlite3.connect(ws / ".datamoat" / "catalog.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    # the next ingest works and sweeps the dead process's staging directory away
    again = run_cli_subprocess("-w", str(ws), "ingest", str(small), "--name", "other", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert all(str(proc.pid) != p.name.split("-")[0] for p in tmp_dir.iterdir())


def test_parallel_ingests_into_one_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run_cli_subprocess("init", str(ws), cwd=tmp_path).returncode == 0
    files = []
    for i in range(4):
        f = tmp_path / f"part{i}.csv"
        f.write_text("id,text\n" + "".join(f"{i}-{j},row {j} of file {i}\n" for j in range(2000)))
        files.append(f)
    procs = [
        subprocess.Popen([sys.executable, "-m", "datamoat", "-w", str(ws), "ingest", str(f), "--name", "shared", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for f in files
    ] + [
        subprocess.Popen([sys.executable, "-m", "datamoat", "-w", str(ws), "ingest", str(files[0]), "--name", "same", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1] for r in results]
    versions = json.loads(run_cli_subprocess("-w", str(ws), "versions", "shared", "--json", cwd=tmp_path).stdout)
    assert sorted(v["version"] for v in versions) == [1, 2, 3, 4]
    assert len({v["hash"] for v in versions}) == 4
    same = json.loads(run_cli_subprocess("-w", str(ws), "versions", "same", "--json", cwd=tmp_path).stdout)
    assert len(same) == 1
    con = sqlite3.connect(ws / ".datamoat" / "catalog.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

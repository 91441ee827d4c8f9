"""Test-wide setup: offline environment, network guard, and helpers to run the CLI."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

NETGUARD_DIR = Path(__file__).parent / "netguard"
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "RAY_USAGE_STATS_ENABLED": "0",
    "DO_NOT_TRACK": "1",
}


def pytest_configure(config: pytest.Config) -> None:
    os.environ.update(OFFLINE_ENV)
    log = Path(config.rootpath) / ".pytest_cache" / f"netguard-{os.getpid()}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    os.environ["DATAMOAT_NETGUARD_LOG"] = str(log)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NETGUARD_DIR), os.environ.get("PYTHONPATH")]))
    os.environ.pop("DATAMOAT_CATALOG_URL", None)
    os.environ.pop("DATAMOAT_WORKSPACE", None)
    spec = importlib.util.spec_from_file_location("datamoat_netguard", NETGUARD_DIR / "sitecustomize.py")
    assert spec and spec.loader
    guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guard)  # installs the guard in this process


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    log = Path(os.environ.get("DATAMOAT_NETGUARD_LOG", ""))
    if log.is_file() and log.read_text().strip():
        print(f"\nnon-loopback network access was attempted during the tests:\n{log.read_text()}", file=sys.stderr)
        session.exitstatus = 1


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """Run the CLI in-process: ``code, out, err = cli("ingest", "f.csv", "--name", "x")``.

    The workspace is ``tmp_path / "ws"`` unless ``--workspace`` is given.
    """
    from datamoat.cli.app import main

    def run(*args: str, workspace: Path | None = None) -> tuple[int, str, str]:
        ws = workspace or (tmp_path / "ws")
        argv = ["--workspace", str(ws), *args] if "--workspace" not in args and "-w" not in args else list(args)
        code = main(argv)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[object]:
    """A fresh initialised workspace in tmp_path/ws."""
    from datamoat.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws")
    yield ws
    ws.close()


def run_cli_subprocess(*args: str, cwd: Path, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m datamoat ARGS`` as a separate process (for kill and concurrency tests)."""
    return subprocess.run(
        [sys.executable, "-m", "datamoat", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on 127.0.0.1 for the whole session.

    Missing server binaries fail the tests in CI (scripts/test.sh installs them) and skip them
    elsewhere.
    """
    from postgres_server import PostgresServer

    try:
        server = PostgresServer()
    except FileNotFoundError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty catalog database: a SQLite file, then a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/catalog.db"
    return request.getfixturevalue("postgres_server").new_database()

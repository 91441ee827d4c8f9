"""Test-wide setup (offline environment, network guard), fixtures to run the CLI, and the helpers
several test modules share: small Arrow batches, running steps and recipes in-process, the demo
tickets, files to read back, free ports and auth headers. Test modules import the plain functions
with ``from conftest import batch, run_step`` (tests/ is on sys.path because this file lives there).

datamoat modules beyond ``datamoat.data.roles`` are imported inside the functions, so that
:func:`pytest_configure` sets the offline environment before they load."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pytest

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles

if TYPE_CHECKING:
    from datamoat.pipeline import Recipe, RecipeRun, Step

NETGUARD_DIR = Path(__file__).parent / "netguard"
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # a local Ray binds to 127.0.0.1 (read when ray is imported)
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
    os.environ.pop("DATAMOAT_OBJECTS_URL", None)
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


RAY_TEST_KEY = "5e" * 32
"""The encryption key Ray's worker processes get (DATAMOAT_KEY in their environment), so the
Ray tests can run ``encrypt_columns``; a test that uses it sets the same key in the driver."""


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for the whole session (2 CPUs, no dashboard), shared by every Ray test.

    Skips where ray is not installed (CI installs the ``scale`` extra, so they run there)."""
    ray = pytest.importorskip("ray")
    from datamoat.pipeline.executor_ray import ensure_ray, quiet_ray_logging

    quiet_ray_logging()
    # Ray 2.60's head process asks cloud metadata addresses which cloud it is on at start, usage
    # stats or not: send its plain-HTTP requests to a closed port on 127.0.0.1 (the processes
    # ray.init starts inherit this), so nothing leaves the machine and the net guard stays strict.
    proxy = {"HTTP_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9",
             "NO_PROXY": "localhost,127.0.0.1", "no_proxy": "localhost,127.0.0.1"}
    saved = {k: os.environ.get(k) for k in proxy}
    os.environ.update(proxy)
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"DATAMOAT_KEY": RAY_TEST_KEY}})
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    ensure_ray()
    yield ray
    ray.shutdown()


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty catalog database: a SQLite file, then a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/catalog.db"
    return request.getfixturevalue("postgres_server").new_database()


# --- shared helpers ------------------------------------------------------------------------------

ROLES = ColumnRoles.from_dict({"text": "text", "label": "label"})
"""The roles of :func:`batch` and :func:`table`: text in ``text``, the label in ``label``."""
DEMO_COLUMNS = ("ticket_id", "customer_id", "created_at", "channel", "text", "intent")
"""The columns of the demo tickets CSV, all read as strings."""


def batch(
    texts: list, labels: list | None = None, ids: list[str] | None = None, *, label_column: bool = True,
    **extra: list,
) -> pa.RecordBatch:
    """A batch of ``len(texts)`` rows: _dm_row_id (``ids``, else r0, r1, ...), text (string), label
    (``labels``, else "x" for every row; no label column when ``label_column`` is False), then the
    ``extra`` columns as given."""
    n = len(texts)
    data: dict[str, Any] = {
        ROW_ID_COLUMN: ids if ids is not None else [f"r{i}" for i in range(n)],
        "text": pa.array(texts, pa.string()),
    }
    if label_column:
        data["label"] = pa.array(labels if labels is not None else ["x"] * n, pa.string())
    data.update(extra)
    return pa.record_batch(data)


def table(
    texts: list, labels: list | None = None, ids: list[str] | None = None, *, label_column: bool = True,
    **extra: list,
) -> pa.Table:
    """:func:`batch` as a one-chunk table."""
    return pa.Table.from_batches([batch(texts, labels, ids, label_column=label_column, **extra)])


def run_step(step: Step, b: pa.RecordBatch, roles: ColumnRoles = ROLES) -> pa.RecordBatch:
    """Bind ``step`` to ``b``, fit it on ``b`` when it is a global step, and apply it: the raw
    output, with the _dm_drop column when the step writes one."""
    step.bind(roles, b.schema)
    if step.kind == "global":
        step.fit([b])
    return step.apply(b)


def reasons(out: pa.RecordBatch, missing_ok: bool = False) -> list[str | None]:
    """The _dm_drop reasons of a step's output, one per row (None: kept). Without the column this
    raises KeyError, or with ``missing_ok`` gives None for every row."""
    from datamoat.pipeline import DROP_COLUMN

    if missing_ok and DROP_COLUMN not in out.schema.names:
        return [None] * out.num_rows
    return out.column(DROP_COLUMN).to_pylist()


def run_local(
    recipe: Recipe | list[dict], batches: list[pa.RecordBatch], roles: ColumnRoles = ROLES, **kwargs: Any
) -> tuple[pa.Table, pa.Table, RecipeRun]:
    """Run ``recipe`` (a Recipe, or the list that Recipe.from_list takes) in-process with the
    LocalExecutor (``workers`` 1 unless given; other ``kwargs`` go to it too); return the output
    table, the exclusions table and the run."""
    from datamoat.pipeline import LocalExecutor, Recipe

    if not isinstance(recipe, Recipe):
        recipe = Recipe.from_list(recipe)
    run = LocalExecutor(workers=kwargs.pop("workers", 1), **kwargs).run(recipe, roles, lambda: iter(batches))
    return run.to_table(), run.exclusions_table(), run


def demo_tickets(folder: Path, seed: int, n_tickets: int = 800) -> tuple[pa.Table, dict, ColumnRoles]:
    """Generate ``n_tickets`` demo tickets in ``folder``; return them as a table of strings with
    _dm_row_id = ticket_id, the truth (truth.json) and the roles (text, label = intent)."""
    import pyarrow.csv as pcsv

    from datamoat.demo.generate import generate_demo_data

    paths = generate_demo_data(folder, n_tickets=n_tickets, seed=seed)
    opts = pcsv.ConvertOptions(column_types={c: pa.string() for c in DEMO_COLUMNS}, strings_can_be_null=True)
    data = pcsv.read_csv(paths["tickets"], convert_options=opts)
    data = data.append_column(ROW_ID_COLUMN, data.column("ticket_id"))
    truth = json.loads(Path(paths["truth"]).read_text())
    return data, truth, ColumnRoles.from_dict({"text": "text", "label": "intent"})


def write_file(folder: Path, name: str, data: bytes | str) -> str:
    """Write ``data`` (str as UTF-8) to ``folder / name``, making parent folders; return the path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(path)


def read_source(path: str, **kwargs: Any) -> tuple[Any, list[dict], list[pa.RecordBatch]]:
    """Open ``path`` with open_source(``kwargs``) and read it all: (source, rows as dicts, batches)."""
    from datamoat.data.readers import open_source

    source = open_source(path, **kwargs)
    batches = list(source.batches())
    return source, [row for b in batches for row in b.to_pylist()], batches


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def auth(key: str) -> dict[str, str]:
    """The headers that send ``key`` as a bearer API key."""
    return {"Authorization": f"Bearer {key}"}

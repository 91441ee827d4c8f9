"""Optional MLflow logging of training / evaluation runs, kept inside the workspace.

When mlflow is installed (``pip install 'datamoat[mlflow]'``: mlflow-skinny is enough),
:func:`log_run` records params, metrics, tags and report files in a local store:

- tracking: ``sqlite:///<state>/mlflow.db`` (MLflow 3 refuses a plain file store);
- artifacts: ``<state>/mlruns/<run id>/artifacts/``.

so ``mlflow ui --backend-store-uri sqlite:///.datamoat/mlflow.db`` shows them. Nothing leaves
the machine: ``MLFLOW_DISABLE_TELEMETRY=true`` is set before mlflow is imported. No model
flavor is logged (that costs 12-16 s and duplicates the registry); the model stays in
datamoat's registry. Without mlflow, :func:`log_run` does nothing and returns None.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from datamoat.errors import DatamoatError

DB_FILE = "mlflow.db"
ARTIFACT_DIR = "mlruns"
DEFAULT_EXPERIMENT = "datamoat"
MAX_KEY_LENGTH = 250
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000
METRICS_PER_BATCH = 1000
PARAMS_PER_BATCH = 100
"""Limits of the MLflow tracking API (mlflow.utils.validation) that names and values are cut to."""

_BAD_CHARS = re.compile(r"[^A-Za-z0-9_.\- ]")


def sanitize_name(name: str) -> str:
    """A metric / param / tag key MLflow accepts on every OS.

    Keeps ASCII letters, digits, ``_ . -`` and spaces (other characters, slashes and colons
    included, become ``_``); a name that is empty or starts with ``.`` gets a leading ``_``
    (MLflow rejects names that are not normalised relative paths). Cut to 250 characters.
    """
    clean = _BAD_CHARS.sub("_", str(name)).strip()
    if not clean or clean.startswith("."):
        clean = "_" + clean
    return clean[:MAX_KEY_LENGTH]


def _is_number(value: Any) -> bool:
    """True for finite ints and floats, numpy's included; False for booleans."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _item_key(item: Any, index: int) -> str:
    """Key of a list element: its "label" / "name" / "class" value when it is a dict, else its index."""
    if isinstance(item, Mapping):
        for field in ("label", "name", "class"):
            if item.get(field) is not None:
                return str(item[field])
    return str(index)


def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric scalars of a nested dict as ``{"a.b.c": value}`` with sanitised names.

    Dicts recurse (keys joined by ``.``); lists of numbers give ``name.0``, ``name.1``...;
    lists of dicts recurse keyed by each dict's ``label`` / ``name`` / ``class`` (else its
    index), so ``per_class`` rows become ``per_class.billing.f1``. Lists of lists (a confusion
    matrix), strings, booleans, None and non-finite numbers are left out.
    """
    out: dict[str, float] = {}

    def walk(value: Any, key: str) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(value, list | tuple):
            if any(isinstance(v, list | tuple) for v in value):
                return
            for i, v in enumerate(value):
                walk(v, f"{key}.{_item_key(v, i)}")
        elif _is_number(value):
            name = sanitize_name(key)
            if name not in out:
                out[name] = float(value)

    walk(metrics, prefix)
    return out


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Params as ``{"a.b": "value"}``: nested dicts flattened, other values as text (lists as JSON)."""
    out: dict[str, str] = {}
    for k, v in params.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping) and v:
            out.update(flatten_params(v, key))
            continue
        text = v if isinstance(v, str) else json.dumps(v, default=str, sort_keys=True)
        out.setdefault(sanitize_name(key), text[:MAX_PARAM_LENGTH])
    return out


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _import_mlflow() -> Any | None:
    """The mlflow module with telemetry off, or None when it is not installed."""
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    try:
        import mlflow
    except ImportError:
        return None
    # mlflow logs INFO lines (database set-up, migrations) to the terminal; they are not ours
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return mlflow


def tracking_uri(workspace_state_dir: Path) -> str:
    """``sqlite:///<absolute state dir>/mlflow.db``."""
    return f"sqlite:///{(Path(workspace_state_dir).resolve() / DB_FILE).as_posix()}"


def log_run(
    workspace_state_dir: Path,
    *,
    run_name: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, Any],
    tags: Mapping[str, Any],
    artifacts: Sequence[Path] = (),
    experiment: str = DEFAULT_EXPERIMENT,
) -> str | None:
    """Log one finished run to the workspace's MLflow store; return its run id (None without mlflow).

    workspace_state_dir: the workspace's ``.datamoat`` folder. params: hyper-parameters (nested
    dicts flattened). metrics: evaluation figures, nested; only finite numbers are logged (see
    :func:`flatten_metrics`). tags: text facts (dataset version, model ref). artifacts: files or
    folders (e.g. the HTML report) copied into the run. DatamoatError for a missing artifact.
    """
    paths = [Path(p) for p in artifacts]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise DatamoatError(f"MLflow logging: artifact(s) not found: {', '.join(missing)}.")
    if _import_mlflow() is None:
        return None
    from mlflow.entities import Metric, Param
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    state = Path(workspace_state_dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=tracking_uri(state))
    found = client.get_experiment_by_name(experiment)
    if found is None:
        try:
            experiment_id = client.create_experiment(experiment, artifact_location=(state / ARTIFACT_DIR).as_uri())
        except MlflowException:  # created meanwhile by another process
            experiment_id = client.get_experiment_by_name(experiment).experiment_id
    else:
        experiment_id = found.experiment_id

    tag_map = {sanitize_name(k): str(v)[:MAX_TAG_LENGTH] for k, v in tags.items()}
    run = client.create_run(experiment_id, run_name=run_name, tags=tag_map)
    run_id = run.info.run_id
    try:
        now = int(time.time() * 1000)
        metric_list = [Metric(k, v, now, 0) for k, v in flatten_metrics(metrics).items()]
        param_list = [Param(k, v) for k, v in flatten_params(params).items()]
        for chunk in _chunks(metric_list, METRICS_PER_BATCH):
            client.log_batch(run_id, metrics=chunk)
        for chunk in _chunks(param_list, PARAMS_PER_BATCH):
            client.log_batch(run_id, params=chunk)
        for path in paths:
            if path.is_dir():
                client.log_artifacts(run_id, str(path), artifact_path=path.name)
            else:
                client.log_artifact(run_id, str(path))
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED")
    return run_id

"""The project spec, ``datamoat.yaml``: what a workspace's data is and what it should learn.

Keys (all optional):

``name``
    The project's name (default: the directory's name).
``catalog_url``
    SQLAlchemy URL of the catalog database. Default: the SQLite file
    ``.datamoat/catalog.db``. The environment variable ``DATAMOAT_CATALOG_URL`` wins over it;
    a team points both at PostgreSQL (``postgresql+psycopg://user:pw@host/db``).
``sources``
    Named inputs: ``{name: {path, format, roles, options}}``. ``datamoat ingest --source NAME``
    reads one into the dataset of the same name. Relative paths are relative to the workspace.
    An HTTP JSON API is ``{format: http_json, url, data_selector, params, headers, auth,
    paginator, max_pages, primary_key, incremental, timeout_s, retry, roles}`` (dlt's REST API
    names; see :mod:`datamoat.data.sources.http_spec`); with ``incremental`` its cursor is kept
    in the catalog under the source's name.
``roles``
    Default column roles per dataset: ``{dataset: {text: body, label: intent, ...}}``; used
    when ingest is not told the roles.
``task``
    What the model should learn: ``{kind: text-classification | tabular-classification |
    tabular-regression | language-model, text: COL, label: COL}``.
``recipe``
    The default cleaning recipe: a list of ``{step: NAME, ...params}`` entries.
``pii``
    How personal data in text is found: ``{mode: accurate | fast}`` (default accurate: the
    recognizers plus the learned tagger; fast: the recognizers only). Used by the profile,
    ``datamoat pii scan/redact``, ``datamoat run`` and the server's redaction.
``executor``
    What runs recipes (``apply``, ``clean``, ``run``): ``local`` (default: a process pool on
    this machine) or ``ray`` (``pip install datamoat[scale]``; see
    :mod:`datamoat.pipeline.executor_ray`). The commands' ``--executor`` wins over it.
``ray_address``
    The Ray cluster to join with ``executor: ray`` (``host:6379`` or ``ray://host:10001``);
    ``RAY_ADDRESS`` and ``--ray-address`` win over it. Unset: a local Ray with this machine's CPUs.
``objects_url``
    Where dataset versions are stored for every machine: ``s3://bucket/prefix``,
    ``gs://bucket/prefix`` or a folder all nodes mount. Unset: ``.datamoat/objects`` only. With it,
    ``.datamoat/objects`` is this machine's cache (see :mod:`datamoat.data.object_store`).
    ``DATAMOAT_OBJECTS_URL`` wins over it. Credentials only from the environment.
``objects_endpoint``
    An S3-compatible server's URL (MinIO, Ceph: ``http://minio:9000``); ``AWS_ENDPOINT_URL_S3`` /
    ``AWS_ENDPOINT_URL`` win over it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from datamoat.errors import WorkspaceError

CONFIG_FILE = "datamoat.yaml"
STATE_DIR = ".datamoat"
"""The workspace's state folder next to :data:`CONFIG_FILE` (catalog, objects, models, reports, logs)."""
KNOWN_KEYS = ("version", "name", "catalog_url", "sources", "roles", "task", "recipe", "pii", "executor", "ray_address",
              "objects_url", "objects_endpoint")
EXECUTORS = ("local", "ray")
"""The values of ``executor`` (and ``--executor``)."""


def find_workspace_root(path: str | Path) -> Path | None:
    """The workspace a command at ``path`` works in: ``path`` (resolved) or its nearest parent
    holding a :data:`CONFIG_FILE`; None when there is none. Reads nothing but the folders."""
    start = Path(path).resolve()
    return next((p for p in (start, *start.parents) if (p / CONFIG_FILE).is_file()), None)

TEMPLATE = """\
# datamoat project spec. Every key is optional; see `datamoat init --help`.
version: 1
name: {name}

# SQLAlchemy URL of the catalog. Empty: the SQLite file .datamoat/catalog.db.
# DATAMOAT_CATALOG_URL overrides it (e.g. postgresql+psycopg://user:pw@host/db for a team).
catalog_url:

# Where dataset versions are stored for every machine of a team: s3://bucket/prefix, gs://...,
# or a folder all machines mount. Empty: .datamoat/objects. DATAMOAT_OBJECTS_URL overrides it;
# credentials and an S3-compatible endpoint come from the environment (see README: Team setup).
objects_url:

# Named inputs for `datamoat ingest --source NAME` (paths relative to this file).
sources: {{}}
#  tickets:
#    path: data/tickets.csv
#    format: csv                 # csv, tsv, json, jsonl, parquet, sql, text (default: guessed)
#    roles: {{id: ticket_id, text: text, label: intent, timestamp: created_at}}
#    options: {{}}                # reader options, e.g. {{delimiter: ";", encoding: cp1252}}
#  tickets_api:                  # an HTTP JSON API, fetched incrementally (see README: HTTP JSON sources)
#    format: http_json
#    url: https://helpdesk.example.com/api/tickets
#    data_selector: $.data
#    auth: {{type: bearer, token_env: HELPDESK_TOKEN}}
#    paginator: {{type: page_number, total_path: $.meta.total_pages}}
#    primary_key: id
#    incremental: {{cursor_path: updated_at, start_param: updated_since}}

# Default column roles per dataset, used when ingest is not given them.
# Roles: id, text, label, split, timestamp, group, quasi_identifier (list), sensitive (list).
roles: {{}}

# What the model should learn.
task:
  kind: text-classification      # or tabular-classification, tabular-regression, language-model
  text: text
  label: label

# Default cleaning recipe for `datamoat apply` (see `datamoat steps`).
recipe:
  - step: drop_missing
  - step: strip_whitespace
  - step: exact_dedup
"""


@dataclass
class ProjectConfig:
    """Parsed ``datamoat.yaml``."""

    path: Path
    name: str
    catalog_url: str | None = None
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    task: dict[str, Any] = field(default_factory=dict)
    recipe: list[dict[str, Any]] = field(default_factory=list)
    pii: dict[str, Any] = field(default_factory=dict)
    executor: str = "local"
    ray_address: str | None = None
    objects_url: str | None = None
    objects_endpoint: str | None = None

    @property
    def pii_mode(self) -> str | None:
        """The ``pii: {mode: ...}`` setting (None: not set; privacy.pii checks the value)."""
        mode = self.pii.get("mode")
        return None if mode is None else str(mode)

    @classmethod
    def load(cls, path: Path) -> ProjectConfig:
        """Read and check ``path``; WorkspaceError with the file and the problem otherwise."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f", line {mark.line + 1}" if mark else ""
            raise WorkspaceError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)}).") from exc
        except UnicodeDecodeError as exc:
            raise WorkspaceError(f"{path}: not UTF-8 text (byte {exc.start}).") from exc
        if not isinstance(data, dict):
            raise WorkspaceError(f"{path}: expected a mapping of keys at the top level.")
        unknown = sorted(set(data) - set(KNOWN_KEYS))
        if unknown:
            raise WorkspaceError(f"{path}: unknown key {unknown[0]!r}; known keys: {', '.join(KNOWN_KEYS)}.")
        for key, kind in (("sources", dict), ("roles", dict), ("task", dict), ("recipe", list), ("pii", dict)):
            if data.get(key) is not None and not isinstance(data[key], kind):
                raise WorkspaceError(f"{path}: {key!r} must be a {'mapping' if kind is dict else 'list'}.")
        executor = data.get("executor") or "local"
        if executor not in EXECUTORS:
            raise WorkspaceError(f"{path}: 'executor' must be one of {', '.join(EXECUTORS)}, got {executor!r}.")
        return cls(
            path=path,
            name=str(data.get("name") or path.parent.name),
            catalog_url=data.get("catalog_url") or None,
            sources=data.get("sources") or {},
            roles=data.get("roles") or {},
            task=data.get("task") or {},
            recipe=data.get("recipe") or [],
            pii=data.get("pii") or {},
            executor=executor,
            ray_address=str(data["ray_address"]) if data.get("ray_address") else None,
            objects_url=str(data["objects_url"]) if data.get("objects_url") else None,
            objects_endpoint=str(data["objects_endpoint"]) if data.get("objects_endpoint") else None,
        )

    @staticmethod
    def write_template(path: Path, name: str) -> None:
        """Write a commented starting spec (atomically)."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(TEMPLATE.format(name=name), encoding="utf-8")
        tmp.replace(path)

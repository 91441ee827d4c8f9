"""A workspace: ``datamoat.yaml`` + ``.datamoat/`` (catalog, objects, models, reports).

This is the Python API that the CLI mirrors::

    ws = Workspace.init("proj")                   # datamoat init proj
    v = ws.ingest("t.csv", name="t", text="body")  # datamoat ingest t.csv --name t --text body
    ws.version("t@latest").to_pandas()             # datamoat show t@latest
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datamoat.catalog import Catalog
from datamoat.config import CONFIG_FILE, STATE_DIR, ProjectConfig, find_workspace_root

if TYPE_CHECKING:
    from datamoat.data.diff import VersionDiff
from datamoat.data.corpus import corpus_read_options
from datamoat.data.dataset_name import check_dataset_name
from datamoat.data.export import export_version
from datamoat.data.ingest import ProgressFn, ingest
from datamoat.data.object_store import ObjectStore
from datamoat.data.objects_url import resolve_objects_url
from datamoat.data.readers.base import OnBadRows
from datamoat.data.readers.text_folder import DEFAULT_BLOCK_CHARS
from datamoat.data.remote_objects import RemoteObjects
from datamoat.data.roles import ColumnRoles
from datamoat.data.version import Version
from datamoat.errors import DatamoatError, WorkspaceError
from datamoat.pipeline.apply import ApplyResult, apply_recipe
from datamoat.pipeline.executor_choice import EXECUTOR_NAMES, make_executor
from datamoat.pipeline.recipe import Recipe

SUBDIRS = ("objects", "models", "reports", "tmp")
HTTP_JSON = "http_json"
"""The format of HTTP JSON API sources (fetched, paged and merged: not a file reader)."""
CATALOG_URL_ENV = "DATAMOAT_CATALOG_URL"
OBJECTS_URL_ENV = "DATAMOAT_OBJECTS_URL"


class Workspace:
    """An opened workspace. Use :meth:`init` or :meth:`open`, not the constructor."""

    def __init__(self, root: Path, config: ProjectConfig) -> None:
        self.root = root
        self.config = config
        self.state = root / STATE_DIR
        for sub in SUBDIRS:
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        self.catalog_url = os.environ.get(CATALOG_URL_ENV) or config.catalog_url or (
            f"sqlite:///{self.state / 'catalog.db'}"
        )
        self.catalog = Catalog(self.catalog_url, self.state / "catalog.lock")
        self.objects_url = os.environ.get(OBJECTS_URL_ENV) or config.objects_url
        self.store = ObjectStore(self.state, self._remote_objects())
        self.store.remove_stale_staging()  # what killed ingests and runs left in tmp/
        self.executor = config.executor
        self.ray_address = config.ray_address

    def _remote_objects(self) -> RemoteObjects | None:
        """The shared object store named by ``objects_url`` (None: the local folder only)."""
        if not self.objects_url:
            return None
        where = OBJECTS_URL_ENV if os.environ.get(OBJECTS_URL_ENV) else f"{self.config.path} (objects_url)"
        return RemoteObjects(resolve_objects_url(self.objects_url, self.root, self.config.objects_endpoint, where))

    def use_executor(self, name: str | None = None, address: str | None = None) -> None:
        """Run this workspace's recipes with executor ``name`` (``local`` or ``ray``; None keeps
        datamoat.yaml's) and, for ray, join the cluster at ``address`` (None keeps datamoat.yaml's
        ``ray_address``, then ``$RAY_ADDRESS``, then a local Ray)."""
        if name is not None:
            if name not in EXECUTOR_NAMES:
                raise DatamoatError(f"unknown executor {name!r}; the executors are: {', '.join(EXECUTOR_NAMES)}.")
            self.executor = name
        if address is not None:
            self.ray_address = address

    # ------------------------------------------------------------ open / init
    @classmethod
    def init(cls, path: str | Path = ".", name: str | None = None) -> Workspace:
        """Create (or re-open) a workspace in ``path``: datamoat.yaml and .datamoat/."""
        root = Path(path).resolve()
        if root.exists() and not root.is_dir():
            raise WorkspaceError(f"{root} exists and is not a directory.")
        root.mkdir(parents=True, exist_ok=True)
        config_path = root / CONFIG_FILE
        if not config_path.exists():
            ProjectConfig.write_template(config_path, name or root.name)
        state = root / STATE_DIR
        state.mkdir(exist_ok=True)
        ignore = state / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# datamoat's data and catalog: keep out of git\n*\n", encoding="utf-8")
        return cls(root, ProjectConfig.load(config_path))

    @classmethod
    def open(cls, path: str | Path = ".") -> Workspace:
        """Open the workspace at ``path`` or the nearest parent directory that has one."""
        root = find_workspace_root(path)
        if root is None:
            raise WorkspaceError(
                f"no datamoat workspace at {Path(path).resolve()} or above it; run `datamoat init` there first."
            )
        return cls(root, ProjectConfig.load(root / CONFIG_FILE))

    def close(self) -> None:
        """Release the catalog's connections."""
        self.catalog.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ datasets
    def ingest(
        self,
        path: str | Path,
        *,
        name: str,
        text: str | None = None,
        label: str | None = None,
        id: str | None = None,  # noqa: A002 - mirrors the CLI's --id
        roles: dict[str, Any] | None = None,
        format: str | None = None,  # noqa: A002 - mirrors the CLI's --format
        on_bad_rows: OnBadRows = "error",
        progress: ProgressFn | None = None,
        allow_empty: bool = False,
        infer_roles: bool = True,
        **reader_options: Any,
    ) -> Version:
        """Read a file, folder, SQL query or HTTP JSON API into a new version of dataset ``name``.

        text / label / id: shortcuts for the most used roles; ``roles`` sets any role
        (``{"quasi_identifier": ["age", "zip"]}``). Without roles, the project's ``roles``
        entry for ``name`` is used. allow_empty: make a 0-row version of a source with columns
        but no rows (by default an InputError). infer_roles: without a text role, take the
        free-text column as the text (:mod:`datamoat.data.role_inference`). Returns the new version, or the existing one when the same
        content was ingested before (``version.created`` tells which). With
        ``format="http_json"`` ``path`` is the URL and ``reader_options`` are the source's keys
        (``data_selector``, ``paginator={...}`` or ``**{"paginator.type": ...}``, ...; see
        :mod:`datamoat.data.sources.http_spec`); its cursor is kept under the dataset's name.
        """
        merged = dict(self.config.roles.get(name, {})) if roles is None else dict(roles)
        for role, column in (("text", text), ("label", label), ("id", id)):
            if column:
                merged[role] = column
        if (format or "").lower() == HTTP_JSON:
            return self._ingest_http({"url": str(path), **reader_options}, name=name, source=name, roles=merged,
                                     where=str(path), progress=progress, allow_empty=allow_empty,
                                     infer_roles=infer_roles)
        result = ingest(
            self.catalog,
            self.store,
            str(path),
            name=name,
            roles=ColumnRoles.from_dict(merged),
            format=format,
            on_bad_rows=on_bad_rows,
            reader_options=reader_options,
            progress=progress,
            allow_empty=allow_empty,
            infer_roles=infer_roles,
        )
        version = Version(result.version, self.store)
        version.created = result.created  # type: ignore[attr-defined]
        return version

    def ingest_corpus(
        self,
        path: str | Path,
        *,
        name: str,
        text: str | None = None,
        format: str | None = None,  # noqa: A002 - mirrors the CLI's --format
        block_chars: int = DEFAULT_BLOCK_CHARS,
        progress: ProgressFn | None = None,
        **reader_options: Any,
    ) -> Version:
        """Read a language-model corpus into dataset ``name``: one row per document.

        A folder gives one row per file; a table file (CSV, JSON, Parquet) one row per row,
        ``text`` naming the column (else it is inferred); any other file is one long text cut
        into ordered blocks of whole paragraphs of at least ``block_chars`` characters
        (:mod:`datamoat.data.corpus`). reader_options: passed on (``encoding=`` ...).
        """
        fmt, options = corpus_read_options(str(path), format=format, block_chars=block_chars)
        return self.ingest(path, name=name, text=text, format=fmt, progress=progress, **{**options, **reader_options})

    def ingest_source(self, source: str, progress: ProgressFn | None = None) -> Version:
        """Ingest the named entry of ``sources`` in datamoat.yaml into the dataset of that name."""
        spec = self.config.sources.get(source)
        if spec is None:
            known = ", ".join(self.config.sources) or "none"
            raise DatamoatError(f"{self.config.path}: no source named {source!r}; sources: {known}.")
        if not isinstance(spec, dict):
            raise DatamoatError(f"{self.config.path}: source {source!r} must be a mapping of keys.")
        if str(spec.get("format") or "").lower() == HTTP_JSON:
            entry = {k: v for k, v in spec.items() if k not in ("format", "roles")}
            roles = dict(self.config.roles.get(source, {})) if spec.get("roles") is None else dict(spec["roles"])
            return self._ingest_http(entry, name=source, source=source, roles=roles,
                                     where=f"{self.config.path} (source {source!r})", progress=progress)
        if "path" not in spec:
            raise DatamoatError(f"{self.config.path}: source {source!r} has no 'path'.")
        path = str(spec["path"])
        if "://" not in path and not Path(path).is_absolute():
            path = str(self.root / path)
        return self.ingest(
            path,
            name=source,
            roles=spec.get("roles"),
            format=spec.get("format"),
            progress=progress,
            **(spec.get("options") or {}),
        )

    def _ingest_http(self, entry: dict[str, Any], *, name: str, source: str, roles: dict[str, Any], where: str,
                     progress: ProgressFn | None, allow_empty: bool = False, infer_roles: bool = True) -> Version:
        """Fetch an ``http_json`` source (:mod:`datamoat.data.sources.http_ingest`) into dataset ``name``."""
        from datamoat.data.sources.http_ingest import ingest_http
        from datamoat.data.sources.http_spec import HttpJsonSpec

        spec = HttpJsonSpec.from_dict(entry, where)
        result, _ = ingest_http(self.catalog, self.store, spec, name=name, source=source,
                                roles=ColumnRoles.from_dict(roles), progress=progress, allow_empty=allow_empty,
                                infer_roles=infer_roles)
        version = Version(result.version, self.store)
        version.created = result.created  # type: ignore[attr-defined]
        return version

    def datasets(self) -> list[dict[str, Any]]:
        """One summary per dataset: name, number of versions, latest ref and rows."""
        return self.catalog.dataset_summaries()

    def versions(self, name: str) -> list[Version]:
        """Every version of dataset ``name``, oldest first."""
        return [Version(r, self.store) for r in self.catalog.list_versions(name)]

    def version(self, ref: str) -> Version:
        """``name``, ``name@latest``, ``name@3`` or ``name@<hash prefix>``."""
        return Version(self.catalog.resolve(ref), self.store)

    def version_by_id(self, version_id: int) -> Version:
        """A version by its catalog id (as found in lineage)."""
        return Version(self.catalog.version_by_id(version_id), self.store)

    def diff(self, a: str, b: str, sample: int = 5) -> VersionDiff:
        """Rows added, removed and changed from version ``a`` to ``b`` (matched by row id)."""
        from datamoat.data.diff import diff_versions  # DuckDB: imported only when needed

        return diff_versions(self.version(a), self.version(b), sample=sample)

    def export(self, ref: str, out: str | Path, internal: bool = False) -> Path:
        """Write a version to ``out`` (.csv, .jsonl or .parquet), atomically; recorded in the audit log."""
        from datamoat.catalog.audit import append_event

        version = self.version(ref)
        path = export_version(version, Path(out), internal=internal)
        append_event(self.catalog, "export", version.ref,
                     {"path": str(Path(path).resolve()), "rows": version.num_rows, "internal_columns": internal})
        return path

    # ------------------------------------------------------------ recipes
    def apply(
        self,
        ref: str,
        recipe: Recipe | str | Path | list[dict[str, Any]] | None = None,
        *,
        output: str | None = None,
        workers: int | None = None,
        label: str = "recipe",
    ) -> ApplyResult:
        """Run a recipe over version ``ref``; the result is a new version with ``ref`` as parent.

        recipe: a Recipe, a YAML file path, YAML text, a list of step entries, or None for
            the project's default ``recipe`` from datamoat.yaml.
        output: dataset name of the result (default: the same dataset).
        workers: worker processes for row-local steps (default: one per CPU); with the ray
            executor, parallel tasks (default: the cluster's CPUs).
        The executor is the workspace's (:meth:`use_executor`, ``executor`` in datamoat.yaml).
        """
        if output is not None and self.catalog.find_dataset(output) is None:
            check_dataset_name(output)  # before the work, not after it
        if recipe is None:
            recipe = Recipe.from_list(self.config.recipe, source=f"{self.config.path} (recipe)")
        elif isinstance(recipe, list):
            recipe = Recipe.from_list(recipe)
        elif not isinstance(recipe, Recipe):
            recipe = Recipe.from_yaml(recipe)
        executor = make_executor(
            self.executor, workers=workers, address=self.ray_address, scratch_dir=self.store.tmp
        )
        return apply_recipe(
            self.catalog, self.store, self.version(ref), recipe, output=output, executor=executor, label=label
        )

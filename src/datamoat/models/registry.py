"""The model registry: model versions in the catalog, their files in ``.datamoat/models``.

A model version is a fitted :class:`~datamoat.models.trainers.contract.Trainer` saved into
``.datamoat/models/<name>/<artifact hash>/`` (written to a staging folder and renamed into
place, like dataset versions) plus a catalog row with its lineage: the dataset version it was
trained on, the one it was tested on, its metrics and any extra facts (the recipe, timings).
Versions are addressed as ``name``, ``name@latest``, ``name@3`` or ``name@<alias>``; aliases
such as ``champion`` and ``challenger`` move between versions of one name.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from datamoat.catalog import Catalog
from datamoat.catalog.records import as_utc, dumps, utc_now
from datamoat.catalog.tables import model_aliases, models
from datamoat.errors import DatamoatError, NotFoundError
from datamoat.models.trainers.contract import Trainer

_RETRIES = 5


@dataclass(frozen=True)
class ModelRecord:
    """One registered model version.

    name / ordinal: ``name@ordinal`` addresses it. kind / params: the trainer and its settings.
    train_version_id / test_version_id: catalog ids of the dataset versions (lineage).
    metrics: JSON-ready evaluation figures. info: other facts (recipe, timings, classes).
    artifact_hash: sha256 over the saved files; path: where they are.
    """

    id: int
    name: str
    ordinal: int
    kind: str
    params: dict[str, Any]
    train_version_id: int
    test_version_id: int | None
    metrics: dict[str, Any]
    info: dict[str, Any]
    artifact_hash: str
    created_at: datetime
    path: Path
    aliases: list[str] = field(default_factory=list)

    @property
    def compressed(self) -> str | None:
        """The compression method (``onnx-int8`` ...) when this version was made by
        ``datamoat compress``, else None."""
        method = (self.info.get("compression") or {}).get("method")
        return str(method) if method else None

    @property
    def ref(self) -> str:
        """``name@ordinal``."""
        return f"{self.name}@{self.ordinal}"

    def summary(self) -> dict[str, Any]:
        """The identity and lineage fields (no metrics or info), for report headers."""
        return {k: v for k, v in self.to_dict().items() if k not in ("metrics", "info")}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id, "ref": self.ref, "name": self.name, "version": self.ordinal, "kind": self.kind,
            "params": self.params, "train_version_id": self.train_version_id,
            "test_version_id": self.test_version_id, "metrics": self.metrics, "info": self.info,
            "artifact_hash": self.artifact_hash, "created_at": self.created_at.isoformat(),
            "aliases": self.aliases, "path": str(self.path),
        }


def _tree_hash(directory: Path) -> str:
    """sha256 over the relative paths and bytes of every file under ``directory``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class ModelRegistry:
    """Registry of one workspace. catalog: its Catalog; root: its ``.datamoat/models`` folder."""

    def __init__(self, catalog: Catalog, root: Path) -> None:
        self.catalog = catalog
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def register(
        self,
        trainer: Trainer,
        name: str,
        *,
        train_version_id: int,
        test_version_id: int | None = None,
        metrics: dict[str, Any] | None = None,
        info: dict[str, Any] | None = None,
        aliases: list[str] | None = None,
        in_transaction: Callable[[sa.Connection, str], None] | None = None,
    ) -> ModelRecord:
        """Save ``trainer`` and record it as the next version of model ``name``.

        in_transaction: called with the registration's open transaction and the new version's
        ref (``name@ordinal``) after its row is written, for writes that must commit with it (a
        DP training's budget spend); when it raises, nothing is registered and the files
        written for it are removed.
        """
        if not name or "@" in name or "/" in name:
            raise DatamoatError(f"model name {name!r} is not allowed; use letters, digits, '-', '_' or '.'.")
        staging = self.root / ".tmp" / f"{os.getpid()}-{uuid.uuid4().hex}"
        staging.parent.mkdir(parents=True, exist_ok=True)
        created = False
        try:
            trainer.save(staging)
            artifact_hash = _tree_hash(staging)
            final = self.root / name / artifact_hash
            if final.exists():
                shutil.rmtree(staging)
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.rename(staging, final)
                created = True
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        try:
            model_id = self._insert(trainer, name, artifact_hash, train_version_id, test_version_id, metrics, info,
                                    in_transaction)
        except BaseException:
            if created:
                shutil.rmtree(final, ignore_errors=True)
            raise
        for alias in aliases or []:
            self.set_alias(name, alias, model_id)
        return self.get_by_id(model_id)

    def _insert(
        self,
        trainer: Trainer,
        name: str,
        artifact_hash: str,
        train_version_id: int,
        test_version_id: int | None,
        metrics: dict[str, Any] | None,
        info: dict[str, Any] | None,
        in_transaction: Callable[[sa.Connection, str], None] | None,
    ) -> int:
        """Write the catalog row of the next version of ``name`` (retrying a lost ordinal race); its id."""
        for _ in range(_RETRIES):
            try:
                with self.catalog.engine.begin() as conn:
                    ordinal = conn.execute(
                        sa.select(sa.func.coalesce(sa.func.max(models.c.ordinal), 0)).where(models.c.name == name)
                    ).scalar_one() + 1
                    model_id = conn.execute(
                        models.insert().values(
                            name=name, ordinal=ordinal, kind=trainer.kind, params_json=dumps(trainer.params()),
                            train_version_id=train_version_id, test_version_id=test_version_id,
                            metrics_json=dumps(metrics or {}), info_json=dumps(info or {}),
                            artifact_hash=artifact_hash, created_at=utc_now(),
                        )
                    ).inserted_primary_key[0]
                    if in_transaction is not None:
                        in_transaction(conn, f"{name}@{ordinal}")
                return int(model_id)
            except IntegrityError:
                continue
        raise RuntimeError(f"could not register model {name!r} after {_RETRIES} attempts")

    def set_alias(self, name: str, alias: str, model_id: int) -> None:
        """Point ``name@alias`` at model version ``model_id`` (moving it if it existed)."""
        if alias == "latest" or alias.isdigit():
            raise DatamoatError(f"alias {alias!r} is reserved; choose a word such as 'champion'.")
        with self.catalog.engine.begin() as conn:
            conn.execute(sa.delete(model_aliases).where(sa.and_(model_aliases.c.name == name, model_aliases.c.alias == alias)))
            conn.execute(model_aliases.insert().values(name=name, alias=alias, model_id=model_id, updated_at=utc_now()))

    def list(self, name: str | None = None) -> list[ModelRecord]:
        """Model versions (of ``name``, or all), oldest first."""
        query = sa.select(models).order_by(models.c.name, models.c.ordinal)
        if name is not None:
            query = query.where(models.c.name == name)
        return self._records(query)

    def get_by_id(self, model_id: int) -> ModelRecord:
        """The model version with catalog id ``model_id``."""
        found = self._records(sa.select(models).where(models.c.id == model_id))
        if not found:
            raise NotFoundError(f"no model with id {model_id}.")
        return found[0]

    def resolve(self, ref: str) -> ModelRecord:
        """``name``, ``name@latest``, ``name@<ordinal>`` or ``name@<alias>``."""
        name, _, which = ref.partition("@")
        versions = self.list(name)
        if not versions:
            known = sorted({m.name for m in self.list()})
            raise NotFoundError(f"no model named {name!r}; known models: {', '.join(known) or 'none yet'}.")
        which = which or "latest"
        if which == "latest":
            return versions[-1]
        if which.isdigit():
            for m in versions:
                if m.ordinal == int(which):
                    return m
            raise NotFoundError(f"model {name!r} has no version {which}; it has 1 to {versions[-1].ordinal}.")
        for m in versions:
            if which in m.aliases:
                return m
        raise NotFoundError(f"model {name!r} has no alias {which!r}.")

    def champion(self, name: str) -> ModelRecord:
        """The ``champion`` version of model ``name``, or its newest version when none is champion.

        NotFoundError (listing the known names) when there is no model ``name``.
        """
        versions = self.list(name)
        if not versions:
            self.resolve(name)  # raises NotFoundError naming the known models
        return next((m for m in versions if "champion" in m.aliases), versions[-1])

    def load(self, ref: str) -> Trainer:
        """The fitted trainer of a model version (files must be intact: checked by hash)."""
        record = self.resolve(ref)
        if not record.path.is_dir() or _tree_hash(record.path) != record.artifact_hash:
            raise DatamoatError(f"the files of model {record.ref} at {record.path} are missing or changed.")
        return Trainer.load(record.path)

    def _records(self, query: sa.Select) -> list[ModelRecord]:
        with self.catalog.engine.connect() as conn:
            rows = conn.execute(query).all()
            ids = [r.id for r in rows]
            aliases: dict[int, list[str]] = {i: [] for i in ids}
            if ids:
                for a in conn.execute(sa.select(model_aliases).where(model_aliases.c.model_id.in_(ids))):
                    aliases[a.model_id].append(a.alias)
        return [
            ModelRecord(
                id=r.id, name=r.name, ordinal=r.ordinal, kind=r.kind, params=json.loads(r.params_json),
                train_version_id=r.train_version_id, test_version_id=r.test_version_id,
                metrics=json.loads(r.metrics_json), info=json.loads(r.info_json), artifact_hash=r.artifact_hash,
                created_at=as_utc(r.created_at), path=self.root / r.name / r.artifact_hash,
                aliases=sorted(aliases[r.id]),
            )
            for r in rows
        ]

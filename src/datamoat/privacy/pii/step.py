"""Pipeline step ``pii_redact``: rewrite the PII in text columns, keeping every row and its id.

Params:

* ``mode``: redact | mask | hash | pseudonymize | reversible (see operators.py);
* ``entities``: entity types to rewrite (None: all);
* ``pii_mode``: how PII is found, ``fast`` (recognizers) or ``accurate`` (recognizers + the
  learned tagger; the default), see detect.py;
* ``columns``: text columns (None: the ``text`` role column);
* ``min_score``: detector threshold (0.4);
* ``catalog_url`` + ``namespace``: where ``reversible`` keeps the encrypted originals (the
  workspace's catalog URL; the ``pii_vault`` table must exist, i.e. the catalog was opened
  once by datamoat, which migrates it).

Stats column ``_dm_pii_count`` (int64): PII spans rewritten in the row, over all columns.
Rows are never dropped, and ``_dm_row_id`` is unchanged, so a diff shows them as changed.

Keys (hash, pseudonymize, reversible): the key is loaded in :meth:`bind` from
``DATAMOAT_KEY`` / ``DATAMOAT_KEY_FILE`` (so a missing key fails the run before any data
flows) but it is **not pickled**: ``__getstate__`` drops it, and a worker process loads it
again from its own environment on first use (worker processes inherit the parent's
environment). So the key never travels through pipes or lands in a pickled plan.

Reversible mode writes straight to the vault in the catalog (design choice: the simplest
correct one; tokens are deterministic, so concurrent workers writing the same token is a
no-op, and no (token, value) pair ever sits in the output data or in a side file). Each
process opens its own connection lazily; the engine is not pickled either.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from datamoat.data.roles import ColumnRoles
from datamoat.errors import DatamoatError, StepError
from datamoat.keys import load_key
from datamoat.pipeline.registry import register
from datamoat.pipeline.step import (
    Step,
    as_text,
    bad_param,
    check_column_list,
    require_text_column,
    set_column,
)
from datamoat.privacy.pii.detect import DEFAULT_MIN_SCORE, PII_MODES, PiiEngine, check_entities, check_mode
from datamoat.privacy.pii.operators import KEYED_MODES, MODES, Anonymizer

PII_COUNT_COLUMN = "_dm_pii_count"


@register
class PiiRedact(Step):
    """Rewrite PII in text columns (see the module docstring)."""

    name = "pii_redact"
    kind = "row"

    def __init__(
        self,
        *,
        mode: str = "redact",
        entities: list[str] | None = None,
        columns: list[str] | None = None,
        pii_mode: str | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        catalog_url: str | None = None,
        namespace: str = "default",
    ) -> None:
        if mode not in MODES:
            raise bad_param(self.name, "mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        try:
            self.entities = None if entities is None else list(check_entities(entities))
        except DatamoatError as exc:
            raise bad_param(self.name, "entities", str(exc)) from exc
        self.columns = check_column_list(self.name, "columns", columns)
        try:
            self.pii_mode = check_mode(pii_mode)
        except DatamoatError as exc:
            raise bad_param(self.name, "pii_mode", f"must be one of {', '.join(PII_MODES)}, got {pii_mode!r}") from exc
        if isinstance(min_score, bool) or not isinstance(min_score, int | float) or not 0 <= min_score <= 1:
            raise bad_param(self.name, "min_score", f"must be a number in [0, 1], got {min_score!r}")
        self.min_score = float(min_score)
        if mode == "reversible" and not catalog_url:
            raise bad_param(self.name, "catalog_url", "is required for mode 'reversible' (the vault lives in the catalog)")
        self.catalog_url = catalog_url
        if not isinstance(namespace, str) or not namespace:
            raise bad_param(self.name, "namespace", f"must be a non-empty string, got {namespace!r}")
        self.namespace = namespace
        self._resolved: list[str] = []
        self._key: bytes | None = None
        self._engine: PiiEngine | None = None
        self._anonymizer: Anonymizer | None = None
        self._vault: Any = None

    # --- pickling: never ship the key, the engine or a DB connection ----------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_key=None, _engine=None, _anonymizer=None, _vault=None)
        return state

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the columns (each must hold text; none given: the ``text`` role column); load
        the key now (fail early) for keyed modes."""
        self._resolved = [require_text_column(self.name, schema, c, roles) for c in self.columns or [None]]
        if self.mode in KEYED_MODES:
            try:
                self._key = load_key()
            except DatamoatError as exc:
                raise StepError(f"step {self.name!r} (mode {self.mode!r}): {exc}") from exc
        if self.mode == "reversible":
            self._open_vault()

    def _open_vault(self) -> Any:
        if self._vault is None:
            import sqlalchemy as sa

            from datamoat.catalog.db import create_catalog_engine
            from datamoat.privacy.pii.vault import PiiVault

            assert self.catalog_url is not None
            engine = create_catalog_engine(self.catalog_url)
            if not sa.inspect(engine).has_table("pii_vault"):
                raise StepError(f"step {self.name!r}: the catalog at {self.catalog_url!r} has no pii_vault table; "
                                "open the workspace once with datamoat so it is migrated.")
            self._vault = PiiVault(engine, self._load_key(), self.namespace)
        return self._vault

    def _load_key(self) -> bytes:
        if self._key is None:
            self._key = load_key()
        return self._key

    def _setup(self) -> tuple[PiiEngine, Anonymizer]:
        if self._engine is None:
            self._engine = PiiEngine(self.entities, mode=self.pii_mode, min_score=self.min_score)
        if self._anonymizer is None:
            key = self._load_key() if self.mode in KEYED_MODES else None
            store = self._open_vault() if self.mode == "reversible" else None
            self._anonymizer = Anonymizer(self.mode, key, store)
        return self._engine, self._anonymizer

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with PII rewritten in each column, plus ``_dm_pii_count``."""
        engine, anonymizer = self._setup()
        counts = [0] * batch.num_rows
        for column in self._resolved:
            values = batch.column(column)
            texts = as_text(values).to_pylist()
            findings = engine.analyze_batch(texts)
            out = []
            for i, (text, found) in enumerate(zip(texts, findings, strict=True)):
                counts[i] += len(found)
                out.append(anonymizer.apply(text, found) if found else text)
            new = pa.array(out, pa.string())
            if not pa.types.is_null(values.type):
                new = new.cast(values.type)
            batch = set_column(batch, column, new)
        if self._vault is not None:
            self._vault.flush()
        return set_column(batch, PII_COUNT_COLUMN, pa.array(counts, pa.int64()))

"""The PII vault: reversible pseudonyms, encrypted in the catalog, every reversal audited.

One row of the catalog table ``pii_vault`` per (namespace, token): the entity type, a fresh
12-byte nonce and the AES-256-GCM ciphertext of the original value. The AES key is derived
from the master key (:func:`datamoat.keys.load_key`) and is never stored; the
namespace, token and entity type are bound to the ciphertext as associated data, so a row
copied under another token does not decrypt. Tokens are deterministic (see operators.py), so
storing the same value twice is a no-op, and a token that is already there for a *different*
value (a 48-bit collision) raises instead of silently pointing at the wrong person.

:meth:`PiiVault.reveal` decrypts one token and appends a ``reidentify`` event to the
hash-chained audit log (token, entity type, namespace, reason; never the value). A wrong key
fails the GCM tag check and raises a DatamoatError saying so; it never returns garbage.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.exc import IntegrityError

from datamoat.catalog.audit import append_event
from datamoat.catalog.records import utc_now
from datamoat.catalog.tables import pii_vault
from datamoat.errors import DatamoatError, NotFoundError
from datamoat.privacy.pii.operators import derive_key

NONCE_BYTES = 12


class PiiVault:
    """Encrypted (token -> value) store in a catalog.

    catalog: a :class:`~datamoat.catalog.Catalog` (or a SQLAlchemy engine on a migrated catalog
        database).
    key: the 32-byte master key.
    namespace: separates token spaces (e.g. one per dataset or project).
    """

    def __init__(self, catalog: Any, key: bytes, namespace: str = "default") -> None:
        self.catalog = catalog if hasattr(catalog, "engine") else SimpleNamespace(engine=catalog)
        self.engine: sa.Engine = self.catalog.engine
        self.namespace = namespace
        self._aead = AESGCM(derive_key(key, "vault"))
        self._pending: dict[str, tuple[str, str]] = {}

    def _aad(self, token: str, entity_type: str) -> bytes:
        return f"{self.namespace}\x00{token}\x00{entity_type}".encode()

    def store(self, token: str, entity_type: str, value: str) -> None:
        """Queue one (token, value); written by :meth:`flush` (the pipeline step flushes per batch)."""
        self._pending.setdefault(token, (entity_type, value))

    def flush(self) -> int:
        """Write the queued values not yet in the vault; returns how many rows were added."""
        if not self._pending:
            return 0
        pending, self._pending = self._pending, {}
        tokens = list(pending)
        with self.engine.connect() as conn:
            existing = {
                row.token: row
                for chunk in (tokens[i : i + 500] for i in range(0, len(tokens), 500))
                for row in conn.execute(
                    sa.select(pii_vault).where(pii_vault.c.namespace == self.namespace, pii_vault.c.token.in_(chunk))
                )
            }
        rows = []
        for token, (entity_type, value) in pending.items():
            row = existing.get(token)
            if row is not None:
                if self._decrypt(row) != value:
                    raise DatamoatError(f"pseudonym collision: token {token} already stands for another value.")
                continue
            nonce = os.urandom(NONCE_BYTES)
            ct = self._aead.encrypt(nonce, value.encode("utf-8"), self._aad(token, entity_type))
            rows.append({"namespace": self.namespace, "token": token, "entity_type": entity_type,
                         "nonce": nonce, "ciphertext": ct, "created_at": utc_now()})
        added = 0
        for row in rows:  # one by one: a concurrent writer may have added the same token
            try:
                with self.engine.begin() as conn:
                    conn.execute(pii_vault.insert().values(**row))
                added += 1
            except IntegrityError:
                continue
        return added

    def _decrypt(self, row: Any) -> str:
        try:
            return self._aead.decrypt(row.nonce, row.ciphertext, self._aad(row.token, row.entity_type)).decode("utf-8")
        except InvalidTag as exc:
            raise DatamoatError(
                f"cannot decrypt token {row.token} in PII vault namespace {self.namespace!r}: the key is not "
                "the one the vault was written with (or the row was tampered with)."
            ) from exc

    def reveal(self, token: str, *, reason: str = "", actor: str | None = None) -> str:
        """The original value of ``token``; appends a ``reidentify`` audit event first.

        Raises NotFoundError for an unknown token, DatamoatError for a wrong key.
        """
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(pii_vault).where(pii_vault.c.namespace == self.namespace, pii_vault.c.token == token)
            ).first()
        if row is None:
            raise NotFoundError(f"no token {token} in PII vault namespace {self.namespace!r}.")
        value = self._decrypt(row)
        append_event(
            self.catalog, "reidentify", f"pii_vault:{self.namespace}",
            {"token": token, "entity_type": row.entity_type, "reason": reason}, actor=actor,
        )
        return value

    def __len__(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(
                sa.select(sa.func.count()).select_from(pii_vault).where(pii_vault.c.namespace == self.namespace)
            ).scalar() or 0)

"""Encryption at rest of sensitive columns: AES-256-GCM per value, bound to its row and column.

Format of one encrypted value (a ``binary`` cell)::

    b"\\x01" || nonce (12 random bytes) || AES-GCM(key, nonce, plaintext, aad)

* ``aad`` (associated data, authenticated but not stored) is ``b"datamoat:v1\\0" + column +
  b"\\0" + row id``: a ciphertext copied to another row or another column fails to decrypt,
  so values cannot be swapped or moved unnoticed.
* ``plaintext`` is the value as JSON (text, numbers, booleans; dates and other values as their
  text). Missing values stay missing (not encrypted): the version shows *that* a value is
  missing, never what a present one is.
* Each value has its own random nonce, so equal values encrypt differently (and applying the
  step twice gives two different versions).

The key (32 bytes) comes from :func:`datamoat.keys.load_key` (``DATAMOAT_KEY``,
``DATAMOAT_KEY_FILE`` or ``~/.config/datamoat/key``); it is never stored in the workspace, a
recipe or a manifest.

Keys and worker processes (pipeline step ``encrypt_columns``)
-------------------------------------------------------------
The step loads the key in :meth:`EncryptColumns.bind` (in the process that starts the run, so
a missing key fails before any data flows) and keeps it in a private attribute that is not a
parameter (so not in ``params()``, recipes or manifests) and that is *dropped when the step is
pickled* (``__getstate__``). A worker process therefore receives the step without the key and
loads it itself, on its first batch, from the same source: worker processes are started with
``spawn`` and inherit the parent's environment, so ``DATAMOAT_KEY`` / ``DATAMOAT_KEY_FILE`` set
for the run reach them. Nothing key-related ever crosses a pipe or touches scratch files.

Reading back: :func:`decrypt_column` (needs the key; appends a ``decrypt`` audit event, also
for a failed attempt). A wrong key, or a value moved between rows or columns, raises
DatamoatError.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from datamoat.catalog.audit import append_event
from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError, StepError
from datamoat.keys import KEY_BYTES, load_key
from datamoat.pipeline.registry import register
from datamoat.pipeline.step import Step, check_column_list, set_column

if TYPE_CHECKING:
    from pathlib import Path

    from datamoat.catalog import Catalog
    from datamoat.data.object_store import ObjectStore
    from datamoat.data.version import Version
    from datamoat.pipeline.apply import ApplyResult

FORMAT_VERSION = b"\x01"
NONCE_BYTES = 12
_AAD_PREFIX = b"datamoat:v1\x00"


def _aad(column: str, row_id: str) -> bytes:
    return _AAD_PREFIX + column.encode("utf-8") + b"\x00" + row_id.encode("utf-8")


def _plain(value: Any) -> bytes:
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _cipher(key: bytes) -> AESGCM:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise DatamoatError(f"an encryption key must be {KEY_BYTES} bytes.")
    return AESGCM(bytes(key))


def encrypt_values(
    values: pa.Array | pa.ChunkedArray, row_ids: pa.Array | pa.ChunkedArray, column: str, key: bytes
) -> pa.Array:
    """Encrypt each non-missing value of ``column`` bound to its row id; a ``binary`` array."""
    if len(values) != len(row_ids):
        raise ValueError("values and row ids differ in length")
    aes = _cipher(key)
    python = values.to_pylist()
    ids = row_ids.cast(pa.string()).to_pylist()
    nonces = os.urandom(NONCE_BYTES * len(python))
    out: list[bytes | None] = []
    for i, (value, row_id) in enumerate(zip(python, ids, strict=True)):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(None)
            continue
        if row_id is None:
            raise DatamoatError(f"row {i} has no {ROW_ID_COLUMN}; encrypted values are bound to row ids.")
        nonce = nonces[i * NONCE_BYTES : (i + 1) * NONCE_BYTES]
        out.append(FORMAT_VERSION + nonce + aes.encrypt(nonce, _plain(value), _aad(column, row_id)))
    return pa.array(out, pa.binary())


def decrypt_values(
    values: pa.Array | pa.ChunkedArray,
    row_ids: pa.Array | pa.ChunkedArray,
    column: str,
    key: bytes,
    type: pa.DataType | None = None,  # noqa: A002 - as in pyarrow
) -> pa.Array:
    """Decrypt a column written by :func:`encrypt_values`; values as they were (cast to ``type``).

    Raises DatamoatError for a wrong key or a value that was altered or moved.
    """
    aes = _cipher(key)
    if not (pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type)):
        raise DatamoatError(f"column {column!r} holds {values.type}, not encrypted values.")
    ids = row_ids.cast(pa.string()).to_pylist()
    out: list[Any] = []
    for blob, row_id in zip(values.to_pylist(), ids, strict=True):
        if blob is None:
            out.append(None)
            continue
        if blob[:1] != FORMAT_VERSION or len(blob) < 1 + NONCE_BYTES + 16:
            raise DatamoatError(f"column {column!r}, row {row_id}: not a datamoat-encrypted value.")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            plain = aes.decrypt(nonce, sealed, _aad(column, row_id or ""))
        except InvalidTag as err:
            raise DatamoatError(
                f"cannot decrypt column {column!r} (row {row_id}): wrong key, or the value was altered "
                "or moved from another row or column."
            ) from err
        out.append(json.loads(plain.decode("utf-8")))
    array = pa.array(out)
    if type is not None:
        try:
            array = array.cast(type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise DatamoatError(f"decrypted column {column!r} cannot be read as {type}: {err}") from err
    return array


@register
class EncryptColumns(Step):
    """Encrypt columns at rest with AES-256-GCM (row step); see the module docstring.

    columns: the columns to encrypt; None means the dataset's ``sensitive`` role columns.
    The encrypted columns become ``binary``; the key is never a parameter (it comes from
    ``DATAMOAT_KEY`` / ``DATAMOAT_KEY_FILE`` / ``~/.config/datamoat/key``).
    """

    name = "encrypt_columns"
    kind = "row"

    def __init__(self, *, columns: list[str] | None = None) -> None:
        self.columns = check_column_list(self.name, "columns", columns)
        self._resolved: list[str] = []
        self._key: bytes | None = None

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the columns, check the row ids, and load the key (fails early without one)."""
        self._resolved = self.columns or roles.columns("sensitive")
        if not self._resolved:
            raise StepError(f"step {self.name!r}: no columns given and the dataset has no sensitive role.")
        for column in self._resolved:
            if column not in schema.names:
                shown = ", ".join(n for n in schema.names if not n.startswith("_dm_"))
                raise StepError(
                    f"step {self.name!r}: no column {column!r} in the data; the columns are: {shown}."
                )
            if column.startswith("_dm_"):
                raise StepError(f"step {self.name!r}: cannot encrypt datamoat's own column {column!r}.")
        if ROW_ID_COLUMN not in schema.names:
            raise StepError(
                f"step {self.name!r} needs the {ROW_ID_COLUMN} column (values are bound to row ids)."
            )
        try:
            self._key = load_key()
        except DatamoatError as err:
            raise StepError(f"step {self.name!r}: {err}") from err

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_key"] = None  # never pickled: workers load the key from their environment
        return state

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with each chosen column replaced by its ciphertexts (``binary``)."""
        if self._key is None:
            self._key = load_key()
        row_ids = batch.column(ROW_ID_COLUMN)
        for column in self._resolved:
            batch = set_column(
                batch, column, encrypt_values(batch.column(column), row_ids, column, self._key)
            )
        return batch


def encrypt_version(
    catalog: Catalog,
    store: ObjectStore,
    version: Version,
    columns: Sequence[str] | None = None,
    *,
    output: str | None = None,
    workers: int | None = None,
) -> ApplyResult:
    """Apply ``encrypt_columns`` to ``version`` (a new version in ``catalog``/``store``); audit ``key_use``.

    columns: the columns to encrypt (default: the ``sensitive`` role). output: dataset name of
    the result (default: the same dataset). workers: worker processes (default: one per CPU).
    """
    from datamoat.pipeline.apply import apply_recipe
    from datamoat.pipeline.executor_local import LocalExecutor
    from datamoat.pipeline.recipe import Recipe

    entry: dict[str, Any] = {"step": "encrypt_columns"}
    if columns:
        entry["columns"] = list(columns)
    recipe = Recipe.from_list([entry])
    executor = LocalExecutor(workers=workers, scratch_dir=store.tmp)
    result = apply_recipe(catalog, store, version, recipe, output=output, executor=executor, label="encrypt")
    append_event(
        catalog,
        "key_use",
        result.version.ref,
        {"purpose": "encrypt", "input": version.ref, "columns": list(columns or [])},
    )
    return result


def decrypt_column(
    catalog: Catalog,
    version: Version,
    column: str,
    *,
    workspace_root: Path | None = None,
    key: bytes | None = None,
    type: pa.DataType | None = None,  # noqa: A002 - as in pyarrow
) -> pa.Table:
    """The decrypted ``column`` of ``version`` with its row ids (columns ``_dm_row_id``, ``column``).

    catalog: where ``version`` is recorded (the audit log). workspace_root: the workspace's
    folder; a key file inside it is refused. key: the 32-byte key (default:
    :func:`~datamoat.keys.load_key`). type: cast the values to this Arrow type.
    Appends a ``decrypt`` audit event (``ok`` false for a failed attempt). Raises
    DatamoatError for a wrong key or altered/moved values.
    """
    v = version
    if column not in v.schema.names:
        shown = ", ".join(n for n in v.schema.names if not n.startswith("_dm_"))
        raise DatamoatError(f"{v.ref}: no column {column!r}; the columns are: {shown}.")
    key = key if key is not None else load_key(workspace_root)
    table = v.to_arrow([ROW_ID_COLUMN, column])
    values = (
        table.column(column).combine_chunks()
        if table.num_rows
        else pa.array([], table.schema.field(column).type)
    )
    ids = table.column(ROW_ID_COLUMN).combine_chunks() if table.num_rows else pa.array([], pa.string())
    try:
        plain = decrypt_values(values, ids, column, key, type)
    except DatamoatError as err:
        append_event(catalog, "decrypt", v.ref, {"column": column, "ok": False, "error": str(err)})
        raise
    append_event(
        catalog,
        "decrypt",
        v.ref,
        {
            "column": column,
            "ok": True,
            "rows": table.num_rows,
            "values": table.num_rows - int(pc.sum(pc.is_null(values)).as_py() or 0),
        },
    )
    return pa.table({ROW_ID_COLUMN: ids, column: plain})

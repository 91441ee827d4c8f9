"""Where encryption keys come from: an environment variable or a key file, never the workspace.

A key is 32 random bytes (AES-256), written as 64 hex digits or as URL-safe base64. It is
looked up, in order, from:

1. the environment variable ``DATAMOAT_KEY`` (the key itself);
2. the file named by ``DATAMOAT_KEY_FILE``;
3. ``~/.config/datamoat/key``.

:func:`find_key` returns None only when none of these is set or present; a key that is
configured but unusable (malformed, a ``DATAMOAT_KEY_FILE`` that does not exist) raises, so a
typo never silently means "no key". :func:`load_key` also raises when there is no key.

A key file inside the workspace is refused: a key stored beside the data protects nothing.
``datamoat keygen`` (see :func:`generate_key_file`) writes a new key file readable only by
its owner.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from datamoat.errors import DatamoatError

KEY_ENV = "DATAMOAT_KEY"
KEY_FILE_ENV = "DATAMOAT_KEY_FILE"
DEFAULT_KEY_FILE = Path("~/.config/datamoat/key")
KEY_BYTES = 32


def parse_key(text: str, where: str) -> bytes:
    """32 key bytes from hex or URL-safe base64 text; DatamoatError naming ``where`` otherwise."""
    text = text.strip()
    try:
        key = bytes.fromhex(text) if len(text) == 2 * KEY_BYTES else base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error) as exc:
        raise DatamoatError(f"{where}: not a key (expected 64 hex digits or base64 of 32 bytes).") from exc
    if len(key) != KEY_BYTES:
        raise DatamoatError(f"{where}: the key has {len(key)} bytes; it must have {KEY_BYTES}.")
    return key


def find_key(workspace_root: Path | None = None) -> bytes | None:
    """The configured key (see the module docstring), or None when no key is configured at all.

    "Not configured" means: ``DATAMOAT_KEY`` and ``DATAMOAT_KEY_FILE`` unset (or empty) and no
    default key file. A key that is configured but unusable raises DatamoatError: a malformed
    ``DATAMOAT_KEY`` or key file, a ``DATAMOAT_KEY_FILE`` that does not exist, or (with
    ``workspace_root``) a key file inside the workspace.
    """
    if os.environ.get(KEY_ENV):
        return parse_key(os.environ[KEY_ENV], f"${KEY_ENV}")
    if os.environ.get(KEY_FILE_ENV):
        path = Path(os.environ[KEY_FILE_ENV])
        if not path.is_file():
            raise DatamoatError(f"no encryption key: ${KEY_FILE_ENV} names {path}, which is not a file; "
                                "point it at a key file or create one with `datamoat keygen`.")
    else:
        path = DEFAULT_KEY_FILE.expanduser()
        if not path.is_file():
            return None
    resolved = path.resolve()
    if workspace_root is not None and resolved.is_relative_to(workspace_root.resolve()):
        raise DatamoatError(f"{path}: the key file is inside the workspace; keep keys away from the data.")
    return parse_key(resolved.read_text(encoding="ascii", errors="replace"), str(path))


def load_key(workspace_root: Path | None = None) -> bytes:
    """The encryption key: :func:`find_key`, and DatamoatError saying how to provide one when
    none is configured.

    workspace_root: when given, a key file inside it is refused.
    """
    key = find_key(workspace_root)
    if key is None:
        raise DatamoatError(
            f"no encryption key: set {KEY_ENV}, or {KEY_FILE_ENV} to a key file, or create "
            f"{DEFAULT_KEY_FILE.expanduser()} with `datamoat keygen`."
        )
    return key


def generate_key_file(path: Path) -> Path:
    """Write a new random key (hex) to ``path`` with mode 0600; refuses to overwrite."""
    path = path.expanduser()
    if path.exists():
        raise DatamoatError(f"{path} exists; refusing to overwrite a key (data encrypted with it would be lost).")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_bytes(KEY_BYTES).hex() + "\n")
    return path

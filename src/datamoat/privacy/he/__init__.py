"""Encrypted scoring (CKKS through TenSEAL): the client computes features and encrypts them, the
server applies the model's linear head to the ciphertexts, only the client can read the scores.

:class:`Client` is the client side; :mod:`~datamoat.privacy.he.ckks` holds the parameters and the
checked parsing and head product the server uses (``POST /v1/predict/encrypted``).
"""

from __future__ import annotations

from datamoat.privacy.he.client import Client, EncryptedAnswer

__all__ = ["Client", "EncryptedAnswer"]

"""CKKS (TenSEAL) pieces of encrypted scoring: parameters, the packing, and the linear head on ciphertexts.

Parameters (:func:`private_context`): polynomial modulus degree N = 8192 (4,096 slots),
coefficient modulus of 60 + 40 + 40 + 60 bits (two rescales: the head's product and the summing
product below) and scale 2^40; SEAL rates N = 8192 with up to 218 modulus bits at 128-bit
security. On a BANKING77 head (d = 384, k = 77) the largest score error is about 1e-5.

Packing (:class:`Layout`), for k classes and d features: rows R = k rounded up to a power of two,
chunks C = 4096 / R features per ciphertext (at most d rounded up to a power of two), and
n = ceil(d / C) ciphertexts per text. Slot ``c * R + r`` of ciphertext i holds feature
``i * C + c`` (each feature repeated R times; the client lays this out, it costs no server work).
The server multiplies ciphertext i slot-wise by the plain weights ``W[r, i * C + c]``, adds the
n products, and sums the C chunks with TenSEAL's ``enc_matmul_plain`` (a product by ones and
log2(C) rotations), which leaves score r in slot r; then adds the plain bias. For d = 384,
k = 77 that is 12 ciphertexts (~320 KB each) per text, 13 plain products and 5 rotations on the
server (~0.13 s), and one ~130 KB ciphertext of scores back, instead of the ~384 rotations
(several seconds) of TenSEAL's diagonal vector-matrix product. The public context with its
Galois keys is ~34 MB; a client sends it once and the server keeps it by its sha256.

Everything that parses bytes from a client (:func:`load_public_context`, :func:`load_vectors`)
raises :class:`~datamoat.errors.DatamoatError` with one sentence for anything malformed, so a server
can answer 422 instead of failing.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import numpy as np

from datamoat.errors import DatamoatError

POLY_MODULUS_DEGREE = 8192
"""N of the CKKS ring (slots = N / 2)."""
COEFF_MOD_BIT_SIZES = (60, 40, 40, 60)
"""Bit sizes of the coefficient modulus primes (two multiplicative levels)."""
SCALE_BITS = 40
"""The encoding scale is 2 ** SCALE_BITS."""
SLOTS = POLY_MODULUS_DEGREE // 2
"""Values one ciphertext holds."""


def require_tenseal() -> Any:
    """The tenseal module; DatamoatError naming the install command when it is missing."""
    try:
        import tenseal
    except ImportError as exc:
        raise DatamoatError("encrypted scoring needs TenSEAL; pip install 'datamoat[ml]' (or pip install tenseal).") from exc
    return tenseal


def private_context() -> Any:
    """A new CKKS context with a secret key, Galois keys and the scale set (stays with the client)."""
    ts = require_tenseal()
    ctx = ts.context(ts.SCHEME_TYPE.CKKS, POLY_MODULUS_DEGREE, coeff_mod_bit_sizes=list(COEFF_MOD_BIT_SIZES))
    ctx.global_scale = 2.0**SCALE_BITS
    ctx.generate_galois_keys()
    return ctx


def public_context_bytes(ctx: Any) -> bytes:
    """``ctx`` serialised without its secret key (public, Galois and relinearisation keys only)."""
    return ctx.serialize(save_public_key=True, save_secret_key=False, save_galois_keys=True, save_relin_keys=True)


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, what: str) -> bytes:
    """Bytes of a base64 string; DatamoatError naming ``what`` when it is not base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DatamoatError(f"{what} is not valid base64.") from exc


def load_public_context(data: bytes) -> Any:
    """A TenSEAL context from a client's bytes, checked to be a public CKKS context with Galois keys.

    DatamoatError when the bytes are not a context, when the context holds a secret key (the
    client must keep it; a server that received it could read everything), when it is not CKKS,
    its ring degree is not :data:`POLY_MODULUS_DEGREE`, or it has no Galois keys.
    """
    ts = require_tenseal()
    try:
        ctx = ts.context_from(data)
    except (ValueError, RuntimeError, TypeError) as exc:
        raise DatamoatError("'context' is not a serialised TenSEAL context.") from exc
    if ctx.has_secret_key() or ctx.is_private():
        raise DatamoatError("'context' holds a secret key; send the public context only "
                         "(serialize(save_secret_key=False)) and keep the secret key on the client.")
    parms = ctx.seal_context().data.first_context_data().parms()
    if not str(parms.scheme()).endswith("CKKS"):
        raise DatamoatError("'context' is not a CKKS context.")
    if parms.poly_modulus_degree() != POLY_MODULUS_DEGREE:
        raise DatamoatError(f"'context' has ring degree {parms.poly_modulus_degree()}; the server accepts "
                            f"{POLY_MODULUS_DEGREE} (datamoat.privacy.he's parameters).")
    if not ctx.has_galois_keys():
        raise DatamoatError("'context' has no Galois keys; the encrypted matrix product needs them.")
    return ctx


@dataclass(frozen=True)
class Layout:
    """How a d-feature vector is packed for a k-class head (see the module docstring).

    rows: k rounded up to a power of two. chunks: features per ciphertext (a power of two).
    ciphertexts: ciphertexts per text. Each ciphertext holds ``rows * chunks`` values.
    """

    classes: int
    dimension: int
    rows: int
    chunks: int
    ciphertexts: int

    @classmethod
    def for_head(cls, classes: int, dimension: int) -> Layout:
        """The layout of a head with ``classes`` outputs over ``dimension`` features."""
        if classes < 1 or dimension < 1:
            raise DatamoatError(f"a head needs at least one class and one feature, not {classes} x {dimension}.")
        rows = 1 << (classes - 1).bit_length()
        if rows > SLOTS // 2:
            raise DatamoatError(f"a head with {classes} classes does not fit one ciphertext of {SLOTS} slots.")
        chunks = min(SLOTS // rows, 1 << (dimension - 1).bit_length())
        return cls(classes, dimension, rows, chunks, -(-dimension // chunks))

    @property
    def size(self) -> int:
        """Values per ciphertext (rows * chunks)."""
        return self.rows * self.chunks

    def pack(self, vector: np.ndarray) -> list[list[float]]:
        """The client's plain layout of one feature vector (d,): ``ciphertexts`` lists of ``size`` floats."""
        padded = np.zeros(self.ciphertexts * self.chunks)
        padded[: self.dimension] = np.asarray(vector, dtype=np.float64)
        return [np.repeat(padded[i * self.chunks : (i + 1) * self.chunks], self.rows).tolist()
                for i in range(self.ciphertexts)]

    def plain_head(self, weight: np.ndarray, bias: np.ndarray) -> tuple[list[list[float]], list[float]]:
        """The server's plain operands: per ciphertext the weights in slot order, and the bias (rows,).

        weight: (k, d); bias: (k,). A bias of -inf (a class the head never saw, probability 0 in
        plain prediction) becomes -1000: CKKS encodes finite numbers only, and exp(-1000) is 0 in
        float64 as well.
        """
        w = np.zeros((self.rows, self.ciphertexts * self.chunks))
        w[: self.classes, : self.dimension] = weight
        b = np.zeros(self.rows)
        b[: self.classes] = np.where(np.isfinite(bias), bias, -1000.0)
        return ([w[:, i * self.chunks : (i + 1) * self.chunks].T.reshape(-1).tolist() for i in range(self.ciphertexts)],
                b.tolist())


def load_vectors(ctx: Any, items: list[bytes], layout: Layout, what: str) -> list[Any]:
    """The ciphertexts of one text, checked against ``layout``; DatamoatError naming ``what`` otherwise."""
    ts = require_tenseal()
    if len(items) != layout.ciphertexts:
        raise DatamoatError(f"{what} has {len(items)} ciphertexts; the served head ({layout.classes} classes, "
                            f"{layout.dimension} features) needs {layout.ciphertexts}.")
    out = []
    for i, data in enumerate(items):
        try:
            vector = ts.ckks_vector_from(ctx, data)
        except (ValueError, RuntimeError, TypeError) as exc:
            raise DatamoatError(f"{what}, ciphertext {i} is not a CKKS vector made with the context sent.") from exc
        if vector.size() != layout.size:
            raise DatamoatError(f"{what}, ciphertext {i} holds {vector.size()} values; the served head's layout "
                                f"needs {layout.size}.")
        out.append(vector)
    return out


def encrypted_scores(vectors: list[Any], layout: Layout, head: tuple[list[list[float]], list[float]]) -> Any:
    """``W x + b`` for one text's ciphertexts: one ciphertext whose first k values are the scores.

    vectors: the text's ``layout.ciphertexts`` ciphertexts. head: :meth:`Layout.plain_head`.
    """
    weights, bias = head
    try:
        total = None
        for vector, plain in zip(vectors, weights, strict=True):
            product = vector * plain
            total = product if total is None else total + product
        return total.enc_matmul_plain([1.0] * layout.chunks, layout.rows) + bias
    except (ValueError, RuntimeError, TypeError) as exc:
        raise DatamoatError(f"the encrypted vector cannot be multiplied by the head ({exc}); "
                            "encrypt it with datamoat.privacy.he's parameters.") from exc

"""CKKS pieces of encrypted scoring: the packing computes ``W x + b``, and client bytes are checked."""

from __future__ import annotations

import numpy as np
import pytest

from datamoat.errors import DatamoatError

ts = pytest.importorskip("tenseal")

from datamoat.privacy.he import ckks  # noqa: E402


@pytest.fixture(scope="module")
def contexts():
    private = ckks.private_context()
    return private, ckks.load_public_context(ckks.public_context_bytes(private))


def test_layout_of_a_banking77_head() -> None:
    layout = ckks.Layout.for_head(77, 384)
    assert (layout.rows, layout.chunks, layout.ciphertexts, layout.size) == (128, 32, 12, 4096)
    assert ckks.Layout.for_head(3, 16).ciphertexts == 1 and ckks.Layout.for_head(3, 16).size == 64
    with pytest.raises(DatamoatError, match="does not fit"):
        ckks.Layout.for_head(3000, 8)


@pytest.mark.parametrize(("k", "d"), [(5, 40), (300, 50), (2, 1)])
def test_encrypted_scores_equal_the_plain_head(contexts, k: int, d: int) -> None:
    private, public = contexts
    rng = np.random.default_rng(k)
    weight, bias, x = rng.normal(size=(k, d)) * 3, rng.normal(size=k), rng.normal(size=d)
    bias[0] = -np.inf  # a class the head never saw
    layout = ckks.Layout.for_head(k, d)
    sent = [ts.ckks_vector(private, part).serialize() for part in layout.pack(x)]
    vectors = ckks.load_vectors(public, sent, layout, "text 0")
    out = ckks.encrypted_scores(vectors, layout, layout.plain_head(weight, bias)).serialize()
    scores = np.array(ts.ckks_vector_from(private, out).decrypt()[:k])
    expected = weight @ x + np.where(np.isfinite(bias), bias, -1000.0)
    assert np.abs(scores - expected).max() < 1e-3
    assert scores.argmax() == expected.argmax()


def test_the_public_context_has_no_secret_key_and_a_private_one_is_refused(contexts) -> None:
    private, public = contexts
    assert not public.has_secret_key()
    with pytest.raises(DatamoatError, match="holds a secret key"):
        ckks.load_public_context(private.serialize(save_secret_key=True))
    with pytest.raises(DatamoatError, match="not a serialised TenSEAL context"):
        ckks.load_public_context(b"\x00" * 64)
    bfv = ts.context(ts.SCHEME_TYPE.BFV, 4096, plain_modulus=1032193)
    bfv.generate_galois_keys()
    with pytest.raises(DatamoatError, match="not a CKKS context"):
        ckks.load_public_context(bfv.serialize(save_secret_key=False))
    with pytest.raises(DatamoatError, match="not valid base64"):
        ckks.b64decode("no base64!", "'context'")

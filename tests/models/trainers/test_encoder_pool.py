"""Embeddings on a pool of Ray actors equal the local encoder's, in input order, through the cache.

A randomly initialised 1-layer BERT saved to a tmp folder stands in for the encoder (its files
travel to the actors through Ray's object store); the Ray is the session's shared one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tiny_models import save_tiny_bert

from datamoat.models.trainers.contract import create_trainer


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert-pool"))


def texts(n: int) -> list[str]:
    """Texts of varied length (1 to 30 words), shuffled, with a few repeats."""
    rng = np.random.default_rng(0)
    words = ["refund", "card", "blocked", "transfer", "pending", "why", "is", "my", "the", "account"]
    return [" ".join(rng.choice(words, int(rng.integers(1, 30)))) for _ in range(n)]


def test_ray_actors_give_the_local_vectors_into_the_same_cache(ray_session, tiny_bert: Path, tmp_path: Path) -> None:
    from datamoat.models.trainers.encoder import EmbeddingCache, TextEncoder
    from datamoat.models.trainers.encoder_pool import MIN_TEXTS
    from datamoat.models.trainers.ray_scope import ray_scope

    data = texts(MIN_TEXTS + 44)
    local = TextEncoder(tiny_bert, max_length=48).embed(data, batch_size=16)

    trainer = create_trainer("embed-linear", encoder=str(tiny_bert), max_length=48, batch_size=16)
    trainer.use_embedding_cache(tmp_path / "cache")
    with ray_scope(actors=2) as scope:
        on_ray = trainer.embed(data)
        assert scope.texts_embedded == len(set(data))  # each distinct text once
        trainer.embed(data[:10])  # cached: nothing more to embed
        assert scope.texts_embedded == len(set(data))
    # the texts' lengths are shuffled, so equal rows also mean the input order came back
    assert on_ray.shape == local.shape == (len(data), 16)
    np.testing.assert_allclose(on_ray, local, rtol=1e-5, atol=1e-6)
    # the vectors are in the trainer's cache, under the encoder's fingerprint: read back without Ray
    cache = EmbeddingCache(tmp_path / "cache", trainer.text_encoder().fingerprint())
    assert len(list(cache.directory.glob("*.npz"))) == 1
    np.testing.assert_array_equal(cache.embed(trainer.text_encoder(), data, embed=_never), on_ray)
    # a fitted head works on them as on local vectors
    labels = pd.Series(["refund" if "refund" in t else "other" for t in data])
    fitted = create_trainer("embed-linear", encoder=str(tiny_bert), max_length=48, batch_size=16,
                            text_column="text", label_column="label")
    fitted.use_embedding_cache(tmp_path / "cache")
    fitted.fit(pd.DataFrame({"text": data, "label": labels}))
    assert fitted.predict_proba(pd.DataFrame({"text": data[:5]})).shape == (5, 2)


def _never(todo: list[str]) -> np.ndarray:
    raise AssertionError(f"{len(todo)} texts were embedded again instead of read from the cache")

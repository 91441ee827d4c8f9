"""Chunked TF-IDF counting equals scikit-learn's TfidfVectorizer on all texts, whatever the chunking."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from datamoat.quality.tfidf_chunks import ChunkCounts, NgramSpec, count_chunk, plan_columns, weigh_chunk


def merge_counts(chunks: list[ChunkCounts], *, min_df: int, max_features: int | None) -> sp.csr_matrix | None:
    """The chunks' TF-IDF rows stacked, as label_issues.text_features builds them (plan, weigh per chunk)."""
    plan = plan_columns(chunks, min_df=min_df, max_features=max_features)
    if plan is None:
        return None
    return sp.vstack([weigh_chunk(c, cols, plan.idf, plan.sublinear) for c, cols in zip(chunks, plan.columns, strict=True)],
                     format="csr")


def _texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    words = ["card", "refund", "late", "Fee", "pin", "app", "blocked", "transfer", "why", "my", "éa", "x1"]
    return [" ".join(rng.choice(words, size=rng.integers(0, 9))) + rng.choice(["", "!", "?? ok"]) for _ in range(n)]


@pytest.mark.parametrize(
    ("spec", "min_df"),
    [
        (NgramSpec("word", (1, 2)), 2),
        (NgramSpec("char_wb", (2, 5), max_features=60), 2),  # the cap bites: ties broken as sklearn does
        (NgramSpec("char_wb", (2, 4)), 1),
    ],
)
@pytest.mark.parametrize("chunk", [7, 50, 400])
def test_chunked_counts_give_sklearns_matrix(spec: NgramSpec, min_df: int, chunk: int) -> None:
    texts = _texts(300, seed=chunk)
    expected = TfidfVectorizer(
        analyzer=spec.analyzer, ngram_range=spec.ngram_range, sublinear_tf=True, min_df=min_df,
        max_features=spec.max_features,
    ).fit_transform(texts)
    got = merge_counts([count_chunk(spec, texts[i : i + chunk]) for i in range(0, len(texts), chunk)],
                       min_df=min_df, max_features=spec.max_features)
    assert got is not None and got.shape == expected.shape
    assert abs(got - expected).max() < 1e-9
    whole = merge_counts([count_chunk(spec, texts)], min_df=min_df, max_features=spec.max_features)
    assert whole is not None  # bit for bit the same whatever the chunking (Ray and local must agree)
    assert np.array_equal(got.indptr, whole.indptr) and np.array_equal(got.indices, whole.indices)
    assert np.array_equal(got.data, whole.data)


def test_chunks_without_any_term_and_nothing_left_after_min_df() -> None:
    spec = NgramSpec("word", (1, 1))
    empty = count_chunk(spec, ["!!", "?"])
    assert empty.counts.shape == (2, 0) and len(empty.terms) == 0
    assert merge_counts([empty], min_df=1, max_features=None) is None
    # every word in one text only: nothing reaches min_df 2
    assert merge_counts([count_chunk(spec, ["alpha beta", "gamma"])], min_df=2, max_features=None) is None
    # an empty chunk beside a real one keeps its rows (all zero)
    merged = merge_counts([empty, count_chunk(spec, ["card card", "card pin"])], min_df=1, max_features=None)
    assert merged is not None and merged.shape == (4, 2) and merged[:2].nnz == 0

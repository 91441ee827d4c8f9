"""Near-duplicate detection speed and quality: datamoat next to datasketch, in the same run.

Generates N short texts on the fly (seeded): random sequences of 8-20 words drawn from a
vocabulary of 5,000 synthetic words, then turns ~5% of them into near duplicates of another
text with 1-2 word edits (substitute, insert or delete a word). The truth is the set of
(original, copy) pairs.

* datamoat: ``find_near_duplicates`` (vectorised MinHash + LSH, candidates verified with the
  exact shingle Jaccard) on all N texts, from a Python list of str to clusters.
* datasketch, used the simple way: one ``MinHash`` per text fed with ``update()`` per shingle,
  then ``MinHashLSH.query`` + ``insert`` per text (the query results are its pairs; no
  verification). It runs on a subsample (``--peer-docs``, default 50,000) because it is slow;
  the subsample keeps whole families (an original and its copies), so its truth is complete.
  datamoat is also run on that same subsample, for quality at equal input.

Both use word 3-shingles of lower-cased ``\\w+`` words, 128 permutations and the same
Jaccard threshold (``--threshold``, default 0.5). Recall is over all injected pairs (a pair
is found when both texts end up in one datamoat cluster / when datasketch reports the pair);
``*_recall_at_threshold`` counts only the injected pairs whose exact Jaccard reaches the
threshold (1-2 edits in an 8-word text can push a pair far below any threshold). Precision is
over the reported pairs (datamoat: verified pairs; datasketch: query results).
docs/s are measured on what each tool ran; speedup = datamoat docs/s / datasketch docs/s.

Usage: python benchmarks/near_dup.py [--docs 1000000] [--peer-docs 50000] [--repeats 1]
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time

import numpy as np
import pyarrow as pa

from datamoat.quality.minhash import shingle_hashes
from datamoat.quality.near_dup_verify import find_near_duplicates, jaccard_pairs

LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def make_corpus(n_docs: int, seed: int = 0, dup_share: float = 0.05, vocab_size: int = 5000):
    """(texts, families, truth pairs): ``families[d]`` is the original's index for copies, d else."""
    rng = np.random.default_rng(seed)
    vocab = ["".join(rng.choice(LETTERS, size=int(rng.integers(3, 10)))) for _ in range(vocab_size)]
    n_copies = int(n_docs * dup_share)
    n_base = n_docs - n_copies
    lens = rng.integers(8, 21, size=n_base)
    words = rng.integers(0, vocab_size, size=int(lens.sum()))
    offs = np.concatenate([[0], np.cumsum(lens)])
    docs: list[list[int]] = [words[offs[i] : offs[i + 1]].tolist() for i in range(n_base)]
    originals = rng.choice(n_base, size=n_copies, replace=False)
    for o in originals:
        w = list(docs[o])
        for _ in range(int(rng.integers(1, 3))):
            op = rng.integers(0, 3)
            pos = int(rng.integers(0, len(w)))
            if op == 0:
                w[pos] = int(rng.integers(0, vocab_size))
            elif op == 1:
                w.insert(pos, int(rng.integers(0, vocab_size)))
            elif len(w) > 8:
                del w[pos]
            else:
                w[pos] = int(rng.integers(0, vocab_size))
        docs.append(w)
    family = np.concatenate([np.arange(n_base), originals])
    order = rng.permutation(n_docs)  # copies end up anywhere, before or after their original
    texts = [" ".join(vocab[k] for k in docs[d]).capitalize() + "." for d in order]
    fam = family[order]
    where = np.empty(n_docs, dtype=np.int64)
    where[order] = np.arange(n_docs)
    pairs = np.stack([where[originals], where[n_base + np.arange(n_copies)]], axis=1)
    return texts, fam, pairs


def pair_codes(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return lo.astype(np.int64) * n + hi


def score(reported: np.ndarray, found_truth: np.ndarray, truth_ok: np.ndarray, families: np.ndarray, n: int):
    """(recall, recall at threshold, precision) from reported pair codes and found-truth flags."""
    recall = float(found_truth.mean()) if len(found_truth) else 1.0
    at = float(found_truth[truth_ok].mean()) if truth_ok.any() else 1.0
    if len(reported) == 0:
        return recall, at, 1.0
    i, j = reported // n, reported % n
    precision = float(np.mean(families[i] == families[j]))
    return recall, at, precision


def run_datamoat(texts: list[str], threshold: float, num_perm: int):
    t0 = time.perf_counter()
    res = find_near_duplicates(pa.array(texts, pa.string()), threshold=threshold, num_perm=num_perm)
    return time.perf_counter() - t0, res


def run_datasketch(texts: list[str], threshold: float, num_perm: int):
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        raise SystemExit("datasketch is not installed; install the benchmark peers with "
                         "`pip install -r benchmarks/requirements.txt`.") from None

    t0 = time.perf_counter()
    word = re.compile(r"\w+")
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    pairs = []
    for d, text in enumerate(texts):
        w = word.findall(text.lower())
        grams = {" ".join(w[i : i + 3]) for i in range(len(w) - 2)} if len(w) >= 3 else {" ".join(w)}
        m = MinHash(num_perm=num_perm)
        for g in grams:
            m.update(g.encode("utf-8"))
        for other in lsh.query(m):
            pairs.append((other, d))
        lsh.insert(d, m)
    elapsed = time.perf_counter() - t0
    return elapsed, np.array(pairs, dtype=np.int64).reshape(-1, 2)


def evaluate_datamoat(res, pairs: np.ndarray, truth_ok: np.ndarray, families: np.ndarray, n: int):
    found = (res.cluster[pairs[:, 0]] >= 0) & (res.cluster[pairs[:, 0]] == res.cluster[pairs[:, 1]])
    vi, vj, _ = res.pairs
    return score(pair_codes(vi, vj, n), found, truth_ok, families, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--peer-docs", type=int, default=50_000)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=1, help="datamoat runs on the full set (median)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    texts, families, pairs = make_corpus(args.docs, args.seed)
    n = len(texts)
    sh, off = shingle_hashes(texts)
    true_sim = jaccard_pairs(sh, off, pairs[:, 0], pairs[:, 1])
    del sh, off
    truth_ok = true_sim >= args.threshold

    times, res = [], None
    for _ in range(max(1, args.repeats)):
        elapsed, res = run_datamoat(texts, args.threshold, args.num_perm)
        times.append(elapsed)
    assert res is not None
    dm_recall, dm_at, dm_prec = evaluate_datamoat(res, pairs, truth_ok, families, n)
    dm_time = statistics.median(times)

    # peer subsample: whole families, in corpus order
    rng = np.random.default_rng(args.seed + 1)
    fams = np.unique(families)
    share = min(1.0, args.peer_docs / n)
    chosen = np.zeros(int(families.max()) + 1, dtype=bool)
    chosen[rng.choice(fams, size=int(round(len(fams) * share)), replace=False)] = True
    sub = np.flatnonzero(chosen[families])
    local = np.full(n, -1, dtype=np.int64)
    local[sub] = np.arange(len(sub))
    sub_texts = [texts[d] for d in sub]
    keep_pairs = (local[pairs[:, 0]] >= 0) & (local[pairs[:, 1]] >= 0)
    sub_pairs = local[pairs[keep_pairs]]
    sub_ok = truth_ok[keep_pairs]
    sub_fam = families[sub]
    m = len(sub)

    ds_time, ds_pairs = run_datasketch(sub_texts, args.threshold, args.num_perm)
    ds_codes = (
        np.unique(pair_codes(ds_pairs[:, 0], ds_pairs[:, 1], m)) if len(ds_pairs) else np.empty(0, np.int64)
    )
    truth_codes = pair_codes(sub_pairs[:, 0], sub_pairs[:, 1], m)
    ds_found = np.isin(truth_codes, ds_codes)
    ds_recall, ds_at, ds_prec = score(ds_codes, ds_found, sub_ok, sub_fam, m)

    sub_time, sub_res = run_datamoat(sub_texts, args.threshold, args.num_perm)
    sub_recall, sub_at, sub_prec = evaluate_datamoat(sub_res, sub_pairs, sub_ok, sub_fam, m)

    dm_rate = n / dm_time
    ds_rate = m / ds_time
    out = {
        "docs": n,
        "threshold": args.threshold,
        "num_perm": args.num_perm,
        "injected_pairs": int(len(pairs)),
        "injected_pairs_at_threshold": int(truth_ok.sum()),
        "datamoat_seconds": round(dm_time, 3),
        "datamoat_runs_seconds": [round(t, 3) for t in times],
        "datamoat_docs_per_s": round(dm_rate, 1),
        "datamoat_recall": round(dm_recall, 4),
        "datamoat_recall_at_threshold": round(dm_at, 4),
        "datamoat_precision": round(dm_prec, 4),
        "datamoat_lsh": res.stats,
        "datasketch_docs": m,
        "datasketch_subsample": m < n,
        "datasketch_seconds": round(ds_time, 3),
        "datasketch_docs_per_s": round(ds_rate, 1),
        "datasketch_recall": round(ds_recall, 4),
        "datasketch_recall_at_threshold": round(ds_at, 4),
        "datasketch_precision": round(ds_prec, 4),
        "datamoat_on_datasketch_docs": {
            "docs_per_s": round(m / sub_time, 1),
            "recall": round(sub_recall, 4),
            "recall_at_threshold": round(sub_at, 4),
            "precision": round(sub_prec, 4),
        },
        "speedup": round(dm_rate / ds_rate, 2),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

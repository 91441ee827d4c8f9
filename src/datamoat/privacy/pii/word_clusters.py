"""Word clusters for the PII tagger: ``python -m datamoat.privacy.pii.word_clusters`` rebuilds them.

A CRF weighs each feature string on its own, so a context word it never met in training
(``phoned`` where training said ``called``) tells it nothing. Word clusters give such a word
the features of its neighbours: every whole-word entry of the bundled encoder's vocabulary
(all-MiniLM-L6-v2, 22,501 entries made of letters) is put in one of 128 and one of 1,024
clusters by k-means (scikit-learn, ``random_state`` 0, one start) on its input word-piece
embedding, scaled to length 1. Those embeddings group words of one kind: first names
(``john``, ``michael``, ``jack``), surnames (``smith``, ``jones``, ``taylor``), Spanish
surnames, British towns, verbs of buying, street words. The tagger gets ``k128=N`` and
``k1024=N`` for a word in the vocabulary and for the words around it (tagger_features.py);
a word outside it gets none (a cluster feature for "not in the vocabulary" taught the tagger
that capitalised unknown words such as ``ATMs`` are names).

This is the distributional-feature recipe of Brown-cluster NER taggers, with the encoder datamoat
already ships standing in for a corpus (none is on this machine to cluster). Written here, not taken
from a library: the clustering is scikit-learn's; what is ours is which entries take part and the
file format.

The clusters ship as ``data/word_clusters.tsv`` (a header, then ``word<TAB>k128<TAB>k1024``), so
tagging needs neither the encoder nor torch; rebuilding needs the ``ml`` extra. The same
scikit-learn and encoder give the same file. Words are looked up lower-cased with accents removed
(:func:`fold`), as the uncased encoder's tokenizer does.
"""

from __future__ import annotations

import argparse
import os
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

CLUSTERS_PATH = Path(__file__).resolve().parent / "data" / "word_clusters.tsv"
SIZES = (128, 1024)
"""Cluster counts: a coarse and a fine grouping, each a feature of its own."""
SEED = 0


def fold(word: str) -> str:
    """``word`` lower-cased with combining accents removed: ``José`` -> ``jose``."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def build(folder: str | Path | None = None, sizes: tuple[int, ...] = SIZES, seed: int = SEED) -> dict[str, tuple[int, ...]]:
    """word -> its cluster for each of ``sizes``, for the whole-word entries of an encoder's vocabulary.

    folder: a checkpoint folder with ``vocab.txt`` and ``model.safetensors`` (None: the bundled
    encoder). Whole-word entries are those made only of letters (not ``##`` pieces, numbers or
    ``[UNK]``-style tokens). Each size is clustered on its own, by k-means on the unit-length
    input embeddings. Raises DatamoatError when the encoder is missing and ValueError when a
    size exceeds the number of entries.
    """
    from sklearn.cluster import KMeans

    from datamoat.bundled_encoder import bundled_encoder_path, wordpiece_embeddings

    path = Path(folder) if folder is not None else bundled_encoder_path("rebuilding the PII word clusters")
    entries, matrix = wordpiece_embeddings(path, "rebuilding the PII word clusters")
    rows = [i for i, entry in enumerate(entries) if entry.isalpha()]
    vectors = matrix[rows]
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    labels = [KMeans(size, n_init=1, random_state=seed).fit_predict(vectors) for size in sizes]
    return {entries[row]: tuple(int(lab[n]) for lab in labels) for n, row in enumerate(rows)}


def write(clusters: dict[str, tuple[int, ...]], sizes: tuple[int, ...] = SIZES, path: str | Path = CLUSTERS_PATH) -> Path:
    """Write ``clusters`` (from :func:`build`) as TSV to ``path``, atomically; returns the path."""
    path = Path(path)
    lines = ["word\t" + "\t".join(f"k{size}" for size in sizes)]
    lines += [word + "\t" + "\t".join(map(str, ids)) for word, ids in clusters.items()]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


@lru_cache(maxsize=2)
def features(path: str | Path = CLUSTERS_PATH) -> dict[str, tuple[str, ...]]:
    """Folded word -> its tagger features (``("k128=5", "k1024=77")``), read from a TSV of :func:`write`."""
    with open(path, encoding="utf-8") as f:
        names = f.readline().rstrip("\n").split("\t")[1:]
        out: dict[str, tuple[str, ...]] = {}
        for line in f:
            word, *ids = line.rstrip("\n").split("\t")
            out[word] = tuple(f"{name}={i}" for name, i in zip(names, ids, strict=True))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoder", type=Path, default=None, help="checkpoint folder (default: the bundled encoder)")
    ap.add_argument("--out", type=Path, default=CLUSTERS_PATH, help="where to write (default: the shipped file)")
    args = ap.parse_args(argv)
    clusters = build(args.encoder)
    print(f"wrote {write(clusters, SIZES, args.out)}: {len(clusters):,} words", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

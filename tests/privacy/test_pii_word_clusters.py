"""The PII tagger's word clusters (privacy/pii/word_clusters.py): built from an encoder's
word-piece embeddings, written and read back, and used as tagger features."""

from __future__ import annotations

import numpy as np
import pytest

from datamoat.errors import DatamoatError
from datamoat.privacy.pii import word_clusters
from datamoat.privacy.pii.tagger_features import word_features


def _encoder(folder, vectors: dict[str, list[float]]) -> None:
    from safetensors.numpy import save_file

    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(vectors) + "\n", encoding="utf-8")
    matrix = np.array(list(vectors.values()), dtype=np.float32)
    save_file({"bert.embeddings.word_embeddings.weight": matrix}, str(folder / "model.safetensors"))


def test_build_groups_words_by_direction_and_skips_pieces_numbers_and_special_tokens(tmp_path) -> None:
    # two kinds of word, at different lengths (clusters must use the direction, not the norm)
    _encoder(tmp_path / "enc", {
        "[UNK]": [1, 0, 0], "anna": [0.1, 5, 0], "maria": [0, 0.3, 0], "jonas": [0.05, 2, 0.1],
        "bought": [4, 0, 0.2], "paid": [0.5, 0, 0], "sold": [2, 0.1, 0], "##ing": [0, 1, 0], "42": [0, 1, 0],
    })
    clusters = word_clusters.build(tmp_path / "enc", sizes=(2, 3))
    assert set(clusters) == {"anna", "maria", "jonas", "bought", "paid", "sold"}
    names = {clusters[w][0] for w in ("anna", "maria", "jonas")}
    verbs = {clusters[w][0] for w in ("bought", "paid", "sold")}
    assert len(names) == 1 and len(verbs) == 1 and names != verbs
    assert all(0 <= ids[1] < 3 for ids in clusters.values())
    assert word_clusters.build(tmp_path / "enc", sizes=(2, 3)) == clusters  # one seed: the same file again


def test_written_clusters_read_back_as_features_and_the_write_leaves_no_temporary_file(tmp_path) -> None:
    path = word_clusters.write({"anna": (1, 7), "paid": (0, 2)}, (2, 8), tmp_path / "clusters.tsv")
    assert path.read_text(encoding="utf-8").splitlines() == ["word\tk2\tk8", "anna\t1\t7", "paid\t0\t2"]
    assert word_clusters.features(path) == {"anna": ("k2=1", "k8=7"), "paid": ("k2=0", "k8=2")}
    assert [p.name for p in tmp_path.iterdir()] == ["clusters.tsv"]


def test_a_folder_without_the_encoder_files_is_one_clear_error(tmp_path) -> None:
    (tmp_path / "enc").mkdir()
    with pytest.raises(DatamoatError, match="word clusters: .*vocab.txt is missing"):
        word_clusters.build(tmp_path / "enc")


def _clusters(word: str) -> list[str]:
    return [f for f in word_features(word) if f.startswith("k")]


def test_the_shipped_clusters_put_names_together_and_apart_from_other_words() -> None:
    assert word_clusters.fold("JOSÉ") == "jose"
    john, michael, street = _clusters("John"), _clusters("michael"), _clusters("Street")
    assert len(john) == len(word_clusters.SIZES) == 2
    assert john[0] == michael[0] and john[0] != street[0]  # k128: first names share a cluster, street words do not
    assert _clusters("José") == _clusters("jose") != []  # looked up without case and accents
    # a word outside the vocabulary gets no cluster at all (not an "unknown" cluster: see word_clusters.py)
    assert _clusters("Zqxvbnt") == [] and _clusters("ATMs") == []

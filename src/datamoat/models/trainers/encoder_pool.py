"""Sentence embeddings on a pool of Ray actors: one encoder per actor, the texts spread over them.

Used by :class:`~datamoat.models.trainers.encoder_trainer.EncoderTrainer` inside a
:func:`~datamoat.models.trainers.ray_scope.ray_scope` (the Ray executor) for calls of at least
:data:`MIN_TEXTS` texts, a pool per call (:func:`pooled_embed`); the vectors land in the same
:class:`~datamoat.models.trainers.encoder.EmbeddingCache` as local ones.

How a call goes: the driver tokenises the texts (the fast tokenizer: ~0.3 s for 10k short
texts) only to learn their lengths, sorts them by length exactly as
:meth:`~datamoat.models.trainers.encoder.TextEncoder.embed` does, and cuts the sorted order
into chunks of :data:`CHUNK_BATCHES` batches. ``ray.util.ActorPool`` hands each chunk to a free
actor, whose own ``TextEncoder.embed`` cuts it into the same length buckets a local call makes;
the vectors come back in chunk order and are put back in input order. So each text is encoded
in the same padded batch as locally, and the vectors equal the local ones up to floating-point
summation order (the test: allclose).

The encoder reaches the actors as the name ``"bundled"`` (every node has the package) or, for a
checkpoint folder on the driver (a fine-tuned or compressed encoder), as its files through Ray's
object store, written to a temporary folder on the actor's node; so no path has to exist on the
other nodes. Each actor reserves ``cluster CPUs / actors`` CPUs (no more than the largest node
has) and gives torch that many threads. Actors that die are restarted and their chunk retried
(``max_restarts`` / ``max_task_retries``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np

from datamoat.errors import UnavailableError
from datamoat.models.trainers.encoder import (
    BUNDLED,
    ONNX_FILE,
    THREADS_ENV,
    TextEncoder,
    length_buckets,
)

CHUNK_BATCHES = 8
"""Batches of similar length per task sent to an actor (512 texts at the default batch of 64)."""
MIN_TEXTS = 256
"""Calls with fewer texts embed in this process: a round trip is not worth it for them."""
MAX_RETRIES = 3
ENCODER_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


class EncoderActor:
    """One encoder in a Ray actor (created through ``ray.remote`` by :class:`RayEncoderPool`).

    source: ``"bundled"`` or ``"files"``; files: name -> bytes of the encoder folder (``"files"``).
    The other arguments are :class:`TextEncoder`'s; threads: torch's threads in this actor."""

    def __init__(self, source: str, files: dict[str, bytes] | None, backend: str, max_length: int,
                 normalize: bool, threads: int) -> None:
        os.environ[THREADS_ENV] = str(max(1, threads))  # read when torch's threads are set
        if source == BUNDLED:
            where: str | Path = BUNDLED
        else:
            where = tempfile.mkdtemp(prefix="datamoat-encoder-")
            weakref.finalize(self, shutil.rmtree, where, True)  # removed with the actor
            for name, data in (files or {}).items():
                (Path(where) / name).write_bytes(data)
        self.encoder = TextEncoder(where, backend=backend, max_length=max_length, normalize=normalize)

    def embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Vectors (len(texts), d) float32 of one chunk, in the chunk's order."""
        return self.encoder.embed(texts, batch_size=batch_size)


def encoder_files(encoder: TextEncoder) -> dict[str, bytes]:
    """The files an actor needs to rebuild ``encoder``: config, tokenizer, and the weights
    (``model.safetensors``) or the ONNX file (as ``model.onnx``)."""
    files = {name: (encoder.path / name).read_bytes() for name in ENCODER_FILES if (encoder.path / name).is_file()}
    if encoder.backend == "onnx":
        files[ONNX_FILE] = encoder.onnx_file.read_bytes()
    else:
        weights = encoder._weights_file()
        files[weights.name] = weights.read_bytes()
    return files


class RayEncoderPool:
    """``actors`` Ray actors, each holding a copy of ``encoder``.

    actors: None means one per CPU of the cluster. address: the cluster (None: ``$RAY_ADDRESS``
    or the Ray this process already runs, else a local one). Raises UnavailableError without ray.
    """

    def __init__(self, encoder: TextEncoder, actors: int | None = None, address: str | None = None) -> None:
        from datamoat.models.trainers.ray_scope import cpus_per_worker
        from datamoat.pipeline.executor_ray import ensure_ray

        ensure_ray(address)
        try:
            import ray
            from ray.util import ActorPool
        except ImportError as err:  # pragma: no cover - ensure_ray raised first
            raise UnavailableError("embeddings on Ray need ray: pip install 'datamoat[scale]'.") from err
        self.encoder = encoder
        count = int(actors or max(1, int(ray.cluster_resources().get("CPU", 1))))
        cpus = cpus_per_worker(count)
        bundled = encoder.encoder == BUNDLED and encoder.backend == "torch"
        files = None if bundled else ray.put(encoder_files(encoder))
        remote = ray.remote(EncoderActor).options(num_cpus=cpus, max_restarts=MAX_RETRIES,
                                                  max_task_retries=MAX_RETRIES)
        self._actors = [remote.remote(BUNDLED if bundled else "files", files, encoder.backend, encoder.max_length,
                                      encoder.normalize, cpus) for _ in range(count)]
        self._pool = ActorPool(self._actors)

    @property
    def size(self) -> int:
        """Number of actors."""
        return len(self._actors)

    def embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Vectors for ``texts``: float32 (len(texts), dimension), rows in input order."""
        out = np.zeros((len(texts), self.encoder.dimension), dtype=np.float32)
        if not texts:
            return out
        texts = [t if isinstance(t, str) else "" for t in texts]
        lengths = np.array([len(ids) for ids in self.encoder.tokenize(texts)["input_ids"]])
        order = np.concatenate(length_buckets(lengths, batch_size))  # the local embed's order
        step = batch_size * CHUNK_BATCHES
        chunks = [order[i : i + step] for i in range(0, len(order), step)]
        results = self._pool.map(lambda actor, idx: actor.embed.remote([texts[i] for i in idx], batch_size), chunks)
        for idx, vectors in zip(chunks, results, strict=True):
            out[idx] = vectors
        return out

    def close(self) -> None:
        """Stop the actors."""
        import ray

        for actor in self._actors:
            ray.kill(actor)
        self._actors = []


def pooled_embed(encoder: TextEncoder, texts: list[str], batch_size: int) -> np.ndarray | None:
    """Vectors from a pool of Ray actors when a Ray scope is open and there are at least
    MIN_TEXTS texts, else None (embed locally).

    The pool lives for this call only: its actors hold CPUs, and a recipe step or Ray Train run
    later in the same command needs them back (an idle pool would leave them waiting). The
    encoder is cached per text, so each text is encoded once anyway."""
    from datamoat.models.trainers.ray_scope import current_ray_scope

    scope = current_ray_scope()
    if scope is None or len(texts) < MIN_TEXTS:
        return None
    pool = RayEncoderPool(encoder, scope.actors, scope.address)
    try:
        vectors = pool.embed(texts, batch_size)
    finally:
        pool.close()
    scope.texts_embedded += len(texts)
    return vectors

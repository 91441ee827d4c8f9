"""Whether the model work of the moment runs on Ray: a scope the caller opens.

The caller that knows the workspace's executor (``models.training.train_model`` with
``executor: ray`` / ``--executor ray``) opens :func:`ray_scope`; inside it, encoder trainers
embed texts with a pool of Ray actors (:mod:`~datamoat.models.trainers.encoder_pool`) and
``finetune`` with ``workers`` > 1 trains with Ray Train. Outside it everything runs in this
process (or, for ``finetune``'s workers, in processes of this machine). A scope rather than a
trainer parameter: model selection creates many trainers, and none of them saves where it ran.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class RayScope:
    """An open scope: the cluster's address (None: ``$RAY_ADDRESS`` or a local Ray), the number
    of encoder actors (None: one per CPU of the cluster), and the texts embedded on Ray so far."""

    address: str | None
    actors: int | None
    texts_embedded: int = 0


_current: RayScope | None = None
_lock = threading.Lock()


@contextmanager
def ray_scope(address: str | None = None, actors: int | None = None) -> Iterator[RayScope]:
    """Run model work on Ray until the block ends."""
    global _current
    with _lock:
        outer, scope = _current, RayScope(address, actors)
        _current = scope
    try:
        yield scope
    finally:
        with _lock:
            _current = outer


def current_ray_scope() -> RayScope | None:
    """The open scope, or None when model work runs locally."""
    return _current


def cpus_per_worker(workers: int) -> int:
    """CPUs for each of ``workers`` Ray workers or actors: the cluster's CPUs / workers, no more
    than the largest node has (ray must be initialised)."""
    import ray

    total = int(ray.cluster_resources().get("CPU", 1))
    largest = max((int(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes() if n.get("Alive")), default=1)
    return max(1, min(total // max(1, workers), largest))

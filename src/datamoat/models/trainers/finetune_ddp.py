"""Data-parallel ``finetune`` (``workers`` > 1): the same training on N processes, gradients averaged.

Every worker process holds a full copy of the network
(:class:`~datamoat.models.trainers.finetune_network.FinetuneNetwork`) wrapped in torch's
``DistributedDataParallel``, which averages the gradients of all workers after each backward
pass (all-reduce over ``torch.distributed``: the gloo backend on CPU, NCCL on GPUs, one GPU per
worker). A ``DistributedSampler`` gives each worker a disjoint share of every epoch's rows
(shuffled with the seed and the epoch; the last few rows are repeated so every worker has the
same count, as the sampler does); each worker cuts its share into batches of similar token
length (:func:`~datamoat.models.trainers.finetune_network.epoch_batches`).

``batch_size`` stays the rows of one optimizer step over all workers: each worker takes
``ceil(batch_size / workers)`` of them. The loss of worker r is ``workers x sum(w_i l_i) /
sum over all workers of w_i`` (l: cross entropy of a row, w: its class weight, 1 without class
weights), so the averaged gradient is exactly that of one process's weighted mean loss over the
whole step's rows: N workers with batch b step like one worker with batch N x b (the test checks
this). Validation is sharded too and its sums all-reduced, so every worker takes the same
early-stopping decision; the ``max_seconds`` flag is all-reduced each step for the same reason.
Worker 0 writes the result (encoder, tokenizer, head, history) into a folder.

Launchers:

* :func:`fit_multiprocess`: ``torch.multiprocessing`` (spawn) on this machine, one process per
  worker, rendezvous on 127.0.0.1, ``torch.set_num_threads(cores // workers)`` in each;
* :func:`fit_on_ray`: Ray Train's ``TorchTrainer`` (``datamoat[scale]``), which starts the
  workers on the cluster and sets up their process group; worker 0's folder comes back as the
  run's checkpoint, stored under ``$DATAMOAT_RAY_TRAIN_STORAGE`` (a path or URI every node can
  reach; default a temporary folder on the driver, which serves a one-machine Ray).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from datamoat.errors import DatamoatError, UnavailableError
from datamoat.models.trainers.encoder import cpu_threads, require_torch, resolve_encoder_path
from datamoat.models.trainers.finetune_network import (
    FinetuneNetwork,
    clip_and_step,
    epoch_batches,
    token_lengths,
)

STORAGE_ENV = "DATAMOAT_RAY_TRAIN_STORAGE"
"""Where Ray Train keeps worker 0's result: a path or URI every node of the cluster can reach."""
HEAD_FILE = "head.npz"
STATE_FILE = "training.json"


@dataclass(frozen=True)
class DDPJob:
    """Everything a worker needs to train (pickled to every worker).

    texts / labels: the training rows (labels as class indices 0..n_classes-1).
    valid_texts / valid_labels: validation rows or None. class_weights: per class, or None.
    batch_size: rows of one optimizer step over all workers. max_seconds: wall-clock limit of
    training from the worker's start (None: none). The other fields are the trainer's.
    """

    encoder: str
    texts: list[str]
    labels: np.ndarray
    valid_texts: list[str] | None
    valid_labels: np.ndarray | None
    n_classes: int
    class_weights: list[float] | None
    max_length: int
    epochs: int
    learning_rate: float
    batch_size: int
    warmup_ratio: float
    weight_decay: float
    max_grad_norm: float
    patience: int | None
    dropout: float
    random_state: int
    device: str
    max_seconds: float | None


@dataclass
class DDPResult:
    """Worker 0's result: the folder with the encoder + tokenizer, and the head and history."""

    folder: Path
    head: dict[str, np.ndarray]
    history: list[dict[str, Any]]
    best_epoch: int | None
    stop_reason: str


# ------------------------------------------------------------------ the per-worker loop
def classifier_module(net: FinetuneNetwork) -> Any:
    """The network's encoder, dropout and head as one ``torch.nn.Module`` (what DDP wraps);
    ``forward(batch)`` returns the logits. The parameters are the network's own objects."""
    torch = require_torch()

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder, self.dropout, self.head = net.encoder, net.dropout, net.head

        def forward(self, batch: dict[str, Any]) -> Any:
            return net.logits(batch)

    return Classifier()


def wrap_ddp(net: FinetuneNetwork) -> Any:
    """``DistributedDataParallel`` over the network (the process group must be initialised).

    Unused parameters are allowed: an encoder's pooler, for one, gets no gradient from the
    mean-pooled head."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [net.device] if net.device.startswith("cuda") else None
    return DistributedDataParallel(classifier_module(net), device_ids=ids, find_unused_parameters=True)


def ddp_step(model: Any, batch: dict[str, Any], target: Any, optimizer: Any, weights: Any, world: int) -> tuple[Any, float]:
    """Forward + backward of this worker's rows of one step (gradients all-reduced by DDP).

    The loss is ``world x sum(w_i l_i) / (sum of w_i over every worker's rows)``, so DDP's mean
    of the workers' gradients equals the gradient of the weighted mean cross entropy over all
    the step's rows. weights: class weights (k,) tensor or None. Returns (this worker's loss
    tensor, rows of the whole step over all workers).
    """
    torch = require_torch()
    import torch.distributed as dist

    per_row = torch.nn.functional.cross_entropy(model(batch).float(), target, reduction="none")
    w = weights[target] if weights is not None else torch.ones_like(per_row)
    totals = torch.stack([w.sum().detach(), torch.tensor(float(len(target)), device=w.device)])
    dist.all_reduce(totals)
    loss = (per_row * w).sum() * world / totals[0]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    return loss, float(totals[1])


def _all_sum(values: list[float], device: str) -> list[float]:
    torch = require_torch()
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return [float(v) for v in t.cpu()]


def _evaluate_shard(net: FinetuneNetwork, enc: Any, y: np.ndarray, rank: int, world: int, batch_size: int) -> tuple[float, float]:
    """(accuracy, mean loss) over all workers' shards of the validation rows (identical everywhere)."""
    mine = np.arange(rank, len(y), world)
    correct = loss_sum = 0.0
    if len(mine):
        part = {key: [enc[key][i] for i in mine] for key in enc.keys()}
        acc, loss = net.evaluate(part, y[mine], batch_size)
        correct, loss_sum = acc * len(mine), loss * len(mine)
    total_correct, total_loss = _all_sum([correct, loss_sum], net.device)
    return total_correct / len(y), total_loss / len(y)


def train_worker(job: DDPJob, rank: int, world: int, out: Path | None, *, device: str, threads: int) -> None:
    """Train on this worker's share; worker 0 writes the result into ``out`` (others pass None).

    The process group must be initialised (``world`` workers, this one ``rank``). device: this
    worker's torch device; threads: torch's intra-op threads in this process.
    """
    started = time.perf_counter()
    torch = require_torch()
    from torch.utils.data import DistributedSampler
    from transformers import get_linear_schedule_with_warmup

    if device == "cpu":
        torch.set_num_threads(max(1, threads))
    torch.manual_seed(job.random_state)  # the same initial head everywhere (DDP also broadcasts rank 0's)
    net = FinetuneNetwork(resolve_encoder_path(job.encoder), job.n_classes, job.dropout, device, job.max_length)
    model = wrap_ddp(net)
    enc = net.tokenize(job.texts, job.max_length)
    lengths = token_lengths(enc)
    y = np.asarray(job.labels)
    enc_valid = net.tokenize(job.valid_texts, job.max_length) if job.valid_texts is not None else None
    weights = None if job.class_weights is None else torch.as_tensor(job.class_weights, dtype=torch.float32, device=device)
    sampler = DistributedSampler(range(len(y)), num_replicas=world, rank=rank, shuffle=True, seed=job.random_state)
    local_batch = math.ceil(job.batch_size / world)
    steps_per_epoch = math.ceil(len(sampler) / local_batch)
    optimizer = net.optimizer(job.learning_rate, job.weight_decay)
    total = steps_per_epoch * job.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(round(job.warmup_ratio * total)), total)
    deadline = None if job.max_seconds is None else started + job.max_seconds

    history: list[dict[str, Any]] = []
    best: tuple[float, float] | None = None
    best_state: dict[str, Any] | None = None
    best_epoch: int | None = None
    stop_reason = "epochs"
    for epoch in range(1, job.epochs + 1):
        epoch_start = time.perf_counter()
        sampler.set_epoch(epoch)
        mine = np.fromiter(iter(sampler), dtype=np.int64)
        rng = np.random.default_rng([job.random_state, epoch, rank])
        net.train(True)
        loss_sum, rows, steps, out_of_time = 0.0, 0.0, 0, False
        for local in epoch_batches(lengths[mine], local_batch, rng):
            idx = mine[local]
            target = torch.as_tensor(y[idx], device=device)
            loss, step_rows = ddp_step(model, net.batch(enc, idx), target, optimizer, weights, world)
            clip_and_step(optimizer, job.max_grad_norm)
            scheduler.step()
            loss_sum += float(loss.detach()) / world * step_rows  # this worker's part of the step's loss
            rows += step_rows
            steps += 1
            late = deadline is not None and time.perf_counter() >= deadline
            if _all_sum([float(late)], device)[0] > 0:  # any worker out of time: all stop together
                out_of_time = True
                break
        train_loss = _all_sum([loss_sum], device)[0] / max(rows, 1.0)
        record: dict[str, Any] = {"epoch": epoch, "steps": steps, "complete": steps == steps_per_epoch,
                                  "train_loss": train_loss, "valid_accuracy": None, "valid_loss": None}
        reason = "max_seconds" if out_of_time and (epoch < job.epochs or steps < steps_per_epoch) else None
        if enc_valid is not None and job.valid_labels is not None:
            acc, vloss = _evaluate_shard(net, enc_valid, np.asarray(job.valid_labels), rank, world, local_batch)
            record.update(valid_accuracy=acc, valid_loss=vloss)
            if best is None or (acc, -vloss) > best:  # accuracy first, lower loss breaks ties
                best, best_epoch = (acc, -vloss), epoch
                best_state = net.state() if rank == 0 else None
            elif reason is None and job.patience is not None and epoch - (best_epoch or 0) >= job.patience:
                reason = "patience"
        else:
            best_epoch = epoch
        record.update(stopped=reason, seconds=time.perf_counter() - epoch_start)
        history.append(record)
        if reason is not None:
            stop_reason = reason
            break
    if out is not None:
        if best_state is not None and best_epoch != history[-1]["epoch"]:
            net.restore(best_state)
        write_result(net, out, history, best_epoch, stop_reason)


def write_result(net: FinetuneNetwork, out: Path, history: list[dict[str, Any]], best_epoch: int | None,
                 stop_reason: str) -> None:
    """Worker 0's files: the encoder and tokenizer (save_pretrained), the head, the history."""
    out.mkdir(parents=True, exist_ok=True)
    net.encoder.save_pretrained(str(out))
    net.tokenizer.save_pretrained(str(out))
    np.savez(out / HEAD_FILE, W=net.head.weight.detach().float().cpu().numpy(),
             b=net.head.bias.detach().float().cpu().numpy())
    state = {"history": history, "best_epoch": best_epoch, "stop_reason": stop_reason}
    (out / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")


def read_result(folder: Path) -> DDPResult:
    """The result worker 0 wrote into ``folder`` (encoder files stay there)."""
    with np.load(folder / HEAD_FILE) as head:
        weights = {"W": head["W"].astype(np.float32), "b": head["b"].astype(np.float32)}
    state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    return DDPResult(folder, weights, list(state["history"]), state["best_epoch"], state["stop_reason"])


# ------------------------------------------------------------------ launching on this machine
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawned(rank: int, world: int, port: int, backend: str, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
    """Body of one spawned worker: join the group on 127.0.0.1, run ``fn(rank, world, *args)``, leave."""
    import torch.distributed as dist

    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        fn(rank, world, *args)
        # every worker is done with the group before any tears its side down: a gloo peer whose
        # partner left first can abort ("terminate called without an active exception", SIGABRT)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def launch_local(fn: Callable[..., None], workers: int, *args: Any, backend: str = "gloo") -> None:
    """Run ``fn(rank, workers, *args)`` in ``workers`` spawned processes that form one
    ``torch.distributed`` group on 127.0.0.1 (``fn`` must be importable: a module-level function).

    Raises the datamoat error a worker raised, or DatamoatError with the worker's last line."""
    require_torch()
    import torch.multiprocessing as mp
    from torch.multiprocessing.spawn import ProcessException

    if backend == "gloo" and "GLOO_SOCKET_IFNAME" not in os.environ and Path("/sys/class/net/lo").exists():
        os.environ["GLOO_SOCKET_IFNAME"] = "lo"  # all workers are on this machine: loopback only
    try:
        mp.spawn(_spawned, args=(workers, _free_port(), backend, fn, args), nprocs=workers, join=True)
    except ProcessException as err:
        raise _worker_error(err) from None


_ERROR_LINE = re.compile(r"^(?:datamoat\.errors\.)(\w+): (.+)$", re.MULTILINE)


def _worker_error(err: BaseException) -> DatamoatError:
    """The datamoat error a worker raised (rebuilt from its traceback text), else one sentence."""
    from datamoat import errors

    text = str(err)
    found = _ERROR_LINE.findall(text)
    if found:
        cls = getattr(errors, found[-1][0], None)
        if isinstance(cls, type) and issubclass(cls, DatamoatError):
            try:
                return cls(found[-1][1].strip())
            except TypeError:  # a class with more fields: the sentence is all we have
                return DatamoatError(found[-1][1].strip())
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return DatamoatError(f"a finetune worker process failed: {lines[-1].strip() if lines else type(err).__name__}")


def _local_worker(rank: int, world: int, job: DDPJob, out: str, threads: int, gpus: bool) -> None:
    device = f"cuda:{rank}" if gpus else "cpu"
    if gpus:
        require_torch().cuda.set_device(rank)
    train_worker(job, rank, world, Path(out) if rank == 0 else None, device=device, threads=threads)


def fit_multiprocess(job: DDPJob, workers: int, out: Path) -> DDPResult:
    """Train ``job`` on ``workers`` spawned processes of this machine; worker 0 writes into ``out``.

    CPU: gloo, ``torch.set_num_threads(cores // workers)`` per worker (cores: the CPUs this
    process may use, or ``$DATAMOAT_THREADS``). GPU: NCCL, one GPU per worker (DatamoatError
    when there are fewer GPUs than workers)."""
    torch = require_torch()
    gpus = job.device.startswith("cuda")
    if gpus and torch.cuda.device_count() < workers:
        raise DatamoatError(f"trainer 'finetune': workers={workers} on GPU needs {workers} GPUs; torch sees "
                            f"{torch.cuda.device_count()}.")
    threads = max(1, cpu_threads() // workers)
    launch_local(_local_worker, workers, job, str(out), threads, gpus, backend="nccl" if gpus else "gloo")
    return read_result(out)


# ------------------------------------------------------------------ launching on Ray
def _ray_worker(config: dict[str, Any]) -> None:
    """Ray Train's per-worker loop: train, then worker 0 reports its folder as the checkpoint."""
    import ray.train
    import ray.train.torch

    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = str(ray.train.torch.get_device())
    device = "cpu" if device.startswith("cpu") else device
    with tempfile.TemporaryDirectory(prefix="datamoat-ddp-") as tmp:
        out = Path(tmp) / "result" if rank == 0 else None
        train_worker(config["job"], rank, world, out, device=device, threads=int(config["threads"]))
        checkpoint = ray.train.Checkpoint.from_directory(str(out)) if out is not None else None
        ray.train.report({"rank": rank}, checkpoint=checkpoint)


def fit_on_ray(job: DDPJob, workers: int, out: Path, address: str | None = None) -> DDPResult:
    """Train ``job`` with Ray Train's TorchTrainer on ``workers`` Ray workers (gloo on CPU, NCCL
    with one GPU per worker); worker 0's result is copied into ``out``.

    address: the cluster (None: ``$RAY_ADDRESS``, else the Ray this process runs or a local one).
    Raises UnavailableError without ray, DatamoatError when the training fails."""
    from datamoat.models.trainers.ray_scope import cpus_per_worker
    from datamoat.pipeline.executor_ray import ensure_ray

    ensure_ray(address)
    try:
        from ray.train import RunConfig, ScalingConfig
        from ray.train.torch import TorchConfig, TorchTrainer
    except ImportError as err:
        raise UnavailableError("finetune on Ray needs Ray Train: pip install 'datamoat[scale]'.") from err
    gpus = job.device.startswith("cuda")
    cpus = cpus_per_worker(workers)
    storage = os.environ.get(STORAGE_ENV) or tempfile.mkdtemp(prefix="datamoat-raytrain-")
    trainer = TorchTrainer(
        _ray_worker,
        train_loop_config={"job": job, "threads": cpus},
        torch_config=TorchConfig(backend="nccl" if gpus else "gloo"),
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=gpus, resources_per_worker={"CPU": cpus}),
        run_config=RunConfig(name=f"datamoat-finetune-{uuid.uuid4().hex[:8]}", storage_path=storage),
    )
    try:
        try:
            result = trainer.fit()
        except Exception as err:  # Ray Train wraps the worker's error; keep its sentence
            raise _worker_error(err) from None
        if result.checkpoint is None:
            raise DatamoatError("finetune on Ray finished without worker 0's result (no checkpoint was reported).")
        result.checkpoint.to_directory(str(out))
    finally:
        if not os.environ.get(STORAGE_ENV):
            shutil.rmtree(storage, ignore_errors=True)
    return read_result(out)

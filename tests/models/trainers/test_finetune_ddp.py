"""Data-parallel finetune: N workers with batch b step exactly like one worker with batch N x b.

A 1-layer, 16-dimensional BERT with random weights and no dropout (saved to a tmp folder) keeps
every process fast; the workers are real processes (torch.multiprocessing spawn, gloo on
127.0.0.1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from textgen import framed_texts
from tiny_models import save_tiny_bert

from datamoat.errors import DatamoatError
from datamoat.models.trainers.contract import create_trainer

torch = pytest.importorskip("torch")

TOPICS = {"billing": ["refund", "invoice", "charged twice"], "shipping": ["parcel", "courier", "tracking number"]}
FRAMES = ["my {} please", "about the {}", "where is my {} now", "{}"]
# 8 rows, 6 of one class: with class weights, a plain mean of the two workers' weighted means
# would differ from the weighted mean over all 8 rows
TEXTS = ["my refund please", "about the invoice", "where is my parcel now", "courier",
         "charged twice", "my parcel please", "tracking number", "about the courier"]
LABELS = np.array([0, 0, 1, 1, 0, 1, 1, 1])
CLASS_WEIGHTS = [2.0, 0.5]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 1-layer BERT (16-d vectors, no dropout) with the bundled tokenizer."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert-ddp"), dropout=False)


def _one_step(rank: int, world: int, folder: str, out: str, job: object) -> None:
    """One worker: first a data-parallel step by hand (this worker's rows from a
    DistributedSampler, the trainer's DDP loss and step), then the trainer's whole per-worker loop
    on ``job``; worker 0 saves the averaged gradients, the stepped weights and the loop's result."""
    from torch.utils.data import DistributedSampler

    from datamoat.models.trainers.finetune_ddp import ddp_step, train_worker, wrap_ddp
    from datamoat.models.trainers.finetune_network import FinetuneNetwork, clip_and_step

    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = FinetuneNetwork(Path(folder), 2, 0.0, "cpu", 16)
    model = wrap_ddp(net)
    idx = np.fromiter(iter(DistributedSampler(range(len(TEXTS)), num_replicas=world, rank=rank, shuffle=False)), int)
    assert len(idx) == len(TEXTS) // world
    optimizer = net.optimizer(1e-3, 0.01)
    enc = net.tokenize(TEXTS, 16)
    ddp_step(model, net.batch(enc, idx), torch.as_tensor(LABELS[idx]), optimizer, torch.tensor(CLASS_WEIGHTS), world)
    grads = {n: p.grad.detach().clone() for n, p in model.module.named_parameters() if p.grad is not None}
    clip_and_step(optimizer, 1.0)
    if rank == 0:
        weights = {n: p.detach().clone() for n, p in model.module.named_parameters()}
        torch.save({"grads": grads, "weights": weights}, out)
    train_worker(job, rank, world, Path(out).parent / "loop" if rank == 0 else None, device="cpu", threads=1)


def test_two_workers_give_the_gradients_and_step_of_one_worker_with_twice_the_batch(tiny_bert: Path,
                                                                                    tmp_path: Path) -> None:
    from datamoat.models.trainers.finetune import FinetuneTrainer
    from datamoat.models.trainers.finetune_ddp import DDPJob, classifier_module, launch_local, read_result
    from datamoat.models.trainers.finetune_network import FinetuneNetwork, clip_and_step

    # one worker, batch 2b = 8: the single-process trainer's own forward_backward
    torch.manual_seed(0)
    net = FinetuneNetwork(tiny_bert, 2, 0.0, "cpu", 16)
    module = classifier_module(net)
    optimizer = net.optimizer(1e-3, 0.01)
    enc = net.tokenize(TEXTS, 16)
    net.train(True)
    net.forward_backward(net.batch(enc, np.arange(len(TEXTS))), torch.as_tensor(LABELS), optimizer,
                         torch.tensor(CLASS_WEIGHTS))
    grads = {n: p.grad.detach().clone() for n, p in module.named_parameters() if p.grad is not None}
    clip_and_step(optimizer, 1.0)
    weights = {n: p.detach().clone() for n, p in module.named_parameters()}

    # the whole trainer in this process: one epoch of one step (batch 8) over the 8 rows
    train = pd.DataFrame({"body": TEXTS, "intent": np.array(["billing", "shipping"])[LABELS]})
    params = {"encoder": str(tiny_bert), "text_column": "body", "label_column": "intent", "max_length": 16,
              "epochs": 1, "batch_size": 8, "warmup_ratio": 0.0, "dropout": 0.0, "learning_rate": 1e-3,
              "device": "cpu"}
    one = create_trainer("finetune", **params).fit(train)
    assert isinstance(one, FinetuneTrainer)
    job = DDPJob(encoder=str(tiny_bert), texts=TEXTS, labels=LABELS, valid_texts=None, valid_labels=None, n_classes=2,
                 class_weights=[len(LABELS) / (2 * c) for c in np.bincount(LABELS)], max_length=16, epochs=1,
                 learning_rate=1e-3, batch_size=8, warmup_ratio=0.0, weight_decay=one.weight_decay,
                 max_grad_norm=one.max_grad_norm, patience=None, dropout=0.0, random_state=0, device="cpu",
                 max_seconds=None)

    # two workers, batch b = 4 each, gradients averaged by DDP
    out = tmp_path / "ddp.pt"
    launch_local(_one_step, 2, str(tiny_bert), str(out), job)
    ddp = torch.load(out)
    assert set(ddp["grads"]) == set(grads) and any(n.startswith("encoder.") for n in grads) and "head.weight" in grads
    for name, grad in grads.items():
        assert torch.allclose(ddp["grads"][name], grad, rtol=1e-4, atol=1e-6), name
    moved = 0
    for name, weight in weights.items():
        assert torch.allclose(ddp["weights"][name], weight, rtol=1e-4, atol=1e-6), name
        moved += name in grads
    assert moved > 10  # the step changed the weights that had gradients, on both sides alike

    # the per-worker loop of 2 workers ends where the in-process trainer ends
    loop = read_result(tmp_path / "loop")
    assert loop.history[0]["steps"] == 1 and loop.stop_reason == "epochs" and loop.best_epoch == 1
    assert np.allclose(loop.head["W"], one.model_["W"], rtol=1e-4, atol=1e-6)
    assert np.allclose(loop.history[0]["train_loss"], one.history_[0]["train_loss"], rtol=1e-5)
    from safetensors.numpy import load_file

    mine, theirs = load_file(str(tmp_path / "loop" / "model.safetensors")), load_file(
        str(one.text_encoder().path / "model.safetensors"))
    assert set(mine) == set(theirs)
    assert all(np.allclose(mine[k], theirs[k], rtol=1e-4, atol=1e-6) for k in mine)


def test_workers_with_dp_is_one_sentence() -> None:
    train = framed_texts(TOPICS, FRAMES, seed=0, per_class=4)
    t = create_trainer("finetune", text_column="body", label_column="intent", workers=2, dp_epsilon=3.0)
    with pytest.raises(DatamoatError, match="workers=2 with dp_epsilon is not supported"):
        t.fit(train)
    with pytest.raises(DatamoatError, match="workers=0 must be a positive integer"):
        create_trainer("finetune", text_column="body", label_column="intent", workers=0).fit(train)


def test_ray_train_workers_end_where_the_local_workers_end(ray_session, tiny_bert: Path, tmp_path: Path) -> None:
    """Ray Train's TorchTrainer (2 workers on the session's local Ray) runs the same per-worker
    loop as 2 spawned processes: same head, same loss history, worker 0's folder comes back."""
    from datamoat.models.trainers.finetune_ddp import DDPJob, fit_multiprocess, fit_on_ray

    job = DDPJob(encoder=str(tiny_bert), texts=TEXTS, labels=LABELS, valid_texts=TEXTS[:4], valid_labels=LABELS[:4],
                 n_classes=2, class_weights=CLASS_WEIGHTS, max_length=16, epochs=2, learning_rate=1e-3,
                 batch_size=4, warmup_ratio=0.0, weight_decay=0.01, max_grad_norm=1.0, patience=None, dropout=0.0,
                 random_state=0, device="cpu", max_seconds=None)
    on_ray = fit_on_ray(job, 2, tmp_path / "ray")
    local = fit_multiprocess(job, 2, tmp_path / "local")
    assert [h["steps"] for h in on_ray.history] == [2, 2]  # 8 rows, steps of 4 (2 per worker)
    assert np.allclose(on_ray.head["W"], local.head["W"], rtol=1e-4, atol=1e-6)
    assert np.allclose([h["train_loss"] for h in on_ray.history], [h["train_loss"] for h in local.history], rtol=1e-5)
    assert on_ray.history[-1]["valid_accuracy"] == local.history[-1]["valid_accuracy"]
    assert (tmp_path / "ray" / "model.safetensors").is_file()

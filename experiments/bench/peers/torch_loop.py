"""PyTorch peer, idiomatic eager PyTorch: one ``nn.Module`` and one optimizer per model.

W1: a Python loop over restarts; restart ``i`` is ``nn.Sequential(Linear(2, 32), Tanh,
Linear(32, 32), Tanh, Linear(32, 1))`` with the workload's Glorot-normal init from
``torch.Generator().manual_seed(i)`` (see :mod:`~experiments.bench.peers.torch_common`),
trained for ``epochs`` full-batch steps of ``zero_grad(set_to_none=True)``, forward,
``F.binary_cross_entropy_with_logits`` (mean), ``backward``, ``step`` with
``torch.optim.SGD(lr=0.1, momentum=0.9)`` (no dampening, no Nesterov: ``v <- 0.9 v + g;
w <- w - lr v``, the workload's heavy ball). The final loss is the mean BCE of the
final params on the whole set under ``torch.no_grad()``.

Deviations: for ``n > 16`` only the first 16 restarts are trained and timed
(``timed_restarts = 16``; the loop's time is linear in restarts, the driver scales).
The warm-up is one restart (seed 0) for all ``epochs`` rather than a second full run;
``warmup_s`` is its wall time minus the timed run's time per restart, floored at 0
(eager PyTorch compiles nothing; this is first-call allocation and dispatch set-up).
With ``warmup=False`` (W3) all ``n`` restarts run once, ``warmup_s = 0``.

W2: ``nn.Sequential(Linear(64, 128), ReLU, Dropout(0.2), Linear(128, 10))`` with the
He-normal init (seed 0), ``model.train()``; each epoch a ``torch.randperm`` (seeded
generator) permutes the training set, then batches of 32 are slices of it (the last
batch has 30 rows) -- a randperm-and-slice loop, not a ``DataLoader``, which adds
per-batch collation overhead for in-memory tensors. Loss ``F.cross_entropy`` plus
``1e-4 * sum(w.pow(2).sum())`` over the two weight matrices (not biases; not SGD's
``weight_decay``, which would decay biases and amounts to ``2 x``), SGD momentum 0.9,
lr ``0.05 * 0.95^e`` via ``ExponentialLR(gamma=0.95)`` stepped after each epoch.
Dropout draws from torch's global generator, seeded with 0. Test accuracy with
``model.eval()`` (dropout off). Warm-up: one full training run; ``warmup_s`` is its
extra time over the timed run, floored at 0.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from experiments.bench.peers import w1_result, w2_result
from experiments.bench.peers import workloads as wl
from experiments.bench.peers.torch_common import (
    set_threads,
    timed,
    w1_model,
    w1_tensors,
    w2_model,
    w2_tensors,
)

REQUIRES = ("torch",)
MAX_TIMED_RESTARTS = 16
"""W1 restarts trained and timed at most (when warm-up is on); the driver scales."""


def _train_w1_restart(x: torch.Tensor, y: torch.Tensor, seed: int, epochs: int) -> float:
    """Train one W1 model from ``seed``; return its final mean BCE on ``(x, y)``."""
    model = w1_model(seed)
    opt = torch.optim.SGD(model.parameters(), lr=wl.W1_LR, momentum=wl.W1_MOMENTUM)
    for _ in range(epochs):
        opt.zero_grad(set_to_none=True)
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        opt.step()
    with torch.no_grad():
        return F.binary_cross_entropy_with_logits(model(x), y).item()


def _train_w1(x: torch.Tensor, y: torch.Tensor, restarts: int, epochs: int) -> list[float]:
    """Train restarts ``0 .. restarts - 1`` one after another; their final losses."""
    return [_train_w1_restart(x, y, seed, epochs) for seed in range(restarts)]


def w1(data: dict[str, np.ndarray], n: int, epochs: int, *, warmup: bool = True) -> dict:
    """W1 with a Python loop over ``n`` restarts (at most 16 timed when warming up)."""
    threads = set_threads()
    x, y = w1_tensors(data)
    if not warmup:
        seconds, losses = timed(lambda: _train_w1(x, y, n, epochs))
        return w1_result(
            seconds=seconds,
            warmup_s=0.0,
            final_losses=losses,
            timed_restarts=n,
            note=f"eager PyTorch, loop over restarts, {threads} threads; no warm-up",
        )
    restarts = min(n, MAX_TIMED_RESTARTS)
    warm_s, _ = timed(lambda: _train_w1(x, y, 1, epochs))
    seconds, losses = timed(lambda: _train_w1(x, y, restarts, epochs))
    note = f"eager PyTorch, loop over restarts, {threads} threads"
    if restarts < n:
        note += f"; {restarts} of {n} restarts timed (time is linear in restarts)"
    note += "; warm-up: 1 restart, warmup_s = its time - timed time per restart"
    return w1_result(
        seconds=seconds,
        warmup_s=max(0.0, warm_s - seconds / restarts),
        final_losses=losses,
        timed_restarts=restarts,
        note=note,
    )


def _l2(model: nn.Module) -> torch.Tensor:
    """``sum w^2`` over the weight matrices of ``model``'s linear layers (not biases)."""
    return sum(m.weight.pow(2).sum() for m in model.modules() if isinstance(m, nn.Linear))


def _train_w2_epoch(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    generator: torch.Generator,
) -> None:
    """One epoch: a fresh permutation, then mini-batches of 32 sliced from it."""
    perm = torch.randperm(x.shape[0], generator=generator)
    xs, ys = x[perm], y[perm]
    for start in range(0, x.shape[0], wl.W2_BATCH):
        xb, yb = xs[start : start + wl.W2_BATCH], ys[start : start + wl.W2_BATCH]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb) + wl.W2_L2 * _l2(model)
        loss.backward()
        opt.step()


def _train_w2(t: dict[str, torch.Tensor], epochs: int, seed: int = 0) -> float:
    """Train the W2 model from ``seed``; return its test accuracy."""
    torch.manual_seed(seed)  # dropout masks
    generator = torch.Generator().manual_seed(seed)  # shuffling
    model = w2_model(seed)
    opt = torch.optim.SGD(model.parameters(), lr=wl.W2_LR, momentum=wl.W2_MOMENTUM)
    schedule = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=wl.W2_DECAY)
    model.train()
    for _ in range(epochs):
        _train_w2_epoch(model, opt, t["w2_x_train"], t["w2_y_train"], generator)
        schedule.step()
    model.eval()
    with torch.no_grad():
        predicted = model(t["w2_x_test"]).argmax(dim=1)
    return (predicted == t["w2_y_test"]).float().mean().item()


def w2(data: dict[str, np.ndarray], epochs: int) -> dict:
    """W2, idiomatic eager PyTorch: warm-up run, then the timed run."""
    threads = set_threads()
    t = w2_tensors(data)
    warm_s, _ = timed(lambda: _train_w2(t, epochs))
    seconds, accuracy = timed(lambda: _train_w2(t, epochs))
    return w2_result(
        seconds=seconds,
        warmup_s=max(0.0, warm_s - seconds),
        test_accuracy=accuracy,
        note=f"eager PyTorch, {threads} threads; randperm + slicing batches (no DataLoader)",
    )

"""PyTorch peer, ``torch.func`` model ensembling: all restarts as one stacked model.

W1 (the pattern of PyTorch's "Model ensembling" tutorial): ``n`` W1 models (restart
``i`` seeded with ``i``, the workload's Glorot-normal init, see
:mod:`~experiments.bench.peers.torch_common`) are stacked with
``torch.func.stack_module_state`` into parameters with a leading ``n`` axis; one
model moved to the ``meta`` device is the stateless skeleton for
``torch.func.functional_call``. Each epoch ``torch.func.vmap`` maps one model's mean
``F.binary_cross_entropy_with_logits`` over the stacked parameters (data shared,
``in_dims=None``), the ``n`` losses are summed and ``backward()`` is called, then
``torch.optim.SGD(lr=0.1, momentum=0.9)`` steps the stacked leaves. This is the
workload's per-model heavy ball exactly: each model's parameters get gradient only
from its own loss, and SGD's momentum update is elementwise. Final losses: the
vmapped per-model BCE under ``torch.no_grad()``.

Why this form: we also timed ``vmap(grad(loss))`` with the momentum update written
by hand (in-place ``mul_``/``add_`` under ``no_grad``) and with the same SGD fed its
gradients; autograd through the vmapped forward was the fastest at ``n = 16`` and
as fast at ``n = 128`` on our 2-core CPU (all three give the same losses), so it is
the one used. ``torch.compile`` (inductor, works offline here)
was tried on the vmapped loss: about 50 s of compilation under load and no faster
steps at ``n = 16``, so it is not used.

Deviations: all ``n`` restarts are always timed. The warm-up trains the same ``n``
stacked models for ``min(epochs, 25)`` epochs rather than a second full run;
``warmup_s`` is its wall time minus the timed run's time for that many epochs,
floored at 0 (eager PyTorch compiles nothing). With ``warmup=False`` (W3) one run,
``warmup_s = 0``. No ``w2`` (the W2 model is a single network: see ``torch_loop``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from experiments.bench.peers import w1_result
from experiments.bench.peers import workloads as wl
from experiments.bench.peers.torch_common import set_threads, timed, w1_model, w1_tensors

REQUIRES = ("torch",)
WARMUP_EPOCHS = 25

Params = dict[str, torch.Tensor]


def _ensemble_loss(
    skeleton: nn.Module,
) -> Callable[[Params, Params, torch.Tensor, torch.Tensor], torch.Tensor]:
    """``(params, buffers, x, y) -> (n,)`` per-model mean BCEs of stacked models."""

    def one(params: Params, buffers: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = functional_call(skeleton, (params, buffers), (x,))
        return F.binary_cross_entropy_with_logits(logits, y)

    return vmap(one, in_dims=(0, 0, None, None))


def _train_w1(x: torch.Tensor, y: torch.Tensor, n: int, epochs: int) -> list[float]:
    """Train restarts ``0 .. n - 1`` as one stacked ensemble; their final losses."""
    models = [w1_model(seed) for seed in range(n)]
    params, buffers = stack_module_state(models)
    losses = _ensemble_loss(copy.deepcopy(models[0]).to("meta"))
    opt = torch.optim.SGD(params.values(), lr=wl.W1_LR, momentum=wl.W1_MOMENTUM)
    for _ in range(epochs):
        opt.zero_grad(set_to_none=True)
        losses(params, buffers, x, y).sum().backward()
        opt.step()
    with torch.no_grad():
        return losses(params, buffers, x, y).tolist()


def w1(data: dict[str, np.ndarray], n: int, epochs: int, *, warmup: bool = True) -> dict:
    """W1 with ``torch.func.vmap`` over ``n`` stacked models, all timed."""
    threads = set_threads()
    x, y = w1_tensors(data)
    note = f"torch.func vmap over stacked params, eager, {threads} threads"
    warm_s, warm_epochs = 0.0, 0
    if warmup:
        warm_epochs = min(epochs, WARMUP_EPOCHS)
        warm_s, _ = timed(lambda: _train_w1(x, y, n, warm_epochs))
        note += f"; warm-up: {warm_epochs} epochs, warmup_s = its time - timed share"
    seconds, final = timed(lambda: _train_w1(x, y, n, epochs))
    return w1_result(
        seconds=seconds,
        warmup_s=max(0.0, warm_s - seconds * warm_epochs / epochs),
        final_losses=final,
        timed_restarts=n,
        note=note,
    )

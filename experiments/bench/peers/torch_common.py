"""Code shared by the PyTorch peers (:mod:`~experiments.bench.peers.torch_loop`,
:mod:`~experiments.bench.peers.torch_vmap`): threads, the workloads' init, models and data.

Init is the workloads' (see :mod:`experiments.bench.peers.workloads`), written with
``torch.nn.init``: weights from a normal truncated at +-2 std
(``trunc_normal_(w, std=s, a=-2 s, b=2 s)``), with ``s = sqrt(2 / (fan_in +
fan_out)) / 0.8796...`` for W1 (Glorot-normal, as ``jax.nn.initializers.glorot_normal``)
and ``s = sqrt(2 / fan_in) / 0.8796...`` for W2 (He-normal), zero biases. Restart
``i`` draws from its own ``torch.Generator`` seeded with ``i``. float32 throughout.
No jax here: a peer process imports only its own library (and NumPy).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from experiments.bench.peers import workloads as wl

THREADS_ENV = "JAXNN_BENCH_THREADS"
DEFAULT_THREADS = 2
TRUNCATED_STD = 0.87962566103423978
"""Std of a standard normal truncated at +-2: dividing by it gives the truncated
normal the variance asked for (the constant of ``jax.nn.initializers.variance_scaling``)."""


def set_threads() -> int:
    """Limit torch to ``$JAXNN_BENCH_THREADS`` threads (default 2); return the count."""
    threads = int(os.environ.get(THREADS_ENV, DEFAULT_THREADS))
    torch.set_num_threads(threads)
    return threads


def glorot_std(fan_in: int, fan_out: int) -> float:
    """Std of the truncated normal before truncation, Glorot-normal (W1)."""
    return math.sqrt(2.0 / (fan_in + fan_out)) / TRUNCATED_STD


def he_std(fan_in: int, fan_out: int) -> float:
    """Std of the truncated normal before truncation, He-normal (W2); ``fan_out`` unused."""
    del fan_out
    return math.sqrt(2.0 / fan_in) / TRUNCATED_STD


def init_linears_(
    model: nn.Module, std: Callable[[int, int], float], generator: torch.Generator
) -> nn.Module:
    """Re-initialise every ``nn.Linear`` of ``model`` in place: truncated-normal
    weights with ``std(fan_in, fan_out)``, zero biases. Returns ``model``."""
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                s = std(layer.in_features, layer.out_features)
                nn.init.trunc_normal_(layer.weight, std=s, a=-2 * s, b=2 * s, generator=generator)
                nn.init.zeros_(layer.bias)
    return model


def w1_model(seed: int) -> nn.Sequential:
    """W1's MLP 2-32-32-1 tanh (one logit out), Glorot-normal init from ``seed``."""
    d_in, h1, h2, d_out = wl.W1_SIZES
    model = nn.Sequential(
        nn.Linear(d_in, h1), nn.Tanh(), nn.Linear(h1, h2), nn.Tanh(), nn.Linear(h2, d_out)
    )
    return init_linears_(model, glorot_std, torch.Generator().manual_seed(seed))


def w2_model(seed: int) -> nn.Sequential:
    """W2's MLP 64-128-10 relu with dropout on the hidden layer, He-normal init from
    ``seed``. ``nn.Dropout`` is inverted dropout (kept units scaled by ``1 / (1 - p)``)."""
    d_in, hidden, d_out = wl.W2_SIZES
    model = nn.Sequential(
        nn.Linear(d_in, hidden), nn.ReLU(), nn.Dropout(wl.W2_DROPOUT), nn.Linear(hidden, d_out)
    )
    return init_linears_(model, he_std, torch.Generator().manual_seed(seed))


def w1_tensors(data: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """W1's inputs (n, 2) and targets (n, 1), float32 (targets shaped like the logits)."""
    x = torch.as_tensor(data["w1_x"], dtype=torch.float32)
    y = torch.as_tensor(data["w1_y"], dtype=torch.float32).reshape(-1, 1)
    return x, y


def w2_tensors(data: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """W2's train and test arrays as tensors: float32 inputs, int64 labels."""
    return {
        k: torch.as_tensor(v, dtype=torch.float32 if "_x_" in k else torch.int64)
        for k, v in data.items()
        if k.startswith("w2_")
    }


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Wall seconds of ``fn()`` and its result."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out

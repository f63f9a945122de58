"""Benchmark W1, a restart study: jaxnn.restarts against the bare loop a user would write.

    python -m experiments bench restarts [--ns 1,16,128] [--rounds 3] [--quick]
                                         [--host-devices K] [--out results/bench]

Two moons (noise 0.2), n = 1024 standardised, MLP 2-32-32-1 tanh, binary
cross-entropy, full-batch heavy-ball momentum 0.9, lr 0.1, 500 epochs, N restarts
(``--ns``, default 1, 16 and 128), restart i from ``fold_in(key(1), i)``:

* jaxnn, its default usage: ``jaxnn.restarts(key, jaxnn.MLP(W1_SIZES, "tanh"),
  (x, y), config=jaxnn.FitConfig(learning_rate=0.1, momentum=0.9, epochs=500), n=N)``
  (peer ``jaxnn``, :mod:`experiments.bench.peers.jaxnn_study`);
* the bare loop (peer ``reference``, :mod:`experiments.bench.peers.reference`): ``jax.jit``
  of a ``jax.vmap`` over restarts (in groups of 8, ``lax.map`` over the groups) of a
  ``lax.scan`` over epochs of ``optax.sgd`` updates, split over the host devices with
  ``jax.shard_map`` when N divides by their count; it records nothing per epoch.

Each run is its own process (one XLA host device per core, or ``--host-devices``),
rounds interleaved; see :mod:`experiments.bench.loop` for the method and the table
(restart-epochs per second, jaxnn / loop, first-call seconds, GFLOP/s as % of the
f32 matmul peak). Writes ``restarts.json`` and ``restarts.md`` to ``--out``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from experiments.bench.peers import workloads as wl

QUICK_NS = (1, 4)


def matmul_peak_gflops(size: int = 2048, repeats: int = 5) -> float:
    """f32 matmul GFLOP/s of this machine: one ``size``-square matmul per device, all
    at once (median of ``repeats`` timed calls after one warm-up call)."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    devices = jax.devices()
    mesh = Mesh(np.array(devices), ("d",))
    a = jax.device_put(
        jnp.ones((len(devices), size, size), jnp.float32), NamedSharding(mesh, P("d"))
    )
    f = jax.jit(lambda m: jnp.einsum("bij,bjk->bik", m, m))
    jax.block_until_ready(f(a))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(f(a))
        times.append(time.perf_counter() - t0)
    return 2 * len(devices) * size**3 / sorted(times)[len(times) // 2] / 1e9


def main(
    quick: bool = False,
    out: str = "results/bench",
    *,
    ns: Sequence[int] | None = None,
    rounds: int | None = None,
    threads: int | None = None,
    command: str | None = None,
) -> dict:
    """Run the benchmark; returns the dict written to ``restarts.json``."""
    from experiments.bench import loop as bench_loop

    ns = tuple(ns or (QUICK_NS if quick else wl.W1_NS))
    return bench_loop.main(
        "restarts",
        [("w1", n) for n in ns],
        "jaxnn",
        quick=quick,
        out=out,
        rounds=rounds,
        threads=threads,
        command=command,
    )

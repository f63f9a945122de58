"""Benchmark: jaxnn.fit, a single model, against the bare loop a user would write.

    python -m experiments bench fit [--rounds 3] [--quick] [--host-devices K]
                                    [--out results/bench]

Two workloads (:mod:`experiments.bench.peers.workloads`), each trained by:

* jaxnn, its default usage (peer ``jaxnn_fit``, :mod:`experiments.bench.peers.jaxnn_fit`):
  ``jaxnn.fit(key, model, (x, y), config=config)``;
* the bare loop (peer ``reference``, :mod:`experiments.bench.peers.reference`), which
  records nothing per epoch.

W2: digits, MLP 64-128-10 relu, dropout 0.2, L2 1e-4, batch 32 reshuffled each epoch
(the last partial batch kept), momentum 0.9, lr 0.05 x 0.95^epoch, 20 epochs; the
bare loop is one jitted epoch function (a ``lax.scan`` over the mini-batches) called
from a Python loop over the epochs. W1 at N = 1: two moons, MLP 2-32-32-1 tanh,
full batch, momentum 0.9, lr 0.1, 500 epochs; the bare loop is a ``lax.scan`` over
epochs in one ``jax.jit``.

Each run is its own process, rounds interleaved; see :mod:`experiments.bench.loop`
for the method and the table (examples or restart-epochs per second, jaxnn / loop,
first-call seconds, W1's GFLOP/s as % of the f32 matmul peak). Writes ``fit.json``
and ``fit.md`` to ``--out``.
"""

from __future__ import annotations

CASES = (("w2", 1), ("w1", 1))


def main(
    quick: bool = False,
    out: str = "results/bench",
    *,
    rounds: int | None = None,
    threads: int | None = None,
    command: str | None = None,
) -> dict:
    """Run the benchmark; returns the dict written to ``fit.json``."""
    from experiments.bench import loop as bench_loop

    return bench_loop.main(
        "fit",
        CASES,
        "jaxnn_fit",
        quick=quick,
        out=out,
        rounds=rounds,
        threads=threads,
        command=command,
    )

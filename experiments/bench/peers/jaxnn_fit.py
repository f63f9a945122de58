"""Peer ``jaxnn_fit``: a single model trained by :func:`jaxnn.fit`, jaxnn's default usage
for one fit (``python -m experiments bench fit``; not in the peer comparison).

W1 is a Python loop over the N restarts of one ``jaxnn.fit`` call each, restart i
from ``fold_in(key(W1_SEED), i)`` (``bench fit`` runs N = 1); the final losses are
computed from each fit's final params after the timed run. W2 is the ``jaxnn`` peer's
(one call of :func:`jaxnn.fit`).
"""

from __future__ import annotations

import numpy as np

from experiments.bench.peers import first_then_timed, w1_result
from experiments.bench.peers.jaxnn_study import final_losses
from experiments.bench.peers.jaxnn_study import w2 as w2
from experiments.bench.peers.workloads import (
    W1_ACTIVATION,
    W1_LR,
    W1_MOMENTUM,
    W1_SIZES,
    w1_restart_keys,
)

REQUIRES = ("jax",)


def w1(data, n: int, epochs: int, *, warmup: bool = True) -> dict:
    import jax
    import jax.numpy as jnp

    import jaxnn

    x, y = jnp.asarray(data["w1_x"]), jnp.asarray(data["w1_y"])
    model = jaxnn.MLP(W1_SIZES, W1_ACTIVATION)
    config = jaxnn.FitConfig(learning_rate=W1_LR, momentum=W1_MOMENTUM, epochs=epochs)
    keys = list(w1_restart_keys(n))

    def run():
        fits = [jaxnn.fit(k, model, (x, y), config=config) for k in keys]
        return jax.block_until_ready([f.params for f in fits])

    params, times = first_then_timed(run, warmup=warmup)
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *params)
    return w1_result(
        **times,
        final_losses=np.asarray(final_losses(model, stacked, x, y)),
        timed_restarts=n,
        note="jaxnn.fit" + (f", a Python loop over {n} restarts" if n > 1 else ""),
    )

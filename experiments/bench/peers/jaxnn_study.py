"""Peer ``jaxnn``: the workloads written with jaxnn's public API, as its README shows.

W1 is one call of :func:`jaxnn.restarts` (members sharded over every host device
the worker was given); W2 is one call of :func:`jaxnn.fit`. Both with jaxnn's
defaults: whatever jaxnn records per epoch (its history) and checks (divergence)
is part of the timed run. The final losses are computed from the final params after
the timed run (``jaxnn.evaluate``), never read from the history.
"""

from __future__ import annotations

import numpy as np

from experiments.bench.peers import first_then_timed, w1_result, w2_result
from experiments.bench.peers.workloads import (
    W1_ACTIVATION,
    W1_LR,
    W1_MOMENTUM,
    W1_SEED,
    W1_SIZES,
    W2_ACTIVATION,
    W2_BATCH,
    W2_DECAY,
    W2_DROPOUT,
    W2_L2,
    W2_LR,
    W2_MOMENTUM,
    W2_SIZES,
)

REQUIRES = ("jax",)


def final_losses(model, params, x, y) -> np.ndarray:
    """(N,) mean BCE on ``(x, y)`` of each member of the stacked ``params``."""
    import jax

    import jaxnn

    def loss(p):
        return jaxnn.evaluate("binary", model.apply(p, x), y)[0]

    return np.asarray(jax.jit(jax.vmap(loss))(params))


def w1(data, n: int, epochs: int, *, warmup: bool = True) -> dict:
    import jaxnn

    return restarts_w1(jaxnn.MLP(W1_SIZES, W1_ACTIVATION), data, n, epochs, warmup, "")


def restarts_w1(model, data, n: int, epochs: int, warmup: bool, note: str) -> dict:
    """W1 of ``model`` (any jaxnn model) by one :func:`jaxnn.restarts` call with this
    peer's config; ``note`` goes before the device count in the result's note."""
    import jax
    import jax.numpy as jnp

    import jaxnn

    x, y = jnp.asarray(data["w1_x"]), jnp.asarray(data["w1_y"])
    config = jaxnn.FitConfig(learning_rate=W1_LR, momentum=W1_MOMENTUM, epochs=epochs)

    def run():
        study = jaxnn.restarts(jax.random.key(W1_SEED), model, (x, y), config=config, n=n)
        return jax.block_until_ready(study)

    study, times = first_then_timed(run, warmup=warmup)
    return w1_result(
        **times,
        final_losses=final_losses(model, study.results.params, x, y),
        timed_restarts=n,
        note=f"{note}jaxnn.restarts over {min(n, len(jax.devices()))} host device(s)",
    )


def w2(data, epochs: int) -> dict:
    import jax
    import jax.numpy as jnp

    import jaxnn

    x, y = jnp.asarray(data["w2_x_train"]), jnp.asarray(data["w2_y_train"], jnp.int32)
    xt, yt = jnp.asarray(data["w2_x_test"]), jnp.asarray(data["w2_y_test"], jnp.int32)
    model = jaxnn.MLP(W2_SIZES, W2_ACTIVATION)
    config = jaxnn.FitConfig(
        loss="multiclass",
        learning_rate=W2_LR,
        momentum=W2_MOMENTUM,
        decay="step",
        decay_rate=W2_DECAY,
        decay_epochs=1,
        l2=W2_L2,
        dropout=W2_DROPOUT,
        batch_size=W2_BATCH,
        epochs=epochs,
    )

    def run():
        return jax.block_until_ready(jaxnn.fit(jax.random.key(0), model, (x, y), config=config))

    result, times = first_then_timed(run)
    _, acc = jaxnn.evaluate("multiclass", model.apply(result.params, xt), yt)
    return w2_result(
        **times,
        test_accuracy=float(acc),
        note="jaxnn.fit",
    )

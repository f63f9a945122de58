"""Peer ``jaxnn``: the workloads written with jaxnn's public API, as its README shows.

W1 is one call of :func:`jaxnn.restarts` (members sharded over every host device
the worker was given); W2 is one call of :func:`jaxnn.fit`. Each epoch jaxnn also
evaluates the new params' training loss and accuracy on the whole training set
(its history); that work is part of the timed run.
"""

from __future__ import annotations

import numpy as np

from experiments.peers import timed, w1_result, w2_result
from experiments.peers.workloads import (
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


def w1(data, n: int, epochs: int, *, warmup: bool = True) -> dict:
    import jax
    import jax.numpy as jnp

    import jaxnn

    x, y = jnp.asarray(data["w1_x"]), jnp.asarray(data["w1_y"])
    model = jaxnn.MLP(W1_SIZES, W1_ACTIVATION)
    config = jaxnn.FitConfig(learning_rate=W1_LR, momentum=W1_MOMENTUM, epochs=epochs)

    def run():
        study = jaxnn.restarts(jax.random.key(W1_SEED), model, (x, y), config=config, n=n)
        return jax.block_until_ready(study)

    first = 0.0
    if warmup:
        _, first = timed(run)
    study, seconds = timed(run)
    # The history's last training loss is the final params' mean BCE on the whole set
    # (no penalty in W1); index by epochs_run in case a member stopped (diverged).
    hist = np.asarray(study.results.history.train_loss)
    last = np.asarray(study.results.epochs_run) - 1
    final = hist[np.arange(n), last]
    return w1_result(
        seconds=seconds,
        warmup_s=max(first - seconds, 0.0) if warmup else 0.0,
        final_losses=final,
        timed_restarts=n,
        note=f"jaxnn.restarts over {min(n, len(jax.devices()))} host device(s)",
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

    _, first = timed(run)
    result, seconds = timed(run)
    _, acc = jaxnn.evaluate("multiclass", model.apply(result.params, xt), yt)
    return w2_result(
        seconds=seconds,
        warmup_s=max(first - seconds, 0.0),
        test_accuracy=float(acc),
        note="jaxnn.fit",
    )

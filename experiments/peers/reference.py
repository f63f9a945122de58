"""Peer ``reference``: hand-written JAX + optax, the best we could make it.

W1 is :func:`experiments.bench_restarts._reference`: feature-major activations,
``jax.vmap`` over restarts of a ``lax.scan`` over epochs, the restart keys sharded
over the host devices (when N divides by their count, as ``bench restarts`` does).
W2 is a ``lax.scan`` over epochs of a ``lax.scan`` over batches, with inverted
dropout (``jax.random.bernoulli``), the L2 penalty on weights, optax's staircase
exponential decay (x0.95 per epoch) and the last partial batch kept (padded to a
whole batch, the padding weighted 0, as jaxnn does).

Like for like with jaxnn: after each epoch's updates both also evaluate the new
params' training loss and accuracy on the whole training set (jaxnn keeps them as
its history), so the per-epoch work is the same.
"""

from __future__ import annotations

import numpy as np

from experiments.peers import timed, w1_result, w2_result
from experiments.peers.workloads import (
    W1_LR,
    W1_MOMENTUM,
    W1_SIZES,
    W2_BATCH,
    W2_DECAY,
    W2_DROPOUT,
    W2_L2,
    W2_LR,
    W2_MOMENTUM,
    W2_SIZES,
    w1_restart_keys,
)

REQUIRES = ("jax", "optax")


def w1(data, n: int, epochs: int, *, warmup: bool = True) -> dict:
    import jax
    import jax.numpy as jnp
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    from experiments.bench_restarts import SIZES, _reference

    assert tuple(SIZES) == tuple(W1_SIZES)
    x, y = jnp.asarray(data["w1_x"]), jnp.asarray(data["w1_y"])
    keys = w1_restart_keys(n)
    devices = jax.devices()
    sharded = n % len(devices) == 0
    if sharded:
        mesh = Mesh(np.array(devices), ("members",))
        keys = jax.device_put(keys, NamedSharding(mesh, P("members")))
    ref = _reference(x, y, epochs, W1_LR, W1_MOMENTUM)

    def run():
        return jax.block_until_ready(ref(keys))

    first = 0.0
    if warmup:
        _, first = timed(run)
    (_, (losses, _)), seconds = timed(run)
    where = f"restarts sharded over {len(devices)} host devices" if sharded else "one device"
    return w1_result(
        seconds=seconds,
        warmup_s=max(first - seconds, 0.0) if warmup else 0.0,
        final_losses=np.asarray(losses)[:, -1],
        timed_restarts=n,
        note=f"vmap of lax.scan, {where}; evaluates each epoch like jaxnn",
    )


def _w2_fit(x, y, epochs):
    """``run(key) -> (params, (loss, accuracy) per epoch)``, jit-compiled."""
    import jax
    import jax.numpy as jnp
    import optax

    import jaxnn

    n, b = x.shape[0], W2_BATCH
    nb = -(-n // b)
    pad = nb * b - n
    keep = 1.0 - W2_DROPOUT
    opt = optax.sgd(
        optax.exponential_decay(W2_LR, nb, W2_DECAY, staircase=True), momentum=W2_MOMENTUM
    )

    def apply(params, xb, key=None):
        h = xb
        for i, layer in enumerate(params[:-1]):
            h = jax.nn.relu(h @ layer["w"] + layer["b"])
            if key is not None:
                mask = jax.random.bernoulli(jax.random.fold_in(key, i), keep, h.shape)
                h = jnp.where(mask, h / keep, 0.0)
        return h @ params[-1]["w"] + params[-1]["b"]

    def loss(params, xb, yb, wb, key):
        ce = optax.softmax_cross_entropy_with_integer_labels(apply(params, xb, key), yb)
        l2 = sum(jnp.sum(layer["w"] ** 2) for layer in params)
        return jnp.sum(wb * ce) / jnp.sum(wb) + W2_L2 * l2

    weights = (jnp.arange(nb * b) < n).astype(jnp.float32).reshape(nb, b)

    @jax.jit
    def run(key):
        params = jaxnn.init_mlp(jax.random.fold_in(key, 0), W2_SIZES, activation="relu")

        def epoch(carry, e):
            ekey = jax.random.fold_in(key, e)

            def step(carry, batch):
                p, s = carry
                i, idx, wb = batch
                dkey = jax.random.fold_in(jax.random.fold_in(ekey, 1), i)
                g = jax.grad(loss)(p, x[idx], y[idx], wb, dkey)
                u, s = opt.update(g, s, p)
                return (optax.apply_updates(p, u), s), None

            perm = jax.random.permutation(jax.random.fold_in(ekey, 0), n)
            idx = jnp.concatenate([perm, jnp.zeros((pad,), perm.dtype)]).reshape(nb, b)
            carry, _ = jax.lax.scan(step, carry, (jnp.arange(nb), idx, weights))
            logits = apply(carry[0], x)
            ce = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))
            acc = jnp.mean((jnp.argmax(logits, -1) == y).astype(jnp.float32))
            return carry, (ce, acc)

        (params, _), hist = jax.lax.scan(epoch, (params, opt.init(params)), jnp.arange(epochs))
        return params, hist

    return run, apply


def w2(data, epochs: int) -> dict:
    import jax
    import jax.numpy as jnp

    x, y = jnp.asarray(data["w2_x_train"]), jnp.asarray(data["w2_y_train"], jnp.int32)
    xt, yt = jnp.asarray(data["w2_x_test"]), jnp.asarray(data["w2_y_test"], jnp.int32)
    fit, apply = _w2_fit(x, y, epochs)

    def run():
        return jax.block_until_ready(fit(jax.random.key(0)))

    _, first = timed(run)
    (params, _), seconds = timed(run)
    acc = jnp.mean((jnp.argmax(apply(params, xt), -1) == yt).astype(jnp.float32))
    return w2_result(
        seconds=seconds,
        warmup_s=max(first - seconds, 0.0),
        test_accuracy=float(acc),
        note="lax.scan over epochs and batches; evaluates each epoch like jaxnn",
    )

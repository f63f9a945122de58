"""Peer ``reference``: the bare loop a user would write with JAX and optax.

It records NOTHING per epoch: no loss or accuracy history, no evaluation, no early
stopping, no divergence check. The compiled program returns the final params only;
the final losses (W1) and the test accuracy (W2) are computed from those params
after the timed run, outside the timed region.

W1, the restart study (:func:`w1_program`), is one ``jax.jit`` of:

* one restart: params ``jaxnn.init_mlp(fold_in(restart_key, 0), W1_SIZES,
  activation="tanh")`` (what jaxnn uses), then a ``lax.scan`` over the epochs of one
  full-batch ``optax.sgd(lr, momentum=0.9)`` update on ``jax.grad`` of the mean BCE
  (``optax.sigmoid_binary_cross_entropy``); activations feature-major: ``x`` is given
  as ``(d, n)`` and each layer computes ``h = w.T @ h + b[:, None]``;
* the restarts in groups of 8: ``lax.map(one, keys, batch_size=8)``, a sequential
  map over groups with ``jax.vmap`` within a group (fewer than 8: one group);
* split over the host devices with ``jax.shard_map`` on a 1-D mesh when N divides
  by the device count (else all on one device), with ``check_vma=False`` as jaxnn
  does (with the check, the zero biases, the same on every device, would have their
  gradients summed over the devices).

Restart i trains from ``fold_in(key(W1_SEED), i)``, the key ``jaxnn.restarts`` gives
its member i, so both train the same restarts.

W2, one model with mini-batches (:func:`w2_program`): ONE jitted epoch function, a
``lax.scan`` over the epoch's mini-batches (a fresh permutation from the epoch's key,
batch 32, the last partial batch kept: padded to a whole batch, the padding weighted
0), each an ``optax.sgd`` momentum-0.9 update on ``jax.grad`` of the batch's mean
softmax cross-entropy, with inverted dropout 0.2 on the hidden layer
(``jax.random.bernoulli``), plus ``1e-4 * sum w^2`` over the weights; the learning
rate is optax's staircase ``exponential_decay`` (0.05 x 0.95 per epoch). A Python loop
calls the epoch function 20 times.
"""

from __future__ import annotations

import numpy as np

from experiments.bench.peers import first_then_timed, w1_result, w2_result
from experiments.bench.peers.workloads import (
    W1_LR,
    W1_MOMENTUM,
    W1_SEED,
    W1_SIZES,
    W2_BATCH,
    W2_DECAY,
    W2_DROPOUT,
    W2_L2,
    W2_LR,
    W2_MOMENTUM,
    W2_SIZES,
)

REQUIRES = ("jax", "optax")

GROUP = 8  # restarts vmapped together; groups run one after another (lax.map)


# ---------------------------------------------------------------- W1: the restart study


def apply_fm(params, xt):
    """Feature-major forward of the tanh MLP: ``xt`` (d, n) -> logits (n,)."""
    import jax.numpy as jnp

    h = xt
    for layer in params[:-1]:
        h = jnp.tanh(layer["w"].T @ h + layer["b"][:, None])
    return (params[-1]["w"].T @ h + params[-1]["b"][:, None])[0]


def bce(params, xt, y):
    """Mean binary cross-entropy of the params' logits on ``xt`` (d, n) against ``y``."""
    import optax

    return optax.sigmoid_binary_cross_entropy(apply_fm(params, xt), y).mean()


def w1_program(n: int, epochs: int, *, sizes=W1_SIZES, lr=W1_LR, momentum=W1_MOMENTUM):
    """``train(key, xt, y) -> params`` of ``n`` restarts, jit-compiled.

    ``key`` is the study's key (restart i: ``fold_in(key, i)``), ``xt`` (d, n_points)
    the inputs feature-major, ``y`` (n_points,) labels in {0, 1}; the params come back
    stacked, with a leading axis of ``n``.
    """
    import jax
    import jax.numpy as jnp
    import optax
    from jax.sharding import Mesh
    from jax.sharding import PartitionSpec as P

    import jaxnn

    opt = optax.sgd(lr, momentum=momentum)

    def one(key, xt, y):
        params = jaxnn.init_mlp(jax.random.fold_in(key, 0), sizes, activation="tanh")

        def epoch(carry, _):
            p, s = carry
            updates, s = opt.update(jax.grad(bce)(p, xt, y), s, p)
            return (optax.apply_updates(p, updates), s), None

        (params, _), _ = jax.lax.scan(epoch, (params, opt.init(params)), length=epochs)
        return params

    def restarts(keys, xt, y):
        return jax.lax.map(lambda k: one(k, xt, y), keys, batch_size=GROUP)

    devices = jax.devices()
    if len(devices) > 1 and n % len(devices) == 0:
        mesh = Mesh(np.array(devices), ("restarts",))
        # check_vma=False: the zero biases of init do not depend on the restart key, so
        # shard_map's checker would type them as the same on every device and sum
        # their gradients over the devices (the restarts would share their biases).
        restarts = jax.shard_map(
            restarts,
            mesh=mesh,
            in_specs=(P("restarts"), P(), P()),
            out_specs=P("restarts"),
            check_vma=False,
        )

    @jax.jit
    def train(key, xt, y):
        if n == 1:  # one restart: unbatched (XLA's CPU matmuls batched over 1 are slower)
            return jax.tree.map(lambda a: a[None], one(jax.random.fold_in(key, 0), xt, y))
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(n))
        return restarts(keys, xt, y)

    return train


def w1_final_losses(params, xt, y):
    """(N,) mean BCE of each restart's params (stacked) on the whole set."""
    import jax

    return jax.jit(jax.vmap(bce, in_axes=(0, None, None)))(params, xt, y)


def w1(data, n: int, epochs: int, *, warmup: bool = True) -> dict:
    import jax
    import jax.numpy as jnp

    xt, y = jnp.asarray(data["w1_x"].T), jnp.asarray(data["w1_y"])
    train = w1_program(n, epochs)
    key = jax.random.key(W1_SEED)
    params, times = first_then_timed(
        lambda: jax.block_until_ready(train(key, xt, y)), warmup=warmup
    )
    devices = len(jax.devices())
    where = f"shard_map over {devices} host devices" if n % devices == 0 else "one device"
    return w1_result(
        **times,
        final_losses=np.asarray(w1_final_losses(params, xt, y)),
        timed_restarts=n,
        note=f"bare loop: vmap (groups of {GROUP}) of lax.scan, {where}; records nothing",
    )


# ------------------------------------------------------------ W2: one model, mini-batches


def w2_apply(params, x, key=None):
    """Row-major forward of the relu MLP, ``x`` (b, d) -> logits (b, classes); with a
    ``key``, inverted dropout on the hidden activations."""
    import jax
    import jax.numpy as jnp

    keep = 1.0 - W2_DROPOUT
    h = x
    for i, layer in enumerate(params[:-1]):
        h = jax.nn.relu(h @ layer["w"] + layer["b"])
        if key is not None:
            mask = jax.random.bernoulli(jax.random.fold_in(key, i), keep, h.shape)
            h = jnp.where(mask, h / keep, 0.0)
    return h @ params[-1]["w"] + params[-1]["b"]


def w2_program(n: int):
    """``(init, epoch)`` for a training set of ``n`` examples.

    ``init(key) -> (params, opt_state)``; ``epoch(params, opt_state, key, e, x, y) ->
    (params, opt_state)`` is jit-compiled: epoch ``e``'s mini-batches in a ``lax.scan``.
    """
    import jax
    import jax.numpy as jnp
    import optax

    import jaxnn

    b = W2_BATCH
    nb = -(-n // b)
    pad = nb * b - n
    lr = optax.exponential_decay(W2_LR, nb, W2_DECAY, staircase=True)
    opt = optax.sgd(lr, momentum=W2_MOMENTUM)
    weights = (jnp.arange(nb * b) < n).astype(jnp.float32).reshape(nb, b)

    def loss(params, xb, yb, wb, key):
        ce = optax.softmax_cross_entropy_with_integer_labels(w2_apply(params, xb, key), yb)
        l2 = sum(jnp.sum(layer["w"] ** 2) for layer in params)
        return jnp.sum(wb * ce) / jnp.sum(wb) + W2_L2 * l2

    def init(key):
        params = jaxnn.init_mlp(jax.random.fold_in(key, 0), W2_SIZES, activation="relu")
        return params, opt.init(params)

    @jax.jit
    def epoch(params, opt_state, key, e, x, y):
        ekey = jax.random.fold_in(key, e)
        perm = jax.random.permutation(jax.random.fold_in(ekey, 0), n)
        idx = jnp.concatenate([perm, jnp.zeros((pad,), perm.dtype)]).reshape(nb, b)

        def step(carry, batch):
            p, s = carry
            i, bidx, wb = batch
            dkey = jax.random.fold_in(jax.random.fold_in(ekey, 1), i)
            grads = jax.grad(loss)(p, x[bidx], y[bidx], wb, dkey)
            updates, s = opt.update(grads, s, p)
            return (optax.apply_updates(p, updates), s), None

        (params, opt_state), _ = jax.lax.scan(
            step, (params, opt_state), (jnp.arange(nb), idx, weights)
        )
        return params, opt_state

    return init, epoch


def w2(data, epochs: int) -> dict:
    import jax
    import jax.numpy as jnp

    x, y = jnp.asarray(data["w2_x_train"]), jnp.asarray(data["w2_y_train"], jnp.int32)
    xt, yt = jnp.asarray(data["w2_x_test"]), jnp.asarray(data["w2_y_test"], jnp.int32)
    init, epoch = w2_program(x.shape[0])
    key = jax.random.key(0)

    def run():
        params, opt_state = init(key)
        for e in range(epochs):
            params, opt_state = epoch(params, opt_state, key, e, x, y)
        return jax.block_until_ready(params)

    params, times = first_then_timed(run)
    acc = jnp.mean((jnp.argmax(w2_apply(params, xt), -1) == yt).astype(jnp.float32))
    return w2_result(
        **times,
        test_accuracy=float(acc),
        note="bare loop: Python loop over epochs of one jitted lax.scan over batches; "
        "records nothing",
    )

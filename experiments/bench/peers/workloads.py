"""The benchmark's workloads, stated once for every peer.

W1, a restart study: two moons (noise 0.2), n = 1024 standardised (data key 0),
MLP 2-32-32-1 tanh, mean binary cross-entropy, full-batch heavy-ball momentum 0.9
(``v <- beta v + g; w <- w - lr v``, optax's ``sgd(lr, momentum=0.9)``, no Nesterov),
lr 0.1, 500 epochs, N restarts. Init (jaxnn's default for tanh, and every peer's
here): Glorot-normal weights, i.e. ``jax.nn.initializers.glorot_normal()``, a
normal truncated at +-2 std with std ``sqrt(2 / (fan_in + fan_out)) / 0.8796``
(so the variance is ``2 / (fan_in + fan_out)``), and zero biases, each restart
from its own seed. Work per epoch: one full-batch update. The final loss
of a restart is the mean BCE of its final params on the whole training set.

W2, one model with mini-batches: scikit-learn's digits scaled to [0, 1] (80/20
split, split key 2), MLP 64-128-10 relu, softmax cross-entropy, dropout 0.2 on the
hidden layer (inverted: kept units scaled by 1/0.8; off at test time), L2 penalty
``1e-4 * sum w^2`` over weights (not biases; no factor 1/2) added to each batch's
mean loss, batch 32 reshuffled every epoch (the last batch of 1438 = 44 * 32 + 30
is partial, not dropped), heavy-ball momentum 0.9, lr ``0.05 * 0.95^e`` in epoch e
(e = 0, 1, ...), 20 epochs. Init (jaxnn's default for relu, and every
peer's here): He-normal weights, ``jax.nn.initializers.he_normal()``, the same
truncated normal with variance ``2 / fan_in``, and zero biases. Reported: examples per
second (20 x 1438 / wall seconds), wall time, test accuracy.

W3, scale: the largest N of W1's study each peer trains (fresh process, warm-up
included) within 60 seconds and 8 GiB of memory.

The data file (``.npz``) holds ``w1_x`` (1024, 2) float32, ``w1_y`` (1024,)
float32 in {0, 1}, ``w2_x_train`` (1438, 64), ``w2_y_train`` (1438,) int64,
``w2_x_test`` (359, 64), ``w2_y_test`` (359,) int64.
"""

from __future__ import annotations

import itertools

import numpy as np

W1_SIZES = (2, 32, 32, 1)
W1_ACTIVATION = "tanh"
W1_LR = 0.1
W1_MOMENTUM = 0.9
W1_EPOCHS = 500
W1_N_POINTS = 1024
W1_NS = (1, 16, 128)

W2_SIZES = (64, 128, 10)
W2_ACTIVATION = "relu"
W2_DROPOUT = 0.2
W2_L2 = 1e-4
W2_BATCH = 32
W2_LR = 0.05
W2_DECAY = 0.95  # per epoch
W2_MOMENTUM = 0.9
W2_EPOCHS = 20

W3_SECONDS = 60.0
W3_BYTES = 8 * 2**30


W1_SEED = 1


def w1_restart_keys(n: int):
    """JAX peers' restart keys: restart i trains from ``fold_in(key(W1_SEED), i)``
    (what ``jaxnn.restarts(jax.random.key(W1_SEED), ...)`` uses)."""
    import jax
    import jax.numpy as jnp

    key = jax.random.key(W1_SEED)
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(n))


def w1_flops_per_restart_epoch(n_points: int) -> int:
    """``6 n W``: forward 2nW and backward 4nW multiply-adds x2 (W = weights)."""
    weights = sum(a * b for a, b in itertools.pairwise(W1_SIZES))
    return 6 * n_points * weights


def write_data(path: str, *, w1_points: int = W1_N_POINTS) -> None:
    """Make both workloads' data with jaxnn's generators and save them as NumPy."""
    import jax

    import jaxnn

    x, y = jaxnn.data.make_moons(jax.random.key(0), w1_points, noise=0.2)
    xd, yd = jaxnn.data.load_digits()
    split = jaxnn.data.train_val_test_split(jax.random.key(2), xd, yd, val=0.0, test=0.2)
    np.savez(
        path,
        w1_x=np.asarray(jaxnn.data.standardize(x), np.float32),
        w1_y=np.asarray(y, np.float32),
        w2_x_train=np.asarray(split.train[0], np.float32),
        w2_y_train=np.asarray(split.train[1], np.int64),
        w2_x_test=np.asarray(split.test[0], np.float32),
        w2_y_test=np.asarray(split.test[1], np.int64),
    )


def load_data(path: str) -> dict[str, np.ndarray]:
    """The arrays of :func:`write_data`, as a dict of NumPy arrays."""
    with np.load(path) as f:
        return {k: f[k] for k in f.files}

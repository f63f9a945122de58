"""The L1 proximal step: soft-thresholding after each update (lesson 10).

Adding ``l1 * sum |w|`` to the objective (:func:`jaxnn.l1_penalty`) adds
``l1 * sign(w)`` to the gradient. Gradient descent then makes small weights
oscillate around zero rather than settle on it: the course's "L1 drives weights to
zero" holds only approximately. The proximal step makes it exact: after each
gradient update ``w' = w + u``, every weight is shrunk toward zero by the step's
share of the penalty and clipped at zero,

    w <- sign(w') * max(|w'| - lr_t * l1, 0),

which is the minimiser of ``l1 |w| + |w - w'|^2 / (2 lr_t)`` (ISTA; Beck & Teboulle,
2009). Use the penalty when you want the course's objective and its gradient; use
the proximal step when you want exact zeros (sparse models, feature selection).
Only weight leaves (keyed ``"w"``) are thresholded; biases are left alone.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxnn._typing import ArrayLike
from jaxnn.penalties import _key_name


class L1ProximalState(NamedTuple):
    """The update count, to evaluate a learning-rate schedule."""

    count: jax.Array


def soft_threshold(w: ArrayLike, threshold: ArrayLike) -> jax.Array:
    """``sign(w) * max(|w| - threshold, 0)``, elementwise.

    >>> soft_threshold(jnp.array([-2.0, 0.5, 3.0]), 1.0)
    Array([-1.,  0.,  2.], dtype=float32)
    """
    w = jnp.asarray(w)
    t = jnp.asarray(threshold, w.dtype)
    return jnp.sign(w) * jnp.maximum(jnp.abs(w) - t, jnp.zeros_like(w))


def l1_proximal(
    l1: ArrayLike, learning_rate: ArrayLike | optax.Schedule
) -> optax.GradientTransformation:
    """An optax transformation that soft-thresholds weight leaves after an update.

    Chain it after the optimiser: ``optax.chain(opt, l1_proximal(l1, lr))``. It turns
    the incoming update ``u`` into ``prox(w + u) - w``, so applying it gives the
    thresholded weights. ``l1`` and the learning rate may be traced.

    Args:
      l1: the penalty strength lambda >= 0.
      learning_rate: the optimiser's rate (a scalar or an optax schedule of the
        update count), so the threshold is ``lr_t * l1``.

    Returns:
      An ``optax.GradientTransformation`` whose ``update`` needs ``params``.
    """
    schedule = learning_rate if callable(learning_rate) else (lambda _: learning_rate)

    def init_fn(params):
        del params
        return L1ProximalState(count=jnp.zeros((), jnp.int32))

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("l1_proximal needs params: call update(updates, state, params).")
        threshold = schedule(state.count) * l1

        def prox(path, u, w):
            if path and _key_name(path[-1]) == "w":
                return soft_threshold(w + u, threshold) - w
            return u

        updates = jax.tree_util.tree_map_with_path(prox, updates, params)
        return updates, L1ProximalState(count=optax.safe_increment(state.count))

    return optax.GradientTransformation(init_fn, update_fn)

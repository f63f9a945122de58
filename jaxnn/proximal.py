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

With momentum, the momentum must act on the steps actually taken, thresholding
included (iPiano; Ochs, Chen, Brox & Pock, 2014):

    w <- prox(w - lr_t g + beta (w - w_prev)).

Thresholding after heavy-ball momentum on the gradients alone would let the
velocity of a weight held at zero grow to ``g / (1 - beta)``, and the iteration
would settle on the minimiser for ``(1 - beta) * l1`` instead of ``l1``. So for
momentum pass ``momentum=beta`` here and chain after plain gradient descent.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn import _validation as v
from jaxnn._typing import ArrayLike
from jaxnn._validation import check_numeric, check_scalar
from jaxnn.optim import check_learning_rate
from jaxnn.penalties import path_key_name


class L1ProximalState(NamedTuple):
    """The update count (for a learning-rate schedule) and the last step taken."""

    count: jax.Array
    step: optax.Updates


def soft_threshold(w: ArrayLike, threshold: ArrayLike) -> jax.Array:
    """``sign(w) * max(|w| - threshold, 0)``, elementwise.

    >>> soft_threshold(jnp.array([-2.0, 0.5, 3.0]), 1.0)
    Array([-1.,  0.,  2.], dtype=float32)
    """
    check_numeric("soft_threshold: w", w)
    check_numeric("soft_threshold: threshold", threshold)
    try:
        fits = np.broadcast_shapes(np.shape(threshold), np.shape(w)) == np.shape(w)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"soft_threshold: threshold must broadcast to w's shape {np.shape(w)} (a "
            f"scalar, w's shape, or e.g. one value per column), got shape "
            f"{np.shape(threshold)}."
        )
    t_c = v.concrete(threshold)
    if t_c is not None and not (np.all(t_c >= 0) and np.all(np.isfinite(t_c))):
        raise ValueError(f"soft_threshold: threshold must be finite and >= 0, got {t_c}.")
    w = jnp.asarray(w)
    t = jnp.broadcast_to(jnp.asarray(threshold, w.dtype), w.shape)  # explicit: no rank promotion
    return jnp.sign(w) * jnp.maximum(jnp.abs(w) - t, jnp.zeros_like(w))


def l1_proximal(
    l1: ArrayLike, learning_rate: ArrayLike | optax.Schedule, *, momentum: ArrayLike = 0.0
) -> optax.GradientTransformation:
    """An optax transformation that soft-thresholds weight leaves after an update.

    Chain it after the optimiser: ``optax.chain(opt, l1_proximal(l1, lr))``. It turns
    the incoming update ``u`` into ``prox(w + u + beta d) - w``, where ``d`` is the
    step it returned last time, so applying it gives the thresholded weights. For
    heavy-ball momentum chain it after :func:`jaxnn.gradient_descent` (``u = -lr g``)
    and pass ``momentum=beta``: this is proximal heavy ball (iPiano), which converges
    to the minimiser of ``loss + l1 * sum|w|``, where thresholding after
    :func:`jaxnn.heavy_ball` would not (see the module doc). ``l1``, ``momentum``
    and the learning rate may be traced.

    Args:
      l1: the penalty strength lambda >= 0.
      learning_rate: the optimiser's rate (a scalar or an optax schedule of the
        update count), so the threshold is ``lr_t * l1``.
      momentum: beta in [0, 1) applied to the previous step (biases included);
        0 is plain proximal gradient descent (ISTA).

    Returns:
      An ``optax.GradientTransformation`` whose ``update`` needs ``params``.

    >>> opt = optax.chain(optax.sgd(1.0), l1_proximal(0.5, 1.0))
    >>> params = {"w": jnp.array([1.0, 0.2]), "b": jnp.array([0.2])}
    >>> grads = {"w": jnp.array([-0.5, 0.1]), "b": jnp.array([0.1])}
    >>> updates, _ = opt.update(grads, opt.init(params), params)
    >>> optax.apply_updates(params, updates)
    {'b': Array([0.1], dtype=float32), 'w': Array([1., 0.], dtype=float32)}
    """
    check_scalar("l1_proximal: l1", l1, 0.0)
    check_learning_rate("l1_proximal: learning_rate", learning_rate)
    check_scalar("l1_proximal: momentum", momentum, 0.0, 1.0, high_open=True)
    schedule = learning_rate if callable(learning_rate) else (lambda _: learning_rate)
    has_momentum = not (isinstance(momentum, int | float) and momentum == 0)

    def init_fn(params):
        return L1ProximalState(
            count=jnp.zeros((), jnp.int32), step=jax.tree.map(jnp.zeros_like, params)
        )

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("l1_proximal needs params: call update(updates, state, params).")
        if not isinstance(state, L1ProximalState):
            raise TypeError(
                "l1_proximal: state must be the L1ProximalState its init returned, got "
                f"{type(state).__name__}."
            )
        threshold = schedule(state.count) * l1

        def prox(path, u, d, w):
            if has_momentum:
                u = u + jnp.asarray(momentum, u.dtype) * d
            if path and path_key_name(path[-1]) == "w":
                return soft_threshold(w + u, threshold) - w
            return u

        updates = jax.tree_util.tree_map_with_path(prox, updates, state.step, params)
        return updates, L1ProximalState(count=optax.safe_increment(state.count), step=updates)

    return optax.GradientTransformation(init_fn, update_fn)

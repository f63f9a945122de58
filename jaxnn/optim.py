"""Optimisers as optax ``GradientTransformation``s (lessons 6, 15 and 16).

jaxnn builds on optax rather than beside it: every optimiser here is an optax
transformation, and any other optax optimiser can be passed to :func:`jaxnn.fit`.

Heavy-ball momentum is the course's ``step(n) <- step(n) + beta step(n-1) + beta^2
step(n-2) + ...``: with ``v_n = g_n + beta v_{n-1}`` (``optax.trace``) the update is
``-lr v_n = -lr (g_n + beta g_{n-1} + beta^2 g_{n-2} + ...)``, the course's sum of
past steps when the learning rate is constant. Under a decaying schedule the whole
accumulated velocity is scaled by the *current* rate (optax's convention).

L2 in the objective versus decoupled weight decay: adding ``l2 * sum w^2`` to the
loss adds ``2 l2 w`` to the gradient, which then passes through momentum (and, for
adaptive optimisers such as Adam, through the per-parameter scaling). Decoupled
weight decay (``optax.add_decayed_weights``, AdamW) shrinks ``w`` directly at each
step, outside the optimiser's statistics. For plain gradient descent the two
coincide (``weight_decay = 2 l2``); with momentum or Adam they differ, and the
course's regularised objective is the former, which is what jaxnn's ``l2`` means.
"""

from __future__ import annotations

import math

import optax

from jaxnn._typing import ArrayLike
from jaxnn._validation import check_scalar


def check_learning_rate(name: str, learning_rate: ArrayLike | optax.Schedule) -> None:
    """A schedule (any callable), or a scalar > 0 checked by :func:`check_scalar`."""
    if not callable(learning_rate):
        check_scalar(name, learning_rate, 0.0, math.inf, low_open=True)


def gradient_descent(learning_rate: ArrayLike | optax.Schedule) -> optax.GradientTransformation:
    """Plain gradient descent, ``w <- w - lr * g`` (``optax.sgd`` without momentum).

    ``learning_rate`` is a scalar > 0 (traceable) or an optax schedule.
    """
    check_learning_rate("gradient_descent: learning_rate", learning_rate)
    return optax.scale_by_learning_rate(learning_rate)


def heavy_ball(
    learning_rate: ArrayLike | optax.Schedule, beta: ArrayLike
) -> optax.GradientTransformation:
    """Heavy-ball momentum: ``v <- g + beta v``, ``w <- w - lr v``.

    ``beta`` in [0, 1) may be traced (swept with ``jax.vmap``); ``beta = 0`` is plain
    gradient descent. Same as ``optax.sgd(learning_rate, momentum=beta)``.
    """
    check_learning_rate("heavy_ball: learning_rate", learning_rate)
    check_scalar("heavy_ball: beta", beta, 0.0, 1.0, high_open=True)
    return optax.chain(optax.trace(decay=beta), optax.scale_by_learning_rate(learning_rate))

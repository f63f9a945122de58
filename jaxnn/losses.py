"""Cross-entropy losses from logits (lessons 5 and 6).

Both losses take logits, not probabilities, and work in log space (log-sigmoid,
log-softmax via logsumexp), so they and their gradients stay finite and correct for
logits as large as 1e4 in magnitude, where ``log(sigmoid(z))`` would give ``-inf``.
Both return the mean over the example axis.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import _validation as v
from jaxnn._typing import Array, ArrayLike
from jaxnn.activations import class_ids


def as_float(x: ArrayLike) -> Array:
    """Logits as a float array: their own float dtype, float32 for bool and integers."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def binary_cross_entropy(logits: ArrayLike, labels: ArrayLike) -> Array:
    """Mean binary cross-entropy of 0/1 labels under ``sigmoid(logits)``.

    ``CE = -(1/n) sum_i [y_i ln s_i + (1 - y_i) ln(1 - s_i)]``, ``s_i = sigmoid(z_i)``,
    computed as ``-(y log_sigmoid(z) + (1 - y) log_sigmoid(-z))``. Its gradient with
    respect to ``z_i`` is ``(s_i - y_i) / n``: the course's ``-(y - y_hat)``.

    Args:
      logits: z, shape (n,) or (n, 1).
      labels: y, shape (n,) or (n, 1), 0/1 (probabilities in [0, 1] also work), of
        a bool, integer (any width) or float dtype. A (n,) with (n, 1) pair is
        accepted: both are flattened to (n,).

    Returns:
      A scalar; NaN under ``jit`` (where label values are not checked) if a label
      lies outside [0, 1], rather than a plausible finite number.

    Raises:
      ValueError: if the shapes are not (n,)/(n, 1) with the same n, if n is 0, or if
        concrete labels fall outside [0, 1] or hold NaN.
      TypeError: for labels of any other dtype (complex, say).

    >>> binary_cross_entropy(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
    Array(0.6931472, dtype=float32)
    """
    z_shape, y_shape = np.shape(logits), np.shape(labels)
    ok = lambda s: len(s) == 1 or (len(s) == 2 and s[1] == 1)
    if not (ok(z_shape) and ok(y_shape) and z_shape[0] == y_shape[0]):
        raise ValueError(
            "binary_cross_entropy: logits and labels must both have shape (n,) or (n, 1) "
            f"with the same n; got logits {z_shape} and labels {y_shape}."
        )
    if z_shape[0] == 0:
        raise ValueError("binary_cross_entropy: got 0 examples; the mean is undefined.")
    v.check_binary_labels("binary_cross_entropy: labels", labels)
    z = as_float(logits).reshape(-1)
    losses = binary_losses(z, jnp.asarray(labels).reshape(-1))
    # Each loss is at most |z|, but their sum can overflow float32 for logits near its
    # limit; dividing by n before summing keeps the mean finite for any finite logits.
    return jnp.sum(losses / z.shape[0])


def cross_entropy(logits: ArrayLike, labels: ArrayLike) -> Array:
    """Mean multi-class cross-entropy under ``softmax(logits)``.

    ``CE = -(1/n) sum_i sum_j y_ij ln p_ij`` with ``p_i = softmax(z_i)`` and
    ``ln p_ij = (z_ij - m_i) - ln sum_j exp(z_ij - m_i)``, ``m_i = max_j z_ij``
    (``jax.nn.log_softmax``: subtracting the max first keeps float32's precision at
    large logits, where ``z - logsumexp(z)`` rounds to the spacing at ``max|z|``),
    and ``0 ln 0 = 0`` (:func:`times_log`). Its gradient with respect to ``z_i`` is
    ``(p_i - y_i) / n``.

    Args:
      logits: z, shape (n, k).
      labels: either class ids of shape (n,) in [0, k), of any integer dtype (all
        widths give the same result), or probabilities (one-hot or soft) of shape
        (n, k), each row non-negative and summing to 1.

    Returns:
      A scalar; NaN under ``jit`` (where ids are not checked) if an id lies outside
      [0, k), rather than a plausible finite number.

    Raises:
      ValueError: on mismatched shapes, n = 0, concrete ids outside [0, k), or
        concrete probability rows that are negative or do not sum to 1.
      TypeError: for (n,) labels that are not integers: bool, or float even when
        whole (1.0); cast them with ``.astype(jnp.int32)``.

    >>> cross_entropy(jnp.array([[0.0, 0.0], [0.0, 0.0]]), jnp.array([0, 1]))
    Array(0.6931472, dtype=float32)
    """
    z_shape, y_shape = np.shape(logits), np.shape(labels)
    if len(z_shape) != 2:
        raise ValueError(f"cross_entropy: logits must have shape (n, k), got {z_shape}.")
    n, k = z_shape
    if y_shape not in ((n,), (n, k)):
        raise ValueError(
            f"cross_entropy: labels must have shape (n,) of class ids or (n, k) of "
            f"probabilities matching logits (n, k) = {z_shape}; got labels {y_shape}."
        )
    if n == 0:
        raise ValueError("cross_entropy: got 0 examples; the mean is undefined.")
    z = as_float(logits)
    log_p = jax.nn.log_softmax(z, axis=-1)
    if y_shape == (n,):
        v.check_class_ids("cross_entropy: labels", labels, k)
        return jnp.mean(id_losses(log_p, labels))
    _check_probabilities(labels)
    y = jnp.asarray(labels).astype(z.dtype)
    return -jnp.mean(jnp.sum(times_log(y, log_p), axis=-1))


def binary_losses(z: Array, labels: Array) -> Array:
    """Per-example binary cross-entropy (n,) of float logits ``z`` (n,) and labels (n,).

    ``-(y log_sigmoid(z) + (1 - y) log_sigmoid(-z))`` with ``y`` the labels (bool,
    any integer or float dtype) as ``z``'s dtype; NaN where ``y`` is outside [0, 1],
    so that under ``jit``, where values are not checked, an invalid label never
    yields a plausible finite loss. No other checks: the inner-loop form.
    """
    y = labels.astype(z.dtype)
    losses = -(times_log(y, jax.nn.log_sigmoid(z)) + times_log(1 - y, jax.nn.log_sigmoid(-z)))
    return jnp.where((y >= 0) & (y <= 1), losses, jnp.nan)


def id_losses(log_p: Array, labels: Array) -> Array:
    """Per-example cross-entropy ``-log_p[i, labels_i]`` (n,) of log-probabilities (n, k).

    ``labels`` are class ids (n,) of any integer dtype. An id outside [0, k) gives
    NaN: ``jnp.take_along_axis`` alone would wrap a negative id to a real class (-1
    to the last) and fill an id >= k with NaN, and a narrow dtype could wrap on a
    cast; the ids are range-checked in their own dtype (:func:`jaxnn.activations.
    class_ids`) and gathered only where valid. No other checks: the inner-loop form.
    """
    ids, valid = class_ids(labels, log_p.shape[-1])
    picked = jnp.take_along_axis(log_p, ids[:, None], axis=-1)[:, 0]
    return jnp.where(valid, -picked, jnp.nan)


def times_log(weight: ArrayLike, log_p: ArrayLike) -> Array:
    """``weight * log_p``, with 0 wherever ``weight == 0`` (the convention 0 log 0 = 0).

    A certain, correct prediction has ``log_p = -inf`` on the classes it rules out,
    where the labels are 0: the plain product would be ``0 * -inf = NaN``. The
    gradients stay finite there too (the inner ``where`` keeps ``-inf`` out of the
    product's derivative). Same convention as ``jax.scipy.special.xlogy``, for
    arguments already in log space.

    >>> times_log(jnp.array([0.0, 0.5]), jnp.array([-jnp.inf, -2.0]))
    Array([ 0., -1.], dtype=float32)
    """
    weight, log_p = jnp.asarray(weight), jnp.asarray(log_p)
    nonzero = weight != 0
    return jnp.where(nonzero, weight * jnp.where(nonzero, log_p, 0), 0)


def _check_probabilities(labels: ArrayLike) -> None:
    y = v.concrete(labels)
    if y is None or y.size == 0:
        return
    y = y.astype(np.float64)
    if not np.isfinite(y).all() or (y < 0).any():
        raise ValueError("cross_entropy: probability labels must be finite and non-negative.")
    sums = y.sum(axis=-1)
    worst = int(np.argmax(np.abs(sums - 1)))
    if abs(sums[worst] - 1) > 1e-3:
        raise ValueError(
            "cross_entropy: each row of (n, k) labels must sum to 1 (one-hot or "
            f"probabilities); row {worst} sums to {sums[worst]:.6g}. Pass integer class "
            "ids of shape (n,) for hard labels."
        )

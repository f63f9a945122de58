"""Activations and encodings (lessons 1, 4 and 13).

Each activation is elementwise and finite for every finite input. The course's
derivatives are given in closed form beside them (``sigmoid_derivative`` is
``s(x) (1 - s(x))`` and so on); the tests check them against ``jax.grad``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import _validation as v
from jaxnn._typing import Array, ArrayLike


def _float(x: ArrayLike, name: str) -> Array:
    """``x`` as a float array (float32 for bool and integers); ``TypeError`` naming
    ``name`` for anything that is not an array of real numbers (static, so under
    ``jit`` too)."""
    v.check_numeric(name, x)
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def step(x: ArrayLike) -> Array:
    """Heaviside step, the perceptron's activation: 1.0 where ``x >= 0``, else 0.0.

    A score of exactly 0 counts as positive, as in the course's prediction rule
    ``y_hat = 1 if w·x + b >= 0``. Its gradient is zero everywhere it exists.

    Args:
      x: scores, any shape.

    Returns:
      Array of ``x``'s shape (float32 for integer input) holding 0.0 and 1.0.

    >>> step(jnp.array([-1.0, 0.0, 2.0]))
    Array([0., 1., 1.], dtype=float32)
    """
    x = _float(x, "step: x")
    return jnp.where(x >= 0, jnp.ones_like(x), jnp.zeros_like(x))


def sigmoid(x: ArrayLike) -> Array:
    """Logistic sigmoid ``s(x) = 1 / (1 + e^-x)``; ``s(0) = 0.5``.

    Computed without overflow for any finite ``x`` (``jax.nn.sigmoid``).

    >>> sigmoid(jnp.array([0.0, 1e4, -1e4]))
    Array([0.5, 1. , 0. ], dtype=float32)
    """
    return jax.nn.sigmoid(_float(x, "sigmoid: x"))


def tanh(x: ArrayLike) -> Array:
    """Hyperbolic tangent ``(e^x - e^-x) / (e^x + e^-x)``, in (-1, 1).

    >>> tanh(jnp.array([0.0, 1e4]))
    Array([0., 1.], dtype=float32)
    """
    return jnp.tanh(_float(x, "tanh: x"))


def relu(x: ArrayLike) -> Array:
    """Rectified linear unit ``max(0, x)``; its gradient at 0 is taken as 0.

    >>> relu(jnp.array([-2.0, 0.0, 3.0]))
    Array([0., 0., 3.], dtype=float32)
    """
    return jax.nn.relu(_float(x, "relu: x"))


def sigmoid_derivative(x: ArrayLike) -> Array:
    """The course's ``s'(x) = s(x) (1 - s(x))``; at most 0.25, at ``x = 0``."""
    s = jax.nn.sigmoid(_float(x, "sigmoid_derivative: x"))
    return s * (1 - s)


def tanh_derivative(x: ArrayLike) -> Array:
    """``tanh'(x) = 1 - tanh(x)^2``; at most 1, at ``x = 0``."""
    t = jnp.tanh(_float(x, "tanh_derivative: x"))
    return 1 - t * t


def relu_derivative(x: ArrayLike) -> Array:
    """``relu'(x)`` = 1 for ``x > 0``, else 0 (matching ``jax.grad(relu)`` at 0)."""
    x = _float(x, "relu_derivative: x")
    return jnp.where(x > 0, jnp.ones_like(x), jnp.zeros_like(x))


def softmax(logits: ArrayLike, axis: int = -1) -> Array:
    """Softmax ``P(i) = e^{z_i} / sum_j e^{z_j}`` along ``axis``.

    The maximum along ``axis`` is subtracted first, so logits as large as 1e4 neither
    overflow nor produce NaN. With two classes, ``softmax([z1, z2])[0]`` equals
    ``sigmoid(z1 - z2)``.

    Args:
      logits: scores, any shape with at least one axis.
      axis: the class axis (an int; a tuple of ints or ``None`` normalise over
        several or all axes, as ``jax.nn.softmax``).

    Returns:
      Probabilities of ``logits``'s shape, non-negative and summing to 1 along ``axis``.

    >>> softmax(jnp.array([1e4, 1e4, -1e4]))
    Array([0.5, 0.5, 0. ], dtype=float32)
    """
    z = _float(logits, "softmax: logits")
    if z.ndim == 0:
        raise ValueError("softmax: logits must have at least one axis, got a scalar.")
    axes = () if axis is None else axis if isinstance(axis, tuple) else (axis,)
    for a in axes:  # ints, NumPy ints, a tuple of them, or None (all axes), as jax.nn
        if isinstance(a, bool) or not isinstance(a, int | np.integer) or not -z.ndim <= a < z.ndim:
            raise ValueError(
                f"softmax: axis must be an int in [-{z.ndim}, {z.ndim}) (or a tuple of them) "
                f"for logits of shape {z.shape}, got {axis!r}."
            )
    z = z - jax.lax.stop_gradient(jnp.max(z, axis=axis, keepdims=True))
    e = jnp.exp(z)
    return e / jnp.sum(e, axis=axis, keepdims=True)


def one_hot(labels: ArrayLike, num_classes: int) -> Array:
    """One-hot encoding: ``out[..., j] = 1.0 if labels[...] == j else 0.0``.

    Labels of any integer dtype give the same result: the ids are compared as the
    numbers they are (a uint8 5 with 300 classes has one 1, at 5). Under ``jit``,
    where values are not checked, an id outside ``[0, num_classes)`` gives a row of
    zeros.

    Args:
      labels: integer class ids (any signed or unsigned width) in
        ``[0, num_classes)``, any shape.
      num_classes: k, a Python int >= 1.

    Returns:
      float32 array of shape ``labels.shape + (num_classes,)``.

    Raises:
      TypeError: if ``labels`` are not integers (bool and float, whole numbers
        included, are refused).
      ValueError: if concrete ``labels`` fall outside ``[0, num_classes)``.

    >>> one_hot(jnp.array([0, 2]), 3)
    Array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    k = v.check_static_int("num_classes", num_classes, 1)
    v.check_class_ids("one_hot: labels", labels, k)
    ids, valid = class_ids(labels, k)
    classes = jnp.arange(k, dtype=ids.dtype).reshape((1,) * ids.ndim + (k,))
    return ((ids[..., None] == classes) & valid[..., None]).astype(jnp.float32)


def class_ids(labels: ArrayLike, num_classes: int) -> tuple[Array, Array]:
    """Integer class ids as safe int32 indices, and which of them are valid.

    ``valid = 0 <= labels < num_classes`` is computed in the labels' own dtype, with
    a bound left out where the dtype cannot cross it (no cast, hence no wrap-around
    for narrow or unsigned dtypes). Traceable and cheap: the inner loop uses it to
    turn an invalid id into NaN rather than into a plausible number.

    Args:
      labels: integer class ids, any shape and integer dtype (not checked here;
        see ``_validation.check_class_ids``).
      num_classes: k, a Python int in ``[1, 2**31 - 1]``.

    Returns:
      ``(ids, valid)``, both of ``labels``'s shape: ``ids`` int32, equal to
      ``labels`` where valid and 0 elsewhere (so a gather stays in bounds), and
      ``valid`` bool.
    """
    labels = jnp.asarray(labels)
    info = jnp.iinfo(labels.dtype)
    valid = jnp.ones(labels.shape, bool) if info.min == 0 else labels >= 0
    if num_classes <= info.max:  # otherwise every value of the dtype is below k
        valid = valid & (labels < jnp.asarray(num_classes, labels.dtype))
    ids = jnp.where(valid, labels, jnp.zeros((), labels.dtype)).astype(jnp.int32)
    return ids, valid


ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
}
"""The hidden-layer activations an MLP may name."""

DERIVATIVES: dict[str, Callable[[Array], Array]] = {
    "sigmoid": sigmoid_derivative,
    "tanh": tanh_derivative,
    "relu": relu_derivative,
}
"""Closed-form derivatives of :data:`ACTIVATIONS`, keyed by the same names."""


def get_activation(name: str) -> Callable[[Array], Array]:
    """The activation called ``name`` (one of :data:`ACTIVATIONS`).

    Raises:
      ValueError: naming the unknown activation and the valid ones.
    """
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}."
        ) from None

"""Perceptrons, logic gates and the perceptron trick (lessons 1, 2, 3 and 7).

A perceptron is ``{"w": (d,), "b": ()}`` scoring ``w·x + b`` and predicting
``step(score)``: 1 where the score is >= 0, else 0.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import _validation as v
from jaxnn._typing import Array, ArrayLike, Layer, PRNGKey
from jaxnn._validation import check_key, check_numeric
from jaxnn.activations import step


def _check_perceptron(fn: str, params: Layer, x: ArrayLike) -> None:
    """``params`` a ``{"w": (d,), "b": ()}`` mapping and ``x`` real inputs (..., d)."""
    if not hasattr(params, "keys") or set(params.keys()) != {"w", "b"}:
        got = sorted(params.keys()) if hasattr(params, "keys") else type(params).__name__
        raise ValueError(f"{fn}: params must be {{'w': (d,), 'b': ()}}, got {got}.")
    w_shape, b_shape = np.shape(params["w"]), np.shape(params["b"])
    if len(w_shape) != 1 or b_shape != ():
        raise ValueError(
            f"{fn}: params must be {{'w': (d,), 'b': ()}}, got w {w_shape} and b {b_shape}."
        )
    check_numeric(f"{fn}: x", x)
    if np.shape(x)[-1:] != w_shape:
        raise ValueError(
            f"{fn}: x must have shape (n, {w_shape[0]}) to match w {w_shape}, got {np.shape(x)}."
        )


def perceptron_score(params: Layer, x: ArrayLike) -> Array:
    """The affine score ``w·x + b``: shape (n,) for ``x`` of shape (n, d)."""
    _check_perceptron("perceptron_score", params, x)
    return jnp.asarray(x) @ params["w"] + params["b"]


def perceptron_predict(params: Layer, x: ArrayLike) -> Array:
    """``step(w·x + b)``: 0/1 float predictions of shape (n,) for ``x`` of shape (n, d)."""
    _check_perceptron("perceptron_predict", params, x)
    return step(perceptron_score(params, x))


# Weights of the single-perceptron gates, chosen so that the line w·x + b = 0 sits
# half-way between the corners it separates (a margin of 0.5 on every input).
GATE_PARAMS: dict[str, dict[str, tuple[float, ...] | float]] = {
    "and": {"w": (1.0, 1.0), "b": -1.5},  # fires only at (1, 1): 2 - 1.5 > 0
    "or": {"w": (1.0, 1.0), "b": -0.5},  # fires unless (0, 0)
    "nand": {"w": (-1.0, -1.0), "b": 1.5},  # NOT AND: the AND line, flipped
    "not": {"w": (-1.0,), "b": 0.5},  # one input: fires at 0
}
"""Documented weights of the single-perceptron gates; "xor" is AND(OR, NAND)."""

GATES = ("and", "or", "not", "nand", "xor")


def _gate_params(name: str) -> Layer:
    p = GATE_PARAMS[name]
    return {"w": jnp.asarray(p["w"], jnp.float32), "b": jnp.asarray(p["b"], jnp.float32)}


def gate(name: str) -> Callable[[ArrayLike], Array]:
    """A logic gate built from perceptrons.

    "and", "or", "nand" and "not" are single perceptrons with the weights in
    :data:`GATE_PARAMS`. "xor" is two layers: a hidden layer of OR and NAND
    perceptrons, and an AND perceptron on their outputs, ``XOR = AND(OR, NAND)``
    (no single perceptron computes it: XOR is not linearly separable).

    Args:
      name: one of "and", "or", "not", "nand", "xor" (case-insensitive).

    Returns:
      A function mapping 0/1 inputs of shape (n, 2) ((n, 1) for "not") to 0/1 float32
      outputs of shape (n,).

    >>> x = jnp.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> gate("xor")(x)
    Array([0., 1., 1., 0.], dtype=float32)
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in GATES:
        raise ValueError(f"unknown gate {name!r}; expected one of {list(GATES)}.")
    arity = 1 if key == "not" else 2

    def apply(x: ArrayLike) -> Array:
        check_numeric(f"gate {key!r}: x", x)
        shape = np.shape(x)
        if len(shape) != 2 or shape[1] != arity:
            raise ValueError(f"gate {key!r}: x must have shape (n, {arity}), got shape {shape}.")
        xv = v.concrete(x)
        if xv is not None and not np.isin(xv, (0, 1)).all():
            raise ValueError(f"gate {key!r} takes 0/1 inputs, got other values.")
        x = jnp.asarray(x, jnp.float32)
        if key != "xor":
            return perceptron_predict(_gate_params(key), x)
        layer1 = [perceptron_predict(_gate_params(g), x) for g in ("or", "nand")]
        hidden = jnp.stack(layer1, axis=-1)
        return perceptron_predict(_gate_params("and"), hidden)

    apply.__name__ = f"{key}_gate"
    apply.__doc__ = f"The {key.upper()} gate: 0/1 inputs (n, {arity}) -> 0/1 outputs (n,)."
    return apply


class PerceptronHistory(NamedTuple):
    """Per-epoch record of a perceptron fit; index 0 is the initial line.

    Attributes:
      w: (epochs + 1, d) weights after each epoch.
      b: (epochs + 1,) biases after each epoch.
      accuracy: (epochs + 1,) training accuracy of those params.
      updates: (epochs,) number of misclassified points (updates made) in each epoch.
    """

    w: Array
    b: Array
    accuracy: Array
    updates: Array


def perceptron_fit(
    x: ArrayLike,
    y: ArrayLike,
    *,
    learning_rate: ArrayLike,
    epochs: int,
    key: PRNGKey,
    init: Layer | None = None,
) -> tuple[Layer, PerceptronHistory]:
    """The perceptron trick, one point at a time, compiled as one program.

    Each epoch visits the points in an order shuffled by ``fold_in(key, epoch)``; for
    a misclassified point with learning rate a:

    - label 1 predicted 0 (false negative): ``w <- w + a x``, ``b <- b + a``;
    - label 0 predicted 1 (false positive): ``w <- w - a x``, ``b <- b - a``.

    That is ``w <- w + a (y - y_hat) x``, ``b <- b + a (y - y_hat)``. Epochs and points
    run in nested ``lax.scan``; ``epochs`` is static (one compilation per value),
    ``learning_rate`` is traceable. On linearly separable data the trick reaches 100%
    accuracy after finitely many updates (Novikoff's theorem).

    Args:
      x: (n, d) float inputs, finite.
      y: (n,) labels, 0/1.
      learning_rate: a > 0.
      epochs: number of passes over the data, a Python int >= 1.
      key: PRNG key for the visiting order.
      init: starting params ``{"w": (d,), "b": ()}``; zeros if omitted.

    Returns:
      ``(params, history)``: the final ``{"w": (d,), "b": ()}`` and a
      :class:`PerceptronHistory` with the line after every epoch.

    >>> x = jnp.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> params, hist = perceptron_fit(x, jnp.array([0, 0, 0, 1]), learning_rate=0.1,
    ...                               epochs=20, key=jax.random.key(0))
    >>> perceptron_predict(params, x)
    Array([0., 0., 0., 1.], dtype=float32)
    """
    epochs = v.check_static_int("perceptron_fit: epochs", epochs, 1)
    check_key(key, "perceptron_fit: key")
    check_numeric("perceptron_fit: x", x)
    check_numeric("perceptron_fit: y", y)
    x_shape, y_shape = np.shape(x), np.shape(y)
    if len(x_shape) != 2 or x_shape[0] == 0:
        raise ValueError(f"perceptron_fit: x must have shape (n, d) with n >= 1, got {x_shape}.")
    if y_shape != (x_shape[0],):
        raise ValueError(
            f"perceptron_fit: y must have shape (n,) = ({x_shape[0]},) to match x {x_shape}, "
            f"got {y_shape}."
        )
    v.check_finite("perceptron_fit: x", x)
    yv = v.concrete(y)
    if yv is not None and not np.isin(yv, (0, 1)).all():
        raise ValueError("perceptron_fit: y must hold 0/1 labels only.")
    lr = v.concrete(learning_rate)
    if lr is not None and not (lr.ndim == 0 and np.isfinite(lr) and lr > 0):
        raise ValueError(f"perceptron_fit: learning_rate must be a finite scalar > 0, got {lr}.")
    d = x_shape[1]
    if init is None:
        init = {"w": jnp.zeros((d,), jnp.float32), "b": jnp.zeros((), jnp.float32)}
    elif not hasattr(init, "keys") or set(init.keys()) != {"w", "b"}:
        got = sorted(init.keys()) if hasattr(init, "keys") else type(init).__name__
        raise ValueError(f"perceptron_fit: init must be {{'w': ({d},), 'b': ()}}, got {got}.")
    elif np.shape(init["w"]) != (d,) or np.shape(init["b"]) != ():
        raise ValueError(
            f"perceptron_fit: init must be {{'w': ({d},), 'b': ()}}, got w "
            f"{np.shape(init['w'])} and b {np.shape(init['b'])}."
        )
    return _perceptron_fit(
        jnp.asarray(x, jnp.float32),
        jnp.asarray(y, jnp.float32),
        jnp.asarray(learning_rate, jnp.float32),
        key,
        {k: jnp.asarray(init[k], jnp.float32) for k in ("w", "b")},
        epochs=epochs,
    )


@partial(jax.jit, static_argnames="epochs")
def _perceptron_fit(x, y, lr, key, init, *, epochs):
    def accuracy(p):
        return jnp.mean(perceptron_predict(p, x) == y)

    def visit(p, i):
        err = y[i] - step(x[i] @ p["w"] + p["b"])  # +1 false negative, -1 false positive
        p = {"w": p["w"] + lr * err * x[i], "b": p["b"] + lr * err}
        return p, jnp.abs(err)

    def epoch(p, e):
        order = jax.random.permutation(jax.random.fold_in(key, e), x.shape[0])
        p, errs = jax.lax.scan(visit, p, order)
        return p, (p["w"], p["b"], accuracy(p), jnp.sum(errs).astype(jnp.int32))

    final, (ws, bs, accs, updates) = jax.lax.scan(epoch, init, jnp.arange(epochs))
    history = PerceptronHistory(
        w=jnp.concatenate([init["w"][None], ws]),
        b=jnp.concatenate([init["b"][None], bs]),
        accuracy=jnp.concatenate([accuracy(init)[None], accs]),
        updates=updates,
    )
    return final, history

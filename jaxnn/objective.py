"""The training objective: mean cross-entropy plus the course's penalties (lessons 6, 10).

``E(params) = (1/sum_i m_i) sum_i m_i CE_i + l1 * sum|w| + l2 * sum w^2``, with
per-example weights ``m_i`` (1 for a real example, 0 for padding in a last partial
mini-batch). ``kind`` is ``"binary"`` (sigmoid of one logit per example, labels
0/1) or ``"multiclass"`` (softmax over k logits, integer labels).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import _validation as v
from jaxnn._typing import Array, ArrayLike, Params, PRNGKey
from jaxnn.activations import class_ids
from jaxnn.losses import as_float, binary_losses, id_losses
from jaxnn.penalties import l1_penalty, l2_penalty

LOSSES = ("binary", "multiclass")


def _check_kind(name: str, kind: object) -> None:
    if not isinstance(kind, str) or kind not in LOSSES:
        raise ValueError(f"{name}: kind must be one of {LOSSES}, got {kind!r}.")


def _check_logits(name: str, kind: str, logits: ArrayLike) -> tuple[int, ...]:
    v.check_numeric(f"{name}: logits", logits)
    shape = np.shape(logits)
    if kind == "binary" and not _column(shape):
        raise ValueError(
            f"{name}: kind 'binary' needs logits of shape (n,) or (n, 1), one per "
            f"example; got logits {shape}."
        )
    if kind == "multiclass" and (len(shape) != 2 or shape[1] == 0):
        raise ValueError(
            f"{name}: kind 'multiclass' needs logits of shape (n, k) with k >= 1; "
            f"got logits {shape}."
        )
    return shape


def _column(shape: tuple[int, ...]) -> bool:
    return len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)


def _check(name: str, kind: str, logits: ArrayLike, labels: ArrayLike, *, hard: bool) -> None:
    """The boundary checks, on static shapes and dtypes (so also under ``jit``), and on
    label values when they are concrete (skipped for tracers: no host sync)."""
    _check_kind(name, kind)
    z_shape, y_shape = _check_logits(name, kind, logits), np.shape(labels)
    n = z_shape[0]
    if kind == "binary":
        if not (_column(y_shape) and y_shape[0] == n):
            raise ValueError(
                f"{name}: kind 'binary' needs labels of shape (n,) or (n, 1) with "
                f"n = {n} to match logits {z_shape}; got labels {y_shape}."
            )
        v.check_binary_labels(f"{name}: labels", labels, hard=hard)
    else:
        if y_shape != (n,):
            raise ValueError(
                f"{name}: kind 'multiclass' needs labels of class ids of shape (n,) = "
                f"({n},) to match logits {z_shape}; got labels {y_shape}."
            )
        v.check_class_ids(f"{name}: labels", labels, z_shape[1])


def _losses(kind: str, logits: ArrayLike, labels: ArrayLike) -> Array:
    z = as_float(logits)
    if kind == "binary":
        return binary_losses(z.reshape(z.shape[0]), jnp.asarray(labels).reshape(z.shape[0]))
    return id_losses(jax.nn.log_softmax(z, axis=-1), jnp.asarray(labels))


def _predictions(kind: str, logits: ArrayLike) -> Array:
    z = jnp.asarray(logits)
    if kind == "binary":
        return (z.reshape(z.shape[0]) >= 0).astype(jnp.int32)
    return jnp.argmax(z, axis=-1).astype(jnp.int32)


def _hits(kind: str, logits: ArrayLike, labels: ArrayLike, dtype: Any) -> Array:
    """(n,) 1.0 where the prediction is right, 0.0 where wrong, NaN for an invalid label."""
    predicted, labels = _predictions(kind, logits), jnp.asarray(labels)
    if kind == "binary":
        y = labels.reshape(predicted.shape[0])
        valid = (y == 1) | (y == 0) if y.dtype != jnp.bool_ else jnp.ones(y.shape, bool)
        truth = y.astype(jnp.int32)
    else:
        truth, valid = class_ids(labels, np.shape(logits)[1])
    return jnp.where(valid, (predicted == truth).astype(dtype), jnp.nan)


def example_losses(kind: str, logits: ArrayLike, labels: ArrayLike) -> Array:
    """Per-example cross-entropy (n,) from logits: (n,)/(n, 1) binary, (n, k) multiclass.

    The inner-loop form of the formulas of :func:`jaxnn.binary_cross_entropy` and
    :func:`jaxnn.cross_entropy` (the tests hold them to the same values), with the
    same checks (kind, shapes, dtypes; label values when concrete). Under ``jit``
    an invalid label (an id outside [0, k), a binary label outside [0, 1]) gives a
    NaN loss for its example, never a plausible finite number.

    Args:
      kind: ``"binary"`` or ``"multiclass"``.
      logits: (n,) or (n, 1) (binary), or (n, k) (multiclass).
      labels: binary: (n,) or (n, 1), bool/integer/float in [0, 1]; multiclass:
        (n,) class ids in [0, k), any integer dtype.

    Returns:
      (n,) losses, in the logits' float dtype (float32 for integer logits).

    Raises:
      ValueError: for an unknown ``kind``, shapes that do not fit it, or concrete
        labels out of range.
      TypeError: for labels of a dtype that cannot be labels (float or bool class
        ids; complex binary labels).
    """
    _check("example_losses", kind, logits, labels, hard=False)
    return _losses(kind, logits, labels)


def predictions(kind: str, logits: ArrayLike) -> Array:
    """Predicted class ids (n,) int32: ``logit >= 0`` (binary) or the argmax (multiclass).

    Args:
      kind: ``"binary"`` or ``"multiclass"``.
      logits: (n,) or (n, 1) (binary), or (n, k) (multiclass).

    Raises:
      ValueError: for an unknown ``kind`` or logits of a shape that does not fit it.

    >>> predictions("binary", jnp.array([[2.0], [-1.0], [0.0]]))
    Array([1, 0, 1], dtype=int32)
    """
    _check_kind("predictions", kind)
    _check_logits("predictions", kind, logits)
    return _predictions(kind, logits)


def evaluate(kind: str, logits: ArrayLike, labels: ArrayLike) -> tuple[Array, Array]:
    """Mean cross-entropy and accuracy of ``logits`` against ``labels``.

    ``loss = (1/n) sum_i CE_i`` as :func:`example_losses`, ``accuracy = (1/n)
    sum_i [prediction_i == label_i]`` with :func:`predictions`. Binary logits and
    labels may each be (n,) or (n, 1): both are taken as (n,). Checks its arguments
    as :func:`example_losses` does, with binary labels exactly 0 or 1; under
    ``jit``, where values are not checked, an invalid label makes both results NaN.

    Args:
      kind: ``"binary"`` or ``"multiclass"``.
      logits: (n,) or (n, 1) (binary), or (n, k) (multiclass); n >= 1.
      labels: binary: (n,) or (n, 1) 0/1 labels, bool, integer or float; multiclass:
        (n,) class ids in [0, k), any integer dtype.

    Returns:
      ``(loss, accuracy)``, two scalars.

    Raises:
      ValueError: for an unknown ``kind``, shapes that do not fit it (naming the
        argument and the expected shape), n = 0, or concrete labels that are not
        0/1 (binary) or not in [0, k) (multiclass).
      TypeError: for float or bool class ids, or binary labels of another dtype.

    >>> evaluate("binary", jnp.array([[2.0], [-1.0], [3.0], [-2.0]]),
    ...          jnp.array([[1], [0], [0], [0]]))[1]
    Array(0.75, dtype=float32)
    """
    _check("evaluate", kind, logits, labels, hard=True)
    if np.shape(logits)[0] == 0:
        raise ValueError("evaluate: got 0 examples; the mean is undefined.")
    return _evaluate(kind, logits, labels)


@functools.partial(jax.jit, static_argnums=0)
def _evaluate(kind: str, logits: ArrayLike, labels: ArrayLike) -> tuple[Array, Array]:
    """The computation of :func:`evaluate`, one compiled program (eagerly, each of
    its ops compiled on its own: about 30 small compiles on a first call)."""
    ce = _losses(kind, logits, labels)
    return jnp.mean(ce), jnp.mean(_hits(kind, logits, labels, jnp.float32))


def objective(
    params: Params,
    apply: Callable[..., Array],
    x: Array,
    labels: Array,
    weights: Array | None = None,
    *,
    kind: str,
    l1: Array | float | None = None,
    l2: Array | float | None = None,
    dropout: Array | float = 0.0,
    key: PRNGKey | None = None,
) -> Array:
    """The penalised objective for one batch; differentiate it with ``jax.grad``.

    Args:
      params: model params; weight leaves keyed ``"w"`` are penalised.
      apply: ``apply(params, x, *, key, dropout) -> logits``; called without those
        keywords when ``key`` is ``None``.
      x: (b, d) inputs. labels: (b,) 0/1 (binary) or class ids (multiclass).
      weights: (b,) example weights, or ``None`` for all ones.
      kind: ``"binary"`` or ``"multiclass"``.
      l1, l2: penalty strengths (traceable), or ``None`` to leave the term out (then
        params need no ``"w"`` leaves).
      dropout, key: the dropout rate and its key; no dropout without a key.

    Returns:
      A scalar.
    """
    return objective_and_metrics(
        params, apply, x, labels, weights, kind=kind, l1=l1, l2=l2, dropout=dropout, key=key
    )[0]


def objective_and_metrics(
    params: Params,
    apply: Callable[..., Array],
    x: Array,
    labels: Array,
    weights: Array | None = None,
    *,
    kind: str,
    l1: Array | float | None = None,
    l2: Array | float | None = None,
    dropout: Array | float = 0.0,
    key: PRNGKey | None = None,
) -> tuple[Array, tuple[Array, Array]]:
    """:func:`objective` and, from the same forward pass, the batch's metric sums.

    For ``jax.value_and_grad(..., has_aux=True)``: the training loop records its
    history from the forward pass each update computes anyway (no second pass).

    Returns:
      ``(objective, (ce_sum, correct))``: the penalised objective as in
      :func:`objective`; ``ce_sum = sum_i m_i CE_i`` (cross-entropy only, no
      penalty) and ``correct = sum_i m_i [prediction_i == label_i]``, with ``m_i``
      the example weights (1 without ``weights``), both float32 scalars; with a
      dropout ``key`` they are those of the dropped-out network the update saw.

    Raises:
      ValueError / TypeError: as :func:`evaluate` (errors name ``objective``); label
        values are checked only when concrete, and under ``jit`` an invalid label
        makes the objective and both sums NaN.
    """
    if key is None:
        logits = apply(params, x)
    else:
        logits = apply(params, x, key=key, dropout=dropout)
    _check("objective", kind, logits, labels, hard=True)
    ce = _losses(kind, logits, labels)
    hit = _hits(kind, logits, labels, ce.dtype)
    if weights is None:
        ce_sum, correct = jnp.sum(ce), jnp.sum(hit)
        data = ce_sum / ce.shape[0]
    else:
        ce_sum, correct = jnp.sum(weights * ce), jnp.sum(weights * hit)
        data = ce_sum / jnp.sum(weights)
    if l1 is not None:
        data = data + l1 * l1_penalty(params)
    if l2 is not None:
        data = data + l2 * l2_penalty(params)
    return data, (ce_sum, correct)

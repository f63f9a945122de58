"""The training objective: mean cross-entropy plus the course's penalties (lessons 6, 10).

``E(params) = (1/sum_i m_i) sum_i m_i CE_i + l1 * sum|w| + l2 * sum w^2``, with
per-example weights ``m_i`` (1 for a real example, 0 for padding in a last partial
mini-batch). ``kind`` is ``"binary"`` (sigmoid of one logit per example, labels
0/1) or ``"multiclass"`` (softmax over k logits, integer labels).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxnn._typing import Array, Params, PRNGKey
from jaxnn.losses import times_log
from jaxnn.penalties import l1_penalty, l2_penalty

LOSSES = ("binary", "multiclass")


def example_losses(kind: str, logits: Array, labels: Array) -> Array:
    """Per-example cross-entropy (n,) from logits: (n,)/(n, 1) binary, (n, k) multiclass.

    No boundary checks: the inner-loop form of the formulas of
    :func:`jaxnn.binary_cross_entropy` and :func:`jaxnn.cross_entropy` (those check
    their arguments first, and also take probability labels); the tests hold the two
    to the same values.
    """
    if kind == "binary":
        z = logits.reshape(logits.shape[0])
        y = labels.reshape(labels.shape[0]).astype(z.dtype)
        return -(times_log(y, jax.nn.log_sigmoid(z)) + times_log(1 - y, jax.nn.log_sigmoid(-z)))
    log_p = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.take_along_axis(log_p, labels[:, None], axis=-1)[:, 0]


def predictions(kind: str, logits: Array) -> Array:
    """Predicted class ids (n,) int32: ``logit >= 0`` (binary) or the argmax (multiclass)."""
    if kind == "binary":
        return (logits.reshape(logits.shape[0]) >= 0).astype(jnp.int32)
    return jnp.argmax(logits, axis=-1).astype(jnp.int32)


def evaluate(kind: str, logits: Array, labels: Array) -> tuple[Array, Array]:
    """Mean cross-entropy and accuracy of ``logits`` against ``labels``."""
    acc = jnp.mean((predictions(kind, logits) == labels.astype(jnp.int32)).astype(jnp.float32))
    return jnp.mean(example_losses(kind, logits, labels)), acc


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
    """
    if key is None:
        logits = apply(params, x)
    else:
        logits = apply(params, x, key=key, dropout=dropout)
    ce = example_losses(kind, logits, labels)
    hit = (predictions(kind, logits) == labels.astype(jnp.int32)).astype(ce.dtype)
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

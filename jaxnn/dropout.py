"""Inverted dropout as a pure function of a key, a rate and an array (lesson 11)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxnn import _validation as v
from jaxnn._typing import Array, ArrayLike, PRNGKey


def dropout(key: PRNGKey, rate: ArrayLike, x: ArrayLike) -> Array:
    """Zero each entry of ``x`` with probability ``rate``; scale the rest by 1/(1 - rate).

    ``out = x * m / (1 - rate)`` with ``m ~ Bernoulli(1 - rate)`` independently per
    entry, so ``E[out] = x``: at evaluation time no rescaling is needed. ``rate`` is
    the probability of *dropping* (stax's ``Dropout`` takes the keep probability).
    ``rate`` may be traced (a swept hyperparameter); it is range-checked when concrete.

    Args:
      key: a PRNG key; the same key gives the same mask.
      rate: drop probability in [0, 1).
      x: activations, any shape.

    Returns:
      Array of ``x``'s shape and dtype (float32 for integer or boolean ``x``).

    >>> out = dropout(jax.random.key(0), 0.5, jnp.ones(4))
    >>> sorted(set(out.tolist())) in ([0.0, 2.0], [0.0], [2.0])
    True
    """
    v.check_key(key, "dropout: key")
    v.check_scalar("dropout: rate", rate, 0.0, 1.0, high_open=True)
    v.check_numeric("dropout: x", x)
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        # An integer x would cast the rate to an integer too (0.5 -> 0): nothing dropped.
        x = x.astype(jnp.float32)
    rate_c = v.concrete(rate)
    if rate_c is not None and float(rate_c) == 0.0:
        return x
    keep_prob = 1.0 - jnp.asarray(rate, dtype=x.dtype)
    keep = jax.random.bernoulli(key, keep_prob, x.shape)
    return jnp.where(keep, x / keep_prob, jnp.zeros_like(x))

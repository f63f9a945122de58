"""L1 and L2 penalties on weight leaves (lesson 10).

A params pytree may be anything (a perceptron's ``{"w", "b"}``, an MLP's list of
layers, a stacked batch of restarts); the penalties sum over every leaf whose key
(dict key or attribute name) is ``"w"``. Biases (``"b"``) and anything else are
left alone, as the course says: the bias is not penalised.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn._typing import Array, Params


def path_key_name(entry: object) -> object:
    """The name of a pytree path entry: a dict key or an attribute name (else None)."""
    for attr in ("key", "name"):  # DictKey.key, GetAttrKey.name
        if hasattr(entry, attr):
            return getattr(entry, attr)
    return None


def weight_leaves(params: Params) -> list[Array]:
    """The leaves of ``params`` keyed ``"w"`` (dict key or attribute), in tree order.

    Raises:
      TypeError: if a weight leaf is not an array of real numbers.
      ValueError: if there is none, since a penalty of 0 for params named otherwise
        (say ``"kernel"``) would be a silent wrong answer.
    """
    leaves = [
        leaf
        for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]
        if path and path_key_name(path[-1]) == "w"
    ]
    if not leaves:
        raise ValueError(
            "no weight leaf keyed 'w' found in params; jaxnn penalises leaves named 'w' "
            "(biases 'b' are excluded). Got a pytree with structure "
            f"{jax.tree_util.tree_structure(params)}."
        )
    for w in leaves:
        dtype = getattr(w, "dtype", None) or np.asarray(w).dtype
        if not (jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)):
            raise TypeError(f"params: weight leaves 'w' must hold real numbers, got dtype {dtype}.")
    return leaves


def _float_weights(params: Params) -> list[Array]:
    """The weight leaves cast to one accumulation dtype: float64 if any leaf is float64
    (only possible with x64 enabled), else float32.

    Casting explicitly lets integer, float16 and bfloat16 weights be penalised under
    ``jax_numpy_dtype_promotion="strict"``, and sums low-precision weights in float32.
    """
    ws = [jnp.asarray(w) for w in weight_leaves(params)]
    dtype = jnp.float64 if any(w.dtype == jnp.float64 for w in ws) else jnp.float32
    return [w.astype(dtype) for w in ws]


def l1_penalty(params: Params) -> Array:
    """``sum |w|`` over every weight leaf: the course's ``|w1| + ... + |wn|``.

    Args:
      params: any pytree whose weight leaves are keyed ``"w"``.

    Returns:
      A scalar, float32 for float32, float16, bfloat16 or integer weights (float64 if
      a weight leaf is float64); a stacked batch of restarts gives the total over the batch;
      ``jax.vmap(l1_penalty)`` gives one per restart.

    >>> l1_penalty({"w": jnp.array([1.0, -2.0]), "b": jnp.array(5.0)})
    Array(3., dtype=float32)
    """
    first, *rest = (jnp.sum(jnp.abs(w)) for w in _float_weights(params))
    return sum(rest, start=first)


def l2_penalty(params: Params) -> Array:
    """``sum w^2`` over every weight leaf: the course's ``w1^2 + ... + wn^2``.

    Note there is no factor 1/2: ``grad l2_penalty = 2 w``.

    >>> l2_penalty({"w": jnp.array([0.5, 0.5]), "b": jnp.array(5.0)})
    Array(0.5, dtype=float32)
    """
    first, *rest = (jnp.sum(jnp.square(w)) for w in _float_weights(params))
    return sum(rest, start=first)

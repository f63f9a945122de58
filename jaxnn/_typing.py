"""Type aliases used across jaxnn: array-like in, ``jax.Array`` out."""

from __future__ import annotations

from typing import Any, TypeAlias

import jax

Array: TypeAlias = jax.Array
ArrayLike: TypeAlias = jax.typing.ArrayLike
PRNGKey: TypeAlias = jax.Array
# A params pytree: dicts/lists/tuples of arrays, weight leaves keyed "w", biases "b".
Params: TypeAlias = Any
Layer: TypeAlias = dict[str, jax.Array]

"""Strict JAX for every test: rank promotion and implicit dtype promotion raise."""

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture
def key():
    """A fixed PRNG key; tests derive others with ``jax.random.fold_in``."""
    return jax.random.key(0)

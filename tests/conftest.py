"""Strict JAX for every test: rank promotion and implicit dtype promotion raise."""

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")
# GPUs multiply float32 matrices in TF32 by default (about 1e-3 relative error);
# the tests compare against float32/float64 references, so ask for full precision.
jax.config.update("jax_default_matmul_precision", "highest")


@pytest.fixture
def key():
    """A fixed PRNG key; tests derive others with ``jax.random.fold_in``."""
    return jax.random.key(0)

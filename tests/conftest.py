"""Strict JAX for every test: rank promotion and implicit dtype promotion raise."""

import os
import tempfile

# One persistent XLA compilation cache for the whole session, shared with the
# processes tests start (the CLI, the lessons, several-process studies, the
# benchmarks): a program compiled once is read back, not compiled again, wherever
# the same computation recurs (about a third of the suite's time is compiling).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="jaxnn-tests-xla-"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import jax
import pytest

jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update(
    "jax_persistent_cache_min_compile_time_secs",
    float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]),
)
jax.config.update(
    "jax_persistent_cache_min_entry_size_bytes",
    int(os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"]),
)

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")
# GPUs multiply float32 matrices in TF32 by default (about 1e-3 relative error);
# the tests compare against float32/float64 references, so ask for full precision.
jax.config.update("jax_default_matmul_precision", "highest")


@pytest.fixture
def key():
    """A fixed PRNG key; tests derive others with ``jax.random.fold_in``."""
    return jax.random.key(0)

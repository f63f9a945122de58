"""Assertions shared by the test modules."""

import jax
import jax.numpy as jnp
import numpy as np


def raw(x):
    """A leaf as a NumPy array; typed PRNG keys as their raw key data."""
    x = jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x
    return np.asarray(x)


def assert_bitwise(a, b):
    """Same pytree structure, same leaf dtypes (typed keys stay typed keys), and every
    leaf the same bytes (NaNs included)."""
    leaves_a, tree_a = jax.tree.flatten(a)
    leaves_b, tree_b = jax.tree.flatten(b)
    assert tree_a == tree_b
    for x, y in zip(leaves_a, leaves_b, strict=True):
        assert x.dtype == y.dtype
        x, y = raw(x), raw(y)
        assert (x.dtype, x.shape) == (y.dtype, y.shape)
        assert x.tobytes() == y.tobytes()


_COMPILES = [0]


def _count_compile(event, duration_secs, **kwargs):
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES[0] += 1


def _count_cache_hit(event, **kwargs):
    # a program read back from the persistent compilation cache (tests/conftest.py)
    # is a program the call needed, as a compile is
    if event == "/jax/compilation_cache/cache_hits":
        _COMPILES[0] += 1


jax.monitoring.register_event_duration_secs_listener(_count_compile)
jax.monitoring.register_event_listener(_count_cache_hit)


class count_compiles:  # a context manager, lower case like pytest.raises
    """Counts XLA compilations (any program, eager ops included; a program read from
    the persistent compilation cache counts as one) inside the block.

    >>> with count_compiles() as c:
    ...     pass
    >>> c.count
    0
    """

    def __enter__(self):
        self._start = _COMPILES[0]
        self.count = 0
        return self

    def __exit__(self, *exc):
        self.count = _COMPILES[0] - self._start
        return False

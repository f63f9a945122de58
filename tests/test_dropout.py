"""Inverted dropout (lesson 11): masks, scaling and the expectation, checked statistically."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxnn

# One shape for the statistical tests (10^5 entries make the binomial tolerances tight)
# and one small shape for the rest, so that each compiles once for the whole file.
SHAPE = (400, 250)
SMALL = (30, 20)


def x_positive(seed=0, shape=SHAPE):
    """Strictly positive entries, so that an output zero always means a dropped entry."""
    return np.random.default_rng(seed).uniform(0.5, 2.0, size=shape).astype(np.float32)


def binomial_tolerance(p, n, sigmas=5):
    return sigmas * np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5, 0.75, 0.9])
def test_fraction_dropped_is_rate_and_kept_entries_are_scaled(key, rate):
    x = x_positive()
    out = np.asarray(jaxnn.dropout(key, rate, x))
    assert out.shape == x.shape and out.dtype == np.float32
    dropped = out == 0
    assert abs(dropped.mean() - rate) < binomial_tolerance(rate, x.size)
    # Kept entries: x / (1 - rate), to float32 rounding of the division.
    want = x[~dropped] / np.float32(1 - np.float32(rate))
    np.testing.assert_allclose(out[~dropped], want, rtol=2e-7)


@pytest.mark.parametrize(("rate", "scale"), [(0.5, 2.0), (0.75, 4.0), (0.875, 8.0)])
def test_kept_entries_scaled_exactly(key, rate, scale):
    # Rates whose keep probability is a power of two: the scaling is exact in float32.
    x = x_positive(1)
    out = np.asarray(jaxnn.dropout(key, rate, x))
    kept = out != 0
    np.testing.assert_array_equal(out[kept], x[kept] * np.float32(scale))
    assert abs(1 - kept.mean() - rate) < binomial_tolerance(rate, x.size)


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_mean_is_preserved(key, rate):
    # out = x m / (1 - rate), m ~ Bernoulli(1 - rate): E[out] = x and, for x = 1,
    # Var[out] = rate / (1 - rate).
    x = np.ones(SHAPE, np.float32)
    out = np.asarray(jaxnn.dropout(key, rate, x), np.float64)
    sd = np.sqrt(rate / (1 - rate) / out.size)
    assert abs(out.mean() - 1.0) < 5 * sd
    np.testing.assert_allclose(out.var(), rate / (1 - rate), rtol=0.05)


def test_mean_preserved_per_entry_over_many_keys(key):
    # E[out_i] = x_i for every entry, averaged over independent masks.
    # 20,000 draws of each entry: rows of a tiled array get independent masks.
    x = np.array([-3.0, -0.5, 0.0, 0.25, 1.0, 7.0], np.float32)
    draws = 20000
    samples = np.asarray(jaxnn.dropout(key, 0.4, np.tile(x, (draws, 1))), np.float64)
    se = np.abs(x) * np.sqrt(0.4 / 0.6 / draws)
    assert np.all(np.abs(samples.mean(0) - x) <= 5 * se + 1e-7)


def test_masks_are_independent_across_entries(key):
    # Neighbouring entries are dropped independently: P(both dropped) = rate^2.
    rate = 0.5
    out = np.asarray(jaxnn.dropout(key, rate, x_positive(2)))
    both = (out[:, :-1] == 0) & (out[:, 1:] == 0)
    assert abs(both.mean() - rate**2) < binomial_tolerance(rate**2, both.size)


@pytest.mark.parametrize("rate", [0.0, np.float32(0.0), jnp.float32(0.0)])
def test_rate_zero_is_identity(key, rate):
    x = np.random.default_rng(3).normal(size=SMALL).astype(np.float32)
    out = jaxnn.dropout(key, rate, x)
    np.testing.assert_array_equal(out, x)
    assert out.dtype == jnp.float32


def test_same_key_identical_different_keys_differ(key):
    x = x_positive(4, SMALL)
    a = jaxnn.dropout(key, 0.5, x)
    np.testing.assert_array_equal(a, jaxnn.dropout(jax.random.key(0), 0.5, x))
    b = jaxnn.dropout(jax.random.fold_in(key, 1), 0.5, x)
    assert not np.array_equal(a, b)
    # The two masks agree only about as often as independent coin flips would (half).
    agree = np.mean((np.asarray(a) == 0) == (np.asarray(b) == 0))
    assert abs(agree - 0.5) < binomial_tolerance(0.5, x.size)


def test_mask_depends_on_key_only_not_values(key):
    # The same key drops the same positions whatever the values are.
    x1, x2 = x_positive(5, SMALL), x_positive(6, SMALL)
    m1 = np.asarray(jaxnn.dropout(key, 0.3, x1)) == 0
    m2 = np.asarray(jaxnn.dropout(key, 0.3, x2)) == 0
    np.testing.assert_array_equal(m1, m2)


@pytest.mark.parametrize("shape", [(), (3, 4, 5)])
def test_any_shape(key, shape):
    x = np.full(shape, 1.5, np.float32)
    out = np.asarray(jaxnn.dropout(key, 0.5, x))
    assert out.shape == shape
    assert np.all((out == 0) | (out == 3.0))


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float32])
def test_float_dtype_is_kept(key, dtype):
    x = jnp.ones(SMALL, dtype)
    out = jaxnn.dropout(key, 0.5, x)
    assert out.dtype == dtype
    assert set(np.unique(np.asarray(out, np.float32)).tolist()) == {0.0, 2.0}


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bool_])
def test_integer_and_bool_inputs_are_dropped_too(key, dtype):
    # A bug fixed here: the rate was cast to x's dtype, so an integer x turned 0.5 into 0
    # and nothing was dropped (under standard promotion), or the call raised (strict).
    x = jnp.ones(SHAPE, dtype)
    for promotion in ("strict", "standard"):
        with jax.numpy_dtype_promotion(promotion):
            out = np.asarray(jaxnn.dropout(key, 0.5, x))
        assert out.dtype == np.float32
        assert set(np.unique(out).tolist()) == {0.0, 2.0}
        assert abs((out == 0).mean() - 0.5) < binomial_tolerance(0.5, out.size)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, np.nan, np.inf, -np.inf, np.float32(1.0)])
def test_bad_rate_raises(key, rate):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        jaxnn.dropout(key, rate, np.ones(3, np.float32))


def test_array_rate_raises(key):
    with pytest.raises(ValueError, match="scalar"):
        jaxnn.dropout(key, np.array([0.1, 0.2]), np.ones(2, np.float32))


def test_under_jit_equals_eager(key):
    x = x_positive(7, SMALL)
    jitted = jax.jit(jaxnn.dropout)
    got, want = np.asarray(jitted(key, 0.3, x)), np.asarray(jaxnn.dropout(key, 0.3, x))
    # The same mask; values to float32 rounding (XLA may divide by a traced rate as a
    # multiplication by its reciprocal).
    np.testing.assert_array_equal(got == 0, want == 0)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # A traced rate of 0 under jit is the identity too.
    np.testing.assert_array_equal(jitted(key, 0.0, x), x)
    # A static rate works as well.
    static = jax.jit(jaxnn.dropout, static_argnums=1)
    np.testing.assert_allclose(static(key, 0.3, x), want, rtol=1e-6)


def test_traced_rate_under_vmap_equals_loop(key):
    x = x_positive(8, SMALL)
    rates = jnp.array([0.0, 0.25, 0.5, 0.9])
    batched = jax.vmap(lambda r: jaxnn.dropout(key, r, x))(rates)
    loop = np.stack([jaxnn.dropout(key, float(r), x) for r in rates])
    np.testing.assert_allclose(batched, loop, rtol=1e-6)
    # Each rate drops about its own fraction.
    for r, out in zip(np.asarray(rates), np.asarray(batched), strict=True):
        assert abs((out == 0).mean() - r) < binomial_tolerance(max(r, 0.01), out.size)


def test_vmap_over_keys_equals_loop(key):
    x = x_positive(9, SMALL)
    keys = jax.random.split(key, 4)
    batched = jax.vmap(functools.partial(jaxnn.dropout, rate=0.5, x=x))(keys)
    loop = np.stack([jaxnn.dropout(k, 0.5, x) for k in keys])
    np.testing.assert_array_equal(batched, loop)


def test_gradient_is_mask_over_keep_probability(key):
    # d sum(dropout(x)) / dx = m / (1 - rate): the dropped entries get no gradient.
    x = x_positive(10, SMALL)
    rate = 0.25
    g = np.asarray(jax.grad(lambda x: jnp.sum(jaxnn.dropout(key, rate, x)))(x))
    kept = np.asarray(jaxnn.dropout(key, rate, x)) != 0
    np.testing.assert_allclose(g, kept / np.float32(0.75), rtol=1e-6)


@settings(max_examples=15, deadline=None)
@given(rate=st.floats(0.0, 0.99), seed=st.integers(0, 2**31 - 1))
def test_outputs_are_zero_or_scaled_input(rate, seed):
    x = x_positive(11, SMALL)
    out = np.asarray(jaxnn.dropout(jax.random.key(seed), rate, x))
    kept = out != 0
    want = x[kept] / np.float32(1 - np.float32(rate))
    np.testing.assert_allclose(out[kept], want, rtol=2e-7)
    if rate == 0.0:
        assert kept.all()

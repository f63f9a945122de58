"""init_mlp and mlp_apply (lessons 8, 11, 12, 13) against NumPy references and statistics."""

import functools
import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import jaxnn

ACTIVATIONS = ("sigmoid", "tanh", "relu")

NP_ACTIVATIONS = {
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
}

# Shared shapes, so that eager and vmapped primitives compile once for the whole file.
SIZES = [3, 6, 2]
DEEP = [3, 6, 6, 2]
N = 5
RESTARTS = 4

# A normal truncated to [-2, 2] has 0.87962566 times the standard deviation of the
# untruncated one; jax's initializers divide by this so that the variance is as specified.
TRUNCATED_STD = 0.87962566103423978


def np_forward(params, x, activation):
    """The MLP forward pass in float64 NumPy: activation on every layer but the last."""
    f = NP_ACTIVATIONS[activation]
    h = np.asarray(x, np.float64)
    for i, layer in enumerate(params):
        h = h @ np.asarray(layer["w"], np.float64) + np.asarray(layer["b"], np.float64)
        if i < len(params) - 1:
            h = f(h)
    return h


def random_params(seed, sizes, scale=0.7):
    """Params with non-zero biases, independent of init_mlp."""
    rng = np.random.default_rng(seed)
    return [
        {
            "w": jnp.asarray(rng.normal(size=(m, n)) * scale, jnp.float32),
            "b": jnp.asarray(rng.normal(size=(n,)) * scale, jnp.float32),
        }
        for m, n in itertools.pairwise(sizes)
    ]


def random_x(seed, n=N, d=SIZES[0]):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def stack(trees):
    return jax.tree.map(lambda *a: jnp.stack(a), *trees)


# ---------------------------------------------------------------------------------------
# init_mlp
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [[2, 1], SIZES, DEEP])
def test_init_shapes_dtypes_and_zero_biases(key, sizes):
    params = jaxnn.init_mlp(key, sizes)
    assert isinstance(params, list) and len(params) == len(sizes) - 1
    for layer, (m, n) in zip(params, itertools.pairwise(sizes), strict=True):
        assert set(layer) == {"w", "b"}
        assert layer["w"].shape == (m, n) and layer["b"].shape == (n,)
        assert layer["w"].dtype == layer["b"].dtype == jnp.float32
        np.testing.assert_array_equal(layer["b"], np.zeros(n))
        assert np.all(np.isfinite(layer["w"])) and np.any(layer["w"] != 0)


def _check_scale(w, sigma):
    w = np.asarray(w, np.float64).ravel()
    # Sample std of >= 10^5 draws: relative standard error about 1/sqrt(2N) < 0.3%.
    assert abs(w.std() / sigma - 1) < 0.02, (w.std(), sigma)
    assert abs(w.mean()) < 5 * sigma / np.sqrt(w.size)
    # A truncated normal: nothing beyond 2 standard deviations of the untruncated one,
    # and with this many draws the tails do reach close to that bound.
    bound = 2 * sigma / TRUNCATED_STD
    assert 0.95 * bound < np.max(np.abs(w)) <= bound * (1 + 1e-5)


# Fans differ enough that Glorot and He scales are far apart (600 vs 900 average fan).
SCALE_SIZES = [600, 300, 500]


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_init_glorot_scale_for_sigmoid_and_tanh(key, activation):
    params = jaxnn.init_mlp(key, SCALE_SIZES, activation=activation)
    for layer, (fan_in, fan_out) in zip(params, itertools.pairwise(SCALE_SIZES), strict=True):
        _check_scale(layer["w"], np.sqrt(2.0 / (fan_in + fan_out)))


def test_init_he_scale_for_relu(key):
    params = jaxnn.init_mlp(key, SCALE_SIZES, activation="relu")
    for layer, fan_in in zip(params, SCALE_SIZES[:-1], strict=True):
        _check_scale(layer["w"], np.sqrt(2.0 / fan_in))
    # relu is the default activation.
    chex.assert_trees_all_equal(jaxnn.init_mlp(key, SCALE_SIZES), params)


def test_init_layers_are_independent_and_prefix_stable(key):
    a = jaxnn.init_mlp(key, [6, 6, 6, 6], activation="tanh")
    assert not np.allclose(a[0]["w"], a[1]["w"])
    assert not np.allclose(a[1]["w"], a[2]["w"])
    # Each layer draws from its own key: adding a layer leaves the earlier ones unchanged.
    b = jaxnn.init_mlp(key, [6, 6, 6, 6, 2], activation="tanh")
    chex.assert_trees_all_equal(a, b[:3])


def test_init_same_key_same_params_different_key_different(key):
    a = jaxnn.init_mlp(key, SIZES)
    chex.assert_trees_all_equal(a, jaxnn.init_mlp(jax.random.key(0), SIZES))
    other = jaxnn.init_mlp(jax.random.fold_in(key, 1), SIZES)
    assert not np.allclose(other[0]["w"], a[0]["w"])


def test_init_accepts_tuples_and_numpy_ints(key):
    a = jaxnn.init_mlp(key, (3, np.int64(6), 2))
    chex.assert_trees_all_equal(a, jaxnn.init_mlp(key, SIZES))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_init_vmap_over_split_keys_equals_loop(key, activation):
    keys = jax.random.split(key, RESTARTS)
    batched = jax.vmap(lambda k: jaxnn.init_mlp(k, SIZES, activation=activation))(keys)
    loop = [jaxnn.init_mlp(k, SIZES, activation=activation) for k in keys]
    chex.assert_trees_all_equal(batched, stack(loop))
    assert batched[0]["w"].shape == (RESTARTS, 3, 6)
    # The form the docstring gives: vmap(init_mlp, (0, None)).
    if activation == "relu":
        chex.assert_trees_all_equal(jax.vmap(jaxnn.init_mlp, (0, None))(keys, SIZES), batched)
    # Restarts differ.
    assert not np.allclose(batched[0]["w"][0], batched[0]["w"][1])


def test_init_under_jit(key):
    init = jax.jit(jaxnn.init_mlp, static_argnums=1)
    chex.assert_trees_all_close(init(key, tuple(SIZES)), jaxnn.init_mlp(key, SIZES), rtol=1e-6)


@pytest.mark.parametrize("sizes", [[], [3], (5,)])
def test_init_fewer_than_two_sizes_raises(key, sizes):
    with pytest.raises(ValueError, match="at least two"):
        jaxnn.init_mlp(key, sizes)


@pytest.mark.parametrize("sizes", [[3, 0, 2], [3, -4, 2], [0, 2], [3, 2, 0]])
def test_init_non_positive_sizes_raise(key, sizes):
    with pytest.raises(ValueError, match=r"sizes\[\d\] must be >= 1"):
        jaxnn.init_mlp(key, sizes)


@pytest.mark.parametrize("sizes", [[3, 2.0], [3, "4", 2], [3, None], [True, 2], 5, None])
def test_init_non_int_sizes_raise(key, sizes):
    with pytest.raises(TypeError, match="sizes"):
        jaxnn.init_mlp(key, sizes)


@pytest.mark.parametrize("activation", ["softplus", "ReLU", "", None])
def test_init_unknown_activation_raises_naming_it(key, activation):
    with pytest.raises(ValueError, match="unknown activation") as err:
        jaxnn.init_mlp(key, SIZES, activation=activation)
    assert repr(activation) in str(err.value)
    assert "relu" in str(err.value)


# ---------------------------------------------------------------------------------------
# mlp_apply: the deterministic network
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [[3, 2], SIZES, DEEP])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_apply_equals_numpy_forward(activation, sizes):
    params = random_params(1, sizes)
    x = random_x(2)
    out = jaxnn.mlp_apply(params, x, activation=activation)
    assert out.shape == (N, sizes[-1]) and out.dtype == jnp.float32
    np.testing.assert_allclose(out, np_forward(params, x, activation), rtol=1e-5, atol=1e-5)


def test_apply_default_activation_is_relu():
    params, x = random_params(3, SIZES), random_x(4)
    plain = jaxnn.mlp_apply(params, x)
    np.testing.assert_array_equal(plain, jaxnn.mlp_apply(params, x, activation="relu"))
    assert not np.allclose(plain, jaxnn.mlp_apply(params, x, activation="tanh"))


def test_apply_by_hand():
    # One hidden relu unit: h = relu(x1 - x2 + 0.5), logits = 2 h - 1.
    params = [
        {"w": jnp.array([[1.0], [-1.0]]), "b": jnp.array([0.5])},
        {"w": jnp.array([[2.0]]), "b": jnp.array([-1.0])},
    ]
    x = jnp.array([[0.0, 0.0], [0.0, 3.0], [2.0, 1.0]])
    np.testing.assert_array_equal(jaxnn.mlp_apply(params, x), [[0.0], [-1.0], [2.0]])


@settings(max_examples=5, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    n=st.integers(1, 5),
    activation=st.sampled_from(ACTIVATIONS),
    seed=st.integers(0, 2**16),
)
def test_apply_equals_numpy_forward_any_sizes(sizes, n, activation, seed):
    params = random_params(seed, sizes)
    x = random_x(seed + 1, n, sizes[0])
    out = jaxnn.mlp_apply(params, x, activation=activation)
    assert out.shape == (n, sizes[-1])
    np.testing.assert_allclose(out, np_forward(params, x, activation), rtol=1e-5, atol=1e-5)


def test_apply_int_inputs_and_leading_axes():
    params = random_params(5, SIZES)
    xi = np.arange(15, dtype=np.int32).reshape(N, 3) - 7
    want = np_forward(params, xi, "relu")
    np.testing.assert_allclose(jaxnn.mlp_apply(params, xi), want, rtol=1e-5, atol=1e-5)
    x = random_x(6, 2 * N)
    out = jaxnn.mlp_apply(params, x.reshape(2, N, 3))
    assert out.shape == (2, N, 2)
    np.testing.assert_allclose(out.reshape(2 * N, 2), jaxnn.mlp_apply(params, x), rtol=1e-6)


def test_apply_deterministic_without_key(key):
    params, x = jaxnn.init_mlp(key, DEEP), random_x(7)
    a = jaxnn.mlp_apply(params, x, dropout=0.5)
    np.testing.assert_array_equal(a, jaxnn.mlp_apply(params, x, dropout=0.5))
    # No key: dropout is off, whatever the rate.
    np.testing.assert_array_equal(a, jaxnn.mlp_apply(params, x))


def test_apply_under_jit_equals_eager(key):
    params, x = jaxnn.init_mlp(key, SIZES, activation="tanh"), random_x(8)
    apply = jax.jit(jaxnn.mlp_apply, static_argnames="activation")
    kw = dict(activation="tanh", dropout=0.3, key=jax.random.fold_in(key, 1))
    np.testing.assert_allclose(apply(params, x, **kw), jaxnn.mlp_apply(params, x, **kw), rtol=1e-6)
    np.testing.assert_allclose(
        apply(params, x, activation="tanh"),
        jaxnn.mlp_apply(params, x, activation="tanh"),
        rtol=1e-6,
    )


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_grad_through_apply_matches_finite_differences(activation):
    params = random_params(21, SIZES, scale=0.5)
    x = random_x(22)
    # Finite differences need every relu pre-activation well away from its kink at 0.
    pre = x @ np.asarray(params[0]["w"]) + np.asarray(params[0]["b"])
    assert np.abs(pre).min() > 0.15
    targets = jax.nn.one_hot(jnp.array([0, 1, 1, 0, 1]), 2)

    def loss(p, x):
        logits = jaxnn.mlp_apply(p, x, activation=activation)
        return -jnp.mean(jnp.sum(targets * jax.nn.log_softmax(logits), axis=-1))

    check_grads(loss, (params, x), order=1, modes=("rev", "fwd"), eps=1e-2, atol=1e-2, rtol=1e-2)
    g = jax.grad(loss)(params, x)
    chex.assert_trees_all_equal_shapes(g, params)
    assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree.leaves(g))


def test_grad_through_apply_with_fixed_dropout_mask(key):
    # With a fixed key the mask is fixed, so the loss is smooth in the params.
    params = random_params(11, DEEP, scale=0.5)
    x = random_x(12)
    k = jax.random.fold_in(key, 2)
    loss = lambda p: jnp.mean(jaxnn.mlp_apply(p, x, activation="tanh", dropout=0.4, key=k) ** 2)
    check_grads(loss, (params,), order=1, modes=("rev",), eps=1e-2, atol=1e-2, rtol=1e-2)


def test_grad_of_last_layer_by_hand():
    # d sum(logits) / d W_last[j, c] = sum over examples of hidden unit j; d / d b_last = n.
    params, x = random_params(13, SIZES), random_x(14)
    g = jax.grad(lambda p: jnp.sum(jaxnn.mlp_apply(p, x, activation="sigmoid")))(params)
    w0, b0 = np.asarray(params[0]["w"], np.float64), np.asarray(params[0]["b"], np.float64)
    hidden = 1 / (1 + np.exp(-(x @ w0 + b0)))
    np.testing.assert_allclose(g[1]["w"], np.repeat(hidden.sum(0)[:, None], 2, 1), rtol=1e-5)
    np.testing.assert_allclose(g[1]["b"], [N, N])


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_vmap_over_stacked_params_equals_loop(key, activation):
    keys = jax.random.split(key, RESTARTS)
    stacked = jax.vmap(lambda k: jaxnn.init_mlp(k, SIZES, activation=activation))(keys)
    x = random_x(15)
    batched = jax.vmap(lambda p: jaxnn.mlp_apply(p, x, activation=activation))(stacked)
    loop = [
        jaxnn.mlp_apply(jaxnn.init_mlp(k, SIZES, activation=activation), x, activation=activation)
        for k in keys
    ]
    assert batched.shape == (RESTARTS, N, 2)
    np.testing.assert_allclose(batched, np.stack(loop), rtol=1e-5, atol=1e-6)
    # Each restart's logits also match the NumPy forward pass of its own params.
    for i in range(RESTARTS):
        p_i = jax.tree.map(lambda a, i=i: a[i], stacked)
        np.testing.assert_allclose(batched[i], np_forward(p_i, x, activation), rtol=1e-5, atol=1e-5)


def test_vmap_over_inputs_equals_loop(key):
    params = jaxnn.init_mlp(key, SIZES)
    xs = random_x(16, 4 * N).reshape(4, N, 3)
    batched = jax.vmap(lambda x: jaxnn.mlp_apply(params, x))(xs)
    loop = np.stack([jaxnn.mlp_apply(params, x) for x in xs])
    np.testing.assert_allclose(batched, loop, rtol=1e-6)


# ---------------------------------------------------------------------------------------
# mlp_apply: dropout
# ---------------------------------------------------------------------------------------


def identity_net(width, layers):
    return [{"w": jnp.eye(width), "b": jnp.zeros(width)} for _ in range(layers)]


def test_dropout_with_key_differs_and_same_key_repeats(key):
    params, x = jaxnn.init_mlp(key, DEEP), random_x(17)
    k1, k2 = jax.random.fold_in(key, 1), jax.random.fold_in(key, 2)
    plain = jaxnn.mlp_apply(params, x)
    a = jaxnn.mlp_apply(params, x, dropout=0.5, key=k1)
    assert a.shape == plain.shape
    assert not np.allclose(a, plain)
    np.testing.assert_array_equal(a, jaxnn.mlp_apply(params, x, dropout=0.5, key=k1))
    assert not np.allclose(a, jaxnn.mlp_apply(params, x, dropout=0.5, key=k2))
    # A key with rate 0 is the deterministic network.
    np.testing.assert_allclose(jaxnn.mlp_apply(params, x, dropout=0.0, key=k1), plain, rtol=1e-6)


def test_single_layer_network_ignores_dropout(key):
    # [d, out] has no hidden layer, so there is nothing to drop.
    params, x = jaxnn.init_mlp(key, [3, 2]), random_x(18)
    plain = jaxnn.mlp_apply(params, x)
    for rate in (0.3, 0.9):
        np.testing.assert_array_equal(jaxnn.mlp_apply(params, x, dropout=rate, key=key), plain)


@pytest.mark.parametrize(("layers", "rate"), [(2, 0.5), (2, 0.2), (3, 0.4)])
def test_dropout_hits_hidden_layers_only_once_each(key, layers, rate):
    # Identity layers and positive inputs: relu(x) = x, so the logits are x with each hidden
    # layer's mask and 1/(1 - rate) applied. Every output is 0 or x / (1 - rate)^hidden, so
    # neither the input nor the output layer is dropped, and each hidden layer exactly once.
    width, n = 50, 200
    hidden = layers - 1
    x = np.random.default_rng(19).uniform(0.5, 2.0, size=(n, width)).astype(np.float32)
    out = np.asarray(jaxnn.mlp_apply(identity_net(width, layers), x, dropout=rate, key=key))
    kept = out != 0
    scale = np.float32(1 / (1 - rate)) ** hidden
    np.testing.assert_allclose(out[kept], x[kept] * scale, rtol=1e-5)
    # Each unit survives all hidden layers with probability (1 - rate)^hidden.
    p_zero = 1 - (1 - rate) ** hidden
    sd = np.sqrt(p_zero * (1 - p_zero) / out.size)
    assert abs(np.mean(~kept) - p_zero) < 5 * sd


# Many masks for the expectation tests: the inputs are tiled MASKS times along the example
# axis, and every (example, unit) entry draws its own mask, so each tile is an independent
# draw (one eager call instead of a vmap over thousands of keys).
MASKS = 4000


def _mean_over_masks(params, x, rate, key):
    n = x.shape[0]
    tiled = jnp.tile(jnp.asarray(x), (MASKS, 1))
    out = np.asarray(jaxnn.mlp_apply(params, tiled, dropout=rate, key=key))
    samples = out.reshape(MASKS, n, -1)
    return samples.mean(0), samples.std(0) / np.sqrt(MASKS)


def test_dropout_is_unbiased_for_the_logits(key):
    # With one hidden layer the logits are linear in the dropped activations, so their
    # mean over many masks is the deterministic output.
    params, x = jaxnn.init_mlp(key, [8, 8, 2]), random_x(20, 3, 8)
    plain = np.asarray(jaxnn.mlp_apply(params, x))
    mean, se = _mean_over_masks(params, x, 0.5, jax.random.fold_in(key, 3))
    assert np.all(se > 0)
    assert np.all(np.abs(mean - plain) < 5 * se + 1e-6)
    # The masks really vary: the spread is far from zero.
    assert np.all(se * np.sqrt(MASKS) > 0.01 * np.abs(plain).max())


def test_dropout_keeps_hidden_means_in_a_deep_relu_network(key):
    # Positive weights, biases and inputs keep every pre-activation positive, so relu is
    # the identity and each layer is linear in the previous, independently dropped one:
    # the mean over masks of the last hidden layer (read out through an identity layer)
    # equals the activations without dropout.
    rng = np.random.default_rng(21)
    width = 8
    hidden = [
        {
            "w": jnp.asarray(rng.uniform(0, 0.5, (width, width)), jnp.float32),
            "b": jnp.full(width, 0.1),
        }
        for _ in range(3)
    ]
    params = [*hidden, {"w": jnp.eye(width), "b": jnp.zeros(width)}]
    x = rng.uniform(0, 1, (3, width)).astype(np.float32)
    plain = np.asarray(jaxnn.mlp_apply(params, x))
    mean, se = _mean_over_masks(params, x, 0.3, key)
    assert np.all(se > 0)
    assert np.all(np.abs(mean - plain) < 5 * se)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, np.nan, np.inf, np.float32(-1e-3)])
def test_bad_dropout_rate_raises(key, rate):
    params, x = jaxnn.init_mlp(key, SIZES), random_x(22)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        jaxnn.mlp_apply(params, x, dropout=rate, key=key)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):  # also without a key
        jaxnn.mlp_apply(params, x, dropout=rate)


def test_array_dropout_rate_raises(key):
    params, x = jaxnn.init_mlp(key, SIZES), random_x(22)
    with pytest.raises(ValueError, match="scalar"):
        jaxnn.mlp_apply(params, x, dropout=np.array([0.1, 0.2]), key=key)


def test_traced_dropout_rate_under_vmap_equals_loop(key):
    params, x = jaxnn.init_mlp(key, DEEP), random_x(23)
    k = jax.random.fold_in(key, 4)
    rates = jnp.array([0.0, 0.25, 0.5, 0.75])
    batched = jax.vmap(lambda r: jaxnn.mlp_apply(params, x, dropout=r, key=k))(rates)
    loop = [jaxnn.mlp_apply(params, x, dropout=float(r), key=k) for r in rates]
    np.testing.assert_allclose(batched, np.stack(loop), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(batched[0], jaxnn.mlp_apply(params, x), rtol=1e-5, atol=1e-6)
    # ... and under jit, a traced rate with a traced key.
    apply = jax.jit(lambda r, k: jaxnn.mlp_apply(params, x, dropout=r, key=k))
    np.testing.assert_allclose(apply(0.25, k), loop[1], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------
# mlp_apply: shape and argument errors
# ---------------------------------------------------------------------------------------


def test_input_width_mismatch_names_both_shapes(key):
    params = jaxnn.init_mlp(key, SIZES)
    with pytest.raises(ValueError) as err:
        jaxnn.mlp_apply(params, np.zeros((5, 4), np.float32))
    msg = str(err.value)
    assert "(5, 4)" in msg and "(3, 6)" in msg
    # The same message while jit traces the call.
    with pytest.raises(ValueError) as err_jit:
        jax.jit(jaxnn.mlp_apply)(params, jnp.zeros((5, 4)))
    assert str(err_jit.value) == msg
    apply = jax.jit(functools.partial(jaxnn.mlp_apply, activation="tanh", dropout=0.5))
    with pytest.raises(ValueError) as err_jit:
        apply(params, jnp.zeros((5, 4)), key=key)
    assert str(err_jit.value) == msg


def test_hidden_layers_that_do_not_chain_raise(key):
    params = jaxnn.init_mlp(key, SIZES)
    bad = [params[0], {"w": jnp.zeros((5, 2)), "b": jnp.zeros(2)}]
    with pytest.raises(ValueError, match=r"layer 1.*\(5, 2\).*6") as err:
        jaxnn.mlp_apply(bad, np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError) as err_jit:
        jax.jit(jaxnn.mlp_apply)(bad, jnp.zeros((2, 3)))
    assert str(err_jit.value) == str(err.value)


def test_bias_shape_mismatch_raises(key):
    params = jaxnn.init_mlp(key, SIZES)
    params[0]["b"] = jnp.zeros(5)
    with pytest.raises(ValueError, match=r"bias.*\(5,\).*\(6,\)"):
        jaxnn.mlp_apply(params, np.zeros((2, 3), np.float32))
    params[0]["b"] = jnp.zeros((1, 6))  # would broadcast silently without the check
    with pytest.raises(ValueError, match="bias"):
        jaxnn.mlp_apply(params, np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("params", [[], None, {"w": jnp.zeros((3, 2)), "b": jnp.zeros(2)}])
def test_params_not_a_list_of_layers_raise(params):
    with pytest.raises(ValueError, match="params"):
        jaxnn.mlp_apply(params, np.zeros((2, 3), np.float32))


def test_scalar_x_raises(key):
    with pytest.raises(ValueError, match="scalar"):
        jaxnn.mlp_apply(jaxnn.init_mlp(key, [1, 2]), 1.0)


@pytest.mark.parametrize("activation", ["softplus", "Tanh", None])
def test_apply_unknown_activation_raises(key, activation):
    params, x = jaxnn.init_mlp(key, SIZES), random_x(25)
    with pytest.raises(ValueError, match="unknown activation") as err:
        jaxnn.mlp_apply(params, x, activation=activation)
    assert repr(activation) in str(err.value)

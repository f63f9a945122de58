"""L1 and L2 penalties against NumPy sums over the weight leaves, and their gradients."""

import itertools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from jax.test_util import check_grads

import jaxnn

SETTINGS = settings(max_examples=50, deadline=None)
SIZES = [3, 5, 2]  # an MLP d -> h -> out
RESTARTS = 4


def _normal(key, shape, scale=1.0):
    """float32 normals from ``key``, as NumPy; one draw shape, so it compiles once."""
    draw = np.asarray(jax.random.normal(key, (256,)))
    return (scale * draw[: math.prod(shape)]).reshape(shape)


def _away_from_zero(x):
    """Same signs, magnitudes >= 0.5: no finite-difference step crosses |w|'s kink."""
    return (np.sign(x) * (0.5 + np.abs(x))).astype(np.float32)


def _perceptron(key, d=4):
    kw, kb = jax.random.split(key)
    return {"w": _normal(kw, (d,)), "b": _normal(kb, ()) + np.float32(3.0)}


def _mlp(key, sizes=SIZES):
    keys = jax.random.split(key, 2 * (len(sizes) - 1))
    return [
        {"w": _normal(keys[2 * i], (m, n)), "b": _normal(keys[2 * i + 1], (n,)) + np.float32(5)}
        for i, (m, n) in enumerate(itertools.pairwise(sizes))
    ]


def _weights(params):
    """The 'w' arrays, found without the library: dict or a list of dicts."""
    layers = params if isinstance(params, list) else [params]
    return [np.asarray(layer["w"], np.float64) for layer in layers]


def _l1_64(params):
    return sum(np.abs(w).sum() for w in _weights(params))


def _l2_64(params):
    return sum((w**2).sum() for w in _weights(params))


def _stack(trees):
    return jax.tree.map(lambda *xs: np.stack(xs), *trees)


PENALTIES = [(jaxnn.l1_penalty, _l1_64), (jaxnn.l2_penalty, _l2_64)]
PENALTY_IDS = ["l1", "l2"]


# ---------------------------------------------------------------------- values


@pytest.mark.parametrize(("penalty", "reference"), PENALTIES, ids=PENALTY_IDS)
@pytest.mark.parametrize("model", ["perceptron", "mlp"])
def test_penalty_matches_numpy_sum_over_weights(key, penalty, reference, model):
    params = _perceptron(key) if model == "perceptron" else _mlp(key)
    out = penalty(params)
    assert out.shape == () and out.dtype == jnp.float32
    np.testing.assert_allclose(out, reference(params), rtol=1e-6)
    # Same result for jax arrays as for NumPy leaves, and under jit.
    as_jax = jax.tree.map(jnp.asarray, params)
    np.testing.assert_allclose(penalty(as_jax), out, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(penalty)(as_jax), out, rtol=1e-6)


@pytest.mark.parametrize(("penalty", "reference"), PENALTIES, ids=PENALTY_IDS)
def test_biases_are_not_penalised(key, penalty, reference):
    params = _mlp(key)
    huge_biases = [{"w": layer["w"], "b": 1e6 * np.ones_like(layer["b"])} for layer in params]
    np.testing.assert_allclose(penalty(huge_biases), penalty(params), rtol=1e-6)
    zero_weights = [{"w": np.zeros_like(layer["w"]), "b": layer["b"]} for layer in params]
    assert penalty(zero_weights) == 0.0
    perceptron = {"w": np.zeros(3, np.float32), "b": np.float32(7.0)}
    assert penalty(perceptron) == 0.0


@pytest.mark.parametrize(("penalty", "reference"), PENALTIES, ids=PENALTY_IDS)
@pytest.mark.parametrize("model", ["perceptron", "mlp"])
def test_stacked_batch_total_and_vmap_per_member(key, penalty, reference, model):
    keys = jax.random.split(key, RESTARTS)
    make = _perceptron if model == "perceptron" else _mlp
    members = [make(k) for k in keys]
    stacked = _stack(members)
    expected = np.array([reference(m) for m in members])
    per_member = jax.vmap(penalty)(stacked)
    assert per_member.shape == (RESTARTS,)
    np.testing.assert_allclose(per_member, expected, rtol=1e-6)
    np.testing.assert_allclose(penalty(stacked), expected.sum(), rtol=1e-6)
    np.testing.assert_allclose(jax.jit(jax.vmap(penalty))(stacked), expected, rtol=1e-6)


def test_course_l2_example():
    # L2 prefers weights (0.5, 0.5) to (1, 0): 0.5^2 + 0.5^2 = 0.5 < 1^2 + 0^2 = 1.
    spread = jaxnn.l2_penalty({"w": jnp.array([0.5, 0.5]), "b": jnp.float32(0.0)})
    sparse = jaxnn.l2_penalty({"w": jnp.array([1.0, 0.0]), "b": jnp.float32(0.0)})
    assert spread == 0.5 and sparse == 1.0
    assert spread < sparse
    # L1 is indifferent between the two: |0.5| + |0.5| = |1| + |0| = 1.
    assert jaxnn.l1_penalty({"w": jnp.array([0.5, 0.5])}) == 1.0
    assert jaxnn.l1_penalty({"w": jnp.array([1.0, 0.0])}) == 1.0


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.float16, jnp.bfloat16])
def test_non_float32_weights_give_float32_penalty(dtype):
    # The course's weights written as integers, or half-precision weights, must work
    # under strict dtype promotion (conftest), accumulating in float32.
    params = {"w": jnp.array([1, 0], dtype), "b": jnp.array(2, dtype)}
    for penalty in (jaxnn.l1_penalty, jaxnn.l2_penalty):
        out = penalty(params)
        assert out.dtype == jnp.float32
        assert out == 1.0
    mixed = [{"w": jnp.array([3, -4], jnp.int32)}, {"w": jnp.array([0.5], jnp.bfloat16)}]
    assert jaxnn.l1_penalty(mixed) == 7.5
    assert jaxnn.l2_penalty(mixed) == 25.25


def test_weight_leaves_by_attribute_name_and_nested_dicts(key):
    class Layer(NamedTuple):
        w: jax.Array
        b: jax.Array

    w1, w2 = _normal(key, (2, 3)), _normal(jax.random.fold_in(key, 1), (3,))
    params = {"hidden": Layer(w=w1, b=np.ones(3, np.float32)), "out": {"w": w2, "b": 1.0}}
    leaves = jaxnn.weight_leaves(params)
    assert len(leaves) == 2
    np.testing.assert_array_equal(leaves[0], w1)
    np.testing.assert_array_equal(leaves[1], w2)
    np.testing.assert_allclose(
        jaxnn.l2_penalty(params), (w1.astype(np.float64) ** 2).sum() + (w2**2).sum(), rtol=1e-6
    )


def test_weight_leaves_in_tree_order(key):
    params = _mlp(key)
    leaves = jaxnn.weight_leaves(params)
    assert [leaf.shape for leaf in leaves] == [(3, 5), (5, 2)]
    for leaf, layer in zip(leaves, params, strict=True):
        np.testing.assert_array_equal(leaf, layer["w"])


@pytest.mark.parametrize(
    "params",
    [
        {"kernel": np.ones(3), "bias": np.ones(())},
        {"b": np.ones(3)},
        [{"W": np.ones((2, 2)), "b": np.ones(2)}],
        {},
        [],
        np.ones(3),
        {"w": [1.0, 2.0]},  # "w" names a list here, not a leaf
    ],
)
@pytest.mark.parametrize("penalty", [jaxnn.l1_penalty, jaxnn.l2_penalty], ids=PENALTY_IDS)
def test_pytree_without_w_leaf_raises(penalty, params):
    with pytest.raises(ValueError, match="no weight leaf keyed 'w' found in params"):
        penalty(params)


# ------------------------------------------------------------------- gradients


@pytest.mark.parametrize("transform", [lambda f: f, jax.jit], ids=["eager", "jit"])
def test_gradients_are_sign_w_and_2w_with_zero_on_biases(key, transform):
    params = jax.tree.map(jnp.asarray, _mlp(key))
    g1 = transform(jax.grad(jaxnn.l1_penalty))(params)
    g2 = transform(jax.grad(jaxnn.l2_penalty))(params)
    for layer, d1, d2 in zip(params, g1, g2, strict=True):
        np.testing.assert_array_equal(d1["w"], np.sign(layer["w"]))
        np.testing.assert_allclose(d2["w"], 2 * np.asarray(layer["w"]), rtol=1e-6)
        np.testing.assert_array_equal(d1["b"], np.zeros_like(layer["b"]))
        np.testing.assert_array_equal(d2["b"], np.zeros_like(layer["b"]))


def test_perceptron_gradients(key):
    params = jax.tree.map(jnp.asarray, _perceptron(key))
    g1 = jax.grad(jaxnn.l1_penalty)(params)
    g2 = jax.grad(jaxnn.l2_penalty)(params)
    np.testing.assert_array_equal(g1["w"], np.sign(params["w"]))
    np.testing.assert_allclose(g2["w"], 2 * np.asarray(params["w"]), rtol=1e-6)
    assert g1["b"] == 0.0 and g2["b"] == 0.0


def test_penalties_check_grads(key):
    params = jax.tree.map(lambda x: jnp.asarray(_away_from_zero(x)), _mlp(key))
    check_grads(jax.jit(jaxnn.l2_penalty), (params,), order=2, modes=["rev"], eps=1e-2)
    check_grads(jax.jit(jaxnn.l1_penalty), (params,), order=1, modes=["rev"], eps=1e-2)


# -------------------------------------------------------------------- properties


@SETTINGS
@given(
    w=hnp.arrays(np.float32, (6,), elements=st.floats(-100, 100, width=32)),
    c=st.floats(-10, 10, width=32),
)
def test_penalties_nonnegative_and_homogeneous(w, c):
    params = {"w": w, "b": np.float32(1.0)}
    scaled = {"w": np.float32(c) * w, "b": np.float32(1.0)}
    l1, l2 = jaxnn.l1_penalty(params), jaxnn.l2_penalty(params)
    assert l1 >= 0 and l2 >= 0
    # L2 is homogeneous of degree 2, L1 of degree 1 (in |c|).
    np.testing.assert_allclose(jaxnn.l2_penalty(scaled), c * c * l2, rtol=1e-5, atol=1e-30)
    np.testing.assert_allclose(jaxnn.l1_penalty(scaled), abs(c) * l1, rtol=1e-5, atol=1e-30)
    # And ||w||_2^2 <= ||w||_1^2, another independent consequence of the definitions.
    assert l2 <= l1 * l1 * (1 + 1e-5)

"""Activations and encodings against NumPy float64 references and ``jax.grad``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jaxnn
from jaxnn.activations import DERIVATIVES

SETTINGS = settings(max_examples=50, deadline=None)
F32 = np.finfo(np.float32)

# Every regime: the float32 limits, the ±1e4 of the contract, where exp overflows
# float32 (88.8), the kinks at 0 (and -0.0, tiny), and ordinary values.
_POSITIVE = [F32.tiny, 1.0, 20.0, 88.8, 1e4, F32.max]
EXTREMES = np.array([*(-v for v in reversed(_POSITIVE)), -0.0, 0.0, *_POSITIVE], np.float32)
FINITE_F32 = st.floats(allow_nan=False, allow_infinity=False, width=32)
# One grid for every elementwise test, so each operation compiles once.
GRID = np.concatenate(
    [EXTREMES, np.linspace(-1e4, 1e4, 101), np.linspace(-10, 10, 81)], dtype=np.float32
)


# float64 references, written independently of the library's formulas.
def _sigmoid64(x):
    return np.exp(-np.logaddexp(0.0, -np.asarray(x, np.float64)))


def _tanh64(x):
    return np.tanh(np.asarray(x, np.float64))


def _relu64(x):
    return np.maximum(np.asarray(x, np.float64), 0.0)


def _softmax64(z, axis=-1):
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


REFERENCES = {"sigmoid": _sigmoid64, "tanh": _tanh64, "relu": _relu64}
RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, np.inf)}


# ---------------------------------------------------------------------------- step


def test_step_values():
    x = jnp.array([-1e4, -1.0, -F32.tiny, -0.0, 0.0, F32.tiny, 0.5, 1e4], jnp.float32)
    out = jaxnn.step(x)
    assert out.dtype == jnp.float32
    np.testing.assert_array_equal(out, np.where(np.asarray(x) >= 0, 1.0, 0.0))
    np.testing.assert_array_equal(out, [0, 0, 0, 1, 1, 1, 1, 1])


def test_step_of_zero_is_one():
    # The course's rule: y_hat = 1 if w·x + b >= 0, so a score of exactly 0 is positive.
    assert jaxnn.step(0.0) == 1.0
    assert jaxnn.step(jnp.float32(0.0)) == 1.0
    assert jaxnn.step(jnp.float32(-0.0)) == 1.0


def test_step_integer_input():
    out = jaxnn.step(jnp.array([-3, -1, 0, 1, 7], jnp.int32))
    assert out.dtype == jnp.float32
    np.testing.assert_array_equal(out, [0.0, 0.0, 1.0, 1.0, 1.0])
    assert jaxnn.step(0) == 1.0
    assert jaxnn.step(-1) == 0.0


def test_step_keeps_shape_and_has_zero_gradient():
    x = jnp.array([[-2.0, 0.0, 3.0], [1.0, -1.0, 0.5]])
    assert jaxnn.step(x).shape == (2, 3)
    grads = jax.vmap(jax.grad(jaxnn.step))(x.reshape(-1))
    np.testing.assert_array_equal(grads, np.zeros(6))


# ---------------------------------------------------- sigmoid, tanh, relu: values


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_activation_matches_float64_reference_and_is_finite(name):
    f = getattr(jaxnn, name)
    x = GRID
    out = f(jnp.asarray(x))
    assert out.dtype == jnp.float32
    assert out.shape == x.shape
    assert np.isfinite(out).all()
    lo, hi = RANGES[name]
    assert (np.asarray(out) >= lo).all() and (np.asarray(out) <= hi).all()
    np.testing.assert_allclose(out, REFERENCES[name](x), rtol=1e-6, atol=1e-7)


def test_activation_known_values():
    assert jaxnn.sigmoid(0.0) == 0.5
    assert jaxnn.tanh(0.0) == 0.0
    assert jaxnn.relu(0.0) == 0.0
    np.testing.assert_array_equal(jaxnn.sigmoid(jnp.array([1e4, -1e4])), [1.0, 0.0])
    np.testing.assert_array_equal(jaxnn.tanh(jnp.array([1e4, -1e4])), [1.0, -1.0])
    np.testing.assert_array_equal(jaxnn.relu(jnp.array([-1e4, 1e4])), [0.0, 1e4])
    # The course's definitions, at a point where they are exact enough in float64.
    np.testing.assert_allclose(jaxnn.sigmoid(2.0), 1 / (1 + np.exp(-2.0)), rtol=1e-6)
    e, ie = np.exp(1.5), np.exp(-1.5)
    np.testing.assert_allclose(jaxnn.tanh(1.5), (e - ie) / (e + ie), rtol=1e-6)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_activation_integer_input_gives_float32(name):
    f = getattr(jaxnn, name)
    x = np.array([-2, 0, 3], np.int32)
    out = f(jnp.asarray(x))
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, REFERENCES[name](x), rtol=1e-6)


@SETTINGS
@given(x=hnp.arrays(np.float32, (16,), elements=FINITE_F32))
def test_activations_finite_for_every_finite_input(x):
    for name in ("sigmoid", "tanh", "relu"):
        assert np.isfinite(getattr(jaxnn, name)(x)).all(), name
        assert np.isfinite(DERIVATIVES[name](x)).all(), name
    assert np.isfinite(jaxnn.step(x)).all()


# ----------------------------------------------------- closed-form derivatives


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_derivative_equals_jax_grad(name):
    f, df = jaxnn.get_activation(name), DERIVATIVES[name]
    x = jnp.asarray(GRID)
    expected = jax.vmap(jax.grad(f))(x)
    np.testing.assert_allclose(df(x), expected, rtol=1e-6, atol=1e-7)


# Compiled once, for the property test's many examples.
VMAPPED_GRADS = {name: jax.jit(jax.vmap(jax.grad(f))) for name, f in jaxnn.ACTIVATIONS.items()}


@SETTINGS
@given(x=hnp.arrays(np.float32, (16,), elements=st.floats(-60, 60, width=32)))
def test_derivatives_equal_jax_grad_property(x):
    for name, grad in VMAPPED_GRADS.items():
        np.testing.assert_allclose(
            DERIVATIVES[name](x), grad(x), rtol=1e-5, atol=1e-6, err_msg=name
        )


def test_derivatives_match_course_formulas():
    x = np.linspace(-8.0, 8.0, 33, dtype=np.float32)
    s = _sigmoid64(x)
    np.testing.assert_allclose(jaxnn.sigmoid_derivative(x), s * (1 - s), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(jaxnn.tanh_derivative(x), 1 - _tanh64(x) ** 2, atol=1e-6)
    np.testing.assert_array_equal(jaxnn.relu_derivative(x), (x > 0).astype(np.float32))
    # Maxima at 0: 1/4 for the sigmoid, 1 for tanh; relu'(0) is taken as 0.
    assert jaxnn.sigmoid_derivative(0.0) == 0.25
    assert jaxnn.tanh_derivative(0.0) == 1.0
    assert jaxnn.relu_derivative(0.0) == 0.0
    assert float(jnp.max(jaxnn.sigmoid_derivative(x))) <= 0.25


def test_derivative_table_covers_activations():
    assert set(DERIVATIVES) == set(jaxnn.ACTIVATIONS) == {"sigmoid", "tanh", "relu"}
    assert jaxnn.sigmoid_derivative is DERIVATIVES["sigmoid"]


# -------------------------------------------------------------- get_activation


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_get_activation_returns_the_function(name):
    assert jaxnn.get_activation(name) is getattr(jaxnn, name)


@pytest.mark.parametrize("name", ["gelu", "ReLU", "", "softmax"])
def test_get_activation_unknown_name_raises(name):
    with pytest.raises(ValueError, match=f"unknown activation '{name}'") as info:
        jaxnn.get_activation(name)
    for valid in ("relu", "sigmoid", "tanh"):
        assert valid in str(info.value)


@pytest.mark.parametrize("name", [None, ["relu"], 3])
def test_get_activation_non_string_raises_value_error(name):
    with pytest.raises(ValueError, match="unknown activation"):
        jaxnn.get_activation(name)


# ---------------------------------------------------------------------- softmax


@SETTINGS
@given(
    z=hnp.arrays(np.float32, (2, 3, 4), elements=st.floats(-1e4, 1e4, width=32)),
    axis=st.integers(-3, 2),
)
def test_softmax_sums_to_one_along_any_axis(z, axis):
    p = np.asarray(jaxnn.softmax(z, axis=axis))
    assert p.shape == z.shape
    assert np.isfinite(p).all()
    assert (p >= 0).all() and (p <= 1).all()
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, atol=1e-5)
    np.testing.assert_allclose(p, _softmax64(z, axis=axis), atol=1e-6)


def test_softmax_large_logits_no_overflow_or_nan():
    z = jnp.array([[1e4, 1e4, -1e4], [-1e4, 1e4, 0.0], [1e4, -1e4, 1e4 - 1.0]])
    p = jaxnn.softmax(z)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, _softmax64(z), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(p[0], [0.5, 0.5, 0.0])
    np.testing.assert_array_equal(p[1], [0.0, 1.0, 0.0])
    # Gradients through the max-subtraction stay finite too.
    g = jax.grad(lambda z: jnp.sum(jaxnn.softmax(z)[:, 0] * jnp.array([1.0, 2.0, 3.0])))(z)
    assert np.isfinite(g).all()


def test_softmax_float32_extremes():
    p = jaxnn.softmax(jnp.array([F32.max, F32.min, 0.0]))
    np.testing.assert_array_equal(p, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(jaxnn.softmax(jnp.array([F32.max, F32.max])), [0.5, 0.5])


def test_softmax_matches_float64_reference(key):
    z = 10.0 * jax.random.normal(key, (2, 3, 4))
    for axis in (-1, 0, 1):
        np.testing.assert_allclose(
            jaxnn.softmax(z, axis=axis), _softmax64(z, axis=axis), rtol=1e-5, atol=1e-7
        )


def test_softmax_is_shift_invariant(key):
    z = jax.random.normal(key, (2, 3, 4))
    np.testing.assert_allclose(jaxnn.softmax(z + 1000.0), jaxnn.softmax(z), atol=1e-4)


@SETTINGS
@given(z=hnp.arrays(np.float32, (16, 2), elements=st.floats(-1e4, 1e4, width=32)))
def test_two_class_softmax_is_sigmoid_of_difference(z):
    # The course: with two classes softmax([z1, z2])[0] = sigmoid(z1 - z2).
    p = jaxnn.softmax(z)
    d = z[:, 0] - z[:, 1]
    np.testing.assert_allclose(p[:, 0], jaxnn.sigmoid(d), atol=1e-6)
    np.testing.assert_allclose(p[:, 1], jaxnn.sigmoid(-d), atol=1e-6)


def test_softmax_integer_logits_and_transforms():
    p = jaxnn.softmax(jnp.array([1, 2, 3], jnp.int32))
    assert p.dtype == jnp.float32
    np.testing.assert_allclose(p, _softmax64([1, 2, 3]), rtol=1e-6)
    z = jnp.arange(24.0).reshape(2, 3, 4) / 4
    expected = _softmax64(z)
    np.testing.assert_allclose(jax.jit(jaxnn.softmax)(z), expected, rtol=1e-6)
    np.testing.assert_allclose(jax.vmap(jaxnn.softmax)(z), expected, rtol=1e-6)
    np.testing.assert_allclose(
        jax.jit(jaxnn.softmax, static_argnames="axis")(z, axis=0), _softmax64(z, 0), rtol=1e-6
    )


def test_softmax_scalar_raises():
    with pytest.raises(ValueError, match="at least one axis"):
        jaxnn.softmax(jnp.float32(1.0))


# ---------------------------------------------------------------------- one_hot


@pytest.mark.parametrize(
    ("labels", "k"),
    [
        (np.array(2), 3),
        (np.array([0, 2, 1, 2]), 3),
        (np.array([[0, 4], [3, 1], [2, 2]]), 5),
        (np.array([0, 0]), 1),
        (np.array([], np.int32), 4),
    ],
)
def test_one_hot_matches_numpy_eye(labels, k):
    out = jaxnn.one_hot(jnp.asarray(labels, jnp.int32), k)
    assert out.dtype == jnp.float32
    assert out.shape == (*labels.shape, k)
    np.testing.assert_array_equal(out, np.eye(k, dtype=np.float32)[labels])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.int64])
def test_one_hot_integer_dtypes_and_python_inputs(dtype):
    labels = np.array([3, 0, 1], dtype)
    out = jaxnn.one_hot(labels, 4)
    assert out.dtype == jnp.float32
    np.testing.assert_array_equal(out, np.eye(4)[labels])
    np.testing.assert_array_equal(jaxnn.one_hot([1, 0], 2), [[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_array_equal(jaxnn.one_hot(1, np.int64(3)), [0.0, 1.0, 0.0])


def test_one_hot_under_jit_and_vmap():
    labels = jnp.array([2, 0, 1])
    expected = np.eye(3)[np.asarray(labels)]
    np.testing.assert_array_equal(jax.jit(jaxnn.one_hot, static_argnums=1)(labels, 3), expected)
    np.testing.assert_array_equal(jax.vmap(lambda y: jaxnn.one_hot(y, 3))(labels), expected)


@pytest.mark.parametrize(
    ("labels", "bad"), [([0, 3, 1], "3"), ([-1, 0], "-1"), ([7], "7"), ([[0], [5]], "5")]
)
def test_one_hot_out_of_range_raises(labels, bad):
    with pytest.raises(ValueError, match=r"one_hot: labels must lie in \[0, 3\)") as info:
        jaxnn.one_hot(jnp.array(labels), 3)
    assert f"e.g. {bad}" in str(info.value)


@pytest.mark.parametrize(
    "labels",
    [jnp.array([0.0, 1.0]), np.array([0.5]), [1.0, 2.0], np.array([1.0]), jnp.array([True])],
)
def test_one_hot_non_integer_labels_raise(labels):
    """Float ids are refused even when whole (1.0), and so are booleans."""
    with pytest.raises(TypeError, match="one_hot: labels must be integer class ids, got dtype"):
        jaxnn.one_hot(labels, 3)
    with pytest.raises(TypeError, match="one_hot: labels must be integer class ids, got dtype"):
        jax.jit(jaxnn.one_hot, static_argnums=1)(jnp.asarray(labels), 3)


INT_DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_one_hot_narrow_labels_do_not_wrap(dtype):
    """Issue 13: uint8 5 with 300 classes had ones at 5 and 261 (300 wraps to 44)."""
    out = np.asarray(jaxnn.one_hot(np.array([5], dtype), 300))
    assert out.shape == (1, 300)
    np.testing.assert_array_equal(np.flatnonzero(out[0]), [5])
    jitted = jax.jit(jaxnn.one_hot, static_argnums=1)(jnp.array([5], dtype), 300)
    np.testing.assert_array_equal(jitted, out)


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("k", [3, 300, 70_000])
def test_one_hot_every_integer_dtype_equals_int32(dtype, k):
    ids = np.array([0, 2, 1, min(np.iinfo(dtype).max, k - 1)])
    expected = jaxnn.one_hot(ids.astype(np.int32), k)
    assert float(expected.sum()) == len(ids)
    np.testing.assert_array_equal(jaxnn.one_hot(ids.astype(dtype), k), expected)


@pytest.mark.parametrize(
    ("labels", "dtype", "bad"),
    [([0, 3], np.uint8, "3"), ([-1, 0], np.int8, "-1"), ([2**40], np.int64, str(2**40))],
)
def test_one_hot_out_of_range_raises_for_every_dtype(labels, dtype, bad):
    with pytest.raises(ValueError, match=r"one_hot: labels must lie in \[0, 3\)") as info:
        jaxnn.one_hot(np.array(labels, dtype), 3)
    assert f"e.g. {bad}" in str(info.value)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.uint32])
def test_one_hot_invalid_ids_under_jit_give_zero_rows(dtype):
    """Under jit the values are not checked: an id outside [0, k) matches no class."""
    info = np.iinfo(dtype)
    ids = np.array([1, 3, info.max, info.min], dtype)
    out = jax.jit(jaxnn.one_hot, static_argnums=1)(ids, 3)
    expected = np.zeros((4, 3), np.float32)
    expected[0, 1] = 1.0
    expected[3, 0] = 1.0 if info.min == 0 else 0.0
    np.testing.assert_array_equal(out, expected)


@SETTINGS
@given(
    dtype=st.sampled_from(INT_DTYPES),
    k=st.sampled_from([1, 5, 127, 128, 255, 256, 300, 65_536]),
    data=st.data(),
)
def test_one_hot_property_any_dtype_is_numpy_eye(dtype, k, data):
    high = min(k - 1, int(np.iinfo(dtype).max))
    ids = data.draw(hnp.arrays(dtype, (6,), elements=st.integers(0, high)))
    out = np.asarray(jaxnn.one_hot(ids, k))
    np.testing.assert_array_equal(out.sum(axis=-1), np.ones(6))
    np.testing.assert_array_equal(np.argmax(out, axis=-1), ids.astype(np.int64))


@pytest.mark.parametrize(
    ("k", "error", "match"),
    [(0, ValueError, "num_classes must be >= 1"), (3.0, TypeError, "num_classes must be a")],
)
def test_one_hot_bad_num_classes(k, error, match):
    with pytest.raises(error, match=match):
        jaxnn.one_hot(jnp.array([0]), k)

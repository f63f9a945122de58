"""Cross-entropy losses against optax, NumPy float64 references and the course's numbers."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from jax.test_util import check_grads

import jaxnn

SETTINGS = settings(max_examples=50, deadline=None)
N, K = 8, 4  # one shape throughout, so each operation compiles once
F32 = np.finfo(np.float32)
BIG = st.floats(-1e4, 1e4, width=32)
# Compiled once, for the property tests' many examples (jit skips the value checks).
BCE_VALUE_AND_GRAD = jax.jit(jax.value_and_grad(jaxnn.binary_cross_entropy))
CE_VALUE_AND_GRAD = jax.jit(jax.value_and_grad(jaxnn.cross_entropy))


# float64 references, independent of the library's log-space formulas.
def _sigmoid64(z):
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, np.float64)))


def _bce_course64(p, y):
    """The course's formula on probabilities: -(1/n) sum [y ln p + (1 - y) ln(1 - p)]."""
    p, y = np.asarray(p, np.float64), np.asarray(y, np.float64)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def _bce_stable64(z, y):
    """The same loss from logits, stable for any z: ln(1 + e^z) - y z."""
    z, y = np.asarray(z, np.float64), np.asarray(y, np.float64)
    return np.mean(np.logaddexp(0.0, z) - y * z)


def _log_softmax64(z):
    z = np.asarray(z, np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))


def _ce64(z, y):
    """-(1/n) sum_i sum_j y_ij ln p_ij, y one-hot or probabilities."""
    return -np.mean(np.sum(np.asarray(y, np.float64) * _log_softmax64(z), axis=-1))


def _softmax64(z):
    return np.exp(_log_softmax64(z))


def _normal(key, shape, scale=1.0):
    """float32 normals from ``key``, as NumPy; one draw shape, so it compiles once."""
    draw = np.asarray(jax.random.normal(key, (256,)))
    return (scale * draw[: math.prod(shape)]).reshape(shape)


def _random_bce_problem(key, n=N, scale=3.0):
    kz, ky = jax.random.split(key)
    return _normal(kz, (n,), scale), (_normal(ky, (n,)) > 0).astype(np.float32)


def _random_ce_problem(key, n=N, k=K, scale=3.0):
    kz, ky = jax.random.split(key)
    return _normal(kz, (n, k), scale), np.argmax(_normal(ky, (n, k)), axis=1).astype(np.int32)


def _random_probabilities(key, shape):
    return np.asarray(_softmax64(_normal(key, shape)), np.float32)


# ------------------------------------------------------- binary cross-entropy: values


def test_bce_matches_optax_and_course_formula(key):
    z, y = _random_bce_problem(key)
    loss = jaxnn.binary_cross_entropy(z, y)
    assert loss.shape == () and loss.dtype == jnp.float32
    np.testing.assert_allclose(loss, jnp.mean(optax.sigmoid_binary_cross_entropy(z, y)), rtol=1e-6)
    np.testing.assert_allclose(loss, _bce_course64(_sigmoid64(z), y), rtol=1e-5)
    np.testing.assert_allclose(loss, _bce_stable64(z, y), rtol=1e-5)


def test_bce_soft_labels_match_optax(key):
    z, _ = _random_bce_problem(key)
    y = _sigmoid64(_normal(jax.random.fold_in(key, 1), z.shape)).astype(np.float32)
    np.testing.assert_allclose(
        jaxnn.binary_cross_entropy(z, y),
        jnp.mean(optax.sigmoid_binary_cross_entropy(z, y)),
        rtol=1e-6,
    )
    np.testing.assert_allclose(jaxnn.binary_cross_entropy(z, y), _bce_stable64(z, y), rtol=1e-5)


def test_bce_gradient_is_prediction_minus_label_over_n(key):
    # The course: dE/dz = -(y - y_hat), averaged over the n examples.
    z, y = _random_bce_problem(key)
    grad = BCE_VALUE_AND_GRAD(z, y)[1]
    expected = (_sigmoid64(z) - np.asarray(y)) / z.shape[0]
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-8)
    optax_grad = jax.jit(jax.grad(lambda z: jnp.mean(optax.sigmoid_binary_cross_entropy(z, y))))
    np.testing.assert_allclose(grad, optax_grad(z), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(jax.grad(jaxnn.binary_cross_entropy)(z, y), grad, rtol=1e-6)


def test_bce_doors_example():
    # The course's doors: gifts with probabilities 0.8, 0.7, 0.1, outcome (gift, gift, none).
    p = np.array([0.8, 0.7, 0.1])
    y = jnp.array([1.0, 1.0, 0.0])
    logits = jnp.asarray(np.log(p / (1 - p)), jnp.float32)
    ce_sum = 3 * float(jaxnn.binary_cross_entropy(logits, y))
    expected = -math.log(0.8) - math.log(0.7) - math.log(0.9)
    assert ce_sum == pytest.approx(expected, rel=1e-6)
    assert ce_sum == pytest.approx(0.6852, abs=1e-4)
    assert round(ce_sum, 2) == 0.69
    # P(outcome) = 0.8 x 0.7 x 0.9 = 0.504 = exp(-CE).
    assert math.exp(-ce_sum) == pytest.approx(0.504, rel=1e-6)
    # The same outcome under a worse model (probabilities on the wrong side) costs more.
    worse = jnp.asarray(np.log(np.array([0.3, 0.4, 0.6]) / np.array([0.7, 0.6, 0.4])))
    assert 3 * float(jaxnn.binary_cross_entropy(worse.astype(jnp.float32), y)) > ce_sum


# -------------------------------------------- binary cross-entropy: large logits


def test_bce_of_1e4_logits_is_exact():
    assert jaxnn.binary_cross_entropy(jnp.array([1e4]), jnp.array([0.0])) == 1e4
    assert jaxnn.binary_cross_entropy(jnp.array([-1e4]), jnp.array([1.0])) == 1e4
    assert jaxnn.binary_cross_entropy(jnp.array([1e4]), jnp.array([1.0])) == 0.0
    assert jaxnn.binary_cross_entropy(jnp.array([-1e4]), jnp.array([0.0])) == 0.0


def test_bce_large_logits_value_and_gradient():
    z = jnp.array([1e4, -1e4, 1e4, -1e4, 50.0, -50.0, 0.0, 0.0])
    y = jnp.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    n = z.shape[0]
    loss = jaxnn.binary_cross_entropy(z, y)
    grad = BCE_VALUE_AND_GRAD(z, y)[1]
    assert loss == pytest.approx((1e4 + 1e4 + 50 + 50 + 2 * math.log(2)) / n, rel=1e-6)
    np.testing.assert_allclose(grad, np.array([1, -1, 0, 0, 1, -1, -0.5, 0.5]) / n, rtol=1e-6)
    # log(sigmoid(z)) would give -inf here; the loss must not.
    np.testing.assert_allclose(loss, _bce_stable64(z, y), rtol=1e-6)


@SETTINGS
@given(
    z=hnp.arrays(np.float32, (N,), elements=BIG),
    y=hnp.arrays(np.float32, (N,), elements=st.sampled_from([0.0, 1.0])),
)
def test_bce_value_and_gradient_for_logits_up_to_1e4(z, y):
    loss, grad = BCE_VALUE_AND_GRAD(z, y)
    assert np.isfinite(loss) and np.isfinite(grad).all()
    assert loss >= 0
    np.testing.assert_allclose(loss, _bce_stable64(z, y), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grad, (_sigmoid64(z) - y) / N, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("n", [1, 3, N])
def test_bce_finite_for_float32_extreme_logits(n):
    # "finite for any finite logits": each loss is about |z| <= F32.max, and their mean
    # must not overflow in the sum.
    z = np.full((n,), F32.max)
    y = np.zeros((n,), np.float32)
    loss, grad = BCE_VALUE_AND_GRAD(z, y)
    assert np.isfinite(loss)
    assert loss == pytest.approx(float(F32.max), rel=1e-6)
    np.testing.assert_allclose(grad, np.full(n, 1 / n), rtol=1e-6)
    mixed = np.array([F32.max, F32.min] * 4)
    labels = np.array([0.0, 1.0, 1.0, 0.0] * 2, np.float32)
    loss = jaxnn.binary_cross_entropy(mixed, labels)
    assert np.isfinite(loss) and loss == pytest.approx(float(F32.max) / 2, rel=1e-6)


# ------------------------------------------------------ binary cross-entropy: shapes


@pytest.mark.parametrize("z_shape", [(), (1,)], ids=["z(n,)", "z(n,1)"])
@pytest.mark.parametrize("y_shape", [(), (1,)], ids=["y(n,)", "y(n,1)"])
def test_bce_accepts_n_and_n1_combinations(key, z_shape, y_shape):
    z, y = _random_bce_problem(key)
    z_shape, y_shape = (N, *z_shape), (N, *y_shape)
    expected = _bce_stable64(z, y)
    loss = jaxnn.binary_cross_entropy(z.reshape(z_shape), y.reshape(y_shape))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    grad = BCE_VALUE_AND_GRAD(z.reshape(z_shape), y.reshape(y_shape))[1]
    assert grad.shape == z_shape
    np.testing.assert_allclose(grad.reshape(-1), (_sigmoid64(z) - y) / N, rtol=1e-5, atol=1e-8)


def test_bce_label_dtypes_agree(key):
    z, y = _random_bce_problem(key)
    expected = jaxnn.binary_cross_entropy(z, y)
    for labels in (y.astype(jnp.int32), y.astype(bool), np.asarray(y, np.float64), y.tolist()):
        np.testing.assert_allclose(jaxnn.binary_cross_entropy(z, labels), expected, rtol=1e-6)
    np.testing.assert_allclose(jaxnn.binary_cross_entropy(z.tolist(), y), expected, rtol=1e-6)


def test_bce_check_grads(key):
    z, y = _random_bce_problem(key, scale=2.0)
    f = jax.jit(lambda z: jaxnn.binary_cross_entropy(z, y))
    check_grads(f, (z,), order=2, modes=["rev"], eps=1e-2)


# ---------------------------------------------------- cross-entropy: values


def test_ce_matches_optax_and_numpy(key):
    z, ids = _random_ce_problem(key)
    onehot = np.eye(K, dtype=np.float32)[ids]
    loss = jaxnn.cross_entropy(z, ids)
    assert loss.shape == () and loss.dtype == jnp.float32
    np.testing.assert_allclose(
        loss, jnp.mean(optax.softmax_cross_entropy_with_integer_labels(z, ids)), rtol=1e-6
    )
    np.testing.assert_allclose(
        jaxnn.cross_entropy(z, onehot),
        jnp.mean(optax.softmax_cross_entropy(z, onehot)),
        rtol=1e-6,
    )
    np.testing.assert_allclose(loss, _ce64(z, onehot), rtol=1e-5)
    # The course's form: -mean of ln of the probability of the true class.
    p = _softmax64(z)
    np.testing.assert_allclose(loss, -np.mean(np.log(p[np.arange(N), ids])), rtol=1e-5)


def test_ce_soft_labels_match_optax(key):
    z, _ = _random_ce_problem(key)
    y = _random_probabilities(jax.random.fold_in(key, 1), z.shape)
    loss = jaxnn.cross_entropy(z, y)
    np.testing.assert_allclose(loss, jnp.mean(optax.softmax_cross_entropy(z, y)), rtol=1e-6)
    np.testing.assert_allclose(loss, _ce64(z, y), rtol=1e-5)


def test_ce_int_and_one_hot_labels_agree(key):
    z, ids = _random_ce_problem(key)
    onehot = jaxnn.one_hot(ids, K)
    loss_ids, grad_ids = CE_VALUE_AND_GRAD(z, ids)
    loss_oh, grad_oh = CE_VALUE_AND_GRAD(z, onehot)
    np.testing.assert_allclose(jaxnn.cross_entropy(z, onehot), loss_ids, rtol=1e-6)
    np.testing.assert_allclose(loss_ids, loss_oh, rtol=1e-6)
    np.testing.assert_allclose(grad_ids, grad_oh, rtol=1e-6, atol=1e-8)
    # Integer-typed one-hot rows and NumPy/list ids are accepted too.
    np.testing.assert_allclose(jaxnn.cross_entropy(z, onehot.astype(jnp.int32)), loss_ids)
    np.testing.assert_allclose(jaxnn.cross_entropy(z, np.asarray(ids).tolist()), loss_ids)


def test_ce_gradient_is_softmax_minus_labels_over_n(key):
    z, ids = _random_ce_problem(key)
    grad = jax.grad(jaxnn.cross_entropy)(z, ids)  # eager, once
    expected = (_softmax64(z) - np.eye(K)[np.asarray(ids)]) / N
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-8)


def test_ce_two_classes_equals_bce(key):
    # With two classes, softmax([z, 0])[0] = sigmoid(z), so the losses coincide.
    z, y = _random_bce_problem(key)
    two = jnp.stack([jnp.zeros_like(z), z], axis=1)
    np.testing.assert_allclose(
        jaxnn.cross_entropy(two, y.astype(jnp.int32)),
        jaxnn.binary_cross_entropy(z, y),
        rtol=1e-5,
    )


def test_ce_doors_example_as_two_classes():
    p = np.array([0.8, 0.7, 0.1])
    logits = jnp.asarray(np.stack([np.zeros(3), np.log(p / (1 - p))], axis=1), jnp.float32)
    ce_sum = 3 * float(jaxnn.cross_entropy(logits, jnp.array([1, 1, 0])))
    assert ce_sum == pytest.approx(-math.log(0.8) - math.log(0.7) - math.log(0.9), rel=1e-6)


# ------------------------------------------------- cross-entropy: large logits


def test_ce_large_logits_value_and_gradient():
    z = jnp.array([[1e4, -1e4, 0.0], [0.0, 1e4, -1e4], [1e4, 1e4, -1e4]])
    ids = jnp.array([1, 1, 0])
    loss, grad = jaxnn.cross_entropy(z, ids), CE_VALUE_AND_GRAD(z, ids)[1]
    # Per example: 2e4, 0 and ln 2.
    assert loss == pytest.approx((2e4 + 0 + math.log(2)) / 3, rel=1e-6)
    expected = (_softmax64(z) - np.eye(3)[np.asarray(ids)]) / 3
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-7)
    assert np.isfinite(grad).all()


@SETTINGS
@given(
    z=hnp.arrays(np.float32, (N, K), elements=BIG),
    ids=hnp.arrays(np.int32, (N,), elements=st.integers(0, K - 1)),
)
def test_ce_is_nonnegative_and_finite(z, ids):
    loss, grad = CE_VALUE_AND_GRAD(z, ids)
    assert np.isfinite(loss) and np.isfinite(grad).all()
    assert loss >= 0
    # log-softmax with the max subtracted first: 1e-6 of the loss itself (the
    # old z - logsumexp(z) was off by the float32 spacing at max|z|: 1e-3 at 1e4)
    np.testing.assert_allclose(loss, _ce64(z, np.eye(K)[ids]), rtol=1e-6, atol=1e-7)
    soft = CE_VALUE_AND_GRAD(z, np.full((N, K), 1 / K, np.float32))[0]
    assert np.isfinite(soft) and soft >= 0


def test_ce_check_grads(key):
    z, ids = _random_ce_problem(key, scale=1.0)
    f = jax.jit(lambda z: jaxnn.cross_entropy(z, ids))
    check_grads(f, (z,), order=2, modes=["rev"], eps=1e-2)
    y = _random_probabilities(jax.random.fold_in(key, 2), (N, K))
    check_grads(jax.jit(lambda z: jaxnn.cross_entropy(z, y)), (z,), order=1, eps=1e-2)


# -------------------------------------------------------------- jit and vmap


@pytest.mark.parametrize("transform", [jax.jit, lambda f: f], ids=["jit", "eager"])
def test_losses_under_jit_equal_eager(key, transform):
    z, y = _random_bce_problem(key)
    zc, ids = _random_ce_problem(key)
    bce, ce = transform(jaxnn.binary_cross_entropy), transform(jaxnn.cross_entropy)
    np.testing.assert_allclose(bce(z, y), _bce_stable64(z, y), rtol=1e-5)
    onehot = np.eye(K, dtype=np.float32)[np.asarray(ids)]
    np.testing.assert_allclose(ce(zc, ids), _ce64(zc, onehot), rtol=1e-5)
    np.testing.assert_allclose(ce(zc, onehot), _ce64(zc, onehot), rtol=1e-5)
    g = transform(jax.grad(jaxnn.cross_entropy))(zc, ids)
    np.testing.assert_allclose(g, jax.grad(jaxnn.cross_entropy)(zc, ids), rtol=1e-6)


def test_losses_under_vmap_equal_a_loop(key):
    zb, yb = _random_bce_problem(key, n=4 * N)
    zb, yb = zb.reshape(4, N), yb.reshape(4, N)
    zc, ids = _random_ce_problem(key, n=4 * N)
    zc, ids = zc.reshape(4, N, K), ids.reshape(4, N)
    onehot = np.eye(K, dtype=np.float32)[ids]
    bce = jax.vmap(jaxnn.binary_cross_entropy)(zb, yb)
    ce = jax.vmap(jaxnn.cross_entropy)(zc, ids)
    ce_oh = jax.vmap(jaxnn.cross_entropy)(zc, onehot)
    shared = jax.vmap(jaxnn.cross_entropy, in_axes=(0, None))(zc, ids[0])
    assert bce.shape == ce.shape == (4,)
    bce_one, ce_one = jax.jit(jaxnn.binary_cross_entropy), jax.jit(jaxnn.cross_entropy)
    for i in range(4):
        np.testing.assert_allclose(bce[i], bce_one(zb[i], yb[i]), rtol=1e-6)
        np.testing.assert_allclose(ce[i], ce_one(zc[i], ids[i]), rtol=1e-6)
        np.testing.assert_allclose(bce[i], _bce_stable64(zb[i], yb[i]), rtol=1e-5)
        np.testing.assert_allclose(ce[i], _ce64(zc[i], onehot[i]), rtol=1e-5)
        np.testing.assert_allclose(ce_oh[i], ce[i], rtol=1e-6)
        np.testing.assert_allclose(shared[i], _ce64(zc[i], onehot[0]), rtol=1e-5)


# -------------------------------------------------------------------- bad input

BCE_BAD_SHAPES = [
    ((3,), (4,)),
    ((3,), (3, 2)),
    ((3, 2), (3, 2)),
    ((3, 1), (4, 1)),
    ((3, 1, 1), (3,)),
    ((), ()),
]
CE_BAD_SHAPES = [
    ((4, 3), (5,)),
    ((4, 3), (4, 2)),
    ((4, 3), (4, 3, 1)),
    ((4,), (4,)),
    ((2, 4, 3), (2, 4)),
]


@pytest.mark.parametrize(("z_shape", "y_shape"), BCE_BAD_SHAPES)
def test_bce_mismatched_shapes_name_both(z_shape, y_shape):
    with pytest.raises(ValueError, match="binary_cross_entropy") as info:
        jaxnn.binary_cross_entropy(jnp.zeros(z_shape), jnp.zeros(y_shape))
    assert f"logits {z_shape}" in str(info.value)
    assert f"labels {y_shape}" in str(info.value)


@pytest.mark.parametrize(("z_shape", "y_shape"), CE_BAD_SHAPES)
def test_ce_mismatched_shapes_name_them(z_shape, y_shape):
    labels = jnp.zeros(y_shape, jnp.int32 if len(y_shape) == 1 else jnp.float32)
    with pytest.raises(ValueError, match="cross_entropy") as info:
        jaxnn.cross_entropy(jnp.zeros(z_shape), labels)
    assert str(z_shape) in str(info.value)
    if len(z_shape) == 2:
        assert str(y_shape) in str(info.value)


@pytest.mark.parametrize(
    ("loss", "z", "y"),
    [
        (jaxnn.binary_cross_entropy, jnp.zeros(3), jnp.zeros(4)),
        (jaxnn.binary_cross_entropy, jnp.zeros((3, 2)), jnp.zeros(3)),
        (jaxnn.cross_entropy, jnp.zeros((4, 3)), jnp.zeros(5, jnp.int32)),
        (jaxnn.cross_entropy, jnp.zeros((4, 3)), jnp.zeros((4, 2))),
        (jaxnn.cross_entropy, jnp.zeros(3), jnp.zeros(3, jnp.int32)),
    ],
)
def test_shape_errors_are_the_same_under_jit(loss, z, y):
    with pytest.raises(ValueError) as eager:
        loss(z, y)
    with pytest.raises(ValueError) as jitted:
        jax.jit(loss)(z, y)
    assert str(jitted.value) == str(eager.value)
    with pytest.raises(ValueError) as graded:
        jax.jit(jax.grad(loss))(z, y)
    assert str(graded.value) == str(eager.value)


@pytest.mark.parametrize("ids", [[0, 3, 1], [-1, 0, 2], [5, 5, 5]])
def test_ce_int_labels_out_of_range(ids):
    with pytest.raises(ValueError, match=r"cross_entropy: labels must lie in \[0, 3\)"):
        jaxnn.cross_entropy(jnp.zeros((3, 3)), jnp.array(ids))


def test_ce_float_ids_rejected():
    with pytest.raises(TypeError, match="integer class ids"):
        jaxnn.cross_entropy(jnp.zeros((3, 3)), jnp.array([0.0, 1.0, 2.0]))


@pytest.mark.parametrize("ids", [np.array([True, False, True]), np.array([1.0, 0.0, 2.0])])
def test_ce_bool_and_whole_float_ids_rejected_also_under_jit(ids):
    for f in (jaxnn.cross_entropy, jax.jit(jaxnn.cross_entropy)):
        with pytest.raises(TypeError, match="cross_entropy: labels must be integer class ids"):
            f(jnp.zeros((3, 3)), ids)


INT_DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_ce_every_integer_dtype_gives_the_int32_result_bitwise(key, dtype):
    z, ids = _random_ce_problem(key)
    expected = CE_VALUE_AND_GRAD(z, ids)
    eager = jaxnn.cross_entropy(z, ids.astype(dtype))
    for got in (eager, CE_VALUE_AND_GRAD(z, ids.astype(dtype))[0]):
        assert np.asarray(got).tobytes() == np.asarray(expected[0]).tobytes()
    grad = CE_VALUE_AND_GRAD(z, ids.astype(dtype))[1]
    assert np.asarray(grad).tobytes() == np.asarray(expected[1]).tobytes()


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_ce_narrow_ids_with_many_classes(dtype):
    """A uint8/int8 id 5 among 300 classes picks class 5 (no wrap of k to 44)."""
    z = np.zeros((1, 300), np.float32)
    z[0, 5] = 3.0
    expected = jaxnn.cross_entropy(z, np.array([5], np.int32))
    np.testing.assert_array_equal(jaxnn.cross_entropy(z, np.array([5], dtype)), expected)
    np.testing.assert_array_equal(jax.jit(jaxnn.cross_entropy)(z, jnp.array([5], dtype)), expected)


@pytest.mark.parametrize(
    ("ids", "dtype"),
    [
        ([0, 3, 1], np.int32),  # == k: take_along_axis fills NaN
        ([-1, 0, 2], np.int32),  # negative: take_along_axis wraps to the last class
        ([-128, 0, 2], np.int8),
        ([255, 0, 2], np.uint8),
        ([2**32 - 1, 0, 2], np.uint32),  # -1 if cast to int32
        ([7, 7, 7], np.int16),
    ],
)
def test_ce_invalid_ids_under_jit_are_nan_never_a_finite_number(ids, dtype):
    ids = jnp.asarray(np.array(ids, dtype))
    z = jnp.zeros((3, 3))
    with pytest.raises(ValueError, match=r"cross_entropy: labels must lie in \[0, 3\)"):
        jaxnn.cross_entropy(z, ids)
    assert np.isnan(jax.jit(jaxnn.cross_entropy)(z, ids))
    assert np.isnan(jax.vmap(jaxnn.cross_entropy)(z[None], ids[None])[0])


def test_bce_label_dtypes_agree_bitwise(key):
    z, y = _random_bce_problem(key)
    expected = np.asarray(jaxnn.binary_cross_entropy(z, y)).tobytes()
    for dtype in [bool, *INT_DTYPES]:
        for f in (jaxnn.binary_cross_entropy, jax.jit(jaxnn.binary_cross_entropy)):
            assert np.asarray(f(z, y.astype(dtype))).tobytes() == expected


@pytest.mark.parametrize(
    "labels", [np.array([0, 2], np.int8), np.array([-1, 1], np.int8), np.array([0, 255], np.uint8)]
)
def test_bce_invalid_integer_labels_raise_and_are_nan_under_jit(labels):
    with pytest.raises(ValueError, match="binary_cross_entropy: labels must be 0/1 labels"):
        jaxnn.binary_cross_entropy(jnp.zeros(2), labels)
    assert np.isnan(jax.jit(jaxnn.binary_cross_entropy)(jnp.zeros(2), labels))


def test_bce_complex_labels_rejected():
    with pytest.raises(TypeError, match="binary_cross_entropy: labels must be 0/1 labels of a"):
        jaxnn.binary_cross_entropy(np.zeros(2, np.float32), np.array([0, 1], np.complex64))


@SETTINGS
@given(ids=hnp.arrays(np.int32, (N,), elements=st.integers(-3, K + 3)))
def test_ce_under_jit_is_nan_exactly_when_an_id_is_invalid(ids):
    z = np.linspace(-3, 3, N * K, dtype=np.float32).reshape(N, K)
    loss = CE_VALUE_AND_GRAD(z, ids)[0]
    if ((ids < 0) | (ids >= K)).any():
        assert np.isnan(loss)
    else:
        assert np.isfinite(loss)
        np.testing.assert_allclose(loss, _ce64(z, np.eye(K)[ids]), rtol=2e-6)


@pytest.mark.parametrize(
    "labels", [[[1.0, 1.0, 0.0]], [[0.0, 0.0, 0.0]], [[0.5, 0.6, 0.0]], [[1, 1, 0]]]
)
def test_ce_one_hot_rows_must_sum_to_one(labels):
    with pytest.raises(ValueError, match=r"must sum to 1 .*; row 0 sums to"):
        jaxnn.cross_entropy(jnp.zeros((1, 3)), jnp.array(labels))


@pytest.mark.parametrize("labels", [[[1.5, -0.5, 0.0]], [[np.nan, 1.0, 0.0]], [[np.inf, 0.0, 0.0]]])
def test_ce_probability_labels_must_be_finite_and_nonnegative(labels):
    with pytest.raises(ValueError, match="finite and non-negative"):
        jaxnn.cross_entropy(jnp.zeros((1, 3)), jnp.array(labels))


@pytest.mark.parametrize("labels", [[0.0, 2.0], [-1.0, 1.0], [1.0, 1.0001], [0, 2]])
def test_bce_labels_outside_unit_interval(labels):
    with pytest.raises(ValueError, match=r"binary_cross_entropy: labels must be 0/1 labels"):
        jaxnn.binary_cross_entropy(jnp.zeros(2), jnp.array(labels))


def test_bce_nan_labels():
    with pytest.raises(ValueError, match="contains NaN"):
        jaxnn.binary_cross_entropy(jnp.zeros(2), jnp.array([0.0, np.nan]))


@pytest.mark.parametrize(
    ("loss", "z", "y"),
    [
        (jaxnn.binary_cross_entropy, jnp.zeros(0), jnp.zeros(0)),
        (jaxnn.binary_cross_entropy, jnp.zeros((0, 1)), jnp.zeros(0)),
        (jaxnn.cross_entropy, jnp.zeros((0, 3)), jnp.zeros(0, jnp.int32)),
        (jaxnn.cross_entropy, jnp.zeros((0, 3)), jnp.zeros((0, 3))),
    ],
)
def test_zero_examples_rejected(loss, z, y):
    with pytest.raises(ValueError, match="got 0 examples"):
        loss(z, y)
    with pytest.raises(ValueError, match="got 0 examples"):
        jax.jit(loss)(z, y)


def test_training_objective_uses_the_same_cross_entropy(key):
    """The engine's inner-loop losses (jaxnn.evaluate) equal the public, checked ones."""
    z = jax.random.normal(key, (64, 3)) * 5
    ids = jax.random.randint(jax.random.fold_in(key, 1), (64,), 0, 3)
    np.testing.assert_allclose(
        jaxnn.evaluate("multiclass", z, ids)[0], jaxnn.cross_entropy(z, ids), rtol=1e-6
    )
    y = (ids > 0).astype(jnp.float32)
    np.testing.assert_allclose(
        jaxnn.evaluate("binary", z[:, :1], y)[0], jaxnn.binary_cross_entropy(z[:, 0], y), rtol=1e-6
    )


# ---------------------------------------------------------------------------------------
# The last ulp at large logits, and certain predictions (infinite logits)


@pytest.mark.parametrize(
    ("z", "label", "right"),
    [
        ([512.0, 512.0], 0, math.log(2)),
        ([1e4, 1e4 - 1, 0.0], 1, 1 + math.log1p(math.exp(-1))),
        ([-3e4, -3e4 + 2, -3e4 + 1], 0, 2 + math.log1p(math.exp(-2) + math.exp(-1))),
    ],
)
def test_ce_at_large_logits_is_the_float32_nearest_to_the_exact_value(z, label, right):
    """ln p = z - logsumexp(z) rounded both terms to the spacing at |z| (0.6931763
    for ln 2 at 512); every form of the loss, the engine's included, is now within
    an ulp of the exact value."""
    from jaxnn.objective import evaluate, example_losses

    z32 = jnp.array([z], jnp.float32)
    ulp = float(np.spacing(np.float32(right)))
    for got in (
        jaxnn.cross_entropy(z32, jnp.array([label])),
        jaxnn.cross_entropy(z32, jax.nn.one_hot(jnp.array([label]), len(z))),
        example_losses("multiclass", z32, jnp.array([label]))[0],
        evaluate("multiclass", z32, jnp.array([label]))[0],
    ):
        assert abs(float(got) - right) <= ulp


def test_a_certain_correct_prediction_costs_zero_with_finite_gradients():
    """0 ln 0 = 0: an infinite logit for the right class (binary) and a masked class
    (-inf) with a 0 label cost nothing, for integer and one-hot labels alike."""
    from jaxnn.objective import example_losses

    inf = jnp.inf
    cases = [
        (jaxnn.binary_cross_entropy, jnp.array([inf, -inf]), jnp.array([1.0, 0.0])),
        (jaxnn.cross_entropy, jnp.array([[0.0, -inf]]), jnp.array([[1.0, 0.0]])),
        (jaxnn.cross_entropy, jnp.array([[0.0, -inf]]), jnp.array([0])),
    ]
    for loss, z, y in cases:
        value, grad = jax.value_and_grad(loss)(z, y)
        assert float(value) == 0.0
        assert np.isfinite(grad).all()
    engine = example_losses("binary", jnp.array([inf, -inf]), jnp.array([1.0, 0.0]))
    np.testing.assert_array_equal(engine, [0.0, 0.0])
    # a wrong certain prediction costs inf, not NaN
    assert float(jaxnn.binary_cross_entropy(jnp.array([-inf]), jnp.array([1.0]))) == inf

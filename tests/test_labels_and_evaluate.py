"""Labels of every dtype, and the checks of ``evaluate``/``predictions`` (issue 13).

Eagerly every bad argument is an error naming it; under ``jit`` the shape, dtype and
kind errors are the same, and an invalid label value (not checkable there) gives NaN,
never a plausible finite number.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import count_compiles
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jaxnn
from jaxnn import _validation as v
from jaxnn.objective import example_losses, objective_and_metrics

SETTINGS = settings(max_examples=50, deadline=None)
N, K = 8, 4
INT_DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]
EVALUATE = jax.jit(jaxnn.evaluate, static_argnums=0)
LOSSES = jax.jit(example_losses, static_argnums=0)

# The binary example: logit >= 0 predicts 1; three of four are right.
Z4 = np.array([[2.0], [-1.0], [3.0], [-2.0]], np.float32)
Y4 = np.array([[1], [0], [0], [0]], np.int32)


def _ce64(z, ids):
    z = np.asarray(z, np.float64)
    log_p = (
        z - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)) - z.max(-1)[:, None]
    )
    return -log_p[np.arange(len(ids)), ids]


def _bce64(z, y):
    z, y = np.asarray(z, np.float64), np.asarray(y, np.float64)
    return np.logaddexp(0.0, z) - y * z


def _problem(key, n=N, k=K):
    kz, ky = jax.random.split(key)
    z = np.asarray(jax.random.normal(kz, (n, k))) * 3
    ids = np.asarray(jax.random.randint(ky, (n,), 0, k), np.int32)
    return z, ids


# ------------------------------------------------------------------ right values


@pytest.mark.parametrize("z_shape", [(4,), (4, 1)])
@pytest.mark.parametrize("y_shape", [(4,), (4, 1)])
@pytest.mark.parametrize("transform", [lambda f: f, jax.jit], ids=["eager", "jit"])
def test_binary_n_and_n1_are_the_same(z_shape, y_shape, transform):
    """Issue 13: (4, 1) labels against (4,) predictions broadcast to (4, 4): 0.5."""
    f = transform(lambda z, y: jaxnn.evaluate("binary", z, y))
    loss, acc = f(Z4.reshape(z_shape), Y4.reshape(y_shape))
    assert float(acc) == 0.75
    np.testing.assert_allclose(loss, _bce64(Z4[:, 0], Y4[:, 0]).mean(), rtol=1e-6)


def test_binary_predictions_of_n_and_n1_logits():
    for z in (Z4, Z4[:, 0]):
        p = jaxnn.predictions("binary", z)
        assert p.dtype == jnp.int32 and p.shape == (4,)
        np.testing.assert_array_equal(p, [1, 0, 1, 0])
    np.testing.assert_array_equal(jaxnn.predictions("binary", np.array([0.0, -0.0])), [1, 1])


def test_multiclass_values_against_float64(key):
    z, ids = _problem(key)
    loss, acc = jaxnn.evaluate("multiclass", z, ids)
    np.testing.assert_allclose(loss, _ce64(z, ids).mean(), rtol=1e-6)
    assert float(acc) == np.mean(np.argmax(z, -1) == ids)
    np.testing.assert_array_equal(jaxnn.predictions("multiclass", z), np.argmax(z, -1))
    np.testing.assert_allclose(example_losses("multiclass", z, ids), _ce64(z, ids), rtol=1e-5)


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_multiclass_every_integer_dtype_gives_the_int32_result_bitwise(key, dtype):
    z, ids = _problem(key)
    expected = [np.asarray(a).tobytes() for a in EVALUATE("multiclass", z, ids)]
    for f in (jaxnn.evaluate, EVALUATE):
        assert [np.asarray(a).tobytes() for a in f("multiclass", z, ids.astype(dtype))] == expected


def test_multiclass_narrow_ids_with_many_classes():
    z = np.zeros((2, 300), np.float32)
    z[0, 5], z[1, 250] = 4.0, 4.0
    for dtype in (np.uint8, np.int16, np.uint16):
        ids = np.array([5, 250], dtype)
        loss, acc = jaxnn.evaluate("multiclass", z, ids)
        assert float(acc) == 1.0
        np.testing.assert_allclose(loss, _ce64(z, [5, 250]).mean(), rtol=1e-6)
    loss, acc = jaxnn.evaluate("multiclass", z[:1], np.array([5], np.int8))
    assert float(acc) == 1.0


@pytest.mark.parametrize("dtype", [bool, *INT_DTYPES, np.float32, np.float64])
def test_binary_label_dtypes_agree_bitwise(dtype):
    expected = [np.asarray(a).tobytes() for a in jaxnn.evaluate("binary", Z4, Y4)]
    for f in (jaxnn.evaluate, EVALUATE):
        assert [np.asarray(a).tobytes() for a in f("binary", Z4, Y4.astype(dtype))] == expected


def test_evaluate_equals_the_checked_losses(key):
    z, ids = _problem(key)
    np.testing.assert_array_equal(
        jaxnn.evaluate("multiclass", z, ids)[0], jaxnn.cross_entropy(z, ids)
    )
    y = (ids > 1).astype(np.float32)
    np.testing.assert_allclose(
        jaxnn.evaluate("binary", z[:, :1], y)[0], jaxnn.binary_cross_entropy(z[:, 0], y), rtol=1e-7
    )


@SETTINGS
@given(
    # no subnormals: XLA on a CPU flushes them to zero, and -1e-45 >= 0 there
    z=hnp.arrays(np.float32, (N,), elements=st.floats(-1e4, 1e4, width=32, allow_subnormal=False)),
    y=hnp.arrays(np.int32, (N,), elements=st.integers(0, 1)),
    column=st.tuples(st.booleans(), st.booleans()),
)
def test_binary_property_shapes_agree_and_match_numpy(z, y, column):
    zz = z[:, None] if column[0] else z
    yy = y[:, None] if column[1] else y
    loss, acc = EVALUATE("binary", zz, yy)
    np.testing.assert_allclose(loss, _bce64(z, y).mean(), rtol=1e-5, atol=1e-6)
    assert float(acc) == np.mean((z >= 0) == (y == 1))


@SETTINGS
@given(
    z=hnp.arrays(np.float32, (N, K), elements=st.floats(-100, 100, width=32)),
    ids=hnp.arrays(np.int32, (N,), elements=st.integers(-3, K + 3)),
)
def test_multiclass_property_jit_is_nan_exactly_for_invalid_ids(z, ids):
    """The rule: where values are not concrete, an invalid id never gives a finite number."""
    loss, acc = EVALUATE("multiclass", z, ids)
    per_example = LOSSES("multiclass", z, ids)
    bad = (ids < 0) | (ids >= K)
    np.testing.assert_array_equal(np.isnan(per_example), bad)
    if bad.any():
        assert np.isnan(loss) and np.isnan(acc)
        with pytest.raises(ValueError, match=r"evaluate: labels must lie in \[0, 4\)"):
            jaxnn.evaluate("multiclass", z, ids)
    else:
        np.testing.assert_allclose(loss, _ce64(z, ids).mean(), rtol=1e-5, atol=1e-6)
        assert float(acc) == np.mean(np.argmax(z, -1) == ids)


# ------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kind", ["binry", "Binary", "", None, 1])
def test_unknown_kind_is_an_error_naming_it(kind):
    """Issue 13: evaluate("binry") gave NaN loss and 0.5 accuracy; predictions zeros."""
    cases = [
        ("evaluate", lambda: jaxnn.evaluate(kind, Z4, Y4)),
        ("predictions", lambda: jaxnn.predictions(kind, Z4)),
        ("example_losses", lambda: example_losses(kind, Z4, Y4)),
        ("evaluate", lambda: jax.jit(lambda z, y: jaxnn.evaluate(kind, z, y))(Z4, Y4)),
    ]
    for name, call in cases:
        with pytest.raises(ValueError, match=f"{name}: kind must be one of") as info:
            call()
        assert repr(kind) in str(info.value)


BAD_SHAPES = [
    ("binary", (4, 1), (3,), "labels (3,)"),  # n mismatch
    ("binary", (4,), (4, 1, 1), "labels (4, 1, 1)"),
    ("binary", (4,), (4, 2), "labels (4, 2)"),
    ("binary", (4, 2), (4,), "logits (4, 2)"),
    ("binary", (), (), "logits ()"),
    ("multiclass", (4, 3), (5,), "labels (5,)"),  # failed deep inside jax.numpy
    ("multiclass", (4, 3), (4, 1), "labels (4, 1)"),
    ("multiclass", (4, 3), (4, 3), "labels (4, 3)"),
    ("multiclass", (4,), (4,), "logits (4,)"),
    ("multiclass", (4, 0), (4,), "logits (4, 0)"),
]


@pytest.mark.parametrize(("kind", "z_shape", "y_shape", "names"), BAD_SHAPES)
def test_shape_errors_name_the_argument_also_under_jit(kind, z_shape, y_shape, names):
    z, y = jnp.zeros(z_shape), jnp.zeros(y_shape, jnp.int32)
    with pytest.raises(ValueError, match=f"evaluate: kind '{kind}' needs") as eager:
        jaxnn.evaluate(kind, z, y)
    assert names in str(eager.value)
    with pytest.raises(ValueError) as jitted:
        EVALUATE(kind, z, y)
    assert str(jitted.value) == str(eager.value)
    with pytest.raises(ValueError, match=f"example_losses: kind '{kind}' needs"):
        example_losses(kind, z, y)


@pytest.mark.parametrize(("kind", "z_shape"), [("binary", (4, 2)), ("multiclass", (4,))])
def test_predictions_shape_errors(kind, z_shape):
    with pytest.raises(ValueError, match=rf"predictions: kind '{kind}' needs logits .*{z_shape}"):
        jaxnn.predictions(kind, jnp.zeros(z_shape))


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_zero_examples_rejected(kind):
    z = jnp.zeros((0, 1) if kind == "binary" else (0, 3))
    with pytest.raises(ValueError, match="evaluate: got 0 examples"):
        jaxnn.evaluate(kind, z, jnp.zeros(0, jnp.int32))


@pytest.mark.parametrize(
    ("ids", "dtype", "bad"),
    [([0, 3], np.int32, 3), ([-1, 0], np.int8, -1), ([0, 200], np.uint8, 200)],
)
def test_class_id_out_of_range_eagerly_an_error_under_jit_nan(ids, dtype, bad):
    """Issue 13: a class id equal to k gave a NaN loss with no error."""
    z, ids = np.zeros((2, 3), np.float32), np.array(ids, dtype)
    with pytest.raises(ValueError, match=r"evaluate: labels must lie in \[0, 3\)") as info:
        jaxnn.evaluate("multiclass", z, ids)
    assert f"e.g. {bad}" in str(info.value)
    with pytest.raises(ValueError, match=r"example_losses: labels must lie in \[0, 3\)"):
        example_losses("multiclass", z, ids)
    loss, acc = EVALUATE("multiclass", z, ids)
    assert np.isnan(loss) and np.isnan(acc)
    per_example = LOSSES("multiclass", z, ids)
    assert np.isnan(per_example[ids != 0]).all() and np.isfinite(per_example[ids == 0]).all()


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        (np.array([0.0, 1.0]), TypeError, "evaluate: labels must be integer class ids, got dtype"),
        (np.array([True, False]), TypeError, "booleans are binary labels"),
        ([0, 1.5], TypeError, "floats are not taken as ids"),
    ],
)
def test_multiclass_float_and_bool_ids_refused(labels, error, match):
    z = np.zeros((2, 3), np.float32)
    with pytest.raises(error, match=match):
        jaxnn.evaluate("multiclass", z, labels)
    with pytest.raises(error, match=match):
        EVALUATE("multiclass", z, jnp.asarray(labels))


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.array([0.0, 0.5]), r"evaluate: labels must be 0 or 1 .*e\.g\. 0\.5"),
        (np.array([0, 2], np.uint8), r"evaluate: labels must be 0 or 1 .*e\.g\. 2"),
        (np.array([-1, 1], np.int8), r"evaluate: labels must be 0 or 1 .*e\.g\. -1"),
        (np.array([0.0, np.nan]), "evaluate: labels contains NaN"),
    ],
)
def test_binary_labels_must_be_zero_or_one(labels, match):
    with pytest.raises(ValueError, match=match):
        jaxnn.evaluate("binary", np.zeros(2, np.float32), labels)
    loss, acc = EVALUATE("binary", np.zeros(2, np.float32), labels)
    assert np.isnan(acc)  # the accuracy needs hard labels
    if not (0 <= np.nanmin(labels) and np.nanmax(labels) <= 1):
        assert np.isnan(loss)


def test_binary_complex_labels_refused():
    with pytest.raises(TypeError, match="evaluate: labels must be 0/1 labels of a bool, integer"):
        jaxnn.evaluate("binary", np.zeros(2, np.float32), np.array([0, 1], np.complex64))


# ------------------------------------------------------- inside the training loop


def test_objective_and_metrics_invalid_id_under_jit_is_nan(key):
    z, ids = _problem(key)
    apply = lambda params, x: x @ params["w"]
    params = {"w": jnp.eye(K)}
    f = jax.jit(lambda p, y: objective_and_metrics(p, apply, z, y, kind="multiclass"))
    obj, (ce_sum, correct) = f(params, ids)
    assert np.isfinite([obj, ce_sum, correct]).all()
    np.testing.assert_allclose(ce_sum, _ce64(z, ids).sum(), rtol=1e-5)
    bad = ids.copy()
    bad[3] = K
    obj, (ce_sum, correct) = f(params, bad)
    assert np.isnan([obj, ce_sum, correct]).all()
    with pytest.raises(ValueError, match=r"objective: labels must lie in \[0, 4\)"):
        objective_and_metrics(params, apply, z, bad, kind="multiclass")


def test_jitted_evaluate_compiles_once_and_checks_no_traced_value(key):
    """The checks run at trace time on shapes and dtypes only: a second call with new
    labels of the same shape neither retraces nor syncs with the host."""
    z, ids = _problem(key)
    f = jax.jit(lambda z, y: jaxnn.evaluate("multiclass", z, y))
    z, ids = jnp.asarray(z), jnp.asarray(ids)
    f(z, ids)
    other = jnp.asarray((np.asarray(ids) + 1) % K)
    with count_compiles() as c, jax.transfer_guard("disallow"):
        loss, _ = f(z, other)
    assert c.count == 0
    np.testing.assert_allclose(loss, _ce64(z, np.asarray(other)).mean(), rtol=1e-6)


# ---------------------------------------------------------------- the helpers


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_check_class_ids_accepts_every_integer_dtype(dtype):
    v.check_class_ids("f: y", np.array([0, 1, 2], dtype), 3)
    v.check_class_ids("f: y", np.array([5], dtype), 300)
    v.check_class_ids("f: y", jnp.asarray(np.array([2], dtype)), 3)


@pytest.mark.parametrize(
    ("ids", "k", "bad"),
    [
        (np.array([5], np.uint8), 5, "5"),
        (np.array([-1], np.int8), 300, "-1"),
        (np.array([2**63], np.uint64), 3, str(2**63)),
        (np.array([2**40], np.int64), np.iinfo(np.int32).max, str(2**40)),
    ],
)
def test_check_class_ids_out_of_range(ids, k, bad):
    with pytest.raises(ValueError, match=rf"f: y must lie in \[0, {k}\)") as info:
        v.check_class_ids("f: y", ids, k)
    assert f"e.g. {bad}" in str(info.value)


@pytest.mark.parametrize(
    "ids", [np.array([1.0]), np.array([True]), 1.0, jnp.array([1.0], jnp.bfloat16), ["a"]]
)
def test_check_class_ids_refuses_non_integers(ids):
    with pytest.raises(TypeError, match="f: y must be integer class ids, got dtype"):
        v.check_class_ids("f: y", ids, 3)


@pytest.mark.parametrize("dtype", [bool, *INT_DTYPES, np.float16, np.float32, jnp.bfloat16])
def test_check_binary_labels_accepts_every_real_dtype(dtype):
    y = np.array([0, 1, 1]).astype(dtype)
    v.check_binary_labels("f: y", y)
    v.check_binary_labels("f: y", y, hard=True)


def test_check_binary_labels_hard_and_soft():
    v.check_binary_labels("f: y", np.array([0.25, 1.0]))
    with pytest.raises(ValueError, match=r"f: y must be 0 or 1 .*e\.g\. 0\.25"):
        v.check_binary_labels("f: y", np.array([0.25, 1.0]), hard=True)
    with pytest.raises(ValueError, match=r"f: y must be 0/1 labels .*\[0, 300\]"):
        v.check_binary_labels("f: y", np.array([0, 300], np.uint16))
    with pytest.raises(TypeError, match="f: y must be 0/1 labels of a bool, integer or float"):
        v.check_binary_labels("f: y", np.array(["0"]))

"""jaxnn.data: keyed 2-D generators, Standardizer, train/val/test splits, loaders."""

import re
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxnn import data

GENERATORS = {
    "blobs": data.make_blobs,
    "xor": data.make_xor,
    "moons": data.make_moons,
    "circles": data.make_circles,
    "spirals": data.make_spirals,
}
generators = pytest.mark.parametrize("make", list(GENERATORS.values()), ids=list(GENERATORS))
N = 51  # one (odd) size for most tests: each new n costs a compilation of every op


# --- every generator --------------------------------------------------------------


@generators
def test_generator_shapes_dtypes_and_balance(make, key):
    n = N  # odd: as balanced as n allows
    x, y = make(key, n)
    assert x.shape == (n, 2) and x.dtype == jnp.float32
    assert y.shape == (n,) and y.dtype == jnp.int32
    assert np.isfinite(np.asarray(x)).all()
    assert set(np.unique(np.asarray(y))) == {0, 1}
    assert int(jnp.sum(y == 0)) == n // 2
    assert int(jnp.sum(y == 1)) == n - n // 2


@generators
def test_generator_same_key_same_data(make, key):
    x1, y1 = make(key, N)
    x2, y2 = make(key, N)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)


@generators
def test_generator_different_key_different_data(make, key):
    x1, y1 = make(key, N)
    x2, y2 = make(jax.random.fold_in(key, 1), N)
    assert not np.allclose(x1, x2)
    assert not np.array_equal(y1, y2)  # the shuffle differs too


@generators
def test_generator_accepts_legacy_uint32_key(make):
    x, y = make(jax.random.PRNGKey(3), N)
    assert x.shape == (N, 2) and y.shape == (N,)


@generators
def test_generator_jits_and_vmaps_over_noise(make, key):
    """``n`` is static and ``noise`` traceable: a noise sweep is one jitted vmap, and each
    row equals the eager call."""
    noises = [0.0, 0.1, 0.3]
    sweep = jax.jit(jax.vmap(lambda s: make(key, N, noise=s)))
    xs, ys = sweep(jnp.array(noises, jnp.float32))
    assert xs.shape == (3, N, 2) and ys.shape == (3, N)
    for i, s in enumerate(noises):
        x, y = make(key, N, noise=s)
        np.testing.assert_allclose(xs[i], x, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(ys[i], y)


@generators
@pytest.mark.parametrize("n", [1, 0, -3])
def test_generator_rejects_n_below_two(make, n, key):
    with pytest.raises(ValueError, match=r"n must be >= 2"):
        make(key, n)


@generators
@pytest.mark.parametrize("n", [10.0, True, "10"], ids=["float", "bool", "str"])
def test_generator_rejects_non_int_n(make, n, key):
    with pytest.raises(TypeError, match=r"n must be a Python int"):
        make(key, n)


@generators
@pytest.mark.parametrize("noise", [-0.1, float("nan"), float("inf")], ids=["neg", "nan", "inf"])
def test_generator_rejects_bad_noise(make, noise, key):
    with pytest.raises(ValueError, match=r"noise must be a finite scalar >= 0"):
        make(key, 10, noise=noise)


# --- blobs ------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, database=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.sampled_from([2, N]),
    noise=st.floats(0.0, 10.0),
)
def test_blobs_always_separable_by_x1_plus_x2(seed, n, noise):
    x, y = data.make_blobs(jax.random.key(seed), n, noise=noise)
    s = np.asarray(x).sum(axis=1)
    y = np.asarray(y)
    assert (y == 0).sum() == n // 2 and (y == 1).sum() == n - n // 2
    # u.x >= margin = 0.1 means x1 + x2 >= 0.1 * sqrt(2); leave room for float32 rounding
    assert (s[y == 1] > 0.14).all()
    assert (s[y == 0] < -0.14).all()


@pytest.mark.parametrize("margin", [0.0, -0.5, float("nan")], ids=["zero", "neg", "nan"])
def test_blobs_rejects_margin_that_breaks_separability(margin, key):
    with pytest.raises(ValueError, match=r"margin must be a finite scalar > 0"):
        data.make_blobs(key, 10, margin=margin)


# --- xor --------------------------------------------------------------------------


def test_xor_labels_are_sign_disagreement_at_noise_zero(key):
    x, y = data.make_xor(key, N, noise=0.0)
    x, y = np.asarray(x), np.asarray(y)
    assert set(map(tuple, x)) <= {(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)}
    np.testing.assert_array_equal(y, (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(np.int32))


def test_xor_corners_are_balanced(key):
    x, _ = data.make_xor(key, N, noise=0.0)
    _, counts = np.unique(np.asarray(x), axis=0, return_counts=True)
    assert len(counts) == 4 and (np.abs(counts - N / 4) <= 1).all()


# --- moons ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, N])
def test_moons_matches_sklearn_geometry_at_noise_zero(n, key):
    sk_datasets = pytest.importorskip("sklearn.datasets")
    ref_x, ref_y = sk_datasets.make_moons(n_samples=n, noise=None, shuffle=False)
    x, y = data.make_moons(key, n, noise=0.0)
    x, y = np.asarray(x, np.float64), np.asarray(y)
    # Same set of points up to order: each point's nearest reference point is a
    # bijection with equal labels (the reference points are well apart).
    dist = np.linalg.norm(x[:, None, :] - ref_x[None, :, :], axis=-1)
    match = dist.argmin(axis=1)
    np.testing.assert_array_equal(np.sort(match), np.arange(n))
    np.testing.assert_allclose(dist[np.arange(n), match], 0.0, atol=1e-6)
    np.testing.assert_array_equal(y, ref_y[match])


# --- circles ----------------------------------------------------------------------


@pytest.mark.parametrize("factor", [0.1, 0.5, 0.9])
def test_circles_radii_at_noise_zero(factor, key):
    x, y = data.make_circles(key, N, noise=0.0, factor=factor)
    r, y = np.linalg.norm(np.asarray(x), axis=1), np.asarray(y)
    np.testing.assert_allclose(r[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(r[y == 1], factor, atol=1e-6)


@pytest.mark.parametrize("factor", [0.0, 1.0, -0.5, 1.5, float("nan")])
def test_circles_rejects_factor_outside_open_unit_interval(factor, key):
    with pytest.raises(ValueError, match=r"factor must be in \(0, 1\)"):
        data.make_circles(key, 10, factor=factor)


# --- spirals ----------------------------------------------------------------------


@pytest.mark.parametrize("turns", [0.5, 1.5, 3.0])
def test_spirals_radius_range_and_angle_at_noise_zero(turns, key):
    x, y = data.make_spirals(key, N, noise=0.0, turns=turns)
    x, y = np.asarray(x, np.float64), np.asarray(y)
    r = np.linalg.norm(x, axis=1)
    assert (r >= 0.1 - 1e-6).all() and (r <= 1.0 + 1e-6).all()
    # The radius fixes the position along the spiral: theta = 2 pi turns s + pi y.
    s = (r - 0.1) / 0.9
    theta = 2 * np.pi * turns * s + np.pi * y
    err = np.angle(np.exp(1j * (np.arctan2(x[:, 1], x[:, 0]) - theta)))
    np.testing.assert_allclose(err, 0.0, atol=1e-4)


# --- Standardizer -----------------------------------------------------------------


def _features(n=200):
    """float32 columns of very different location and scale (NumPy: nothing to compile)."""
    z = np.random.default_rng(0).standard_normal((n, 4))
    return (z * [1.0, 100.0, 0.01, 5.0] + [0.0, -50.0, 3.0, 1e3]).astype(np.float32)


def test_standardizer_gives_mean_zero_std_one():
    x = _features()
    z = data.Standardizer.fit(x).transform(x)
    assert z.shape == x.shape and z.dtype == jnp.float32
    # column 2 (std 0.01 around 3.0) is quantised by float32 to about 2e-5 in z
    np.testing.assert_allclose(jnp.mean(z, axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(jnp.std(z, axis=0), 1.0, rtol=1e-4)
    np.testing.assert_allclose(data.standardize(x), z, rtol=1e-6, atol=1e-6)


def test_standardizer_equals_sklearn_standard_scaler():
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    x = np.asarray(_features(), np.float64)
    ref = preprocessing.StandardScaler().fit(x)
    s = data.Standardizer.fit(x)
    np.testing.assert_allclose(s.mean, ref.mean_, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(s.scale, ref.scale_, rtol=1e-5)
    x_new = x[:10] * 1.5
    np.testing.assert_allclose(s.transform(x_new), ref.transform(x_new), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("value", [0.0, 5.0, 3.3, 0.1, 1e6 + 0.3])
@pytest.mark.parametrize("n", [1, 7, 1000])
def test_standardizer_zero_variance_column_maps_to_zeros(value, n):
    x = np.stack([np.full(n, value), np.arange(n)], axis=1).astype(np.float32)
    s = data.Standardizer.fit(x)
    z = s.transform(x)
    assert np.isfinite(np.asarray(z)).all()
    np.testing.assert_array_equal(z[:, 0], 0.0)  # exactly 0, not rounding error times 1/eps
    assert float(s.scale[0]) == 1.0


def test_standardizer_inverse_undoes_transform():
    x = _features()
    s = data.Standardizer.fit(x)
    np.testing.assert_allclose(s.inverse(s.transform(x)), x, rtol=1e-5, atol=1e-3)
    z = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(s.transform(s.inverse(z)), z, rtol=1e-4, atol=1e-4)


def test_standardizer_is_a_pytree_that_passes_through_jit():
    x = _features()
    s = data.Standardizer.fit(x)
    z = jax.jit(lambda s, x: s.transform(x))(s, x)
    np.testing.assert_allclose(z, s.transform(x), rtol=1e-5, atol=1e-5)
    s_jit = jax.jit(data.Standardizer.fit)(x)
    np.testing.assert_allclose(s_jit.mean, s.mean, rtol=1e-5)
    np.testing.assert_allclose(s_jit.scale, s.scale, rtol=1e-5)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_standardizer_rejects_non_finite_input(bad):
    x = np.ones((4, 3), np.float32)
    x[2, 1] = bad
    with pytest.raises(ValueError, match=r"Standardizer\.fit: x contains .*index \(2, 1\)"):
        data.Standardizer.fit(x)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_standardizer_fit_rejects_non_matrix(shape):
    with pytest.raises(ValueError, match=r"must have shape \(n, d\)"):
        data.Standardizer.fit(np.ones(shape, np.float32))


def test_standardizer_fit_rejects_empty():
    with pytest.raises(ValueError, match=r"no rows"):
        data.Standardizer.fit(np.ones((0, 3), np.float32))


@pytest.mark.parametrize("method", ["transform", "inverse"])
def test_standardizer_feature_count_mismatch_names_shapes(method):
    s = data.Standardizer.fit(_features())
    with pytest.raises(ValueError, match=r"fitted on 4 features, got . of shape \(5, 3\)"):
        getattr(s, method)(np.zeros((5, 3), np.float32))
    with pytest.raises(ValueError, match=r"fitted on 4 features"):
        getattr(s, method)(np.zeros((5, 1), np.float32))  # would silently broadcast


# --- train_val_test_split ---------------------------------------------------------


def _indexed(n):
    """x row i is (2i, 2i + 1) and y_i = i, so every example can be traced."""
    return jnp.arange(2 * n, dtype=jnp.float32).reshape(n, 2), jnp.arange(n, dtype=jnp.int32)


@pytest.mark.parametrize(
    ("n", "val", "test", "sizes"),
    [
        (10, 0.2, 0.2, (6, 2, 2)),
        (10, 0.0, 0.0, (10, 0, 0)),
        (10, 0.3, 0.0, (7, 3, 0)),
        (N, 0.1, 0.3, (31, 5, 15)),
        (N, 0.49, 0.49, (1, 25, 25)),  # the train set keeps one example
    ],
)
def test_split_sizes(n, val, test, sizes, key):
    x, y = _indexed(n)
    splits = data.train_val_test_split(key, x, y, val=val, test=test)
    assert isinstance(splits, data.DataSplits)
    assert tuple(part[0].shape[0] for part in splits) == sizes
    assert tuple(part[1].shape[0] for part in splits) == sizes
    assert all(part[0].shape[1:] == (2,) for part in splits)


def test_split_is_a_disjoint_covering_permutation_keeping_pairs(key):
    x, y = _indexed(N)
    splits = data.train_val_test_split(key, x, y, val=0.2, test=0.3)
    ys = np.concatenate([np.asarray(part[1]) for part in splits])
    xs = np.concatenate([np.asarray(part[0]) for part in splits])
    np.testing.assert_array_equal(np.sort(ys), np.arange(N))  # disjoint and covering
    assert not np.array_equal(ys, np.arange(N))  # and actually shuffled
    np.testing.assert_array_equal(xs, np.asarray(x)[ys])  # (x, y) pairs stay together


def test_split_is_deterministic_in_the_key(key):
    x, y = _indexed(N)
    a = data.train_val_test_split(key, x, y)
    b = data.train_val_test_split(key, x, y)
    c = data.train_val_test_split(jax.random.fold_in(key, 1), x, y)
    for pa, pb in zip(a, b, strict=True):
        np.testing.assert_array_equal(pa[0], pb[0])
        np.testing.assert_array_equal(pa[1], pb[1])
    assert not np.array_equal(a.train[1], c.train[1])


def test_split_accepts_numpy_inputs(key):
    x, y = np.zeros((10, 3), np.float32), np.arange(10)
    splits = data.train_val_test_split(key, x, y)
    assert [p[0].shape for p in splits] == [(6, 3), (2, 3), (2, 3)]


@pytest.mark.parametrize(
    ("val", "test", "match"),
    [
        (-0.1, 0.2, r"val must be a fraction in \[0, 1\)"),
        (1.0, 0.0, r"val must be a fraction in \[0, 1\)"),
        (float("nan"), 0.2, r"val must be a fraction in \[0, 1\)"),
        (0.2, 1.5, r"test must be a fraction in \[0, 1\)"),
        (0.2, -1.0, r"test must be a fraction in \[0, 1\)"),
        (0.5, 0.5, r"leave no training examples out of 10"),
        (0.6, 0.6, r"leave no training examples out of 10"),
    ],
)
def test_split_rejects_bad_fractions(val, test, match, key):
    x, y = _indexed(10)
    with pytest.raises(ValueError, match=match):
        data.train_val_test_split(key, x, y, val=val, test=test)


@pytest.mark.parametrize(
    ("x_shape", "y_shape"), [((10, 2), (9,)), ((10, 2), ()), ((), (10,)), ((9, 2), (10, 1))]
)
def test_split_rejects_length_mismatch_naming_shapes(x_shape, y_shape, key):
    x, y = np.zeros(x_shape, np.float32), np.zeros(y_shape, np.int32)
    with pytest.raises(ValueError, match=re.escape(f"got x {x_shape}, y {y_shape}")):
        data.train_val_test_split(key, x, y)


# --- loaders ----------------------------------------------------------------------


def test_course_points_shape_dtype_and_balance():
    x, y = data.load_course_points()
    assert x.shape == (100, 2) and x.dtype == jnp.float32
    assert y.shape == (100,) and y.dtype == jnp.int32
    assert set(np.unique(np.asarray(y))) == {0, 1}
    assert int(y.sum()) == 50
    np.testing.assert_allclose(x[0], [0.78051, -0.063669], rtol=1e-6)  # the file's first row
    assert int(y[0]) == 1


def _strictly_separable(x, y):
    """Whether some (w, b) has y_i (w.x_i + b) >= 1 for all i (y_i as -1/+1): a linear
    feasibility program, so the answer is a proof rather than a failed fit."""
    optimize = pytest.importorskip("scipy.optimize")
    x, sign = np.asarray(x, np.float64), 2.0 * np.asarray(y, np.float64) - 1.0
    a_ub = -sign[:, None] * np.hstack([x, np.ones((len(x), 1))])
    result = optimize.linprog(
        np.zeros(3), A_ub=a_ub, b_ub=-np.ones(len(x)), bounds=[(None, None)] * 3
    )
    assert result.status in (0, 2)  # feasible, infeasible (not a solver failure)
    return result.status == 0


def test_course_points_are_not_linearly_separable():
    linear_model = pytest.importorskip("sklearn.linear_model")
    x, y = data.load_course_points()
    x, y = np.asarray(x, np.float64), np.asarray(y)
    perceptron = linear_model.Perceptron(max_iter=1000, tol=None, random_state=0).fit(x, y)
    assert perceptron.score(x, y) < 1.0
    assert not _strictly_separable(x, y)


def test_separability_check_accepts_blobs(key):
    """A check of the check above: it finds the line that make_blobs guarantees."""
    assert _strictly_separable(*data.make_blobs(key, N))


def test_load_breast_cancer():
    pytest.importorskip("sklearn")
    x, y = data.load_breast_cancer()
    assert x.shape == (569, 30) and x.dtype == jnp.float32
    assert y.shape == (569,) and y.dtype == jnp.int32
    assert set(np.unique(np.asarray(y))) == {0, 1}
    assert int(y.sum()) == 357  # benign
    assert np.isfinite(np.asarray(x)).all()


def test_load_digits():
    pytest.importorskip("sklearn")
    x, y = data.load_digits()
    assert x.shape == (1797, 64) and x.dtype == jnp.float32
    assert y.shape == (1797,) and y.dtype == jnp.int32
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    np.testing.assert_array_equal(np.unique(np.asarray(y)), np.arange(10))


@pytest.mark.parametrize("load", [data.load_breast_cancer, data.load_digits])
def test_sklearn_loaders_without_sklearn_name_the_experiments_extra(load, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(
        ImportError, match=r"'experiments' extra.*pip install 'jaxnn\[experiments\]'"
    ):
        load()


def test_course_points_do_not_need_sklearn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    x, _ = data.load_course_points()
    assert x.shape == (100, 2)

"""Perceptrons, gates and the perceptron trick (lessons 1, 2, 3), against NumPy references."""

import functools
import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxnn
from jaxnn.perceptron import _perceptron_fit

# The four corners of the unit square, in truth-table order.
X2 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
X1 = np.array([[0], [1]], np.float32)

TRUTH_TABLES = {
    "and": (X2, [0, 0, 0, 1]),
    "or": (X2, [0, 1, 1, 1]),
    "nand": (X2, [1, 1, 1, 0]),
    "xor": (X2, [0, 1, 1, 0]),
    "not": (X1, [1, 0]),
}


def np_step(score):
    """The course's rule: 1 where the score is >= 0."""
    return (np.asarray(score) >= 0).astype(np.float32)


# ---------------------------------------------------------------------------------------
# Gates (lesson 2)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TRUTH_TABLES))
def test_gate_truth_table(name):
    x, expected = TRUTH_TABLES[name]
    out = jaxnn.gate(name)(x)
    assert out.shape == (len(expected),)
    assert out.dtype == jnp.float32
    np.testing.assert_array_equal(out, np.asarray(expected, np.float32))


@pytest.mark.parametrize("name", sorted(TRUTH_TABLES))
def test_gate_accepts_int_bool_and_lists_and_repeated_rows(name):
    x, expected = TRUTH_TABLES[name]
    rows = np.array([3, 0, 1, 1, 2, 0, 3, 2])[: 2 * len(x)] % len(x)
    want = np.asarray(expected, np.float32)[rows]
    gate = jaxnn.gate(name)
    np.testing.assert_array_equal(gate(x[rows].astype(np.int32)), want)
    np.testing.assert_array_equal(gate(x[rows].astype(bool)), want)
    np.testing.assert_array_equal(gate(x[rows].astype(int).tolist()), want)
    np.testing.assert_array_equal(gate(jnp.asarray(x[rows])), want)


def test_gate_names_are_case_insensitive():
    np.testing.assert_array_equal(jaxnn.gate("XoR")(X2), jaxnn.gate("xor")(X2))
    np.testing.assert_array_equal(jaxnn.gate("AND")(X2), [0, 0, 0, 1])


@pytest.mark.parametrize("name", ["and", "or", "nand", "not"])
def test_gate_params_documented_weights_produce_the_gate(name):
    x, expected = TRUTH_TABLES[name]
    p = jaxnn.GATE_PARAMS[name]
    w, b = np.asarray(p["w"], np.float64), float(p["b"])
    # NumPy evaluation of the documented line, and the library's perceptron on it.
    np.testing.assert_array_equal(np_step(x @ w + b), expected)
    params = {"w": jnp.asarray(w, jnp.float32), "b": jnp.asarray(b, jnp.float32)}
    np.testing.assert_array_equal(jaxnn.perceptron_predict(params, x), expected)
    np.testing.assert_allclose(jaxnn.perceptron_score(params, x), x @ w + b)
    # The documented margin: every corner is at least 0.5 away from the boundary.
    assert np.min(np.abs(x @ w + b)) >= 0.5


def test_xor_is_and_of_or_and_nand():
    # Two layers: a hidden OR and NAND, then AND on their outputs.
    hidden = np.stack([jaxnn.gate("or")(X2), jaxnn.gate("nand")(X2)], axis=1)
    np.testing.assert_array_equal(jaxnn.gate("and")(hidden), jaxnn.gate("xor")(X2))
    # The same network by hand in NumPy from the documented weights.
    gp = jaxnn.GATE_PARAMS
    h = np.stack([np_step(X2 @ np.asarray(gp[g]["w"]) + gp[g]["b"]) for g in ("or", "nand")], 1)
    np.testing.assert_array_equal(
        np_step(h @ np.asarray(gp["and"]["w"]) + gp["and"]["b"]), [0, 1, 1, 0]
    )


def _all_grid_truth_tables():
    """Every perceptron (w1, w2, b) on a grid of step 1/16 over [-2, 2]^3, on the 4 corners.

    Multiples of 1/16 are exact in float32, so the scores (and their ties at 0) are exact
    in both NumPy and JAX.
    """
    grid = np.arange(-32, 33) / 16.0  # 65 values in [-2, 2]
    w1, w2, b = (a.ravel() for a in np.meshgrid(grid, grid, grid, indexing="ij"))
    assert w1.size == 65**3
    scores = w1[:, None] * X2[None, :, 0] + w2[:, None] * X2[None, :, 1] + b[:, None]
    tables_np = np_step(scores)
    predict = jax.vmap(lambda w, b: jaxnn.perceptron_predict({"w": w, "b": b}, X2))
    tables_jax = predict(np.stack([w1, w2], 1).astype(np.float32), b.astype(np.float32))
    return np.stack([w1, w2, b], 1), tables_np, np.asarray(tables_jax)


def test_grid_search_finds_and_or_nand_but_no_xor():
    """Lesson 2: no single perceptron computes XOR, while AND, OR and NAND are easy."""
    params, tables, tables_jax = _all_grid_truth_tables()
    # The library's perceptron agrees with the NumPy scores on all 274,625 lines.
    np.testing.assert_array_equal(tables_jax, tables)

    def found(target):
        return np.all(tables == np.asarray(target, np.float32), axis=1)

    for name in ("and", "or", "nand"):
        hits = found(TRUTH_TABLES[name][1])
        assert hits.sum() > 100, name
        # The documented weights are among the hits.
        p = jaxnn.GATE_PARAMS[name]
        row = np.all(params == np.array([*p["w"], p["b"]]), axis=1)
        assert row.sum() == 1 and hits[row].all(), name
    assert not found([0, 1, 1, 0]).any()  # XOR
    assert not found([1, 0, 0, 1]).any()  # XNOR
    # The classical count: 14 of the 16 two-input boolean functions are linearly separable,
    # and the grid realises every one of them.
    distinct = {tuple(t) for t in np.unique(tables, axis=0).astype(int)}
    assert len(distinct) == 14
    assert distinct == set(itertools.product((0, 1), repeat=4)) - {(0, 1, 1, 0), (1, 0, 0, 1)}


@settings(max_examples=200, deadline=None)
@given(
    w1=st.floats(-1e3, 1e3, width=32),
    w2=st.floats(-1e3, 1e3, width=32),
    b=st.floats(-1e3, 1e3, width=32),
)
def test_no_perceptron_computes_xor(w1, w2, b):
    # Off the grid too: score(0,1) + score(1,0) = score(0,0) + score(1,1) forbids XOR.
    params = {"w": jnp.array([w1, w2], jnp.float32), "b": jnp.asarray(b, jnp.float32)}
    out = np.asarray(jaxnn.perceptron_predict(params, X2))
    assert not np.array_equal(out, [0, 1, 1, 0])


@pytest.mark.parametrize("name", ["xnor", "nor", "", "and "])
def test_unknown_gate_name_raises_naming_it(name):
    with pytest.raises(ValueError, match="unknown gate") as err:
        jaxnn.gate(name)
    assert repr(name) in str(err.value)
    assert "xor" in str(err.value)  # lists the valid names


@pytest.mark.parametrize("name", [None, 3])
def test_non_string_gate_name_raises(name):
    with pytest.raises(ValueError, match="unknown gate"):
        jaxnn.gate(name)


@pytest.mark.parametrize(
    ("name", "x"),
    [
        ("and", np.zeros((4, 3))),
        ("and", np.zeros((4, 1))),
        ("and", np.zeros((4,))),
        ("and", np.zeros((2, 4, 2))),
        ("xor", np.zeros((2,))),
        ("not", np.zeros((2, 2))),
        ("not", np.zeros((2,))),
    ],
)
def test_gate_wrong_input_shape_raises(name, x):
    with pytest.raises(ValueError, match=r"shape") as err:
        jaxnn.gate(name)(x)
    assert str(x.shape) in str(err.value)


@pytest.mark.parametrize("bad", [0.5, 2.0, -1.0, np.nan])
@pytest.mark.parametrize("name", ["and", "xor", "not"])
def test_gate_non_binary_inputs_raise(name, bad):
    x = TRUTH_TABLES[name][0].copy()
    x[-1, -1] = bad
    with pytest.raises(ValueError, match="0/1"):
        jaxnn.gate(name)(x)


@pytest.mark.parametrize("name", sorted(TRUTH_TABLES))
def test_gate_under_jit_and_vmap(name):
    x, expected = TRUTH_TABLES[name]
    g = jaxnn.gate(name)
    np.testing.assert_array_equal(jax.jit(g)(x), expected)
    stacked = np.stack([x, x[::-1]])
    np.testing.assert_array_equal(jax.vmap(g)(stacked), np.stack([expected, expected[::-1]]))
    # A wrong shape is still caught while tracing.
    with pytest.raises(ValueError, match="shape"):
        jax.jit(g)(np.zeros((3, 5), np.float32))


# ---------------------------------------------------------------------------------------
# perceptron_fit (lesson 3)
# ---------------------------------------------------------------------------------------


def np_perceptron_fit(x, y, lr, key, epochs, w0=None, b0=0.0):
    """The perceptron trick, written out point by point in NumPy (float64).

    Returns the per-epoch weights, biases, training accuracy and number of updates, with
    index 0 the initial line, in the shapes of ``PerceptronHistory``.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y)
    n, d = x.shape
    w = np.zeros(d) if w0 is None else np.array(w0, np.float64)
    b = float(b0)

    def accuracy():
        return np.mean(np_step(x @ w + b) == y)

    ws, bs, accs, updates = [w.copy()], [b], [accuracy()], []
    for epoch in range(epochs):
        order = np.asarray(jax.random.permutation(jax.random.fold_in(key, epoch), n))
        count = 0
        for i in order:
            predicted = 1 if x[i] @ w + b >= 0 else 0
            if y[i] == 1 and predicted == 0:  # false negative: move the line toward x
                w, b, count = w + lr * x[i], b + lr, count + 1
            elif y[i] == 0 and predicted == 1:  # false positive: move it away
                w, b, count = w - lr * x[i], b - lr, count + 1
        ws.append(w.copy())
        bs.append(b)
        accs.append(accuracy())
        updates.append(count)
    return np.array(ws), np.array(bs), np.array(accs), np.array(updates)


# Most fits share these shapes, so the compiled program is reused across tests.
N, D, EPOCHS = 12, 3, 4
SEP_N, SEP_EPOCHS = 60, 60
GATE_EPOCHS = 30


def dyadic_data(seed, n=N, d=D):
    """Inputs on a grid of 1/2 with random 0/1 labels: with a learning rate of 1/4 every
    sum the trick makes is exact in float32, so JAX and NumPy agree bit for bit."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-6, 7, size=(n, d)) / 2.0
    y = rng.integers(0, 2, size=n)
    return x.astype(np.float32), y.astype(np.int32)


def separable_data(seed, n=SEP_N, d=2, margin=0.2):
    """Points at least ``margin`` away from a random hyperplane u·x + c = 0 (|u| = 1)."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=d)
    u /= np.linalg.norm(u)
    c = 0.3
    x = rng.normal(size=(4 * n, d)) * 2.0
    s = x @ u + c
    x = x[np.abs(s) >= margin][:n]
    y = (x @ u + c > 0).astype(np.int32)
    assert len(x) == n and 0 < y.sum() < n
    return x.astype(np.float32), y, u, c


def assert_history_equal(hist, ref):
    ws, bs, accs, updates = ref
    np.testing.assert_array_equal(hist.w, ws)
    np.testing.assert_array_equal(hist.b, bs)
    np.testing.assert_allclose(hist.accuracy, accs, rtol=1e-6)
    np.testing.assert_array_equal(hist.updates, updates)


@pytest.mark.parametrize("epochs", [1, EPOCHS])
def test_fit_equals_numpy_perceptron_trick(key, epochs):
    x, y = dyadic_data(0)
    params, hist = jaxnn.perceptron_fit(x, y, learning_rate=0.25, epochs=epochs, key=key)
    ref = np_perceptron_fit(x, y, 0.25, key, epochs)
    assert_history_equal(hist, ref)
    assert ref[3][0] > 0  # the reference did make updates
    np.testing.assert_array_equal(params["w"], ref[0][-1])
    np.testing.assert_array_equal(params["b"], ref[1][-1])


def test_fit_from_a_given_init_equals_numpy(key):
    x, y = dyadic_data(1)
    init = {"w": jnp.array([0.5, -1.0, 1.5]), "b": jnp.asarray(0.25)}
    _, hist = jaxnn.perceptron_fit(x, y, learning_rate=0.5, epochs=EPOCHS, key=key, init=init)
    ref = np_perceptron_fit(x, y, 0.5, key, EPOCHS, w0=[0.5, -1.0, 1.5], b0=0.25)
    assert_history_equal(hist, ref)
    np.testing.assert_array_equal(hist.w[0], init["w"])
    assert hist.b[0] == 0.25


def test_fit_one_update_by_hand():
    # One point, label 1, zero init: score 0 >= 0 predicts 1, correct, no update.
    # Label 0 instead: a false positive, w <- w - a x, b <- b - a.
    x = np.array([[2.0, -1.0]], np.float32)
    key = jax.random.key(3)
    p, hist = jaxnn.perceptron_fit(x, np.array([1]), learning_rate=0.5, epochs=1, key=key)
    np.testing.assert_array_equal(p["w"], [0.0, 0.0])
    assert hist.updates.tolist() == [0]
    p, hist = jaxnn.perceptron_fit(x, np.array([0]), learning_rate=0.5, epochs=1, key=key)
    np.testing.assert_array_equal(p["w"], [-1.0, 0.5])
    assert float(p["b"]) == -0.5
    assert hist.updates.tolist() == [1]
    assert hist.accuracy.tolist() == [0.0, 1.0]


def test_history_shapes_and_init_row(key):
    x, y = dyadic_data(2)
    epochs, d = EPOCHS, D
    params, hist = jaxnn.perceptron_fit(x, y, learning_rate=0.1, epochs=epochs, key=key)
    assert isinstance(hist, jaxnn.PerceptronHistory)
    assert hist.w.shape == (epochs + 1, d)
    assert hist.b.shape == (epochs + 1,)
    assert hist.accuracy.shape == (epochs + 1,)
    assert hist.updates.shape == (epochs,)
    assert jnp.issubdtype(hist.updates.dtype, jnp.integer)
    assert params["w"].shape == (d,) and params["b"].shape == ()
    assert params["w"].dtype == params["b"].dtype == jnp.float32
    # Index 0 is the zero init; the last row is the returned params.
    np.testing.assert_array_equal(hist.w[0], np.zeros(d))
    assert hist.b[0] == 0.0
    assert hist.accuracy[0] == np.mean(y == 1)  # score 0 predicts 1 everywhere
    np.testing.assert_array_equal(hist.w[-1], params["w"])
    np.testing.assert_array_equal(hist.b[-1], params["b"])
    # Accuracy is that of the recorded lines, recomputed in NumPy.
    acc = [np.mean(np_step(x @ w + b) == y) for w, b in zip(hist.w, hist.b, strict=True)]
    np.testing.assert_allclose(hist.accuracy, acc, rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_converges_on_separable_data_within_novikoff_bound(key, seed):
    x, y, u, c = separable_data(seed)
    epochs, d = SEP_EPOCHS, x.shape[1]
    params, hist = jaxnn.perceptron_fit(x, y, learning_rate=0.1, epochs=epochs, key=key)
    np.testing.assert_array_equal(jaxnn.perceptron_predict(params, x), y)
    assert hist.accuracy[-1] == 1.0
    updates = np.asarray(hist.updates)
    first_clean = int(np.argmax(updates == 0))
    assert updates[first_clean] == 0, "never converged"
    # Once an epoch makes no update the line stays put and every later epoch is clean.
    assert np.all(updates[first_clean:] == 0)
    np.testing.assert_array_equal(
        hist.w[first_clean + 1 :], np.broadcast_to(params["w"], (epochs - first_clean, d))
    )
    assert hist.accuracy[first_clean + 1] == 1.0
    # Novikoff: at most (R / gamma)^2 updates, on augmented points (x, 1) and the unit
    # separator (u, c) / |(u, c)|.
    xa = np.concatenate([x, np.ones((len(x), 1), np.float32)], 1).astype(np.float64)
    sep = np.append(u, c) / np.linalg.norm(np.append(u, c))
    gamma = np.min((2 * y - 1) * (xa @ sep))
    radius = np.max(np.linalg.norm(xa, axis=1))
    assert gamma > 0
    assert updates.sum() <= (radius / gamma) ** 2


def test_converges_on_linearly_separable_gates(key):
    for name in ("and", "or", "nand"):
        _, y = TRUTH_TABLES[name]
        params, hist = jaxnn.perceptron_fit(
            X2, np.array(y), learning_rate=0.1, epochs=GATE_EPOCHS, key=key
        )
        np.testing.assert_array_equal(jaxnn.perceptron_predict(params, X2), y)
        assert hist.updates[-1] == 0


def test_does_not_converge_on_xor(key):
    _, hist = jaxnn.perceptron_fit(
        X2, np.array([0, 1, 1, 0]), learning_rate=0.1, epochs=GATE_EPOCHS, key=key
    )
    assert np.all(np.asarray(hist.updates) > 0)
    assert np.max(hist.accuracy) <= 0.75


def test_learning_rate_only_scales_the_line_from_zero(key):
    # From w = 0, b = 0 the visiting order and every decision are the same for any rate;
    # the line is scaled by the rate (exactly, for powers of two).
    x, y, _, _ = separable_data(3)
    p1, h1 = jaxnn.perceptron_fit(x, y, learning_rate=1.0, epochs=SEP_EPOCHS, key=key)
    p2, h2 = jaxnn.perceptron_fit(x, y, learning_rate=0.125, epochs=SEP_EPOCHS, key=key)
    assert h1.updates.sum() > 1
    np.testing.assert_array_equal(p2["w"], 0.125 * np.asarray(p1["w"]))
    np.testing.assert_array_equal(h2.b, 0.125 * np.asarray(h1.b))
    np.testing.assert_array_equal(h2.updates, h1.updates)


def test_same_key_same_result_different_key_different_order(key):
    x, y = dyadic_data(4)
    run = functools.partial(jaxnn.perceptron_fit, x, y, learning_rate=0.25, epochs=EPOCHS)
    a, b = run(key=key), run(key=jax.random.key(0))
    chex.assert_trees_all_equal(a, b)
    c = run(key=jax.random.fold_in(key, 1))
    assert not np.array_equal(a[1].w, c[1].w)
    # ... and the other key's result is the NumPy trick in the other key's order.
    assert_history_equal(c[1], np_perceptron_fit(x, y, 0.25, jax.random.fold_in(key, 1), EPOCHS))


def test_legacy_uint32_key_works():
    x, y = dyadic_data(5)
    key = jax.random.PRNGKey(7)
    _, hist = jaxnn.perceptron_fit(x, y, learning_rate=0.25, epochs=EPOCHS, key=key)
    assert_history_equal(hist, np_perceptron_fit(x, y, 0.25, key, EPOCHS))


def test_jit_of_partial_equals_eager(key):
    x, y = dyadic_data(6)
    fit = jax.jit(functools.partial(jaxnn.perceptron_fit, epochs=EPOCHS))
    got = fit(x, y, learning_rate=0.25, key=key)
    want = jaxnn.perceptron_fit(x, y, learning_rate=0.25, epochs=EPOCHS, key=key)
    chex.assert_trees_all_equal(got, want)


def test_vmap_over_learning_rates_and_keys_equals_loop(key):
    x, y = dyadic_data(7)
    rates = jnp.array([0.25, 0.5, 1.0, 2.0])
    fit = lambda lr, k: jaxnn.perceptron_fit(x, y, learning_rate=lr, epochs=EPOCHS, key=k)
    batched = jax.vmap(fit, (0, None))(rates, key)
    loop = [fit(float(r), key) for r in rates]
    chex.assert_trees_all_equal(batched, jax.tree.map(lambda *a: jnp.stack(a), *loop))
    keys = jax.random.split(key, 3)
    batched = jax.vmap(fit, (None, 0))(0.25, keys)
    loop = [fit(0.25, k) for k in keys]
    chex.assert_trees_all_equal(batched, jax.tree.map(lambda *a: jnp.stack(a), *loop))
    # The keyed runs really differ from one another.
    assert not np.array_equal(batched[1].w[0], batched[1].w[1])


def test_compiled_once_for_same_shapes(key):
    # A shape no other test uses, so that the first call compiles exactly once.
    x, y = dyadic_data(8, 13, 7)
    before = _perceptron_fit._cache_size()
    jaxnn.perceptron_fit(x, y, learning_rate=0.25, epochs=7, key=key)
    after_first = _perceptron_fit._cache_size()
    assert after_first == before + 1
    # New values, a new key, a Python int rate and int vs float labels: no retrace.
    x2, y2 = dyadic_data(9, 13, 7)
    jaxnn.perceptron_fit(x2, y2, learning_rate=1, epochs=7, key=jax.random.key(9))
    jaxnn.perceptron_fit(
        x2, y2.astype(np.float32), learning_rate=jnp.float32(0.5), epochs=7, key=key
    )
    jaxnn.perceptron_fit(x2.astype(np.int32), y2, learning_rate=0.1, epochs=7, key=key)
    assert _perceptron_fit._cache_size() == after_first


def test_jitted_wrapper_traces_once(key):
    x, y = dyadic_data(10)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def fit(x, y, lr, k):
        return jaxnn.perceptron_fit(x, y, learning_rate=lr, epochs=EPOCHS, key=k)

    fit(x, y, 0.5, key)
    fit(x + 1, 1 - y, 0.25, jax.random.fold_in(key, 1))  # would raise on a retrace


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_x_raises(key, bad):
    x, y = dyadic_data(11, 5, 2)
    x[3, 1] = bad
    with pytest.raises(ValueError, match=r"NaN|inf") as err:
        jaxnn.perceptron_fit(x, y, learning_rate=0.1, epochs=1, key=key)
    assert "(3, 1)" in str(err.value)  # names where


@pytest.mark.parametrize(
    "labels", [[0, 1, 2, 0], [0, 1, -1, 0], [0.0, 0.5, 1.0, 1.0], [0, 1, np.nan, 0]]
)
def test_labels_not_binary_raise(key, labels):
    with pytest.raises(ValueError, match="0/1"):
        jaxnn.perceptron_fit(X2, np.array(labels), learning_rate=0.1, epochs=1, key=key)


def test_bool_labels_are_accepted(key):
    fit = functools.partial(jaxnn.perceptron_fit, learning_rate=0.1, epochs=GATE_EPOCHS, key=key)
    p1, _ = fit(X2, np.array([False, False, False, True]))
    p2, _ = fit(X2, np.array([0, 0, 0, 1]))
    chex.assert_trees_all_equal(p1, p2)


@pytest.mark.parametrize(
    ("x_shape", "y_shape"), [((4, 2), (3,)), ((4, 2), (4, 1)), ((4, 2), ()), ((5, 3), (4,))]
)
def test_shape_mismatch_names_both_shapes(key, x_shape, y_shape):
    x, y = np.zeros(x_shape, np.float32), np.zeros(y_shape, np.int32)
    with pytest.raises(ValueError) as err:
        jaxnn.perceptron_fit(x, y, learning_rate=0.1, epochs=1, key=key)
    assert str(x_shape) in str(err.value)
    assert str(y_shape) in str(err.value)


@pytest.mark.parametrize("x_shape", [(4,), (2, 2, 2), (0, 2)])
def test_x_not_a_matrix_raises(key, x_shape):
    with pytest.raises(ValueError, match=r"x must have shape \(n, d\)"):
        jaxnn.perceptron_fit(
            np.zeros(x_shape), np.zeros(x_shape[:1]), learning_rate=0.1, epochs=1, key=key
        )


def test_shape_mismatch_raises_inside_jit(key):
    fit = jax.jit(functools.partial(jaxnn.perceptron_fit, epochs=2))
    with pytest.raises(ValueError, match=r"\(4, 2\)"):
        fit(np.zeros((4, 2), np.float32), np.zeros(3, np.float32), learning_rate=0.1, key=key)


@pytest.mark.parametrize("epochs", [0, -3])
def test_epochs_below_one_raise(key, epochs):
    with pytest.raises(ValueError, match="epochs"):
        jaxnn.perceptron_fit(X2, np.array([0, 0, 0, 1]), learning_rate=0.1, epochs=epochs, key=key)


@pytest.mark.parametrize("epochs", [2.0, "3", True, None, jnp.array(3)])
def test_non_int_epochs_raise(key, epochs):
    with pytest.raises(TypeError, match="epochs"):
        jaxnn.perceptron_fit(X2, np.array([0, 0, 0, 1]), learning_rate=0.1, epochs=epochs, key=key)


def test_numpy_int_epochs_accepted(key):
    _, hist = jaxnn.perceptron_fit(
        X2, np.array([0, 0, 0, 1]), learning_rate=0.1, epochs=np.int64(GATE_EPOCHS), key=key
    )
    assert hist.updates.shape == (GATE_EPOCHS,)


@pytest.mark.parametrize("lr", [0.0, -0.1, np.nan, np.inf, np.array([0.1, 0.2])])
def test_bad_learning_rate_raises(key, lr):
    with pytest.raises(ValueError, match="learning_rate"):
        jaxnn.perceptron_fit(X2, np.array([0, 0, 0, 1]), learning_rate=lr, epochs=1, key=key)


def test_bad_init_shape_raises(key):
    with pytest.raises(ValueError, match="init"):
        jaxnn.perceptron_fit(
            X2,
            np.array([0, 0, 0, 1]),
            learning_rate=0.1,
            epochs=1,
            key=key,
            init={"w": jnp.zeros(3), "b": jnp.zeros(())},
        )
    with pytest.raises(ValueError, match="init"):
        jaxnn.perceptron_fit(
            X2,
            np.array([0, 0, 0, 1]),
            learning_rate=0.1,
            epochs=1,
            key=key,
            init={"w": jnp.zeros(2), "b": jnp.zeros(1)},
        )

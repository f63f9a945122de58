"""Class ids and probabilities of a model (jaxnn.predict).

Against a second implementation: the logits of jaxnn.mlp_apply, with the sigmoid,
softmax, threshold and argmax computed in NumPy (float64); under jit and vmap over
stacked params; and bad input raising with the argument named.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnn
from jaxnn import predict, predict_proba

N = 16
BINARY = jaxnn.MLP((3, 5, 1), activation="tanh")
MULTI = jaxnn.MLP((3, 6, 4))


def inputs(seed=0, n=N, d=3):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def reference_logits(model, params, x):
    return np.asarray(jaxnn.mlp_apply(params, x, activation=model.activation), np.float64)


def test_binary_against_numpy(key):
    params, x = BINARY.init(key), inputs()
    z = reference_logits(BINARY, params, x)[:, 0]
    ids, proba = predict(BINARY, params, x), predict_proba(BINARY, params, x)
    assert (ids.shape, ids.dtype) == ((N,), jnp.int32)
    assert (proba.shape, proba.dtype) == ((N,), jnp.float32)
    np.testing.assert_array_equal(ids, (z >= 0).astype(np.int32))
    np.testing.assert_allclose(proba, np_sigmoid(z), rtol=1e-6, atol=1e-7)
    assert 0 < ids.sum() < N  # both classes occur: the test compares something
    np.testing.assert_array_equal(ids, (np.asarray(proba) >= 0.5).astype(np.int32))


def test_binary_model_with_logits_of_shape_n(key):
    model = jaxnn.Model(BINARY.init, lambda p, x: jaxnn.mlp_apply(p, x, activation="tanh")[:, 0])
    params, x = BINARY.init(key), inputs()
    np.testing.assert_array_equal(predict(model, params, x), predict(BINARY, params, x))
    np.testing.assert_array_equal(predict_proba(model, params, x), predict_proba(BINARY, params, x))
    pair = (model.init, model.apply)  # an (init, apply) pair is a model too
    np.testing.assert_array_equal(predict(pair, params, x), predict(BINARY, params, x))


def test_multiclass_against_numpy(key):
    params, x = MULTI.init(key), inputs(1)
    z = reference_logits(MULTI, params, x)
    ids, proba = predict(MULTI, params, x), predict_proba(MULTI, params, x)
    assert (ids.shape, ids.dtype) == ((N,), jnp.int32)
    assert (proba.shape, proba.dtype) == ((N, 4), jnp.float32)
    np.testing.assert_array_equal(ids, z.argmax(axis=1))
    np.testing.assert_allclose(proba, np_softmax(z), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(proba).sum(axis=1), 1.0, rtol=1e-6)
    assert len(np.unique(ids)) > 1


def test_a_zero_logit_is_class_one_and_ties_go_to_the_lowest_id():
    binary = jaxnn.Model(lambda k: {}, lambda p, x: jnp.zeros((x.shape[0], 1)))
    multi = jaxnn.Model(lambda k: {}, lambda p, x: jnp.zeros((x.shape[0], 3)))
    x = inputs(n=2)
    np.testing.assert_array_equal(predict(binary, {}, x), [1, 1])
    np.testing.assert_array_equal(predict_proba(binary, {}, x), [0.5, 0.5])
    np.testing.assert_array_equal(predict(multi, {}, x), [0, 0])
    np.testing.assert_allclose(predict_proba(multi, {}, x), np.full((2, 3), 1 / 3), rtol=1e-6)


def test_integer_inputs_are_taken_as_floats(key):
    params, x = MULTI.init(key), np.arange(6, dtype=np.int32).reshape(2, 3)
    np.testing.assert_array_equal(
        predict_proba(MULTI, params, x), predict_proba(MULTI, params, x.astype(np.float32))
    )


@pytest.mark.parametrize("model", [BINARY, MULTI], ids=["binary", "multiclass"])
def test_jit_equals_eager_and_is_deterministic(model, key):
    params, x = model.init(key), inputs(2)
    for fn in (predict, predict_proba):
        eager = fn(model, params, x)
        static = jax.jit(fn, static_argnums=0)(model, params, x)
        closed = jax.jit(lambda p, x, fn=fn: fn(model, p, x))(params, x)
        np.testing.assert_array_equal(static, eager)
        np.testing.assert_array_equal(closed, eager)
        assert fn(model, params, x).tobytes() == eager.tobytes()  # deterministic


@pytest.mark.parametrize("model", [BINARY, MULTI], ids=["binary", "multiclass"])
def test_vmap_over_stacked_params_equals_a_loop(model, key):
    stacked = jax.vmap(model.init)(jax.random.split(key, 3))  # as a study's results.params
    x = inputs(3)
    for fn in (predict, predict_proba):
        batched = jax.jit(jax.vmap(lambda p, fn=fn: fn(model, p, x)))(stacked)
        members = [jax.tree.map(lambda a, r=r: a[r], stacked) for r in range(3)]
        np.testing.assert_allclose(
            batched, np.stack([fn(model, p, x) for p in members]), rtol=1e-6, atol=1e-7
        )
        assert batched.shape[:2] == (3, N)


def test_vmap_over_a_studys_params():
    x, y = jaxnn.data.make_blobs(jax.random.key(1), 32)
    model = jaxnn.MLP((2, 4, 1))
    study = jaxnn.restarts(jax.random.key(0), model, (x, y), config=jaxnn.FitConfig(epochs=3), n=2)
    ids = jax.vmap(lambda p: predict(model, p, x))(study.results.params)
    assert (ids.shape, ids.dtype) == ((2, 32), jnp.int32)
    np.testing.assert_array_equal(ids[1], predict(model, study.member(restart=1).params, x))


# --- bad input: the error names the argument -----------------------------------------


def raises(error, match, fn, *args):
    with pytest.raises(error, match=match):
        fn(*args)


@pytest.mark.parametrize("fn", [predict, predict_proba])
@pytest.mark.parametrize("transform", [lambda f: f, jax.jit], ids=["eager", "jit"])
def test_bad_shapes_raise_naming_the_argument_also_under_jit(fn, transform, key):
    params, x = BINARY.init(key), inputs()

    def call(model, params, x):
        return transform(lambda p, x: fn(model, p, x))(params, x)

    raises(ValueError, r"x must have shape \(n, d\).*\(16,\)", call, BINARY, params, x[:, 0])
    raises(ValueError, r"x has 2 features.*takes 3", call, BINARY, params, x[:, :2])
    raises(ValueError, "x has no rows", call, BINARY, params, x[:0])
    raises(ValueError, r"params do not fit.*params\[0\]\['b'\]", call, MULTI, params, x)
    stacked = jax.vmap(BINARY.init)(jax.random.split(key, 2))
    raises(ValueError, r"params are a stack of 2.*jax.vmap", call, BINARY, stacked, x)
    three_d = jaxnn.Model(BINARY.init, lambda p, x: jnp.zeros((x.shape[0], 2, 2)))
    raises(ValueError, r"logits of shape \(16, 2, 2\)", call, three_d, params, x)
    rows = jaxnn.Model(BINARY.init, lambda p, x: jnp.zeros((x.shape[0] + 1, 1)))
    raises(ValueError, r"logits of shape \(17, 1\)", call, rows, params, x)
    no_class = jaxnn.Model(BINARY.init, lambda p, x: jnp.zeros((x.shape[0], 0)))
    raises(ValueError, r"logits of shape \(16, 0\)", call, no_class, params, x)


def test_nonfinite_and_non_numeric_x(key):
    params, x = BINARY.init(key), inputs()
    bad = x.copy()
    bad[3, 1] = np.nan
    raises(ValueError, r"x contains 1 NaN", predict, BINARY, params, bad)
    bad[3, 1] = np.inf
    raises(ValueError, r"x contains 0 NaN and 1 inf", predict_proba, BINARY, params, bad)
    raises(TypeError, "x must be an array of real numbers", predict, BINARY, params, x + 0j)
    raises(TypeError, "x must be an array of numbers", predict, BINARY, params, None)


@pytest.mark.parametrize("fn", [predict, predict_proba])
def test_nonfinite_x_says_predicting_not_fitting(fn, key):
    bad = inputs()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"x contains 1 NaN .*before predicting\.$") as e:
        fn(BINARY, BINARY.init(key), bad)
    assert "fitting" not in str(e.value)


@pytest.mark.parametrize("fn", [predict, predict_proba])
@pytest.mark.parametrize("transform", [lambda f: f, jax.jit], ids=["eager", "jit"])
def test_bool_x_is_a_type_error_also_under_jit(fn, transform, key):
    x = np.zeros((3, 3), bool)  # the model takes 3 features: only the dtype is wrong
    with pytest.raises(TypeError, match=r"x must be an array of real numbers.*dtype bool"):
        transform(lambda p, x: fn(BINARY, p, x))(BINARY.init(key), x)


def test_not_a_model(key):
    raises(TypeError, "model must be", predict, "mlp", BINARY.init(key), inputs())


@pytest.mark.parametrize("fn", [predict, predict_proba])
def test_swapped_model_and_params_give_a_short_message(fn, key):
    params = BINARY.init(key)
    with pytest.raises(TypeError, match=r"model must be .*got a list of 2; params is a model") as e:
        fn(params, BINARY, inputs())
    message = str(e.value)
    assert "Array(" not in message and "[[" not in message and len(message) < 300, message
    assert f"{fn.__name__}(model, params, x)" in message
    with pytest.raises(TypeError, match=r"got a dict of 2\.$"):  # not swapped: no hint
        fn({"w": np.ones((3, 1)), "b": np.zeros(1)}, params, inputs())


@pytest.fixture(scope="module")
def study():
    x, y = jaxnn.data.make_blobs(jax.random.key(1), 32)
    return jaxnn.restarts(
        jax.random.key(0), jaxnn.MLP((2, 4, 1)), (x, y), config=jaxnn.FitConfig(epochs=3), n=2
    )


@pytest.mark.parametrize("fn", [predict, predict_proba])
@pytest.mark.parametrize("transform", [lambda f: f, jax.jit], ids=["eager", "jit"])
def test_a_result_or_state_as_params_says_which_field_to_pass(fn, transform, study):
    model, x = jaxnn.MLP((2, 4, 1)), inputs(d=2)
    cases = [
        (study.best_result, r"got a FitResult; pass result.params or result.best_params\."),
        (study.results, r"got a FitResult; pass result.params"),  # stacked: still a FitResult
        (study.best_result.state, r"got a FitState; pass state.params\."),
    ]
    for wrong, match in cases:
        with pytest.raises(TypeError, match=rf"{fn.__name__}: params must be .*{match}"):
            transform(lambda p, x: fn(model, p, x))(wrong, x)
    with pytest.raises(
        TypeError,
        match=r"params must be .*got a StudyResult; pass study.best_result.best_params, or "
        r"jax.vmap over study.results.params",
    ):
        fn(model, study, x)
    best = study.best_result  # what the messages say to pass works
    for params in (best.params, best.best_params):
        assert fn(model, params, x).shape[0] == N


def test_params_that_do_not_fit_a_model_without_a_traceable_init():
    def init(key):
        raise NotImplementedError("this model is initialised elsewhere")

    model = jaxnn.Model(init, lambda p, x: jnp.dot(x, p["w"]))  # a TypeError in jax
    params = {"w": np.ones((2, 1), np.float32)}
    raises(
        TypeError,
        r"model.apply\(params, x\) failed.*do params fit",
        predict,
        model,
        params,
        inputs(),
    )
    np.testing.assert_array_equal(predict(model, params, inputs(d=2)).shape, (N,))

"""Optimisers, learning-rate schedules and the L1 proximal step (lessons 10, 15, 16).

Each is checked against its formula computed by hand in NumPy, and against optax
where optax has the same thing.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxnn
from jaxnn import schedules

GRADS = [
    {"w": np.array([[0.5, -1.0], [2.0, 0.25]]), "b": np.array([1.0, -0.5])},
    {"w": np.array([[-0.3, 0.7], [0.1, -2.0]]), "b": np.array([0.2, 0.4])},
    {"w": np.array([[1.5, 0.2], [-0.6, 0.9]]), "b": np.array([-1.0, 0.3])},
]


def f32(tree):
    return jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), tree)


def run_updates(opt, grads, params):
    """The updates ``opt`` returns for successive gradients (params held fixed)."""
    state = opt.init(f32(params))
    steps = []
    for g in grads:
        u, state = opt.update(f32(g), state, f32(params))
        steps.append(u)
    return steps


def assert_tree_close(got, want, rtol=1e-6, atol=1e-7):
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------
# Momentum


def test_heavy_ball_steps_are_the_courses_sum_of_past_gradients():
    """step_n = -lr (g_n + beta g_{n-1} + beta^2 g_{n-2}), for three steps."""
    lr, beta = 0.1, 0.9
    g1, g2, g3 = GRADS
    zeros = jax.tree.map(np.zeros_like, g1)

    steps = run_updates(jaxnn.heavy_ball(lr, beta), GRADS, zeros)

    for n, expected in enumerate(
        [
            jax.tree.map(lambda a: -lr * a, g1),
            jax.tree.map(lambda a, b: -lr * (a + beta * b), g2, g1),
            jax.tree.map(lambda a, b, c: -lr * (a + beta * b + beta**2 * c), g3, g2, g1),
        ]
    ):
        assert_tree_close(steps[n], expected)


def test_heavy_ball_is_optax_sgd_with_momentum_and_beta_zero_is_gradient_descent():
    zeros = jax.tree.map(np.zeros_like, GRADS[0])
    ours = run_updates(jaxnn.heavy_ball(0.05, 0.7), GRADS, zeros)
    theirs = run_updates(optax.sgd(0.05, momentum=0.7), GRADS, zeros)
    assert_tree_close(ours, theirs)
    plain = run_updates(jaxnn.heavy_ball(0.05, 0.0), GRADS, zeros)
    assert_tree_close(plain, run_updates(jaxnn.gradient_descent(0.05), GRADS, zeros))
    assert_tree_close(plain, [jax.tree.map(lambda a: -0.05 * a, g) for g in GRADS])


def test_heavy_ball_momentum_can_be_vmapped():
    betas = jnp.array([0.0, 0.5, 0.9], jnp.float32)
    g = [jnp.asarray(x["b"], jnp.float32) for x in GRADS]

    def third_step(beta):
        opt = jaxnn.heavy_ball(0.1, beta)
        state = opt.init(g[0])
        for gn in g:
            u, state = opt.update(gn, state)
        return u

    got = jax.jit(jax.vmap(third_step))(betas)
    for i, beta in enumerate([0.0, 0.5, 0.9]):
        expected = -0.1 * (GRADS[2]["b"] + beta * GRADS[1]["b"] + beta**2 * GRADS[0]["b"])
        np.testing.assert_allclose(got[i], expected, rtol=1e-6)


# ---------------------------------------------------------------------------------------
# Schedules

A, R, T = 0.2, 0.5, 10
COUNTS = [0, 1, 3, 7, 10, 11, 25, 100]

CLOSED_FORMS = {
    "constant": lambda t, a, r, T: a,
    "exponential": lambda t, a, r, T: a * r ** (t / T),
    "step": lambda t, a, r, T: a * r ** math.floor(t / T),
    "inverse_time": lambda t, a, r, T: a / (1 + r * t / T),
}
FUNCTIONS = {
    "constant": lambda a, r, T: schedules.constant(a),
    "exponential": schedules.exponential_decay,
    "step": schedules.step_decay,
    "inverse_time": schedules.inverse_time_decay,
}


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_each_schedule_is_its_closed_form(name):
    closed = CLOSED_FORMS[name]
    for sched in (FUNCTIONS[name](A, R, T), schedules.schedule(name, A, R, T)):
        for t in COUNTS:
            for count in (t, jnp.asarray(t, jnp.int32)):  # optax counts are int32 arrays
                got = sched(count)
                assert got.dtype == jnp.float32
                np.testing.assert_allclose(got, closed(t, A, R, T), rtol=1e-6)


def test_exponential_and_step_equal_optax_exponential_decay():
    for staircase, ours in [
        (False, schedules.exponential_decay(A, R, T)),
        (True, schedules.step_decay(A, R, T)),
        (True, schedules.exponential_decay(A, R, T, staircase=True)),
    ]:
        theirs = optax.exponential_decay(A, T, R, staircase=staircase)
        for t in COUNTS:
            np.testing.assert_allclose(ours(t), theirs(jnp.asarray(t)), rtol=1e-6)


@pytest.mark.parametrize("name", ["exponential", "step", "inverse_time"])
def test_a_schedule_can_be_vmapped_over_its_decay_rate(name):
    """Including r = 0 (optax's exponential_decay branches on that value in Python)."""
    rates = [0.0, 0.5, 0.9, 1.0]
    counts = jnp.asarray(COUNTS, jnp.int32)
    got = jax.jit(jax.vmap(lambda r: jax.vmap(FUNCTIONS[name](A, r, T))(counts)))(
        jnp.asarray(rates, jnp.float32)
    )
    expected = [[CLOSED_FORMS[name](t, A, r, T) for t in COUNTS] for r in rates]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_an_unknown_schedule_lists_the_known_ones():
    with pytest.raises(ValueError, match="inverse_time"):
        schedules.schedule("cosine", A)
    with pytest.raises(ValueError, match="transition_steps"):
        schedules.exponential_decay(A, R, 0)


N_EYE = 9
EYE_MODEL = jaxnn.Model(init=lambda k: {"w": jnp.zeros(N_EYE)}, apply=lambda p, x, **kw: x @ p["w"])


def test_step_decay_in_a_fit_drops_the_rate_every_decay_epochs(key):
    """lr_e = a r^floor(e / 2) in the history, and the updates use it. With x the
    identity and batches of 3 out of 9, example j moves only w_j, once per epoch, by
    lr_e (y_j - sigmoid(w_j)) / 3 whatever the order: a NumPy recurrence."""
    a, r = 2.0, 0.5
    config = jaxnn.FitConfig(
        epochs=6, learning_rate=a, batch_size=3, decay="step", decay_rate=r, decay_epochs=2
    )
    x = np.eye(N_EYE, dtype=np.float32)
    y = (np.random.default_rng(4).random(N_EYE) < 0.5).astype(np.float32)

    res = jaxnn.fit(key, EYE_MODEL, (x, y), config=config)

    rates = a * r ** np.floor(np.arange(6) / 2)
    np.testing.assert_allclose(res.history.learning_rate, rates, rtol=1e-6)
    w = np.zeros(N_EYE)
    for lr in rates:
        w = w + lr * (y - 1 / (1 + np.exp(-w))) / 3
    np.testing.assert_allclose(res.params["w"], w, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------------------
# The L1 proximal step


def np_soft_threshold(w, t):
    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)


def test_soft_threshold_matches_numpy():
    w = np.random.default_rng(0).normal(size=(50,)).astype(np.float32)
    w[:3] = [0.0, 0.3, -0.3]
    for t in (0.0, 0.3, 0.7, 5.0):
        got = jaxnn.soft_threshold(w, t)
        np.testing.assert_array_equal(got, np_soft_threshold(w, np.float32(t)))
        assert got.dtype == jnp.float32
    assert (jaxnn.soft_threshold(w, 0.7) == 0).sum() == (np.abs(w) <= 0.7).sum()


def test_l1_proximal_thresholds_weights_and_leaves_biases_alone():
    params = {"w": np.array([[0.5, -0.05], [0.02, -1.0]]), "b": np.array([0.01, -0.02])}
    updates = {"w": np.array([[0.1, 0.0], [0.0, 0.3]]), "b": np.array([0.005, 0.1])}
    sched = schedules.step_decay(0.5, 0.1, 1)  # the threshold follows the rate's schedule
    opt = jaxnn.l1_proximal(0.2, sched)
    state = opt.init(f32(params))
    zeros = []
    for count in range(2):
        thr = 0.2 * 0.5 * 0.1**count  # 0.1, then 0.01
        out, state = opt.update(f32(updates), state, f32(params))
        new = optax.apply_updates(f32(params), out)
        np.testing.assert_allclose(
            new["w"], np_soft_threshold(params["w"] + updates["w"], thr), rtol=1e-6, atol=1e-7
        )
        np.testing.assert_array_equal(out["b"], f32(updates)["b"])  # untouched
        zeros.append(int((np.asarray(new["w"]) == 0).sum()))
    assert zeros == [2, 0]


def test_l1_proximal_with_momentum_is_proximal_heavy_ball():
    """iPiano: w_{n+1} = prox(w_n - lr g_n + beta (w_n - w_{n-1})); biases get the same
    momentum step without the threshold."""
    lr, beta, l1 = 0.1, 0.8, 2.0
    opt = optax.chain(jaxnn.gradient_descent(lr), jaxnn.l1_proximal(l1, lr, momentum=beta))
    params = {"w": np.array([[0.3, -0.2], [0.05, 1.0]]), "b": np.zeros(2)}
    state = opt.init(f32(params))
    p = f32(params)
    prev = cur = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    for g in GRADS:
        u, state = opt.update(f32(g), state, p)
        p = optax.apply_updates(p, u)
        nxt = {
            "w": np_soft_threshold(cur["w"] - lr * g["w"] + beta * (cur["w"] - prev["w"]), lr * l1),
            "b": cur["b"] - lr * g["b"] + beta * (cur["b"] - prev["b"]),
        }
        prev, cur = cur, nxt
        assert_tree_close(p, cur, rtol=1e-5, atol=1e-6)
    assert (np.asarray(p["w"]) == 0).any()


def test_l1_proximal_needs_params():
    opt = jaxnn.l1_proximal(0.1, 0.1)
    params = f32({"w": np.ones(2)})
    with pytest.raises(ValueError, match="params"):
        opt.update(params, opt.init(params))

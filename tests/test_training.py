"""jaxnn.fit, the training engine (lessons 6, 9, 10, 14-16), against independent references.

The references are updates computed by hand in NumPy, scikit-learn's optima of the
same objectives, and the invariants of early stopping, mini-batching, determinism,
chunking and vmapping. Compiling a fit costs seconds on a CPU, so the tests share a
few setups (model, config structure, data shapes) and thus compiled programs.
"""

import collections
import functools
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_bitwise, count_compiles, raw
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import jaxnn

training = sys.modules["jaxnn.training"]


# ---------------------------------------------------------------------------------------
# Helpers: NumPy references and data


def np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_logits(params, x):
    """A relu MLP's logits (n,) in float64 NumPy, independent of mlp_apply."""
    h = np.asarray(x, np.float64)
    for i, layer in enumerate(params):
        h = h @ np.asarray(layer["w"], np.float64) + np.asarray(layer["b"], np.float64)
        if i < len(params) - 1:
            h = np.maximum(h, 0.0)
    return h[:, 0]


def np_bce(z, y):
    """Mean binary cross-entropy from logits, stably: log(1 + e^z) - y z."""
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def noisy_labels(seed, n, flip=0.15):
    """2-d Gaussian inputs, a linear rule, and a fraction ``flip`` of labels flipped."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.float32)
    flipped = rng.random(n) < flip
    y[flipped] = 1 - y[flipped]
    return x, y


@functools.cache
def breast_cancer():
    x, y = load_breast_cancer(return_X_y=True)
    return (x - x.mean(0)) / x.std(0), y.astype(np.float64)


def assert_close(a, b, rtol=1e-5, atol=1e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(raw(x), raw(y), rtol=rtol, atol=atol)


def make_xy(seed=5, n=10, d=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32), (rng.random(n) < 0.5).astype(np.float32)


# Shared setups, each one compiled program.
SMALL = make_xy(10, 8, 3)
ONE_STEP = jaxnn.FitConfig(epochs=1, learning_rate=0.3)

# A tiny noisy train set, a big MLP and a validation set from the same distribution.
OVERFIT_TRAIN, OVERFIT_VAL = noisy_labels(0, 20), noisy_labels(1, 200)
OVERFIT_MODEL = jaxnn.MLP((2, 64, 64, 1))
OVERFIT = jaxnn.FitConfig(epochs=300, learning_rate=0.03, momentum=0.9, patience=5)

# Dropout, and mini-batches with a partial last batch (50 = 3 * 16 + 2).
DROP_TRAIN, DROP_VAL = noisy_labels(2, 50), noisy_labels(3, 100)
DROP_MODEL = jaxnn.MLP((2, 16, 16, 1))
DROP = jaxnn.FitConfig(epochs=12, learning_rate=0.03, momentum=0.9, dropout=0.2, batch_size=16)


def drop_fit(key, config=DROP, **kwargs):
    return jaxnn.fit(key, DROP_MODEL, DROP_TRAIN, DROP_VAL, config, **kwargs)


def prepared(train, val):
    """(x, y) pairs as jaxnn.fit hands them to the compiled loop."""
    prepare = training.prepare_data
    return prepare("train", train, "binary"), prepare("val", val, "binary")


def run_until(key, model, config, train, val, until):
    """The compiled loop of jaxnn.fit, run from a fresh state for ``until`` epochs."""
    train, val = prepared(train, val)
    plan = training.make_plan(config, train[0].shape[0], True)
    statics = dict(model=model, plan=plan, optimizer=None)
    state = training._init_jit(key, config=config, **statics)
    return training._run_jit(state, config=config, train=train, val=val, until=until, **statics)


# ---------------------------------------------------------------------------------------
# The course's update rules


def test_one_gradient_descent_step_is_the_course_update(key):
    """w <- w + a mean_i (y_i - y_hat_i) x_i, b <- b + a mean_i (y_i - y_hat_i)."""
    x, y = SMALL
    a = ONE_STEP.learning_rate
    model = jaxnn.MLP((3, 1))
    p0 = model.init(jax.random.fold_in(key, 0))  # the init key of the module doc
    w0 = np.asarray(p0[0]["w"], np.float64)[:, 0]
    b0 = float(p0[0]["b"][0])
    x64 = x.astype(np.float64)
    err = y - np_sigmoid(x64 @ w0 + b0)
    w1 = w0 + a * np.mean(err[:, None] * x64, axis=0)
    b1 = b0 + a * np.mean(err)

    res = jaxnn.fit(key, model, (x, y), config=ONE_STEP)

    np.testing.assert_allclose(res.params[0]["w"][:, 0], w1, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(res.params[0]["b"][0], b1, rtol=1e-5, atol=1e-7)
    assert np.abs(w1 - w0).max() > 1e-2  # the step is not negligible
    # the history's loss is the one the update computed: at the params it started from
    np.testing.assert_allclose(res.history.train_loss[0], np_bce(x64 @ w0 + b0, y), rtol=1e-5)
    assert float(res.history.learning_rate[0]) == pytest.approx(a)
    assert int(res.epochs_run) == 1
    exact = jaxnn.fit(key, model, (x, y), config=ONE_STEP.replace(train_metrics="end_of_epoch"))
    assert_bitwise(exact.params, res.params)  # the option changes the history only
    np.testing.assert_allclose(exact.history.train_loss[0], np_bce(x64 @ w1 + b1, y), rtol=1e-5)


def test_a_second_fit_compiles_nothing(key):
    """Same model (an equal MLP), config structure and shapes: nothing is compiled
    again, not even an eager op, for other data, another key and another learning
    rate (a leaf)."""
    x, y = SMALL
    jaxnn.fit(key, jaxnn.MLP((3, 1)), (x, y), config=ONE_STEP)
    with count_compiles() as compiles:
        res = jaxnn.fit(
            jax.random.fold_in(key, 1),
            jaxnn.MLP((3, 1)),
            (x[::-1].copy(), 1 - y),
            config=ONE_STEP.replace(learning_rate=0.05),
        )
    assert compiles.count == 0
    assert float(res.history.learning_rate[0]) == pytest.approx(0.05)
    with count_compiles() as compiles:  # the counter counts: a new structure compiles
        jaxnn.fit(key, jaxnn.MLP((3, 1)), (x, y), config=ONE_STEP.replace(epochs=2))
    assert compiles.count >= 1


# ---------------------------------------------------------------------------------------
# The history: what each entry means, against a float64 simulation


def np_fit_logistic(key, x, y, config, epochs):
    """jaxnn.fit of ``MLP((d, 1))`` (logistic regression) with mini-batches, heavy-ball
    momentum, a step decay and L2, simulated in float64 NumPy from the same initial
    params and the data order of the module doc. Returns per-epoch (running loss,
    running accuracy, end-of-epoch loss, end-of-epoch accuracy), and final params."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    n, b = len(y), config.batch_size
    nb = -(-n // b)
    p0 = jaxnn.MLP((x.shape[1], 1)).init(jax.random.fold_in(key, 0))
    w, c = np.asarray(p0[0]["w"], np.float64)[:, 0], float(p0[0]["b"][0])
    vw, vc, t = np.zeros_like(w), 0.0, 0
    root = jax.random.fold_in(key, 1)
    out = []
    for e in range(epochs):
        perm = np.asarray(
            jax.random.permutation(jax.random.fold_in(jax.random.fold_in(root, e), 0), n)
        )
        ce_sum = hits = 0.0
        for s in range(nb):
            idx = perm[s * b : (s + 1) * b]
            z = x[idx] @ w + c
            ce_sum += np.sum(np.logaddexp(0.0, z) - y[idx] * z)
            hits += np.sum((z >= 0) == (y[idx] == 1))
            err = np_sigmoid(z) - y[idx]
            gw = x[idx].T @ err / len(idx) + 2 * config.l2 * w
            gc = np.mean(err)
            lr = config.learning_rate * config.decay_rate ** (t // (nb * config.decay_epochs))
            vw, vc = gw + config.momentum * vw, gc + config.momentum * vc
            w, c, t = w - lr * vw, c - lr * vc, t + 1
        z = x @ w + c
        out.append((ce_sum / n, hits / n, np_bce(z, y), np.mean((z >= 0) == (y == 1))))
    return np.array(out), (w, c)


HIST_X, HIST_Y = noisy_labels(4, 23)  # 23 = 2 * 10 + 3: a partial last batch
HIST = jaxnn.FitConfig(
    epochs=4,
    learning_rate=0.5,
    momentum=0.8,
    decay="step",
    decay_rate=0.5,
    l2=0.05,
    batch_size=10,
)


@pytest.mark.parametrize("metrics", ["running", "end_of_epoch"])
def test_the_history_is_what_its_doc_says_against_float64(key, metrics):
    """running: the mean over the epoch's examples of the cross-entropy (no penalty)
    and accuracy each batch had before its update; end_of_epoch: the params at the
    end of the epoch, on the whole set."""
    config = HIST.replace(train_metrics=metrics)
    res = jaxnn.fit(key, jaxnn.MLP((2, 1)), (HIST_X, HIST_Y), config=config)
    want, (w, c) = np_fit_logistic(key, HIST_X, HIST_Y, config, config.epochs)
    cols = (0, 1) if metrics == "running" else (2, 3)
    np.testing.assert_allclose(res.history.train_loss, want[:, cols[0]], rtol=2e-5)
    np.testing.assert_allclose(res.history.train_accuracy, want[:, cols[1]], atol=1e-6)
    np.testing.assert_allclose(res.params[0]["w"][:, 0], w, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(res.params[0]["b"][0], c, rtol=2e-5, atol=1e-6)
    # the two measures differ (mid-epoch params, penalty excluded from both)
    assert np.abs(want[:, 0] - want[:, 2]).max() > 1e-3


def test_full_batch_best_params_are_those_the_best_loss_was_measured_at(key):
    """Without validation data a full batch's running loss is that of the params the
    epoch started from; best_params are those params, best_epoch that epoch."""
    x, y = HIST_X, HIST_Y
    config = jaxnn.FitConfig(epochs=8, learning_rate=10.0, momentum=0.9)  # overshoots
    res = jaxnn.fit(key, jaxnn.MLP((2, 1)), (x, y), config=config)
    loss = np.asarray(res.history.train_loss)
    best = int(res.best_epoch)
    assert best == int(np.argmin(loss)) and 0 < best < config.epochs - 1
    np.testing.assert_allclose(np_bce(np_logits(res.best_params, x), y), loss[best], rtol=1e-5)
    exact = jaxnn.fit(
        key, jaxnn.MLP((2, 1)), (x, y), config=config.replace(train_metrics="end_of_epoch")
    )  # the same params, one epoch later in the other measure
    np.testing.assert_allclose(exact.history.train_loss[:-1], loss[1:], rtol=1e-5)
    assert int(exact.best_epoch) == best - 1
    assert_close(exact.best_params, res.best_params)


def test_l2_logistic_regression_reaches_sklearn_optimum(key):
    """scikit-learn minimises 0.5 ||w||^2 + C sum_i CE_i. Divided by C n this is
    mean_i CE_i + ||w||^2 / (2 C n): jaxnn's objective with l2 = 1 / (2 C n). Neither
    penalises the intercept."""
    x, y = breast_cancer()
    n, c = len(y), 0.1
    sk = LogisticRegression(C=c, tol=1e-12, max_iter=100_000).fit(x, y)
    config = jaxnn.FitConfig(epochs=300, learning_rate=0.5, momentum=0.9, l2=1 / (2 * c * n))

    res = jaxnn.fit(key, jaxnn.MLP((30, 1)), (x, y), config=config)

    np.testing.assert_allclose(res.params[0]["w"][:, 0], sk.coef_[0], rtol=0, atol=1e-3)
    np.testing.assert_allclose(res.params[0]["b"][0], sk.intercept_[0], rtol=0, atol=1e-3)
    assert not bool(res.diverged)


def test_l1_proximal_reaches_the_lasso_optimum_with_exact_zeros(key):
    """Breast cancer plus 20 pure-noise features. scikit-learn's L1 logistic regression
    minimises ||w||_1 + C sum_i CE_i, i.e. mean CE + l1 ||w||_1 with l1 = 1 / (C n)
    (liblinear also penalises |b| / intercept_scaling: negligible at 1e4). The
    proximal fit, with momentum, lands on it with the same exact zeros; the penalty at
    the same strength leaves its weights jittering around zero, none exactly zero."""
    x, y = breast_cancer()
    n, l1 = len(y), 0.03
    noise = np.random.default_rng(0).normal(size=(n, 20))
    x = np.concatenate([x, noise], axis=1)
    sk = LogisticRegression(
        l1_ratio=1.0,
        solver="liblinear",
        C=1 / (l1 * n),
        tol=1e-8,  # tighter, liblinear's random coordinate order can stall
        max_iter=10_000,
        intercept_scaling=1e4,
        random_state=0,
    ).fit(x, y)
    model = jaxnn.MLP((50, 1))
    config = jaxnn.FitConfig(epochs=1000, learning_rate=0.5, momentum=0.9, l1=l1)

    prox = jaxnn.fit(key, model, (x, y), config=config.replace(l1_mode="proximal"))
    pen = jaxnn.fit(key, model, (x, y), config=config.replace(l1_mode="penalty"))

    w = np.asarray(prox.params[0]["w"])[:, 0]
    np.testing.assert_array_equal(w == 0, sk.coef_[0] == 0)
    assert (w[30:] == 0).sum() >= 15  # most noise features are dropped exactly
    np.testing.assert_allclose(w, sk.coef_[0], rtol=0, atol=1e-3)
    np.testing.assert_allclose(prox.params[0]["b"][0], sk.intercept_[0], rtol=0, atol=1e-3)
    assert (np.asarray(pen.params[0]["w"]) == 0).sum() <= 1


# ---------------------------------------------------------------------------------------
# Early stopping


def test_early_stopping_returns_the_best_epoch_of_the_history(key):
    res = jaxnn.fit(key, OVERFIT_MODEL, OVERFIT_TRAIN, OVERFIT_VAL, OVERFIT)
    run, best = int(res.epochs_run), int(res.best_epoch)
    h = {k: np.asarray(v) for k, v in res.history._asdict().items()}

    assert bool(res.stopped_early) and run < OVERFIT.epochs
    for name, values in h.items():
        assert np.isfinite(values[:run]).all(), name
        assert np.isnan(values[run:]).all(), name
    assert best == int(np.argmin(h["val_loss"][:run]))
    assert best > 0  # validation loss fell before it rose
    assert run == best + 1 + OVERFIT.patience
    assert h["train_loss"][run - 1] < h["train_loss"][best]  # it was overfitting
    xv, yv = OVERFIT_VAL
    best_loss = np_bce(np_logits(res.best_params, xv), yv)
    np.testing.assert_allclose(best_loss, h["val_loss"][best], rtol=1e-4)
    last_loss = np_bce(np_logits(res.params, xv), yv)
    np.testing.assert_allclose(last_loss, h["val_loss"][run - 1], rtol=1e-4)


# ---------------------------------------------------------------------------------------
# Determinism, chunking and resuming


def test_a_fit_is_a_deterministic_function_of_its_key(key):
    a, b = drop_fit(key), drop_fit(key)
    assert_bitwise(a, b)
    c = drop_fit(jax.random.fold_in(key, 1))
    assert not np.array_equal(a.params[0]["w"], c.params[0]["w"])
    assert not np.array_equal(a.history.train_loss, c.history.train_loss, equal_nan=True)


def test_dropout_and_shuffling_follow_the_training_key(key):
    """Same initial params, another training root key: another fit."""
    train, val = prepared(DROP_TRAIN, DROP_VAL)
    plan = training.make_plan(DROP, 50, True)
    statics = dict(model=DROP_MODEL, plan=plan, optimizer=None)
    run = functools.partial(
        training._run_jit,
        config=DROP,
        train=train,
        val=val,
        until=3,
        **statics,
    )
    s1 = training._init_jit(key, config=DROP, **statics)
    s2 = training._init_jit(key, config=DROP, **statics)._replace(key=jax.random.key(7))
    assert_bitwise(s1.params, s2.params)
    r1, r2 = run(s1), run(s2)
    assert not np.array_equal(r1.params[0]["w"], r2.params[0]["w"])


@pytest.mark.parametrize("chunk_epochs", [None, 5])
def test_progress_in_chunks_is_bitwise_the_straight_fit(key, chunk_epochs):
    straight = drop_fit(key)
    chunked = drop_fit(key, progress=True, chunk_epochs=chunk_epochs)
    assert_bitwise(straight, chunked)


class Interrupted(Exception):
    pass


def test_an_interrupted_fit_resumes_bitwise_from_its_checkpoint(key, tmp_path, monkeypatch):
    directory = str(tmp_path / "ckpt")
    config = DROP  # no early stopping: 12 epochs, 3 chunks of 4
    straight = drop_fit(key, config)
    real_run = training._run_jit
    calls = []

    def interrupted_after_a_chunk(*args, **kwargs):
        if len(calls) == 1:
            raise Interrupted
        calls.append(kwargs["until"])
        return real_run(*args, **kwargs)

    monkeypatch.setattr(training, "_run_jit", interrupted_after_a_chunk)
    with pytest.raises(Interrupted):
        drop_fit(key, config, chunk_epochs=4, checkpoint_dir=directory)
    assert calls == [4]

    def counted(*args, **kwargs):
        calls.append(kwargs["until"])
        return real_run(*args, **kwargs)

    monkeypatch.setattr(training, "_run_jit", counted)
    resumed = drop_fit(key, config, chunk_epochs=4, checkpoint_dir=directory)
    assert calls == [4, 8, 12]  # it went on from epoch 4
    assert_bitwise(straight, resumed)

    again = drop_fit(key, config, chunk_epochs=4, checkpoint_dir=directory)
    assert calls == [4, 8, 12]  # finished: restored, nothing to run
    assert_bitwise(straight, again)


# ---------------------------------------------------------------------------------------
# Mini-batches

N_EYE = 10
EYE_MODEL = jaxnn.Model(init=lambda k: {"w": jnp.zeros(N_EYE)}, apply=lambda p, x, **kw: x @ p["w"])


@pytest.mark.parametrize("batch_size", [1, 3, 12])
def test_a_minibatch_epoch_sees_every_example_exactly_once(key, batch_size):
    """With x the identity, example j only moves w_j, so one epoch of gradient descent
    from w = 0 gives w_j = a (y_j - 1/2) / |batch of j|: every example was used once,
    in a batch of its true size (the padding of a partial batch weighs nothing)."""
    a = 0.8
    x = np.eye(N_EYE, dtype=np.float32)
    y = (np.random.default_rng(3).random(N_EYE) < 0.5).astype(np.float32)
    config = jaxnn.FitConfig(epochs=1, learning_rate=a, batch_size=batch_size)

    w = np.asarray(jaxnn.fit(key, EYE_MODEL, (x, y), config=config).params["w"], np.float64)

    np.testing.assert_array_equal(np.sign(w), np.sign(y - 0.5))
    sizes = a / (2 * np.abs(w))  # |batch of j|
    np.testing.assert_allclose(sizes, np.round(sizes), rtol=1e-5)
    b = min(batch_size, N_EYE)
    expected = collections.Counter({b: b * (N_EYE // b)})
    if N_EYE % b:
        expected[N_EYE % b] += N_EYE % b
    assert collections.Counter(np.round(sizes).astype(int).tolist()) == expected


# ---------------------------------------------------------------------------------------
# vmap: what the restart study does


@functools.cache
def vmapped_overfit_fits():
    """init_state + run_epochs of the OVERFIT setup, vmapped over (key, config) pairs:
    what the restart study does. One compiled program for both tests below."""
    train, val = prepared(OVERFIT_TRAIN, OVERFIT_VAL)
    plan = training.make_plan(OVERFIT, train[0].shape[0], True)

    def one(k, c):
        state = training.init_state(k, OVERFIT_MODEL, c, plan)
        state = training.run_epochs(state, OVERFIT_MODEL, c, plan, train, val, c.epochs)
        return training.result_from_state(state)

    return jax.jit(jax.vmap(one))


def stack(configs):
    return jax.tree.map(lambda *a: jnp.asarray(a, jnp.float32), *configs)


def member(tree, i):
    return jax.tree.map(lambda a: a[i], tree)


def assert_same_fit(single, batched_member):
    for name in ("epochs_run", "best_epoch", "stopped_early", "diverged_epoch"):
        assert int(getattr(single, name)) == int(getattr(batched_member, name)), name
    assert_close(single.params, batched_member.params)
    assert_close(single.best_params, batched_member.best_params)
    for got, want in zip(batched_member.history, single.history, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)  # NaNs where the single's


def test_vmap_over_keys_matches_single_fits_each_stopping_at_its_own_epoch(key):
    keys = jax.random.split(key, 4)
    batched = vmapped_overfit_fits()(keys, stack([OVERFIT] * 4))
    singles = [jaxnn.fit(k, OVERFIT_MODEL, OVERFIT_TRAIN, OVERFIT_VAL, OVERFIT) for k in keys]

    stops = [int(s.epochs_run) for s in singles]
    assert len(set(stops)) >= 2 and all(s.stopped_early for s in singles)
    for i, single in enumerate(singles):
        assert_same_fit(single, member(batched, i))


def test_vmap_over_a_stacked_config_of_learning_rates(key):
    rates = (0.01, 0.02, 0.03, 0.1)
    configs = [OVERFIT.replace(learning_rate=r) for r in rates]
    batched = vmapped_overfit_fits()(jnp.stack([key] * 4), stack(configs))

    for i, config in enumerate(configs):
        single = jaxnn.fit(key, OVERFIT_MODEL, OVERFIT_TRAIN, OVERFIT_VAL, config)
        assert_same_fit(single, member(batched, i))
        run = int(single.epochs_run)
        np.testing.assert_allclose(batched.history.learning_rate[i, :run], rates[i])


# ---------------------------------------------------------------------------------------
# Bad input and faults


def test_a_diverging_fit_stops_with_the_previous_epochs_params(key):
    config = DROP.replace(learning_rate=100.0)
    with pytest.warns(RuntimeWarning, match="diverged") as record:
        res = drop_fit(key, config)
    d = int(res.diverged_epoch)
    assert d >= 1 and bool(res.diverged) and not bool(res.stopped_early)
    assert any(
        f"diverged: the loss became NaN or inf at epoch {d};" in str(r.message) for r in record
    )
    assert int(res.epochs_run) == d + 1
    loss = np.asarray(res.history.train_loss)
    assert np.isfinite(loss[:d]).all() and not np.isfinite(loss[d])
    assert np.isnan(loss[d + 1 :]).all()
    for leaf in jax.tree.leaves((res.params, res.best_params)):
        assert np.isfinite(leaf).all()
    previous = run_until(key, DROP_MODEL, config, DROP_TRAIN, DROP_VAL, until=d)
    assert int(previous.epoch) == d
    assert_bitwise(res.params, previous.params)
    assert_bitwise(res.state.opt_state, previous.opt_state)


def test_a_full_batch_fit_that_diverges_keeps_the_record_of_the_params_it_kept(key):
    """The running loss of a full batch is measured at the params the epoch started
    from; when the epoch's update turns them to NaN, those params are kept, and so
    is their loss in early stopping's record (it was the best)."""
    nan_after_5 = optax.GradientTransformation(
        lambda p: jnp.zeros((), jnp.int32),
        lambda g, c, p=None: (
            jax.tree.map(lambda a: jnp.where(c < 5, -0.5 * a, jnp.nan), g),
            c + 1,
        ),
    )
    x, y = HIST_X, HIST_Y
    with pytest.warns(RuntimeWarning, match="epoch 5"):
        res = jaxnn.fit(
            key, jaxnn.MLP((2, 1)), (x, y), config=jaxnn.FitConfig(epochs=10), optimizer=nan_after_5
        )
    loss = np.asarray(res.history.train_loss)
    assert int(res.diverged_epoch) == 5 and np.isfinite(loss[:6]).all()
    assert int(res.best_epoch) == 5 == int(np.argmin(loss[:6]))
    assert_bitwise(res.best_params, res.params)
    np.testing.assert_allclose(np_bce(np_logits(res.params, x), y), loss[5], rtol=1e-5)


def test_ints_and_numpy_floats_in_a_config_compile_nothing_new(key):
    """1, 1.0 and np.float32(1) reach the program as the same type."""
    x, y = SMALL
    config = ONE_STEP.replace(learning_rate=1.0, momentum=0.5)
    jaxnn.fit(key, jaxnn.MLP((3, 1)), (x, y), config=config)
    for lr, beta in ((1, 0.5), (np.float32(1), np.float64(0.5)), (np.int64(1), 0.5)):
        with count_compiles() as compiles:
            jaxnn.fit(
                key,
                jaxnn.MLP((3, 1)),
                (x, y),
                config=config.replace(learning_rate=lr, momentum=beta),
            )
        assert compiles.count == 0, (lr, beta)


def test_a_fit_diverging_in_its_first_epoch_keeps_the_initial_params(key):
    with pytest.warns(RuntimeWarning, match="epoch 0"):
        res = drop_fit(key, DROP.replace(learning_rate=1e4))
    assert int(res.diverged_epoch) == 0 and int(res.epochs_run) == 1
    assert int(res.best_epoch) == -1
    init = run_until(key, DROP_MODEL, DROP, DROP_TRAIN, DROP_VAL, until=0).params
    assert_bitwise(res.params, init)
    assert_bitwise(res.best_params, init)
    # (compiled, init may differ from an eager call in the last bits on a GPU)
    assert_close(init, DROP_MODEL.init(jax.random.fold_in(key, 0)))


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [
        ("train x", np.nan, "train: x contains 1 NaN"),
        ("train x", np.inf, "train: x contains 0 NaN and 1 inf"),
        ("train y", np.nan, "train: y contains 1 NaN"),
        ("val x", -np.inf, "val: x contains 0 NaN and 1 inf"),
        ("val y", np.inf, "val: y contains 0 NaN and 1 inf"),
    ],
)
def test_nan_or_inf_in_the_data_is_an_error_before_compiling(key, where, value, expected):
    (x, y), (xv, yv) = make_xy(), make_xy(6, 6)
    {"train x": x, "train y": y, "val x": xv, "val y": yv}[where].flat[4] = value
    with count_compiles() as compiles, pytest.raises(ValueError, match=expected):
        jaxnn.fit(key, jaxnn.MLP((3, 1)), (x, y), (xv, yv), ONE_STEP)
    assert compiles.count == 0


@pytest.mark.parametrize(
    ("model", "loss", "data", "names"),
    [
        # labels of the wrong shape name both shapes
        (jaxnn.MLP((3, 1)), "binary", (np.ones((10, 3)), np.ones(9)), ["(10, 3)", "(9,)"]),
        (jaxnn.MLP((3, 1)), "binary", (np.ones((10, 3)), np.ones((10, 2))), ["(10, 2)"]),
        (jaxnn.MLP((3, 2)), "binary", make_xy(), ["(10, 3)", "(10, 2)"]),  # two logits
        (jaxnn.MLP((4, 1)), "binary", make_xy(), ["(10, 3)", "(4, 1)"]),  # wrong input width
        (
            jaxnn.Model(lambda k: {"w": jnp.zeros(3)}, lambda p, x: x @ p["w"]),
            "multiclass",
            (make_xy()[0], np.zeros(10, np.int32)),
            ["(10, 3)", "(10,)"],
        ),
    ],
)
def test_shapes_that_do_not_fit_name_both_shapes(key, model, loss, data, names):
    with count_compiles() as compiles, pytest.raises(ValueError) as info:
        jaxnn.fit(key, model, data, config=ONE_STEP.replace(loss=loss))
    for shape in names:
        assert shape in str(info.value)
    assert compiles.count == 0


def test_val_features_must_match_train(key):
    with pytest.raises(ValueError, match=r"\(6, 4\).*\(10, 3\)"):
        jaxnn.fit(key, jaxnn.MLP((3, 1)), make_xy(), make_xy(6, 6, 4), ONE_STEP)


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        ([0, 1, 2, 3, 0, 1, 2, 0, 1, 2], ValueError, r"\[0, 3\)"),
        ([0, 1, 2, -1, 0, 1, 2, 0, 1, 2], ValueError, "class ids >= 0, got -1"),
        ([0.0, 1, 2, 0, 0, 1, 2, 0, 1, 2], TypeError, "integer"),
    ],
)
def test_multiclass_labels_must_be_class_ids_of_the_model(key, labels, error, match):
    config = ONE_STEP.replace(loss="multiclass")
    with pytest.raises(error, match=match):
        jaxnn.fit(key, jaxnn.MLP((3, 3)), (make_xy()[0], np.asarray(labels)), config=config)


def test_binary_labels_must_be_zero_or_one(key):
    x, y = make_xy()
    with pytest.raises(ValueError, match="0 or 1"):
        jaxnn.fit(key, jaxnn.MLP((3, 1)), (x, 2 * y), config=ONE_STEP)


def test_patience_needs_validation_data(key):
    with pytest.raises(ValueError, match="patience"):
        jaxnn.fit(key, jaxnn.MLP((3, 1)), make_xy(), config=ONE_STEP.replace(patience=3))


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("learning_rate", 0.0, ValueError),
        ("learning_rate", -0.1, ValueError),
        ("learning_rate", float("nan"), ValueError),
        ("momentum", 1.0, ValueError),
        ("momentum", -0.5, ValueError),
        ("dropout", 1.0, ValueError),
        ("l1", -1e-3, ValueError),
        ("l2", -1e-3, ValueError),
        ("decay_rate", 0.0, ValueError),
        ("min_delta", -1.0, ValueError),
        ("loss", "mse", ValueError),
        ("decay", "cosine", ValueError),
        ("l1_mode", "lasso", ValueError),
        ("epochs", 0, ValueError),
        ("epochs", 2.5, TypeError),
        ("batch_size", 0, ValueError),
        ("patience", 0, ValueError),
        ("decay_epochs", 0, ValueError),
        ("learning_rate", "0.1", TypeError),
    ],
)
def test_a_bad_config_field_is_named_when_the_config_is_built(field, value, error):
    with pytest.raises(error, match=f"FitConfig.{field}"):
        jaxnn.FitConfig(**{field: value})
    with pytest.raises(error, match=f"FitConfig.{field}"):
        ONE_STEP.replace(**{field: value})


def test_dropout_needs_an_apply_that_takes_key_and_dropout(key):
    model = jaxnn.Model(lambda k: {"w": jnp.zeros(3)}, lambda p, x: x @ p["w"])
    with pytest.raises(TypeError, match="dropout"):
        jaxnn.fit(key, model, make_xy(), config=ONE_STEP.replace(dropout=0.5))


@pytest.mark.parametrize("batch_size", [None, 16])
def test_the_loop_layout_does_not_change_the_numbers(key, batch_size):
    """run_epochs_rows (feature-major copies of the data read whole, behind a
    barrier) gives the state run_epochs gives on the row-major data, up to the
    rounding of matmuls that read another memory layout. (Every caller of the
    engine lays the data out alike: those agree bitwise, see the tests above.)"""
    train, val = prepared(DROP_TRAIN, DROP_VAL)
    config = DROP.replace(batch_size=batch_size)
    plan = training.make_plan(config, 50, True)
    state = training.init_state(key, DROP_MODEL, config, plan)
    assert training.feature_major(train)[0].shape == train[0].shape[::-1]
    assert training.feature_major(None) is None
    run = lambda f: jax.jit(lambda s, tr, va: f(s, DROP_MODEL, config, plan, tr, va, 3))
    rows = run(training.run_epochs)(state, train, val)
    laid_out = run(training.run_epochs_rows)(state, train, val)
    assert_close(rows.params, laid_out.params)
    for a, b in zip(rows.history, laid_out.history, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)

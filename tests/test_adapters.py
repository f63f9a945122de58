"""Flax linen, Flax NNX and Equinox models trained by jaxnn's engine (jaxnn.adapters).

Each library's model, a 2 -> 8 -> 1 tanh MLP (and a variant with the library's own
dropout layer), trained by ``jaxnn.fit`` equals the same model trained by a loop
written as that library's users write one (same initial params, same data order,
``optax.sgd`` with momentum, the same dropout keys, early stopping by hand); studies,
checkpoints, sweeps, prediction and saving work with the adapters as with jaxnn's
own models.

The adapters are built once per library and every fit and study uses one config
(an adapter is part of a compiled program's identity), so each program compiles
once for the file.
"""

import functools
import sys
import types
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_bitwise, count_compiles, raw

import jaxnn
from jaxnn.adapters import from_equinox, from_linen, from_nnx

KEY = jax.random.key(0)
X, Y = jaxnn.data.make_moons(jax.random.key(1), 40)  # batches of 16, 16 and 8 (padded)
XV, YV = jaxnn.data.make_moons(jax.random.key(2), 24)
VAL = (XV, YV)
YF, YVF = Y.astype(jnp.float32), YV.astype(jnp.float32)  # labels as optax's losses take them
RATE = 0.3  # the dropout variants' rate
# mini-batches, momentum, early stopping on the validation loss: members stop at
# epochs 3 to 8, each at its own
CFG = jaxnn.FitConfig(epochs=8, learning_rate=1.0, momentum=0.9, batch_size=16, patience=2)
LIBS = ["linen", "nnx", "equinox"]


# ---------------------------------------------------------------------------------------
# The models, and the loops their users write


def bce(logits, y):
    """Mean sigmoid binary cross-entropy of (n, 1) logits."""
    return optax.sigmoid_binary_cross_entropy(logits[:, 0], y).mean()


def sgd(config):
    return optax.sgd(config.learning_rate, momentum=config.momentum)


@functools.cache
def updates(config, n=X.shape[0]):
    """jaxnn's updates of a fit with KEY: per epoch e (k_e = fold_in(fold_in(KEY, 1),
    e)) the order fold_in(k_e, 0) cut into batches, the s-th with the dropout key
    fold_in(fold_in(k_e, 1), s). A list per epoch of (dropout key, example indices)."""
    out, b = [], config.batch_size
    for e in range(config.epochs):
        k_e = jax.random.fold_in(jax.random.fold_in(KEY, 1), e)
        perm = jax.random.permutation(jax.random.fold_in(k_e, 0), n)
        dkeys = [jax.random.fold_in(jax.random.fold_in(k_e, 1), s) for s in range(-(-n // b))]
        out.append([(dkeys[s], perm[i : i + b]) for s, i in enumerate(range(0, n, b))])
    return out


def train_by_hand(config, step, evaluate):
    """The loop of each library below, with early stopping as written by hand.

    ``step(x, y, dropout key) -> loss`` makes an update, ``evaluate() -> (params,
    validation loss)`` reads the model after an epoch. Returns the params after each
    epoch run, the running training loss (per epoch, the mean over its examples of
    the losses its updates saw) and the validation losses.
    """
    params, running, val = [], [], []
    best, bad = np.inf, 0
    for batches in updates(config):
        total = sum(float(step(X[i], YF[i], k)) * i.shape[0] for k, i in batches)
        p, v = evaluate()
        params.append(p)
        running.append(total / X.shape[0])
        val.append(float(v))
        best, bad = (float(v), 0) if v < best else (best, bad + 1)
        if bad >= config.patience:
            break
    return params, np.array(running), np.array(val)


def linen_lib():
    nn = pytest.importorskip("flax.linen")

    class Net(nn.Module):
        rate: float | None = None

        @nn.compact
        def __call__(self, x, deterministic=True):
            h = jnp.tanh(nn.Dense(8)(x))
            if self.rate is not None:
                h = nn.Dropout(self.rate)(h, deterministic=deterministic)
            return nn.Dense(1)(h)

    def by_hand(config, dropout):
        """module.init / module.apply and optax, as a linen user trains."""
        module = Net(RATE if dropout else None)
        params = module.init({"params": jax.random.fold_in(KEY, 0)}, X[:1])["params"]
        tx = sgd(config)
        state = [params, tx.init(params)]

        @jax.jit
        def update(params, opt_state, x, y, dkey):
            def loss_fn(p):
                logits = module.apply(
                    {"params": p}, x, deterministic=not dropout, rngs={"dropout": dkey}
                )
                return bce(logits, y)

            loss, grads = jax.value_and_grad(loss_fn)(params)
            upd, opt_state = tx.update(grads, opt_state, params)
            return optax.apply_updates(params, upd), opt_state, loss

        def step(x, y, dkey):
            state[0], state[1], loss = update(*state, x, y, dkey)
            return loss

        val_loss = jax.jit(lambda p: bce(module.apply({"params": p}, XV), YVF))
        return train_by_hand(config, step, lambda: (state[0], val_loss(state[0])))

    plain = from_linen(Net(), X[:1])
    drop = from_linen(Net(RATE), X[:1], deterministic="deterministic")
    return types.SimpleNamespace(plain=plain, drop=drop, by_hand=by_hand, Net=Net)


def nnx_lib():
    nnx = pytest.importorskip("flax.nnx")

    class Net(nnx.Module):
        def __init__(self, rngs, rate=None):
            self.l1 = nnx.Linear(2, 8, rngs=rngs)
            self.l2 = nnx.Linear(8, 1, rngs=rngs)
            # made last: its stream forks a key, which would change l2's init
            self.drop = nnx.Dropout(rate, rngs=rngs) if rate is not None else None

        def __call__(self, x):
            h = jnp.tanh(self.l1(x))
            if self.drop is not None:
                h = self.drop(h)
            return self.l2(h)

    def by_hand(config, dropout):
        """nnx.Optimizer and nnx.jit, as an NNX user trains; the dropout stream
        reseeded with jaxnn's key before each update."""
        model = Net(nnx.Rngs(jax.random.fold_in(KEY, 0)), RATE if dropout else None)
        optimizer = nnx.Optimizer(model, sgd(config), wrt=nnx.Param)

        @nnx.jit
        def update(model, optimizer, x, y, dkey):
            nnx.reseed(model, default=dkey)
            loss, grads = nnx.value_and_grad(lambda m: bce(m(x), y))(model)
            optimizer.update(model, grads)
            return loss

        @nnx.jit
        def val_loss(model):
            return bce(model(XV), YVF)

        def evaluate():
            model.eval()
            v = val_loss(model)
            model.train()
            # a copy: the optimizer updates the model's variables in place
            return jax.tree.map(jnp.copy, nnx.state(model, nnx.Param)), v

        model.train()
        return train_by_hand(
            config, lambda x, y, dkey: update(model, optimizer, x, y, dkey), evaluate
        )

    plain = from_nnx(lambda rngs: Net(rngs))
    drop = from_nnx(lambda rngs: Net(rngs, RATE))
    return types.SimpleNamespace(plain=plain, drop=drop, by_hand=by_hand, Net=Net)


def equinox_lib():
    eqx = pytest.importorskip("equinox")

    class Net(eqx.Module):
        l1: eqx.nn.Linear
        l2: eqx.nn.Linear
        drop: eqx.nn.Dropout | None

        def __init__(self, key, rate=None):
            k1, k2 = jax.random.split(key)
            self.l1 = eqx.nn.Linear(2, 8, key=k1)
            self.l2 = eqx.nn.Linear(8, 1, key=k2)
            self.drop = eqx.nn.Dropout(rate) if rate is not None else None

        def __call__(self, x, *, key=None):
            h = jnp.tanh(self.l1(x))
            if self.drop is not None:
                h = self.drop(h, key=key)
            return self.l2(h)

    def by_hand(config, dropout):
        """eqx.filter_value_and_grad, eqx.filter_jit and optax, one example per call
        (jax.vmap), each with its own dropout key split from the update's."""
        model = Net(jax.random.fold_in(KEY, 0), RATE if dropout else None)
        tx = sgd(config)
        state = [model, tx.init(eqx.filter(model, eqx.is_inexact_array))]

        @eqx.filter_jit
        def update(model, opt_state, x, y, dkey):
            def loss_fn(model):
                keys = jax.random.split(dkey, x.shape[0])
                return bce(jax.vmap(model)(x, key=keys), y)

            loss, grads = eqx.filter_value_and_grad(loss_fn)(model)
            upd, opt_state = tx.update(grads, opt_state, eqx.filter(model, eqx.is_inexact_array))
            return eqx.apply_updates(model, upd), opt_state, loss

        def step(x, y, dkey):
            state[0], state[1], loss = update(*state, x, y, dkey)
            return loss

        val_loss = eqx.filter_jit(lambda m: bce(jax.vmap(eqx.nn.inference_mode(m))(XV), YVF))

        def evaluate():
            return eqx.filter(state[0], eqx.is_inexact_array), val_loss(state[0])

        return train_by_hand(config, step, evaluate)

    plain = from_equinox(lambda k: Net(k))
    drop = from_equinox(lambda k: Net(k, RATE))
    return types.SimpleNamespace(plain=plain, drop=drop, by_hand=by_hand, Net=Net)


_BUILDERS = {"linen": linen_lib, "nnx": nnx_lib, "equinox": equinox_lib}


@functools.cache
def lib(name):
    """The library's adapters (built once: compiled programs are shared), or a skip
    if it is not installed (pytest.importorskip raises, so nothing is cached)."""
    return _BUILDERS[name]()


def model(name, dropout):
    lb = lib(name)
    return lb.drop if dropout else lb.plain


@functools.cache
def fitted(name, dropout):
    return jaxnn.fit(KEY, model(name, dropout), (X, Y), VAL, CFG)


@functools.cache
def restarts_study(name):
    return jaxnn.restarts(KEY, lib(name).drop, (X, Y), VAL, CFG, n=8)


def assert_close(a, b, rtol=1e-5, atol=1e-6):
    leaves_a, tree_a = jax.tree.flatten(a)
    leaves_b, tree_b = jax.tree.flatten(b)
    assert tree_a == tree_b
    for x, y in zip(leaves_a, leaves_b, strict=True):
        np.testing.assert_allclose(raw(x), raw(y), rtol=rtol, atol=atol)


def assert_same_fit(a, b):
    """A study's member and its single fit: bitwise on a CPU (observed with these
    mini-batches; XLA may fuse a batched program otherwise: a full batch gives ~1e-5
    relative differences), to float tolerance elsewhere."""
    if jax.default_backend() == "cpu":
        assert_bitwise(a, b)
    else:
        assert_close(a, b)


def differ(a, b):
    """Whether two pytrees of the same structure differ in some leaf."""
    return any(
        not np.array_equal(raw(x), raw(y))
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


# ---------------------------------------------------------------------------------------
# jaxnn.fit = the library's own training loop


@pytest.mark.parametrize("dropout", [True], ids=["dropout"])  # without: a subset, same code
@pytest.mark.parametrize("name", LIBS)
def test_fit_equals_the_libraries_own_loop(name, dropout):
    # mini-batches in jaxnn's order (the last one partial: padded and weighted there),
    # heavy-ball momentum = optax.sgd(lr, momentum), with dropout jaxnn's key per
    # update, fold_in(fold_in(k_e, 1), s), and early stopping on the validation loss
    result = fitted(name, dropout)
    params, running, val = lib(name).by_hand(CFG, dropout)
    n = len(params)
    assert int(result.epochs_run) == n
    assert_close(result.params, params[-1])
    assert int(result.best_epoch) == int(np.argmin(val))
    assert_close(result.best_params, params[int(result.best_epoch)])
    np.testing.assert_allclose(result.run_history.train_loss, running, rtol=1e-5)
    np.testing.assert_allclose(result.run_history.val_loss, val, rtol=1e-5)


@pytest.mark.parametrize("name", LIBS)
def test_init_is_the_libraries_own_and_dropout_adds_no_params(name):
    lb = lib(name)
    k = jax.random.fold_in(KEY, 0)
    if name == "linen":
        own = lb.Net().init({"params": k}, X[:1])["params"]
    elif name == "nnx":
        nnx = pytest.importorskip("flax.nnx")
        own = nnx.state(lb.Net(nnx.Rngs(k)), nnx.Param)
    else:
        eqx = pytest.importorskip("equinox")
        own = eqx.filter(lb.Net(k), eqx.is_inexact_array)
    assert_bitwise(lb.plain.init(k), own)
    # the dropout variant draws the same weights
    assert_bitwise(jax.tree.leaves(lb.drop.init(k)), jax.tree.leaves(own))
    assert not lb.plain.own_dropout and lb.drop.own_dropout


# ---------------------------------------------------------------------------------------
# Dropout: jaxnn's keys, per update and per member; none to evaluate


@pytest.mark.parametrize("name", LIBS)
def test_dropout_is_keyed_and_evaluation_is_deterministic(name):
    lb = lib(name)
    params = lb.drop.init(KEY)
    k1, k2 = jax.random.fold_in(KEY, 1), jax.random.fold_in(KEY, 2)
    out1 = lb.drop.apply(params, X, key=k1)
    assert_bitwise(lb.drop.apply(params, X, key=k1), out1)
    assert differ(lb.drop.apply(params, X, key=k2), out1)
    # evaluation: no key, no dropout: the same outputs every time, and the plain
    # model's (same weights)
    ev = lb.drop.apply(params, X)
    assert ev.shape == (X.shape[0], 1)
    assert_bitwise(lb.drop.apply(params, X), ev)
    assert differ(out1, ev)
    plain_params = lb.plain.init(KEY)
    assert_bitwise(jax.tree.leaves(plain_params), jax.tree.leaves(params))
    np.testing.assert_allclose(lb.plain.apply(plain_params, X), ev, rtol=1e-6, atol=1e-7)
    # a fit with dropout is not the fit without (same init, asserted above)
    assert differ(jax.tree.leaves(fitted(name, True).params), fitted(name, False).params)


def test_dropout_keys_differ_per_member():
    # every member from the same params: only dropout tells members apart. One library
    # (a study of each is below): the members' keys are the engine's, and each
    # library's restarts equal its single fits, whose keys are checked above.
    drop = lib("nnx").drop
    start = jax.tree.map(lambda a: jnp.stack([a, a]), drop.init(KEY))
    study = jaxnn.restarts(KEY, drop, (X, Y), VAL, CFG, n=2, params=start)
    assert differ(study.member(0, 0).params, study.member(0, 1).params)


@pytest.mark.parametrize("dropout", [False, True], ids=["plain", "dropout"])
@pytest.mark.parametrize("name", LIBS)
def test_jaxnns_dropout_rate_is_refused(name, dropout):
    # with dropout layers: a second rate; without: jaxnn cannot drop units inside the
    # module (it used to train without dropout, silently)
    net = model(name, dropout)
    with pytest.raises(ValueError, match=r"FitConfig\.dropout must be 0"):
        jaxnn.fit(KEY, net, (X, Y), VAL, CFG.replace(dropout=0.2))
    with pytest.raises(ValueError, match=r"FitConfig\.dropout must be 0"):
        jaxnn.sweep(KEY, net, (X, Y), VAL, CFG, grid={"dropout": [0.0, 0.2]})


# ---------------------------------------------------------------------------------------
# Studies: restarts with early stopping, checkpoints, sweeps


@pytest.mark.parametrize("name", LIBS)
def test_restarts_with_early_stopping_equal_single_fits(name):
    drop = lib(name).drop
    study = restarts_study(name)
    for r in range(8):
        one = jaxnn.fit(jax.random.fold_in(KEY, r), drop, (X, Y), VAL, CFG)
        member = study.member(0, r)
        assert_same_fit(member.params, one.params)
        assert_same_fit(member.best_params, one.best_params)
        assert_same_fit(member.history, one.history)
        assert_bitwise(member.epochs_run, one.epochs_run)
        assert_bitwise(member.best_epoch, one.best_epoch)
    epochs_run = np.asarray(study.results.epochs_run)
    assert epochs_run.min() < CFG.epochs and len(set(epochs_run)) > 1  # each its own


@pytest.mark.parametrize("name", LIBS)
def test_checkpointed_study_resumes_bitwise(name, tmp_path):
    # the state (NNX States, Equinox modules) through orbax and back. (Resuming into a
    # longer study is the engine's, tested with jaxnn's MLP in test_continue_optax.)
    lb = lib(name)
    study = restarts_study(name)
    where = tmp_path / "study"
    run = lambda net: jaxnn.restarts(KEY, net, (X, Y), VAL, CFG, n=8, checkpoint_dir=where)
    first = run(lb.drop)  # in chunks of epochs, saved after each
    assert_same_fit(first.results, study.results)
    with count_compiles() as c:  # resumed from the finished checkpoint: nothing to run
        again = run(lb.drop)
    assert_bitwise(again.results, first.results)
    assert c.count == 0
    # another module (here another dropout rate, same params) is another fit
    other = {
        "linen": lambda: from_linen(lb.Net(0.5), X[:1], deterministic="deterministic"),
        "nnx": lambda: from_nnx(lambda rngs: lb.Net(rngs, 0.5)),
        "equinox": lambda: from_equinox(lambda k: lb.Net(k, 0.5)),
    }[name]()
    with pytest.raises(jaxnn.checkpoint.CheckpointError, match="different fit"):
        run(other)


@pytest.mark.parametrize("name", LIBS)
def test_sweep_members_equal_single_fits(name):
    drop = lib(name).drop
    grid = {"learning_rate": [0.5, 1.0]}
    sweep = jaxnn.sweep(KEY, drop, (X, Y), VAL, CFG, grid=grid, n_restarts=4)
    assert sweep.results.epochs_run.shape == (2, 4)
    for m, lr in enumerate(grid["learning_rate"]):
        for r in (0, 3):
            one = jaxnn.fit(
                jax.random.fold_in(KEY, r),
                drop,
                (X, Y),
                VAL,
                CFG.replace(learning_rate=lr),
            )
            member = sweep.member(m, r)
            assert_same_fit(member.params, one.params)
            assert_bitwise(member.epochs_run, one.epochs_run)
            assert_bitwise(member.best_epoch, one.best_epoch)
    # the base config's members are the restarts study's
    assert_same_fit(sweep.member(1, 2).params, restarts_study(name).member(0, 2).params)


# ---------------------------------------------------------------------------------------
# Prediction, saving, compiling once


@pytest.mark.parametrize("name", LIBS)
def test_predict_with_trained_params(name):
    drop = lib(name).drop
    params = fitted(name, True).best_params
    logits = drop.apply(params, X)[:, 0]
    proba = jaxnn.predict_proba(drop, params, X)
    assert proba.shape == (X.shape[0],)
    np.testing.assert_allclose(proba, jax.nn.sigmoid(logits), rtol=1e-6)
    assert_bitwise(jaxnn.predict_proba(drop, params, X), proba)  # no dropout
    labels = jaxnn.predict(drop, params, X)
    np.testing.assert_array_equal(labels, (logits >= 0).astype(np.int32))
    assert float(jnp.mean(labels == Y)) > 0.7  # it learnt something
    # every member of a study at once
    stacked = restarts_study(name).results.best_params
    all_labels = jax.vmap(lambda p: jaxnn.predict(drop, p, X))(stacked)
    assert all_labels.shape == (8, X.shape[0])
    assert_bitwise(
        all_labels[0], jaxnn.predict(drop, restarts_study(name).member(0, 0).best_params, X)
    )


@pytest.mark.parametrize("name", LIBS)
def test_save_and_load_params(name, tmp_path):
    # linen: a dict; NNX: an nnx.State of Params; Equinox: the module with None leaves
    params = fitted(name, True).params
    where = jaxnn.save(tmp_path / "params", params)
    back = jaxnn.load(where, like=params)
    assert_bitwise(back, params)
    assert type(back) is type(params)
    assert_bitwise(lib(name).drop.apply(back, X), lib(name).drop.apply(params, X))
    if name == "linen":  # plain dicts come back without a template
        assert_bitwise(jaxnn.load(where), params)


@pytest.mark.parametrize("name", LIBS)
def test_a_second_fit_with_the_same_adapter_compiles_nothing(name):
    plain = lib(name).plain
    fitted(name, False)
    other = CFG.replace(learning_rate=0.3, momentum=0.5)  # numbers are data
    key = jax.random.fold_in(KEY, 7)
    with count_compiles() as c:
        result = jaxnn.fit(key, plain, (X, Y), VAL, other)
    assert c.count == 0
    assert differ(result.params, fitted(name, False).params)


# ---------------------------------------------------------------------------------------
# Building adapters: reprs, instances, state, wrong arguments, the missing extra


@pytest.mark.parametrize("name", LIBS)
def test_the_repr_identifies_the_module(name):
    # a checkpoint's tag holds repr(model): the same definition gives the same repr
    # (no memory addresses: the same in another process), another one another repr
    lb = lib(name)
    again, other = {
        "linen": lambda: [
            from_linen(lb.Net(r), X[:1], deterministic="deterministic") for r in (RATE, 0.5)
        ],
        "nnx": lambda: [from_nnx(lambda rngs, r=r: lb.Net(rngs, r)) for r in (RATE, 0.5)],
        "equinox": lambda: [from_equinox(lambda k, r=r: lb.Net(k, r)) for r in (RATE, 0.5)],
    }[name]()
    assert again.fingerprint == lb.drop.fingerprint != other.fingerprint
    assert lb.plain.fingerprint != lb.drop.fingerprint
    assert lb.drop.fingerprint in repr(lb.drop) and "0x" not in repr(lb.drop)
    assert again != lb.drop  # compared by identity all the same (compiled programs)


def test_linen_float64_example_inits_without_warnings():
    # NumPy float64 data (as scikit-learn gives): fits train on float32 anyway
    lb = lib("linen")
    net = from_linen(lb.Net(), np.asarray(X[:1], np.float64))
    assert_bitwise(net.init(KEY), lb.plain.init(KEY))  # warnings are errors here


def test_state_besides_params_is_refused():
    # jaxnn trains params only: batch statistics would stay at their init, unseen
    nn = pytest.importorskip("flax.linen")
    nnx = pytest.importorskip("flax.nnx")

    class LinenBN(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.Dense(1)(nn.BatchNorm(use_running_average=True)(x))

    class NNXBN(nnx.Module):
        def __init__(self, rngs):
            self.bn = nnx.BatchNorm(2, rngs=rngs)
            self.out = nnx.Linear(2, 1, rngs=rngs)

        def __call__(self, x):
            return self.out(self.bn(x))

    with pytest.raises(ValueError, match="batch_stats"):
        jaxnn.fit(KEY, from_linen(LinenBN(), X[:1]), (X, Y), VAL, CFG)
    with pytest.raises(ValueError, match="BatchStat"):
        from_nnx(NNXBN)
    with pytest.raises(ValueError, match="BatchStat"):
        from_nnx(NNXBN(nnx.Rngs(0)))


@pytest.mark.parametrize("name", ["nnx", "equinox"])  # linen modules hold no params
def test_an_instance_gives_its_params_to_every_restart(name):
    lb = lib(name)
    if name == "nnx":
        nnx = pytest.importorskip("flax.nnx")
        make = lambda seed: lb.Net(nnx.Rngs(jax.random.fold_in(KEY, seed)), RATE)
        adapt, params = from_nnx, lambda m: nnx.state(m, nnx.Param)
    else:
        eqx = pytest.importorskip("equinox")
        make = lambda seed: lb.Net(jax.random.fold_in(KEY, seed), RATE)
        adapt, params = from_equinox, lambda m: eqx.filter(m, eqx.is_inexact_array)
    instance = make(3)
    adapter, want = adapt(instance), params(instance)
    assert adapter.own_dropout
    assert_bitwise(adapter.init(KEY), want)
    assert_bitwise(adapter.init(jax.random.fold_in(KEY, 1)), want)
    assert_bitwise(adapter.apply(want, X), lb.drop.apply(want, X))
    # the values it starts from are part of its identity (checkpoints)
    assert adapt(make(3)).fingerprint == adapter.fingerprint != adapt(make(4)).fingerprint


def test_wrong_arguments():
    nn = pytest.importorskip("flax.linen")
    pytest.importorskip("equinox")
    with pytest.raises(TypeError, match=r"flax\.linen\.Module"):
        from_linen(lambda x: x, X[:1])
    with pytest.raises(ValueError, match="not both"):
        from_linen(nn.Dense(1), X[:1], deterministic="d", train="t")
    with pytest.raises(ValueError, match=r"batch \(n, d\)"):
        from_linen(nn.Dense(1), X[0])
    with pytest.raises(TypeError, match="from_nnx"):
        from_nnx(3)
    with pytest.raises(TypeError, match="from_equinox"):
        from_equinox(3)


@pytest.mark.parametrize(
    "build, module",
    [
        (lambda: from_linen(object(), X[:1]), "flax.linen"),
        (lambda: from_nnx(object()), "flax.nnx"),
        (lambda: from_equinox(object()), "equinox"),
    ],
    ids=LIBS,
)
def test_a_missing_library_names_the_extra(monkeypatch, build, module):
    # None in sys.modules: importing it fails, as when it is not installed
    for name in ("flax", "flax.linen", "flax.nnx", "equinox"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"pip install 'jaxnn\[models\]'") as info:
        build()
    assert module in str(info.value)


# ---------------------------------------------------------------------------------------
# Second review: each a check that would have caught it


def test_nnx_every_rng_stream_is_driven_by_jaxnns_keys():
    nnx = pytest.importorskip("flax.nnx")

    class TwoStreams(nnx.Module):
        def __init__(self, rngs):
            self.a = nnx.Dropout(0.5, rng_collection="drop", rngs=nnx.Rngs(drop=0))
            self.b = nnx.Dropout(0.5, rngs=rngs)  # the default stream

        def __call__(self, x):
            return jnp.stack([self.a(x), self.b(x)])

    net = jaxnn.adapters.from_nnx(TwoStreams)
    x = jnp.ones((4, 64))
    p = net.init(KEY)
    one, two = net.apply(p, x, key=jax.random.key(1)), net.apply(p, x, key=jax.random.key(2))
    assert not np.array_equal(raw(one[0]), raw(two[0]))  # a custom stream follows the key
    assert not np.array_equal(raw(one[0]), raw(one[1]))  # two streams: independent masks


def test_linen_dropout_needs_its_flag_and_the_fingerprint_sees_compact_layers():
    nn = pytest.importorskip("flax.linen")

    class Net(nn.Module):
        rate: float = 0.1

        @nn.compact
        def __call__(self, x, deterministic: bool = True):
            return nn.Dense(1)(nn.Dropout(0.1)(x, deterministic=deterministic))

    rate = [0.1]  # read inside __call__: the module's own repr does not show it

    class Compact(nn.Module):
        @nn.compact
        def __call__(self, x, deterministic: bool = True):
            return nn.Dense(1)(nn.Dropout(rate[0])(x, deterministic=deterministic))

    with pytest.raises(ValueError, match="has Dropout layers; pass deterministic="):
        jaxnn.adapters.from_linen(Net(), X[:1])
    a = jaxnn.adapters.from_linen(Compact(), X[:1], deterministic="deterministic")
    rate[0] = 0.9
    b = jaxnn.adapters.from_linen(Compact(), X[:1], deterministic="deterministic")
    assert repr(a.module) == repr(b.module)  # only the recorded submodules differ
    assert a.own_dropout and a.fingerprint != b.fingerprint


def test_equinox_key_only_modules_evaluate():
    eqx = pytest.importorskip("equinox")

    class KeyOnly(eqx.Module):
        lin: eqx.nn.Linear
        drop: eqx.nn.Dropout

        def __init__(self, key):
            self.lin = eqx.nn.Linear(2, 1, key=key)
            self.drop = eqx.nn.Dropout(0.2)

        def __call__(self, x, *, key):  # key required, as many Equinox modules write it
            return self.lin(self.drop(x, key=key))

    net = jaxnn.adapters.from_equinox(KeyOnly)
    p = net.init(KEY)
    assert_bitwise(net.apply(p, X), net.apply(p, X))


def test_clear_errors_for_stateful_equinox_layers_bad_constructors_and_features():
    eqx = pytest.importorskip("equinox")
    nnx = pytest.importorskip("flax.nnx")

    class WithNorm(eqx.Module):
        lin: eqx.nn.Linear
        norm: eqx.nn.BatchNorm

        def __init__(self, key):
            self.lin = eqx.nn.Linear(2, 1, key=key)
            self.norm = eqx.nn.BatchNorm(1, axis_name="batch")

        def __call__(self, x, state):
            return self.norm(self.lin(x), state)

    with pytest.raises(ValueError, match="stateful layers"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Equinox's own note on BatchNorm
        jaxnn.adapters.from_equinox(WithNorm)

    class Args(nnx.Module):
        def __init__(self, din, rngs):
            self.lin = nnx.Linear(din, 1, rngs=rngs)

    with pytest.raises(TypeError, match=r"from_nnx: calling .*Args\(rngs\) failed.*lambda rngs"):
        jaxnn.adapters.from_nnx(Args)
    net = jaxnn.adapters.from_nnx(lambda rngs: Args(3, rngs))  # takes 3 features
    with pytest.raises((TypeError, ValueError), match=r"train: the model cannot be applied to x"):
        jaxnn.fit(KEY, net, (X, Y), config=jaxnn.FitConfig(epochs=2))

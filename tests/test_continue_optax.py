"""Starting from given params, continuing a fit or a study, any optax optimizer with
its hyperparameters as data, and results that read well (issue: the first hour)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_bitwise, count_compiles, raw

import jaxnn

KEY = jax.random.key(0)
X, Y = jaxnn.data.make_blobs(jax.random.key(1), 48)
XV, YV = jaxnn.data.make_blobs(jax.random.key(2), 24)
NET = jaxnn.MLP((2, 4, 1), "tanh")
DROP = jaxnn.FitConfig(
    epochs=8, batch_size=16, dropout=0.25, decay="exponential", decay_rate=0.8, momentum=0.5
)


def cut(config, epochs):
    return config.replace(epochs=epochs)


# ---------------------------------------------------------------------------------------
# Continue = one straight fit, bitwise


@pytest.mark.parametrize(
    "config, val",
    [
        (jaxnn.FitConfig(epochs=8, learning_rate=0.5), None),
        (DROP, None),  # mini-batches, dropout, decay, momentum: keys and schedule carry on
        (jaxnn.FitConfig(epochs=8, learning_rate=2.0, patience=3), (XV, YV)),  # early stop
    ],
    ids=["full-batch", "minibatch-dropout-decay", "early-stopping"],
)
def test_continued_fit_equals_straight_fit(config, val):
    straight = jaxnn.fit(KEY, NET, (X, Y), val, config)
    first = jaxnn.fit(KEY, NET, (X, Y), val, cut(config, 4))
    with warnings.catch_warnings():  # an early-stopped state warns that it stays stopped
        warnings.simplefilter("ignore", UserWarning)
        from_result = jaxnn.fit(KEY, NET, (X, Y), val, config, state=first)
        from_state = jaxnn.fit(KEY, NET, (X, Y), val, config, state=first.state)
    assert_bitwise(from_result, straight)
    assert_bitwise(from_state, straight)
    # the given result is not consumed (donated to the compiled loop)
    assert np.isfinite(raw(first.params[0]["w"])).all()


def test_continue_with_an_optax_factory_equals_straight_fit():
    config = jaxnn.FitConfig(epochs=8, learning_rate=0.05, batch_size=16, hyperparams={"b1": 0.8})
    straight = jaxnn.fit(KEY, NET, (X, Y), config=config, optimizer=optax.adam)
    first = jaxnn.fit(KEY, NET, (X, Y), config=cut(config, 4), optimizer=optax.adam)
    more = jaxnn.fit(KEY, NET, (X, Y), config=config, optimizer=optax.adam, state=first)
    assert_bitwise(more, straight)


def test_continued_study_equals_straight_study():
    config = jaxnn.FitConfig(epochs=8, learning_rate=0.5, momentum=0.5)
    straight = jaxnn.restarts(KEY, NET, (X, Y), config=config, n=4)
    first = jaxnn.restarts(KEY, NET, (X, Y), config=cut(config, 4), n=4)
    for state in (first, first.results, first.results.state):
        more = jaxnn.restarts(KEY, NET, (X, Y), config=config, n=4, state=state)
        assert_bitwise(more.results, straight.results)
    # a sweep of 2 x 2 members: the same compiled programs as the 4 restarts
    grid = {"learning_rate": [0.2, 0.5]}
    sweep = jaxnn.sweep(KEY, NET, (X, Y), base=config, grid=grid, n_restarts=2)
    part = jaxnn.sweep(KEY, NET, (X, Y), base=cut(config, 4), grid=grid, n_restarts=2)
    more = jaxnn.sweep(KEY, NET, (X, Y), base=config, grid=grid, n_restarts=2, state=part)
    assert_bitwise(more.results, sweep.results)
    # one member continued as a single fit, with its own key
    one = jaxnn.fit(
        jax.random.fold_in(KEY, 1), NET, (X, Y), config=config, state=first.member(0, 1)
    )
    assert_bitwise(one, straight.member(0, 1))


def test_checkpoint_resumes_into_a_longer_fit_and_says_so(tmp_path):
    config = jaxnn.FitConfig(epochs=8, learning_rate=0.5, batch_size=16)
    straight = jaxnn.fit(KEY, NET, (X, Y), config=config)
    jaxnn.fit(
        KEY, NET, (X, Y), config=cut(config, 4), checkpoint_dir=tmp_path / "fit", chunk_epochs=4
    )
    with pytest.warns(
        UserWarning, match="at epoch 4, written by a fit of 4 epochs; continuing it to 8"
    ):
        longer = jaxnn.fit(
            KEY, NET, (X, Y), config=config, checkpoint_dir=tmp_path / "fit", chunk_epochs=4
        )
    assert_bitwise(longer, straight)

    study = jaxnn.restarts(KEY, NET, (X, Y), config=config, n=2)
    jaxnn.restarts(KEY, NET, (X, Y), config=cut(config, 4), n=2, checkpoint_dir=tmp_path / "s")
    with pytest.warns(UserWarning, match="continuing it to 8 epochs"):
        longer = jaxnn.restarts(KEY, NET, (X, Y), config=config, n=2, checkpoint_dir=tmp_path / "s")
    assert_bitwise(longer.results, study.results)
    # another config (not only its length) is still another fit's checkpoint
    with pytest.raises(jaxnn.checkpoint.CheckpointError, match="different fit"):
        jaxnn.fit(
            KEY,
            NET,
            (X, Y),
            config=config.replace(learning_rate=0.3),
            checkpoint_dir=tmp_path / "fit",
        )


def test_continuing_a_stopped_fit_warns_and_runs_nothing():
    config = jaxnn.FitConfig(epochs=8, learning_rate=2.0, patience=2, min_delta=1.0)
    first = jaxnn.fit(KEY, NET, (X, Y), (XV, YV), config)
    assert bool(first.stopped_early)
    with pytest.warns(UserWarning, match="stays stopped"):
        more = jaxnn.fit(KEY, NET, (X, Y), (XV, YV), config.replace(epochs=12), state=first)
    assert int(more.epochs_run) == int(first.epochs_run)


def test_bad_continue_is_refused_naming_the_argument():
    config = jaxnn.FitConfig(epochs=8)
    first = jaxnn.fit(KEY, NET, (X, Y), config=config)
    with pytest.raises(ValueError, match="trained with another key"):
        jaxnn.fit(jax.random.key(5), NET, (X, Y), config=config.replace(epochs=12), state=first)
    with pytest.raises(ValueError, match=r"epochs=5 is fewer than the 8 epochs"):
        jaxnn.fit(KEY, NET, (X, Y), config=config.replace(epochs=5), state=first)
    with pytest.raises(ValueError, match="not both"):
        jaxnn.fit(KEY, NET, (X, Y), config=config, state=first, params=first.params)
    with pytest.raises(TypeError, match=r"state must be a jaxnn\.FitState or FitResult"):
        jaxnn.fit(KEY, NET, (X, Y), config=config, state=first.params)
    with pytest.raises(ValueError, match=r"state.*(structure|shape)"):  # another model's
        jaxnn.fit(KEY, jaxnn.MLP((2, 3, 1)), (X, Y), config=config, state=first)
    with pytest.raises(ValueError, match=r"state.*structure"):  # another optimizer's state
        jaxnn.fit(KEY, NET, (X, Y), config=config, state=first, optimizer=optax.adam)
    study = jaxnn.restarts(KEY, NET, (X, Y), config=config, n=2)
    with pytest.raises(ValueError, match="a study's"):
        jaxnn.fit(KEY, NET, (X, Y), config=config, state=study.results)
    with pytest.raises(ValueError, match=r"members of shape \(2,\); this study has \(3,\)"):
        jaxnn.restarts(KEY, NET, (X, Y), config=config, n=3, state=study)
    with pytest.raises(ValueError, match="trained with another key"):
        jaxnn.restarts(jax.random.key(9), NET, (X, Y), config=config, n=2, state=study)


# ---------------------------------------------------------------------------------------
# Start from given params


def test_start_from_params_equals_a_model_that_inits_to_them():
    config = jaxnn.FitConfig(epochs=8, learning_rate=0.3, batch_size=16)
    start = jaxnn.fit(jax.random.key(7), NET, (X, Y), config=config).params
    fixed = jaxnn.Model(init=lambda k: start, apply=NET.apply)
    assert_bitwise(
        jaxnn.fit(KEY, NET, (X, Y), config=config, params=start).params,
        jaxnn.fit(KEY, fixed, (X, Y), config=config).params,
    )
    # NumPy float64 params are converted to the model's dtype
    as_np = jax.tree.map(lambda a: np.asarray(a, np.float64), start)
    assert_bitwise(
        jaxnn.fit(KEY, NET, (X, Y), config=config, params=as_np),
        jaxnn.fit(KEY, NET, (X, Y), config=config, params=start),
    )


def test_new_params_values_and_new_states_compile_nothing():
    config = jaxnn.FitConfig(epochs=8, learning_rate=0.3)
    p1 = NET.init(jax.random.key(3))
    p2 = NET.init(jax.random.key(4))
    jaxnn.fit(KEY, NET, (X, Y), config=config, params=p1)
    first = jaxnn.fit(KEY, NET, (X, Y), config=cut(config, 4))
    jaxnn.fit(KEY, NET, (X, Y), config=config, state=first)
    jaxnn.restarts(
        KEY, NET, (X, Y), config=config, n=2, params=jax.tree.map(lambda *a: jnp.stack(a), p1, p2)
    )
    other = jaxnn.fit(KEY, NET, (X, Y), config=cut(config, 4).replace(learning_rate=0.2))
    with count_compiles() as compiles:
        jaxnn.fit(KEY, NET, (X, Y), config=config, params=p2)
        jaxnn.fit(KEY, NET, (X, Y), config=config, state=other)
        jaxnn.restarts(
            KEY,
            NET,
            (X, Y),
            config=config,
            n=2,
            params=jax.tree.map(lambda *a: jnp.stack(a), p2, p1),
        )
    assert compiles.count == 0


def test_study_from_params_members_equal_their_fits():
    config = jaxnn.FitConfig(epochs=8, learning_rate=0.3)
    starts = jaxnn.restarts(jax.random.key(3), NET, (X, Y), config=config, n=3).results.params
    study = jaxnn.restarts(KEY, NET, (X, Y), config=config, n=3, params=starts)
    for r in range(3):
        one = jax.tree.map(lambda a, r=r: a[r], starts)
        fit = jaxnn.fit(jax.random.fold_in(KEY, r), NET, (X, Y), config=config, params=one)
        assert_bitwise(fit.params, study.member(0, r).params)
    # a sweep: the same N starts for every config, or one per member (M, N)
    grid = {"learning_rate": [0.1, 0.3]}
    shared = jaxnn.sweep(KEY, NET, (X, Y), base=config, grid=grid, n_restarts=3, params=starts)
    per = jax.tree.map(lambda a: jnp.stack([a, a]), starts)
    each = jaxnn.sweep(KEY, NET, (X, Y), base=config, grid=grid, n_restarts=3, params=per)
    assert_bitwise(shared.results, each.results)
    assert_bitwise(shared.member(1, 2).params, study.member(0, 2).params)


def test_bad_params_are_refused_naming_both_structures():
    config = jaxnn.FitConfig(epochs=2)
    other = jaxnn.MLP((2, 5, 1)).init(KEY)
    with pytest.raises(
        ValueError, match=r"params\[0\]\['b'\] has shape \(5,\).*expected shape \(4,\)"
    ):
        jaxnn.fit(KEY, NET, (X, Y), config=config, params=other)
    with pytest.raises(
        ValueError, match=r"params does not have the structure expected: got .*expected"
    ):
        jaxnn.fit(KEY, NET, (X, Y), config=config, params={"w": jnp.zeros((2, 1))})
    bad = NET.init(KEY)
    bad[0]["w"] = bad[0]["w"].at[0, 0].set(jnp.nan)
    with pytest.raises(ValueError, match=r"params\[0\]\['w'\].*(NaN|finite)"):
        jaxnn.fit(KEY, NET, (X, Y), config=config, params=bad)
    with pytest.raises(ValueError, match=r"restarts: params.*leading axes \(3,\)"):
        jaxnn.restarts(KEY, NET, (X, Y), config=config, n=3, params=NET.init(KEY))


# ---------------------------------------------------------------------------------------
# Any optax optimizer, its hyperparameters as data


def test_factory_is_driven_by_the_config():
    config = jaxnn.FitConfig(
        epochs=8, learning_rate=0.05, decay="step", decay_rate=0.5, hyperparams={"b1": 0.7}
    )
    res = jaxnn.fit(KEY, NET, (X, Y), config=config, optimizer=optax.adam)
    # the rate actually used is recorded, and it is the config's schedule
    np.testing.assert_allclose(res.history.learning_rate, 0.05 * 0.5 ** np.arange(8), rtol=1e-6)
    # the same as optax.adam built by hand with those numbers, stepped by hand
    params = NET.init(jax.random.fold_in(KEY, 0))
    opt = optax.adam(optax.exponential_decay(0.05, 1, 0.5, staircase=True), b1=0.7)
    st = opt.init(params)
    loss = lambda p: jaxnn.binary_cross_entropy(NET.apply(p, X), Y)
    with jax.numpy_dtype_promotion("standard"):  # optax mixes float and int32 counts
        for _ in range(8):
            updates, st = opt.update(jax.grad(loss)(params), st, params)
            params = optax.apply_updates(params, updates)
    for a, b in zip(jax.tree.leaves(res.params), jax.tree.leaves(params), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-7)
    # and a hyperparameter changes the result (it is not ignored)
    other = jaxnn.fit(
        KEY, NET, (X, Y), config=config.replace(hyperparams={"b1": 0.9}), optimizer=optax.adam
    )
    assert not np.array_equal(raw(other.params[0]["w"]), raw(res.params[0]["w"]))


def test_sgd_takes_the_config_momentum_as_heavy_ball_does():
    config = jaxnn.FitConfig(epochs=8, learning_rate=0.3, momentum=0.6, batch_size=16)
    ours = jaxnn.fit(KEY, NET, (X, Y), config=config)
    sgd = jaxnn.fit(KEY, NET, (X, Y), config=config, optimizer=optax.sgd)
    for a, b in zip(jax.tree.leaves(ours.params), jax.tree.leaves(sgd.params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "optimizer, grid, ulps",
    [
        (optax.sgd, {"learning_rate": [0.1, 0.3], "momentum": [0.0, 0.8]}, 0),
        # Adam: XLA rewrites the single fit's division by a scalar (the bias
        # correction) as a product with its reciprocal, which a member's per-member
        # divisor is not: an ulp per step, about 5e-6 relative after 24 updates
        (optax.adam, {"learning_rate": [0.01, 0.03], "b1": [0.8, 0.9]}, 1),
        (optax.adamw, {"weight_decay": [1e-4, 1e-2]}, 1),
    ],
    ids=["sgd", "adam", "adamw"],
)
def test_sweep_of_optax_hyperparams_members_equal_single_fits(optimizer, grid, ulps):
    """``ulps``: 0 for bitwise, else float tolerance."""
    base = jaxnn.FitConfig(epochs=8, learning_rate=0.02, batch_size=16)
    study = jaxnn.sweep(KEY, NET, (X, Y), base=base, grid=grid, n_restarts=2, optimizer=optimizer)
    configs = jaxnn.study.sweep_configs(base, grid=grid, optimizer=optimizer)
    assert len(configs) == study.losses.shape[0]
    for m, config in enumerate(configs):
        for r in range(2):
            one = jaxnn.fit(
                jax.random.fold_in(KEY, r), NET, (X, Y), config=config, optimizer=optimizer
            )
            member = study.member(m, r)
            if ulps == 0:
                assert_bitwise(one, member)
            else:
                for a, b in zip(
                    jax.tree.leaves(one.params), jax.tree.leaves(member.params), strict=True
                ):
                    np.testing.assert_allclose(raw(a), raw(b), rtol=2e-5, atol=1e-7)
                np.testing.assert_array_equal(one.epochs_run, member.epochs_run)


def test_sweep_varies_adam_in_one_program():
    base = jaxnn.FitConfig(epochs=4, learning_rate=0.02)
    grid = {"learning_rate": [0.01, 0.02], "b1": [0.8, 0.9]}
    jaxnn.sweep(KEY, NET, (X, Y), base=base, grid=grid, optimizer=optax.adam)
    with count_compiles() as compiles:
        s = jaxnn.sweep(
            KEY,
            NET,
            (X, Y),
            base=base,
            grid={"learning_rate": [0.03, 0.04], "b1": [0.5, 0.7]},
            optimizer=optax.adam,
        )
    assert compiles.count == 0
    np.testing.assert_allclose(s.configs.hyperparams["b1"], [0.5, 0.7, 0.5, 0.7])
    np.testing.assert_allclose(s.results.history.learning_rate[:, 0, 0], [0.03, 0.03, 0.04, 0.04])


@pytest.mark.parametrize(
    "config, optimizer, match",
    [
        (jaxnn.FitConfig(learning_rate=123.0), optax.adam(1e-2), "learning_rate=123.0 is not used"),
        (jaxnn.FitConfig(momentum=0.9), optax.adam(1e-2), "momentum is not used"),
        (
            jaxnn.FitConfig(decay="exponential", decay_rate=0.5),
            optax.adam(1e-2),
            "decay='exponential' is not used",
        ),
        (jaxnn.FitConfig(hyperparams={"b1": 0.5}), optax.adam(1e-2), "hyperparams=.* is not used"),
        (jaxnn.FitConfig(momentum=0.9), optax.adam, "momentum is jaxnn's heavy-ball momentum.*b1"),
        (
            jaxnn.FitConfig(hyperparams={"b3": 0.5}),
            optax.adam,
            r"\['b3'\] are not float arguments",
        ),
        (jaxnn.FitConfig(hyperparams={"b1": 0.5}), None, "would be ignored"),
    ],
    ids=[
        "lr-built",
        "momentum-built",
        "decay-built",
        "hp-built",
        "momentum-adam",
        "unknown-hp",
        "hp-none",
    ],
)
def test_a_config_field_the_optimizer_would_ignore_is_an_error(config, optimizer, match):
    with pytest.raises(ValueError, match=match):
        jaxnn.fit(KEY, NET, (X, Y), config=config.replace(epochs=2), optimizer=optimizer)


def test_bad_optimizer_and_hyperparams_are_refused():
    with pytest.raises(TypeError, match="optimizer must be None"):
        jaxnn.fit(KEY, NET, (X, Y), config=jaxnn.FitConfig(epochs=2), optimizer="adam")
    with pytest.raises(TypeError, match="without a learning_rate"):
        jaxnn.fit(KEY, NET, (X, Y), config=jaxnn.FitConfig(epochs=2), optimizer=lambda: None)
    with pytest.raises(TypeError, match=r"hyperparams\['b1'\] must be a real number"):
        jaxnn.FitConfig(hyperparams={"b1": "x"})
    with pytest.raises(ValueError, match=r"hyperparams\['b1'\] must be finite"):
        jaxnn.FitConfig(hyperparams={"b1": float("nan")})
    with pytest.raises(ValueError, match="'learning_rate' is a FitConfig field"):
        jaxnn.FitConfig(hyperparams={"learning_rate": 0.1})
    with pytest.raises(TypeError, match="must be a mapping"):
        jaxnn.FitConfig(hyperparams=[0.9])
    with pytest.raises(ValueError, match=r"hyperparams\['b1'\] must be a scalar"):
        jaxnn.fit(
            KEY,
            NET,
            (X, Y),
            config=jaxnn.FitConfig(hyperparams={"b1": [0.8, 0.9]}),
            optimizer=optax.adam,
        )
    with pytest.raises(ValueError, match=r"unknown field 'b7'.*hyperparameters \['b1'"):
        jaxnn.sweep(KEY, NET, (X, Y), grid={"b7": [0.1]}, optimizer=optax.adam)
    with pytest.raises(ValueError, match=r"unknown field 'b1'.*optax factory"):
        jaxnn.sweep(KEY, NET, (X, Y), grid={"b1": [0.1]})
    # a built transformation's rate cannot be swept
    with pytest.raises(ValueError, match=r"learning_rate=.* is not used"):
        jaxnn.sweep(
            KEY, NET, (X, Y), grid={"learning_rate": [0.1, 0.2]}, optimizer=optax.adam(1e-2)
        )


# ---------------------------------------------------------------------------------------
# Results that read well


def test_short_reprs_and_the_history_of_the_epochs_run():
    config = jaxnn.FitConfig(epochs=8, learning_rate=2.0, patience=2, min_delta=1.0)
    res = jaxnn.fit(KEY, NET, (X, Y), (XV, YV), config)
    text = repr(res)
    assert len(text) < 300 and text.startswith("FitResult(epochs_run=")
    assert f"epochs_run={int(res.epochs_run)}/8" in text and "stopped_early=True" in text
    hist = res.run_history
    assert hist.train_loss.shape == (int(res.epochs_run),)
    assert np.isfinite(hist.train_loss).all() and np.isfinite(hist.train_loss.min())
    study = jaxnn.restarts(KEY, NET, (X, Y), (XV, YV), config, n=4)
    text = repr(study)
    assert len(text) < 400 and text.startswith("StudyResult(4 restarts, best member")
    assert "4 members (4,)" in repr(study.results)
    assert study.member(0, 1).run_history.val_loss.shape == (int(study.member(0, 1).epochs_run),)
    # under jit a result holds tracers: its repr must not fail
    traced = jax.jit(lambda r: print(repr(r)) or r.epochs_run)(res)
    assert int(traced) == int(res.epochs_run)


# ---------------------------------------------------------------------------------------
# Review findings: each a check that would have caught it


def test_continue_refuses_another_monitored_loss():
    """Adding or dropping validation data (or changing train_metrics without it) would
    make early stopping compare a validation loss with a training loss."""
    config = jaxnn.FitConfig(epochs=4, learning_rate=0.3, batch_size=16)
    no_val = jaxnn.fit(KEY, NET, (X, Y), config=config)
    with_val = jaxnn.fit(KEY, NET, (X, Y), (XV, YV), config)
    longer = config.replace(epochs=8, patience=2)
    with pytest.raises(ValueError, match=r"monitored the running training loss.*validation loss"):
        jaxnn.fit(KEY, NET, (X, Y), (XV, YV), longer, state=no_val)
    with pytest.raises(ValueError, match=r"monitored the validation loss.*\(val=\)"):
        jaxnn.fit(KEY, NET, (X, Y), config=config.replace(epochs=8), state=with_val)
    with pytest.raises(ValueError, match=r"keep FitConfig\.train_metrics"):
        jaxnn.fit(
            KEY,
            NET,
            (X, Y),
            config=longer.replace(train_metrics="end_of_epoch", patience=None),
            state=no_val,
        )
    study = jaxnn.restarts(KEY, NET, (X, Y), config=config, n=2)
    with pytest.raises(ValueError, match="monitored the running training loss"):
        jaxnn.restarts(KEY, NET, (X, Y), (XV, YV), longer, n=2, state=study)
    # numeric fields and the data may change (to fine-tune), with no error
    jaxnn.fit(
        KEY,
        NET,
        (X[::-1], Y[::-1]),
        config=config.replace(epochs=8, learning_rate=0.1),
        state=no_val,
    )


def test_results_passed_as_params_get_a_clear_error():
    config = jaxnn.FitConfig(epochs=4)
    res = jaxnn.fit(KEY, NET, (X, Y), config=config)
    study = jaxnn.restarts(KEY, NET, (X, Y), config=config, n=2)
    with pytest.raises(TypeError, match=r"got a FitResult; pass result\.params"):
        jaxnn.fit(KEY, NET, (X, Y), config=config, params=res)
    with pytest.raises(TypeError, match=r"got a StudyResult; pass study\.results\.params"):
        jaxnn.restarts(KEY, NET, (X, Y), config=config, n=2, params=study)
    with pytest.raises(TypeError, match="got a FitState"):
        jaxnn.fit(KEY, NET, (X, Y), config=config, params=res.state)


def test_reprs_of_shapes_and_other_trees_do_not_fail():
    res = jaxnn.fit(KEY, NET, (X, Y), config=jaxnn.FitConfig(epochs=4))
    study = jaxnn.restarts(KEY, NET, (X, Y), config=jaxnn.FitConfig(epochs=4), n=2)
    assert repr(jax.eval_shape(lambda: res)).startswith("FitResult(ShapeDtypeStruct leaves")
    assert repr(jax.tree.map(np.shape, res)).startswith("FitResult(")
    assert repr(jax.eval_shape(lambda: study.results)).startswith("FitResult(")
    assert "2 restarts," in repr(study)
    one = jaxnn.sweep(
        KEY,
        NET,
        (X, Y),
        grid={"learning_rate": [0.1, 0.2]},
        n_restarts=1,
        base=jaxnn.FitConfig(epochs=4),
    )
    assert repr(one).startswith("StudyResult(2 configs x 1 restart,")


def test_config_with_hyperparams_is_hashable_and_immutable():
    a = jaxnn.FitConfig(hyperparams={"b1": 0.8})
    assert hash(a) == hash(jaxnn.FitConfig(hyperparams={"b1": 0.8})) and a == a.replace()
    assert hash(jaxnn.FitConfig()) == hash(jaxnn.FitConfig())
    with pytest.raises(TypeError):
        a.hyperparams["b1"] = 7.0
    assert jax.tree.map(lambda v: v * 2, a).hyperparams == {"b1": 1.6}
    # a config can be a static argument again (as before hyperparams existed)
    f = jax.jit(lambda x, c: x * c.epochs, static_argnums=1)
    assert float(f(jnp.float32(2), jaxnn.FitConfig(epochs=3))) == 6.0


def test_factories_with_integer_arguments_and_hyperparameter_ranges():
    config = jaxnn.FitConfig(epochs=4, learning_rate=1e-2)
    res = jaxnn.fit(KEY, NET, (X, Y), config=config, optimizer=optax.adafactor)
    assert int(res.epochs_run) == 4
    names = jaxnn.optim.factory_hyperparams(optax.adafactor)  # float arguments only
    assert "eps" in names and "min_dim_size_to_factor" not in names
    with pytest.raises(
        ValueError, match=r"hyperparams\['b1'\] must be a finite scalar in \[0, 1\)"
    ):
        jaxnn.fit(
            KEY, NET, (X, Y), config=config.replace(hyperparams={"b1": 1.5}), optimizer=optax.adam
        )
    with pytest.raises(
        ValueError, match=r"hyperparams\['b1'\] must be a finite scalar in \[0, 1\)"
    ):
        jaxnn.sweep(KEY, NET, (X, Y), config, grid={"b1": [0.8, 1.9]}, optimizer=optax.adam)
    with pytest.raises(
        ValueError, match=r"hyperparams\['eps'\] must be a finite scalar in \[0, inf\]"
    ):
        jaxnn.fit(
            KEY, NET, (X, Y), config=config.replace(hyperparams={"eps": -1.0}), optimizer=optax.adam
        )
    with pytest.raises(ValueError, match=r"built optax transformation.*pass the factory"):
        jaxnn.sweep(KEY, NET, (X, Y), config, grid={"b1": [0.8]}, optimizer=optax.adam(1e-2))
    with pytest.raises(ValueError, match="Adam's momentum is hyperparams"):
        jaxnn.FitConfig(hyperparams={"momentum": 0.9})


def test_continue_with_other_hyperparam_names_says_so():
    config = jaxnn.FitConfig(learning_rate=1e-2, epochs=4)
    a = jaxnn.fit(KEY, NET, (X, Y), config=config, optimizer=optax.adam)
    with pytest.raises(ValueError, match=r"hyperparameters \['learning_rate'\].*\['b1', 'learn"):
        jaxnn.fit(
            KEY,
            NET,
            (X, Y),
            config=config.replace(epochs=8, hyperparams={"b1": 0.9}),
            optimizer=optax.adam,
            state=a,
        )

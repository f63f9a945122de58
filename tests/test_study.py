"""Restart studies and sweeps: many fits as one program, equal to the single fits."""

import itertools
import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_bitwise, count_compiles, raw

import jaxnn
from jaxnn import study

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NET = jaxnn.MLP((2, 4, 1), "tanh")
CFG = jaxnn.FitConfig(learning_rate=0.5, momentum=0.5, epochs=30)


@pytest.fixture(scope="module")
def data():
    x, y = jaxnn.data.make_xor(jax.random.key(3), 64)
    return jaxnn.data.standardize(x), y


@pytest.fixture(scope="module")
def splits():
    x, y = jaxnn.data.make_moons(jax.random.key(4), 96, noise=0.3)
    s = jaxnn.data.train_val_test_split(jax.random.key(5), jaxnn.data.standardize(x), y)
    return s.train, s.val


def _close(a, b, atol=1e-5):
    for u, w in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(w), atol=atol, rtol=1e-4)


def test_restarts_have_a_leading_axis_and_equal_single_fits(key, data):
    s = study.restarts(key, NET, data, config=CFG, n=5)
    assert s.results.params[0]["w"].shape == (5, 2, 4)
    assert s.results.history.train_loss.shape == (5, CFG.epochs)
    assert s.losses.shape == (1, 5)
    for i in (0, 3):
        single = jaxnn.fit(jax.random.fold_in(key, i), NET, data, config=CFG)
        _close(s.member(0, i).params, single.params)
        _close(s.member(0, i).history.train_loss, single.history.train_loss)


def test_a_second_study_compiles_nothing(key, data):
    """Another key, other data of the same shapes and another numeric config: the
    whole study (keys, placement, the program, the results) reuses what it compiled."""
    study.restarts(key, NET, data, config=CFG, n=5)
    other_key, other_data = jax.random.fold_in(key, 9), jax.tree.map(lambda a: a[::-1], data)
    with count_compiles() as compiles:
        study.restarts(other_key, NET, other_data, config=CFG.replace(momentum=0.8), n=5)
    assert compiles.count == 0


def test_a_study_warns_naming_its_diverged_members(key, data):
    with pytest.warns(RuntimeWarning, match=r"3 of 6 members diverged.*\(config 1, restart 0\)"):
        s = study.sweep(key, NET, data, base=CFG, grid={"learning_rate": [0.5, 1e38]}, n_restarts=3)
    assert (np.asarray(s.results.diverged_epoch)[1] >= 0).all()
    assert (np.asarray(s.results.diverged_epoch)[0] == -1).all()


def test_restart_i_does_not_depend_on_n_or_chunk_size(key, data):
    a = study.restarts(key, NET, data, config=CFG, n=3)
    b = study.restarts(key, NET, data, config=CFG, n=7, chunk_size=3)  # 3 chunks, padded
    _close(a.results.params, jax.tree.map(lambda v: v[:3], b.results.params))


def test_each_member_early_stops_at_its_own_epoch(key, splits):
    cfg = jaxnn.FitConfig(learning_rate=0.5, momentum=0.9, epochs=200, patience=5)
    net = jaxnn.MLP((2, 32, 1), "relu")
    s = study.restarts(key, net, *splits, config=cfg, n=4)
    runs = np.asarray(s.results.epochs_run)
    assert np.asarray(s.results.stopped_early).any()
    for i in range(4):
        single = jaxnn.fit(jax.random.fold_in(key, i), net, *splits, config=cfg)
        assert runs[i] == int(single.epochs_run)
        assert int(s.results.best_epoch[i]) == int(single.best_epoch)
        _close(s.member(0, i).best_params, single.best_params)
    assert np.allclose(s.losses[0], np.asarray(s.results.state.early.best_loss))


def test_sweep_grid_order_and_members_equal_single_fits(key, data):
    s = study.sweep(
        key,
        NET,
        data,
        base=CFG,
        grid={"learning_rate": [0.1, 0.5], "momentum": [0.0, 0.9]},
        n_restarts=2,
    )
    assert s.results.params[0]["w"].shape == (4, 2, 2, 4)
    lrs = np.asarray(s.configs.learning_rate)
    moms = np.asarray(s.configs.momentum)
    expected = list(itertools.product([0.1, 0.5], [0.0, 0.9]))
    np.testing.assert_allclose(np.stack([lrs, moms], 1), np.array(expected), rtol=1e-6)
    for c, r in ((1, 0), (2, 1), (3, 1)):
        cfg = CFG.replace(learning_rate=expected[c][0], momentum=expected[c][1])
        single = jaxnn.fit(jax.random.fold_in(key, r), NET, data, config=cfg)
        _close(s.member(c, r).params, single.params)


def test_sweep_over_decay_rate_is_traceable(key, data):
    base = CFG.replace(decay="exponential", decay_epochs=5)
    s = study.sweep(key, NET, data, base=base, zipped={"decay_rate": [0.1, 0.5, 1.0]})
    lr = np.asarray(s.results.history.learning_rate)
    np.testing.assert_allclose(lr[:, 0, 10], 0.5 * np.array([0.01, 0.25, 1.0]), rtol=1e-6)
    single = jaxnn.fit(jax.random.fold_in(key, 0), NET, data, config=base.replace(decay_rate=0.5))
    _close(s.member(1, 0).params, single.params)


def test_sweep_over_dropout_l1_l2(key, data):
    s = study.sweep(
        key,
        NET,
        data,
        base=CFG,
        zipped={"dropout": [0.0, 0.3], "l1": [0.0, 1e-3], "l2": [1e-3, 0.0]},
    )
    for c, kw in enumerate(
        [dict(dropout=0.0, l1=0.0, l2=1e-3), dict(dropout=0.3, l1=1e-3, l2=0.0)]
    ):
        single = jaxnn.fit(jax.random.fold_in(key, 0), NET, data, config=CFG.replace(**kw))
        _close(s.member(c, 0).params, single.params)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(grid={"epochs": [1, 2]}), "'epochs' is structural"),
        (dict(grid={"batch_size": [1, 2]}), "'batch_size' is structural"),
        (dict(grid={"lr": [0.1]}), "unknown field 'lr'"),
        (dict(zipped={"l1": [0.1, 0.2], "l2": [0.1]}), "one length"),
        (dict(grid={"l1": []}), "'l1' has no values"),
        (dict(grid={"l1": [0.1]}, zipped={"l1": [0.2]}), "both grid and zipped"),
        (dict(grid={"dropout": [0.5, 1.0]}), "dropout"),
    ],
)
def test_sweep_bad_input(key, data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        study.sweep(key, NET, data, base=CFG, **kwargs)


@pytest.mark.parametrize("n", [0, -1])
def test_restarts_needs_n_at_least_one(key, data, n):
    with pytest.raises(ValueError, match="n"):
        study.restarts(key, NET, data, config=CFG, n=n)


def test_bad_chunk_size(key, data):
    with pytest.raises(ValueError, match="chunk_size"):
        study.restarts(key, NET, data, config=CFG, n=2, chunk_size=0)


def test_expected_best_of_k_equals_enumeration():
    rng = np.random.default_rng(0)
    losses = rng.exponential(size=7)
    got = study.expected_best_of_k(losses)
    for k in range(1, 8):
        brute = np.mean([min(c) for c in itertools.combinations(losses, k)])
        assert got[k - 1] == pytest.approx(brute, rel=1e-12)
    assert got[0] == pytest.approx(losses.mean())
    assert got[-1] == pytest.approx(losses.min())
    assert np.all(np.diff(got) <= 1e-15)  # more restarts never hurt, in expectation


def test_expected_best_of_k_with_ties_and_inf():
    got = study.expected_best_of_k([1.0, 1.0, np.inf])
    assert got[0] == np.inf
    assert got[1:] == pytest.approx([1.0, 1.0])


def test_summary_statistics():
    s = study.summarize(np.array([[0.1, 0.105, 0.5, 0.2]]), tol=0.01)
    assert s.min[0] == 0.1 and s.max[0] == 0.5 and s.median[0] == pytest.approx(0.1525)
    assert s.fraction_within_tol[0] == 0.5
    assert s.best_restart[0] == 0


def test_study_checkpoint_resume_equals_uninterrupted(key, data, tmp_path, monkeypatch):
    straight = study.restarts(key, NET, data, config=CFG, n=3)
    original = study._vrun_jit
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(study, "_vrun_jit", flaky)
    with pytest.raises(KeyboardInterrupt):
        study.restarts(key, NET, data, config=CFG, n=3, checkpoint_dir=str(tmp_path))
    monkeypatch.setattr(study, "_vrun_jit", original)
    resumed = study.restarts(key, NET, data, config=CFG, n=3, checkpoint_dir=str(tmp_path))
    assert_bitwise(straight.results, resumed.results)


def test_progress_bar_runs(key, data):
    s = study.restarts(key, NET, data, config=CFG, n=2, progress=True)
    assert s.results.epochs_run.shape == (2,)


_SHARDED = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np, jaxnn
    from jaxnn import study
    x, y = jaxnn.data.make_xor(jax.random.key(3), 64)
    x = jaxnn.data.standardize(x)
    cfg = jaxnn.FitConfig(learning_rate=0.5, momentum=0.5, epochs=30)
    s = study.sweep(jax.random.key(0), jaxnn.MLP((2, 4, 1), "tanh"), (x, y), base=cfg,
                    grid={"learning_rate": [0.1, 0.5, 1.0]}, n_restarts=3, chunk_size=5)
    json.dump({"devices": len(jax.devices()),
               "w": np.asarray(s.results.params[0]["w"]).tolist(),
               "losses": s.losses.tolist()}, sys.stdout)
    """
)


def _run_sharded(devices):
    env = dict(
        os.environ,
        XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
        JAX_PLATFORMS="cpu",  # host devices, also on a machine with a GPU
    )
    out = subprocess.run(
        [sys.executable, "-c", _SHARDED],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(out.stdout)


def test_sharded_over_8_host_devices_equals_one_device():
    one, eight = _run_sharded(1), _run_sharded(8)
    assert (one["devices"], eight["devices"]) == (1, 8)
    np.testing.assert_allclose(eight["w"], one["w"], atol=1e-5)
    np.testing.assert_allclose(eight["losses"], one["losses"], atol=1e-6)


def test_grouped_members_equal_single_fits(key, data):
    """16 members on one device run as two groups of 8 (lax.map of batched loops)."""
    assert study._group_size(16) == 8 and study._group_size(7) == 7 and study._group_size(11) == 1
    s = study.restarts(key, NET, data, config=CFG, n=16, devices=jax.devices()[:1])
    for i in (0, 9, 15):
        single = jaxnn.fit(jax.random.fold_in(key, i), NET, data, config=CFG)
        _close(s.member(0, i).params, single.params)


def test_member_bytes_grows_with_the_data(data):
    small = study.member_bytes(NET, data, CFG)
    x, y = data
    big = study.member_bytes(NET, (jnp.tile(x, (8, 1)), jnp.tile(y, 8)), CFG)
    assert 0 < small < big


def test_epochs_per_check_does_not_change_the_numbers(key, splits):
    """Checking the loop condition every 3 epochs (as on accelerators) is exact."""
    from jaxnn import training

    cfg = jaxnn.FitConfig(learning_rate=0.5, momentum=0.9, epochs=40, patience=3)
    net = jaxnn.MLP((2, 16, 1), "relu")
    plan = training.make_plan(cfg, splits[0][0].shape[0], True)
    configs = study._stack([cfg] * 4)
    keys = jax.random.split(key, 4)
    train = (splits[0][0], splits[0][1].astype(jnp.float32))
    val = (splits[1][0], splits[1][1].astype(jnp.float32))
    init = jax.vmap(lambda k, c: training.init_state(k, net, c, plan))
    outs = [
        training.run_epochs_batched(
            init(keys, configs), net, configs, plan, train, val, 27, epochs_per_check=e
        )
        for e in (1, 3)
    ]
    assert int(jnp.max(outs[0].epoch)) <= 27
    for a, b in zip(jax.tree.leaves(outs[0]), jax.tree.leaves(outs[1]), strict=True):
        np.testing.assert_allclose(raw(a), raw(b), rtol=1e-6, atol=1e-7)


def test_call_length_adapts_to_the_target_and_to_checkpoint_saves():
    # a call of 10 epochs took 0.05 s: 5x more epochs would take the 0.25 s target,
    # but growth is capped at 4x per call
    assert study._next_step(10, 0.05, 0.0) == 40
    assert study._next_step(10, 0.125, 0.0) == 20
    assert study._next_step(10, 1.0, 0.0) == 2  # too long: shrink
    assert study._next_step(1, 10.0, 0.0) == 1  # never below one epoch
    # a save of 0.2 s: calls of at least 1 s, so saves cost at most ~20%
    assert study._next_step(10, 0.5, 0.2) == 20

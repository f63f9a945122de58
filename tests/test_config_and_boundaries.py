"""Errors at the boundary of fit, restarts and sweep (issue 13, cases 4 and 6).

A bad argument is a ``TypeError`` or ``ValueError`` naming it, raised before anything
compiles: an int as the key, a list or an array in a config given to a fit, a
``checkpoint_dir`` that is a file, a config field out of its range (refused when
the config is built). Configs that JAX rebuilds from leaves (tree maps, ``vmap``,
``jit``, ``eval_shape``, gradients, stacking) are never checked at construction.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_bitwise, count_compiles

import jaxnn
from jaxnn import study

NET = jaxnn.MLP((3, 1))
ONE_STEP = jaxnn.FitConfig(epochs=1, learning_rate=0.3)  # test_training's setup


def make_xy(seed=10, n=8, d=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32), (rng.random(n) < 0.5).astype(np.float32)


DATA = make_xy()

# every entry point that takes one key and one config: (name, call(key, config, **kw))
ENTRY_POINTS = {
    "fit": lambda key, config, **kw: jaxnn.fit(key, NET, DATA, config=config, **kw),
    "restarts": lambda key, config, **kw: jaxnn.restarts(key, NET, DATA, config=config, n=2, **kw),
    "sweep": lambda key, config, **kw: jaxnn.sweep(
        key, NET, DATA, base=config, grid={"l2": [0.0, 0.1]}, **kw
    ),
}


# ---------------------------------------------------------------------------------------
# Case 4: a fit takes scalars


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(
    ("field", "value", "shape"),
    [
        ("learning_rate", np.array([0.1, 0.2]), "array of shape (2,)"),
        ("momentum", [0.5, 0.9], "list of 2 values"),
        ("l2", jnp.array([[0.0], [0.1]]), "array of shape (2, 1)"),
    ],
)
def test_an_array_in_the_config_is_refused_naming_the_field_and_sweep(
    key, entry, field, value, shape
):
    config = ONE_STEP.replace(**{field: value})  # arrays are fine in a config (vmap)
    with count_compiles() as compiles, pytest.raises(ValueError) as info:
        ENTRY_POINTS[entry](key, config)
    message = str(info.value)
    assert f"FitConfig.{field} must be a scalar" in message
    assert shape in message and "jaxnn.sweep" in message and f"grid={{'{field}'" in message
    assert message.startswith(entry)
    assert compiles.count == 0


def test_a_sweep_value_that_is_not_a_scalar_is_named(key):
    with count_compiles() as compiles, pytest.raises(ValueError, match=r"'momentum'.*scalars"):
        jaxnn.sweep(key, NET, DATA, base=ONE_STEP, grid={"momentum": [[0.5, 0.9]]})
    assert compiles.count == 0


@pytest.mark.parametrize("config", [{"epochs": 1}, "default"])
def test_a_config_that_is_not_a_fitconfig_is_a_type_error(key, config):
    with pytest.raises(TypeError, match=r"config must be a jaxnn\.FitConfig"):
        jaxnn.fit(key, NET, DATA, config=config)


# ---------------------------------------------------------------------------------------
# Case 6: keys


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(
    ("bad", "hint"),
    [
        (0, r"jax\.random\.key\(0\)"),
        (7, r"jax\.random\.key\(7\)"),
        (np.array([0, 0], np.int32), "dtype int32"),
        (np.float32(0.5), "dtype float32"),
        (None, "NoneType"),
    ],
)
def test_a_key_that_is_not_a_prng_key_is_a_type_error_naming_key(entry, bad, hint):
    with count_compiles() as compiles, pytest.raises(TypeError, match=f"^key must be.*{hint}"):
        ENTRY_POINTS[entry](bad, ONE_STEP)
    assert compiles.count == 0


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(
    "batch", [jax.random.split(jax.random.key(0), 3), np.zeros((3, 2), np.uint32)]
)
def test_a_batch_of_keys_is_a_value_error_naming_key(entry, batch):
    with pytest.raises(ValueError, match=r"^key must be a single PRNG key.*shape"):
        ENTRY_POINTS[entry](batch, ONE_STEP)


def test_a_legacy_raw_key_gives_the_fit_of_its_typed_key():
    typed = jaxnn.fit(jax.random.key(4), NET, DATA, config=ONE_STEP)
    for raw in (jax.random.PRNGKey(4), np.asarray(jax.random.PRNGKey(4))):
        assert_bitwise(jaxnn.fit(raw, NET, DATA, config=ONE_STEP), typed)


def test_a_legacy_raw_key_gives_the_study_of_its_typed_key():
    typed = jaxnn.restarts(jax.random.key(4), NET, DATA, config=ONE_STEP, n=2)
    raw = jaxnn.restarts(jax.random.PRNGKey(4), NET, DATA, config=ONE_STEP, n=2)
    assert_bitwise(raw.results, typed.results)


def test_mlp_init_and_apply_check_their_keys():
    with pytest.raises(TypeError, match=r"^key must be.*jax\.random\.key\(0\)"):
        NET.init(0)
    params = NET.init(jax.random.PRNGKey(1))  # legacy keys work as in jax.random
    assert_bitwise(params, NET.init(jax.random.key(1)))
    with pytest.raises(TypeError, match=r"^key must be"):
        NET.apply(params, DATA[0], key=3, dropout=0.5)
    # the check is on dtype and shape only, so it holds under vmap and jit
    keys = jax.random.split(jax.random.key(2), 2)
    batched = jax.jit(jax.vmap(NET.init))(keys)
    assert batched[0]["w"].shape == (2, 3, 1)


# ---------------------------------------------------------------------------------------
# Case 6: checkpoint_dir


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_checkpoint_dir_that_is_a_file_is_refused_before_compiling(key, tmp_path, entry):
    path = tmp_path / "a_file"
    path.write_text("not a directory")
    with count_compiles() as compiles, pytest.raises(ValueError) as info:
        ENTRY_POINTS[entry](key, ONE_STEP, checkpoint_dir=str(path))
    assert "checkpoint_dir" in str(info.value) and "existing file" in str(info.value)
    assert str(path) in str(info.value)
    assert compiles.count == 0
    assert path.read_text() == "not a directory"


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_checkpoint_dir_that_cannot_be_created_is_refused_before_compiling(key, tmp_path, entry):
    (tmp_path / "a_file").write_text("")
    path = tmp_path / "a_file" / "ckpt"  # a directory under a file
    with count_compiles() as compiles, pytest.raises(ValueError, match=r"checkpoint_dir.*created"):
        ENTRY_POINTS[entry](key, ONE_STEP, checkpoint_dir=path)
    assert compiles.count == 0


def test_a_checkpoint_dir_that_is_not_a_path_is_a_type_error(key):
    with pytest.raises(TypeError, match="checkpoint_dir must be a path"):
        jaxnn.fit(key, NET, DATA, config=ONE_STEP, checkpoint_dir=3)


def test_a_missing_checkpoint_dir_is_created_with_its_parents(key, tmp_path):
    path = tmp_path / "a" / "b"
    res = jaxnn.fit(key, NET, DATA, config=ONE_STEP, checkpoint_dir=path)  # a Path works
    assert path.is_dir() and os_listdir(path) == [str(int(res.epochs_run))]


def os_listdir(path):
    return sorted(p.name for p in path.iterdir())


# ---------------------------------------------------------------------------------------
# Case 6: a FitConfig is checked when it is built


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("loss", "binery", r"FitConfig\.loss must be one of \['binary', 'multiclass'\]"),
        ("decay", "exp", r"FitConfig\.decay must be one of .*'exponential'"),
        ("dropout", 1.0, r"FitConfig\.dropout must be in \[0, 1\)"),
        ("dropout", np.float32(1.0), r"FitConfig\.dropout must be in \[0, 1\)"),
        ("momentum", jnp.array(1.5), r"FitConfig\.momentum must be in \[0, 1\)"),
        ("train_metrics", ["running"], r"FitConfig\.train_metrics must be one of"),
    ],
)
def test_a_bad_field_is_refused_when_the_config_is_built(field, value, match):
    with count_compiles() as compiles:
        with pytest.raises(ValueError, match=match):
            jaxnn.FitConfig(**{field: value})
        with pytest.raises(ValueError, match=match):
            ONE_STEP.replace(**{field: value})
        with pytest.raises(ValueError, match=match):
            dataclasses.replace(ONE_STEP, **{field: value})
    assert compiles.count == 0


def test_jax_rebuilds_configs_from_any_leaves_without_checking_them():
    config = jaxnn.FitConfig(learning_rate=0.5, momentum=0.9, dropout=0.2, epochs=3)
    assert jax.tree.map(lambda a: a, config) == config
    # leaves that are no valid value: zeros, None, objects, ShapeDtypeStructs, gradients
    zeros = jax.tree.map(lambda a: a * 0, config)
    assert zeros.learning_rate == 0 and zeros.epochs == 3
    assert jax.tree.map(lambda a: None, config).learning_rate is None
    marker = object()
    assert jax.tree.map(lambda a: marker, config).dropout is marker
    shapes = jax.eval_shape(lambda c: c, config)
    assert shapes.momentum.shape == () and shapes.loss == config.loss
    grads = jax.grad(lambda c: -3.0 * c.learning_rate + c.momentum)(config)
    assert float(grads.learning_rate) == -3.0 and float(grads.dropout) == 0.0
    assert float(jax.jit(lambda c: c.replace(epochs=4).learning_rate)(config)) == 0.5
    # stacked configs, as a sweep builds them, vmapped with a config of in_axes
    stacked = jax.tree.map(lambda *a: jnp.asarray(a, jnp.float32), config, config.replace(l2=0.1))
    assert stacked.l2.shape == (2,)
    axes = jax.tree.map(lambda a: 0, config)
    out = jax.vmap(lambda c: c.learning_rate * c.l2, in_axes=(axes,))(stacked)
    np.testing.assert_allclose(out, [0.0, 0.05])
    assert dataclasses.replace(stacked, epochs=5).l2.shape == (2,)  # arrays: not checked
    assert jaxnn.FitConfig(learning_rate=np.array([0.1, -1.0])).learning_rate.shape == (2,)
    assert jax.tree_util.tree_flatten_with_path(config)[0][0][0] == (
        jax.tree_util.GetAttrKey("learning_rate"),
    )


def test_a_fit_still_checks_a_config_jax_rebuilt_with_bad_values(key):
    zero_rate = jax.tree.map(lambda a: a * 0, ONE_STEP)  # learning_rate 0, unchecked
    with count_compiles() as compiles, pytest.raises(ValueError, match=r"FitConfig\.learning_rate"):
        jaxnn.fit(key, NET, DATA, config=zero_rate)
    with pytest.raises(ValueError, match=r"FitConfig\.learning_rate"):
        study.restarts(key, NET, DATA, config=zero_rate, n=2)
    assert compiles.count == 0


def test_save_and_restore_refuse_a_file_as_their_directory(tmp_path):
    from jaxnn.checkpoint import restore_latest, save_state

    path = tmp_path / "a_file"
    path.write_text("")
    state = jaxnn.fit(jax.random.key(4), NET, DATA, config=ONE_STEP).state
    with pytest.raises(ValueError, match=r"directory=.*existing file"):
        save_state(str(path), state)
    with pytest.raises(ValueError, match=r"directory=.*existing file"):
        restore_latest(str(path), state)
    with pytest.raises(TypeError, match=r"^state must be"):
        save_state(str(tmp_path / "ckpt"), {"epoch": 1}.items())


# ---------------------------------------------------------------------------------------
# Valid usage the checks must not refuse (a reviewer's regressions)


def test_replace_checks_only_what_it_changes_so_rebuilt_configs_can_change():
    config = jaxnn.FitConfig(learning_rate=0.5, momentum=0.9)
    grads = jax.grad(lambda c: c.learning_rate * c.momentum)(config)  # zeros where unused
    assert grads.replace(epochs=4).epochs == 4
    assert jax.tree.map(jnp.zeros_like, config).replace(epochs=4).epochs == 4
    with pytest.raises(ValueError, match=r"FitConfig\.dropout"):
        grads.replace(dropout=1.0)
    with pytest.raises(ValueError, match=r"FitConfig\.loss"):
        config.replace(loss="binery")
    with pytest.raises(TypeError, match="unknown fields \\['lr'\\]"):
        config.replace(lr=0.1)


def test_softmax_takes_numpy_int_and_tuple_axes_as_jax_does():
    z = jnp.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(jaxnn.softmax(z, axis=np.int64(0)), jax.nn.softmax(z, axis=0))
    np.testing.assert_allclose(jaxnn.softmax(z, axis=(0, 1)), jax.nn.softmax(z, axis=(0, 1)))
    with pytest.raises(ValueError, match="softmax: axis"):
        jaxnn.softmax(z, axis=2)


def test_soft_threshold_broadcasts_a_threshold_per_column():
    w = jnp.array([[1.0, -1.0], [0.2, 0.05]])
    got = jaxnn.soft_threshold(w, jnp.array([0.5, 0.1]))
    np.testing.assert_allclose(got, [[0.5, -0.9], [0.0, 0.0]], atol=1e-7)
    with pytest.raises(ValueError, match="threshold must broadcast"):
        jaxnn.soft_threshold(w, jnp.ones(3))

"""Saving and loading pytrees with orbax (jaxnn.saving).

Params, a fit's result (its typed key included) and a study's stacked results come
back bitwise, with or without ``like``; a save loaded as another structure is a
ValueError naming both; an existing save is replaced only with overwrite=True, and
only once the new one is complete.
"""

import dataclasses
import json
import os
import re
import shutil
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_bitwise

import jaxnn
from jaxnn import load, save

MODEL = jaxnn.MLP((2, 4, 1))


def fit(epochs):
    x, y = jaxnn.data.make_blobs(jax.random.key(1), 32)
    return jaxnn.fit(jax.random.key(0), MODEL, (x, y), config=jaxnn.FitConfig(epochs=epochs))


@pytest.fixture(scope="module")
def result():
    return fit(5)


def listing(directory):
    return sorted(os.listdir(directory))


def assert_same(a, b):
    """Same structure, and every leaf of the same type and dtype with the same bytes:
    assert_bitwise, with NumPy leaves and Python numbers (type and value) too."""
    leaves_a, tree_a = jax.tree.flatten(a)
    leaves_b, tree_b = jax.tree.flatten(b)
    assert tree_a == tree_b
    for x, y in zip(leaves_a, leaves_b, strict=True):
        assert type(x) is type(y), (type(x), type(y))
        if isinstance(x, bool | int | float | complex):
            assert x == y or (x != x and y != y), (x, y)
        else:
            assert_bitwise(x, y)


def test_params_round_trip_bitwise(key, tmp_path, monkeypatch):
    params = MODEL.init(key)
    monkeypatch.chdir(tmp_path)
    where = save("net", params)
    assert where == str(tmp_path / "net")  # the absolute path
    assert listing(tmp_path) == ["net"]  # no temporary directory left behind
    assert_bitwise(load(where), params)  # rebuilt from the description: a list of dicts
    assert_bitwise(load(tmp_path / "net", like=params), params)  # os.PathLike works too
    assert_bitwise(load(where, like=jax.eval_shape(MODEL.init, key)), params)


def test_fit_result_round_trip_bitwise_with_its_typed_key(result, tmp_path):
    where = save(tmp_path / "fit", result)
    for loaded in (
        load(where, like=result),
        load(where, like=jax.eval_shape(lambda: result)),
        load(where),  # FitResult, FitState, History and optax's states by class name
    ):
        assert type(loaded) is jaxnn.FitResult
        assert jnp.issubdtype(loaded.state.key.dtype, jax.dtypes.prng_key)
        assert_bitwise(loaded, result)
    # the loaded state draws the same numbers as the original
    np.testing.assert_array_equal(
        jax.random.normal(load(where).state.key, (3,)), jax.random.normal(result.state.key, (3,))
    )


def test_study_results_round_trip_bitwise(tmp_path):
    x, y = jaxnn.data.make_blobs(jax.random.key(1), 32)
    study = jaxnn.restarts(jax.random.key(0), MODEL, (x, y), config=jaxnn.FitConfig(epochs=5), n=2)
    where = save(tmp_path / "study", study.results)
    assert_bitwise(load(where, like=study.results), study.results)
    assert_bitwise(load(where), study.results)
    assert load(where).state.key.shape == (2,)


def test_any_pytree_round_trips(tmp_path):
    class Pair(NamedTuple):  # not importable by name: comes back as a dict of its fields
        a: jax.Array
        b: jax.Array

    tree = {
        "nested": ({"x": jnp.arange(3, dtype=jnp.int8)}, [None, jnp.float32(2.5)]),
        "ints": {7: jnp.ones((2, 0), jnp.bfloat16), 2: jnp.full(2, -1, jnp.uint16)},
        "mask": jnp.array([True, False]),
        "rbg": jax.random.key(3, impl="rbg"),
        "keys": jax.random.split(jax.random.key(4), 3),
        "pair": Pair(jnp.zeros(2), jnp.ones(1)),
        "number": 3,  # Python numbers come back as Python numbers of their type
        "python": [0.1, True, 1 + 2j, 2**40],
        "numpy": [np.array([0.1, 1e-300]), np.arange(3, dtype=np.uint64), np.float64(0.1)],
        "empty": {},
        "empty_numpy": np.zeros((0, 2)),
    }
    where = save(tmp_path / "tree", tree)
    expected = {**tree, "pair": {"a": jnp.zeros(2), "b": jnp.ones(1)}}
    assert_same(load(where), expected)
    assert_same(load(where, like=tree), tree)
    assert str(load(where)["rbg"].dtype) == "key<rbg>"


def test_numpy_float64_stays_float64_without_x64(tmp_path):
    assert not jax.config.jax_enable_x64  # else jax would keep float64 anyway
    tree = {"a": np.array([0.1, 1 / 3, 1e-300]), "tol": 0.01, "n": np.int64(2**40)}
    where = save(tmp_path / "f64", tree)
    meta = json.loads(Path(where, "jaxnn_save.json").read_text())
    assert [leaf["dtype"] for leaf in meta["leaves"]] == ["float64", "int64", "float64"]
    for loaded in (load(where), load(where, like=tree)):
        assert_same(loaded, tree)
        assert loaded["a"].flags.writeable  # a NumPy array of its own, not a view of jax's
    # like's jax leaves (jax.eval_shape of the tree) take the dtypes jax makes of them
    as_jax = load(where, like=jax.eval_shape(lambda: tree))
    assert {k: (type(v), v.dtype) for k, v in as_jax.items()} == {
        "a": (type(jnp.zeros(1)), jnp.float32),
        "n": (type(jnp.zeros(1)), jnp.int32),
        "tol": (type(jnp.zeros(1)), jnp.float32),
    }
    np.testing.assert_array_equal(as_jax["a"], tree["a"].astype(np.float32))


def test_a_study_round_trips_with_like_in_its_leaf_types(tmp_path):
    x, y = jaxnn.data.make_blobs(jax.random.key(1), 32)
    study = jaxnn.restarts(jax.random.key(0), MODEL, (x, y), config=jaxnn.FitConfig(epochs=5), n=3)
    assert isinstance(study.summary.tol, float) and study.losses.dtype == np.float64
    loaded = load(save(tmp_path / "study", study), like=study)
    assert type(loaded) is jaxnn.StudyResult
    assert_same(loaded, study)  # float64 summaries, Python tol and best, typed keys, ...
    assert loaded.best == study.best and type(loaded.best[0]) is int
    assert repr(loaded) == repr(study)


def test_other_dtypes_or_types_than_likes_are_refused_naming_both(tmp_path):
    tree = {"a": np.array([0.1, 0.2]), "f": jnp.float32(0.5), "i": jnp.int32(3)}
    where = save(tmp_path / "t", tree)
    with pytest.raises(
        ValueError,
        match=r"tree\['a'\]: saved \(2,\) float64, expected \(2,\) float32\.$",
    ):
        load(where, like={**tree, "a": np.zeros(2, np.float32)})
    with pytest.raises(
        ValueError, match=r"tree\['f'\]: saved \(\) float32 \(a jax array\), expected \(\) int64 "
    ):
        load(where, like={**tree, "f": 1})
    # a Python number takes a 0-d leaf of its kind that converts exactly
    loaded = load(where, like={**tree, "f": 1.0, "i": 1})
    assert (loaded["f"], loaded["i"]) == (0.5, 3)
    assert (type(loaded["f"]), type(loaded["i"])) == (float, int)
    with pytest.raises(ValueError, match=r"tree\['i'\]: saved \(\) int32 .* expected \(\) bool"):
        load(where, like={**tree, "i": True})


def test_a_save_of_an_older_description_loads_as_jax_arrays(key, tmp_path):
    params = MODEL.init(key)
    where = save(tmp_path / "net", params)
    meta_file = Path(where, "jaxnn_save.json")
    meta = json.loads(meta_file.read_text())
    for leaf in meta["leaves"]:
        del leaf["type"]  # as saves written before leaf types were recorded
    meta_file.write_text(json.dumps(meta))
    assert_bitwise(load(where), params)
    assert_bitwise(load(where, like=params), params)


def test_a_path_starting_with_a_tilde_is_in_the_home_directory(key, tmp_path, monkeypatch):
    home, elsewhere = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    elsewhere.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(elsewhere)
    params = MODEL.init(key)
    assert save("~/net", params) == str(home / "net")
    assert save(Path("~/sub/net"), params) == str(home / "sub" / "net")
    assert listing(elsewhere) == []  # no ./~ directory
    assert listing(home) == ["net", "sub"]
    assert_bitwise(load("~/net"), params)
    assert_bitwise(load(Path("~/sub/net"), like=params), params)
    with pytest.raises(ValueError, match=re.escape(f"path='{home / 'net'}' already holds a save")):
        save("~/net", params)


def test_an_empty_tree_round_trips(tmp_path):
    assert load(save(tmp_path / "none", None)) is None
    assert load(save(tmp_path / "empty", {"a": [], "b": ()})) == {"a": [], "b": ()}


def test_a_custom_node_needs_like(tmp_path):
    @jax.tree_util.register_dataclass
    @dataclasses.dataclass
    class Layer:
        w: jax.Array

    tree = [Layer(jnp.ones(2))]
    where = save(tmp_path / "custom", tree)
    with pytest.raises(ValueError, match=r"Layer node at tree\[0\].*pass like="):
        load(where)
    assert_bitwise(load(where, like=tree), tree)


# --- loading as another structure ----------------------------------------------------


def test_params_of_other_layer_sizes_are_refused_naming_both(key, tmp_path):
    where = save(tmp_path / "net", MODEL.init(key))
    wider = jaxnn.MLP((2, 8, 1)).init(key)
    with pytest.raises(ValueError, match=str(tmp_path)) as e:
        load(where, like=wider)
    assert "saved a list of 2 (4 leaves), expected (like) a list of 2 (4 leaves)" in str(e.value)
    assert "first difference at tree[0]['b']: saved (4,) float32, expected (8,) float32" in str(
        e.value
    )
    deeper = jaxnn.MLP((2, 4, 4, 1)).init(key)
    with pytest.raises(
        ValueError, match=r"saved a list of 2 .* expected \(like\) a list of 3"
    ) as e:
        load(where, like=deeper)
    assert "PyTreeDef([{'b': *, 'w': *}, {'b': *, 'w': *}])" in str(e.value)  # both treedefs
    with pytest.raises(ValueError, match=r"tree\[0\]\['w'\]: saved \(2, 4\) float32, expected"):
        load(where, like=[{"b": jnp.zeros(4), "w": jnp.zeros((2, 4), jnp.bfloat16)}, wider[1]])


def test_a_fit_of_other_epochs_or_other_structure_is_refused_naming_both(result, tmp_path):
    where = save(tmp_path / "fit", result)
    n = len(jax.tree.leaves(result))
    with pytest.raises(ValueError, match=rf"saved a FitResult \({n} leaves\), expected") as e:
        load(where, like=fit(10))
    assert "tree.history.train_loss: saved (5,) float32, expected (10,) float32" in str(e.value)
    with pytest.raises(ValueError, match=r"saved a FitResult .* expected \(like\) a list of 2"):
        load(where, like=result.params)
    renamed = {**result._asdict(), "params": result.params}  # a dict, not a FitResult
    with pytest.raises(ValueError, match=r"the root\): saved a FitResult, expected a dict"):
        load(where, like=renamed)


# --- existing, missing and damaged paths ---------------------------------------------


def test_an_existing_save_is_kept_without_overwrite(key, tmp_path):
    first, second = MODEL.init(key), MODEL.init(jax.random.fold_in(key, 1))
    where = save(tmp_path / "net", first)
    with pytest.raises(ValueError, match=r"path=.*net.* already holds a save.*overwrite=True"):
        save(where, second)
    assert_bitwise(load(where), first)


def test_overwrite_replaces_a_save(key, result, tmp_path):
    params = MODEL.init(key)
    where = save(tmp_path / "net", params)
    assert save(where, result, overwrite=True) == where
    assert_bitwise(load(where), result)
    assert listing(tmp_path) == ["net"]  # the old save and the temporary one are gone


def test_a_failed_save_leaves_the_old_one(key, tmp_path, monkeypatch):
    params = MODEL.init(key)
    where = save(tmp_path / "net", params)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", broken)
    with pytest.raises(OSError, match="disk full"):
        save(where, {"other": jnp.ones(3)}, overwrite=True)
    monkeypatch.undo()
    assert listing(tmp_path) == ["net"]
    assert_bitwise(load(where), params)


def test_what_is_not_a_save_is_never_replaced(key, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    (tmp_path / "file").write_text("keep me too")
    for path in (tmp_path / "mine", tmp_path / "file"):
        with pytest.raises(ValueError, match=r"path=.* is not a jaxnn save.*never replaced"):
            save(path, MODEL.init(key), overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert (tmp_path / "file").read_text() == "keep me too"


def test_a_missing_path_or_not_a_save_is_an_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"path=.*missing.* does not exist"):
        load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("")
    for path in (tmp_path / "empty", tmp_path / "file"):
        with pytest.raises(ValueError, match=rf"path='{path}' is not a jaxnn save"):
            load(path)
    with pytest.raises(TypeError, match="path must be a path"):
        load(3)


def test_a_damaged_save_is_an_error_naming_it(key, tmp_path):
    where = save(tmp_path / "net", MODEL.init(key))
    meta_file = os.path.join(where, "jaxnn_save.json")
    meta = json.loads(Path(meta_file).read_text())
    with open(meta_file, "w") as f:
        json.dump({**meta, "format": "other"}, f)
    with pytest.raises(ValueError, match=r"path=.* is not a jaxnn save of format"):
        load(where)
    with open(meta_file, "w") as f:
        json.dump({**meta, "leaves": meta["leaves"][:-1]}, f)  # fewer leaves than the tree
    with pytest.raises(ValueError, match=r"path=.* has a damaged jaxnn_save.json"):
        load(where)
    with open(meta_file, "w") as f:
        f.write("{")
    with pytest.raises(ValueError, match=r"path=.* has an unreadable jaxnn_save.json"):
        load(where)
    with open(meta_file, "w") as f:
        json.dump(meta, f)
    shutil.rmtree(os.path.join(where, "arrays"))
    with pytest.raises(ValueError, match=r"path=.*net.* is corrupt or truncated"):
        load(where)


def test_bad_trees_are_refused_before_anything_is_written(tmp_path):
    with pytest.raises(TypeError, match=r"save: tree\['names'\]\[1\] must be an array of numbers"):
        save(tmp_path / "bad", {"names": [1.0, "b"]})
    with pytest.raises(TypeError, match=r"save: tree\['w'\] is a traced value"):
        jax.jit(lambda w: save(tmp_path / "traced", {"w": w}))(jnp.ones(2))
    with pytest.raises(TypeError, match="overwrite must be True or False"):
        save(tmp_path / "flag", {}, overwrite="yes")
    assert listing(tmp_path) == []

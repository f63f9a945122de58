"""Checkpoints of a fit's whole state with orbax (jaxnn.checkpoint).

A checkpoint restores bitwise; one written by another fit, a corrupt or truncated
one is a CheckpointError naming the directory (never a crash inside orbax, never
wrong values); an unfinished save leaves the previous checkpoint readable.
"""

import os
import shutil
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_bitwise, count_compiles

import jaxnn
from jaxnn.checkpoint import CheckpointError, restore_latest, save_state

training = sys.modules["jaxnn.training"]

TAG = {"fit": "test"}

# The same setup (model, config, shapes) as test_training's DROP: one compiled program.
MODEL = jaxnn.MLP((2, 16, 16, 1))
CONFIG = jaxnn.FitConfig(epochs=12, learning_rate=0.03, momentum=0.9, dropout=0.2, batch_size=16)


def noisy_labels(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.float32)
    return x, y


TRAIN, VAL = noisy_labels(20, 50), noisy_labels(21, 100)


def fit(key, config=CONFIG, **kwargs):
    return jaxnn.fit(key, MODEL, TRAIN, VAL, config, **kwargs)


@pytest.fixture(scope="module")
def state():
    return fit(jax.random.key(0)).state


def test_save_and_restore_is_bitwise(state, tmp_path):
    directory = str(tmp_path / "ckpt")
    save_state(directory, state, TAG)
    assert os.listdir(directory) == [str(int(state.epoch))]
    assert_bitwise(restore_latest(directory, state, TAG), state)
    abstract = jax.eval_shape(lambda: state)  # what fit passes
    assert_bitwise(restore_latest(directory, abstract, TAG), state)
    save_state(directory, state, TAG)  # the same step again: nothing to do


def test_a_fit_keeps_the_two_newest_checkpoints_and_resumes_the_newest(tmp_path, monkeypatch):
    directory = str(tmp_path / "ckpt")
    res = fit(jax.random.key(1), chunk_epochs=4, checkpoint_dir=directory)
    assert sorted(os.listdir(directory)) == ["12", "8"]

    def must_not_run(*args, **kwargs):
        raise AssertionError("the fit was complete: nothing to run")

    monkeypatch.setattr(training, "_run_jit", must_not_run)
    again = fit(jax.random.key(1), chunk_epochs=4, checkpoint_dir=directory)
    assert_bitwise(again, res)


def test_no_directory_or_an_empty_one_has_no_checkpoint(state, tmp_path):
    assert restore_latest(str(tmp_path / "missing"), state, TAG) is None
    assert restore_latest(str(tmp_path), state, TAG) is None


def test_a_checkpoint_of_another_fit_is_refused(state, tmp_path):
    directory = str(tmp_path / "ckpt")
    save_state(directory, state, TAG)
    with pytest.raises(CheckpointError, match=str(tmp_path)):
        restore_latest(directory, state, {"fit": "another"})
    other_model = jax.eval_shape(
        lambda: training.init_state(
            jax.random.key(0),
            jaxnn.MLP((2, 8, 1)),
            CONFIG,
            training.make_plan(CONFIG, 50, True),
        )
    )
    with pytest.raises(CheckpointError, match=str(tmp_path)):
        restore_latest(directory, other_model, TAG)


@pytest.mark.parametrize(
    "change",
    [
        dict(config=CONFIG.replace(learning_rate=0.1)),
        dict(key=jax.random.key(3)),
        dict(train=(TRAIN[0] + 1, TRAIN[1])),
    ],
    ids=["config", "key", "data"],
)
def test_a_fit_refuses_to_resume_another_fits_checkpoint(tmp_path, change):
    directory = str(tmp_path / "ckpt")
    fit(jax.random.key(2), chunk_epochs=12, checkpoint_dir=directory)
    args = dict(key=jax.random.key(2), config=CONFIG, train=TRAIN) | change
    with count_compiles() as compiles, pytest.raises(CheckpointError, match=directory):
        jaxnn.fit(args["key"], MODEL, args["train"], VAL, args["config"], checkpoint_dir=directory)
    assert compiles.count == 0


def _files(directory):
    return sorted(
        os.path.relpath(os.path.join(root, f), directory)
        for root, _, files in os.walk(directory)
        for f in files
    )


def _damage(path, how):
    with open(path, "rb") as f:
        data = f.read()
    if how == "delete":
        os.remove(path)
        return
    damaged = {
        "garbage": b"\x00not a checkpoint\xff" * 5,
        "truncate": data[: len(data) // 2],
        "flip": data[:-1] + bytes([data[-1] ^ 0xFF]),
    }[how]
    with open(path, "wb") as f:
        f.write(damaged)


# Files without which the newest checkpoint cannot be read: the fingerprint, the
# tree's metadata, the tensorstore manifest and the array data.
ESSENTIAL = ("meta/metadata", "state/_METADATA", "state/manifest.ocdbt", "state/d/")


def _restore_damaged(state, tmp_path, name, how):
    """Save, damage file ``name`` of the step, restore: the state, or the
    CheckpointError's message (which must name the directory)."""
    clean = str(tmp_path / "clean")
    if not os.path.isdir(clean):
        save_state(clean, state, TAG)
    directory = str(tmp_path / how / name.replace("/", "_"))
    shutil.copytree(clean, directory)
    _damage(os.path.join(directory, str(int(state.epoch)), name), how)
    try:
        return restore_latest(directory, state, TAG)
    except CheckpointError as e:
        assert directory in str(e)
        return str(e)


def test_garbage_in_any_file_is_an_error_naming_the_directory_or_harmless(state, tmp_path):
    """Overwrite each file of the newest step in turn: restoring either raises a
    CheckpointError naming the directory or (for files orbax does not need) gives
    the saved state bitwise; never another exception, never other values."""
    save_state(str(tmp_path / "clean"), state, TAG)
    names = _files(str(tmp_path / "clean" / str(int(state.epoch))))
    errors = set()
    for name in names:
        restored = _restore_damaged(state, tmp_path, name, "garbage")
        if isinstance(restored, str):
            errors.add(name)
        else:
            assert_bitwise(restored, state)
    must_fail = {n for n in names if n.startswith(ESSENTIAL)}
    assert len(must_fail) >= 4 and must_fail <= errors


@pytest.mark.parametrize("how", ["truncate", "flip", "delete"])
@pytest.mark.parametrize("kind", ["state/d/", "state/manifest.ocdbt"])
def test_truncated_flipped_or_missing_data_is_an_error(state, tmp_path, how, kind):
    """A partial write, a flipped bit (tensorstore checksums the data) or a lost file."""
    save_state(str(tmp_path / "clean"), state, TAG)
    names = _files(str(tmp_path / "clean" / str(int(state.epoch))))
    name = next(n for n in names if n.startswith(kind))
    message = _restore_damaged(state, tmp_path, name, how)
    assert isinstance(message, str) and "corrupt or truncated" in message


def test_a_fit_with_a_corrupt_checkpoint_is_an_error_not_a_crash(tmp_path):
    directory = str(tmp_path / "ckpt")
    fit(jax.random.key(2), chunk_epochs=12, checkpoint_dir=directory)
    _damage(os.path.join(directory, "12", "meta", "metadata"), "truncate")
    with pytest.raises(CheckpointError, match=directory):
        fit(jax.random.key(2), chunk_epochs=12, checkpoint_dir=directory)


def test_an_unfinished_save_leaves_the_previous_checkpoint_readable(state, tmp_path):
    """orbax writes step s to ``s.orbax-checkpoint-tmp[-<timestamp>]`` and renames it
    when done: a crash mid-save leaves such a directory behind."""
    directory = str(tmp_path / "ckpt")
    save_state(directory, state, TAG)
    done = os.path.join(directory, str(int(state.epoch)))
    for name in ("16.orbax-checkpoint-tmp", "20.orbax-checkpoint-tmp-1700000000"):
        partial = os.path.join(directory, name)
        shutil.copytree(done, partial)
        os.remove(os.path.join(partial, "commit_success.txt"))
        data = next(n for n in _files(partial) if n.startswith("state/d/"))
        _damage(os.path.join(partial, data), "truncate")

    assert_bitwise(restore_latest(directory, state, TAG), state)

    later = state._replace(epoch=jnp.array(16, jnp.int32))  # the save, retried, succeeds
    save_state(directory, later, TAG)
    assert_bitwise(restore_latest(directory, state, TAG), later)

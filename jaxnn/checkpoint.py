"""Checkpoints of a fit's (or a study's) whole state, with orbax-checkpoint.

The state pytree (params, optimiser state, key, epoch, early-stopping state,
history) is saved with orbax's ``StandardSave`` (tensorstore arrays and JSON; no
pickle) next to a JSON fingerprint of what produced it. orbax writes each step to a
temporary directory and renames it when complete, so a crash during a save leaves
the previous checkpoint as it was; the two newest steps are kept. Restoring checks
the fingerprint and every leaf's shape and dtype: a corrupt, truncated or foreign
checkpoint is a :class:`CheckpointError` naming the directory.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

_FORMAT = "jaxnn-state-v1"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be restored (corrupt, truncated or from another fit)."""


def _is_key(x: Any) -> bool:
    return hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _to_storable(tree: Any) -> Any:
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree)


def _host(x: Any) -> np.ndarray:
    """``x`` on the host; gathered first if it is spread over several processes."""
    if getattr(x, "is_fully_addressable", True):
        return np.asarray(x)
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def _fingerprint(like: Any, tag: dict[str, str] | None = None) -> dict[str, Any]:
    leaves, treedef = jax.tree_util.tree_flatten(like)
    return {
        "format": _FORMAT,
        "tag": tag or {},
        "tree": str(treedef),
        "leaves": [[list(x.shape), str(x.dtype)] for x in leaves],
    }


def _as_path(directory: Any, name: str) -> str:
    try:
        return os.fsdecode(os.fspath(directory))
    except TypeError:
        raise TypeError(
            f"{name} must be a path (str or os.PathLike), got {type(directory).__name__} "
            f"{directory!r}."
        ) from None


def check_directory(directory: Any, name: str = "checkpoint_dir") -> str:
    """``directory`` as a path string, created if missing: checked at the boundary of a
    fit or a study, before anything compiles or trains (orbax would only fail at the
    first save, deep in its own code).

    Raises:
      TypeError: naming ``name`` if ``directory`` is not a path (str or os.PathLike).
      ValueError: naming ``name`` if it is an existing file (or lies under one), cannot
        be created, or is not writable.
    """
    path = _as_path(directory, name)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(
            f"{name}={path!r} is an existing file, not a directory; pass a directory "
            "(created if missing) for the checkpoints."
        )
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise ValueError(
            f"{name}={path!r} cannot be created: {e.strerror or e}; pass a directory that "
            "can be written."
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{name}={path!r} is not writable; pass a directory that can be written.")
    return path


def _manager(directory: str, *, read_only: bool = False):
    import orbax.checkpoint as ocp

    options = ocp.CheckpointManagerOptions(
        max_to_keep=None if read_only else 2,
        create=not read_only,
        enable_async_checkpointing=False,
    )
    return ocp.CheckpointManager(os.path.abspath(directory), options=options)


def save_state(directory: str, state: Any, tag: dict[str, str] | None = None) -> None:
    """Save ``state`` under ``directory`` (created if missing) as step ``state.epoch``
    (summed over members).

    The step number is the total number of epochs done, so it grows with every save.
    ``tag`` (strings describing the config, model and data) is stored with it and must
    match on restore, so a checkpoint of one fit is never resumed by another.

    Raises:
      TypeError / ValueError: naming ``directory`` (:func:`check_directory`), or
        ``state`` if it has no ``epoch``.
    """
    import orbax.checkpoint as ocp

    directory = check_directory(directory, "directory")
    if not hasattr(state, "epoch"):
        raise TypeError(
            f"state must be a fit's or a study's state (a FitState, with an epoch field), "
            f"got {type(state).__name__}."
        )
    step = int(np.sum(_host(state.epoch)))
    with _manager(directory) as mngr:
        if step in mngr.all_steps():
            return
        mngr.save(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(_to_storable(state)),
                meta=ocp.args.JsonSave(_fingerprint(state, tag)),
            ),
        )
        mngr.wait_until_finished()


def _is_orbax_leftover(unraisable: Any) -> bool:
    exc, obj = unraisable.exc_value, unraisable.object
    if isinstance(exc, RuntimeError) and str(exc) == "Event loop is closed":
        return True
    code = getattr(obj, "cr_code", None)
    return code is not None and f"{os.sep}orbax{os.sep}" in code.co_filename


def call_orbax(fn: Any, quiet_s: float = 0.05, max_wait_s: float = 2.0) -> tuple[Any, str | None]:
    """``(fn(), None)``, or ``(None, "Type: message")`` if ``fn`` raised.

    When one array read fails, orbax abandons the reads still in flight: they end on
    tensorstore threads with "Event loop is closed", and their coroutines, once
    collected, raise again. Both go to ``sys.unraisablehook``: tracebacks on stderr
    after our :class:`CheckpointError`, and errors under ``pytest -W error``. So
    while ``fn`` runs, and after a failure until none has arrived for ``quiet_s``
    (at most ``max_wait_s``), those are dropped and anything else is passed on. Only
    the exception's message is kept: its traceback would keep the coroutines alive.
    """
    previous = sys.unraisablehook
    last = [0.0]

    def hook(unraisable):
        if _is_orbax_leftover(unraisable):
            last[0] = time.monotonic()
        else:
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        try:
            return fn(), None
        except Exception as e:  # orbax raises many types for bad files
            error = f"{type(e).__name__}: {e}"
        start = last[0] = max(last[0], time.monotonic())
        while time.monotonic() - last[0] < quiet_s and time.monotonic() - start < max_wait_s:
            time.sleep(0.01)
        gc.collect()  # the abandoned coroutines, while the hook still drops their errors
        return None, error
    finally:
        sys.unraisablehook = previous


def latest_tag(directory: str) -> dict[str, str] | None:
    """The ``tag`` the newest checkpoint under ``directory`` was saved with (see
    :func:`save_state`); ``None`` if there is no checkpoint there.

    A fit reads it before restoring, to resume a checkpoint of a shorter fit of its
    own into a longer one (the tag records the number of epochs).

    Raises:
      CheckpointError: naming the directory, if its newest checkpoint is unreadable
        or is not a jaxnn checkpoint.
    """
    directory = _as_path(directory, "directory")
    step, meta = _latest_meta(directory)
    if step is None:
        return None
    tag = meta.get("tag") if isinstance(meta, dict) else None
    if meta.get("format") != _FORMAT or not isinstance(tag, dict):
        raise CheckpointError(
            f"{os.path.abspath(directory)}/{step} is not a jaxnn checkpoint (format {meta!r})."
        )
    return tag


def _latest_meta(directory: str) -> tuple[int | None, Any]:
    """``(step, fingerprint)`` of the newest checkpoint, or ``(None, None)``."""
    import orbax.checkpoint as ocp

    if not os.path.isdir(directory):
        return None, None

    def read_meta():
        with _manager(directory, read_only=True) as mngr:
            step = mngr.latest_step()
            if step is None:
                return None, None
            args = ocp.args.Composite(meta=ocp.args.JsonRestore())
            return step, mngr.restore(step, args=args)["meta"]

    found, error = call_orbax(read_meta)
    if error is not None:
        raise CheckpointError(f"checkpoint in {os.path.abspath(directory)} is unreadable: {error}")
    return found


def restore_latest(directory: str, like: Any, tag: dict[str, str] | None = None) -> Any | None:
    """The newest state saved under ``directory``, shaped like ``like``; ``None`` if
    there is none.

    Args:
      directory: where :func:`save_state` wrote.
      like: a state (or ``jax.eval_shape`` of one) with the expected structure.
      tag: what :func:`save_state` was given.

    Raises:
      TypeError / ValueError: naming ``directory`` if it is not a path, or an
        existing file rather than a directory.
      CheckpointError: naming the directory, if the newest checkpoint is unreadable or
        was written by a different fit (structure, shapes or dtypes differ).
    """
    import orbax.checkpoint as ocp

    directory = _as_path(directory, "directory")
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise ValueError(f"directory={directory!r} is an existing file, not a directory.")
    if not os.path.isdir(directory):
        return None
    path = os.path.abspath(directory)
    step, meta = _latest_meta(directory)
    if step is None:
        return None
    expected = _fingerprint(like, tag)
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise CheckpointError(f"{path}/{step} is not a jaxnn checkpoint (format {meta!r}).")
    if meta != expected:
        raise CheckpointError(
            f"checkpoint {path}/{step} was written by a different fit or study (another "
            "config, model or data, or another state structure); use a fresh directory."
        )
    # keep ``like``'s shardings: orbax then restores each array straight onto them
    # (across processes each process reads only its own shards, whatever the number
    # of processes that wrote the checkpoint)
    abstract = jax.tree.map(
        lambda a, ref: jax.ShapeDtypeStruct(
            a.shape, a.dtype, sharding=getattr(ref, "sharding", None)
        ),
        jax.eval_shape(_to_storable, like),
        like,
    )

    def read_state():
        with _manager(directory, read_only=True) as mngr:
            args = ocp.args.Composite(state=ocp.args.StandardRestore(abstract))
            return mngr.restore(step, args=args)["state"]

    stored, error = call_orbax(read_state)
    if error is not None:
        raise CheckpointError(f"checkpoint {path}/{step} is corrupt or truncated: {error}")
    for got, want in zip(jax.tree.leaves(stored), jax.tree.leaves(abstract), strict=True):
        if got.shape != want.shape or got.dtype != want.dtype:
            raise CheckpointError(
                f"checkpoint {path}/{step} holds a leaf {got.shape} {got.dtype}, "
                f"expected {want.shape} {want.dtype}."
            )
    return jax.tree.map(
        lambda s, ref: (
            jax.random.wrap_key_data(s, impl=getattr(ref.dtype, "_impl", None))
            if _is_key(ref)
            else jnp.asarray(s)
        ),
        stored,
        like,
        is_leaf=lambda x: False,
    )

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

import os
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


def _fingerprint(like: Any, tag: dict[str, str] | None = None) -> dict[str, Any]:
    leaves, treedef = jax.tree_util.tree_flatten(like)
    return {
        "format": _FORMAT,
        "tag": tag or {},
        "tree": str(treedef),
        "leaves": [[list(x.shape), str(x.dtype)] for x in leaves],
    }


def _manager(directory: str, *, read_only: bool = False):
    import orbax.checkpoint as ocp

    options = ocp.CheckpointManagerOptions(
        max_to_keep=2, create=not read_only, enable_async_checkpointing=False, read_only=read_only
    )
    return ocp.CheckpointManager(os.path.abspath(directory), options=options)


def save_state(directory: str, state: Any, tag: dict[str, str] | None = None) -> None:
    """Save ``state`` under ``directory`` as step ``state.epoch`` (summed over members).

    The step number is the total number of epochs done, so it grows with every save.
    ``tag`` (strings describing the config, model and data) is stored with it and must
    match on restore, so a checkpoint of one fit is never resumed by another.
    """
    import orbax.checkpoint as ocp

    step = int(np.sum(np.asarray(state.epoch)))
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


def restore_latest(directory: str, like: Any, tag: dict[str, str] | None = None) -> Any | None:
    """The newest state saved under ``directory``, shaped like ``like``; ``None`` if
    there is none.

    Args:
      directory: where :func:`save_state` wrote.
      like: a state (or ``jax.eval_shape`` of one) with the expected structure.
      tag: what :func:`save_state` was given.

    Raises:
      CheckpointError: naming the directory, if the newest checkpoint is unreadable or
        was written by a different fit (structure, shapes or dtypes differ).
    """
    import orbax.checkpoint as ocp

    if not os.path.isdir(directory):
        return None
    path = os.path.abspath(directory)
    try:
        with _manager(directory, read_only=True) as mngr:
            step = mngr.latest_step()
            if step is None:
                return None
            meta = mngr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
    except Exception as e:  # orbax raises many types for bad files
        raise CheckpointError(f"checkpoint in {path} is unreadable: {type(e).__name__}: {e}") from e
    expected = _fingerprint(like, tag)
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise CheckpointError(f"{path}/{step} is not a jaxnn checkpoint (format {meta!r}).")
    if meta != expected:
        raise CheckpointError(
            f"checkpoint {path}/{step} was written by a different fit or study (another "
            "config, model or data, or another state structure); use a fresh directory."
        )
    abstract = jax.eval_shape(_to_storable, like)
    try:
        with _manager(directory, read_only=True) as mngr:
            stored = mngr.restore(
                step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract))
            )["state"]
    except Exception as e:
        raise CheckpointError(
            f"checkpoint {path}/{step} is corrupt or truncated: {type(e).__name__}: {e}"
        ) from e
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

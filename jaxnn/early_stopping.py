"""Early stopping as a pure state update, for use inside compiled loops (lesson 9).

The state records the best monitored loss, its epoch and params, and how many
epochs have passed without improvement. There is no Python ``break``: the caller
freezes its state once ``stop`` is true, so a ``jax.vmap``-ed batch of fits can stop
each at its own epoch.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxnn import _validation as v
from jaxnn._typing import Array, ArrayLike, Params
from jaxnn._validation import check_numeric, check_scalar


class EarlyStoppingState(NamedTuple):
    """Best monitored loss so far (``inf`` before the first epoch) and where it was."""

    best_loss: Array  # () float32
    best_epoch: Array  # () int32, -1 before the first epoch
    best_params: Params
    bad_epochs: Array  # () int32: epochs since the last improvement


def early_stopping_init(params: Params) -> EarlyStoppingState:
    """The state before any epoch: best loss ``inf``, best params the initial ones."""
    return EarlyStoppingState(
        best_loss=jnp.array(jnp.inf, jnp.float32),
        best_epoch=jnp.array(-1, jnp.int32),
        best_params=params,
        bad_epochs=jnp.array(0, jnp.int32),
    )


def early_stopping_update(
    state: EarlyStoppingState,
    loss: ArrayLike,
    params: Params,
    epoch: ArrayLike,
    *,
    patience: int | None,
    min_delta: ArrayLike = 0.0,
) -> tuple[EarlyStoppingState, Array]:
    """Record epoch ``epoch``'s monitored ``loss``; return the new state and ``stop``.

    The epoch improves if ``loss < best_loss - min_delta``; then its params become
    the best and the count of bad epochs resets, else the count grows by one.
    ``stop`` is ``bad_epochs >= patience`` (never, with ``patience=None``).

    >>> s = early_stopping_init({"w": jnp.zeros(1)})
    >>> for e, loss in enumerate([3.0, 2.0, 2.5, 2.4]):
    ...     s, stop = early_stopping_update(s, loss, {"w": jnp.ones(1) * e}, e, patience=2)
    >>> int(s.best_epoch), bool(stop)
    (1, True)
    """
    _check_update(state, loss, params, epoch, patience, min_delta)
    loss = jnp.asarray(loss, jnp.float32)
    improved = loss < state.best_loss - min_delta
    new = EarlyStoppingState(
        best_loss=jnp.where(improved, loss, state.best_loss),
        best_epoch=jnp.where(improved, jnp.asarray(epoch, jnp.int32), state.best_epoch),
        # a conditional copy (under vmap, a select): no kernel per leaf for one fit
        best_params=jax.lax.cond(improved, lambda: params, lambda: state.best_params),
        bad_epochs=jnp.where(improved, 0, state.bad_epochs + 1).astype(jnp.int32),
    )
    stop = jnp.asarray(False) if patience is None else new.bad_epochs >= patience
    return new, stop


def _check_update(state, loss, params, epoch, patience, min_delta) -> None:
    """The boundary checks of :func:`early_stopping_update` (shapes also under ``jit``)."""
    fn = "early_stopping_update"
    if not isinstance(state, EarlyStoppingState):
        raise TypeError(
            f"{fn}: state must be an EarlyStoppingState (from early_stopping_init), "
            f"got {type(state).__name__}."
        )
    if patience is not None:
        v.check_static_int(f"{fn}: patience", patience, 1)
    check_scalar(f"{fn}: min_delta", min_delta, 0.0)
    check_numeric(f"{fn}: loss", loss)
    if jnp.ndim(loss) != 0:
        raise ValueError(f"{fn}: loss must be a scalar, got shape {jnp.shape(loss)}.")
    check_numeric(f"{fn}: epoch", epoch)
    if jnp.ndim(epoch) != 0:
        raise ValueError(f"{fn}: epoch must be a scalar, got shape {jnp.shape(epoch)}.")
    expected = jax.tree.structure(state.best_params)
    if jax.tree.structure(params) != expected:
        raise ValueError(
            f"{fn}: params must have the structure of state.best_params, {expected}; "
            f"got {jax.tree.structure(params)}."
        )
    for new, old in zip(jax.tree.leaves(params), jax.tree.leaves(state.best_params), strict=True):
        if jnp.shape(new) != jnp.shape(old):
            raise ValueError(
                f"{fn}: params leaves must keep the shapes of state.best_params; got "
                f"{jnp.shape(new)} where the state holds {jnp.shape(old)}."
            )

"""Learning-rate decay schedules whose every number may be traced (lesson 15).

Each function returns an optax ``Schedule``: a map from the update count t to a
learning rate. Unlike ``optax.exponential_decay``, which tests ``decay_rate == 0`` in
Python, nothing here branches on a value, so ``init_value`` and ``decay_rate`` may
be ``jax.vmap``-ed (a sweep over decay rates is one compiled program); only
``transition_steps`` and ``staircase`` are structural.

===============  ==========================================  =======================
name             lr(t)                                       optax equivalent
===============  ==========================================  =======================
constant         a                                           ``constant_schedule``
exponential      a * r^(t / T)                               ``exponential_decay``
step             a * r^floor(t / T)                          ``exponential_decay``
                                                             (``staircase=True``)
inverse_time     a / (1 + r * t / T)                         (none)
===============  ==========================================  =======================
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import optax

from jaxnn._typing import ArrayLike
from jaxnn._validation import check_scalar, check_static_int


def _check_init_value(fn: str, init_value: ArrayLike) -> None:
    check_scalar(f"{fn}: init_value", init_value, 0.0, math.inf, low_open=True)


def constant(init_value: ArrayLike) -> optax.Schedule:
    """``lr(t) = init_value``, a scalar > 0 (traceable)."""
    _check_init_value("constant", init_value)
    return lambda count: jnp.asarray(init_value, jnp.float32) * jnp.ones_like(count, jnp.float32)


def exponential_decay(
    init_value: ArrayLike, decay_rate: ArrayLike, transition_steps: int, *, staircase: bool = False
) -> optax.Schedule:
    """``lr(t) = a * r^(t / T)`` (or ``r^floor(t / T)`` with ``staircase``).

    Args:
      init_value: a > 0, the rate at t = 0. Traceable.
      decay_rate: r > 0; r < 1 decays. Traceable.
      transition_steps: T >= 1 updates per factor of r (one epoch's updates is usual).
      staircase: decay in whole steps of T (step decay) instead of smoothly.

    >>> float(exponential_decay(0.1, 0.5, 10)(20))
    0.025
    """
    fn = "step_decay" if staircase else "exponential_decay"
    _check_init_value(fn, init_value)
    check_scalar(f"{fn}: decay_rate", decay_rate, 0.0, math.inf, low_open=True)
    T = check_static_int(f"{fn}: transition_steps", transition_steps, 1)

    def schedule(count):
        p = jnp.asarray(count, jnp.float32) / T
        if staircase:
            p = jnp.floor(p)
        return jnp.asarray(init_value, jnp.float32) * jnp.power(
            jnp.asarray(decay_rate, jnp.float32), p
        )

    return schedule


def step_decay(
    init_value: ArrayLike, decay_rate: ArrayLike, transition_steps: int
) -> optax.Schedule:
    """``lr(t) = a * r^floor(t / T)``: the rate drops by a factor r every T updates.

    ``a > 0`` and ``r > 0`` are traceable; ``T >= 1`` is structural.

    >>> [float(step_decay(1.0, 0.5, 2)(t)) for t in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    return exponential_decay(init_value, decay_rate, transition_steps, staircase=True)


def inverse_time_decay(
    init_value: ArrayLike, decay_rate: ArrayLike, transition_steps: int
) -> optax.Schedule:
    """``lr(t) = a / (1 + r * t / T)``: the classic 1/t decay of stochastic approximation.

    ``a > 0`` and ``r >= 0`` are traceable; ``T >= 1`` is structural.

    >>> float(inverse_time_decay(1.0, 1.0, 10)(10))
    0.5
    """
    _check_init_value("inverse_time_decay", init_value)
    check_scalar("inverse_time_decay: decay_rate", decay_rate, 0.0)
    T = check_static_int("inverse_time_decay: transition_steps", transition_steps, 1)

    def schedule(count):
        t = jnp.asarray(count, jnp.float32)
        r = jnp.asarray(decay_rate, jnp.float32)
        return jnp.asarray(init_value, jnp.float32) / (1 + r * t / T)

    return schedule


SCHEDULES = ("constant", "exponential", "step", "inverse_time")
"""Names accepted by :func:`schedule`."""


def schedule(
    name: str, init_value: ArrayLike, decay_rate: ArrayLike = 1.0, transition_steps: int = 1
) -> optax.Schedule:
    """The schedule called ``name`` (one of :data:`SCHEDULES`), by name.

    Raises:
      ValueError: for an unknown name, listing the valid ones.
    """
    if name == "constant":
        return constant(init_value)
    if name == "exponential":
        return exponential_decay(init_value, decay_rate, transition_steps)
    if name == "step":
        return step_decay(init_value, decay_rate, transition_steps)
    if name == "inverse_time":
        return inverse_time_decay(init_value, decay_rate, transition_steps)
    raise ValueError(f"unknown learning-rate decay {name!r}; expected one of {list(SCHEDULES)}.")

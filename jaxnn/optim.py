"""Optimisers as optax ``GradientTransformation``s (lessons 6, 15 and 16).

jaxnn builds on optax rather than beside it: every optimiser here is an optax
transformation, and any other optax optimiser can be passed to :func:`jaxnn.fit`.

Heavy-ball momentum is the course's ``step(n) <- step(n) + beta step(n-1) + beta^2
step(n-2) + ...``: with ``v_n = g_n + beta v_{n-1}`` (``optax.trace``) the update is
``-lr v_n = -lr (g_n + beta g_{n-1} + beta^2 g_{n-2} + ...)``, the course's sum of
past steps when the learning rate is constant. Under a decaying schedule the whole
accumulated velocity is scaled by the *current* rate (optax's convention).

L2 in the objective versus decoupled weight decay: adding ``l2 * sum w^2`` to the
loss adds ``2 l2 w`` to the gradient, which then passes through momentum (and, for
adaptive optimisers such as Adam, through the per-parameter scaling). Decoupled
weight decay (``optax.add_decayed_weights``, AdamW) shrinks ``w`` directly at each
step, outside the optimiser's statistics. For plain gradient descent the two
coincide (``weight_decay = 2 l2``); with momentum or Adam they differ, and the
course's regularised objective is the former, which is what jaxnn's ``l2`` means.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

import jax
import optax

from jaxnn._typing import ArrayLike
from jaxnn._validation import check_scalar


def check_learning_rate(name: str, learning_rate: ArrayLike | optax.Schedule) -> None:
    """A schedule (any callable), or a scalar > 0 checked by :func:`check_scalar`."""
    if not callable(learning_rate):
        check_scalar(name, learning_rate, 0.0, math.inf, low_open=True)


def gradient_descent(learning_rate: ArrayLike | optax.Schedule) -> optax.GradientTransformation:
    """Plain gradient descent, ``w <- w - lr * g`` (``optax.sgd`` without momentum).

    ``learning_rate`` is a scalar > 0 (traceable) or an optax schedule.
    """
    check_learning_rate("gradient_descent: learning_rate", learning_rate)
    return optax.scale_by_learning_rate(learning_rate)


def heavy_ball(
    learning_rate: ArrayLike | optax.Schedule, beta: ArrayLike
) -> optax.GradientTransformation:
    """Heavy-ball momentum: ``v <- g + beta v``, ``w <- w - lr v``.

    ``beta`` in [0, 1) may be traced (swept with ``jax.vmap``); ``beta = 0`` is plain
    gradient descent. Same as ``optax.sgd(learning_rate, momentum=beta)``.
    """
    check_learning_rate("heavy_ball: learning_rate", learning_rate)
    check_scalar("heavy_ball: beta", beta, 0.0, 1.0, high_open=True)
    return optax.chain(optax.trace(decay=beta), optax.scale_by_learning_rate(learning_rate))


def is_factory(optimizer: Any) -> bool:
    """Whether ``optimizer`` is an optax optimizer *factory* (``optax.adam``, ``optax.sgd``,
    any callable that builds a ``GradientTransformation`` from a ``learning_rate``)
    rather than a built transformation (``optax.adam(1e-2)``)."""
    return callable(optimizer) and not isinstance(optimizer, optax.GradientTransformation)


def factory_hyperparams(factory: Callable[..., Any]) -> tuple[str, ...]:
    """The names a factory's numeric hyperparameters may take in
    ``FitConfig.hyperparams``: its parameters whose default is a float (``b1``,
    ``eps``, ``weight_decay``), other than ``learning_rate`` and ``momentum`` (the
    config's own fields, see :func:`takes_momentum`). Integer arguments (sizes,
    counts), bools, dtypes and masks are structure: they keep their defaults (set
    them with ``functools.partial(factory, ...)``, built once)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return ()
    names = []
    for name, p in params.items():
        if name in ("learning_rate", "momentum") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if isinstance(p.default, float):  # ints (sizes, counts), bools, dtypes: structure
            names.append(name)
    return tuple(names)


HYPERPARAM_RANGES = {  # name: (low, high, high end open), for the common optax names
    "b1": (0.0, 1.0, True),
    "b2": (0.0, 1.0, True),
    "decay": (0.0, 1.0, True),
    "eps": (0.0, math.inf, False),
    "eps_root": (0.0, math.inf, False),
    "weight_decay": (0.0, math.inf, False),
    "initial_accumulator_value": (0.0, math.inf, False),
}
"""Ranges checked for hyperparameters of these names (optax's meanings: decay rates
of moving averages in [0, 1), non-negative epsilons and weight decay)."""


def check_hyperparam_ranges(hyperparams: Mapping[str, Any], caller: str) -> None:
    """Each hyperparameter named in :data:`HYPERPARAM_RANGES` is a scalar in its range
    (:func:`jaxnn._validation.check_scalar`).

    Raises:
      ValueError: naming the hyperparameter, its range and the value.
    """
    for name, value in hyperparams.items():
        if name in HYPERPARAM_RANGES:
            lo, hi, high_open = HYPERPARAM_RANGES[name]
            label = f"{caller}: FitConfig.hyperparams[{name!r}]"
            check_scalar(label, value, lo, hi, high_open=high_open)


def takes_momentum(factory: Callable[..., Any]) -> bool:
    """Whether ``factory`` has a ``momentum`` parameter (``optax.sgd``,
    ``optax.rmsprop``, ...): ``FitConfig.momentum`` is then passed as it."""
    try:
        return "momentum" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


def check_optimizer(optimizer: Any, caller: str) -> None:
    """``optimizer`` is ``None``, a ``GradientTransformation`` or a factory that takes
    a ``learning_rate``.

    Raises:
      TypeError: naming ``optimizer`` and what was expected.
    """
    if optimizer is None or isinstance(optimizer, optax.GradientTransformation):
        return
    if not callable(optimizer):
        raise TypeError(
            f"{caller}: optimizer must be None (the config's heavy-ball momentum), an optax "
            "optimizer factory such as optax.adam (its hyperparameters then come from "
            "the config), or a built optax GradientTransformation; got "
            f"{type(optimizer).__name__} {optimizer!r}."
        )
    try:
        params = inspect.signature(optimizer).parameters
    except (TypeError, ValueError):
        return
    if "learning_rate" not in params:
        raise TypeError(
            f"{caller}: optimizer={optimizer!r} is a callable without a learning_rate "
            "parameter; pass an optax factory such as optax.adam (it takes learning_rate), "
            "or a built GradientTransformation."
        )


def inject(
    factory: Callable[..., optax.GradientTransformation],
    learning_rate: optax.Schedule,
    hyperparams: Mapping[str, ArrayLike],
) -> optax.GradientTransformation:
    """``factory`` with its learning rate and numeric hyperparameters fed as data.

    ``optax.inject_hyperparams(factory)(learning_rate=schedule, **hyperparams)``, each
    hyperparameter given as a constant schedule, so its value is read from
    ``hyperparams`` (traced: one per member of a vmapped study) at every update,
    never frozen into the optimiser state at init; the state's ``hyperparams``
    record the values last used. A continued fit therefore uses the config it is
    given.
    """
    constant = lambda value: lambda count: value
    # every other argument keeps its Python default: inject_hyperparams would turn an
    # int default (optax.adafactor's min_dim_size_to_factor) into a traced array
    try:
        others = set(inspect.signature(factory).parameters) - {"learning_rate", *hyperparams}
    except (TypeError, ValueError):
        others = set()
    inner = optax.inject_hyperparams(factory, static_args=tuple(sorted(others)))(
        learning_rate=learning_rate, **{k: constant(v) for k, v in hyperparams.items()}
    )

    # optax writes e.g. Adam's ``b1 ** count`` for Python-float hyperparameters; fed
    # as float32 arrays they need JAX's standard promotion (int32 count to float32),
    # whatever the caller's ``jax_numpy_dtype_promotion``
    def init(params):
        with jax.numpy_dtype_promotion("standard"):
            return inner.init(params)

    def update(updates, state, params=None, **extra):
        with jax.numpy_dtype_promotion("standard"):
            return inner.update(updates, state, params, **extra)

    return optax.GradientTransformationExtraArgs(init, update)

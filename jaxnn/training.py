"""The training engine: a whole fit as one compiled program (lessons 6, 9, 14-16).

A fit is a pure function of a PRNG key, a model, data and a :class:`FitConfig`.
Epochs run in a bounded ``lax.while_loop`` and mini-batches in an inner
``lax.scan``; early stopping and divergence freeze the state instead of breaking
out, so ``jax.vmap`` over keys or configs trains many fits at once, each stopping
at its own epoch, and the loop ends as soon as every member has stopped.

Randomness, all derived from the fit's ``key`` with ``fold_in``:
  * init: ``fold_in(key, 0)``; training root ``r = fold_in(key, 1)``;
  * epoch e: ``k_e = fold_in(r, e)``; its data order ``fold_in(k_e, 0)``;
  * dropout in the s-th update of epoch e: ``fold_in(fold_in(k_e, 1), s)``.
So a fit is a deterministic function of its key, whether it runs straight through,
in chunks (progress bars, checkpoints) or as one member of a vmapped study.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn import _validation as v
from jaxnn._typing import Array, ArrayLike, Params, PRNGKey
from jaxnn._validation import check_key
from jaxnn.early_stopping import EarlyStoppingState, early_stopping_init, early_stopping_update
from jaxnn.models import as_model
from jaxnn.objective import LOSSES, evaluate, objective_and_metrics
from jaxnn.optim import (
    check_hyperparam_ranges,
    check_optimizer,
    factory_hyperparams,
    gradient_descent,
    heavy_ball,
    inject,
    is_factory,
    takes_momentum,
)
from jaxnn.progress import Pacer
from jaxnn.proximal import l1_proximal
from jaxnn.resume import (
    check_params,
    check_state,
    host_state,
    keys_as_data,
    resize_history,
)
from jaxnn.schedules import SCHEDULES, schedule

NUMERIC_FIELDS = (
    "learning_rate",
    "momentum",
    "decay_rate",
    "l1",
    "l2",
    "dropout",
    "min_delta",
)
"""The :class:`FitConfig` fields that are pytree leaves: traceable, so ``jax.vmap``-able."""

STATIC_FIELDS = (
    "loss",
    "epochs",
    "batch_size",
    "patience",
    "decay",
    "decay_epochs",
    "l1_mode",
    "train_metrics",
)
"""The structural :class:`FitConfig` fields: part of the compiled program's shape."""

TRAIN_METRICS = ("running", "end_of_epoch")
"""How the history's training loss and accuracy are measured (see :class:`History`)."""


class Hyperparams(Mapping):
    """An immutable ``{name: value}`` mapping (``FitConfig.hyperparams``): a frozen
    config cannot be changed after its checks, and hashes like its values."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] = ()):
        object.__setattr__(self, "_data", dict(data))

    def __getitem__(self, name: str) -> Any:
        return self._data[name]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._data.items())))

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Mapping) and self._data == dict(other)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            "FitConfig.hyperparams is immutable; use config.replace(hyperparams=...)"
        )

    def __repr__(self) -> str:
        return repr(self._data)


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """What to fit and how. Numeric fields are pytree leaves; the rest is structure.

    A config is checked when it is built (``FitConfig(...)``, :meth:`replace`): every
    structural field, and every numeric field given as a concrete scalar, so
    ``FitConfig(loss="binery")`` or ``FitConfig(dropout=1.0)`` is an error at once.
    Numeric fields may also hold traced values or arrays (a stacked config of M
    values, shape (M,), for ``jax.vmap``); those are checked by :meth:`validate`
    and, since a fit takes scalars, refused by :func:`fit` (vary them with
    :func:`jaxnn.sweep`). Configs that JAX rebuilds from leaves (``jax.tree.map``,
    ``vmap``, ``jit``) are not checked again.

    Objective: ``mean CE + l1 * sum|w| + l2 * sum w^2`` (weights only, the course's
    formulas). Optimiser, unless :func:`fit` is given another optax one: heavy-ball
    momentum (``momentum = 0`` is plain gradient descent) with the learning rate
    ``lr(t)`` of the ``decay`` schedule, t counting updates and
    ``T = decay_epochs * updates_per_epoch``:

    * ``"constant"``: ``lr``;
    * ``"exponential"``: ``lr * decay_rate^(t / T)``;
    * ``"step"``: ``lr * decay_rate^floor(t / T)`` (e.g. x0.95 once per epoch);
    * ``"inverse_time"``: ``lr / (1 + decay_rate * t / T)``.

    Attributes:
      learning_rate: lr > 0.
      momentum: beta in [0, 1).
      decay_rate: r of the decay schedule (ignored by ``"constant"``).
      l1: L1 strength >= 0; a penalty term, or a proximal step (``l1_mode``).
      l2: L2 strength >= 0. This is the course's penalty in the objective, not
        decoupled weight decay (see :mod:`jaxnn.optim`).
      dropout: drop rate in [0, 1) for hidden units during training.
      min_delta: an epoch improves on the best validation loss only by more than this.
      loss: ``"binary"`` (one logit per example, labels 0/1) or ``"multiclass"``
        (k logits, integer labels in [0, k)).
      epochs: the most epochs to run, >= 1.
      batch_size: examples per update; ``None`` (or >= n) is full batch, 1 is
        single-example (stochastic) descent. The order is reshuffled every epoch; a
        last partial batch is kept and averaged over its real examples.
      patience: stop after this many epochs without a better validation loss
        (needs validation data); ``None`` never stops early.
      decay: one of ``"constant"``, ``"exponential"``, ``"step"``, ``"inverse_time"``.
      decay_epochs: epochs per factor of ``decay_rate`` (T above, in epochs).
      l1_mode: ``"penalty"`` (in the objective) or ``"proximal"`` (soft-threshold
        after each update, so weights reach exactly zero; see :mod:`jaxnn.proximal`).
      train_metrics: how the history's training loss and accuracy are measured:
        ``"running"`` (free: from the updates' own forward passes) or
        ``"end_of_epoch"`` (exact: one more pass over the training set per epoch);
        see :class:`History`. Monitored for early stopping and ``best_params``
        when there is no validation data.
      hyperparams: numeric arguments of an optax optimizer *factory* passed to
        :func:`fit` as ``optimizer`` (e.g. ``optimizer=optax.adamw`` with
        ``{"b1": 0.8, "weight_decay": 1e-3}``), fed as data at every update, so a
        :func:`jaxnn.sweep` can vary them by name (their values are data, their
        names structure: another set of names compiles anew). With a factory,
        ``learning_rate`` and the decay schedule are its learning rate, and
        ``momentum`` its ``momentum`` argument (``optax.sgd``); a field the
        optimizer would not use is an error (:func:`check_optimizer_config`).
    """

    learning_rate: ArrayLike = 0.1
    momentum: ArrayLike = 0.0
    decay_rate: ArrayLike = 1.0
    l1: ArrayLike = 0.0
    l2: ArrayLike = 0.0
    dropout: ArrayLike = 0.0
    min_delta: ArrayLike = 0.0
    loss: str = "binary"
    epochs: int = 100
    batch_size: int | None = None
    patience: int | None = None
    decay: str = "constant"
    decay_epochs: int = 1
    l1_mode: str = "penalty"
    train_metrics: str = "running"
    hyperparams: Mapping[str, ArrayLike] = dataclasses.field(default_factory=Hyperparams)

    def replace(self, **changes: Any) -> FitConfig:
        """A copy with ``changes`` applied; the changed fields are checked as when a
        config is built (the others are not checked again, so a config that JAX
        rebuilt from leaves, gradients say, can be changed too). An ``in_axes`` spec
        is built with ``jax.tree.map`` (``0`` is an axis there, not a learning rate).

        Raises:
          TypeError: for a name that is not a field.
          ValueError / TypeError: for a bad value, naming the field.
        """
        fields = (*NUMERIC_FIELDS, *STATIC_FIELDS, "hyperparams")
        unknown = sorted(set(changes) - set(fields))
        if unknown:
            raise TypeError(f"FitConfig.replace: unknown fields {unknown}; fields: {fields}.")
        hyperparams = self.hyperparams
        if "hyperparams" in changes:
            hyperparams = _check_hyperparams(changes["hyperparams"], concrete_only=True)
        config = _unflatten(
            tuple(changes.get(f, getattr(self, f)) for f in STATIC_FIELDS),
            [*(changes.get(f, getattr(self, f)) for f in NUMERIC_FIELDS), hyperparams],
        )
        if any(name in STATIC_FIELDS for name in changes):
            config._check_static()
        for name in NUMERIC_FIELDS:
            if name in changes and _is_concrete_scalar(changes[name]):
                _check_numeric(name, changes[name])
        return config

    def __post_init__(self):
        """Check the structural fields and the numeric fields that are concrete scalars.

        Raises:
          ValueError / TypeError: naming the field and what was expected.
        """
        self._check_static()
        for name in NUMERIC_FIELDS:
            value = getattr(self, name)
            if _is_concrete_scalar(value):
                _check_numeric(name, value)
        object.__setattr__(
            self, "hyperparams", _check_hyperparams(self.hyperparams, concrete_only=True)
        )

    def validate(self) -> FitConfig:
        """Check every field (numeric ones when concrete, every element of an array);
        return ``self``.

        Raises:
          ValueError / TypeError: naming the field and what was expected.
        """
        self._check_static()
        for name in NUMERIC_FIELDS:
            _check_numeric(name, getattr(self, name))
        _check_hyperparams(self.hyperparams, concrete_only=False)
        return self

    def _check_static(self) -> None:
        for name, allowed in (
            ("loss", list(LOSSES)),
            ("decay", list(SCHEDULES)),
            ("l1_mode", ["penalty", "proximal"]),
            ("train_metrics", list(TRAIN_METRICS)),
        ):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in allowed:
                raise ValueError(f"FitConfig.{name} must be one of {allowed}, got {value!r}.")
        v.check_static_int("FitConfig.epochs", self.epochs, 1)
        v.check_static_int("FitConfig.decay_epochs", self.decay_epochs, 1)
        if self.batch_size is not None:
            v.check_static_int("FitConfig.batch_size", self.batch_size, 1)
        if self.patience is not None:
            v.check_static_int("FitConfig.patience", self.patience, 1)


def _flatten(config: FitConfig) -> tuple[list[Any], tuple[Any, ...]]:
    children = [*(getattr(config, f) for f in NUMERIC_FIELDS), dict(config.hyperparams)]
    return children, tuple(getattr(config, f) for f in STATIC_FIELDS)


def _flatten_with_keys(config: FitConfig) -> tuple[list[Any], tuple[Any, ...]]:
    leaves, meta = _flatten(config)
    keys = [jax.tree_util.GetAttrKey(f) for f in (*NUMERIC_FIELDS, "hyperparams")]
    return list(zip(keys, leaves, strict=True)), meta


def _unflatten(meta: tuple[Any, ...], leaves: Any) -> FitConfig:
    """A config from its leaves, without ``__init__``: JAX rebuilds configs whose
    leaves are tracers, stacked arrays, ``ShapeDtypeStruct``s, ``None``, gradients or
    ``in_axes`` specs, none of which are checked values of a config."""
    config = object.__new__(FitConfig)
    for name, value in zip(STATIC_FIELDS, meta, strict=True):
        object.__setattr__(config, name, value)
    *numeric, hyperparams = leaves
    for name, value in zip(NUMERIC_FIELDS, numeric, strict=True):
        object.__setattr__(config, name, value)
    if isinstance(hyperparams, Mapping):
        hyperparams = Hyperparams(hyperparams)
    object.__setattr__(config, "hyperparams", hyperparams)
    return config


jax.tree_util.register_pytree_with_keys(FitConfig, _flatten_with_keys, _unflatten, _flatten)

_RANGES = {  # field: (low, high, low end open)
    "learning_rate": (0, math.inf, True),
    "momentum": (0, 1, False),
    "decay_rate": (0, math.inf, True),
    "l1": (0, math.inf, False),
    "l2": (0, math.inf, False),
    "dropout": (0, 1, False),
    "min_delta": (0, math.inf, False),
}


def _check_numeric(name: str, value: Any) -> None:
    lo, hi, low_open = _RANGES[name]
    _check_range(name, value, lo, hi, low_open=low_open)


def _check_hyperparams(hyperparams: Any, *, concrete_only: bool) -> Hyperparams:
    """``FitConfig.hyperparams`` as a dict of finite real values (checked when
    concrete: scalars only, or, with ``concrete_only=False``, every element of an
    array as well)."""
    if not isinstance(hyperparams, Mapping):
        raise TypeError(
            "FitConfig.hyperparams must be a mapping {name: number} of the optax optimizer "
            f"factory's hyperparameters, e.g. {{'b1': 0.9}}; got {type(hyperparams).__name__}."
        )
    out = {}
    for name, value in hyperparams.items():
        if not isinstance(name, str):
            raise TypeError(f"FitConfig.hyperparams: names must be strings, got {name!r}.")
        if name in (*NUMERIC_FIELDS, *STATIC_FIELDS):
            raise ValueError(
                f"FitConfig.hyperparams: {name!r} is a FitConfig field; set FitConfig.{name} "
                "instead: the config's learning rate and schedule drive an optax factory's "
                "learning_rate, and FitConfig.momentum its momentum argument when it has one "
                "(optax.sgd; Adam's momentum is hyperparams={'b1': ...})."
            )
        if concrete_only and not _is_concrete_scalar(value):
            out[name] = value
            continue
        val = v.concrete(value)
        if val is not None:
            if (
                val.dtype == np.bool_
                or not np.issubdtype(val.dtype, np.number)
                or np.issubdtype(val.dtype, np.complexfloating)
            ):
                raise TypeError(
                    f"FitConfig.hyperparams[{name!r}] must be a real number, got {value!r}."
                )
            if not np.all(np.isfinite(val)):
                raise ValueError(f"FitConfig.hyperparams[{name!r}] must be finite, got {value!r}.")
        out[name] = value
    return Hyperparams(out)


def _is_concrete_scalar(value: Any) -> bool:
    """Whether ``value`` is a number (or string) known now, with no array axes: what a
    config checks when it is built. Tracers, arrays, lists, ``None`` and other
    objects are left to :meth:`FitConfig.validate` and :func:`check_scalar_config`."""
    if isinstance(value, str | int | float | np.generic):
        return True
    if isinstance(value, jax.core.Tracer):
        return False
    if isinstance(value, jax.Array):
        return value.ndim == 0 and value.is_fully_addressable
    return isinstance(value, np.ndarray) and value.ndim == 0


def check_scalar_config(config: Any, caller: str, name: str = "config") -> FitConfig:
    """``config`` (``None``: the default :class:`FitConfig`), checked for a single fit
    or a study of one config: a ``FitConfig`` whose numeric fields are scalars, each
    in its range.

    Lists and arrays are refused here, before :func:`as_float32` would turn a list
    into an array that fails deep inside the compiled fit.

    Raises:
      TypeError: if ``config`` is not a ``FitConfig``.
      ValueError: naming the field that holds a list or an array (with shape), and
        pointing at :func:`jaxnn.sweep`, which varies numeric fields.
    """
    if config is None:
        return FitConfig()
    if not isinstance(config, FitConfig):
        raise TypeError(
            f"{caller}: {name} must be a jaxnn.FitConfig (a config), got "
            f"{type(config).__name__} {config!r}."
        )
    named = [(f"FitConfig.{f}", f, getattr(config, f)) for f in NUMERIC_FIELDS]
    named += [(f"FitConfig.hyperparams[{k!r}]", k, x) for k, x in config.hyperparams.items()]
    for label, field, value in named:
        if isinstance(value, list | tuple):
            got = f"a {type(value).__name__} of {len(value)} values"
        elif np.ndim(value) != 0:
            got = f"an array of shape {np.shape(value)}"
        else:
            continue
        raise ValueError(
            f"{caller}: {label} must be a scalar, got {got} ({value!r}); "
            f"{caller} takes one value per field. To train several values at once, use "
            f"jaxnn.sweep(key, model, train, val, base, grid={{{field!r}: [...]}})."
        )
    return config.validate()


def check_optimizer_config(config: FitConfig, optimizer: Any, caller: str) -> None:
    """Refuse a config field that ``optimizer`` would not use, naming it.

    * ``None`` (jaxnn's heavy ball): ``hyperparams`` must be empty.
    * an optax factory (``optax.adam``): the config's ``learning_rate`` and decay
      schedule are its learning rate, ``momentum`` its ``momentum`` argument if it
      has one (``optax.sgd``, ``optax.rmsprop``; else ``momentum`` must be 0: Adam's
      is ``b1``), and ``hyperparams`` its other numeric arguments (each a parameter
      of the factory).
    * a built transformation (``optax.adam(1e-2)``): its numbers are fixed, so
      ``momentum`` must be 0, ``decay`` ``"constant"``, ``hyperparams`` empty and
      ``learning_rate`` left at its default unless it sets an L1 proximal step's
      threshold (``l1_mode="proximal"``).

    Raises:
      TypeError: for an ``optimizer`` that is none of these (:func:`check_optimizer`).
      ValueError: naming the field, what the optimizer does instead, and the fix.
    """
    check_optimizer(optimizer, caller)
    nonzero = lambda a: bool(np.any(np.asarray(a) != 0))
    hp = dict(config.hyperparams)
    if optimizer is None:
        if hp:
            raise ValueError(
                f"{caller}: FitConfig.hyperparams={hp} would be ignored: they are arguments of "
                "an optax optimizer factory passed as optimizer= (e.g. optimizer=optax.adam "
                "with hyperparams={'b1': 0.9}); jaxnn's own optimizer takes learning_rate and "
                "momentum."
            )
        return
    name = getattr(optimizer, "__name__", type(optimizer).__name__)
    if is_factory(optimizer):
        allowed = factory_hyperparams(optimizer)
        if nonzero(config.momentum) and not takes_momentum(optimizer):
            raise ValueError(
                f"{caller}: FitConfig.momentum is jaxnn's heavy-ball momentum, which "
                f"optimizer={name} does not use; give the factory's own momentum in "
                f"FitConfig.hyperparams (its numeric arguments: {list(allowed)})."
            )
        unknown = sorted(set(hp) - set(allowed))
        if unknown:
            raise ValueError(
                f"{caller}: FitConfig.hyperparams {unknown} are not float arguments of "
                f"optimizer={name}; it takes {list(allowed)} (its learning rate is "
                "FitConfig.learning_rate and the decay schedule; integer, bool and other "
                "arguments are structure: functools.partial(factory, ...), built once)."
            )
        check_hyperparam_ranges(hp, caller)
        return
    fixed = (
        "is not used: a built optax transformation passed as optimizer= has its own, fixed "
        "numbers. Pass the factory itself (e.g. optimizer=optax.adam, not optax.adam(1e-2)) "
        "for the config's learning_rate, decay schedule and hyperparams to drive it"
    )
    if nonzero(config.momentum):
        raise ValueError(f"{caller}: FitConfig.momentum {fixed}, or leave momentum at 0.")
    if config.decay != "constant":
        raise ValueError(f"{caller}: FitConfig.decay={config.decay!r} {fixed}.")
    if hp:
        raise ValueError(f"{caller}: FitConfig.hyperparams={hp} {fixed}.")
    proximal = config.l1_mode == "proximal" and nonzero(config.l1)
    default_lr = np.float32(FitConfig.learning_rate)
    if not proximal and np.any(np.asarray(config.learning_rate, np.float32) != default_lr):
        raise ValueError(
            f"{caller}: FitConfig.learning_rate={config.learning_rate!r} {fixed}, or leave "
            "learning_rate at its default."
        )


def as_float32(config: FitConfig) -> FitConfig:
    """``config`` with its numeric fields as float32 NumPy scalars: ``1``, ``1.0`` and
    ``np.float32(1)`` then reach the compiled fit as the same type (a Python int, a
    Python float and a NumPy float are three programs to ``jax.jit``)."""
    return jax.tree.map(lambda a: a if isinstance(a, jax.core.Tracer) else np.float32(a), config)


def _check_range(name, value, lo, hi, *, low_open=False):
    val = v.concrete(value)
    if val is None:
        return
    if not np.issubdtype(val.dtype, np.number) or np.issubdtype(val.dtype, np.complexfloating):
        raise TypeError(f"FitConfig.{name} must be a real number, got {value!r}.")
    bad = ~np.isfinite(val) | (val <= lo if low_open else val < lo) | (val >= hi)
    if np.any(bad):
        lo_b = "(" if low_open else "["
        hi_b = "inf)" if hi == math.inf else f"{hi})"
        raise ValueError(f"FitConfig.{name} must be in {lo_b}{lo}, {hi_b}, got {value!r}.")


class History(NamedTuple):
    """Per-epoch metrics, each of shape (epochs,); NaN for epochs that did not run.

    Losses are mean cross-entropies, without the L1/L2 penalties. What the training
    entries measure depends on ``FitConfig.train_metrics``:

    * ``"running"`` (the default, free): the loss and accuracy the epoch's updates
      computed anyway, each batch's before its update, averaged over the epoch's
      examples (Keras' ``fit`` and PyTorch Lightning's epoch logging report the
      same). With a full batch that is the loss of the params the epoch *started*
      from (``train_loss[e]`` is ``"end_of_epoch"``'s ``train_loss[e - 1]``); with
      mini-batches a mean along the epoch's path; with dropout, of the dropped-out
      networks the updates saw.
    * ``"end_of_epoch"`` (exact, one more forward pass over the training set per
      epoch, about 1.33x the FLOPs of a full-batch epoch): the params at the end of
      the epoch, on the whole set, without dropout.

    ``val_loss`` and ``val_accuracy`` are always the end-of-epoch params on the
    whole validation set, without dropout (NaN without validation data).
    ``learning_rate`` is the rate at the epoch's first update (NaN for an optimiser
    passed to :func:`fit`). The epoch in which a fit diverged is recorded and is the
    last: its loss is NaN or inf where it was measured after the step that
    diverged (end-of-epoch, validation, later mini-batches); a full batch's running
    loss was measured before that step and is finite.
    """

    train_loss: Array
    train_accuracy: Array
    val_loss: Array
    val_accuracy: Array
    learning_rate: Array


class FitState(NamedTuple):
    """Everything a fit carries from epoch to epoch; a pytree, so it can be vmapped,
    checkpointed and resumed."""

    params: Params
    opt_state: optax.OptState
    key: PRNGKey  # the training root, fold_in(fit key, 1)
    epoch: Array  # () int32: epochs done
    early: EarlyStoppingState
    stopped: Array  # () bool: early-stopped or diverged; the state is frozen
    stopped_early: Array  # () bool
    diverged_epoch: Array  # () int32: epoch whose loss or params became non-finite, or -1
    history: History
    monitor: Array  # () int32: what early stopping compares, an index into MONITORED


MONITORED = ("validation loss", "running training loss", "end-of-epoch training loss")
"""What a fit's early stopping (and ``best_params``) monitors, by ``FitState.monitor``."""


def monitored(config: FitConfig, plan: Plan) -> int:
    """The index into :data:`MONITORED` of what a fit of ``config`` monitors: the
    validation loss when there is validation data, else the training loss as
    ``config.train_metrics`` measures it. A continued fit must monitor the same."""
    if plan.has_val:
        return 0
    return 1 if config.train_metrics == "running" else 2


class FitResult(NamedTuple):
    """What :func:`fit` returns; every field gains a leading axis in a vmapped study.

    Attributes:
      params: params after the last epoch run (the last finite ones if it diverged).
      best_params: the params at which the best monitored loss was measured: the
        end-of-epoch params of the epoch with the lowest validation loss; without
        validation data, of the lowest training loss (:class:`History`): the params
        the epoch started from for a full batch's running loss, the end-of-epoch
        params otherwise (for a running mean over mini-batches, as Keras'
        ``ModelCheckpoint(monitor="loss")`` does).
      history: a :class:`History`.
      epochs_run: epochs actually run (< ``config.epochs`` if it stopped).
      best_epoch: index of the epoch whose monitored loss was lowest (-1 if none
        was finite).
      stopped_early: whether early stopping ended the fit.
      diverged_epoch: the epoch at which the loss became NaN or inf, else -1.
      state: the final :class:`FitState`, to continue training.
    """

    params: Params
    best_params: Params
    history: History
    epochs_run: Array
    best_epoch: Array
    stopped_early: Array
    diverged_epoch: Array
    state: FitState

    @property
    def diverged(self) -> Array:
        """Whether the fit stopped because its loss became NaN or inf."""
        return self.diverged_epoch >= 0

    @property
    def run_history(self) -> History:
        """The history of the epochs actually run: NumPy arrays of shape
        (epochs_run,), without the NaN padding of the epochs that did not run (so
        ``result.run_history.train_loss.min()`` is a number). For a study's stacked
        results, (..., max epochs_run), members that stopped sooner still padded."""
        n = int(np.max(np.asarray(self.epochs_run)))
        return History(*(np.asarray(h)[..., :n] for h in self.history))

    def __repr__(self) -> str:
        """One line: epochs run, best epoch, last and best losses, stopped or diverged
        (for stacked results, their ranges over the members)."""
        leaves = jax.tree.leaves(self)
        concrete = (np.ndarray, np.generic, int, float, bool)
        if not all(
            isinstance(a, concrete)
            or (isinstance(a, jax.Array) and not isinstance(a, jax.core.Tracer))
            for a in leaves
        ):  # traced, or shapes only (jax.eval_shape): no values to summarise
            kind = type(leaves[0]).__name__ if leaves else "empty"
            return f"FitResult({kind} leaves, epochs_run {getattr(self.epochs_run, 'shape', '?')})"
        try:
            return "FitResult(" + summary_line(self) + ")"
        except (TypeError, ValueError, IndexError, AttributeError):  # not a fit's values
            return f"FitResult({len(leaves)} leaves, not a fit's arrays)"


def summary_line(result: FitResult) -> str:
    """A short description of a (possibly stacked) :class:`FitResult`, for reprs."""
    epochs_run = np.asarray(result.epochs_run)
    total = np.shape(result.history.train_loss)[-1]
    best = np.asarray(result.state.early.best_loss, np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices of no epochs
        hist = result.history
        last = lambda h: np.take_along_axis(
            np.asarray(h), np.maximum(epochs_run - 1, 0)[..., None], -1
        )[..., 0]
        train, val = last(hist.train_loss), last(hist.val_loss)
    g = lambda a: f"{float(a):.4g}"
    if epochs_run.ndim == 0:
        parts = [f"epochs_run={int(epochs_run)}/{total}", f"best_epoch={int(result.best_epoch)}"]
        parts.append(f"train_loss={g(train)}")
        if not np.isnan(val):
            parts.append(f"val_loss={g(val)}")
        parts.append(f"best_loss={g(best)}")
        parts.append(f"stopped_early={bool(result.stopped_early)}")
        d = int(result.diverged_epoch)
        parts.append(f"diverged={'at epoch ' + str(d) if d >= 0 else False}")
        return ", ".join(parts)
    span = lambda a: f"{g(np.nanmin(a))}..{g(np.nanmax(a))}" if np.isfinite(a).any() else "nan"
    parts = [
        f"{epochs_run.size} members {epochs_run.shape}",
        f"epochs_run {int(epochs_run.min())}..{int(epochs_run.max())} of {total}",
        f"best_loss {span(best)}",
        f"stopped_early {int(np.sum(result.stopped_early))}",
        f"diverged {int(np.sum(np.asarray(result.diverged_epoch) >= 0))}",
    ]
    return ", ".join(parts)


class Plan(NamedTuple):
    """Static facts of a fit, fixed before compilation (hashable, a jit static arg)."""

    n_train: int
    batch_size: int
    n_batches: int
    has_val: bool
    has_dropout: bool
    has_l1_penalty: bool
    has_l2: bool
    l1_proximal: bool


def _maybe_nonzero(x: ArrayLike) -> bool:
    c = v.concrete(x)
    return c is None or bool(np.any(c != 0))


def make_plan(config: FitConfig, n_train: int, has_val: bool, model: Any = None) -> Plan:
    """The static :class:`Plan` of ``config`` for ``n_train`` examples.

    A penalty or dropout whose strength is concretely zero (for every member of a
    stacked config) is compiled out. A ``model`` with dropout layers of its own
    (``model.own_dropout``, the adapters of :mod:`jaxnn.adapters`) gets a key in
    every update, and its layers set the rates.

    Raises:
      ValueError: for ``FitConfig.dropout`` > 0 with such a model (two rates).
    """
    b = n_train if config.batch_size is None else min(config.batch_size, n_train)
    has_l1 = _maybe_nonzero(config.l1)
    own = bool(getattr(model, "own_dropout", False))
    rate = v.concrete(config.dropout)
    if hasattr(model, "own_dropout") and rate is not None and np.any(rate != 0):
        layers = (
            "its own dropout layers set their rates, and jaxnn drives them with its per-update keys"
            if own
            else "it has no dropout layers, and jaxnn cannot add any to it"
        )
        raise ValueError(f"FitConfig.dropout must be 0 for {model!r}: {layers}.")
    return Plan(
        n_train=n_train,
        batch_size=b,
        n_batches=-(-n_train // b),
        has_val=has_val,
        has_dropout=own or _maybe_nonzero(config.dropout),
        has_l1_penalty=has_l1 and config.l1_mode == "penalty",
        has_l2=_maybe_nonzero(config.l2),
        l1_proximal=has_l1 and config.l1_mode == "proximal",
    )


def _learning_rate(config: FitConfig, plan: Plan) -> optax.Schedule:
    return schedule(
        config.decay, config.learning_rate, config.decay_rate, config.decay_epochs * plan.n_batches
    )


def make_optimizer(
    config: FitConfig, plan: Plan, optimizer: optax.GradientTransformation | None = None
) -> optax.GradientTransformation:
    """The optax transformation a fit uses: ``optimizer`` or heavy-ball momentum on the
    config's schedule, followed by the L1 proximal step when ``l1_mode="proximal"``.

    With the proximal step, the config's momentum acts on the thresholded steps
    (proximal heavy ball, see :mod:`jaxnn.proximal`), so that the fit converges to
    the minimiser of the L1-penalised objective whatever the momentum.
    """
    lr = _learning_rate(config, plan)
    if is_factory(optimizer):  # the config's rate, schedule and hyperparams, as data
        hp = dict(config.hyperparams)
        if takes_momentum(optimizer):
            hp["momentum"] = config.momentum
        optimizer = inject(optimizer, lr, hp)
    if plan.l1_proximal:
        if optimizer is None:
            return optax.chain(
                gradient_descent(lr), l1_proximal(config.l1, lr, momentum=config.momentum)
            )
        return optax.chain(optimizer, l1_proximal(config.l1, lr))
    return heavy_ball(lr, config.momentum) if optimizer is None else optimizer


def init_state(
    key: PRNGKey,
    model: Any,
    config: FitConfig,
    plan: Plan,
    optimizer: optax.GradientTransformation | None = None,
    params: Params | None = None,
) -> FitState:
    """The state before the first epoch: fresh params from ``fold_in(key, 0)``, or
    ``params`` when given (checked by :func:`jaxnn.resume.check_params` first).

    Raises:
      TypeError / ValueError: if ``key`` is not one PRNG key (:func:`check_key`).
    """
    key = check_key(key)
    if params is None:
        params = model.init(jax.random.fold_in(key, 0))
    nan = jnp.full((config.epochs,), jnp.nan, jnp.float32)
    return FitState(
        params=params,
        opt_state=make_optimizer(config, plan, optimizer).init(params),
        key=jax.random.fold_in(key, 1),
        epoch=jnp.array(0, jnp.int32),
        early=early_stopping_init(params),
        stopped=jnp.array(False),
        stopped_early=jnp.array(False),
        diverged_epoch=jnp.array(-1, jnp.int32),
        history=History(nan, nan, nan, nan, nan),
        monitor=jnp.array(monitored(config, plan), jnp.int32),
    )


def epoch_step(
    state: FitState,
    model: Any,
    config: FitConfig,
    plan: Plan,
    train: tuple[Array, Array],
    val: tuple[Array, Array] | None,
    optimizer: optax.GradientTransformation | None = None,
    active: Array | None = None,
) -> FitState:
    """One epoch of a fit: updates over the (reshuffled) batches, then the history,
    early stopping and the divergence check. Pure; the loops below call it.

    With ``active`` (a () bool, traced) an inactive fit keeps its state unchanged:
    the batched loop runs every member's epoch and keeps only the active ones, with
    the same select that keeps the last finite state of a diverged fit.
    """
    opt = make_optimizer(config, plan, optimizer)
    x, y = train
    n, b, nb = plan.n_train, plan.batch_size, plan.n_batches
    pad = nb * b - n
    kw = dict(
        kind=config.loss,
        l1=config.l1 if plan.has_l1_penalty else None,
        l2=config.l2 if plan.has_l2 else None,
        dropout=config.dropout,
    )
    st = state
    e = st.epoch
    ekey = jax.random.fold_in(st.key, e)
    value_and_grad = jax.value_and_grad(objective_and_metrics, has_aux=True)

    def update(carry, batch):
        params, opt_state, ce_sum, correct = carry
        dkey, idx, weights = batch
        xb, yb = (x, y) if idx is None else (x[idx], y[idx])
        (_, (ce_b, correct_b)), grads = value_and_grad(
            params, model.apply, xb, yb, weights, key=dkey, **kw
        )
        updates, opt_state = opt.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return (params, opt_state, ce_sum + ce_b, correct + correct_b), None

    # the s-th update's dropout key, fold_in(fold_in(k_e, 1), s): all of the epoch's
    # at once, outside the scan (on a CPU one fold_in per update cost 1.3x in W2)
    dkeys = None
    if plan.has_dropout:
        dkeys = jax.vmap(functools.partial(jax.random.fold_in, jax.random.fold_in(ekey, 1)))(
            jnp.arange(nb, dtype=jnp.uint32)
        )
    zero = jnp.zeros((), jnp.float32)
    carry = (st.params, st.opt_state, zero, zero)
    if nb == 1 and pad == 0:  # full batch: no shuffle, no gather
        carry, _ = update(carry, (None if dkeys is None else dkeys[0], None, None))
    else:
        perm = jax.random.permutation(jax.random.fold_in(ekey, 0), n)
        idx = jnp.concatenate([perm, jnp.zeros((pad,), perm.dtype)]).reshape(nb, b)
        weights = None
        if pad:  # the last batch is partial: pad it, and weight the padding 0
            weights = (jnp.arange(nb * b) < n).astype(jnp.float32).reshape(nb, b)
        carry, _ = jax.lax.scan(update, carry, (dkeys, idx, weights))
    params, opt_state, ce_sum, correct = carry
    if config.train_metrics == "end_of_epoch":
        tl, ta = evaluate(config.loss, model.apply(params, x), y)
    else:  # what the updates saw: the mean over the epoch's examples, each before its update
        tl, ta = ce_sum / n, correct / n
    if plan.has_val:
        vl, va = evaluate(config.loss, model.apply(params, val[0]), val[1])
    else:
        vl = va = jnp.array(jnp.nan, jnp.float32)
    fixed = optimizer is not None and not is_factory(optimizer)  # its rate is its own
    lr = jnp.nan if fixed else _learning_rate(config, plan)(e * nb)
    # one test of finiteness: the losses, and every new param (NaN and inf propagate
    # through a sum; a finite sum that overflows means params near 1e38, diverged too)
    total = tl + (vl if plan.has_val else 0.0)
    total = total + sum(jnp.sum(p) for p in jax.tree.leaves(params))
    ok = jnp.isfinite(total)
    go = ok if active is None else ok & active
    # the params the monitored loss was measured at: the validation loss and an
    # end-of-epoch evaluation at the new params; a full batch's running loss at the
    # params the epoch started from; a running mean over mini-batches at the new
    # params (as Keras' checkpoint callback does)
    at_start = not plan.has_val and config.train_metrics == "running" and nb == 1
    early, stop = early_stopping_update(
        st.early,
        vl if plan.has_val else tl,
        st.params if at_start else params,
        e,
        patience=config.patience,
        min_delta=config.min_delta,
    )
    # Conditionals, not a select per leaf: for one fit XLA copies buffers instead of
    # compiling and running a kernel per leaf (under vmap JAX makes them selects).
    # A full batch's running loss was measured at the params the epoch started
    # from, which a diverging epoch keeps: its record stands (a finite loss there can
    # be the best). Every other monitored loss was measured at the new params.
    if at_start:
        params, opt_state = jax.lax.cond(
            go, lambda: (params, opt_state), lambda: (st.params, st.opt_state)
        )
        if active is not None:  # a stopped member keeps its record
            early = jax.lax.cond(active, lambda: early, lambda: st.early)
    else:
        params, opt_state, early = jax.lax.cond(
            go,
            lambda: (params, opt_state, early),
            lambda: (st.params, st.opt_state, st.early),
        )
    # the history records epoch e even when it diverged (see History)
    ran = jnp.asarray(True) if active is None else active
    new = (tl, ta, vl, va, lr)
    if active is not None:
        new = tuple(jnp.where(active, a, h[e]) for a, h in zip(new, st.history, strict=True))
    history = History(*(h.at[e].set(a) for h, a in zip(st.history, new, strict=True)))
    return FitState(
        params=params,
        opt_state=opt_state,
        key=st.key,
        epoch=e + ran.astype(e.dtype),
        early=early,
        stopped=jnp.where(ran, stop | ~ok, st.stopped),
        stopped_early=jnp.where(ran, stop & ok, st.stopped_early),
        diverged_epoch=jnp.where(ran & ~ok, e, st.diverged_epoch),
        history=history,
        monitor=st.monitor,
    )


def run_epochs(
    state: FitState,
    model: Any,
    config: FitConfig,
    plan: Plan,
    train: tuple[Array, Array],
    val: tuple[Array, Array] | None,
    until: ArrayLike,
    optimizer: optax.GradientTransformation | None = None,
) -> FitState:
    """Run epochs until ``state.epoch == until`` or the fit stops; pure and vmappable.

    ``until`` may be traced, so running in chunks (for progress or checkpoints)
    reuses one compiled program and gives bitwise the same state as one call.
    ``jax.vmap`` of this function is correct, but for many fits
    :func:`run_epochs_batched` is faster on CPU.
    """
    until = jnp.minimum(jnp.asarray(until, jnp.int32), config.epochs)
    return jax.lax.while_loop(
        lambda st: (st.epoch < until) & ~st.stopped,
        lambda st: epoch_step(st, model, config, plan, train, val, optimizer),
        state,
    )


def run_epochs_batched(
    states: FitState,
    model: Any,
    configs: FitConfig,
    plan: Plan,
    train: tuple[Array, Array],
    val: tuple[Array, Array] | None,
    until: ArrayLike,
    optimizer: optax.GradientTransformation | None = None,
    *,
    epochs_per_check: int = 1,
) -> FitState:
    """:func:`run_epochs` for a batch of fits (leading axis on ``states`` and ``configs``).

    The loop runs while any member runs; each epoch is ``jax.vmap(epoch_step)`` and a
    member that has stopped (or reached ``until``) keeps its state (``active``).
    Same numbers as ``jax.vmap(run_epochs)``, but the vmap sits inside the loop
    rather than around it, which XLA compiles to faster code (2x on CPU for a
    2-32-32-1 MLP). ``epochs_per_check`` epochs run between two tests of the loop
    condition (each guarded, so the numbers do not change): on a GPU every test is
    a round trip to the host, so checking every 10 epochs or so saves most of that
    latency.
    """
    until = jnp.minimum(jnp.asarray(until, jnp.int32), configs.epochs)
    running = lambda st: (st.epoch < until) & ~st.stopped
    step = jax.vmap(
        lambda st, cf: epoch_step(st, model, cf, plan, train, val, optimizer, running(st))
    )

    def body(st):
        if epochs_per_check == 1:
            return step(st, configs)
        return jax.lax.scan(lambda s, _: (step(s, configs), None), st, None, epochs_per_check)[0]

    return jax.lax.while_loop(lambda st: jnp.any(running(st)), body, states)


def result_from_state(state: FitState) -> FitResult:
    """The :class:`FitResult` view of a (final) state."""
    return FitResult(
        params=state.params,
        best_params=state.early.best_params,
        history=state.history,
        epochs_run=state.epoch,
        best_epoch=state.early.best_epoch,
        stopped_early=state.stopped_early,
        diverged_epoch=state.diverged_epoch,
        state=state,
    )


def feature_major(data: tuple[Array, Array] | None) -> tuple[Array, Array] | None:
    """``(x, y)`` with ``x`` transposed, (n, d) <-> (d, n); ``None`` stays ``None``.

    The compiled loop reads data it uses whole every epoch as the transpose of a
    feature-major copy (:func:`loop_layout`): XLA cancels that transpose against
    the MLP's own (it computes feature-major), so the loop never copies ``x``.
    Given row-major, XLA transposed ``x`` in every epoch: W1 (1024 x 2, 500 epochs)
    took 160-187 ms against 123 ms.
    """
    return None if data is None else (data[0].T, data[1])


def fit_from_key(
    key: PRNGKey,
    state: FitState,
    fresh: Array,
    until: ArrayLike,
    model: Any,
    config: FitConfig,
    plan: Plan,
    train: tuple[Array, Array],
    val: tuple[Array, Array] | None,
    optimizer: optax.GradientTransformation | None = None,
    params: Params | None = None,
) -> FitState:
    """A fit from its key (and ``params`` to start from, if given) and row-major
    (n, d) data, :func:`init_state` then :func:`run_epochs_rows` to epoch
    ``until``, as one program that also continues itself: a straight :func:`fit`
    compiles once (the initialisation alone took as long to compile as the loop)
    and transposes its data in the program (an eager transpose is a compile of its
    own), and a long one runs as calls of this same program, each a few epochs
    (so that Ctrl-C ends it soon, :mod:`jaxnn.progress`).

    With ``fresh`` (a () bool, traced) the state is initialised from ``key`` and
    ``state`` only gives its structure (its values are not read: a blank state);
    otherwise ``state``, the previous call's, is continued. The loop is the one
    chunked and resumed fits compile (bitwise the same numbers)."""
    state = jax.lax.cond(
        fresh, lambda: init_state(key, model, config, plan, optimizer, params), lambda: state
    )
    return run_epochs_rows(state, model, config, plan, train, val, until, optimizer)


def run_epochs_rows(
    state: FitState,
    model: Any,
    config: FitConfig,
    plan: Plan,
    train: tuple[Array, Array],
    val: tuple[Array, Array] | None,
    until: ArrayLike,
    optimizer: optax.GradientTransformation | None = None,
) -> FitState:
    """:func:`run_epochs` with row-major data, in the layout the loop reads best
    (:func:`loop_layout`)."""
    state, train, val = loop_layout(state, train, val, plan)
    return run_epochs(state, model, config, plan, train, val, until, optimizer)


def loop_layout(
    state: Any, train: tuple[Array, Array], val: tuple[Array, Array] | None, plan: Plan
) -> tuple[Any, tuple[Array, Array], tuple[Array, Array] | None]:
    """``(state, train, val)`` for the compiled loop, given row-major data (n, d).

    Data read whole every epoch (a full batch, validation data) is copied
    feature-major once, ahead of the loop, and read as the transpose of that copy,
    which XLA cancels against the MLP's own transpose (:func:`feature_major`).
    Mini-batches are gathered from the row-major data: contiguous rows (W2 without
    dropout: 1.2x faster than gathering columns of the feature-major copy). A barrier keeps the
    copy materialised and the loop blind to the state's values, so every caller
    (a straight fit, chunks, a study) compiles the same loop.
    """
    whole = plan.n_batches == 1
    state, train, val = jax.lax.optimization_barrier(
        (state, feature_major(train) if whole else train, feature_major(val))
    )
    return state, feature_major(train) if whole else train, feature_major(val)


_STATIC = ("model", "plan", "optimizer")
_init_jit = jax.jit(init_state, static_argnames=_STATIC)
_run_jit = jax.jit(run_epochs_rows, static_argnames=_STATIC, donate_argnames="state")
_fit_jit = jax.jit(fit_from_key, static_argnames=_STATIC)
# the same program for states over 4 MB, whose blank is made for each fit (blank_state)
_fit_jit_donated = jax.jit(fit_from_key, static_argnames=_STATIC, donate_argnames="state")


def prepare_data(name: str, data: tuple[ArrayLike, ArrayLike], loss: str) -> tuple[Array, Array]:
    """Check a ``(x, y)`` pair at the boundary and convert it for the compiled fit.

    ``x`` must be (n, d) with n >= 1 and finite; ``y`` (n,) (or (n, 1) for binary)
    with 0/1 labels (binary) or integer class ids (multiclass). Returns float32 ``x``
    and ``y`` as (n,) float32 or int32 (binary, as given) or int32 (multiclass).
    """
    return convert_data(check_data(name, data, loss), loss)


def check_data(name: str, data: tuple[ArrayLike, ArrayLike], loss: str) -> tuple[Any, Any]:
    """The checks of :func:`prepare_data`, on the host, before anything is placed on
    a device; returns ``(x, y)`` as given."""
    try:
        x, y = data
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an (x, y) pair of arrays.") from None
    xs, ys = np.shape(x), np.shape(y)
    if len(xs) != 2 or xs[0] == 0:
        raise ValueError(f"{name}: x must have shape (n, d) with n >= 1, got {xs}.")
    if ys not in ((xs[0],), (xs[0], 1)):
        raise ValueError(
            f"{name}: y must have shape (n,) = ({xs[0]},) to match x of shape {xs}, got {ys}."
        )
    for part, a in (("x", x), ("y", y)):
        dtype = a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype
        if not (dtype == np.bool_ or np.issubdtype(dtype, np.integer)) and not np.issubdtype(
            dtype, np.floating
        ):
            raise TypeError(f"{name}: {part} must hold real numbers, got dtype {dtype}.")
    v.check_finite(f"{name}: x", x)
    if loss == "binary":
        v.check_finite(f"{name}: y", y)
        yv = v.concrete(y)
        if yv is not None and not np.isin(yv, (0, 1)).all():
            raise ValueError(f"{name}: binary labels y must be 0 or 1.")
    else:
        if len(ys) != 1:
            raise ValueError(f"{name}: multiclass labels must have shape (n,), got {ys}.")
        yv = v.concrete(y)
        if yv is not None and yv.size and np.issubdtype(yv.dtype, np.integer) and yv.min() < 0:
            raise ValueError(
                f"{name}: multiclass labels y must be class ids >= 0, got {int(yv.min())}."
            )
        v.check_class_ids(f"{name}: y", y, np.iinfo(np.int32).max)
    return x, y


def convert_data(data: tuple[Any, Any], loss: str) -> tuple[Array, Array]:
    """``(x, y)`` as the compiled fit takes them (see :func:`prepare_data`)."""
    x, y = data
    if loss == "binary":  # 0/1 as float32 or int32, whichever it is (the loop casts)
        y = _as_array(y, jnp.float32, keep=(jnp.int32,)).reshape(np.shape(x)[0])
    else:
        y = _as_array(y, jnp.int32)
    return _as_array(x, jnp.float32), y


def _as_array(a: ArrayLike, dtype: Any, keep: tuple[Any, ...] = ()) -> Array:
    """``a`` as a JAX array of ``dtype`` (or of one of the dtypes ``keep``), converted
    on the host when it is host data (an eager conversion on the device, or
    ``jnp.asarray``, compiles a small program per new shape)."""
    if isinstance(a, jax.Array):
        return a if a.dtype == dtype or a.dtype in keep else a.astype(dtype)
    return jax.device_put(np.asarray(a, dtype))


@functools.lru_cache(maxsize=256)
def _logits_shape(model: Any, shape: tuple[int, ...], dtype: Any) -> jax.ShapeDtypeStruct:
    """The logits' shape for inputs of ``shape``; cached, since tracing costs ~5 ms."""
    params = jax.eval_shape(model.init, jax.random.key(0))
    return jax.eval_shape(model.apply, params, jax.ShapeDtypeStruct(shape, dtype))


def check_model_output(model: Any, x: Array, y: Array, loss: str, name: str = "train") -> None:
    """Trace ``model`` on ``x`` (no FLOPs) and check its logits suit ``loss`` and ``y``.

    Raises:
      TypeError / ValueError: naming ``name`` and x's shape when the model cannot be
        applied to it (e.g. another number of input features), with the model's
        own error; or when its logits do not fit ``loss``.
    """
    try:
        try:
            hash(model)
        except TypeError:  # an unhashable model: trace it every time
            logits = _logits_shape.__wrapped__(model, x.shape, x.dtype)
        else:
            logits = _logits_shape(model, x.shape, x.dtype)
    except Exception as e:
        cls = TypeError if isinstance(e, TypeError) else ValueError
        raise cls(
            f"{name}: the model cannot be applied to x of shape {x.shape} (does it take "
            f"{x.shape[1]} input features?): {type(e).__name__}: {e}"
        ) from e
    n = x.shape[0]
    if loss == "binary":
        if logits.shape not in ((n,), (n, 1)):
            raise ValueError(
                f"loss 'binary' needs one logit per example, shape (n,) or (n, 1) = ({n}, 1); "
                f"the model maps x of shape {x.shape} to logits of shape {logits.shape}."
            )
        return
    if len(logits.shape) != 2 or logits.shape[0] != n:
        raise ValueError(
            f"loss 'multiclass' needs logits of shape (n, k); the model maps x of shape "
            f"{x.shape} to {logits.shape}."
        )
    v.check_class_ids(f"{name}: y", y, logits.shape[1])


def prepare_inputs(
    model: Any,
    train: tuple[ArrayLike, ArrayLike],
    val: tuple[ArrayLike, ArrayLike] | None,
    config: FitConfig,
) -> tuple[Any, tuple[Array, Array], tuple[Array, Array] | None]:
    """Every boundary check of a fit (or a study) before compiling: the model, the
    data (:func:`prepare_data`), the model's output against the loss, and
    validation data when early stopping needs it. Returns them converted."""
    model = as_model(model)
    # every check first, on the host: nothing is placed on a device for bad input
    train = check_data("train", train, config.loss)
    as_x = lambda a: jax.ShapeDtypeStruct(np.shape(a), jnp.float32)  # what the fit gets
    check_model_output(model, as_x(train[0]), train[1], config.loss, "train")
    if val is not None:
        val = check_data("val", val, config.loss)
        xv, xt = np.shape(val[0]), np.shape(train[0])
        if xv[1:] != xt[1:]:
            raise ValueError(f"val: x has shape {xv} but train x has shape {xt}.")
        check_model_output(model, as_x(val[0]), val[1], config.loss, "val")
        val = convert_data(val, config.loss)
    elif config.patience is not None:
        raise ValueError("FitConfig.patience needs validation data: pass val=(x_val, y_val).")
    return model, convert_data(train, config.loss), val


def fit(
    key: PRNGKey,
    model: Any,
    train: tuple[ArrayLike, ArrayLike],
    val: tuple[ArrayLike, ArrayLike] | None = None,
    config: FitConfig | None = None,
    *,
    optimizer: Any = None,
    params: Params | None = None,
    state: FitState | FitResult | None = None,
    progress: bool = False,
    chunk_epochs: int | None = None,
    checkpoint_dir: str | None = None,
) -> FitResult:
    """Train ``model`` on ``train`` as one compiled program.

    Args:
      key: one PRNG key, ``jax.random.key(seed)`` (or a legacy uint32 (2,) key); the
        fit is a deterministic function of it (see module doc).
      model: an :class:`~jaxnn.MLP`, a :class:`~jaxnn.Model`, or an
        ``(init_fn, apply_fn)`` pair: ``init(key) -> params``,
        ``apply(params, x, *, key=None, dropout=0.0) -> logits``.
      train: ``(x, y)``: x (n, d) float, y (n,) labels (see ``config.loss``).
      val: optional ``(x, y)`` for validation metrics and early stopping.
      config: a :class:`FitConfig` of scalars (defaults: full-batch gradient
        descent, lr 0.1, 100 epochs, binary cross-entropy); to train several values
        of a field, use :func:`jaxnn.sweep`.
      optimizer: ``None`` (the config's heavy-ball momentum), or an optax optimizer
        *factory* such as ``optax.adam``, ``optax.adamw`` or ``optax.sgd``: it is
        built with ``optax.inject_hyperparams``, its ``learning_rate`` the config's
        rate and decay schedule and its other numeric arguments
        ``config.hyperparams`` (e.g. ``{"b1": 0.8}``), all fed as data, so a
        :func:`jaxnn.sweep` can vary them and new values compile nothing; or a built
        optax transformation (``optax.adam(1e-2)``), whose numbers are fixed (the
        config's momentum, decay, hyperparams and learning rate must then stay at
        their defaults; the rate only sets an L1 proximal threshold). A config field
        the optimizer would not use is an error (:func:`check_optimizer_config`). A
        built transformation is part of the program's identity: build it once.
      params: start from these params instead of ``model.init(fold_in(key, 0))``
        (the model's structure, shapes and dtypes; e.g. another fit's
        ``best_params``): fresh optimiser state, epoch 0. They are data: other
        values compile nothing.
      state: continue a fit from its :class:`FitState` (or its :class:`FitResult`),
        trained with this ``key``, up to ``config.epochs`` epochs in total: the
        epoch counter, optimiser state, schedule, keys, early-stopping record and
        history carry on, so the result is bitwise that of one straight fit of
        ``config.epochs`` epochs with the same config and data. Numeric fields and
        the data may change (a lower rate to fine-tune); what early stopping
        monitors may not (validation data present or not, ``train_metrics``
        without it), nor the model, the optimizer, ``l1_mode`` or the names of
        ``config.hyperparams``: each is an error saying what differs. A state that
        stopped (early stopping, divergence) stays stopped, as in the longer fit:
        to train on from its params, pass ``params=result.best_params``.
      progress: show progress over epochs (:func:`jaxnn.progress.progress_bar`):
        a tqdm bar on a terminal or in a notebook, plain lines when stderr is a
        file or a pipe; it says "compiling" until the first call of the compiled
        loop is back. The result is bitwise the same.
      chunk_epochs: with progress or checkpoints, the most epochs a call of the
        compiled loop runs, and with checkpoints the epochs between two saves;
        default: calls of about :data:`jaxnn.progress.CALL_SECONDS` and a save
        every 1/50 of the epochs. Calls that take longer than about 0.4 s are
        split, once one has been timed (only the number of calls changes).
      checkpoint_dir: a directory (created if missing, before anything compiles):
        save the state there after every chunk with orbax, and resume from the
        latest checkpoint there if one exists, also into a longer fit (a larger
        ``config.epochs``; a ``UserWarning`` says so).

    Ctrl-C: a long fit runs as calls of its compiled program of about
    :data:`jaxnn.progress.CALL_SECONDS` each (a short one in one call; the numbers
    are bitwise the same), so ``KeyboardInterrupt`` comes within about that once
    compiling is done, and the process can exit at once (XLA cannot stop a call
    it is running; see :mod:`jaxnn.progress`). A checkpointed fit keeps its last
    checkpoint (a save in progress finishes first); the same call resumes it.

    Returns:
      A :class:`FitResult`. If the loss or the params became NaN or inf, the fit
      stopped at that epoch with the last params whose values are all finite,
      ``diverged_epoch`` says which epoch, and a ``RuntimeWarning`` names it. With
      the default running history the loss of an epoch is measured before its
      update, so a step to finite params whose loss is inf is found one epoch later
      than with ``train_metrics="end_of_epoch"``, and those params are kept:
      ``best_params`` (the best finite loss) are the ones to use.

    Raises:
      ValueError / TypeError: before anything compiles, naming the argument: for a
        key that is not one PRNG key (``fit(0, ...)``), a config field that is not a
        scalar (a list or an array), a bad config, a config field the optimizer
        would not use, ``params`` or ``state`` of another structure (both named),
        a ``state`` trained with another key or further than ``config.epochs``,
        both ``params`` and ``state``, a ``checkpoint_dir`` that is a file or
        cannot be created, bad data (NaN or inf, shapes, labels), or a model whose
        output does not fit the loss (naming both shapes).

    >>> x, y = jaxnn.data.make_blobs(jax.random.key(1), 64)
    >>> res = fit(jax.random.key(0), jaxnn.MLP((2, 1)), (x, y), config=FitConfig(epochs=20))
    >>> float(res.history.train_accuracy[-1])
    1.0
    >>> more = fit(jax.random.key(0), jaxnn.MLP((2, 1)), (x, y),
    ...            config=FitConfig(epochs=30), state=res)  # 10 more epochs
    >>> int(more.epochs_run)
    30
    """
    key = check_key(key)
    config = check_scalar_config(config, "fit")
    check_optimizer_config(config, optimizer, "fit")
    config = as_float32(config)
    if params is not None and state is not None:
        raise ValueError(
            "fit: pass params (start a new fit from them) or state (continue a fit), not both."
        )
    if checkpoint_dir is not None:
        from jaxnn.checkpoint import check_directory

        checkpoint_dir = check_directory(checkpoint_dir)
    model, (xt, yt), val = prepare_inputs(model, train, val, config)
    plan = make_plan(config, xt.shape[0], val is not None, model)
    check_apply_takes_dropout(model, plan)
    statics = dict(model=model, plan=plan, optimizer=optimizer)
    start = None  # what the fit starts from, for the checkpoint's fingerprint
    if params is not None:
        params = check_params("params", params, _state_like(key, config, statics).params)
        start = params
    if state is not None:
        like = _state_like(key, config, statics)
        state = continue_state(state, key, config, like, "fit", monitored(config, plan))
        start = state
    tag = None
    if checkpoint_dir is not None:
        tag = checkpoint_tag(key, config, model, optimizer, (xt, yt), val, start)
        like_for = lambda c: _state_like(key, c, statics)
        restored = restore_resized(checkpoint_dir, tag, config, like_for)
        state = state if restored is None else restored

    if state is not None and state.stopped:
        warnings.warn(
            f"fit: the state to continue had stopped at epoch {int(state.epoch)} (early "
            "stopping or divergence) and stays stopped; to train on from its params, pass "
            "params=result.best_params.",
            UserWarning,
            stacklevel=2,
        )
    program = program_key("fit", config, (xt, yt), val, statics)
    plain = checkpoint_dir is None and not progress  # chunk_epochs is for the others
    pacer = Pacer(program, probe=plain or chunk_epochs is None)
    if plain:  # one program, from the key to the end
        if state is None:
            blank, small = blank_state(key, config, statics, program)
            fit_jit = _fit_jit if small else _fit_jit_donated

            def run(st, until, first):
                return fit_jit(
                    key,
                    st,
                    first,
                    until,
                    config=config,
                    train=(xt, yt),
                    val=val,
                    params=params,
                    **statics,
                )

            state = _run_paced(fit_jit, run, blank, config, pacer, done=0)
        else:

            def run(st, until, first):
                return _run_jit(st, config=config, train=(xt, yt), val=val, until=until, **statics)

            state = _run_paced(_run_jit, run, state, config, pacer)
    else:
        if state is None:
            state = _init_jit(key, config=config, params=params, **statics)
        state = _run_chunked(
            state,
            config,
            (xt, yt),
            val,
            statics,
            progress,
            chunk_epochs,
            checkpoint_dir,
            tag,
            pacer,
        )
    result = result_from_state(state)
    d = int(result.diverged_epoch)
    if d >= 0:
        warnings.warn(
            f"fit diverged: the loss became NaN or inf at epoch {d}; stopped there and kept "
            "the last finite params (lower the learning rate?).",
            RuntimeWarning,
            stacklevel=2,
        )
    return result


def _state_like(key: PRNGKey, config: FitConfig, statics: dict[str, Any]) -> FitState:
    return jax.eval_shape(lambda k: _init_jit(k, config=config, **statics), key)


_train_root = jax.jit(lambda key: jax.random.key_data(jax.random.fold_in(key, 1)))


def check_monitor(caller: str, was: Any, now: int) -> None:
    """A continued fit monitors what its state's early stopping monitored
    (:data:`MONITORED`): its record (best loss, patience) compares one quantity.

    Raises:
      ValueError: naming what the state monitored, what this fit would, and the fix.
    """
    was = np.unique(np.asarray(was))
    if was.size == 1 and int(was[0]) == now:
        return
    old = MONITORED[int(was[0])] if was.size == 1 and 0 <= int(was[0]) < 3 else "another loss"
    fix = (
        "pass the validation data it was trained with (val=)"
        if int(was[0]) == 0
        else "continue without validation data"
        if now == 0
        else "keep FitConfig.train_metrics as it was"
    )
    raise ValueError(
        f"{caller}: state's early stopping monitored the {old}, and this fit would monitor "
        f"the {MONITORED[now]}: its best loss and patience would compare the two. "
        f"To continue, {fix}; to start afresh from its params, pass "
        "params=result.best_params instead of state=."
    )


def continue_state(
    state: Any, key: PRNGKey, config: FitConfig, like: FitState, caller: str, monitor: int
) -> FitState:
    """A fit's state to continue from, checked and placed on the device.

    ``state`` (a :class:`FitState` or a :class:`FitResult`) must have ``like``'s
    structure (the state :func:`init_state` gives for this model, config and
    optimizer), have been trained with ``key`` (its training key is
    ``fold_in(key, 1)``), and have run at most ``config.epochs`` epochs; its
    history is resized to ``config.epochs`` (NaN for the epochs still to run).

    Raises:
      TypeError / ValueError: naming ``state`` and what was expected.
    """
    host = host_state_to_continue(state, like, (), config.epochs, caller, monitor)
    if not np.array_equal(host.key, np.asarray(_train_root(key))):
        raise ValueError(
            f"{caller}: state was trained with another key: pass the key of the fit that "
            "produced it (for member r of a study: jax.random.fold_in(study_key, r))."
        )
    return place_state(host, key)


def host_state_to_continue(
    state: Any, like: FitState, lead: tuple[int, ...], epochs: int, caller: str, monitor: int
) -> FitState:
    """The checks :func:`continue_state` and a study's continuation share, on the host:
    ``state`` (a :class:`FitState`, or what holds one: a :class:`FitResult`, a
    study's ``StudyResult``) has members ``lead`` (``()`` for one fit), ``like``'s
    structure per member, and the monitored loss ``monitor``; its history is
    resized to ``epochs``. Returns it as NumPy arrays with raw key data.

    Raises:
      TypeError / ValueError: naming ``state`` and what was expected.
    """
    state = getattr(state, "results", state)  # a StudyResult
    state = state.state if isinstance(state, FitResult) else state
    if not isinstance(state, FitState):
        held = "a jaxnn.FitState or FitResult"
        if lead:
            held = "a StudyResult, its results or results.state"
        raise TypeError(
            f"{caller}: state must be {held} (an earlier "
            f"{'study' if lead else 'fit'}'s, to continue it), got {type(state).__name__}."
        )
    host = host_state(state)
    if np.shape(host.epoch) != lead:
        if not lead:
            raise ValueError(
                f"{caller}: state holds {np.shape(host.epoch)} members (a study's); continue "
                "one member (study.member(c, r).state) or the whole study with "
                "restarts/sweep(state=...)."
            )
        raise ValueError(
            f"{caller}: state holds members of shape {np.shape(host.epoch)}; this study has "
            f"{lead} (continue a study with the same configs and number of restarts)."
        )
    done = int(np.max(host.epoch))
    host = host._replace(history=resize_history(host.history, epochs, done))
    check_state(f"{caller}: state", host, jax.eval_shape(keys_as_data, like), lead)
    check_monitor(caller, host.monitor, monitor)
    return host


def place_state(host: FitState, key: PRNGKey, sharding: Any = None, put: Any = None) -> FitState:
    """A host state (raw key data, :func:`jaxnn.resume.host_state`) on the device(s),
    with typed keys of ``key``'s implementation; ``put(tree, sharding)`` places it
    (default ``jax.device_put``)."""
    placed = (put or jax.device_put)(host, sharding)
    return placed._replace(key=jax.random.wrap_key_data(placed.key, impl=jax.random.key_impl(key)))


def restore_resized(
    directory: str, tag: dict[str, str], config: FitConfig, like_for: Any, put: Any = None
) -> Any:
    """The latest checkpoint in ``directory`` written with ``tag`` (the fit's own,
    whatever its number of epochs), its history resized to ``config.epochs``;
    ``None`` if there is none. ``like_for(config)`` is the state's shape for a
    config, and ``put`` places the resized history as the state is placed (default:
    on the restored history's sharding). A checkpoint of a fit of another length
    warns that it was resumed into this one.

    Raises:
      CheckpointError: as :func:`jaxnn.checkpoint.restore_latest`.
      ValueError: if the checkpoint has run more epochs than ``config.epochs``.
    """
    from jaxnn.checkpoint import latest_tag, restore_latest

    saved = latest_tag(directory)
    if saved is None:
        return None
    try:
        epochs = int(saved.get("epochs", config.epochs))
        if epochs < 1:
            raise ValueError
    except (TypeError, ValueError, AttributeError):
        epochs = config.epochs  # not ours: restore_latest names the mismatch
    state = restore_latest(
        directory, like_for(config.replace(epochs=epochs)), {**tag, "epochs": str(epochs)}
    )
    if state is None or epochs == config.epochs:
        return state
    done = int(np.max(host_state(state.epoch)))  # gathered: a study may span processes
    history = resize_history(host_state(state.history), config.epochs, done, "the checkpoint")
    warnings.warn(
        f"resumed the checkpoint in {directory} at epoch {done}, written by a fit of {epochs} "
        f"epochs; continuing it to {config.epochs} epochs.",
        UserWarning,
        stacklevel=3,
    )
    if put is None:
        put = functools.partial(jax.device_put, device=jax.tree.leaves(state.history)[0].sharding)
    return state._replace(history=put(history))


def check_apply_takes_dropout(model: Any, plan: Plan) -> None:
    if not plan.has_dropout:
        return
    import inspect

    try:
        params = inspect.signature(model.apply).parameters
    except (TypeError, ValueError):
        return
    if not {"key", "dropout"} <= set(params) and not any(
        p.kind is p.VAR_KEYWORD for p in params.values()
    ):
        raise TypeError(
            "FitConfig.dropout > 0 needs a model whose apply accepts key= and dropout= "
            "keywords, like jaxnn.mlp_apply."
        )


def checkpoint_tag(key, config, model, optimizer, train, val, start=None) -> dict[str, str]:
    """What identifies a fit, so that a checkpoint is only resumed by the same fit:
    the config (but its number of epochs, stored apart so that a longer fit resumes
    it), the model, the optimizer, and a CRC of the key, the data and the params or
    state it started from."""
    import zlib

    crc = 0
    for a in jax.tree.leaves((jax.random.key_data(key), train, val)):
        crc = zlib.crc32(np.ascontiguousarray(np.asarray(a)).tobytes(), crc)
    tag = {
        "config": repr(config.replace(epochs=1)),
        "epochs": str(config.epochs),
        "model": repr(model),
        "optimizer": optimizer_name(optimizer),
        "key_and_data_crc32": str(crc),
    }
    if start is not None:
        start_crc = 0
        for a in jax.tree.leaves(host_state(start)):
            start_crc = zlib.crc32(np.ascontiguousarray(np.asarray(a)).tobytes(), start_crc)
        tag["start_crc32"] = str(start_crc)
    return tag


def optimizer_name(optimizer: Any) -> str:
    """A name for ``optimizer`` that is the same in every process: ``"config"``
    (jaxnn's), a factory's module and name (``"optax.adam"``), or ``"custom"`` (a
    built transformation)."""
    if optimizer is None:
        return "config"
    if is_factory(optimizer):
        module = getattr(optimizer, "__module__", "") or ""
        name = getattr(optimizer, "__qualname__", None) or repr(optimizer)
        return f"{module.split('.')[0]}.{name}" if module else name
    return "custom"


def _run_paced(fn, run, state, config, pacer, done=None):
    """Run a fit's compiled loop to the end as calls ``run(state, until, first)``
    (of the jitted ``fn``) sized by ``pacer``: one call for a short fit, calls of
    about :data:`jaxnn.progress.CALL_SECONDS` for a long one, each waited for with
    :func:`jaxnn.progress.wait` (Ctrl-C ends the fit within a call). ``done``: the
    state's epoch, when known (a blank state's 0)."""
    if done is None:
        done, stopped = (int(a) for a in jax.device_get((state.epoch, state.stopped)))
        if stopped:  # it stays stopped: one call, which changes nothing
            done = config.epochs
    first = True
    while True:
        until = pacer.until(min(done, config.epochs - 1), config.epochs)
        state = pacer.run(fn, lambda st=state, u=until, f=first: run(st, u, f))
        if until >= config.epochs:  # the end: nothing to read (the caller reads it)
            return state
        new, stopped = (int(a) for a in jax.device_get((state.epoch, state.stopped)))
        pacer.ran(new - done)
        if stopped:
            return state
        done, first = new, False


def _run_chunked(
    state, config, train, val, statics, progress, chunk_epochs, checkpoint_dir, tag, pacer
):
    """Run the compiled loop a chunk of epochs at a time, updating a progress display
    and saving checkpoints in between.

    ``pacer`` sizes the calls to about :data:`jaxnn.progress.CALL_SECONDS` (the
    host round trip then costs well under 1% of a long fit, and Ctrl-C ends it
    within a call); a call never crosses a multiple of ``chunk_epochs`` (counted
    from the epoch the run started at), after which a checkpoint is saved. With
    ``chunk_epochs`` given, the first calls run it whole (``pacer`` does not probe),
    and later ones are split only if one took longer than about 0.4 s; by default
    a checkpoint follows every 1/50 of the epochs. A save finishes before Ctrl-C
    acts (:func:`jaxnn.progress.interrupts_deferred`), so an interrupted fit keeps
    the checkpoint of the epochs it finished.
    """
    from jaxnn.progress import interrupts_deferred, progress_bar

    every = chunk_epochs
    if every is None and checkpoint_dir is not None:
        every = max(1, config.epochs // 50)
    if every is not None:
        every = v.check_static_int("chunk_epochs", every, 1)
    save = None
    if checkpoint_dir is not None:
        from jaxnn.checkpoint import save_state

        save = functools.partial(save_state, checkpoint_dir, tag=tag)
    with progress_bar(config.epochs, enabled=progress, desc="fit") as bar:
        done, stopped = (int(a) for a in jax.device_get((state.epoch, state.stopped)))
        bar.update(done)
        mark = done  # where the current chunk started
        while done < config.epochs and not stopped:
            limit = config.epochs if every is None else min(mark + every, config.epochs)
            until = pacer.until(done, limit)
            state = pacer.run(
                _run_jit,
                lambda st=state, u=until: _run_jit(
                    st, config=config, train=train, val=val, until=u, **statics
                ),
            )
            new, stopped = (int(a) for a in jax.device_get((state.epoch, state.stopped)))
            pacer.ran(new - done)
            bar.update(new - done)
            bar.compiled()
            done = new
            if done >= limit or stopped:
                mark = done
                if save is not None:
                    with interrupts_deferred():
                        save(state)
    return state


def program_key(kind: str, config: FitConfig, train: Any, val: Any, statics: dict) -> tuple:
    """What a compiled loop's speed depends on (the model, the plan, the optimizer,
    the config's structure, the data's shapes): the key a
    :class:`jaxnn.progress.Pacer` remembers the speed under."""
    shapes = tuple(np.shape(a) for a in jax.tree.leaves((train, val)))
    model, plan, optimizer = statics["model"], statics["plan"], statics["optimizer"]
    return (kind, model, plan, optimizer, jax.tree.structure(config), shapes)


_BLANKS: dict[Any, FitState] = {}
_BLANK_BYTES = 4 << 20  # larger blank states are made for each fit, not kept
_BLANKS_KEPT = 4  # at most 16 MB of device memory


def blank_state(
    key: PRNGKey, config: FitConfig, statics: dict[str, Any], program: Any = None
) -> tuple[FitState, bool]:
    """A state of the structure :func:`init_state` gives (zeros), on the device: what
    the first call of :func:`fit_from_key` takes (it initialises, and reads none of
    these values), and whether it is small (at most 4 MB). A small one is kept for
    the next fit of the same ``program`` (:func:`program_key`; ``None``: not kept)
    and must not be donated (:data:`_fit_jit`); a larger one is made for each fit
    and donated (:data:`_fit_jit_donated`), so that the state is not held twice."""
    cache_key = None if program is None else (program, jax.random.key_impl(key))
    try:
        hash(cache_key)
    except TypeError:  # a model or optimizer that does not hash
        cache_key = None
    blank = _BLANKS.get(cache_key) if cache_key is not None else None
    if blank is not None and not blank.epoch.is_deleted():  # (jax.clear_backends)
        return blank, True
    like = jax.eval_shape(keys_as_data, _state_like(key, config, statics))
    host = jax.tree.map(lambda a: np.zeros(a.shape, a.dtype), like)
    blank = place_state(host, key)
    small = sum(a.nbytes for a in jax.tree.leaves(host)) <= _BLANK_BYTES
    if cache_key is not None and small:
        if len(_BLANKS) >= _BLANKS_KEPT:
            _BLANKS.pop(next(iter(_BLANKS)))
        _BLANKS[cache_key] = blank
    return blank, small

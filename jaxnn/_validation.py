"""Checks at the API boundary, outside traced code.

Shape checks use static shapes, so they also fire while ``jax.jit`` traces a
function, with the same message. Value checks (label ranges, NaN, rates) need
concrete values: they run when the argument is concrete (a Python number, a NumPy
array or a committed ``jax.Array``) and are skipped for tracers, as dm-haiku's
``dropout`` does, so that every numeric argument stays traceable under
``jit``/``vmap``.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from jaxnn._typing import ArrayLike, PRNGKey


def concrete(x: ArrayLike) -> np.ndarray | None:
    """``x`` as a NumPy array if its value is known now, else ``None`` (a tracer)."""
    if isinstance(x, Tracer):
        return None
    return np.asarray(x)


def check_finite(
    name: str, x: ArrayLike, *, hint: str = "clean or impute the data before fitting"
) -> None:
    """Raise ``ValueError`` if concrete ``x`` holds NaN or inf; the message ends with
    ``hint`` (what to do about it)."""
    v = concrete(x)
    if v is None or not np.issubdtype(v.dtype, np.inexact):
        return
    bad = ~np.isfinite(v)
    if bad.any():
        n_nan, n_inf = int(np.isnan(v).sum()), int(np.isinf(v).sum())
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains {n_nan} NaN and {n_inf} inf value(s) (first at index {first}); "
            f"{hint}."
        )


def check_rate(name: str, rate: ArrayLike) -> None:
    """Raise ``ValueError`` unless concrete ``rate`` is a scalar in [0, 1)."""
    v = concrete(rate)
    if v is None:
        return
    if v.ndim != 0:
        raise ValueError(f"{name} must be a scalar in [0, 1), got an array of shape {v.shape}.")
    if not (0.0 <= float(v) < 1.0):  # also catches NaN
        raise ValueError(f"{name} must be in [0, 1), got {float(v)!r}.")


def check_ndim(name: str, x: ArrayLike, ndims: tuple[int, ...], what: str) -> None:
    """Raise ``ValueError`` unless ``x.ndim`` is one of ``ndims``; ``what`` names the shape."""
    ndim = np.ndim(x)
    if ndim not in ndims:
        raise ValueError(f"{name} must have shape {what}, got shape {np.shape(x)}.")


def dtype_of(x: ArrayLike) -> np.dtype:
    """``x``'s dtype, read without copying it to the host (also for tracers)."""
    dtype = getattr(x, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.asarray(x).dtype


def check_binary_labels(name: str, y: ArrayLike, *, hard: bool = False) -> None:
    """Check binary labels: a bool, integer or float dtype, and if concrete, values 0/1.

    Any integer width works (the losses convert labels to the logits' float dtype,
    where 0 and 1 are exact); ``bool`` means False = 0, True = 1. The dtype check is
    static, so it also fires under ``jit``.

    Args:
      name: the argument, for the messages (``"f: labels"``).
      y: the labels.
      hard: require exactly 0 or 1 (an accuracy needs hard labels); otherwise
        anything in [0, 1] (soft targets) passes.

    Raises:
      TypeError: for any other dtype (complex, string, object).
      ValueError: if concrete ``y`` holds NaN, or values outside {0, 1} (``hard``) or
        outside [0, 1].
    """
    dtype = dtype_of(y)
    real = dtype == np.bool_ or jnp.issubdtype(dtype, jnp.integer)
    if not (real or jnp.issubdtype(dtype, jnp.floating)):
        raise TypeError(
            f"{name} must be 0/1 labels of a bool, integer or float dtype, got {dtype}."
        )
    v = concrete(y)
    if v is None or v.size == 0:
        return
    if jnp.issubdtype(dtype, jnp.floating):
        v = v.astype(np.float64)  # also bfloat16 and the like, which NumPy cannot compare
        if np.isnan(v).any():
            raise ValueError(f"{name} contains NaN.")
    if hard:
        bad = v[(v != 0) & (v != 1)]
        if bad.size:
            raise ValueError(
                f"{name} must be 0 or 1 (binary labels); got {bad.size} other value(s) "
                f"(e.g. {bad[0].item()!r})."
            )
    elif v.min() < 0 or v.max() > 1:
        raise ValueError(
            f"{name} must be 0/1 labels (or probabilities in [0, 1]), "
            f"got values in [{v.min().item()!r}, {v.max().item()!r}]."
        )


def check_class_id_dtype(name: str, labels: ArrayLike) -> None:
    """Raise ``TypeError`` unless ``labels`` have an integer dtype (static: fires under ``jit``).

    Every signed and unsigned width is accepted. ``bool`` and float dtypes are
    refused, whole-number floats such as 1.0 included: a float where a class id is
    expected is more often probabilities or a mix-up than ids, and ``astype`` makes
    the intent explicit.
    """
    dtype = dtype_of(labels)
    if jnp.issubdtype(dtype, jnp.integer) and dtype != np.bool_:
        return
    if dtype == np.bool_:
        hint = "booleans are binary labels; cast with .astype(jnp.int32) for class ids 0/1"
    elif jnp.issubdtype(dtype, jnp.floating):
        hint = "floats are not taken as ids, even whole numbers; cast with .astype(jnp.int32)"
    else:
        hint = "class ids are non-negative integers"
    raise TypeError(f"{name} must be integer class ids, got dtype {dtype} ({hint}).")


def check_class_ids(name: str, labels: ArrayLike, num_classes: int) -> None:
    """Check class ids: an integer dtype of any width and, if concrete, values in [0, k).

    The range is tested on the values as given (no cast, so no wrap-around: a uint8
    id is compared with k = 300 as the number it is).

    Raises:
      TypeError: for a bool, float or other non-integer dtype (see
        :func:`check_class_id_dtype`); also under ``jit``.
      ValueError: if concrete ``labels`` fall outside ``[0, num_classes)``.
    """
    check_class_id_dtype(name, labels)
    v = concrete(labels)
    if v is None or v.size == 0:
        return
    bad = v[(v < 0) | (v >= num_classes)]
    if bad.size:
        raise ValueError(
            f"{name} must lie in [0, {num_classes}) for {num_classes} classes; "
            f"got {bad.size} out of range (e.g. {int(bad[0])})."
        )


def check_static_int(name: str, value: object, minimum: int) -> int:
    """``value`` as an ``int`` >= ``minimum`` (a static, structural argument)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be a Python int, got {type(value).__name__} {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


@functools.lru_cache(maxsize=8)
def _raw_key_shape(impl: str) -> tuple[int, ...]:
    """The shape of a raw (legacy) key of the default PRNG implementation ``impl``."""
    return jax.eval_shape(lambda: jax.random.key_data(jax.random.key(0))).shape


def check_key(key: Any, name: str = "key") -> PRNGKey:
    """``key`` as one typed PRNG key, checked at the boundary (on tracers too).

    Accepts what ``jax.random`` accepts: a typed key (``jax.random.key(0)``) or a
    legacy raw key, uint32 of shape (2,) for the default threefry implementation
    (``jax.random.PRNGKey(0)``), which is wrapped as a typed key.

    Raises:
      TypeError: naming ``name`` if ``key`` is not a PRNG key (an int, a float array).
      ValueError: naming ``name`` if it is a batch of keys, shape (N,) or (N, 2).
    """
    dtype, shape = getattr(key, "dtype", None), getattr(key, "shape", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if shape != ():
            raise ValueError(
                f"{name} must be a single PRNG key, got a batch of keys of shape {shape}; "
                "split it and pass one key (restarts use fold_in(key, r) of one key)."
            )
        return key
    raw = _raw_key_shape(jax.config.jax_default_prng_impl)
    if isinstance(key, np.ndarray | jax.Array) and dtype == np.uint32:
        if shape == raw:
            return jax.random.wrap_key_data(key)
        if shape[-len(raw) :] == raw:
            raise ValueError(
                f"{name} must be a single PRNG key, got a batch of raw keys of shape "
                f"{shape}; split it and pass one key."
            )
    if isinstance(key, int | np.integer) and not isinstance(key, bool):
        hint = f"jax.random.key({int(key)})"
    else:
        hint = "jax.random.key(0)"
    if shape is not None and dtype is not None:
        got = f"an array of dtype {dtype} and shape {shape}"
    else:
        got = f"{type(key).__name__} {key!r}"
    raise TypeError(
        f"{name} must be a JAX PRNG key, got {got}: pass {hint} (or a legacy uint32 key "
        f"of shape {raw} from jax.random.PRNGKey)."
    )


def _dtype(x: object) -> np.dtype:
    dtype = getattr(x, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.asarray(x).dtype


def check_numeric(name: str, x: ArrayLike) -> None:
    """Raise ``TypeError`` unless ``x`` has a bool, integer or real float dtype (static)."""
    if x is None:
        raise TypeError(f"{name} must be an array of numbers, got None.")
    try:
        dtype = _dtype(x)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}.") from None
    if not (dtype == np.bool_ or jnp.issubdtype(dtype, jnp.integer)) and not jnp.issubdtype(
        dtype, jnp.floating
    ):
        raise TypeError(f"{name} must be an array of real numbers, got dtype {dtype}.")


def check_scalar(
    name: str,
    value: ArrayLike,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Check a traceable scalar hyperparameter: shape () and a real dtype (static, so
    also while ``jit`` traces), and, when concrete, finite and within ``[lo, hi]``
    (``low_open``/``high_open`` exclude an end).

    Raises:
      TypeError: for a non-numeric ``value`` (a string, None).
      ValueError: for a non-scalar, NaN, inf or out-of-range ``value``.
    """
    check_numeric(name, value)
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got an array of shape {np.shape(value)}.")
    c = concrete(value)
    if c is None:
        return
    x = float(c)
    low_bad = x <= lo if low_open else x < lo
    high_bad = x >= hi if high_open else x > hi
    if not math.isfinite(x) or low_bad or high_bad:
        interval = f"{'(' if low_open else '['}{lo:g}, {hi:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a finite scalar in {interval}, got {x!r}.")

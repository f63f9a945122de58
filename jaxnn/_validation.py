"""Checks at the API boundary, outside traced code.

Shape checks use static shapes, so they also fire while ``jax.jit`` traces a
function, with the same message. Value checks (label ranges, NaN, rates) need
concrete values: they run when the argument is concrete (a Python number, a NumPy
array or a committed ``jax.Array``) and are skipped for tracers, as dm-haiku's
``dropout`` does, so that every numeric argument stays traceable under
``jit``/``vmap``.
"""

from __future__ import annotations

import numpy as np
from jax.core import Tracer

from jaxnn._typing import ArrayLike


def concrete(x: ArrayLike) -> np.ndarray | None:
    """``x`` as a NumPy array if its value is known now, else ``None`` (a tracer)."""
    if isinstance(x, Tracer):
        return None
    return np.asarray(x)


def check_finite(name: str, x: ArrayLike) -> None:
    """Raise ``ValueError`` if concrete ``x`` holds NaN or inf."""
    v = concrete(x)
    if v is None or not np.issubdtype(v.dtype, np.inexact):
        return
    bad = ~np.isfinite(v)
    if bad.any():
        n_nan, n_inf = int(np.isnan(v).sum()), int(np.isinf(v).sum())
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains {n_nan} NaN and {n_inf} inf value(s) (first at index {first}); "
            "clean or impute the data before fitting."
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


def check_binary_labels(name: str, y: ArrayLike) -> None:
    """Raise ``ValueError`` unless concrete ``y`` lies in [0, 1] (0/1 or soft targets)."""
    v = concrete(y)
    if v is None:
        return
    if np.isnan(v).any() if np.issubdtype(v.dtype, np.inexact) else False:
        raise ValueError(f"{name} contains NaN.")
    if v.size and (v.min() < 0 or v.max() > 1):
        raise ValueError(
            f"{name} must be 0/1 labels (or probabilities in [0, 1]), "
            f"got values in [{v.min()}, {v.max()}]."
        )


def check_class_ids(name: str, labels: ArrayLike, num_classes: int) -> None:
    """Raise ``ValueError`` unless ``labels`` are integers and, if concrete, in [0, k)."""
    dtype = np.asarray(labels).dtype if not isinstance(labels, Tracer) else labels.dtype
    if not np.issubdtype(dtype, np.integer):
        raise TypeError(f"{name} must be integer class ids, got dtype {dtype}.")
    v = concrete(labels)
    if v is None or v.size == 0:
        return
    lo, hi = int(v.min()), int(v.max())
    if lo < 0 or hi >= num_classes:
        bad = v[(v < 0) | (v >= num_classes)]
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

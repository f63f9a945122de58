"""Keyed generators for the 2-D data sets the course draws.

Each returns ``(x, y)``: ``x`` float32 (n, 2), ``y`` int32 (n,) in {0, 1} (``n // 2``
of class 0, the rest class 1, or as balanced as n allows), in an order shuffled by
the key. ``n`` is static; ``noise`` is a traceable standard deviation.
"""

from __future__ import annotations

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import _validation as v
from jaxnn._typing import Array, ArrayLike, PRNGKey
from jaxnn._validation import check_key, check_numeric


def _compiled(fn):
    """Compile a generator as one program per (n, structural options).

    Eagerly, a generator dispatches (and compiles) each operation on its own, which
    costs seconds; compiled, a second call with the same n is instant. Arguments
    are checked outside the compiled function, where their values are concrete.
    """
    static = [a for a in ("n", "factor", "turns") if a in inspect.signature(fn).parameters]
    compiled = jax.jit(fn, static_argnames=static)

    options = [a for a, p in inspect.signature(fn).parameters.items() if p.kind is p.KEYWORD_ONLY]

    @functools.wraps(fn)
    def wrapper(key, n, **kwargs):
        unknown = sorted(set(kwargs) - set(options))
        if unknown:
            raise TypeError(
                f"{fn.__name__}: unknown option(s) {unknown}; it takes {options} (and key, n)."
            )
        check_key(key, f"{fn.__name__}: key")
        _check(n, kwargs.get("noise", 0.0))
        if "margin" in kwargs:
            _check_positive("margin", kwargs["margin"])
        for name in ("factor", "turns"):
            if name in kwargs:
                _check_real(name, kwargs[name])
        return compiled(key, n, **kwargs)

    return wrapper


def _labels(n: int) -> Array:
    return (jnp.arange(n) >= n // 2).astype(jnp.int32)


def _shuffle(key: PRNGKey, x: Array, y: Array) -> tuple[Array, Array]:
    order = jax.random.permutation(key, x.shape[0])
    return x[order].astype(jnp.float32), y[order]


def _check_real(name: str, value: object) -> None:
    """A structural option: a Python (or NumPy) real number (its range is checked by
    the generator that takes it)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}.")


def _check_scalar(name: str, value: ArrayLike) -> np.ndarray | None:
    """Shape () and a real dtype (static, also for tracers); the value if concrete."""
    check_numeric(name, value)
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got an array of shape {np.shape(value)}.")
    return v.concrete(value)


def _check_positive(name: str, value: ArrayLike) -> None:
    c = _check_scalar(name, value)
    if c is not None and not (0 < c < float("inf")):
        raise ValueError(f"{name} must be a finite scalar > 0, got {c}.")


def _check(n: int, noise: ArrayLike) -> int:
    n = v.check_static_int("n", n, 2)
    nv = _check_scalar("noise", noise)
    if nv is not None and not (nv >= 0 and float(nv) < float("inf")):
        raise ValueError(f"noise must be a finite scalar >= 0, got {nv}.")
    return n


@_compiled
def make_blobs(
    key: PRNGKey, n: int, *, noise: ArrayLike = 0.5, margin: ArrayLike = 0.1
) -> tuple[Array, Array]:
    """Two linearly separable Gaussian blobs, centred at (-1, -1) (class 0) and (1, 1).

    Points are drawn ``N(centre, noise^2 I)`` and then pushed along ``u = (1, 1)/√2``
    so that every class-1 point has ``u·x >= margin`` and every class-0 point
    ``u·x <= -margin``: the line ``x1 + x2 = 0`` separates them, always (``margin``
    must be > 0; with 0, every pushed point would lie on the line).

    >>> x, y = make_blobs(jax.random.key(0), 100)
    >>> bool(jnp.all((x.sum(1) > 0) == (y == 1)))
    True
    """
    n = _check(n, noise)
    _check_positive("margin", margin)
    y = _labels(n)
    sign = (2 * y - 1).astype(jnp.float32)[:, None]
    x = sign + noise * jax.random.normal(jax.random.fold_in(key, 0), (n, 2))
    u = jnp.array([1.0, 1.0]) / jnp.sqrt(2.0)
    proj = x @ u
    s = sign[:, 0]
    target = s * jnp.maximum(s * proj, margin)
    x = x + (target - proj)[:, None] * u[None, :]
    return _shuffle(jax.random.fold_in(key, 1), x, y)


@_compiled
def make_xor(key: PRNGKey, n: int, *, noise: ArrayLike = 0.25) -> tuple[Array, Array]:
    """XOR: four Gaussian clusters at (±1, ±1); class 1 where the signs differ.

    Corners are assigned in turn, so each holds about n / 4 points.

    >>> x, y = make_xor(jax.random.key(0), 8, noise=0.0)
    >>> bool(jnp.all((x[:, 0] * x[:, 1] < 0) == (y == 1)))
    True
    """
    n = _check(n, noise)
    y = _labels(n)
    i = jnp.arange(n)
    # class 0 corners: (1, 1), (-1, -1); class 1: (1, -1), (-1, 1)
    a = jnp.where(i % 2 == 0, 1.0, -1.0)
    centres = jnp.stack([a, jnp.where(y == 1, -a, a)], axis=1)
    x = centres + noise * jax.random.normal(jax.random.fold_in(key, 0), (n, 2))
    return _shuffle(jax.random.fold_in(key, 1), x, y)


@_compiled
def make_moons(key: PRNGKey, n: int, *, noise: ArrayLike = 0.2) -> tuple[Array, Array]:
    """Two interleaving half circles (as scikit-learn's ``make_moons``), plus noise.

    Class 0: ``(cos t, sin t)``; class 1: ``(1 - cos t, 0.5 - sin t)``, t in [0, π].
    """
    n = _check(n, noise)
    y = _labels(n)
    n0 = n // 2
    t = jnp.concatenate([jnp.linspace(0, jnp.pi, n0), jnp.linspace(0, jnp.pi, n - n0)])
    upper = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    lower = jnp.stack([1 - jnp.cos(t), 0.5 - jnp.sin(t)], axis=1)
    x = jnp.where((y == 1)[:, None], lower, upper)
    x = x + noise * jax.random.normal(jax.random.fold_in(key, 0), (n, 2))
    return _shuffle(jax.random.fold_in(key, 1), x, y)


@_compiled
def make_circles(
    key: PRNGKey, n: int, *, noise: ArrayLike = 0.1, factor: float = 0.5
) -> tuple[Array, Array]:
    """Two concentric circles: class 0 of radius 1, class 1 of radius ``factor`` < 1."""
    n = _check(n, noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor}.")
    y = _labels(n)
    t = jax.random.uniform(jax.random.fold_in(key, 2), (n,), maxval=2 * jnp.pi)
    r = jnp.where(y == 1, factor, 1.0)
    x = r[:, None] * jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    x = x + noise * jax.random.normal(jax.random.fold_in(key, 0), (n, 2))
    return _shuffle(jax.random.fold_in(key, 1), x, y)


@_compiled
def make_spirals(
    key: PRNGKey, n: int, *, noise: ArrayLike = 0.05, turns: float = 1.5
) -> tuple[Array, Array]:
    """Two interleaved Archimedean spirals, the second the first rotated by π.

    Radius grows linearly from 0.1 to 1 over ``turns`` revolutions.
    """
    n = _check(n, noise)
    if not 0 < turns < float("inf"):
        raise ValueError(f"turns must be a finite number > 0, got {turns}.")
    y = _labels(n)
    s = jax.random.uniform(jax.random.fold_in(key, 2), (n,))
    theta = 2 * jnp.pi * turns * s + jnp.pi * y.astype(jnp.float32)
    r = 0.1 + 0.9 * s
    x = r[:, None] * jnp.stack([jnp.cos(theta), jnp.sin(theta)], axis=1)
    x = x + noise * jax.random.normal(jax.random.fold_in(key, 0), (n, 2))
    return _shuffle(jax.random.fold_in(key, 1), x, y)

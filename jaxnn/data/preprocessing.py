"""Standardisation and keyed train/validation/test splits."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import _validation as v
from jaxnn._typing import Array, ArrayLike, PRNGKey
from jaxnn._validation import check_key, check_numeric


class Standardizer(NamedTuple):
    """Per-feature affine map ``(x - mean) / scale`` fitted on training data.

    A pytree (a NamedTuple of arrays), so it can be saved and passed through ``jit``.
    Features with zero variance get ``scale = 1`` (as scikit-learn's
    ``StandardScaler``), so they map to 0 instead of NaN. The statistics are computed
    on the data shifted by its first row, so a constant column gets exactly its value
    as mean and standard deviation 0 (a float32 mean of repeated 3.3s is not exactly
    3.3, which would otherwise scale rounding error up to +-1).

    >>> s = Standardizer.fit(jnp.array([[0.0, 5.0], [2.0, 5.0]]))
    >>> s.transform(jnp.array([[1.0, 5.0]]))
    Array([[0., 0.]], dtype=float32)
    """

    mean: Array  # (d,)
    scale: Array  # (d,)

    @classmethod
    def fit(cls, x: ArrayLike) -> Standardizer:
        """Mean and (population) standard deviation of each column of ``x`` (n, d)."""
        check_numeric("Standardizer.fit: x", x)
        v.check_ndim("Standardizer.fit: x", x, (2,), "(n, d)")
        if np.shape(x)[0] == 0:
            raise ValueError(f"Standardizer.fit: x has no rows (shape {np.shape(x)}).")
        v.check_finite("Standardizer.fit: x", x)
        x = jnp.asarray(x, jnp.float32)
        shift = x[:1]  # exact for constant columns, and less cancellation for offset ones
        std = jnp.std(x - shift, axis=0)
        mean = shift[0] + jnp.mean(x - shift, axis=0)
        return cls(mean, jnp.where(std > 0, std, jnp.ones_like(std)))

    def _check_features(self, name: str, x: ArrayLike) -> None:
        check_numeric(f"Standardizer: {name}", x)
        if np.shape(x)[-1:] != np.shape(self.mean):
            raise ValueError(
                f"Standardizer was fitted on {np.shape(self.mean)[0]} features, "
                f"got {name} of shape {np.shape(x)}."
            )

    def transform(self, x: ArrayLike) -> Array:
        """``(x - mean) / scale`` for ``x`` of shape (n, d)."""
        self._check_features("x", x)
        x = jnp.asarray(x, jnp.float32)
        lead = (1,) * (x.ndim - 1)
        return (x - self.mean.reshape(lead + self.mean.shape)) / self.scale.reshape(
            lead + self.scale.shape
        )

    def inverse(self, z: ArrayLike) -> Array:
        """``z * scale + mean``, undoing :meth:`transform`."""
        self._check_features("z", z)
        z = jnp.asarray(z, jnp.float32)
        lead = (1,) * (z.ndim - 1)
        return z * self.scale.reshape(lead + self.scale.shape) + self.mean.reshape(
            lead + self.mean.shape
        )


def standardize(x: ArrayLike) -> Array:
    """``x`` (n, d) with each column shifted to mean 0 and scaled to standard deviation 1.

    To apply training statistics to validation data, use :class:`Standardizer`.
    """
    return Standardizer.fit(x).transform(x)


class DataSplits(NamedTuple):
    """Three ``(x, y)`` pairs: train, validation and test."""

    train: tuple[Array, Array]
    val: tuple[Array, Array]
    test: tuple[Array, Array]


def train_val_test_split(
    key: PRNGKey, x: ArrayLike, y: ArrayLike, *, val: float = 0.2, test: float = 0.2
) -> DataSplits:
    """Shuffle ``(x, y)`` by ``key`` and cut it into train, validation and test sets.

    Sizes are ``round(val * n)`` and ``round(test * n)``; the train set takes the rest
    and must keep at least one example. ``val = 0`` or ``test = 0`` gives an empty
    split.

    Args:
      key: PRNG key for the shuffle.
      x: (n, ...) inputs.
      y: (n, ...) targets.
      val, test: fractions in [0, 1) with ``val + test < 1``.

    >>> s = train_val_test_split(jax.random.key(0), jnp.zeros((10, 2)), jnp.zeros(10))
    >>> [part[0].shape[0] for part in s]
    [6, 2, 2]
    """
    check_key(key, "train_val_test_split: key")
    n = np.shape(x)[0] if np.ndim(x) else 0
    if np.ndim(x) < 1 or np.ndim(y) < 1 or np.shape(y)[0] != n:
        raise ValueError(
            f"x and y must share their first (example) axis; got x {np.shape(x)}, y {np.shape(y)}."
        )
    for name, f in (("val", val), ("test", test)):
        if isinstance(f, bool) or not isinstance(f, int | float | np.integer | np.floating):
            raise TypeError(f"{name} must be a fraction in [0, 1), got {type(f).__name__} {f!r}.")
        if not 0 <= f < 1:
            raise ValueError(f"{name} must be a fraction in [0, 1), got {f}.")
    n_val, n_test = round(val * n), round(test * n)
    n_train = n - n_val - n_test
    if n_train < 1:
        raise ValueError(f"val={val} and test={test} leave no training examples out of {n}.")
    order = jax.random.permutation(key, n)
    x, y = jnp.asarray(x)[order], jnp.asarray(y)[order]
    a, b = n_train, n_train + n_val
    return DataSplits((x[:a], y[:a]), (x[a:b], y[a:b]), (x[b:], y[b:]))

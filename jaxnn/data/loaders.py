"""Loaders for real data: the course's 100 points and scikit-learn's bundled sets.

scikit-learn ships breast-cancer and digits inside its wheel (no download); it is an
optional dependency, installed by ``pip install 'jaxnn[experiments]'``.
"""

from __future__ import annotations

from importlib import resources

import jax.numpy as jnp
import numpy as np

from jaxnn._typing import Array


def _sklearn_datasets():
    try:
        from sklearn import datasets
    except ImportError as e:
        raise ImportError(
            "this loader needs scikit-learn, which jaxnn's 'experiments' extra installs: "
            "pip install 'jaxnn[experiments]'"
        ) from e
    return datasets


def load_course_points() -> tuple[Array, Array]:
    """The course's 100 labelled 2-D points (not linearly separable).

    Used by the course's perceptron quiz and gradient-descent lab; from
    udacity/deep-learning-v2-pytorch ``intro-neural-networks/gradient-descent/data.csv``
    (MIT licence, Copyright (c) 2018 Udacity).

    Returns:
      ``x`` float32 (100, 2) and ``y`` int32 (100,) in {0, 1}.

    >>> x, y = load_course_points()
    >>> x.shape, int(y.sum())
    ((100, 2), 50)
    """
    text = resources.files("jaxnn.data").joinpath("course_2d_points.csv").read_text()
    table = np.loadtxt(text.splitlines(), delimiter=",", dtype=np.float64)
    return jnp.asarray(table[:, :2], jnp.float32), jnp.asarray(table[:, 2], jnp.int32)


def load_breast_cancer() -> tuple[Array, Array]:
    """Wisconsin breast-cancer data: ``x`` float32 (569, 30), ``y`` int32 (569,) (1 = benign).

    Features are raw (of very different scales): standardise before fitting.
    """
    data = _sklearn_datasets().load_breast_cancer()
    return jnp.asarray(data.data, jnp.float32), jnp.asarray(data.target, jnp.int32)


def load_digits() -> tuple[Array, Array]:
    """8x8 handwritten digits: ``x`` float32 (1797, 64) scaled to [0, 1], ``y`` int32 in [0, 10)."""
    data = _sklearn_datasets().load_digits()
    return jnp.asarray(data.data / 16.0, jnp.float32), jnp.asarray(data.target, jnp.int32)

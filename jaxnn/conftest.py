"""Doctest namespace: examples in docstrings may use ``jax`` and ``jnp`` directly."""

import jax
import jax.numpy as jnp
import pytest

import jaxnn


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace["jax"] = jax
    doctest_namespace["jnp"] = jnp
    doctest_namespace["jaxnn"] = jaxnn

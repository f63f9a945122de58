"""Predictions of a trained model: class ids and class probabilities (lessons 5, 6).

``predict`` applies the model without dropout and takes the course's decision
rule (``logit >= 0`` for one logit, the argmax for k >= 2); ``predict_proba``
turns the same logits into probabilities (sigmoid or softmax). Both are pure
functions of ``(params, x)``: ``jax.jit`` them with the model closed over (or
static), and predict with every member of a study at once with ``jax.vmap`` over
the stacked params::

    jax.vmap(lambda p: predict(model, p, x))(study.results.params)  # (N, n)
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import _validation as v
from jaxnn._typing import Array, ArrayLike, Params
from jaxnn.activations import sigmoid, softmax
from jaxnn.models import MLP, as_model
from jaxnn.objective import predictions


def predict(model: Any, params: Params, x: ArrayLike) -> Array:
    """Predicted class ids: ``1[logit >= 0]`` for a binary model, the argmax otherwise.

    The model is applied without dropout, ``logits = model.apply(params, x)``; a
    score of exactly 0 counts as class 1, as :func:`jaxnn.predictions` does (ties
    between multiclass logits go to the lowest id).

    Args:
      model: an :class:`~jaxnn.MLP`, a :class:`~jaxnn.Model`, an ``(init, apply)``
        pair, or anything with ``init(key)`` and ``apply(params, x)``.
      params: the model's params (``result.params`` of a fit; one member of a
        study's stacked params, e.g. under ``jax.vmap``).
      x: inputs (n, d), n >= 1, of a real dtype; checked for NaN/inf when concrete.

    Returns:
      (n,) int32 class ids: 0/1 for a model with one logit per example (logits (n,)
      or (n, 1)), ids in [0, k) for k >= 2 logits (n, k).

    Raises:
      ValueError: naming ``x`` if it is not 2-D, has no rows, holds NaN or inf, or
        has a number of features the model does not take; naming ``params`` if
        their leaves' shapes differ from the model's ``init`` (stacked params of a
        study included: vmap over them); naming the logits' shape if the model
        returns anything but (n,), (n, 1) or (n, k).
      TypeError: naming ``model`` if it is not a model; ``params`` if they are a
        :class:`~jaxnn.FitResult`, :class:`~jaxnn.FitState` or
        :class:`~jaxnn.StudyResult` rather than params (the message says which
        field to pass); ``x`` if its dtype is not real numbers (integers and floats
        are taken; bool, complex and others are not).

    >>> net = jaxnn.MLP((2, 8, 1))
    >>> params = net.init(jax.random.key(0))
    >>> predict(net, params, jnp.zeros((3, 2)))  # zero biases: every logit is 0
    Array([1, 1, 1], dtype=int32)
    """
    kind, logits = _logits("predict", model, params, x)
    return predictions(kind, logits)


def predict_proba(model: Any, params: Params, x: ArrayLike) -> Array:
    """Class probabilities: ``P(y = 1) = sigmoid(z)`` (binary) or ``softmax(z)`` rows.

    With ``z = model.apply(params, x)`` (no dropout): one logit per example gives
    ``P(y = 1 | x_i) = 1 / (1 + e^{-z_i})``, shape (n,); k >= 2 logits give
    ``P(y = j | x_i) = e^{z_ij} / sum_l e^{z_il}``, shape (n, k), rows summing to 1.
    :func:`predict` is the class these make most likely (``P >= 0.5`` for binary).

    Args:
      model, params, x: as :func:`predict`.

    Returns:
      (n,) probabilities of class 1 for a binary model, (n, k) for k >= 2 classes,
      in the logits' float dtype (float32 for jaxnn's models).

    Raises:
      ValueError / TypeError: as :func:`predict`.

    >>> net = jaxnn.MLP((2, 8, 1))
    >>> predict_proba(net, net.init(jax.random.key(0)), jnp.zeros((3, 2)))
    Array([0.5, 0.5, 0.5], dtype=float32)
    """
    kind, logits = _logits("predict_proba", model, params, x)
    return _probabilities(kind, logits)


@functools.partial(jax.jit, static_argnums=0)
def _probabilities(kind: str, logits: Array) -> Array:
    if kind == "binary":
        return sigmoid(logits.reshape(logits.shape[0]))
    return softmax(logits, axis=-1)


def _logits(name: str, model: Any, params: Params, x: ArrayLike) -> tuple[str, Array]:
    """``(kind, logits)`` of ``model`` at ``(params, x)``, after the boundary checks
    (static shapes and dtypes, so also while ``jit`` traces; values when concrete)."""
    model = _as_model(name, model, params)
    _check_not_a_result(name, params)
    v.check_numeric(f"{name}: x", x)
    if v.dtype_of(x) == np.bool_:
        raise TypeError(
            f"{name}: x must be an array of real numbers (an integer or float dtype), got "
            "dtype bool; if the booleans are features, pass x.astype(jnp.float32)."
        )
    v.check_ndim(f"{name}: x", x, (2,), "(n, d): one row of d features per example")
    x_shape = np.shape(x)
    if x_shape[0] == 0:
        raise ValueError(f"{name}: x has no rows (shape {x_shape}); pass at least one example.")
    v.check_finite(f"{name}: x", x, hint="clean or impute the data before predicting")
    if isinstance(model, MLP) and x_shape[1] != model.sizes[0]:
        raise ValueError(
            f"{name}: x has {x_shape[1]} features (shape {x_shape}) but the model "
            f"{model!r} takes {model.sizes[0]}."
        )
    _check_params(name, model, params)
    try:
        logits = _apply(model, params, x)
    except (TypeError, ValueError) as e:  # e.g. a matmul of shapes that do not chain
        cls = TypeError if isinstance(e, TypeError) else ValueError
        raise cls(
            f"{name}: model.apply(params, x) failed for x of shape {x_shape}; do params "
            f"fit the model, and x's {x_shape[1]} features its input? {type(e).__name__}: {e}"
        ) from e
    v.check_numeric(f"{name}: logits of model.apply(params, x)", logits)
    shape = np.shape(logits)
    if not (len(shape) in (1, 2) and shape[0] == x_shape[0] and shape[1:] != (0,)):
        raise ValueError(
            f"{name}: model.apply(params, x) returned logits of shape {shape}; expected "
            f"(n,) or (n, 1) (binary) or (n, k) with k >= 2 (multiclass), n = {x_shape[0]} "
            f"as x {x_shape}."
        )
    kind = "binary" if len(shape) == 1 or shape[1] == 1 else "multiclass"
    logits = jnp.asarray(logits)
    return kind, logits


def _apply(model: Any, params: Params, x: ArrayLike) -> Array:
    """``model.apply(params, x)`` as one compiled program for a hashable model (run op
    by op, each op a compile of its own on a first call), eagerly otherwise."""
    try:
        hash(model)
    except TypeError:
        return model.apply(params, x)
    return _apply_jit(model, params, x)


_apply_jit = jax.jit(lambda model, params, x: model.apply(params, x), static_argnums=0)


def _as_model(name: str, model: Any, params: Any) -> Any:
    """``as_model(model)``, its ``TypeError`` shortened: the object's type, never its
    repr (a list of params would print every array), and a hint if the arguments
    look swapped."""
    try:
        return as_model(model)
    except TypeError:
        pass
    swapped = ""
    if _is_model(params):
        swapped = f"; params is a model: were they swapped? The order is {name}(model, params, x)"
    raise TypeError(
        f"{name}: model must be an MLP, a Model(init, apply), an (init_fn, apply_fn) pair, "
        f"or any object with init(key) and apply(params, x); got {_type_name(model)}{swapped}."
    ) from None


def _is_model(obj: Any) -> bool:
    try:
        as_model(obj)
    except TypeError:
        return False
    return True


def _type_name(obj: Any) -> str:
    """``a list of 2``, ``a dict``, ``a str``: the type of ``obj`` without its values."""
    if obj is None:
        return "None"
    kind = type(obj).__name__
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    if isinstance(obj, list | tuple | dict):
        return f"{article} {kind} of {len(obj)}"
    shape = getattr(obj, "shape", None)
    if isinstance(shape, tuple):
        return f"{article} {kind} of shape {shape}"
    return f"{article} {kind}"


def _check_not_a_result(name: str, params: Any) -> None:
    """Raise ``TypeError`` naming ``params`` if they are a fit's or a study's result
    (or a fit's state) rather than the params inside it."""
    from jaxnn.study import StudyResult
    from jaxnn.training import FitResult, FitState

    if isinstance(params, StudyResult):
        what = (
            "a StudyResult; pass study.best_result.best_params, or jax.vmap over "
            "study.results.params"
        )
    elif isinstance(params, FitResult):
        what = "a FitResult; pass result.params or result.best_params"
    elif isinstance(params, FitState):
        what = "a FitState; pass state.params"
    else:
        return
    raise TypeError(f"{name}: params must be the model's params, got {what}.")


def _check_params(name: str, model: Any, params: Params) -> None:
    """Raise ``ValueError`` naming ``params`` if their leaves' paths or shapes differ
    from those of ``model.init`` (a static check; skipped for a model whose ``init``
    cannot be traced abstractly)."""
    expected = _init_shapes(model)
    if expected is None:
        return
    got = [(jax.tree_util.keystr(p), np.shape(a)) for p, a in _leaves_with_path(params)]
    if got == expected:
        return
    if len(got) == len(expected) and all(
        g[0] == e[0] and len(g[1]) == len(e[1]) + 1 and g[1][1:] == e[1]
        for g, e in zip(got, expected, strict=True)
    ):
        lead = {g[1][0] for g in got}
        if len(lead) == 1:
            raise ValueError(
                f"{name}: params are a stack of {lead.pop()} members (a study's results); "
                f"predict with one, or with all at once: jax.vmap(lambda p: {name}(model, "
                "p, x))(params)."
            )
    for (g_path, g_shape), (e_path, e_shape) in zip(got, expected, strict=False):
        if g_path != e_path:
            raise ValueError(
                f"{name}: params do not fit the model {_short(model)}: params has a leaf "
                f"params{g_path} where model.init gives params{e_path} ({len(got)} vs "
                f"{len(expected)} leaves)."
            )
        if g_shape != e_shape:
            raise ValueError(
                f"{name}: params do not fit the model {_short(model)}: params{g_path} has "
                f"shape {g_shape}, model.init gives {e_shape}."
            )
    raise ValueError(
        f"{name}: params do not fit the model {_short(model)}: params has {len(got)} "
        f"leaves, model.init gives {len(expected)}."
    )


def _leaves_with_path(tree: Any) -> list[tuple[Any, Any]]:
    return jax.tree_util.tree_flatten_with_path(tree)[0]


def _short(model: Any) -> str:
    return repr(model) if isinstance(model, MLP) else type(model).__name__


def _init_shapes(model: Any) -> list[tuple[str, tuple[int, ...]]] | None:
    try:
        return _cached_init_shapes(model)
    except TypeError:  # an unhashable model: not cached
        return _abstract_init_shapes(model)


@functools.lru_cache(maxsize=32)
def _cached_init_shapes(model: Any) -> list[tuple[str, tuple[int, ...]]] | None:
    return _abstract_init_shapes(model)


def _abstract_init_shapes(model: Any) -> list[tuple[str, tuple[int, ...]]] | None:
    try:
        abstract = jax.eval_shape(model.init, jax.random.key(0))
    except Exception:  # an init that needs more than a key, or concrete values: no check
        return None
    return [(jax.tree_util.keystr(p), tuple(a.shape)) for p, a in _leaves_with_path(abstract)]

"""Where a fit starts: from given params, or from the state of an earlier fit.

A fit normally starts from ``model.init(fold_in(key, 0))``. :func:`jaxnn.fit` and
the studies can instead start from params the user gives (a pretrained network, a
study's best member), or *continue* a fit from its :class:`~jaxnn.FitState`: the
epoch counter, the optimiser state (so the schedule's count), the training key,
the early-stopping record and the history all carry on, so ``k`` epochs of a fit
continued from ``e`` epochs are bitwise the ``e + k`` epochs of one straight fit
with the same key and config.

Everything here runs on the host, before anything is placed on a device: the given
tree is compared with the structure, shapes and dtypes the compiled fit expects
(errors name both), and a state's history is resized to the new number of epochs
(NaN for the epochs still to run). Values never enter a compiled program's
identity, so starting from other params or another state compiles nothing.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn import _validation as v


def _describe(tree: Any) -> str:
    """The structure of ``tree`` and its leaves' shapes and dtypes, short enough to
    read (no leaf's or node's own ``repr``: those may be long, or fail)."""
    leaves, treedef = jax.tree.flatten(tree)
    shown = ", ".join(
        f"{_dtype_name(a)}{list(getattr(a, 'shape', np.shape(a)))}" for a in leaves[:6]
    )
    text = f"{treedef} with {len(leaves)} leaves ({shown}{', ...' if len(leaves) > 6 else ''})"
    return text if len(text) <= 500 else text[:500] + " ..."


def result_kind(tree: Any) -> str | None:
    """``"FitResult"``, ``"FitState"`` or ``"StudyResult"`` if ``tree`` is one (by
    its fields), else ``None``: what a user passes by mistake where params belong."""
    for kind, fields in (
        ("StudyResult", ("results", "best")),
        ("FitResult", ("best_params", "history")),
        ("FitState", ("opt_state", "early")),
    ):
        if all(hasattr(tree, f) for f in fields):
            return kind
    return None


def _dtype_name(a: Any) -> str:
    return str(a.dtype) if hasattr(a, "dtype") else str(np.asarray(a).dtype)


def check_tree(name: str, tree: Any, like: Any, lead: tuple[int, ...] = ()) -> None:
    """``tree`` has ``like``'s structure, and each leaf ``lead + shape`` of ``like``'s
    leaf and its dtype.

    Raises:
      ValueError: naming ``name``, with both structures (or the first leaf whose
        shape or dtype differs, by its path).
    """
    got_def, want_def = jax.tree.structure(tree), jax.tree.structure(like)
    if got_def != want_def:
        raise ValueError(
            f"{name} does not have the structure expected: got {_describe(tree)}, "
            f"expected {_describe(like)}"
            + (f" (each leaf with leading axes {lead})" if lead else "")
            + "."
        )
    paths = jax.tree_util.tree_flatten_with_path(like)[0]
    for (path, want), got in zip(paths, jax.tree.leaves(tree), strict=True):
        shape, dtype = tuple(np.shape(got)), _dtype_name(got)
        if shape != lead + tuple(want.shape) or dtype != str(want.dtype):
            raise ValueError(
                f"{name}{jax.tree_util.keystr(path)} has shape {shape} and dtype {dtype}; "
                f"expected shape {lead + tuple(want.shape)} and dtype {want.dtype}"
                + (f" (leading axes {lead} for the members)" if lead else "")
                + "."
            )


def check_params(name: str, params: Any, like: Any, lead: tuple[int, ...] = ()) -> Any:
    """Params to start from, checked against ``like`` (the model's params, e.g.
    ``jax.eval_shape(model.init, key)``) and returned as arrays of like's dtypes.

    Leaves may be any array-like of real numbers (NumPy, lists, other float dtypes);
    they must have like's structure and shapes (with leading axes ``lead`` for a
    study's members) and be finite.

    Raises:
      ValueError / TypeError: naming ``name`` and the leaf, with what was expected.
    """
    kind = result_kind(params)
    if kind is not None:
        fix = {
            "FitResult": "result.params or result.best_params",
            "FitState": "state.params",
            "StudyResult": "study.results.params (stacked) or study.best_result.best_params",
        }[kind]
        raise TypeError(f"{name} must be the model's params, got a {kind}; pass {fix}.")
    if params is None or not jax.tree.leaves(params):
        raise ValueError(
            f"{name} must be a pytree of arrays (the model's params), got {type(params).__name__}."
        )
    converted = []
    leaves_like = jax.tree.leaves(like)
    if len(jax.tree.leaves(params)) == len(leaves_like):
        for a, want in zip(jax.tree.leaves(params), leaves_like, strict=True):
            dt = np.result_type(a) if not hasattr(a, "dtype") else a.dtype
            if not (np.issubdtype(dt, np.floating) or np.issubdtype(dt, np.integer)):
                raise TypeError(f"{name}: every leaf must hold real numbers, got dtype {dt}.")
            converted.append(
                a if getattr(a, "dtype", None) == want.dtype else np.asarray(a, want.dtype)
            )
        params = jax.tree.unflatten(jax.tree.structure(params), converted)
    check_tree(name, params, like, lead)
    for path, a in jax.tree_util.tree_flatten_with_path(params)[0]:
        v.check_finite(f"{name}{jax.tree_util.keystr(path)}", a)
    return jax.tree.map(lambda a: a if isinstance(a, jax.Array) else jax.device_put(a), params)


def keys_as_data(tree: Any) -> Any:
    """``tree`` with its typed PRNG keys as raw key data (pure: works under
    ``jax.eval_shape``)."""
    is_key = lambda a: jnp.issubdtype(getattr(a, "dtype", np.float32), jax.dtypes.prng_key)
    return jax.tree.map(lambda a: jax.random.key_data(a) if is_key(a) else a, tree)


def check_state(name: str, host: Any, like: Any, lead: tuple[int, ...] = ()) -> None:
    """A host state (raw key data) against ``like`` (the state this fit would start
    from, keys as data), part by part, so that the error says what differs: the
    params (another model), the optimiser state (another optimizer, ``l1_mode`` or
    set of ``FitConfig.hyperparams`` names), or the rest.

    Raises:
      ValueError: naming ``name`` and the part.
    """
    check_tree(f"{name}.params", host.params, like.params, lead)
    if jax.tree.structure(host.opt_state) != jax.tree.structure(like.opt_state):
        names = [_hyperparam_names(t) for t in (host.opt_state, like.opt_state)]
        if names[0] is not None and names[1] is not None and names[0] != names[1]:
            raise ValueError(
                f"{name}.opt_state was trained with the optimizer's hyperparameters "
                f"{names[0]}, and this fit gives {names[1]} (FitConfig.hyperparams names "
                "are structure, their values data): continue with the same names."
            )
        raise ValueError(
            f"{name}.opt_state does not match this fit's optimizer: the state was trained "
            "with another optimizer, l1_mode, or set of FitConfig.hyperparams names (the "
            "names are structure, their values data); continue with the same ones. Got "
            f"{_describe(host.opt_state)}, expected {_describe(like.opt_state)}."
        )
    check_tree(name, host, like, lead)


def _hyperparam_names(opt_state: Any) -> list[str] | None:
    """The hyperparameter names of the first ``inject_hyperparams`` state in
    ``opt_state``, or ``None``."""
    found = jax.tree.leaves(opt_state, is_leaf=lambda n: hasattr(n, "hyperparams"))
    for node in found:
        if hasattr(node, "hyperparams"):
            return sorted(node.hyperparams)
    return None


def host_state(state: Any) -> Any:
    """``state`` on the host as NumPy arrays, its typed PRNG keys as raw key data."""
    data = keys_as_data(state)
    leaves = jax.tree.leaves(data)
    if all(getattr(a, "is_fully_addressable", True) for a in leaves):
        return jax.device_get(data)
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(data, tiled=True)


def resize_history(history: Any, epochs: int, done: int, name: str = "state") -> Any:
    """A history (leaves ``(..., E)``) as ``(..., epochs)``: cut or padded with NaN.

    Raises:
      ValueError: if ``epochs`` is less than ``done``, the epochs already run.
    """
    if epochs < done:
        raise ValueError(
            f"FitConfig.epochs={epochs} is fewer than the {done} epochs {name} has already "
            f"run; to continue, give epochs >= {done} (the total, as one straight fit's)."
        )

    def one(h):
        h = np.asarray(h)
        if h.shape[-1] >= epochs:
            return h[..., :epochs]
        pad = np.full((*h.shape[:-1], epochs - h.shape[-1]), np.nan, h.dtype)
        return np.concatenate([h, pad], axis=-1)

    return jax.tree.map(one, history)

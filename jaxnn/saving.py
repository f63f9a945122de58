"""Save and load params, fit results and studies: orbax-checkpoint arrays and a JSON map.

``save(path, tree)`` writes a directory holding the tree's arrays (orbax's
``StandardSave``: tensorstore arrays, no pickle) and ``jaxnn_save.json``, a
description of the tree: its structure (dicts, lists, tuples, ``None`` and
NamedTuples by class name and fields), and each leaf's path, shape, dtype and type
(a jax array, a NumPy array or scalar, a Python number), with typed PRNG keys
marked with their implementation (their key data is stored, and they come back as
typed keys). NumPy leaves and Python numbers are stored in their own dtype (a
float64 summary stays float64 without ``jax_enable_x64``). ``load(path, like)``
checks what it reads against ``like`` before returning it in ``like``'s structure
and leaf types; ``load(path)`` rebuilds the tree from the description.

A save is written to a hidden temporary directory beside ``path`` and renamed to
``path`` only when complete, so an interrupted save never leaves a half-written
``path``. A save is written by one process: arrays spread over several processes
are not supported (a study's ``checkpoint_dir`` handles those).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from jaxnn.checkpoint import call_orbax

_FORMAT = "jaxnn-save-v1"
_META = "jaxnn_save.json"
_ARRAYS = "arrays"
_LONG = 300  # treedefs longer than this are shortened in messages


def save(path: str | os.PathLike, tree: Any, *, overwrite: bool = False) -> str:
    """Save a pytree of arrays to the directory ``path``; returns its absolute path.

    ``tree`` may be params (``result.params``), a whole :class:`~jaxnn.FitResult`
    (its typed PRNG key ``result.state.key`` included), a whole
    :class:`~jaxnn.StudyResult`, or any pytree of arrays and numbers. Leaves keep
    their dtype and type: jax arrays as they are, NumPy arrays and scalars in their
    own dtype (float64 included, whether or not ``jax_enable_x64`` is on), Python
    ``bool``/``int``/``float``/``complex`` as 0-d arrays of NumPy's dtype for them
    (bool, int64, float64, complex128), marked so that :func:`load` returns them
    as the same type; typed PRNG keys as their key data, marked so that
    :func:`load` wraps them again.

    Args:
      path: the directory to write (str or os.PathLike; a leading ``~`` is the
        home directory); its parent is created if missing.
      tree: the pytree to save, of concrete arrays (not tracers: save outside
        ``jit``).
      overwrite: replace an existing save at ``path``. The new one is written in
        full first, then put in its place, so a failed save leaves the old one (the
        old one is renamed aside just before and deleted just after; a crash in
        between leaves it beside ``path`` as ``.NAME.old-*``).

    Returns:
      ``path`` as an absolute path.

    Raises:
      TypeError: naming ``path`` if it is not a path, ``tree`` (with the leaf's
        path) for a leaf that is not an array of numbers or is traced, ``overwrite``
        if it is not a bool.
      ValueError: naming ``path`` if it exists and ``overwrite`` is False, or it
        exists and is not a jaxnn save (never replaced, even with ``overwrite``).

    >>> import tempfile, os
    >>> params = jaxnn.MLP((2, 3, 1)).init(jax.random.key(0))
    >>> where = save(os.path.join(tempfile.mkdtemp(), "net"), params)
    >>> [layer["w"].shape for layer in load(where)]
    [(2, 3), (3, 1)]
    """
    import orbax.checkpoint as ocp

    path = _full_path(path)
    if not isinstance(overwrite, bool):
        raise TypeError(f"save: overwrite must be True or False, got {overwrite!r}.")
    _refuse_existing(path, overwrite)
    storable, meta = _describe(tree)
    parent = os.path.dirname(path)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.tmp-", dir=parent)
    except OSError as e:
        raise ValueError(
            f"save: path={path!r} cannot be written: {e.strerror or e}; pass a path in a "
            "writable directory."
        ) from None
    try:
        if storable:
            checkpointer = ocp.Checkpointer(ocp.StandardCheckpointHandler())
            with checkpointer:
                checkpointer.save(os.path.join(tmp, _ARRAYS), args=ocp.args.StandardSave(storable))
        with open(os.path.join(tmp, _META), "w") as f:
            json.dump(meta, f, indent=1)
        _move_into_place(tmp, path, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load(path: str | os.PathLike, like: Any = None) -> Any:
    """The tree saved at ``path`` by :func:`save` (typed keys as keys).

    With ``like``, the result has ``like``'s exact structure (a
    :class:`~jaxnn.FitResult` comes back as one, its key as a typed key) and leaf
    types: a jax array (or ``jax.ShapeDtypeStruct``) leaf of ``like`` gives a jax
    array, restored onto its sharding where it has one; a NumPy array or scalar
    gives one of the saved dtype; a Python number gives a number of its type. The
    saved structure and every leaf's shape and dtype must match ``like``'s; the
    dtypes match when they are equal, when ``like``'s is the one jax makes of the
    saved one (a float64 NumPy leaf loaded as a float32 jax array without
    ``jax_enable_x64``, as with ``jax.eval_shape`` of what was saved), and for a
    Python number when the saved 0-d leaf is of its kind and converts exactly (a
    float32 into a ``float``). Without ``like`` the tree is rebuilt from the saved
    description: leaves of the type saved (jax arrays, NumPy arrays and scalars,
    Python numbers), dicts, lists, tuples and ``None`` as saved; a NamedTuple as
    its class if that class is already imported (looked up by module and name,
    never imported by ``load``) with the same fields, else as a dict of its fields;
    other pytree nodes (dataclasses, custom nodes) need ``like``.

    Args:
      path: a directory written by :func:`save` (a leading ``~`` is the home
        directory).
      like: ``None``, or a pytree with the expected structure: arrays,
        ``jax.ShapeDtypeStruct`` leaves (``jax.eval_shape`` of a fit or of
        ``model.init``), NumPy arrays, Python numbers, or typed keys where keys
        were saved.

    Returns:
      The saved tree.

    Raises:
      FileNotFoundError: naming ``path`` if nothing exists there.
      TypeError: naming ``path`` if it is not a path.
      ValueError: naming ``path`` if it is not a jaxnn save, is corrupt or
        truncated, or (without ``like``) holds a node only ``like`` can rebuild;
        naming the saved and the expected structure, and the first leaf (its path)
        whose shape or dtype differs, if the save does not match ``like``.

    >>> import tempfile, os
    >>> where = save(os.path.join(tempfile.mkdtemp(), "k"), {"key": jax.random.key(0)})
    >>> load(where, like={"key": jax.random.key(1)})["key"].dtype
    key<fry>
    """
    path = _full_path(path)
    meta = _read_meta(path)
    infos = meta["leaves"]
    if like is None:
        refs = [None] * len(infos)
    else:
        _check_like(path, meta, like)
        refs = jax.tree.leaves(like)
    shardings = [
        getattr(r, "sharding", None) if _type_of(info) == "jax" else None
        for info, r in zip(infos, refs, strict=True)
    ]
    stored = _read_arrays(path, infos, shardings)
    leaves = [_restore_leaf(*air) for air in zip(stored, infos, refs, strict=True)]
    if like is not None:
        return jax.tree.unflatten(jax.tree.structure(like), leaves)
    return _rebuild(path, meta["structure"], iter(leaves), "")


# --- saving -----------------------------------------------------------------------


def _full_path(path: Any) -> str:
    """``path`` as an absolute path, a leading ``~`` expanded to the home directory."""
    return os.path.abspath(os.path.expanduser(_as_path(path)))


def _as_path(path: Any) -> str:
    try:
        return os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(
            f"path must be a path (str or os.PathLike), got {type(path).__name__} {path!r}."
        ) from None


def _is_save(path: str) -> bool:
    return os.path.isfile(os.path.join(path, _META))


def _refuse_existing(path: str, overwrite: bool) -> None:
    if not os.path.lexists(path):
        return
    if not os.path.isdir(path) or not _is_save(path):
        raise ValueError(
            f"save: path={path!r} exists and is not a jaxnn save; it is never replaced "
            "(not even with overwrite=True): pass a new path."
        )
    if not overwrite:
        raise ValueError(
            f"save: path={path!r} already holds a save; pass overwrite=True to replace it, "
            "or a new path."
        )


def _move_into_place(tmp: str, path: str, overwrite: bool) -> None:
    """Rename the complete save ``tmp`` to ``path``; an old save there is renamed
    aside first and removed only once the new one is in place."""
    if not os.path.lexists(path):
        os.rename(tmp, path)
        return
    _refuse_existing(path, overwrite)  # again: it may have changed while we wrote
    old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old-", dir=os.path.dirname(path))
    os.rmdir(old)
    os.rename(path, old)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _is_key(x: Any) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)


def _describe(tree: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(arrays, meta)``: the leaves to store, by name, and the JSON description."""
    flat, treedef = jax.tree_util.tree_flatten_with_path(tree)
    arrays, infos = {}, []
    for i, (key_path, leaf) in enumerate(flat):
        where = jax.tree_util.keystr(key_path)
        if isinstance(leaf, Tracer):
            raise TypeError(
                f"save: tree{where} is a traced value; save concrete arrays, outside jit."
            )
        info: dict[str, Any] = {"path": where}
        if _is_key(leaf):
            info.update(shape=list(leaf.shape), dtype=str(leaf.dtype), type="jax")
            info["key_impl"] = str(jax.random.key_impl(leaf))
            leaf = jax.random.key_data(leaf)
        else:
            kind = _leaf_type(leaf)
            if kind != "jax":
                leaf = np.asarray(leaf)  # its own dtype: NumPy's, never jax's canonical one
            elif not isinstance(leaf, jax.Array):
                leaf = np.asarray(leaf)
                if _is_numbers(leaf.dtype):
                    leaf = jnp.asarray(leaf)
            if not _is_numbers(leaf.dtype):
                raise TypeError(
                    f"save: tree{where} must be an array of numbers, got "
                    f"{type(flat[i][1]).__name__} of dtype {leaf.dtype}."
                )
            info.update(shape=list(leaf.shape), dtype=str(leaf.dtype), type=kind, key_impl=None)
        info["data"] = [list(leaf.shape), str(leaf.dtype)]
        if leaf.size:  # orbax stores no empty arrays; the description rebuilds them
            arrays[f"leaf{i}"] = leaf
        infos.append(info)
    meta = {
        "format": _FORMAT,
        "tree": str(treedef),
        "structure": _encode(treedef),
        "leaves": infos,
    }
    return arrays, meta


_PYTHON_TYPES = {"bool": bool, "int": int, "float": float, "complex": complex}
_TYPES = {"jax", "numpy", "numpy_scalar", *_PYTHON_TYPES}


def _leaf_type(leaf: Any) -> str:
    """How a leaf is stored and comes back: ``"jax"`` (a jax array; also array-likes
    other than NumPy's), ``"numpy"`` (an ndarray), ``"numpy_scalar"`` (np.float64(1)
    and the like) or the Python number type (``"bool"``, ``"int"``, ...)."""
    if isinstance(leaf, np.ndarray):
        return "numpy"
    if isinstance(leaf, np.generic):
        return "numpy_scalar"
    for name, cls in _PYTHON_TYPES.items():  # bool before int: True is an int
        if isinstance(leaf, cls):
            return name
    return "jax"


def _type_of(info: dict[str, Any]) -> str:
    """The stored leaf's type; saves written before types were recorded hold jax arrays."""
    return info.get("type") or "jax"


def _is_numbers(dtype: Any) -> bool:
    dtype = np.dtype(dtype)
    return dtype == np.bool_ or jnp.issubdtype(dtype, jnp.number)


def _encode(treedef: Any) -> Any:
    """A JSON form of ``treedef``: ``"*"`` a leaf, ``null`` None, and one-key objects
    ``{"list": [...]}``, ``{"tuple": [...]}``, ``{"dict": [[key, child], ...]}``,
    ``{"namedtuple": "module:Name", "fields": [...], "children": [...]}`` or
    ``{"node": "module:Name", "children": [...]}`` (any other pytree node)."""
    data = treedef.node_data()
    if data is None:
        return "*"
    cls, aux = data
    children = [_encode(c) for c in treedef.children()]
    if cls is type(None):
        return None
    if cls is list:
        return {"list": children}
    if cls is tuple:
        return {"tuple": children}
    if cls is dict and all(type(k) in (str, int) for k in aux):
        return {"dict": [[k, c] for k, c in zip(aux, children, strict=True)]}
    name = f"{cls.__module__}:{cls.__qualname__}"
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return {"namedtuple": name, "fields": list(cls._fields), "children": children}
    return {"node": name, "children": children}


# --- loading ----------------------------------------------------------------------


def _read_meta(path: str) -> dict[str, Any]:
    if not os.path.lexists(path):
        raise FileNotFoundError(f"load: path={path!r} does not exist; nothing was saved there.")
    if not os.path.isdir(path) or not _is_save(path):
        raise ValueError(
            f"load: path={path!r} is not a jaxnn save (a directory written by jaxnn.save, "
            f"with {_META})."
        )
    try:
        with open(os.path.join(path, _META)) as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"load: path={path!r} has an unreadable {_META}: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(
            f"load: path={path!r} is not a jaxnn save of format {_FORMAT!r} (got {got!r})."
        )
    if not _well_formed(meta):
        raise ValueError(f"load: path={path!r} has a damaged {_META}; save the tree again.")
    return meta


def _well_formed(meta: dict[str, Any]) -> bool:
    """Whether the description has the fields :func:`load` reads, of the right types."""

    def dims(x: Any) -> bool:
        return isinstance(x, list) and all(isinstance(d, int) and d >= 0 for d in x)

    def dtype(x: Any) -> bool:
        try:
            return isinstance(x, str) and jnp.dtype(x) is not None
        except TypeError:
            return False

    leaves = meta.get("leaves")
    return (
        isinstance(meta.get("tree"), str)
        and isinstance(leaves, list)
        and _count_leaves(meta.get("structure")) == len(leaves)
        and all(
            isinstance(x, dict)
            and isinstance(x.get("path"), str)
            and dims(x.get("shape"))
            and isinstance(x.get("dtype"), str)
            and isinstance(x.get("key_impl"), str | None)
            and x.get("type", "jax") in _TYPES
            and isinstance(x.get("data"), list)
            and len(x["data"]) == 2
            and dims(x["data"][0])
            and dtype(x["data"][1])
            for x in leaves
        )
    )


def _count_leaves(node: Any) -> int | None:
    """The number of leaves of an :func:`_encode` structure, or None if it is malformed."""
    if node == "*":
        return 1
    if node is None:
        return 0
    if not isinstance(node, dict):
        return None
    keys = node.keys()
    if keys == {"list"} or keys == {"tuple"}:
        children = next(iter(node.values()))
    elif keys == {"dict"}:
        items = node["dict"]
        ok = isinstance(items, list) and all(
            isinstance(kc, list) and len(kc) == 2 and isinstance(kc[0], str | int) for kc in items
        )
        if not ok:
            return None
        children = [c for _, c in items]
    elif keys == {"namedtuple", "fields", "children"} or keys == {"node", "children"}:
        name, children = node.get("namedtuple", node.get("node")), node["children"]
        fields = node.get("fields", children)
        if not (
            isinstance(name, str)
            and isinstance(fields, list)
            and isinstance(children, list)
            and len(fields) == len(children)
            and all(isinstance(f, str) for f in node.get("fields", []))
        ):
            return None
    else:
        return None
    if not isinstance(children, list):
        return None
    counts = [_count_leaves(c) for c in children]
    return None if None in counts else sum(counts)


def _read_arrays(path: str, infos: list[dict[str, Any]], shardings: list[Any]) -> list[Any]:
    import orbax.checkpoint as ocp

    abstract = {
        f"leaf{i}": _target(info, sharding)
        for i, (info, sharding) in enumerate(zip(infos, shardings, strict=True))
    }
    to_read = {k: a for k, a in abstract.items() if math.prod(a.shape)}
    stored = {  # empty arrays are not in orbax's files
        k: (
            np.zeros(a.shape, a.dtype)
            if isinstance(a, np.ndarray)
            else jnp.zeros(a.shape, a.dtype, device=a.sharding)
        )
        for k, a in abstract.items()
        if k not in to_read
    }
    if to_read:

        def restore():
            with ocp.Checkpointer(ocp.StandardCheckpointHandler()) as checkpointer:
                return checkpointer.restore(
                    os.path.join(path, _ARRAYS), args=ocp.args.StandardRestore(to_read)
                )

        # orbax raises many types for missing or damaged files, and leaves reads in
        # flight whose errors call_orbax keeps off stderr
        read, error = call_orbax(restore)
        if error is not None:
            detail = error.split(" [tensorstore_spec=")[0]  # the spec: a page of JSON
            raise ValueError(f"load: path={path!r} is corrupt or truncated: {detail}")
        read = read if isinstance(read, dict) else {}
        stored.update({k: read.get(k) for k in to_read})
    out = []
    for i, info in enumerate(infos):
        a, want = stored.get(f"leaf{i}"), abstract[f"leaf{i}"]
        if a is None or tuple(a.shape) != want.shape or a.dtype != want.dtype:
            got = "nothing" if a is None else f"{tuple(a.shape)} {a.dtype}"
            raise ValueError(
                f"load: path={path!r} is corrupt: leaf {info['path']} holds {got}, its "
                f"description {want.shape} {want.dtype}."
            )
        out.append(a)
    return out


def _target(info: dict[str, Any], sharding: Any) -> Any:
    """What orbax restores a stored leaf as: a NumPy array of the stored dtype for
    NumPy and Python leaves (float64 stays float64), else a jax array."""
    shape, dtype = tuple(info["data"][0]), np.dtype(info["data"][1])
    if _type_of(info) != "jax":
        return np.empty(shape, dtype)
    return jax.ShapeDtypeStruct(shape, dtype, sharding=sharding)


def _restore_leaf(a: Any, info: dict[str, Any], ref: Any = None) -> Any:
    """The stored array ``a`` as the leaf to return: of the type of ``like``'s leaf
    ``ref`` (checked by :func:`_check_like`), or without ``like`` of the type saved."""
    if info.get("key_impl"):
        return jax.random.wrap_key_data(jnp.asarray(a), impl=info["key_impl"])
    kind = _type_of(info) if ref is None else _leaf_type(ref)
    if kind in _PYTHON_TYPES:
        cls = _PYTHON_TYPES[kind] if ref is None else type(ref)
        return cls(np.asarray(a).item())
    if kind == "numpy":
        return np.array(a)  # a writable copy of the saved dtype
    if kind == "numpy_scalar":
        return np.asarray(a)[()]
    dtype = a.dtype if ref is None else _jax_dtype(ref, a.dtype)
    if isinstance(a, jax.Array) and a.dtype == dtype:
        return a
    sharding = getattr(ref, "sharding", None)
    if sharding is not None:
        return jax.device_put(np.asarray(a).astype(dtype), sharding)
    return jnp.asarray(a, dtype)


def _jax_dtype(ref: Any, default: Any) -> Any:
    dtype = getattr(ref, "dtype", None)
    return default if dtype is None else dtype


def _rebuild(path: str, node: Any, leaves: Any, where: str) -> Any:
    """The tree that :func:`_encode` described, with ``leaves`` in order."""
    if node == "*":
        return next(leaves)
    if node is None:
        return None
    if "list" in node:
        return [_rebuild(path, c, leaves, f"{where}[{i}]") for i, c in enumerate(node["list"])]
    if "tuple" in node:
        return tuple(
            _rebuild(path, c, leaves, f"{where}[{i}]") for i, c in enumerate(node["tuple"])
        )
    if "dict" in node:
        return {k: _rebuild(path, c, leaves, f"{where}[{k!r}]") for k, c in node["dict"]}
    if "namedtuple" in node:
        fields = node["fields"]
        children = [
            _rebuild(path, c, leaves, f"{where}.{f}")
            for f, c in zip(fields, node["children"], strict=True)
        ]
        cls = _imported_class(node["namedtuple"])
        if (
            cls is not None
            and issubclass(cls, tuple)
            and list(getattr(cls, "_fields", ())) == fields
        ):
            return cls(*children)
        return dict(zip(fields, children, strict=True))
    raise ValueError(
        f"load: path={path!r} holds a {node['node']} node at tree{where or ' (the root)'}, "
        "which load cannot rebuild from the description; pass like= (a tree of that "
        "structure, e.g. jax.eval_shape of what was saved)."
    )


def _imported_class(name: str) -> type | None:
    """The class ``"module:Qual.Name"`` if its module is already imported, else None."""
    module_name, _, qualname = name.partition(":")
    obj: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) else None


def _check_like(path: str, meta: dict[str, Any], like: Any) -> None:
    """Raise ``ValueError`` naming both structures unless the save matches ``like``."""
    flat, treedef = jax.tree_util.tree_flatten_with_path(like)
    saved, expected = meta["structure"], _encode(treedef)
    both = (
        f"saved {_summary(saved, len(meta['leaves']))}, expected (like) "
        f"{_summary(expected, len(flat))}"
    )
    diff = _first_difference(saved, expected, "")
    if diff is not None:
        raise ValueError(
            f"load: path={path!r} holds a different tree than like: {both}; first "
            f"difference at tree{diff}.\n  saved:    {_shorten(meta['tree'])}\n  expected: "
            f"{_shorten(str(treedef))}"
        )
    for info, (key_path, ref) in zip(meta["leaves"], flat, strict=True):
        shape, dtype = tuple(np.shape(ref)), _dtype_name(ref)
        if tuple(info["shape"]) != shape or not _dtype_matches(info, ref, dtype):
            saved_type, like_type = _type_of(info), _leaf_type(ref)
            types = ("", "")
            if saved_type != like_type:
                types = (f" ({_TYPE_NAMES[saved_type]})", f" ({_TYPE_NAMES[like_type]})")
            raise ValueError(
                f"load: path={path!r} holds a tree of other shapes or dtypes than like: "
                f"{both}; first difference at tree{jax.tree_util.keystr(key_path)}: saved "
                f"{tuple(info['shape'])} {info['dtype']}{types[0]}, expected {shape} "
                f"{dtype}{types[1]}."
            )


_TYPE_NAMES = {
    "jax": "a jax array",
    "numpy": "a NumPy array",
    "numpy_scalar": "a NumPy scalar",
    **{name: f"a Python {name}" for name in _PYTHON_TYPES},
}


def _dtype_matches(info: dict[str, Any], ref: Any, want: str) -> bool:
    """Whether the saved leaf's dtype fits ``like``'s leaf ``ref`` of dtype ``want``:
    equal; the dtype jax makes of the saved one for a jax leaf of ``like`` (float32
    for a saved float64 without x64); for a Python number, a 0-d leaf of its kind
    that converts exactly. Typed keys only equal."""
    saved = info["dtype"]
    if saved == want:
        return True
    if info.get("key_impl") or _is_key(ref):
        return False
    saved_dtype, want_dtype = np.dtype(saved), np.dtype(want)
    kind = _leaf_type(ref)
    if kind == "jax":
        return jax.dtypes.canonicalize_dtype(saved_dtype) == want_dtype
    if kind in _PYTHON_TYPES:
        category = {
            "bool": np.bool_,
            "int": jnp.integer,
            "float": jnp.floating,
            "complex": jnp.complexfloating,
        }[kind]
        return jnp.issubdtype(saved_dtype, category) and np.can_cast(
            saved_dtype, want_dtype, "safe"
        )
    return False


def _dtype_name(x: Any) -> str:
    """The dtype of ``like``'s leaf ``x``: its own (NumPy's for a Python number)."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return str(dtype)
    return str(np.dtype(dtype) if dtype is not None else np.asarray(x).dtype)


def _kind(node: Any) -> str:
    if node == "*":
        return "an array"
    if node is None:
        return "None"
    if "list" in node:
        return f"a list of {len(node['list'])}"
    if "tuple" in node:
        return f"a tuple of {len(node['tuple'])}"
    if "dict" in node:
        return f"a dict with keys {[k for k, _ in node['dict']]}"
    name = node.get("namedtuple") or node["node"]
    return f"a {name.rpartition(':')[2]}"


def _summary(node: Any, n_leaves: int) -> str:
    return f"{_kind(node)} ({n_leaves} leaves)"


def _first_difference(a: Any, b: Any, where: str) -> str | None:
    """The path of the first node where encodings ``a`` and ``b`` differ, with both
    nodes described, or ``None`` if they are equal."""
    if a == b:
        return None
    here = f"{where or ' (the root)'}: saved {_kind(a)}, expected {_kind(b)}"
    if a == "*" or b == "*" or a is None or b is None or a.keys() != b.keys():
        return here
    kind = next(iter(a.keys() & {"list", "tuple", "dict"}), None)
    if kind is not None:
        if kind == "dict":
            ka, kb = [k for k, _ in a["dict"]], [k for k, _ in b["dict"]]
            if ka != kb:
                return here
            pairs = [
                (f"[{k!r}]", ca, cb) for (k, ca), (_, cb) in zip(a[kind], b[kind], strict=True)
            ]
        elif len(a[kind]) != len(b[kind]):
            return here
        else:
            pairs = [
                (f"[{i}]", ca, cb) for i, (ca, cb) in enumerate(zip(a[kind], b[kind], strict=True))
            ]
    else:
        name = "namedtuple" if "namedtuple" in a else "node"
        if a[name] != b[name] or a.get("fields") != b.get("fields"):
            return here
        fields = a.get("fields") or [f"[{i}]" for i in range(len(a["children"]))]
        if len(a["children"]) != len(b["children"]):
            return here
        pairs = [
            (f".{f}" if "fields" in a else f, ca, cb)
            for f, ca, cb in zip(fields, a["children"], b["children"], strict=True)
        ]
    for step, ca, cb in pairs:
        found = _first_difference(ca, cb, where + step)
        if found is not None:
            return found
    return here


def _shorten(text: str) -> str:
    return text if len(text) <= _LONG else text[: _LONG - 5] + " ..."

"""Flax and Equinox models, as they are written, trained by jaxnn's engine.

:func:`jaxnn.fit`, :func:`jaxnn.restarts` and :func:`jaxnn.sweep` take any model
with ``init(key) -> params`` and ``apply(params, x, *, key=None, dropout=0.0) ->
logits``. The adapters here give a Flax linen module, a Flax NNX module and an
Equinox module that form, in the shape their users already have them:

* :func:`from_linen`: ``module.init`` / ``module.apply`` on ``{"params": ...}``;
* :func:`from_nnx`: a constructor ``make(rngs) -> nnx.Module`` (or an instance),
  through ``nnx.split`` / ``nnx.merge``;
* :func:`from_equinox`: a constructor ``make(key) -> eqx.Module`` (or an instance),
  through ``eqx.partition`` / ``eqx.combine``, applied per example (``jax.vmap``),
  as Equinox modules are written.

Initialisation: restart r's params are the library's own initialisation run with
jaxnn's init key for that restart (``fold_in(fold_in(key, r), 0)``), so a study
of N restarts is N draws of the model's own initialisers.

Dropout: the model's own dropout layers (``nn.Dropout``, ``nnx.Dropout``,
``eqx.nn.Dropout``) set their rates; jaxnn drives them with its per-update keys
(a key per update and per member, derived from the fit's key as in
:mod:`jaxnn.training`) and switches them off to evaluate (validation, end-of-epoch
metrics, :func:`jaxnn.predict`). ``FitConfig.dropout`` must then stay 0: a model
whose layers drop units has ``own_dropout = True`` and a fit refuses a second rate;
one without dropout layers refuses ``FitConfig.dropout > 0`` too (jaxnn cannot drop
units inside a library's module).

flax and equinox are optional: ``pip install 'jaxnn[models]'``. An adapter is
part of a compiled program's identity (it compares by identity): build it once and
pass the same object to every fit, as with a built optax transformation. Its repr
names the module and a fingerprint of its definition (layers, sizes, rates; an
instance's values), the same in every process: a checkpoint, which records the
model's repr, is resumed only by a fit of the same module. The forward pass's code
is not part of it: a module whose ``__call__`` changed but whose layers did not
would resume the other's checkpoint (use a fresh directory after such a change).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn._typing import Array, ArrayLike, Params, PRNGKey
from jaxnn._validation import check_key, concrete


def _require(module: str) -> Any:
    """Import ``module`` (``flax`` or ``equinox``), or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"{module} is not installed: jaxnn's adapters for Flax and Equinox models need "
            "the optional extra, pip install 'jaxnn[models]'."
        ) from None


def _name(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    if callable(obj) and not isinstance(obj, type) and hasattr(obj, "__qualname__"):
        return obj.__qualname__
    return cls.__qualname__


def _fingerprint(description: str, arrays: Any = None) -> str:
    """8 hex digits identifying a module's definition (its layers, sizes, rates and other
    attributes, from ``description``, a repr) and, for an instance, the values it
    starts from (``arrays``). Memory addresses (``<function f at 0x...>``) are left
    out, so that the same definition gives the same digits in every process."""
    import re
    import zlib

    crc = zlib.crc32(re.sub(r" at 0x[0-9a-fA-F]+", "", description).encode())
    for a in jax.tree.leaves(arrays):
        crc = zlib.crc32(np.ascontiguousarray(np.asarray(a)).tobytes(), crc)
    return f"{crc:08x}"


class Adapter:
    """Base of the adapters: jaxnn's model protocol over a library's module.

    Attributes:
      own_dropout: whether the module has dropout layers of its own (jaxnn then
        passes a key to every training update, and ``FitConfig.dropout`` must be 0).
    """

    own_dropout: bool = False

    def _check_no_rate(self, key: PRNGKey | None, dropout: Any) -> None:
        """jaxnn's own dropout (``FitConfig.dropout``) cannot reach inside a library's
        module: with a key and a rate that is not concretely 0 (a fit with
        ``FitConfig.dropout > 0`` traces one), refuse it rather than train without
        dropout. A module with dropout layers is checked by the fit instead."""
        if self.own_dropout or key is None:
            return
        rate = concrete(dropout)
        if rate is None or np.any(rate != 0):
            raise ValueError(
                f"FitConfig.dropout must be 0 for {self!r}: jaxnn cannot drop units inside "
                "the module; give it the library's dropout layers (nn.Dropout, nnx.Dropout, "
                "eqx.nn.Dropout), which jaxnn then drives with its keys."
            )

    def init(self, key: PRNGKey) -> Params:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(
        self, params: Params, x: ArrayLike, *, key: PRNGKey | None = None, dropout: Any = 0.0
    ) -> Array:  # pragma: no cover - abstract
        raise NotImplementedError

    # compared and hashed by identity: a compiled fit is reused for the same adapter
    __hash__ = object.__hash__

    def __eq__(self, other: Any) -> bool:
        return self is other


# ------------------------------------------------------------------------- Flax linen


class LinenModel(Adapter):
    """A Flax linen module as a jaxnn model (see :func:`from_linen`)."""

    def __init__(self, module: Any, input_shape: tuple[int, ...], input_dtype: Any, mode: Any):
        self.module = module
        self.input_shape = input_shape
        self.input_dtype = input_dtype
        self.mode = mode  # None, ("deterministic", name) or ("train", name)
        # the submodules an init calls (@nn.compact ones are not in the module's repr)
        submodules = self._submodules()
        has_dropout = any(isinstance(m, _require("flax.linen").Dropout) for m in submodules)
        if has_dropout and mode is None:
            raise ValueError(
                f"from_linen: {_name(module)} has Dropout layers; pass deterministic='<name>' "
                "(or train='<name>'), the __call__ argument that switches them off (on), so "
                "that jaxnn turns them on in training and off to evaluate."
            )
        self.own_dropout = has_dropout
        described = " ".join(repr(m) for m in submodules)
        self.fingerprint = _fingerprint(
            f"{module!r} {described} {mode} {input_shape} {input_dtype}"
        )

    def _submodules(self) -> list[Any]:
        """Every module an (abstract) init calls, in order."""
        nn = _require("flax.linen")
        seen: list[Any] = []

        def record(next_fun, args, kwargs, context):
            seen.append(context.module)
            return next_fun(*args, **kwargs)

        key = jax.random.key(0)
        x = jax.ShapeDtypeStruct(self.input_shape, self.input_dtype)
        with nn.intercept_methods(record):
            jax.eval_shape(
                lambda x: self.module.init(
                    {"params": key, "dropout": key}, x, **self._mode_kwargs(False)
                ),
                x,
            )
        return seen

    def _mode_kwargs(self, training: bool) -> dict[str, bool]:
        if self.mode is None:
            return {}
        kind, name = self.mode
        return {name: (not training) if kind == "deterministic" else training}

    def init(self, key: PRNGKey) -> Params:
        """``module.init`` with ``{"params": key}`` on zeros of the example input's
        shape; returns the ``"params"`` collection.

        Raises:
          ValueError: if the module has other variable collections (batch
            statistics, caches): jaxnn trains params only.
        """
        key = check_key(key)
        x = jnp.zeros(self.input_shape, self.input_dtype)
        variables = self.module.init({"params": key, "dropout": key}, x, **self._mode_kwargs(False))
        others = sorted(set(variables) - {"params"})
        if others:
            raise ValueError(
                f"from_linen: the module has variable collections {others} besides 'params'; "
                "jaxnn trains params only (no batch statistics or other mutable state)."
            )
        return variables["params"]

    def apply(
        self, params: Params, x: ArrayLike, *, key: PRNGKey | None = None, dropout: Any = 0.0
    ) -> Array:
        """``module.apply({"params": params}, x)``: with ``key``, in training mode with
        ``rngs={"dropout": key}``; without, deterministic."""
        self._check_no_rate(key, dropout)
        training = key is not None
        rngs = {"dropout": check_key(key)} if training else None
        return self.module.apply({"params": params}, x, rngs=rngs, **self._mode_kwargs(training))

    def __repr__(self) -> str:
        return f"LinenModel({_name(self.module)}, input {self.input_shape}, {self.fingerprint})"


def from_linen(
    module: Any,
    example_x: ArrayLike,
    *,
    deterministic: str | None = None,
    train: str | None = None,
) -> LinenModel:
    """A Flax linen module as a jaxnn model.

    Args:
      module: a ``flax.linen.Module`` mapping inputs (n, d) to logits (n, out).
      example_x: an example input batch (its shape and dtype; e.g. ``x[:1]``).
      deterministic: the name of the module's ``__call__`` argument that switches
        dropout off when True (Flax's ``nn.Dropout(deterministic=...)`` convention),
        if it has dropout layers; or
      train: the name of an argument that switches dropout *on* when True.

    Returns:
      A :class:`LinenModel`: ``init(key)`` is ``module.init({"params": key}, ...)
      ["params"]`` and ``apply`` feeds jaxnn's dropout key as the ``"dropout"``
      rng stream.

    Raises:
      ImportError: naming the ``models`` extra if flax is missing.
      TypeError: if ``module`` is not a linen module; ValueError: for both
        ``deterministic`` and ``train``, or an ``example_x`` that is not (n, d).
    """
    nn = _require("flax.linen")
    if not isinstance(module, nn.Module):
        raise TypeError(f"from_linen: module must be a flax.linen.Module, got {type(module)}.")
    if deterministic is not None and train is not None:
        raise ValueError("from_linen: give deterministic= or train=, not both.")
    shape = tuple(np.shape(example_x))
    if len(shape) < 2 or shape[0] < 1:
        raise ValueError(f"from_linen: example_x must be a batch (n, d), got shape {shape}.")
    # the dtype JAX makes of it (float64 data is float32 without jax_enable_x64):
    # module.init on zeros of it, without a warning at every init
    dtype = jax.dtypes.canonicalize_dtype(np.result_type(getattr(example_x, "dtype", np.float32)))
    mode = None
    if deterministic is not None:
        mode = ("deterministic", deterministic)
    elif train is not None:
        mode = ("train", train)
    return LinenModel(module, (1, *shape[1:]), dtype, mode)


# -------------------------------------------------------------------------- Flax NNX


class NNXModel(Adapter):
    """A Flax NNX module as a jaxnn model (see :func:`from_nnx`)."""

    def __init__(self, make: Callable[..., Any] | None, instance: Any):
        nnx = _require("flax.nnx")
        self.make = make
        abstract = instance
        if instance is None:
            try:
                abstract = nnx.eval_shape(lambda: make(nnx.Rngs(0)))
            except TypeError as e:
                raise TypeError(
                    f"from_nnx: calling {_name(make)}(rngs) failed ({e}); pass a constructor "
                    "that takes one nnx.Rngs, e.g. from_nnx(lambda rngs: MyModel(2, 32, "
                    "rngs=rngs)), or an nnx.Module instance."
                ) from e
            if not isinstance(abstract, nnx.Module):
                raise TypeError(
                    f"from_nnx: {_name(make)}(rngs) returned {type(abstract).__name__}, "
                    "not an nnx.Module."
                )
        self.graphdef, _, abstract_rest = nnx.split(abstract, nnx.Param, ...)
        others = nnx.split(abstract, nnx.Param, nnx.RngState, ...)[3]
        kinds = sorted(
            {
                type(v).__name__
                for v in jax.tree.leaves(others, is_leaf=lambda n: isinstance(n, nnx.Variable))
            }
        )
        if kinds:
            raise ValueError(
                f"from_nnx: the module has state {kinds} besides nnx.Param and its rng "
                "streams; jaxnn trains params only (no batch statistics or other mutable "
                "state)."
            )
        self.own_dropout = any(
            isinstance(node, nnx.Dropout) for _, node in nnx.iter_graph(abstract)
        )
        self.streams = sorted(
            {node.tag for _, node in nnx.iter_graph(abstract) if isinstance(node, nnx.RngStream)}
            - {"default"}
        )
        self._instance_state = None
        # state other than params (rng streams, counters): none for most models
        self._rest_cache = abstract_rest if not jax.tree.leaves(abstract_rest) else None
        if instance is not None:
            _, params, rest = nnx.split(instance, nnx.Param, ...)
            self._instance_state = (params, rest)
        self.name = _name(make if make is not None else instance)
        # the graph's repr shows every layer's static attributes (sizes, rates)
        self.fingerprint = _fingerprint(
            repr(self.graphdef),
            None if self._instance_state is None else self._instance_state[0],
        )

    def _split(self, key: PRNGKey) -> tuple[Any, Any]:
        nnx = _require("flax.nnx")
        if self.make is None:
            return self._instance_state
        _, params, rest = nnx.split(self.make(nnx.Rngs(key)), nnx.Param, ...)
        return params, rest

    def init(self, key: PRNGKey) -> Params:
        """The module's ``nnx.Param`` state: ``make(nnx.Rngs(key))``'s own
        initialisation (an instance's params, whatever the key, for an instance)."""
        return self._split(check_key(key))[0]

    def apply(
        self, params: Params, x: ArrayLike, *, key: PRNGKey | None = None, dropout: Any = 0.0
    ) -> Array:
        """``nnx.merge`` the graph, ``params`` and the module's other state, then call
        it: with ``key``, in training mode with its rng streams reseeded from
        ``key``; without, in evaluation mode (``model.eval()``)."""
        nnx = _require("flax.nnx")
        self._check_no_rate(key, dropout)
        # fresh copies in this trace: NNX refuses to mutate (reseed) a variable made
        # in another one
        rest = jax.tree.map(lambda a: a, self._rest())
        model = nnx.merge(self.graphdef, params, rest)
        if key is None:
            model.eval()
        else:
            model.train()
            key = check_key(key)
            # every rng stream of the module: "default" from the update's key, any
            # other (e.g. "dropout") from fold_in(key, crc32(name)), so that layers
            # on different streams draw independent masks
            streams = {name: jax.random.fold_in(key, _crc(name)) for name in self.streams}
            nnx.reseed(model, **streams, default=key)
        return model(x)

    def _rest(self) -> Any:
        """The module's state other than params (rng streams, counters): concrete
        values made once, eagerly (constants of a traced fit), reseeded per update
        in :meth:`apply`."""
        if self._rest_cache is None:
            nnx = _require("flax.nnx")
            if self._instance_state is not None:
                self._rest_cache = self._instance_state[1]
            else:  # one compiled program (eagerly, each initialiser compiled on its own)
                with jax.ensure_compile_time_eval():
                    self._rest_cache = jax.jit(
                        lambda: nnx.split(self.make(nnx.Rngs(0)), nnx.Param, ...)[2]
                    )()
        return self._rest_cache

    def __repr__(self) -> str:
        return f"NNXModel({self.name}, {self.fingerprint})"


def from_nnx(model: Any) -> NNXModel:
    """A Flax NNX module as a jaxnn model.

    Args:
      model: a constructor ``make(rngs: nnx.Rngs) -> nnx.Module`` (e.g.
        ``lambda rngs: MLP(2, 32, 1, rngs=rngs)``; restart r runs it with
        ``nnx.Rngs(init key of r)``, the module's own initialisation), or an
        ``nnx.Module`` instance (every restart then starts from its params). The
        module maps (n, d) to logits (n, out); its ``nnx.Dropout`` layers are driven
        by jaxnn's keys (``model.train()`` and ``nnx.reseed`` per update) and
        switched off to evaluate (``model.eval()``).

    Raises:
      ImportError: naming the ``models`` extra if flax is missing.
      TypeError: for anything else.
      ValueError: if the module has state other than ``nnx.Param`` and its rng
        streams (``nnx.BatchNorm``'s batch statistics, other ``nnx.Variable``
        types): jaxnn trains params only, as for :func:`from_linen`.
    """
    nnx = _require("flax.nnx")
    if isinstance(model, nnx.Module):
        return NNXModel(None, model)
    if callable(model):
        return NNXModel(model, None)
    raise TypeError(
        "from_nnx: model must be an nnx.Module or a constructor make(rngs) -> nnx.Module, "
        f"got {type(model).__name__}."
    )


# --------------------------------------------------------------------------- Equinox


class EquinoxModel(Adapter):
    """An Equinox module as a jaxnn model (see :func:`from_equinox`)."""

    def __init__(self, make: Callable[[PRNGKey], Any] | None, instance: Any, batched: bool):
        eqx = _require("equinox")
        self.make = make
        self.batched = batched
        # one concrete init for the static part (eval_shape would leave shapes where
        # the static part needs values)
        template = instance if instance is not None else make(jax.random.key(0))
        stateful = jax.tree.leaves(template, is_leaf=lambda n: isinstance(n, eqx.nn.StateIndex))
        if any(isinstance(leaf, eqx.nn.StateIndex) for leaf in stateful):
            raise ValueError(
                "from_equinox: the module has stateful layers (eqx.nn.StateIndex, e.g. "
                "BatchNorm); jaxnn trains params only (no batch statistics or other state)."
            )
        _, self.static = eqx.partition(template, eqx.is_inexact_array)
        self.own_dropout = any(
            isinstance(leaf, eqx.nn.Dropout)
            for leaf in jax.tree.leaves(template, is_leaf=lambda n: isinstance(n, eqx.nn.Dropout))
        )
        self._instance_params = None
        if instance is not None:
            self._instance_params = eqx.partition(instance, eqx.is_inexact_array)[0]
        self.name = _name(make if make is not None else instance)
        # the static part's repr shows every layer's attributes (sizes, rates, functions)
        self.fingerprint = _fingerprint(f"{self.static!r} {batched}", self._instance_params)

    def init(self, key: PRNGKey) -> Params:
        """The module's inexact arrays (``eqx.partition(make(key),
        eqx.is_inexact_array)``): its own initialisation (an instance's arrays,
        whatever the key, for an instance)."""
        eqx = _require("equinox")
        if self.make is None:
            return self._instance_params
        return eqx.partition(self.make(check_key(key)), eqx.is_inexact_array)[0]

    def apply(
        self, params: Params, x: ArrayLike, *, key: PRNGKey | None = None, dropout: Any = 0.0
    ) -> Array:
        """``eqx.combine(params, static)`` called on each example (``jax.vmap``, each
        with its own key split from ``key``), or on the batch if ``batched``; with no
        ``key``, in inference mode (``eqx.nn.inference_mode``)."""
        eqx = _require("equinox")
        self._check_no_rate(key, dropout)
        model = eqx.combine(params, self.static)
        if key is None:
            model = eqx.nn.inference_mode(model)
            call = (lambda xi: model(xi, key=None)) if _takes_key(model) else model
            return call(x) if self.batched else jax.vmap(call)(x)
        model = eqx.nn.inference_mode(model, value=False)
        key = check_key(key)
        if self.batched:
            return model(x, key=key)
        keys = jax.random.split(key, np.shape(x)[0])
        return jax.vmap(lambda xi, ki: model(xi, key=ki))(x, keys)

    def __repr__(self) -> str:
        return f"EquinoxModel({self.name}, {self.fingerprint})"


def _takes_key(model: Any) -> bool:
    """Whether ``model(x, key=...)`` is accepted (Equinox's ``key`` convention)."""
    import inspect

    try:
        params = inspect.signature(model).parameters
    except (TypeError, ValueError):
        return False
    return "key" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _crc(name: str) -> int:
    import zlib

    return zlib.crc32(name.encode())


def from_equinox(model: Any, *, batched: bool = False) -> EquinoxModel:
    """An Equinox module as a jaxnn model.

    Args:
      model: a constructor ``make(key) -> eqx.Module`` (restart r runs it with its
        init key: the module's own initialisation), or an ``eqx.Module`` instance
        (every restart then starts from its arrays). Params are its inexact arrays
        (``eqx.partition(..., eqx.is_inexact_array)``), the rest is static.
      batched: whether the module maps a batch (n, d) to (n, out); by default it
        maps one example (d,) to (out,), as Equinox modules are written, and is
        ``jax.vmap``-ed over the batch. Its ``__call__`` takes ``key=`` for its
        dropout layers (``eqx.nn.Dropout``), which jaxnn feeds (one key per
        example, split from the update's) and switches off to evaluate
        (``eqx.nn.inference_mode``).

    Raises:
      ImportError: naming the ``models`` extra if equinox is missing.
      TypeError: for anything else.
    """
    eqx = _require("equinox")
    if isinstance(model, eqx.Module):
        return EquinoxModel(None, model, batched)
    if callable(model):
        return EquinoxModel(model, None, batched)
    raise TypeError(
        "from_equinox: model must be an eqx.Module or a constructor make(key) -> eqx.Module, "
        f"got {type(model).__name__}."
    )

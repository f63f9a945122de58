"""Studies of many fits at once: random restarts and hyperparameter sweeps (lesson 12).

A study trains P = M configs x N restarts as one compiled program:
``jax.vmap`` over the engine's pure fit (:func:`jaxnn.training.init_state` and
:func:`jaxnn.training.run_epochs`), with the members' axis sharded over every
device (a 1-D ``Mesh`` and ``NamedSharding``). Each member keeps its own history and
early stopping; the compiled loop ends when every member of a chunk has stopped.

Keys: restart r (under every config) trains with ``fold_in(key, r)``, exactly the
key a single :func:`jaxnn.fit` would take, so member (c, r) equals
``fit(fold_in(key, r), model, train, val, config_c)`` to float tolerance, whatever
N, the chunk size or the number of devices.

Memory: members train ``chunk_size`` at a time (padded to a multiple of the device
count; padding members are discarded). A member's working set is its params about
six times over (params, gradients, momentum, best params, update, previous), plus
activations and their gradients, about ``3 * 4 * n * sum(hidden sizes)`` bytes for
a full batch of n (``batch_size * ...`` for mini-batches); :func:`member_bytes`
returns the compiler's own figure. Results (params, histories, final states): on
a single device they stay there, and the chunks are joined at the end (briefly
twice the results' size); on several devices they are gathered to the host after
every chunk and placed on the default device at the end.

Several devices on one CPU: XLA sees one CPU device unless
``XLA_FLAGS=--xla_force_host_platform_device_count=K`` is set before jax is
imported. jaxnn never sets it on import; ``python -m experiments restarts`` sets
it for its own process.

Several processes (hosts): after :func:`jaxnn.distributed.initialize` in every
process, ``jax.devices()`` lists every process's devices and the members are
sharded over all of them. Every process calls the study with the same arguments;
host values are placed with ``jax.make_array_from_callback`` (each process fills
its own devices' slices), the members' progress and the results are gathered with
``process_allgather``, so every process returns the whole :class:`StudyResult`.
The loop makes the same calls in every process: the length of each call of epochs
is process 0's choice, broadcast to the others.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxnn import _validation as v
from jaxnn._typing import ArrayLike, PRNGKey
from jaxnn.models import as_model
from jaxnn.optim import check_optimizer, factory_hyperparams, is_factory
from jaxnn.progress import CALL_SECONDS, Pacer, wait
from jaxnn.resume import check_params, keys_as_data
from jaxnn.training import (
    NUMERIC_FIELDS,
    STATIC_FIELDS,
    FitConfig,
    FitResult,
    check_apply_takes_dropout,
    check_optimizer_config,
    check_scalar_config,
    checkpoint_tag,
    host_state_to_continue,
    init_state,
    loop_layout,
    make_plan,
    monitored,
    optimizer_name,
    place_state,
    prepare_data,
    prepare_inputs,
    program_key,
    restore_resized,
    result_from_state,
    run_epochs,
    run_epochs_batched,
    summary_line,
)

DEFAULT_CHUNK = 1024
"""Members trained at once when ``chunk_size`` is not given (and P is larger)."""


class StudySummary(NamedTuple):
    """Statistics of the members' losses, one row per config.

    The loss of a member is its best monitored loss: the lowest validation loss over
    its epochs (training loss without validation data).

    Attributes:
      min, median, max: (M,) over the N restarts.
      fraction_within_tol: (M,) share of restarts with loss <= min + tol.
      tol: the tolerance used.
      best_of_k: (M, N) expected best loss of k = 1..N restarts drawn at random
        from the N (without retraining; see :func:`expected_best_of_k`).
      best_restart: (M,) index of each config's best restart.
    """

    min: np.ndarray
    median: np.ndarray
    max: np.ndarray
    fraction_within_tol: np.ndarray
    tol: float
    best_of_k: np.ndarray
    best_restart: np.ndarray


class StudyResult(NamedTuple):
    """A trained study.

    Attributes:
      results: a :class:`~jaxnn.FitResult` whose leaves have leading axes (N,) for
        :func:`restarts` and (M, N) for :func:`sweep`.
      configs: the M configs (a stacked :class:`~jaxnn.FitConfig`, leaves (M,)).
      losses: (M, N) member losses (M = 1 for :func:`restarts`): each member's best
        monitored loss, i.e. its lowest validation loss over the epochs (training
        loss without validation data), not necessarily its last.
      summary: a :class:`StudySummary`.
      best: ``(config index, restart index)`` of the lowest loss overall.
    """

    results: FitResult
    configs: FitConfig
    losses: np.ndarray
    summary: StudySummary
    best: tuple[int, int]

    def member(self, config: int = 0, restart: int = 0) -> FitResult:
        """The :class:`~jaxnn.FitResult` of one member (one compiled gather for every
        leaf; indexing leaf by leaf compiled a program per leaf shape)."""
        m, n = self.losses.shape
        named = [("restart", restart, n)]
        if _ndim_lead(self.results) == 2:
            named.insert(0, ("config", config, m))
        idx = []
        for name, i, size in named:
            if isinstance(i, bool) or not isinstance(i, int | np.integer) or not -size <= i < size:
                raise IndexError(
                    f"StudyResult.member: {name} must be an int in [0, {size}), got {i!r}."
                )
            idx.append(int(i) % size)
        return _member_jit(self.results, np.asarray(idx, np.int32))

    @property
    def best_result(self) -> FitResult:
        """The member with the lowest loss (best-of-N selection)."""
        return self.member(*self.best)

    def __repr__(self) -> str:
        """One line: the study's shape, its best member and loss, the spread of the
        members' losses, epochs run, members stopped early or diverged."""
        try:
            m, n = self.losses.shape
            plural = lambda k, word: f"{k} {word}" + ("" if k == 1 else "s")
            kind = plural(n, "restart")
            if _ndim_lead(self.results) != 1:
                kind = f"{plural(m, 'config')} x {kind}"
            c, r = self.best
            return (
                f"StudyResult({kind}, best member (config {c}, restart {r}) loss "
                f"{float(self.losses[c, r]):.4g}; {summary_line(self.results)})"
            )
        except (TypeError, ValueError, IndexError, AttributeError):  # shapes only, traced
            return f"StudyResult(losses {getattr(self.losses, 'shape', '?')}, no values)"


@jax.jit
def _member_jit(results: FitResult, idx: jax.Array) -> FitResult:
    return jax.tree.map(lambda a: a[tuple(idx)], results)


def _ndim_lead(results: FitResult) -> int:
    return results.epochs_run.ndim


def expected_best_of_k(losses: ArrayLike) -> np.ndarray:
    """Expected minimum of k losses drawn without replacement from ``losses``, k = 1..N.

    Raises ``TypeError`` for non-numeric ``losses``, ``ValueError`` if empty or NaN
    (inf is a loss: a diverged member).

    With ``l_(1) <= ... <= l_(N)`` sorted, the minimum of a random k-subset is
    ``l_(i)`` with probability ``C(N - i, k - 1) / C(N, k)``, so
    ``E_k = sum_i l_(i) C(N - i, k - 1) / C(N, k)``. ``E_1`` is the mean and
    ``E_N`` the minimum. Computed in float64 with log-binomials.

    >>> expected_best_of_k([3.0, 1.0, 2.0]).round(6).tolist()
    [2.0, 1.333333, 1.0]
    """
    raw = np.asarray(losses)
    if not (raw.dtype == np.bool_ or np.issubdtype(raw.dtype, np.integer)) and not np.issubdtype(
        raw.dtype, np.floating
    ):
        raise TypeError(f"expected_best_of_k: losses must be real numbers, got dtype {raw.dtype}.")
    ls = np.sort(raw.astype(np.float64).reshape(-1))
    n = ls.size
    if n == 0:
        raise ValueError("expected_best_of_k: losses must hold at least one loss, got none.")
    if np.isnan(ls).any():
        raise ValueError(f"expected_best_of_k: losses contains {int(np.isnan(ls).sum())} NaN.")
    lgam = np.array([math.lgamma(i + 1) for i in range(n + 1)])

    def log_comb(a, b):
        return lgam[a] - lgam[b] - lgam[a - b]

    out = np.empty(n)
    i = np.arange(1, n + 1)
    for k in range(1, n + 1):
        ok = n - i >= k - 1
        logw = np.full(n, -np.inf)
        logw[ok] = log_comb(n - i[ok], k - 1) - log_comb(n, k)
        w = np.exp(logw)
        out[k - 1] = np.sum(w[w > 0] * ls[w > 0])  # 0 * inf would be NaN
    return out


def summarize(losses: ArrayLike, tol: float = 1e-2) -> StudySummary:
    """A :class:`StudySummary` of (M, N) losses (N restarts of M configs)."""
    ls = np.asarray(losses, np.float64)
    if ls.ndim == 1:
        ls = ls[None]
    best = np.min(ls, axis=1)
    return StudySummary(
        min=best,
        median=np.median(ls, axis=1),
        max=np.max(ls, axis=1),
        fraction_within_tol=np.mean(ls <= best[:, None] + tol, axis=1),
        tol=tol,
        best_of_k=np.stack([expected_best_of_k(row) for row in ls]),
        best_restart=np.argmin(ls, axis=1),
    )


def member_bytes(
    model: Any, train: tuple[ArrayLike, ArrayLike], config: FitConfig | None = None
) -> int:
    """Device bytes one more member of a study needs, as the compiler reports it.

    The difference between the compiled working sets (arguments, outputs and
    temporaries) of chunks of 2 and 1 members.
    """
    config = check_scalar_config(config, "member_bytes")
    model = as_model(model)
    xt, yt = prepare_data("train", train, config.loss)
    plan = make_plan(config, xt.shape[0], False, model)
    sizes = []
    for c in (1, 2):
        restarts = np.arange(c, dtype=np.uint32)
        configs = _stack([config] * c)
        states = jax.eval_shape(
            lambda r, cf: _vinit(jax.random.key(0), r, cf, model=model, plan=plan, optimizer=None),
            restarts,
            configs,
        )
        compiled = (
            jax.jit(_vrun, static_argnames=("model", "plan", "optimizer"))
            .lower(
                states,
                configs,
                (xt, yt),
                None,
                config.epochs,
                model=model,
                plan=plan,
                optimizer=None,
            )
            .compile()
        )
        m = compiled.memory_analysis()
        sizes.append(
            m.argument_size_in_bytes
            + m.output_size_in_bytes
            + m.temp_size_in_bytes
            - m.alias_size_in_bytes
        )
    return int(sizes[1] - sizes[0])


def _vinit(key, restarts, configs, params=None, *, model, plan, optimizer):
    """The members' initial states: restart r from ``fold_in(key, r)``, and from the
    member's ``params`` (leading axis: members) when given."""
    keys = jax.vmap(functools.partial(jax.random.fold_in, key))(restarts)
    if params is None:
        return jax.vmap(lambda k, c: init_state(k, model, c, plan, optimizer))(keys, configs)
    return jax.vmap(lambda k, c, p: init_state(k, model, c, plan, optimizer, p))(
        keys, configs, params
    )


def _member_roots(key, restarts):
    """Each member's training key as raw data, ``fold_in(fold_in(key, r), 1)``."""
    one = lambda r: jax.random.key_data(jax.random.fold_in(jax.random.fold_in(key, r), 1))
    return jax.vmap(one)(restarts)


_member_roots_jit = jax.jit(_member_roots)


def _vrun(states, configs, train, val, until, *, model, plan, optimizer, mesh=None, init=False):
    """Run a chunk of members; with a mesh, each device loops over its own members
    (``shard_map``), so no device waits on another's early stopping and the loop
    needs no cross-device reduction per epoch. ``train`` and ``val`` come
    row-major (the program lays them out as a fit does,
    :func:`jaxnn.training.loop_layout`). With ``init``, ``states`` is
    ``((key, restart indices, params or None), carry, fresh)``: with ``fresh`` (a
    () bool) the program initialises the members first and reads none of
    ``carry``'s values (a blank state of the members' structure), otherwise it
    continues ``carry``, its own previous call's: one program for a whole study,
    in one call or several, as :func:`jaxnn.training.fit_from_key` is for a fit.
    """

    on_cpu = (mesh.devices.flat[0] if mesh is not None else jax.devices()[0]).platform == "cpu"
    # CPU: groups of members stay in cache, and testing the loop condition is cheap.
    # Accelerators: one wide batch, and fewer host round trips for the condition.
    check = 1 if on_cpu else 10

    def local(st, cf, tr, va, un):
        if init:
            (key, restarts, params), carry, fresh = st
            st = jax.lax.cond(
                fresh,
                lambda: _vinit(
                    key, restarts, cf, params, model=model, plan=plan, optimizer=optimizer
                ),
                lambda: carry,
            )
        st, tr, va = loop_layout(st, tr, va, plan)  # as a single fit reads them
        size = jax.tree.leaves(st)[0].shape[0]
        g = _group_size(size) if on_cpu else size
        if size == 1:  # one member: XLA's CPU matmuls batched over 1 are ~1.4x slower
            one = lambda a: a[0]
            out = run_epochs(
                jax.tree.map(one, st), model, jax.tree.map(one, cf), plan, tr, va, un, optimizer
            )
            return jax.tree.map(lambda a: a[None], out)
        run = functools.partial(run_epochs_batched, epochs_per_check=check)
        if g == size:
            return run(st, model, cf, plan, tr, va, un, optimizer)
        # groups of g members run their whole fit one after another, so that a
        # group's params and activations stay in cache across epochs
        split = lambda a: a.reshape((size // g, g, *a.shape[1:]))
        out = jax.lax.map(
            lambda sc: run(sc[0], model, sc[1], plan, tr, va, un, optimizer),
            (jax.tree.map(split, st), jax.tree.map(split, cf)),
        )
        return jax.tree.map(lambda a: a.reshape((size, *a.shape[2:])), out)

    if mesh is None:
        return local(states, configs, train, val, until)
    members, repl = P("members"), P()
    return jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(
            ((repl, members, members), members, repl) if init else members,
            members,
            repl,
            repl,
            repl,
        ),
        out_specs=members,
        check_vma=False,
    )(states, configs, train, val, until)


GROUP = 8  # members per group: a group's working set stays in cache (W1: 1.4x at N=128)


def _group_size(size: int) -> int:
    """The largest divisor of ``size`` that is at most :data:`GROUP`."""
    return max(g for g in range(1, min(GROUP, size) + 1) if size % g == 0)


_STATIC = ("model", "plan", "optimizer")
_vinit_jit = jax.jit(_vinit, static_argnames=_STATIC)
_vrun_jit = jax.jit(_vrun, static_argnames=(*_STATIC, "mesh"), donate_argnames="states")


def _vfit(members, carry, fresh, configs, train, val, until, *, model, plan, optimizer, mesh):
    """:func:`_vrun` with ``init``: the members' state from ``members`` = ``(key,
    restart indices, params or None)`` when ``fresh``, else ``carry`` continued."""
    return _vrun(
        (members, carry, fresh),
        configs,
        train,
        val,
        until,
        model=model,
        plan=plan,
        optimizer=optimizer,
        mesh=mesh,
        init=True,
    )


# the blank or previous state is donated: the members' state is held once
_vfit_jit = jax.jit(_vfit, static_argnames=(*_STATIC, "mesh"), donate_argnames="carry")


def _stack(configs: Sequence[FitConfig]) -> FitConfig:
    """Stack configs (same structure) into one whose numeric leaves have axis 0."""
    return jax.tree.map(lambda *xs: np.asarray(xs, np.float32), *configs)


def _keys_to_data(result: FitResult) -> FitResult:
    """The result with its state's typed PRNG key as raw key data (for host arrays)."""
    return result._replace(state=result.state._replace(key=jax.random.key_data(result.state.key)))


def _take(tree: Any, idx: np.ndarray) -> Any:
    return jax.tree.map(lambda a: a[idx], tree)


def _put(tree: Any, sharding: NamedSharding) -> Any:
    """Host values onto ``sharding``.

    Across processes (``jax.distributed``) the sharding spans devices this process
    cannot address; every process then passes the same values and each places the
    slices its own devices hold (``jax.make_array_from_callback``).
    """
    if sharding.is_fully_addressable:
        return jax.device_put(tree, sharding)

    def one(a):
        a = np.asarray(a)
        return jax.make_array_from_callback(a.shape, sharding, lambda idx: a[idx])

    return jax.tree.map(one, tree)


def _fetch(tree: Any) -> Any:
    """NumPy copies of arrays on the host; arrays spread over several processes are
    gathered first, so every process gets the whole value. Waits with
    :func:`jaxnn.progress.wait` (Ctrl-C interrupts it)."""
    if all(getattr(a, "is_fully_addressable", True) for a in jax.tree.leaves(tree)):
        return jax.device_get(wait(tree))
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)


def _put_keys(keys: jax.Array, sharding: NamedSharding) -> jax.Array:
    """Typed PRNG keys onto ``sharding`` (through their raw key data)."""
    impl = jax.random.key_impl(keys)
    data = _put(np.asarray(jax.random.key_data(keys)), sharding)
    return jax.random.wrap_key_data(data, impl=impl)


def restarts(
    key: PRNGKey,
    model: Any,
    train: tuple[ArrayLike, ArrayLike],
    val: tuple[ArrayLike, ArrayLike] | None = None,
    config: FitConfig | None = None,
    *,
    n: int,
    tol: float = 1e-2,
    chunk_size: int | None = None,
    optimizer: Any = None,
    params: Any = None,
    state: Any = None,
    devices: Sequence[jax.Device] | None = None,
    progress: bool = False,
    checkpoint_dir: str | None = None,
) -> StudyResult:
    """Train ``n`` random restarts of one fit at once; restart r uses ``fold_in(key, r)``.

    Args:
      key, model, train, val, config, optimizer: as for :func:`jaxnn.fit` (one key,
        one config of scalars).
      n: number of restarts N >= 1.
      params: start restart r from ``params[r]`` (leaves with a leading axis (N,),
        each the model's params) instead of ``model.init``; as data, so other
        values compile nothing.
      state: continue a study to ``config.epochs`` epochs in total, from its
        :class:`StudyResult` (or its ``results``, or ``results.state``: leading axis
        (N,)), trained with this ``key``: member r equals its straight fit of the
        total length, bitwise, as :func:`jaxnn.fit`'s ``state`` does.
      tol: a restart counts as "within tolerance" if its loss <= best + tol.
      chunk_size: members trained at once (default: all, up to
        :data:`DEFAULT_CHUNK`); any value works, the last chunk is padded.
      devices: devices to shard members over (default: all of ``jax.devices()``).
      progress: one progress display for the whole study (epochs, members still
        running): a tqdm bar, or plain lines when stderr is not a terminal
        (:func:`jaxnn.progress.progress_bar`); "compiling" until the first call
        of the compiled loop is back.
      checkpoint_dir: a directory (created if missing, before anything compiles):
        save the stacked state every few calls of the compiled loop (saves cost at
        most ~20% of the time) and resume from it (one subdirectory per chunk of
        members).

    Ctrl-C: as for :func:`jaxnn.fit`, a long study runs as calls of its compiled
    program of about :data:`jaxnn.progress.CALL_SECONDS` each (bitwise the same
    numbers), so ``KeyboardInterrupt`` comes within about that once compiling is
    done; a checkpointed study keeps its last checkpoint, and the same call
    resumes it. (Across several processes, a study without progress or
    checkpoints runs each chunk of members as one call.)

    Returns:
      A :class:`StudyResult` whose ``results`` leaves have a leading axis (N,).

    Raises:
      ValueError / TypeError: before anything compiles, as :func:`jaxnn.fit` does
        (naming ``key``, the config field, ``checkpoint_dir``, the data), and for
        ``n`` < 1 or a bad ``chunk_size``.

    >>> x, y = jaxnn.data.make_xor(jax.random.key(0), 64)
    >>> s = restarts(jax.random.key(1), jaxnn.MLP((2, 4, 1), "tanh"), (x, y),
    ...              config=jaxnn.FitConfig(learning_rate=0.5, epochs=50), n=8)
    >>> s.results.params[0]["w"].shape, s.losses.shape
    ((8, 2, 4), (1, 8))
    """
    study = _run_study(
        key,
        model,
        train,
        val,
        [config],
        n,
        tol,
        chunk_size,
        optimizer,
        devices,
        progress,
        checkpoint_dir,
        restarts_only=True,
        params=params,
        state=state,
    )
    return study


def sweep(
    key: PRNGKey,
    model: Any,
    train: tuple[ArrayLike, ArrayLike],
    val: tuple[ArrayLike, ArrayLike] | None = None,
    base: FitConfig | None = None,
    *,
    grid: Mapping[str, Sequence[float]] | None = None,
    zipped: Mapping[str, Sequence[float]] | None = None,
    n_restarts: int = 1,
    tol: float = 1e-2,
    chunk_size: int | None = None,
    optimizer: Any = None,
    params: Any = None,
    state: Any = None,
    devices: Sequence[jax.Device] | None = None,
    progress: bool = False,
    checkpoint_dir: str | None = None,
) -> StudyResult:
    """Train M configs x ``n_restarts`` restarts as one program.

    The configs are ``base`` with numeric fields replaced: every combination of
    ``grid``'s values (a Cartesian product), and/or ``zipped``'s values taken
    together position by position (all lists of one length). Numeric fields
    (:data:`jaxnn.training.NUMERIC_FIELDS`) can vary, and, with an optax factory
    as ``optimizer`` (``optax.adam``), its numeric hyperparameters by name
    (``grid={"learning_rate": [1e-3, 1e-2], "b1": [0.8, 0.9]}``: they go to
    ``FitConfig.hyperparams``); member (m, r) equals ``jaxnn.fit`` with config m
    and key ``fold_in(key, r)``. Structural fields (epochs, batch size, loss, ...)
    change the program and need separate studies.

    ``key``, ``model``, ``train``, ``val``, ``optimizer``, ``devices``, ``progress``
    and ``checkpoint_dir`` are as for :func:`restarts`; ``base`` is one config of
    scalars. ``params``: leaves with leading axes (M, N) (member (m, r) starts from
    ``params[m, r]``) or (N,) (the same N starts for every config). ``state``: a
    sweep's :class:`StudyResult` (or its ``results`` or ``results.state``,
    leading axes (M, N)) to continue, as for :func:`restarts`.

    Returns:
      A :class:`StudyResult` whose ``results`` leaves have leading axes (M, N), in
      the order of :func:`sweep_configs`.

    Raises:
      ValueError: naming an unknown or structural field, a value that is not a
        scalar or out of its range, or mismatched lengths; and as :func:`restarts`
        does for the other arguments.
    """
    base = check_scalar_config(base, "sweep", "base")
    configs = sweep_configs(base, grid=grid, zipped=zipped, optimizer=optimizer)
    return _run_study(
        key,
        model,
        train,
        val,
        configs,
        n_restarts,
        tol,
        chunk_size,
        optimizer,
        devices,
        progress,
        checkpoint_dir,
        params=params,
        state=state,
    )


def sweep_configs(
    base: FitConfig,
    *,
    grid: Mapping[str, Sequence[float]] | None = None,
    zipped: Mapping[str, Sequence[float]] | None = None,
    optimizer: Any = None,
) -> list[FitConfig]:
    """The configs of a sweep: zipped rows (outer) crossed with the grid (inner, the
    last field varying fastest). A name that is not a :class:`FitConfig` field is
    a hyperparameter of ``optimizer`` when it is an optax factory that takes it
    (``FitConfig.hyperparams``)."""
    check_optimizer(optimizer, "sweep")
    hyper = factory_hyperparams(optimizer) if is_factory(optimizer) else ()
    for name, spec in (("grid", grid), ("zipped", zipped)):
        if spec is not None and not isinstance(spec, Mapping):
            raise TypeError(
                f"sweep {name} must be a mapping {{field: [values]}}, got {type(spec).__name__}."
            )
        for field, values in (spec or {}).items():
            if field in STATIC_FIELDS:
                raise ValueError(
                    f"sweep {name}: field {field!r} is structural (it changes the compiled "
                    "program) and cannot vary within one study; run one study per value. "
                    f"Numeric fields that can vary: {list(NUMERIC_FIELDS)}."
                )
            if field not in NUMERIC_FIELDS and field not in hyper:
                if is_factory(optimizer):
                    more = (
                        f", and optimizer {optimizer_name(optimizer)}'s hyperparameters "
                        f"{list(hyper)}"
                    )
                elif optimizer is not None:
                    more = (
                        "; the optimizer passed is a built optax transformation, whose numbers "
                        "are fixed: pass the factory (optimizer=optax.adam, not "
                        "optax.adam(1e-2)) to sweep its hyperparameters"
                    )
                else:
                    more = (
                        " (an optax factory passed as optimizer=, e.g. optax.adam, adds its "
                        "hyperparameters such as 'b1')"
                    )
                raise ValueError(
                    f"sweep {name}: unknown field {field!r}; what can vary: FitConfig's "
                    f"numeric fields {list(NUMERIC_FIELDS)}{more}."
                )
            if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
                raise ValueError(f"sweep {name}: {field!r} must be a list of values.")
            if len(values) == 0:
                raise ValueError(f"sweep {name}: {field!r} has no values.")
            for value in values:
                if isinstance(value, list | tuple) or np.ndim(value) != 0:
                    raise ValueError(
                        f"sweep {name}: {field!r} must be a list of scalars, got an element "
                        f"{value!r}."
                    )
    zipped = dict(zipped or {})
    lengths = {f: len(vs) for f, vs in zipped.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"sweep zipped: all lists must have one length, got {lengths}.")
    rows = [dict(zip(zipped, vs, strict=True)) for vs in zip(*zipped.values(), strict=True)]
    rows = rows or [{}]
    grid = dict(grid or {})
    both = set(grid) & set(zipped)
    if both:
        raise ValueError(f"sweep: fields {sorted(both)} appear in both grid and zipped.")
    combos = [dict(zip(grid, vs, strict=True)) for vs in itertools.product(*grid.values())]

    def config(changes):
        fields = {f: x for f, x in changes.items() if f in NUMERIC_FIELDS}
        hp = {f: x for f, x in changes.items() if f not in NUMERIC_FIELDS}
        if hp:
            fields["hyperparams"] = {**base.hyperparams, **hp}
        return base.replace(**fields)

    return [config({**row, **combo}) for row in rows for combo in combos]


def _default_devices(devices):
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices must list at least one device.")
    return devices


def _run_study(
    key,
    model,
    train,
    val,
    configs,
    n,
    tol,
    chunk_size,
    optimizer,
    devices,
    progress,
    checkpoint_dir,
    restarts_only=False,
    params=None,
    state=None,
):
    """The study of M configs x N restarts; results' leading axes (N,) when
    ``restarts_only`` (M = 1) and (M, N) otherwise. Members start from ``params``
    or continue ``state`` when given (see :func:`restarts`)."""
    from jaxnn.progress import progress_bar

    key = v.check_key(key)
    n = v.check_static_int("n" if restarts_only else "n_restarts", n, 1)
    v.check_finite("tol", tol)
    if np.ndim(tol) != 0:
        raise ValueError(f"tol must be a scalar, got shape {np.shape(tol)}.")
    caller = "restarts" if restarts_only else "sweep"
    configs = [check_scalar_config(c, caller) for c in configs]
    for c in configs:
        check_optimizer_config(c, optimizer, caller)
    if params is not None and state is not None:
        raise ValueError(
            f"{caller}: pass params (start the members from them) or state (continue a "
            "study), not both."
        )
    if checkpoint_dir is not None:
        from jaxnn.checkpoint import check_directory

        checkpoint_dir = check_directory(checkpoint_dir)
    structure = {jax.tree_util.tree_structure(c) for c in configs}
    if len(structure) != 1:
        raise ValueError("all configs of a study must share their structural fields.")
    config0 = configs[0]
    model, (xt, yt), val = prepare_inputs(model, train, val, config0)
    m = len(configs)
    total = m * n
    lead = (n,) if restarts_only else (m, n)
    devices = _default_devices(devices)
    if jax.process_count() == 1:
        # fewer members than devices: use fewer devices rather than pad. Across
        # processes every process must own a device of the mesh, so pad instead.
        devices = devices[:total]
    d = len(devices)
    chunk = min(total, DEFAULT_CHUNK) if chunk_size is None else chunk_size
    chunk = v.check_static_int("chunk_size", chunk, 1)
    chunk = -(-min(chunk, total) // d) * d  # a multiple of the device count
    n_chunks = -(-total // chunk)

    stacked = _stack(configs)
    plan = make_plan(stacked, xt.shape[0], val is not None, model)
    check_apply_takes_dropout(model, plan)
    statics = dict(model=model, plan=plan, optimizer=optimizer)
    mesh = Mesh(np.array(devices), ("members",))
    shard = NamedSharding(mesh, P("members"))
    repl = NamedSharding(mesh, P())
    train_d = _put((xt, yt), repl)
    val_d = None if val is None else _put(val, repl)
    key_d = _put_keys(key, repl)
    # member p = (config p // n, restart p % n)
    cfg_idx = np.arange(total) // n
    rst_idx = np.arange(total) % n
    start = None  # per member, on the host: params to start from, or a state to continue
    if params is not None or state is not None:
        like = jax.eval_shape(
            lambda k, r, cf: _vinit(k, r, cf, **statics),
            key,
            np.zeros(1, np.uint32),
            _take(stacked, np.zeros(1, int)),
        )
        like = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), like)
        if params is not None:
            start = _start_params(params, like.params, lead, n, caller)
        else:
            start = _start_state(
                state, like, lead, config0.epochs, key, rst_idx, caller, monitored(config0, plan)
            )
    tag = None
    if checkpoint_dir is not None:
        tag = checkpoint_tag(key, config0, model, optimizer, (xt, yt), val, start)
        tag["configs"] = repr(stacked.replace(epochs=1))
        tag["chunk"] = str(chunk)

    # the loop's speed, remembered per program (jaxnn.progress.Pacer)
    pacer = Pacer((*program_key("study", stacked, (xt, yt), val, statics), chunk, tuple(devices)))
    outs = []
    bar_on = progress and jax.process_index() == 0  # one bar, in the first process
    with progress_bar(n_chunks * config0.epochs, enabled=bar_on, desc="study") as bar:
        for c in range(n_chunks):
            members = np.arange(c * chunk, (c + 1) * chunk) % total  # pad by wrapping
            restarts_d = _put(rst_idx[members].astype(np.uint32), shard)
            cfgs = _put(_take(stacked, cfg_idx[members]), shard)
            given = None if params is None else _put(_take(start, members), shard)
            states = None
            if state is not None:
                states = place_state(_take(start, members), key, shard, put=_put)
            states = _run_chunk(
                (key_d, restarts_d, given),
                states,
                cfgs,
                train_d,
                val_d,
                statics,
                config0.epochs,
                bar,
                progress,
                checkpoint_dir,
                tag,
                c,
                pacer,
            )
            if d == 1:  # stays on its device; assembled there below
                outs.append(result_from_state(states))
            else:  # on the host (every member, in every process), one transfer per chunk
                outs.append(_fetch(_keys_to_data(result_from_state(states))))
    if d == 1:  # one program, no round trip through the host (e.g. one GPU)
        results = _assemble_jit(outs, lead)
    else:
        results = jax.tree.map(
            lambda *xs: np.concatenate(xs)[:total].reshape(lead + xs[0].shape[1:]), *outs
        )
        results = jax.device_put(results)  # one transfer for the whole tree
        results = results._replace(
            state=results.state._replace(key=jax.random.wrap_key_data(results.state.key))
        )
    losses = np.asarray(results.state.early.best_loss, np.float64).reshape(m, n)
    _warn_diverged(np.asarray(results.diverged_epoch).reshape(m, n))
    summary = summarize(losses, tol)
    flat = int(np.argmin(losses))
    return StudyResult(
        results=results,
        configs=jax.tree.map(jnp.asarray, stacked),
        losses=losses,
        summary=summary,
        best=(flat // n, flat % n),
    )


def _warn_diverged(diverged_epoch: np.ndarray) -> None:
    """One ``RuntimeWarning`` naming the members (config, restart) whose loss became
    NaN or inf, as :func:`jaxnn.fit` warns for one fit."""
    where = np.argwhere(diverged_epoch >= 0)
    if where.size == 0:
        return
    shown = ", ".join(
        f"(config {c}, restart {r}) at epoch {int(diverged_epoch[c, r])}" for c, r in where[:5]
    )
    more = f" and {len(where) - 5} more" if len(where) > 5 else ""
    warnings.warn(
        f"{len(where)} of {diverged_epoch.size} members diverged: the loss became NaN or inf "
        f"for {shown}{more}; each stopped there and kept its last finite params "
        "(results.diverged_epoch; lower the learning rate?).",
        RuntimeWarning,
        stacklevel=4,  # the caller of restarts or sweep
    )


def _next_step(step: int, seconds: float, save_s: float) -> int:
    """Epochs until the next checkpoint save, given that the last ``step`` epochs
    trained for ``seconds`` and their save took ``save_s``: so that the epochs
    between two saves train for about :data:`CALL_SECONDS`, and at least five times
    as long as a save (saves then cost at most ~20%). Grows at most 4x at a time,
    so one noisy measurement cannot overshoot far."""
    target = max(CALL_SECONDS, 5 * save_s)
    return max(1, min(4 * step, int(step * target / max(seconds, 1e-6))))


def _assemble(chunks: list[Any], shape: tuple[int, ...]) -> Any:
    """The chunks' members concatenated, the padding (at the end) dropped, and the
    leading axis reshaped to ``shape``: (N,) or (M, N)."""
    total = math.prod(shape)
    return jax.tree.map(
        lambda *xs: jnp.concatenate(xs)[:total].reshape(shape + xs[0].shape[1:]), *chunks
    )


_assemble_jit = jax.jit(_assemble, static_argnums=1)


def _start_params(params: Any, like: Any, lead: tuple[int, ...], n: int, caller: str) -> Any:
    """A study's params to start from, checked, as host arrays with one leading axis
    over the members (p = config * N + restart)."""
    m = lead[0] if len(lead) == 2 else 1
    leaves = jax.tree.leaves(params)
    got = np.shape(leaves[0])[: len(np.shape(leaves[0])) - len(jax.tree.leaves(like)[0].shape)]
    shared = len(lead) == 2 and got == (n,)  # a sweep's N starts, the same for every config
    check_params(f"{caller}: params", params, like, (n,) if shared else lead)
    host = jax.device_get(params)
    flat = lambda a: np.asarray(a).reshape((-1, *np.shape(a)[1 if shared else len(lead) :]))
    host = jax.tree.map(flat, host)
    return jax.tree.map(lambda a: np.concatenate([a] * m) if shared else a, host)


def _start_state(state, like, lead, epochs, key, rst_idx, caller, monitor):
    """A study's state to continue, checked (structure, trained with ``key``, no
    more than ``epochs`` epochs run), its history resized to ``epochs``; on the host
    with one leading axis over the members and raw key data."""
    host = host_state_to_continue(state, like, lead, epochs, caller, monitor)
    host = jax.tree.map(lambda a: np.asarray(a).reshape((-1, *np.shape(a)[len(lead) :])), host)
    if not np.array_equal(host.key, np.asarray(_member_roots_jit(key, rst_idx.astype(np.uint32)))):
        raise ValueError(
            f"{caller}: state was trained with another key: pass the key of the study "
            "that produced it."
        )
    return host


def _run_chunk(
    members,
    states,
    cfgs,
    train,
    val,
    statics,
    epochs,
    bar,
    progress,
    checkpoint_dir,
    tag,
    c,
    pacer,
):
    """Train one chunk of members to the end, in calls of the compiled loop sized by
    ``pacer`` (:class:`jaxnn.progress.Pacer`: one call for a short study, calls of
    about :data:`jaxnn.progress.CALL_SECONDS` for a long one, so that Ctrl-C ends
    it within a call). ``members`` is ``(key, restart indices, params or None)``;
    ``states``, when given, the members' states to continue from.

    With checkpoints, a save follows every few calls, so that saving costs at most
    about 20% (:func:`_next_step` sizes the epochs between saves); a save finishes
    before Ctrl-C acts (:func:`jaxnn.progress.interrupts_deferred`).

    Across processes every process must make the same calls: without progress or
    checkpoints the chunk runs as one call to the end; with them, the length of
    each call and of each interval between saves is process 0's choice, broadcast
    to the others.
    """
    shard = members[1].sharding  # the restart indices': one per member
    save = None

    def like_for(config):
        cf = cfgs.replace(epochs=config.epochs)
        like = jax.eval_shape(
            lambda m, cf: _vinit_jit(m[0], m[1], cf, m[2], **statics), members, cf
        )
        return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=shard), like)

    if checkpoint_dir is not None:
        from jaxnn.checkpoint import save_state

        sub = os.path.join(checkpoint_dir, f"members_{c:05d}")
        put = lambda tree: _put(tree, shard)
        restored = restore_resized(sub, tag, cfgs, like_for, put)  # onto the members' sharding
        states = states if restored is None else restored
        save = lambda st: save_state(sub, st, tag)
    if save is None and not progress:
        return _run_plain(members, states, cfgs, train, val, statics, epochs, pacer, like_for)
    return _run_in_calls(members, states, cfgs, train, val, statics, epochs, bar, save, pacer)


def _run_plain(members, states, cfgs, train, val, statics, epochs, pacer, like_for):
    """A chunk of members without progress or checkpoints: one program, from the
    keys (or the given states) to the end, in one call or (one process, a long
    study) several calls of that program."""
    mesh = members[1].sharding.mesh
    fresh = states is None
    if fresh:  # the program's first call initialises the members (see _vfit)
        like = jax.eval_shape(keys_as_data, like_for(cfgs))
        host = jax.tree.map(lambda a: np.zeros(a.shape, a.dtype), like)
        states = place_state(host, members[0], members[1].sharding, put=_put)

        def run(st, until, first):
            return _vfit_jit(members, st, first, cfgs, train, val, until, mesh=mesh, **statics)

        fn = _vfit_jit
    else:

        def run(st, until, first):
            return _vrun_jit(st, cfgs, train, val, until, mesh=mesh, **statics)

        fn = _vrun_jit
    if jax.process_count() > 1:  # every process must make the same calls: one
        return run(states, epochs, True)
    done = 0
    if not fresh:
        stopped, epoch = _fetch((states.stopped, states.epoch))
        running = ~stopped & (epoch < epochs)
        done = int(np.min(epoch[running])) if running.any() else epochs
    first = True
    while first or done < epochs:
        until = pacer.until(done, epochs)
        states = pacer.run(fn, lambda st=states, u=until, f=first: run(st, u, f))
        stopped, epoch = _fetch((states.stopped, states.epoch))
        pacer.ran(int(np.max(np.minimum(epoch, until))) - done)
        done, first = until, False
        if not (~stopped & (epoch < epochs)).any():
            break
    return states


def _agree(values: list[int]) -> list[int]:
    """Process 0's ``values`` in every process (as they are with one process)."""
    if jax.process_count() == 1:
        return values
    from jax.experimental import multihost_utils

    return [int(x) for x in multihost_utils.broadcast_one_to_all(np.asarray(values, np.int32))]


def _run_in_calls(members, states, cfgs, train, val, statics, epochs, bar, save, pacer):
    """A chunk of members with a progress bar or checkpoints: the loop program run
    from a state, a progress update after every call, a save every few calls."""
    import time

    from jaxnn.progress import interrupts_deferred

    mesh = members[1].sharding.mesh
    if states is None:
        states = _vinit_jit(members[0], members[1], cfgs, members[2], **statics)
    stopped, epoch = _fetch((states.stopped, states.epoch))
    done = int(np.min(epoch))
    bar.update(done)
    every = max(1, epochs // 50)  # epochs between saves
    mark, spent = done, 0.0  # the last save's epoch, and the seconds trained since
    while True:
        running = ~stopped & (epoch < epochs)
        bar.set_postfix(running=f"{int(running.sum())}/{running.size}", refresh=False)
        if not running.any():
            break
        limit = epochs if save is None else min(mark + every, epochs)
        (until,) = _agree([pacer.until(done, limit)])
        states = pacer.run(
            _vrun_jit,
            lambda st=states, u=until: _vrun_jit(st, cfgs, train, val, u, mesh=mesh, **statics),
        )
        stopped, epoch = _fetch((states.stopped, states.epoch))
        pacer.ran(int(np.max(np.minimum(epoch, until))) - done)
        spent += pacer.took
        bar.update(until - done)
        bar.compiled()
        done = until
        if save is not None and (done >= limit or not (~stopped & (epoch < epochs)).any()):
            t0 = time.perf_counter()
            with interrupts_deferred():
                save(states)
            (every,) = _agree([_next_step(every, spent, time.perf_counter() - t0)])
            mark, spent = done, 0.0
    bar.update(epochs - done)
    return states

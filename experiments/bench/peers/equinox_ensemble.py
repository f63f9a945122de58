"""Peer ``equinox``: the workloads written with Equinox and optax, as Equinox documents them.

Init follows Equinox's "custom parameter initialisation" trick
(https://docs.kidger.site/equinox/tricks/): the layers' own init is replaced with
``eqx.tree_at`` by the workloads' truncated normals (``jax.nn.initializers``
``glorot_normal`` for W1, ``he_normal`` for W2, with ``in_axis=-1, out_axis=-2``
since an ``eqx.nn.Linear`` weight is ``(out, in)``) and zero biases. Optimiser:
``optax.sgd(lr, momentum=0.9)`` on ``eqx.filter(model, eqx.is_inexact_array)``,
``eqx.filter_grad`` gradients and ``eqx.apply_updates``.

W1 (the restart study) is an ``eqx.nn.MLP`` ensemble as in Equinox's "ensembling"
trick (same page): ``eqx.filter_vmap`` over model creation, one key per restart
(``fold_in(key(1), i)``), and the train step ``eqx.filter_vmap``-ed over members.
The whole run (init and the 500 epochs) is one ``eqx.filter_jit``, the epochs a
``jax.lax.scan`` over the ensemble's arrays (``eqx.partition`` / ``eqx.combine``, the
pattern of Equinox's docs for putting a model through a JAX control-flow primitive).
Each epoch is one full-batch update; the final loss of a member is its mean BCE on
the whole training set after the last update, computed after the timed run.

W2 (one model, mini-batches) is the loop of Equinox's MNIST example
(https://docs.kidger.site/equinox/examples/mnist/): a Python loop over batches
calling an ``eqx.filter_jit`` step. The model is an ``eqx.Module`` of two
``eqx.nn.Linear`` and an ``eqx.nn.Dropout(p=0.2)``, written per example and
``jax.vmap``-ed over the batch with one dropout key per example; dropout is off for
the test accuracy (``eqx.nn.inference_mode``). Batches are gathered on the host
(NumPy) from a permutation per epoch; the last batch of the epoch is partial (a
second compiled shape). The lr schedule is ``optax.exponential_decay`` with one
staircase step per epoch.
"""

from __future__ import annotations

import functools
import math
from typing import TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments.bench.peers import first_then_timed, w1_result, w2_result
from experiments.bench.peers import workloads as wl

REQUIRES = ("equinox", "optax")

M = TypeVar("M", bound=eqx.Module)

W2_PARAMS_SEED = 0
W2_DROPOUT_SEED = 1
W2_SHUFFLE_SEED = 2

# An eqx.nn.Linear weight is (out, in): tell the initialisers which axis is which.
_GLOROT = jax.nn.initializers.glorot_normal(in_axis=-1, out_axis=-2)
_HE = jax.nn.initializers.he_normal(in_axis=-1, out_axis=-2)


def _is_linear(node: object) -> bool:
    return isinstance(node, eqx.nn.Linear)


def _linears(model: eqx.Module) -> list[eqx.nn.Linear]:
    return [x for x in jax.tree_util.tree_leaves(model, is_leaf=_is_linear) if _is_linear(x)]


def init_linears(model: M, weight_init: jax.nn.initializers.Initializer, key: jax.Array) -> M:
    """``model`` with every ``eqx.nn.Linear`` re-initialised: ``weight_init`` weights
    (one key each), zero biases."""
    layers = _linears(model)
    keys = jax.random.split(key, len(layers))
    weights = [
        weight_init(k, lin.weight.shape, lin.weight.dtype)
        for k, lin in zip(keys, layers, strict=True)
    ]
    model = eqx.tree_at(lambda m: [lin.weight for lin in _linears(m)], model, weights)
    biases = [jnp.zeros_like(lin.bias) for lin in layers]
    return eqx.tree_at(lambda m: [lin.bias for lin in _linears(m)], model, biases)


# ---------------------------------------------------------------- W1: the restart study

_W1_OPTIM = optax.sgd(wl.W1_LR, momentum=wl.W1_MOMENTUM)


def _w1_model(key: jax.Array) -> eqx.nn.MLP:
    """The W1 MLP (2-32-32-1 tanh, scalar output) with the workload's init."""
    d_in, width, *hidden = wl.W1_SIZES[:-1]
    if any(h != width for h in hidden) or wl.W1_SIZES[-1] != 1:
        raise ValueError(f"eqx.nn.MLP needs equal hidden widths and one output: {wl.W1_SIZES}")
    model_key, init_key = jax.random.split(key)
    mlp = eqx.nn.MLP(
        d_in, "scalar", width, len(wl.W1_SIZES) - 2, activation=jnp.tanh, key=model_key
    )
    return init_linears(mlp, _GLOROT, init_key)


def _bce(model: eqx.nn.MLP, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean binary cross-entropy of the logits ``vmap(model)(x)`` against ``y`` in {0, 1}."""
    return optax.sigmoid_binary_cross_entropy(jax.vmap(model)(x), y).mean()


def _w1_opt_init(model: eqx.nn.MLP) -> optax.OptState:
    return _W1_OPTIM.init(eqx.filter(model, eqx.is_inexact_array))


@eqx.filter_vmap(in_axes=(eqx.if_array(0), eqx.if_array(0), None, None))
def _w1_step(
    model: eqx.nn.MLP, opt_state: optax.OptState, x: jax.Array, y: jax.Array
) -> tuple[eqx.nn.MLP, optax.OptState]:
    """One full-batch update of every ensemble member."""
    grads = eqx.filter_grad(_bce)(model, x, y)
    params = eqx.filter(model, eqx.is_inexact_array)
    updates, opt_state = _W1_OPTIM.update(grads, opt_state, params)
    return eqx.apply_updates(model, updates), opt_state


@eqx.filter_jit
def _w1_train(keys: jax.Array, x: jax.Array, y: jax.Array, epochs: int) -> eqx.nn.MLP:
    """Init one member per key, train all for ``epochs``; return the trained ensemble."""
    ensemble = eqx.filter_vmap(_w1_model)(keys)
    opt_state = eqx.filter_vmap(_w1_opt_init)(ensemble)
    params, static = eqx.partition(ensemble, eqx.is_inexact_array)

    def epoch(carry: tuple, _: None) -> tuple[tuple, None]:
        params, opt_state = carry
        model, opt_state = _w1_step(eqx.combine(params, static), opt_state, x, y)
        return (eqx.filter(model, eqx.is_inexact_array), opt_state), None

    (params, _), _ = jax.lax.scan(epoch, (params, opt_state), length=epochs)
    return eqx.combine(params, static)


@eqx.filter_jit
def _w1_losses(ensemble: eqx.nn.MLP, x: jax.Array, y: jax.Array) -> jax.Array:
    """The final loss of every member of a trained ensemble."""
    return eqx.filter_vmap(_bce, in_axes=(eqx.if_array(0), None, None))(ensemble, x, y)


def w1(data: dict[str, np.ndarray], n: int, epochs: int, *, warmup: bool = True) -> dict:
    x, y = jnp.asarray(data["w1_x"]), jnp.asarray(data["w1_y"])

    def run() -> eqx.nn.MLP:
        return jax.block_until_ready(_w1_train(wl.w1_restart_keys(n), x, y, epochs))

    ensemble, times = first_then_timed(run, warmup=warmup)
    return w1_result(
        **times,
        final_losses=np.asarray(_w1_losses(ensemble, x, y)),
        timed_restarts=n,
        note="eqx.filter_vmap ensemble; init + lax.scan over epochs of the filter_vmap-ed "
        "step in one eqx.filter_jit; one device",
    )


# ------------------------------------------------------------ W2: one model, mini-batches


class DigitsMLP(eqx.Module):
    """64-128-10 relu with dropout on the hidden layer; one example at a time."""

    hidden: eqx.nn.Linear
    dropout: eqx.nn.Dropout
    output: eqx.nn.Linear

    def __init__(self, key: jax.Array) -> None:
        d_in, d_hidden, d_out = wl.W2_SIZES
        hidden_key, output_key = jax.random.split(key)
        self.hidden = eqx.nn.Linear(d_in, d_hidden, key=hidden_key)
        self.dropout = eqx.nn.Dropout(p=wl.W2_DROPOUT)
        self.output = eqx.nn.Linear(d_hidden, d_out, key=output_key)

    def __call__(self, x: jax.Array, *, key: jax.Array | None = None) -> jax.Array:
        return self.output(self.dropout(jax.nn.relu(self.hidden(x)), key=key))


def _w2_model(key: jax.Array) -> DigitsMLP:
    """The W2 model with the workload's init."""
    model_key, init_key = jax.random.split(key)
    return init_linears(DigitsMLP(model_key), _HE, init_key)


def _w2_penalised_ce(model: DigitsMLP, x: jax.Array, y: jax.Array, key: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy (dropout on) plus ``W2_L2 * sum w^2`` over the weights."""
    logits = jax.vmap(lambda xi, ki: model(xi, key=ki))(x, jax.random.split(key, x.shape[0]))
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return ce + wl.W2_L2 * sum(jnp.sum(lin.weight**2) for lin in _linears(model))


@functools.cache
def _w2_optim(steps_per_epoch: int) -> optax.GradientTransformation:
    """SGD, momentum 0.9, lr ``W2_LR * W2_DECAY**epoch``. One object per size: it is a
    static argument of the jitted step, so a new one would recompile."""
    lr = optax.exponential_decay(wl.W2_LR, steps_per_epoch, wl.W2_DECAY, staircase=True)
    return optax.sgd(lr, momentum=wl.W2_MOMENTUM)


@eqx.filter_jit
def _w2_step(
    model: DigitsMLP,
    opt_state: optax.OptState,
    optim: optax.GradientTransformation,
    x: jax.Array,
    y: jax.Array,
    key: jax.Array,
) -> tuple[DigitsMLP, optax.OptState, jax.Array]:
    key, dropout_key = jax.random.split(key)
    grads = eqx.filter_grad(_w2_penalised_ce)(model, x, y, dropout_key)
    params = eqx.filter(model, eqx.is_inexact_array)
    updates, opt_state = optim.update(grads, opt_state, params)
    return eqx.apply_updates(model, updates), opt_state, key


def _w2_batches(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches of indices: a fresh permutation, the last batch partial."""
    perm = rng.permutation(n)
    return [perm[i : i + wl.W2_BATCH] for i in range(0, n, wl.W2_BATCH)]


def _w2_train(x: np.ndarray, y: np.ndarray, epochs: int) -> DigitsMLP:
    model = _w2_model(jax.random.key(W2_PARAMS_SEED))
    optim = _w2_optim(math.ceil(x.shape[0] / wl.W2_BATCH))
    opt_state = optim.init(eqx.filter(model, eqx.is_inexact_array))
    key = jax.random.key(W2_DROPOUT_SEED)
    shuffle = np.random.default_rng(W2_SHUFFLE_SEED)
    for _ in range(epochs):
        for idx in _w2_batches(x.shape[0], shuffle):
            model, opt_state, key = _w2_step(model, opt_state, optim, x[idx], y[idx], key)
    return jax.block_until_ready(model)


def w2(data: dict[str, np.ndarray], epochs: int) -> dict:
    x, y = data["w2_x_train"], data["w2_y_train"].astype(np.int32)

    def run() -> DigitsMLP:
        return _w2_train(x, y, epochs)

    model, times = first_then_timed(run)
    test_model = eqx.nn.inference_mode(model)
    pred = np.asarray(jax.vmap(test_model)(jnp.asarray(data["w2_x_test"])).argmax(-1))
    return w2_result(
        **times,
        test_accuracy=float(np.mean(pred == data["w2_y_test"])),
        note="Python loop over an eqx.filter_jit step; host-side batches",
    )

"""Peer ``flax_nnx``: the workloads written with Flax NNX and optax, as Flax documents them.

Models are ``nnx.Module`` subclasses of ``nnx.Linear`` layers (``kernel_init``
``jax.nn.initializers.glorot_normal()`` for W1, ``he_normal()`` for W2, zero biases),
trained with ``nnx.Optimizer(model, optax.sgd(lr, momentum=0.9), wrt=nnx.Param)`` and
``optimizer.update(model, grads)`` on ``nnx.grad`` gradients.

W1 (the restart study) is a model ensemble as in Flax's transforms guide
(https://flax.readthedocs.io/en/latest/guides/transforms.html): ``nnx.vmap`` over
model creation, here given one key per restart (``fold_in(key(1), i)``, a batched
``nnx.Rngs`` as ``nnx.split_rngs`` would make, so that restart ``i``'s init does not
depend on ``n``), an ``nnx.Optimizer`` per member made under ``nnx.vmap`` too, and
the train step ``nnx.vmap``-ed over members. The whole run (init and the 500
epochs) is one ``jax.jit``: the "functional training loop" of Flax's
performance guide (https://flax.readthedocs.io/en/latest/guides/performance.html),
``nnx.split`` / ``nnx.merge`` around the step, with a ``jax.lax.scan`` over epochs
in place of the guide's Python loop. Each epoch is one full-batch update; the final
loss of a member is its mean BCE on the whole training set after the last update,
computed after the timed run (a fresh ensemble updated with the trained params).

W2 (one model, mini-batches) is the loop of Flax's MNIST tutorial
(https://flax.readthedocs.io/en/latest/mnist_tutorial.html): a Python loop over
batches calling an ``nnx.jit`` train step, bound to the model and optimizer with
``nnx.cached_partial`` (the performance guide's remedy for ``nnx.jit``'s per-call
graph traversal). Batches are gathered on the host (NumPy) from a permutation per
epoch; the last batch of the epoch is partial (a second compiled shape). Dropout is
``nnx.Dropout`` with its own ``dropout`` rng stream, switched off by ``model.eval()``
for the test accuracy. The lr schedule is ``optax.exponential_decay`` with one
staircase step per epoch.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from experiments.bench.peers import first_then_timed, w1_result, w2_result
from experiments.bench.peers import workloads as wl

REQUIRES = ("flax", "optax")


W2_PARAMS_SEED = 0
W2_DROPOUT_SEED = 1
W2_SHUFFLE_SEED = 2


class MLP(nnx.Module):
    """Dense layers ``sizes[0] -> ... -> sizes[-1]``, ``activation`` between them and,
    if ``dropout > 0``, inverted dropout after each hidden activation."""

    def __init__(
        self,
        sizes: Sequence[int],
        activation: Callable[[jax.Array], jax.Array],
        kernel_init: jax.nn.initializers.Initializer,
        *,
        rngs: nnx.Rngs,
        dropout: float = 0.0,
    ) -> None:
        self.layers = nnx.List(
            [
                nnx.Linear(
                    a, b, kernel_init=kernel_init, bias_init=nnx.initializers.zeros, rngs=rngs
                )
                for a, b in itertools.pairwise(sizes)
            ]
        )
        self.activation = activation
        self.dropout = nnx.Dropout(dropout, rngs=rngs) if dropout > 0 else None

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
            if self.dropout is not None:
                x = self.dropout(x)
        return self.layers[-1](x)


# ---------------------------------------------------------------- W1: the restart study


def _w1_model(rngs: nnx.Rngs) -> MLP:
    return MLP(wl.W1_SIZES, jnp.tanh, jax.nn.initializers.glorot_normal(), rngs=rngs)


def _w1_optimizer(model: MLP) -> nnx.Optimizer:
    return nnx.Optimizer(model, optax.sgd(wl.W1_LR, momentum=wl.W1_MOMENTUM), wrt=nnx.Param)


def _bce(model: MLP, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean binary cross-entropy of the logits ``model(x)`` against ``y`` in {0, 1}."""
    return optax.sigmoid_binary_cross_entropy(model(x)[:, 0], y).mean()


@nnx.vmap(in_axes=(0, 0, None, None))
def _w1_step(model: MLP, optimizer: nnx.Optimizer, x: jax.Array, y: jax.Array) -> None:
    """One full-batch update of every ensemble member (in place)."""
    optimizer.update(model, nnx.grad(_bce)(model, x, y))


@functools.partial(jax.jit, static_argnames="epochs")
def _w1_train(keys: jax.Array, x: jax.Array, y: jax.Array, epochs: int) -> nnx.State:
    """Init one member per key, train all for ``epochs``; return the trained params."""
    model = nnx.vmap(_w1_model)(nnx.Rngs(keys))
    optimizer = nnx.vmap(_w1_optimizer)(model)
    graphdef, state = nnx.split((model, optimizer))

    def epoch(state: nnx.State, _: None) -> tuple[nnx.State, None]:
        model, optimizer = nnx.merge(graphdef, state)
        _w1_step(model, optimizer, x, y)
        return nnx.state((model, optimizer)), None

    state, _ = jax.lax.scan(epoch, state, length=epochs)
    model, _ = nnx.merge(graphdef, state)
    return nnx.state(model)


@jax.jit
def _w1_losses(keys: jax.Array, params: nnx.State, x: jax.Array, y: jax.Array) -> jax.Array:
    """The final loss of every member: an ensemble made as in training (its init is
    overwritten) updated with the trained ``params``."""
    model = nnx.vmap(_w1_model)(nnx.Rngs(keys))
    nnx.update(model, params)
    return nnx.vmap(_bce, in_axes=(0, None, None))(model, x, y)


def w1(data: dict[str, np.ndarray], n: int, epochs: int, *, warmup: bool = True) -> dict:
    x, y = jnp.asarray(data["w1_x"]), jnp.asarray(data["w1_y"])

    def run() -> nnx.State:
        return jax.block_until_ready(_w1_train(wl.w1_restart_keys(n), x, y, epochs))

    params, times = first_then_timed(run, warmup=warmup)
    losses = _w1_losses(wl.w1_restart_keys(n), params, x, y)
    return w1_result(
        **times,
        final_losses=np.asarray(losses),
        timed_restarts=n,
        note="nnx.vmap ensemble; init + lax.scan over epochs of the nnx.vmap-ed step in one "
        "jax.jit (nnx.split/merge functional loop); one device",
    )


# ------------------------------------------------------------ W2: one model, mini-batches


def _w2_penalised_ce(model: MLP, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy plus ``W2_L2 * sum w^2`` over the kernels."""
    ce = optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()
    return ce + wl.W2_L2 * sum(jnp.sum(layer.kernel[...] ** 2) for layer in model.layers)


@nnx.jit
def _w2_step(model: MLP, optimizer: nnx.Optimizer, x: jax.Array, y: jax.Array) -> None:
    optimizer.update(model, nnx.grad(_w2_penalised_ce)(model, x, y))


@functools.cache
def _w2_tx(steps_per_epoch: int) -> optax.GradientTransformation:
    """SGD, momentum 0.9, lr ``W2_LR * W2_DECAY**epoch``. One object per size: the
    transformation is static in the optimizer's graph, so a new one would recompile."""
    lr = optax.exponential_decay(wl.W2_LR, steps_per_epoch, wl.W2_DECAY, staircase=True)
    return optax.sgd(lr, momentum=wl.W2_MOMENTUM)


def _w2_batches(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches of indices: a fresh permutation, the last batch partial."""
    perm = rng.permutation(n)
    return [perm[i : i + wl.W2_BATCH] for i in range(0, n, wl.W2_BATCH)]


def _w2_train(x: np.ndarray, y: np.ndarray, epochs: int) -> MLP:
    rngs = nnx.Rngs(params=W2_PARAMS_SEED, dropout=W2_DROPOUT_SEED)
    he = jax.nn.initializers.he_normal()
    model = MLP(wl.W2_SIZES, jax.nn.relu, he, rngs=rngs, dropout=wl.W2_DROPOUT)
    tx = _w2_tx(math.ceil(x.shape[0] / wl.W2_BATCH))
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    step = nnx.cached_partial(_w2_step, model, optimizer)
    shuffle = np.random.default_rng(W2_SHUFFLE_SEED)
    for _ in range(epochs):
        for idx in _w2_batches(x.shape[0], shuffle):
            step(x[idx], y[idx])
    jax.block_until_ready(nnx.state(model))
    return model


def w2(data: dict[str, np.ndarray], epochs: int) -> dict:
    x, y = data["w2_x_train"], data["w2_y_train"].astype(np.int32)

    def run() -> MLP:
        return _w2_train(x, y, epochs)

    model, times = first_then_timed(run)
    model.eval()
    pred = np.asarray(model(jnp.asarray(data["w2_x_test"])).argmax(-1))
    return w2_result(
        **times,
        test_accuracy=float(np.mean(pred == data["w2_y_test"])),
        note="Python loop over an nnx.jit step (nnx.cached_partial); host-side batches",
    )

"""Peer ``jaxnn_nnx``: a Flax NNX model, as Flax users write it, trained by jaxnn.

W1 is ``flax_nnx``'s W1 model unchanged (an ``nnx.Module`` of ``nnx.Linear`` layers,
``glorot_normal`` kernels, zero biases, tanh; :func:`experiments.bench.peers.flax_nnx._w1_model`)
wrapped once with :func:`jaxnn.adapters.from_nnx` and trained by one call of
:func:`jaxnn.restarts` with the ``jaxnn`` peer's config
(``FitConfig(learning_rate=W1_LR, momentum=W1_MOMENTUM, epochs=epochs)``: full batch,
jaxnn's defaults otherwise), members sharded over every host device the worker was
given. Restart r's init is the module's own (``make(nnx.Rngs(k))``) with jaxnn's
init key for r (``fold_in(fold_in(key(1), r), 0)``), not ``flax_nnx``'s
``fold_in(key(1), r)``: the same distribution, other draws, so the final losses
compare as medians, not restart by restart.

The adapter is built once per process (:func:`w1_model`): it is part of the
compiled program's identity, so the warm-up and the timed call share one program.
The final losses are computed from the final params after the timed run, as the
``jaxnn`` peer does (``jaxnn.evaluate`` of ``model.apply``). No W2 (a variant of
``jaxnn`` and ``flax_nnx`` on W1).
"""

from __future__ import annotations

import functools

from experiments.bench.peers.jaxnn_study import restarts_w1

REQUIRES = ("flax", "optax")


@functools.cache
def w1_model():
    """``from_nnx`` of ``flax_nnx``'s W1 constructor, built once (one compiled fit)."""
    import jaxnn.adapters
    from experiments.bench.peers.flax_nnx import _w1_model

    return jaxnn.adapters.from_nnx(_w1_model)


def w1(data, n: int, epochs: int, *, warmup: bool = True) -> dict:
    note = "flax_nnx's W1 nnx.Module via jaxnn.adapters.from_nnx, "
    return restarts_w1(w1_model(), data, n, epochs, warmup, note)

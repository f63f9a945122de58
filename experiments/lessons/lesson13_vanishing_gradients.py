"""Lesson 13: vanishing gradients in a deep network, sigmoid vs tanh vs relu.

    python -m experiments run 13

Builds a deep MLP (``DEPTH`` weight layers of ``WIDTH`` units) for each activation
with that activation's own initialisation (``jaxnn.init_mlp``: Glorot for
sigmoid/tanh, He for relu), and takes ``jax.grad`` of the cross-entropy on a batch
of moons at initialisation. The norm of each layer's weight gradient, median over
``INITS`` random initialisations, shows the gradient shrinking layer by layer
towards the input under sigmoid (s' <= 1/4 at every layer) but not under tanh or relu.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check

LESSON = 13
TITLE = "vanishing gradients: sigmoid, tanh and relu in a deep network"
SHOWS = "gradient norms per layer in a deep network, for each activation"
ACTIVATIONS = ("sigmoid", "tanh", "relu")
DEPTH = 10  # weight layers: "deep" in the course's sense, where sigmoid's 1/4 compounds
WIDTH = 32  # hidden units per layer: a typical small-network width
N_POINTS = 256  # one batch of moons; the gradient is of its mean cross-entropy
INITS = 16  # random initialisations; medians over them make the norms robust
INITS_QUICK = 4  # enough for a smoke run
ORDERS = 100.0  # "orders of magnitude": at least two decades between first-layer norms
NO_VANISH = 0.1  # tanh/relu keep the first layer within one decade of the last


def _grad_norms(key, x, y, activation):
    """Frobenius norm of dE/dW_l for every layer l, at initialisation."""
    sizes = (x.shape[1],) + (WIDTH,) * (DEPTH - 1) + (1,)
    params = jaxnn.init_mlp(key, sizes, activation=activation)

    def loss(p):
        return jaxnn.binary_cross_entropy(jaxnn.mlp_apply(p, x, activation=activation), y)

    grads = jax.grad(loss)(params)
    # mean |f'(z)| at each hidden layer: the factor each layer multiplies the gradient by
    h, slopes = x, []
    deriv = getattr(jaxnn, f"{activation}_derivative")
    f = jaxnn.get_activation(activation)
    for layer in params[:-1]:
        z = h @ layer["w"] + layer["b"][None, :]
        slopes.append(jnp.mean(jnp.abs(deriv(z))))
        h = f(z)
    return jnp.stack([jnp.linalg.norm(g["w"]) for g in grads]), jnp.stack(slopes)


@jax.jit
def _all_norms(key, keys):
    """Data and every activation's norms in one compiled program (compiling dominates)."""
    x, y = jaxnn.data.make_moons(key, N_POINTS)
    x = jaxnn.data.standardize(x)
    return {a: jax.vmap(lambda k, a=a: _grad_norms(k, x, y, a))(keys) for a in ACTIVATIONS}


def run(key: jax.Array, out_dir: str, *, quick: bool = False) -> Outcome:
    keys = jax.random.split(jax.random.fold_in(key, 1), INITS_QUICK if quick else INITS)
    out = _all_norms(jax.random.fold_in(key, 0), keys)
    norms = {a: np.median(np.asarray(out[a][0]), 0) for a in ACTIVATIONS}
    spread = {a: np.asarray(out[a][0]) for a in ACTIVATIONS}
    slopes = {a: np.median(np.asarray(out[a][1]), 0) for a in ACTIVATIONS}
    metrics = {
        "depth": DEPTH,
        "width": WIDTH,
        "inits": int(keys.shape[0]),
        **{f"{a}_grad_norm_per_layer": [float(v) for v in norms[a]] for a in ACTIVATIONS},
        **{f"{a}_first_layer_grad_norm": float(norms[a][0]) for a in ACTIVATIONS},
        **{f"{a}_first_over_last": float(norms[a][0] / norms[a][-1]) for a in ACTIVATIONS},
        **{f"{a}_mean_slope_per_hidden_layer": [float(v) for v in slopes[a]] for a in ACTIVATIONS},
        "relu_over_sigmoid_first_layer": float(norms["relu"][0] / norms["sigmoid"][0]),
        "tanh_over_sigmoid_first_layer": float(norms["tanh"][0] / norms["sigmoid"][0]),
    }

    colours = {"sigmoid": "tab:purple", "tanh": "tab:green", "relu": "tab:orange"}
    fig, (ax, ax2) = plotting.figure(2)
    layers = np.arange(1, DEPTH + 1)
    for a in ACTIVATIONS:
        ax.fill_between(
            layers, spread[a].min(0), spread[a].max(0), color=colours[a], alpha=0.15, lw=0
        )
        ax.plot(layers, norms[a], "o-", color=colours[a], label=f"{a} (median; band = min-max)")
        ax2.plot(layers[:-1], slopes[a], "o-", color=colours[a], label=a)
    ax.set(
        yscale="log",
        xlabel="layer (1 = next to the input)",
        ylabel="||dE/dW|| at initialisation",
        title=f"Gradient norm per layer, {DEPTH}-layer MLP of width {WIDTH}",
        xticks=layers,
    )
    ax.legend(fontsize=8)
    ax2.axhline(0.25, color="grey", ls=":", label="max of sigmoid' = 1/4")
    ax2.set(
        ylim=(0, 1.05),
        xlabel="hidden layer",
        ylabel="mean |f'(z)| over the batch",
        title="What each layer multiplies the gradient by",
        xticks=layers[:-1],
    )
    ax2.legend(fontsize=8, loc="center right", bbox_to_anchor=(1.0, 0.72))
    figures = [plotting.save(fig, out_dir, "gradient_norm_per_layer.png")]
    return Outcome(
        LESSON, __name__.rsplit(".", 1)[1], TITLE, SHOWS, metrics, verdicts(metrics), figures
    )


def verdicts(m: dict) -> list[Claim]:
    return [
        check(
            "first-layer gradient norm, relu / sigmoid (orders of magnitude)",
            m["relu_over_sigmoid_first_layer"],
            ">=",
            ORDERS,
        ),
        check(
            "first-layer gradient norm, tanh / sigmoid (orders of magnitude)",
            m["tanh_over_sigmoid_first_layer"],
            ">=",
            ORDERS,
        ),
        check(
            "sigmoid: first-layer / last-layer gradient norm (vanishes towards the input)",
            m["sigmoid_first_over_last"],
            "<=",
            1 / ORDERS,
        ),
        check(
            "tanh: first-layer / last-layer gradient norm (does not vanish)",
            m["tanh_first_over_last"],
            ">=",
            NO_VANISH,
        ),
        check(
            "relu: first-layer / last-layer gradient norm (does not vanish)",
            m["relu_first_over_last"],
            ">=",
            NO_VANISH,
        ),
    ]


COUNTEREXAMPLE = {
    "relu_over_sigmoid_first_layer": 2.0,
    "tanh_over_sigmoid_first_layer": 1.5,
    "sigmoid_first_over_last": 0.5,
    "tanh_first_over_last": 1e-4,
    "relu_first_over_last": 1e-5,
}

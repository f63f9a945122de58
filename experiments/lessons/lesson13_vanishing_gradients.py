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

import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Figure, Outcome, check, outcome

LESSON = 13
TITLE = "vanishing gradients: sigmoid, tanh and relu in a deep network"
STATEMENT = (
    "By the chain rule, the derivative of a first-layer weight is a product of one factor per "
    "layer, so in a deep network it gets smaller and smaller when those factors are small, "
    "and the descent steps become too small. The sigmoid's slope is at most 1/4, so its "
    "gradients vanish towards the input; tanh (slope up to 1) and relu (slope 1 or 0) give "
    "larger derivatives, and the first layers still get a gradient."
)
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


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
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

    figures = []
    if out_dir is not None:  # figures at the first seed only
        figures = [_figure(out_dir, norms, spread, slopes)]
    return outcome(sys.modules[__name__], metrics, figures)


def _figure(out_dir, norms, spread, slopes) -> Figure:
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
    inits = len(spread["sigmoid"])
    shrink = float(f"{norms['sigmoid'][-1] / norms['sigmoid'][0]:.1g}")  # one digit
    keeps = {a: norms[a][0] / norms[a][-1] for a in ("tanh", "relu")}
    mantissa, exponent = f"{np.prod(slopes['sigmoid']):.0e}".split("e")
    caption = (
        f"Left: the size of each layer's weight gradient at initialisation (median over {inits} "
        "initialisations, band from smallest to largest): under sigmoid (purple) it shrinks "
        f"about {shrink:,.0f}-fold from the last layer to the first, while under tanh (green) "
        f"and relu (orange) the first layer keeps {keeps['tanh']:.0%} and {keeps['relu']:.0%} "
        "of the last layer's. Right: the mean slope f'(z) of each hidden layer, one factor of "
        f"the chain rule: under sigmoid about {np.mean(slopes['sigmoid']):.2f}, just below its "
        f"largest value 1/4 (dotted), and its {DEPTH - 1} factors multiply to "
        f"about {mantissa} x 10^{int(exponent)}; under tanh about {np.mean(slopes['tanh']):.2f}, "
        f"under relu {np.mean(slopes['relu']):.2f}."
    )
    return plotting.save(fig, out_dir, "gradient_norm_per_layer.png", caption)


def verdicts(m: dict) -> list[Claim]:
    first = "first-layer gradient norm under {} divided by that under sigmoid"
    ratio = "first-layer gradient norm divided by the last layer's, under {}"
    return [
        check(
            "Relu gives the first layer a far larger gradient than sigmoid",
            m["relu_over_sigmoid_first_layer"],
            ">=",
            ORDERS,
            quantity=first.format("relu"),
        ),
        check(
            "Tanh gives the first layer a far larger gradient than sigmoid",
            m["tanh_over_sigmoid_first_layer"],
            ">=",
            ORDERS,
            quantity=first.format("tanh"),
        ),
        check(
            "Under sigmoid the gradient vanishes towards the input",
            m["sigmoid_first_over_last"],
            "<=",
            1 / ORDERS,
            quantity=ratio.format("sigmoid"),
        ),
        check(
            "Under tanh the gradient does not vanish towards the input",
            m["tanh_first_over_last"],
            ">=",
            NO_VANISH,
            quantity=ratio.format("tanh"),
        ),
        check(
            "Under relu the gradient does not vanish towards the input",
            m["relu_first_over_last"],
            ">=",
            NO_VANISH,
            quantity=ratio.format("relu"),
        ),
    ]


COUNTEREXAMPLE = {
    "relu_over_sigmoid_first_layer": 2.0,
    "tanh_over_sigmoid_first_layer": 1.5,
    "sigmoid_first_over_last": 0.5,
    "tanh_first_over_last": 1e-4,
    "relu_first_over_last": 1e-5,
}

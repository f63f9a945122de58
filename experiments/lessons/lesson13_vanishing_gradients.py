"""Lesson 13: vanishing gradients in a deep network, sigmoid vs tanh vs relu.

    python -m experiments run 13

Builds a deep MLP (``DEPTH`` weight layers of ``WIDTH`` units) for each activation
with that activation's own initialisation (``jaxnn.init_mlp``: Glorot for
sigmoid/tanh, He for relu), and takes ``jax.grad`` of the cross-entropy on a batch
of moons at initialisation, for every seed at once (one compiled program). Two
norms per layer, each the median over ``INITS`` random initialisations: the weight
gradient dE/dW_l, the step descent takes, and the error dE/dz_l that reaches the
layer's pre-activations, the chain rule's product of one factor per layer above it.
Under sigmoid (s' <= 1/4 at every layer) that product shrinks layer by layer
towards the input, under tanh or relu it does not; the first layer's weight
gradient is then far larger under tanh or relu than under sigmoid.
"""

from __future__ import annotations

import sys
from functools import partial

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
    """At initialisation, for every layer l: the norm of the weight gradient dE/dW_l,
    of the error dE/dz_l that reaches its pre-activations z_l = h W_l + b_l, and (for
    the hidden layers) the mean slope |f'(z_l)| over the batch."""
    sizes = (x.shape[1],) + (WIDTH,) * (DEPTH - 1) + (1,)
    params = jaxnn.init_mlp(key, sizes, activation=activation)
    f = jaxnn.get_activation(activation)
    deriv = getattr(jaxnn, f"{activation}_derivative")

    def loss(params, shifts):
        # the MLP of jaxnn.mlp_apply, with a zero added to every pre-activation: the
        # gradient with respect to that zero is dE/dz_l
        h, slopes = x, []
        for layer, shift in zip(params[:-1], shifts[:-1], strict=True):
            z = h @ layer["w"] + layer["b"][None, :] + shift
            slopes.append(jnp.mean(jnp.abs(deriv(z))))
            h = f(z)
        logits = h @ params[-1]["w"] + params[-1]["b"][None, :] + shifts[-1]
        return jaxnn.binary_cross_entropy(logits, y), jnp.stack(slopes)

    shifts = [jnp.zeros((x.shape[0], layer["w"].shape[1])) for layer in params]
    (gw, gz), slopes = jax.grad(loss, argnums=(0, 1), has_aux=True)(params, shifts)
    return (
        jnp.stack([jnp.linalg.norm(g["w"]) for g in gw]),
        jnp.stack([jnp.linalg.norm(g) for g in gz]),
        slopes,
    )


@partial(jax.jit, static_argnames="inits")
def _all_norms(keys, *, inits):
    """Every seed's data and every activation's norms, as one compiled program: seed
    s draws its moons from fold_in(key, 0) and its ``inits`` initialisations from
    split(fold_in(key, 1)). The seeds run one after the other (``lax.map``), each as
    the same compiled body, so a seed gives bitwise the same numbers alone or among
    others (a vmap over the seeds changes the last bits of the matrix products, and
    compiles and runs no faster here)."""

    def one(key):
        x, y = jaxnn.data.make_moons(jax.random.fold_in(key, 0), N_POINTS)
        x = jaxnn.data.standardize(x)
        init_keys = jax.random.split(jax.random.fold_in(key, 1), inits)
        return {a: jax.vmap(lambda k, a=a: _grad_norms(k, x, y, a))(init_keys) for a in ACTIVATIONS}

    return jax.lax.map(one, keys)


def run_seeds(keys: jax.Array, out_dir: str | None, *, quick: bool = False) -> list[Outcome]:
    inits = INITS_QUICK if quick else INITS
    out = jax.tree.map(np.asarray, _all_norms(keys, inits=inits))
    outcomes = []
    for i in range(len(keys)):
        spread = {a: out[a][0][i] for a in ACTIVATIONS}  # (inits, layers)
        norms = {a: np.median(out[a][0][i], 0) for a in ACTIVATIONS}
        errors = {a: np.median(out[a][1][i], 0) for a in ACTIVATIONS}
        slopes = {a: np.median(out[a][2][i], 0) for a in ACTIVATIONS}
        metrics = {
            "depth": DEPTH,
            "width": WIDTH,
            "inits": inits,
            **{f"{a}_grad_norm_per_layer": [float(v) for v in norms[a]] for a in ACTIVATIONS},
            **{f"{a}_error_norm_per_layer": [float(v) for v in errors[a]] for a in ACTIVATIONS},
            **{f"{a}_first_layer_grad_norm": float(norms[a][0]) for a in ACTIVATIONS},
            **{f"{a}_first_over_last": float(norms[a][0] / norms[a][-1]) for a in ACTIVATIONS},
            **{
                f"{a}_error_first_over_last": float(errors[a][0] / errors[a][-1])
                for a in ACTIVATIONS
            },
            **{
                f"{a}_mean_slope_per_hidden_layer": [float(v) for v in slopes[a]]
                for a in ACTIVATIONS
            },
            "relu_over_sigmoid_first_layer": float(norms["relu"][0] / norms["sigmoid"][0]),
            "tanh_over_sigmoid_first_layer": float(norms["tanh"][0] / norms["sigmoid"][0]),
        }
        figures = []
        if out_dir is not None and i == 0:  # figures at the first seed only
            figures = [_figure(out_dir, norms, spread, errors, slopes)]
        outcomes.append(outcome(sys.modules[__name__], metrics, figures))
    return outcomes


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    return run_seeds(key[None], out_dir, quick=quick)[0]


def _figure(out_dir, norms, spread, errors, slopes) -> Figure:
    colours = {"sigmoid": "tab:purple", "tanh": "tab:green", "relu": "tab:orange"}
    fig, (ax, ax1, ax2) = plotting.figure(3, width=5.0)
    layers = np.arange(1, DEPTH + 1)
    for a in ACTIVATIONS:
        ax.fill_between(
            layers, spread[a].min(0), spread[a].max(0), color=colours[a], alpha=0.15, lw=0
        )
        ax.plot(layers, norms[a], "o-", color=colours[a], label=f"{a} (median; band = min-max)")
        ax1.plot(layers, errors[a], "o-", color=colours[a], label=a)
        ax2.plot(layers[:-1], slopes[a], "o-", color=colours[a], label=a)
    ax.set(
        yscale="log",
        xlabel="layer (1 = next to the input)",
        ylabel="||dE/dW|| at initialisation",
        title=f"Weight gradient per layer, {DEPTH}-layer MLP of width {WIDTH}",
        xticks=layers,
    )
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8)
    ax1.set(
        yscale="log",
        xlabel="layer (1 = next to the input)",
        ylabel="||dE/dz|| at initialisation (median)",
        title="Error reaching each layer's z = h W + b",
        xticks=layers,
    )
    ax1.title.set_fontsize(10)
    ax1.legend(fontsize=8)
    ax2.axhline(0.25, color="grey", ls=":", label="max of sigmoid' = 1/4")
    ax2.set(
        ylim=(0, 1.05),
        xlabel="hidden layer",
        ylabel="mean |f'(z)| over the batch",
        title="What each layer multiplies the gradient by",
        xticks=layers[:-1],
    )
    ax2.title.set_fontsize(10)
    ax2.legend(fontsize=8, loc="center right", bbox_to_anchor=(1.0, 0.72))
    inits = len(spread["sigmoid"])
    shrink = float(f"{errors['sigmoid'][-1] / errors['sigmoid'][0]:.1g}")  # one digit
    keeps = {a: errors[a][0] / errors[a][-1] for a in ("tanh", "relu")}
    first = min(norms["tanh"][0], norms["relu"][0]) / norms["sigmoid"][0]
    smaller = float(f"{first:.1g}")  # one digit
    relu_first = norms["relu"][0] / np.median(norms["relu"][1:])
    mantissa, exponent = f"{np.prod(slopes['sigmoid']):.0e}".split("e")
    caption = (
        f"Left: the size of each layer's weight gradient at initialisation (median over {inits} "
        "initialisations, band from smallest to largest): under sigmoid (purple) the first "
        f"layer's is about {smaller:,.0f} times smaller than under tanh (green) or relu "
        "(orange). "
        f"Under relu the first layer's is still only {relu_first:.0%} of the other layers' "
        f"(median): it multiplies the error by the 2 input features, the others by {WIDTH} "
        "units. Middle: the "
        "error dE/dz that reaches each layer, the product of one chain-rule factor per layer "
        f"above it: under sigmoid it shrinks about {shrink:,.0f}-fold from the last layer to "
        f"the first, under tanh and relu the first layer keeps {keeps['tanh']:.0%} and "
        f"{keeps['relu']:.0%} of the last layer's. Right: the mean slope f'(z) of each hidden "
        f"layer, one factor of the chain rule: under sigmoid about "
        f"{np.mean(slopes['sigmoid']):.2f}, just below its largest value 1/4 (dotted), and its "
        f"{DEPTH - 1} factors multiply to about {mantissa} x 10^{int(exponent)}; under tanh "
        f"about {np.mean(slopes['tanh']):.2f}, under relu {np.mean(slopes['relu']):.2f}."
    )
    return plotting.save(fig, out_dir, "gradient_norm_per_layer.png", caption)


def verdicts(m: dict) -> list[Claim]:
    first = "first-layer weight-gradient norm under {} divided by that under sigmoid"
    # The error dE/dz_l reaching layer l is the chain rule's product of the factors of
    # the layers above it: what vanishes. The weight gradient dE/dW_l = h_(l-1)^T dE/dz_l
    # also carries the layer's input h_(l-1): the first layer reads 2 standardised
    # features, the others 32 units of about the same size each, so even where nothing
    # vanishes (relu, He initialisation) its weight gradient is about sqrt(2/32) = 1/4 of
    # the last layer's (0.13-0.37 over 20 seeds), a matter of widths, not of depth.
    ratio = "error dE/dz reaching the first layer divided by that at the last layer, under {}"
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
            m["sigmoid_error_first_over_last"],
            "<=",
            1 / ORDERS,
            quantity=ratio.format("sigmoid"),
        ),
        check(
            "Under tanh the gradient does not vanish towards the input",
            m["tanh_error_first_over_last"],
            ">=",
            NO_VANISH,
            quantity=ratio.format("tanh"),
        ),
        check(
            "Under relu the gradient does not vanish towards the input",
            m["relu_error_first_over_last"],
            ">=",
            NO_VANISH,
            quantity=ratio.format("relu"),
        ),
    ]


COUNTEREXAMPLE = {
    "relu_over_sigmoid_first_layer": 2.0,
    "tanh_over_sigmoid_first_layer": 1.5,
    "sigmoid_error_first_over_last": 0.5,
    "tanh_error_first_over_last": 1e-4,
    "relu_error_first_over_last": 1e-5,
}

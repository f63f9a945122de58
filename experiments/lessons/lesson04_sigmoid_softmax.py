"""Lesson 4: from the step to the sigmoid; softmax and one-hot encoding.

    python -m experiments run 4

Shows the step and the sigmoid side by side, checks the course's s(0) = 0.5 and
s' = s(1 - s) against ``jax.grad``, and that a two-class softmax equals the
sigmoid of the difference of the scores, over a grid of scores up to 1e4.
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check, outcome

LESSON = 4
TITLE = "continuous errors: sigmoid, softmax and one-hot"
STATEMENT = (
    "The perceptron's step jumps from 0 to 1, so it cannot say how wrong a point is; the "
    "sigmoid s(x) = 1 / (1 + e^-x) bends smoothly from 0 to 1, with s(0) = 0.5 and slope "
    "s(1 - s). For more than two classes, softmax turns scores into probabilities that sum "
    "to 1; with two classes it is exactly the sigmoid of the difference of the two scores."
)
SCORE_RANGE = 1e4  # the contract's largest logits: softmax must stay exact there


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    n = 1_001 if quick else 100_001
    z = jnp.linspace(-8.0, 8.0, n)
    s = jaxnn.sigmoid(z)
    deriv = jax.vmap(jax.grad(jaxnn.sigmoid))(z)
    z1 = jax.random.uniform(
        jax.random.fold_in(key, 0), (n,), minval=-SCORE_RANGE, maxval=SCORE_RANGE
    )
    z2 = jax.random.uniform(
        jax.random.fold_in(key, 1), (n,), minval=-SCORE_RANGE, maxval=SCORE_RANGE
    )
    two = jaxnn.softmax(jnp.stack([z1, z2], axis=1))[:, 0]
    labels = jax.random.randint(jax.random.fold_in(key, 2), (n,), 0, 5)
    onehot = jaxnn.one_hot(labels, 5)
    metrics = {
        "sigmoid_at_0": float(jaxnn.sigmoid(0.0)),
        "max_abs_sigmoid_derivative_error": float(jnp.max(jnp.abs(deriv - s * (1 - s)))),
        "max_abs_softmax2_minus_sigmoid": float(jnp.max(jnp.abs(two - jaxnn.sigmoid(z1 - z2)))),
        "softmax_nan_count": int(jnp.sum(~jnp.isfinite(two))),
        "one_hot_rows_not_one": int(jnp.sum(jnp.sum(onehot, 1) != 1)),
        "points": n,
    }
    fig, (ax, ax2) = plotting.figure(2)
    zs = np.asarray(z)
    ax.plot(zs, np.asarray(jaxnn.step(z)), color="black", label="step(x)")
    ax.plot(zs, np.asarray(s), color=plotting.RED, label="sigmoid(x)")
    ax.plot(zs, np.asarray(deriv), color=plotting.BLUE, ls="--", label="sigmoid'(x) = s(1-s)")
    ax.set(xlabel="score x = w·x + b", ylabel="output", title="Step vs sigmoid")
    ax.legend()
    # softmax of two scores against the sigmoid of their difference: 400 random pairs
    # whose difference lies in [-8, 8], as dots on the sigmoid's curve
    pairs = jax.random.uniform(jax.random.fold_in(key, 3), (400, 2), minval=-4.0, maxval=4.0)
    diff = np.asarray(pairs[:, 0] - pairs[:, 1])
    ax2.plot(zs, np.asarray(s), color=plotting.RED, lw=3, alpha=0.4, label="sigmoid(z1 - z2)")
    ax2.scatter(
        diff,
        np.asarray(jaxnn.softmax(pairs)[:, 0]),
        s=8,
        color="black",
        label="softmax(z1, z2), first class",
    )
    ax2.set(
        xlabel="difference of the two scores z1 - z2",
        ylabel="probability of the first class",
        title="Two-class softmax = sigmoid",
    )
    ax2.legend(loc="upper left")
    caption = (
        "Left: the step (black) jumps at 0; the sigmoid (red) passes 0.5 at 0, and its slope "
        "s(1 - s) (blue, dashed) is largest there. Right: for 400 random pairs of scores, "
        "the softmax probability of the first class (black dots) lies on the sigmoid of the "
        "difference of the scores (red curve)."
    )
    figures = [plotting.save(fig, out_dir, "step_vs_sigmoid.png", caption)]
    return outcome(sys.modules[__name__], metrics, figures)


def verdicts(m: dict) -> list[Claim]:
    return [
        check(
            "The sigmoid of 0 is exactly one half",
            abs(m["sigmoid_at_0"] - 0.5),
            "<=",
            0.0,
            quantity="distance of sigmoid(0) from 0.5",
        ),
        check(
            "The sigmoid's slope is s(1 - s), as jax.grad finds it",
            m["max_abs_sigmoid_derivative_error"],
            "<=",
            1e-6,
            quantity="largest difference between jax.grad and s(1 - s) on [-8, 8]",
        ),
        check(
            "A two-class softmax is the sigmoid of the difference of the scores",
            m["max_abs_softmax2_minus_sigmoid"],
            "<=",
            1e-6,
            quantity="largest difference in probability, scores up to 10,000 in size",
        ),
        check(
            "Softmax stays finite for scores as large as 10,000",
            m["softmax_nan_count"],
            "<=",
            0,
            quantity="probabilities that are NaN or infinite",
        ),
        check(
            "Every one-hot row has a single 1",
            m["one_hot_rows_not_one"],
            "<=",
            0,
            quantity="rows that do not sum to 1",
        ),
    ]


COUNTEREXAMPLE = {
    "sigmoid_at_0": 0.6,
    "max_abs_sigmoid_derivative_error": 0.1,
    "max_abs_softmax2_minus_sigmoid": 0.5,
    "softmax_nan_count": 3,
    "one_hot_rows_not_one": 2,
}

"""Lesson 4: from the step to the sigmoid; softmax and one-hot encoding.

    python -m experiments run 4

Shows the step and the sigmoid side by side, checks the course's s(0) = 0.5 and
s' = s(1 - s) against ``jax.grad``, and that a two-class softmax equals the
sigmoid of the difference of the scores, over a grid of scores up to 1e4.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check

LESSON = 4
TITLE = "continuous errors: sigmoid, softmax and one-hot"
SHOWS = "step vs sigmoid; softmax of two classes equals the sigmoid"
SCORE_RANGE = 1e4  # the contract's largest logits: softmax must stay exact there


def run(key: jax.Array, out_dir: str, *, quick: bool = False) -> Outcome:
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
    fig, ax = plotting.figure()
    zs = np.asarray(z)
    ax.plot(zs, np.asarray(jaxnn.step(z)), color="black", label="step(x)")
    ax.plot(zs, np.asarray(s), color=plotting.RED, label="sigmoid(x)")
    ax.plot(zs, np.asarray(deriv), color=plotting.BLUE, ls="--", label="sigmoid'(x) = s(1-s)")
    ax.set(xlabel="score x = w·x + b", ylabel="output", title="Step vs sigmoid")
    ax.legend()
    figures = [plotting.save(fig, out_dir, "step_vs_sigmoid.png")]
    return Outcome(
        LESSON, __name__.rsplit(".", 1)[1], TITLE, SHOWS, metrics, verdicts(metrics), figures
    )


def verdicts(m: dict) -> list[Claim]:
    return [
        check("sigmoid(0) = 0.5", abs(m["sigmoid_at_0"] - 0.5), "<=", 0.0),
        check(
            "sigmoid' = s(1-s), max abs error", m["max_abs_sigmoid_derivative_error"], "<=", 1e-6
        ),
        check(
            "two-class softmax = sigmoid(z1 - z2), max abs difference (|z| <= 1e4)",
            m["max_abs_softmax2_minus_sigmoid"],
            "<=",
            1e-6,
        ),
        check(
            "softmax finite for scores up to 1e4 (NaN/inf count)", m["softmax_nan_count"], "<=", 0
        ),
        check("one-hot rows summing to other than 1", m["one_hot_rows_not_one"], "<=", 0),
    ]


COUNTEREXAMPLE = {
    "sigmoid_at_0": 0.6,
    "max_abs_sigmoid_derivative_error": 0.1,
    "max_abs_softmax2_minus_sigmoid": 0.5,
    "softmax_nan_count": 3,
    "one_hot_rows_not_one": 2,
}

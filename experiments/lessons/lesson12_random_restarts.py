"""Lesson 12: local minima and random restarts.

    python -m experiments run 12

The smallest network that can compute XOR, 2-2-1 with sigmoids, trained by plain
full-batch gradient descent from many random initialisations at once
(jaxnn.restarts: one compiled, vmapped program). Some restarts solve XOR, others
settle in a local minimum (or on a plateau) where one or both hidden units are
wasted. Measured: the spread of the final losses over the restarts, and the
expected best loss of k restarts drawn from them (summary.best_of_k), k = 1..N,
which says how much more restarts buy.
"""

from __future__ import annotations

import jax
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check
from jaxnn.data import make_xor, standardize

LESSON = 12
TITLE = "local minima and random restarts"
SHOWS = "the spread of final losses over restarts and how best-of-N improves with N"

N_POINTS = 200  # four XOR clusters of 50
XOR_NOISE = 0.25  # clusters well apart: the solved loss is near 0, stuck ones are far above
SIZES = (2, 2, 1)  # two hidden units: just enough for XOR, so a wasted unit is fatal
ACTIVATION = "sigmoid"  # the course's network; its plateaus make the local minima
RESTARTS = 200  # many restarts: the share that gets stuck is estimated to a few percent
QUICK_RESTARTS = 32
LEARNING_RATE = 1.0  # plain gradient descent (momentum 0): no help escaping minima
EPOCHS = 2000  # solved restarts reach ~0.01; more epochs no longer move the stuck ones
QUICK_EPOCHS = 500
TOL = 0.01  # "as good as the best": loss within 0.01 of the best restart
SPREAD = 0.1  # a "large" spread: max - min loss above 0.1 nats (solved ~0.01, stuck >= 0.3)
STUCK = 0.1  # a restart is "stuck" if its loss is more than 0.1 above the best


def run(key: jax.Array, out_dir: str, *, quick: bool = False) -> Outcome:
    x, y = make_xor(jax.random.fold_in(key, 0), N_POINTS, noise=XOR_NOISE)
    x = standardize(x)
    model = jaxnn.MLP(SIZES, ACTIVATION)
    config = jaxnn.FitConfig(
        learning_rate=LEARNING_RATE,
        epochs=QUICK_EPOCHS if quick else EPOCHS,
        train_metrics="end_of_epoch",
    )
    n = QUICK_RESTARTS if quick else RESTARTS
    s = jaxnn.restarts(jax.random.fold_in(key, 1), model, (x, y), config=config, n=n, tol=TOL)
    losses = np.asarray(s.losses[0])
    bok = np.asarray(s.summary.best_of_k[0])
    acc = np.asarray(s.results.history.train_accuracy)[:, -1]
    best, worst = int(np.argmin(losses)), int(np.argmax(losses))
    ks = [k for k in (1, 2, 5, 10, 20, 50, 100, 200) if k <= n]
    steps = np.diff(bok)
    metrics = {
        "restarts": n,
        "min_loss": float(losses.min()),
        "median_loss": float(np.median(losses)),
        "max_loss": float(losses.max()),
        "spread": float(losses.max() - losses.min()),
        "fraction_within_tol": float(s.summary.fraction_within_tol[0]),
        "fraction_stuck": float(np.mean(losses > losses.min() + STUCK)),
        "best_accuracy": float(acc[best]),
        "worst_accuracy": float(acc[worst]),
        "best_of_k": {str(k): float(bok[k - 1]) for k in ks},
        "best_of_1": float(bok[0]),
        "best_of_n": float(bok[-1]),
        "best_of_k_increases": int(np.sum(steps > 0)),
        "best_of_k_strict_decrease_share": float(np.mean(steps < 0)) if n > 1 else 0.0,
        "diverged": int(np.sum(np.asarray(s.results.diverged_epoch) >= 0)),
    }
    figures = [
        _spread_figure(out_dir, losses, bok, s.results.history.train_loss),
        _boundary_figure(out_dir, s, model, x, y, losses, best, worst),
    ]
    return Outcome(
        LESSON, __name__.rsplit(".", 1)[1], TITLE, SHOWS, metrics, verdicts(metrics), figures
    )


def _spread_figure(out_dir, losses, bok, curves) -> str:
    fig, (ax0, ax1, ax2) = plotting.figure(3, width=5.0)
    bins = np.linspace(0, max(0.75, float(losses.max()) * 1.05), 50)
    ax0.hist(losses, bins=bins, color="0.5", edgecolor="black")
    ax0.axvline(losses.min(), color="black", ls="--", label=f"best {losses.min():.3f}")
    ax0.axvline(np.log(2), color="0.3", ls=":", label="ln 2 (chance)")
    ax0.set(
        xlabel="training loss of each restart (cross-entropy)",
        ylabel="restarts",
        title=f"{len(losses)} restarts: spread of final losses",
    )
    ax0.legend(fontsize=8)
    k = np.arange(1, len(bok) + 1)
    ax1.plot(k, bok, marker=".", color="black")
    ax1.set(
        xscale="log",
        yscale="log",
        xlabel="restarts k",
        ylabel="expected best loss of k restarts (log)",
        title="Expected best-of-k loss",
    )
    ax1.grid(alpha=0.3)
    curves = np.asarray(curves)
    epochs = np.arange(1, curves.shape[1] + 1)
    stuck = losses > losses.min() + STUCK
    for i in range(len(losses)):
        ax2.plot(
            epochs, curves[i], color="tab:orange" if stuck[i] else "tab:green", lw=0.5, alpha=0.5
        )
    ax2.plot([], [], color="tab:green", label=f"solved ({np.sum(~stuck)})")
    ax2.plot([], [], color="tab:orange", label=f"stuck ({np.sum(stuck)})")
    ax2.set(
        yscale="log",
        xlabel="epoch",
        ylabel="training loss (log)",
        title="Every restart's loss curve",
    )
    ax2.legend(fontsize=8)
    return plotting.save(fig, out_dir, "restart_losses.png")


def _boundary_figure(out_dir, s, model, x, y, losses, best, worst) -> str:
    fig, axes = plotting.figure(2)
    prob_of = jax.jit(lambda p, g: jax.nn.sigmoid(model.apply(p, g)[:, 0]))
    for ax, idx, name in ((axes[0], best, "best"), (axes[1], worst, "worst")):
        params = jax.tree.map(lambda a, i=idx: np.asarray(a)[i], s.results.params)
        prob = lambda g, p=params: prob_of(p, g)
        plotting.boundary(ax, prob, x, y, f"{name} restart #{idx}: loss {losses[idx]:.3f}")
    return plotting.save(fig, out_dir, "best_vs_worst.png")


def verdicts(m: dict) -> list[Claim]:
    return [
        check(
            "restarts end in different minima: spread of final losses (max - min)",
            m["spread"],
            ">",
            SPREAD,
        ),
        check(
            f"some restarts get stuck: share with loss > best + {STUCK:g}",
            m["fraction_stuck"],
            ">",
            0.0,
        ),
        check(
            "best-of-N improves with N: expected best of N minus best of 1",
            m["best_of_n"] - m["best_of_1"],
            "<",
            0.0,
        ),
        check(
            "best-of-k never gets worse as k grows (steps k -> k+1 that increase)",
            m["best_of_k_increases"],
            "<=",
            0,
        ),
        check(
            "best-of-k falls strictly at every step k -> k+1 (share of steps)",
            m["best_of_k_strict_decrease_share"],
            ">=",
            1.0,
        ),
    ]


COUNTEREXAMPLE = {
    "spread": 0.02,
    "fraction_stuck": 0.0,
    "best_of_1": 0.01,
    "best_of_n": 0.01,
    "best_of_k_increases": 3,
    "best_of_k_strict_decrease_share": 0.5,
}

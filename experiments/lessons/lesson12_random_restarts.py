"""Lesson 12: local minima and random restarts.

    python -m experiments run 12

The smallest network that can compute XOR, 2-2-1 with sigmoids, trained by plain
full-batch gradient descent from many random initialisations at once (a restart
study as ``jaxnn.restarts`` runs it: the restarts batched in one compiled loop).
Some restarts solve XOR, others settle in a local minimum (or on a plateau) where
one or both hidden units are wasted. Measured: the spread of the final losses over
the restarts, and the expected best loss of k restarts drawn from them
(``jaxnn.expected_best_of_k``), k = 1..N, which says how much more restarts buy.

Every seed (its own XOR draw and restarts) runs in one compiled program, seed after
seed (``lax.map``): each seed's study is the same computation whatever the other
seeds, so ``--seed S`` gives bitwise the numbers of a 20-seed run. A restart's loss
is its lowest training loss over the epochs, as ``jaxnn.restarts`` reports it,
measured by the updates themselves (``train_metrics="running"``: with a full batch,
the exact loss of the params each epoch starts from, at no extra cost).
"""

from __future__ import annotations

import functools
import sys

import jax
import jax.numpy as jnp
import matplotlib.ticker
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Figure, Outcome, check, outcome
from jaxnn.data import make_xor, standardize
from jaxnn.training import init_state, loop_layout, make_plan, run_epochs_batched

LESSON = 12
TITLE = "local minima and random restarts"
STATEMENT = (
    "Gradient descent can stop in a local minimum, and random restart starts it again from "
    "another random place, so that a better minimum is more likely to be found. Trained from "
    "many random starts, the smallest network that can compute XOR (two hidden sigmoid "
    "units) solves it from some and gets stuck from others, and the best of k restarts gets "
    "better as k grows."
)

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


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    return run_seeds(key[None], out_dir, quick=quick)[0]


def run_seeds(keys: jax.Array, out_dir: str | None, *, quick: bool = False) -> list[Outcome]:
    """Every seed's restart study as one compiled program; figures at ``keys[0]``."""
    n, epochs = (QUICK_RESTARTS, QUICK_EPOCHS) if quick else (RESTARTS, EPOCHS)
    out = jax.device_get(_studies(keys, n, epochs))
    outcomes = []
    for i in range(len(keys)):
        seed = jax.tree.map(lambda a, i=i: a[i], out)
        metrics = _metrics(seed["losses"], seed["accuracy"], seed["diverged"])
        figures = []
        if out_dir is not None and i == 0:  # figures at the first seed only
            x, y = seed["data"]
            losses, acc = seed["losses"], seed["accuracy"]
            best, worst = int(np.argmin(losses)), int(np.argmax(losses))
            bok = np.asarray(jaxnn.expected_best_of_k(losses))
            figures = [
                _spread_figure(out_dir, losses, bok, seed["curves"]),
                _boundary_figure(out_dir, seed["params"], x, y, losses, acc, best, worst),
            ]
        outcomes.append(outcome(sys.modules[__name__], metrics, figures))
    return outcomes


def _model_config(epochs: int) -> tuple[jaxnn.MLP, jaxnn.FitConfig]:
    """The network, and plain full-batch descent; its history's training loss is the
    one each update computes anyway (``train_metrics="running"``, free: with a full
    batch, the loss of the params the epoch starts from)."""
    return jaxnn.MLP(SIZES, ACTIVATION), jaxnn.FitConfig(learning_rate=LEARNING_RATE, epochs=epochs)


@functools.partial(jax.jit, static_argnames=("n", "epochs"))
def _studies(keys, n, epochs):
    """Seed by seed (``lax.map``: each seed runs the same program, so a seed's numbers
    do not depend on the others), a study of ``n`` restarts on that seed's data, the
    restarts batched (``run_epochs_batched``, as ``jaxnn.restarts`` does): restart r
    starts from ``fold_in(fold_in(key, 1), r)``, the key ``jaxnn.restarts`` gives it."""
    model, config = _model_config(epochs)
    plan = make_plan(config, N_POINTS, False, model)
    configs = jax.tree.map(lambda a: jnp.full((n,), a, jnp.float32), config)

    def study(key):
        x, y = make_xor(jax.random.fold_in(key, 0), N_POINTS, noise=XOR_NOISE)
        x = standardize(x)
        starts = jax.vmap(functools.partial(jax.random.fold_in, jax.random.fold_in(key, 1)))(
            jnp.arange(n, dtype=jnp.uint32)
        )
        states = jax.vmap(lambda k: init_state(k, model, config, plan))(starts)
        states, train, _ = loop_layout(states, (x, y), None, plan)
        st = run_epochs_batched(states, model, configs, plan, train, None, config.epochs)
        return {
            "data": (x, y),
            # each restart's loss: its lowest training loss (jaxnn.restarts' loss)
            "losses": st.early.best_loss,
            "accuracy": st.history.train_accuracy[:, -1],
            "diverged": jnp.sum(st.diverged_epoch >= 0),
            "curves": st.history.train_loss,
            "params": st.params,
        }

    return jax.lax.map(study, keys)


def _metrics(losses: np.ndarray, acc: np.ndarray, diverged) -> dict:
    n = losses.size
    bok = np.asarray(jaxnn.expected_best_of_k(losses))
    ks = [k for k in (1, 2, 5, 10, 20, 50, 100, 200) if k <= n]
    steps = np.diff(bok)
    best, worst = int(np.argmin(losses)), int(np.argmax(losses))
    return {
        "restarts": n,
        "min_loss": float(losses.min()),
        "median_loss": float(np.median(losses)),
        "max_loss": float(losses.max()),
        "spread": float(losses.max() - losses.min()),
        "fraction_within_tol": float(np.mean(losses <= losses.min() + TOL)),
        "fraction_stuck": float(np.mean(losses > losses.min() + STUCK)),
        "best_accuracy": float(acc[best]),
        "worst_accuracy": float(acc[worst]),
        "best_of_k": {str(k): float(bok[k - 1]) for k in ks},
        "best_of_1": float(bok[0]),
        "best_of_n": float(bok[-1]),
        "best_of_k_increases": int(np.sum(steps > 0)),
        "best_of_k_strict_decrease_share": float(np.mean(steps < 0)) if n > 1 else 0.0,
        "diverged": int(diverged),
    }


def _spread_figure(out_dir, losses, bok, curves) -> Figure:
    fig, (ax0, ax1, ax2) = plotting.figure(3, width=5.0)
    stuck = losses > losses.min() + STUCK
    bins = np.linspace(0, max(0.75, float(losses.max()) * 1.05), 50)
    ax0.hist(losses, bins=bins, color="0.5", edgecolor="black")
    ax0.axvline(losses.min(), color="black", ls="--", label=f"best {losses.min():.3f}")
    ax0.axvline(np.log(2), color="0.3", ls=":", label="ln 2 (guessing 0.5)")
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
        ylabel="expected best loss of k restarts (log scale)",
        title="Expected best-of-k loss",
    )
    ax1.yaxis.set_major_formatter(_PLAIN)
    ax1.yaxis.set_minor_formatter(_PLAIN)
    ax1.xaxis.set_major_formatter(_PLAIN)
    ax1.grid(alpha=0.3)
    curves = np.asarray(curves)
    epochs = np.arange(1, curves.shape[1] + 1)
    for i in range(len(losses)):
        ax2.plot(
            epochs, curves[i], color="tab:orange" if stuck[i] else "tab:green", lw=0.5, alpha=0.5
        )
    ax2.plot([], [], color="tab:green", label=f"solved ({np.sum(~stuck)})")
    ax2.plot([], [], color="tab:orange", label=f"stuck ({np.sum(stuck)})")
    ax2.set(
        yscale="log",
        xlabel="epoch",
        ylabel="training loss (log scale)",
        title="Every restart's loss curve",
    )
    ax2.yaxis.set_major_formatter(_PLAIN)
    ax2.yaxis.set_minor_formatter(_PLAIN)
    ax2.legend(fontsize=8)
    five = min(5, len(bok))
    stuck_at = f", most of them near {np.median(losses[stuck]):.2f}" if stuck.any() else ""
    caption = (
        f"Left: the final training loss of each of the {len(losses)} restarts: "
        f"{np.sum(~stuck)} end within {STUCK:g} of the best (black dashed line) and "
        f"{np.sum(stuck)} get stuck higher up{stuck_at}, below ln 2 (dotted), the loss of "
        "guessing 0.5 for every point. Middle: the expected best loss of k restarts falls "
        f"from {bok[0]:.3f} for one restart to {bok[five - 1]:.3f} for {five} and "
        f"{bok[-1]:.3f} for all {len(bok)}; right: every restart's loss curve, green if it "
        "solved XOR, orange if it got stuck."
    )
    return plotting.save(fig, out_dir, "restart_losses.png", caption)


# plain numbers on log axes, the minor ticks labelled at 2, 3 and 5 times a power of 10
_PLAIN = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "1235" else "")


def _boundary_figure(out_dir, stacked, x, y, losses, acc, best, worst) -> Figure:
    model = _model_config(1)[0]
    fig, axes = plotting.figure(2)
    prob_of = jax.jit(lambda p, g: jax.nn.sigmoid(model.apply(p, g)[:, 0]))
    for ax, idx, name in ((axes[0], best, "best"), (axes[1], worst, "worst")):
        params = jax.tree.map(lambda a, i=idx: np.asarray(a)[i], stacked)
        prob = lambda g, p=params: prob_of(p, g)
        title = f"{name} restart #{idx}: loss {losses[idx]:.3f}, accuracy {acc[idx]:.2f}"
        plotting.boundary(ax, prob, x, y, title)
    caption = (
        "The network's probability of class 1 for the best restart (left) and the worst "
        "(right), over the four XOR clusters; the black line is where it is 0.5. The best "
        f"separates the four clusters ({acc[best]:.0%} right); the worst got stuck sure of "
        "only some clusters, leaving the others in a pale, unsure band, and gets only "
        f"{acc[worst]:.0%} right."
    )
    return plotting.save(fig, out_dir, "best_vs_worst.png", caption)


def verdicts(m: dict) -> list[Claim]:
    return [
        check(
            "Restarts end in different minima",
            m["spread"],
            ">",
            SPREAD,
            quantity="largest minus smallest final training loss over the restarts",
        ),
        check(
            "Some restarts get stuck",
            m["fraction_stuck"],
            ">",
            0.0,
            quantity=f"share of restarts whose final loss is more than {STUCK:g} above the best",
        ),
        check(
            "The best of N restarts beats a single restart",
            m["best_of_n"] - m["best_of_1"],
            "<",
            0.0,
            quantity="best final loss of all N restarts minus the expected loss of one restart",
        ),
        check(
            "One more restart never makes the expected best worse",
            m["best_of_k_increases"],
            "<=",
            0,
            quantity="steps from k to k + 1 restarts at which the expected best loss rises",
        ),
        check(
            "Every extra restart lowers the expected best loss",
            m["best_of_k_strict_decrease_share"],
            ">=",
            1.0,
            quantity="share of the steps from k to k + 1 restarts at which it falls",
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

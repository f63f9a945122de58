"""Lesson 16: heavy-ball momentum reaches the loss in fewer steps than plain descent.

    python -m experiments run 16

Full-batch descent on the moons with momentum beta in ``BETAS``
(``FitConfig(momentum=beta)``; beta = 0 is plain gradient descent), every beta
with ``RESTARTS`` random starts, all as one ``jaxnn.sweep`` (one compiled
program). Each step adds beta times the previous step, so along a long shallow
valley steps build up to about 1 / (1 - beta) times the plain one, and the
training loss reaches ``TARGET_LOSS`` in fewer epochs.

Restart r starts every beta from the same weights (the sweep fits restart r with
``fold_in(key, r)``, and a fit draws its weights from ``fold_in(that key, 0)``);
the figure computes their loss to draw each start at epoch 0.
"""

from __future__ import annotations

import sys

import jax
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check, outcome

LESSON = 16
TITLE = "momentum"
STATEMENT = (
    "Momentum uses the speed built up going downhill: each step adds the previous steps, "
    "the last with weight beta, the one before with beta^2, and so on (0 <= beta < 1), so "
    "it can bounce out of a local minimum or reach a low loss in fewer steps than plain "
    "gradient descent (beta = 0)."
)
N_POINTS = 512  # moons, full batch: one update per epoch, so epochs = steps
HIDDEN = (16, 16)  # a small tanh MLP for the curved boundary
LEARNING_RATE = (
    0.3  # a rate at which plain descent is stable and converges (not tuned for momentum)
)
BETAS = (0.0, 0.5, 0.9)  # plain descent, moderate and the customary 0.9
MAIN_BETA = 0.9  # the momentum the claim is about (the usual default)
TARGET_LOSS = 0.1  # about 1.3x the loss plain descent ends at within the budget
EPOCHS, EPOCHS_QUICK = 600, 200
RESTARTS, RESTARTS_QUICK = 4, 2  # medians over random starts
SPEEDUP = 2.0  # "sooner": at least twice as fast, not a difference within restart noise
COLOURS = ("black", "tab:blue", "tab:orange")  # one per beta of BETAS


def _epochs_to(loss: np.ndarray, target: float) -> float:
    hit = np.nonzero(loss <= target)[0]
    return float(hit[0] + 1) if hit.size else float("inf")


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    epochs = EPOCHS_QUICK if quick else EPOCHS
    x, y = jax.jit(jaxnn.data.make_moons, static_argnums=1)(jax.random.fold_in(key, 0), N_POINTS)
    x = jaxnn.data.standardize(x)
    model = jaxnn.MLP((2, *HIDDEN, 1), activation="tanh")
    study = jaxnn.sweep(
        jax.random.fold_in(key, 1),
        model,
        (x, y),
        base=jaxnn.FitConfig(
            learning_rate=LEARNING_RATE, epochs=epochs, train_metrics="end_of_epoch"
        ),
        grid={"momentum": list(BETAS)},
        n_restarts=RESTARTS_QUICK if quick else RESTARTS,
    )
    loss = np.asarray(study.results.history.train_loss)  # (betas, restarts, epochs)
    to_target = np.array([[_epochs_to(r, TARGET_LOSS) for r in b] for b in loss])
    med = np.median(to_target, 1)
    final = np.median(loss[..., -1], 1)
    p, m = BETAS.index(0.0), BETAS.index(MAIN_BETA)
    metrics = {
        "learning_rate": LEARNING_RATE,
        "betas": list(BETAS),
        "target_loss": TARGET_LOSS,
        "epochs": epochs,
        "median_epochs_to_target": [float(v) for v in med],
        "final_loss": [float(v) for v in final],
        "diverged_fits": int(np.sum(np.asarray(study.results.diverged_epoch) >= 0)),
        "plain_epochs_to_target": float(med[p]),
        "momentum_epochs_to_target": float(med[m]),
        "plain_over_momentum_epochs": float(med[p] / med[m]),
        "momentum_final_over_plain_final": float(final[m] / final[p]),
    }

    figures = []
    if out_dir is not None:
        # restart r of the sweep is fit(fold_in(sweep key, r)), its weights fold_in(.., 0)
        sweep_key = jax.random.fold_in(key, 1)
        starts = []
        for r in range(loss.shape[1]):
            params = model.init(jax.random.fold_in(jax.random.fold_in(sweep_key, r), 0))
            starts.append(float(jaxnn.binary_cross_entropy(model.apply(params, x), y)))
        figures.append(_figure(loss, starts, med, out_dir))
    return outcome(sys.modules[__name__], metrics, figures)


def _figure(loss, starts, med, out_dir):
    """Left: every fit's loss per epoch from its start; right: median epochs to the target."""
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

    epochs = loss.shape[-1]
    fig, (ax1, ax2) = plotting.figure(2)
    e = np.arange(0, epochs + 1)
    for i, b in enumerate(BETAS):
        name = "plain descent (beta 0)" if b == 0 else f"momentum beta {b:g}"
        for r in range(loss.shape[1]):
            ax1.plot(
                e,
                np.concatenate([[starts[r]], loss[i, r]]),
                color=COLOURS[i],
                lw=1,
                alpha=0.8,
                label=name if r == 0 else None,
            )
    ax1.plot(
        np.zeros(len(starts)), starts, "*", color="dimgrey", ms=10, mec="white", label="starts"
    )
    ax1.axhline(TARGET_LOSS, color="red", ls="--", lw=1, label=f"loss {TARGET_LOSS:g}")
    ax1.set_xscale("symlog", linthresh=1, linscale=0.5)
    ax1.set_xlim(-0.15, epochs * 1.3)
    ax1.set(
        yscale="log",
        xlabel="epoch = full-batch update (0 = start, log scale above 1)",
        ylabel="training loss",
    )
    ax1.yaxis.set_major_locator(FixedLocator([0.05, 0.07, 0.1, 0.2, 0.3, 0.5, 0.7, 1]))
    ax1.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax1.yaxis.set_minor_formatter(NullFormatter())
    ax1.set_title(
        f"Full-batch descent, lr {LEARNING_RATE:g}, {loss.shape[1]} starts", fontsize=10, loc="left"
    )
    ax1.legend(fontsize=8, loc="upper right")
    shown = np.where(np.isfinite(med), med, epochs)
    names = ["plain (beta 0)" if b == 0 else f"beta {b:g}" for b in BETAS]
    bars = ax2.bar(names, shown, color=COLOURS)
    ax2.bar_label(bars, [f"{v:g}" if np.isfinite(v) else f"> {epochs}" for v in med])
    ax2.set(ylabel="epochs (median over starts)", xlabel="momentum")
    ax2.set_title(f"Epochs until the loss is {TARGET_LOSS:g} or below", fontsize=10, loc="left")
    ax2.margins(y=0.12)
    p, m = BETAS.index(0.0), BETAS.index(MAIN_BETA)
    if np.isfinite(med[p]):
        ratio = f"plain / beta {MAIN_BETA:g}:\n{med[p] / med[m]:.3g} times as many epochs"
    else:
        ratio = f"plain descent does not reach\nloss {TARGET_LOSS:g} in {epochs} epochs"
    ax2.text(0.97, 0.6, ratio, transform=ax2.transAxes, ha="right", fontsize=9)
    caption = (
        f"Left: the training loss at each epoch of plain gradient descent (black) and of "
        f"momentum beta 0.5 (blue) and 0.9 (orange), every beta run from the same "
        f"{loss.shape[1]} starting weights (grey stars, epoch 0); momentum drops below loss "
        f"{TARGET_LOSS:g} (red, dashed) after far fewer epochs. Right: the median over the "
        "starts of the epochs each beta needs to get there."
    )
    return plotting.save(fig, out_dir, "momentum_loss_and_epochs.png", caption)


def verdicts(m: dict) -> list[Claim]:
    return [
        check(
            f"Momentum {MAIN_BETA:g} reaches a training loss of {TARGET_LOSS:g} in at most "
            "half the steps of plain gradient descent",
            m["plain_over_momentum_epochs"],
            ">=",
            SPEEDUP,
            quantity=(
                f"epochs to loss {TARGET_LOSS:g} of plain descent divided by those of momentum "
                f"{MAIN_BETA:g} (medians over starts)"
            ),
        ),
        check(
            f"After the same number of steps, momentum {MAIN_BETA:g} ends at a lower loss than "
            "plain gradient descent",
            m["momentum_final_over_plain_final"],
            "<",
            1.0,
            quantity=(
                f"final loss of momentum {MAIN_BETA:g} divided by that of plain descent "
                "(medians over starts)"
            ),
        ),
    ]


COUNTEREXAMPLE = {"plain_over_momentum_epochs": 0.8, "momentum_final_over_plain_final": 1.3}

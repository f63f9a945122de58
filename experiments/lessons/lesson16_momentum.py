"""Lesson 16: heavy-ball momentum reaches the loss in fewer steps than plain descent.

    python -m experiments run 16

Full-batch descent on the moons with momentum beta in ``BETAS``
(``FitConfig(momentum=beta)``; beta = 0 is plain gradient descent), every beta
with ``RESTARTS`` random starts, all as one ``jaxnn.sweep`` (one compiled
program). Each step adds beta times the previous step, so along a long shallow
valley steps build up to about 1 / (1 - beta) times the plain one, and the
training loss reaches ``TARGET_LOSS`` in fewer epochs.
"""

from __future__ import annotations

import jax
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check

LESSON = 16
TITLE = "momentum"
SHOWS = "momentum reaching the loss sooner than plain descent"
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


def _epochs_to(loss: np.ndarray, target: float) -> float:
    hit = np.nonzero(loss <= target)[0]
    return float(hit[0] + 1) if hit.size else float("inf")


def run(key: jax.Array, out_dir: str, *, quick: bool = False) -> Outcome:
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

    colours = ["black", "tab:blue", "tab:orange"]
    fig, (ax1, ax2) = plotting.figure(2)
    e = np.arange(1, epochs + 1)
    for i, b in enumerate(BETAS):
        name = "plain descent (beta 0)" if b == 0 else f"momentum beta {b:g}"
        for r in range(loss.shape[1]):
            ax1.plot(
                e, loss[i, r], color=colours[i], lw=1, alpha=0.8, label=name if r == 0 else None
            )
    ax1.axhline(TARGET_LOSS, color="red", ls=":", lw=1, label=f"target loss {TARGET_LOSS:g}")
    ax1.set(
        xscale="log",
        yscale="log",
        xlabel="epoch (= full-batch update)",
        ylabel="training cross-entropy",
        title=f"Full-batch descent, lr {LEARNING_RATE:g}, every restart",
    )
    ax1.legend(fontsize=8)
    shown = np.where(np.isfinite(med), med, epochs)
    bars = ax2.bar([f"beta {b:g}" for b in BETAS], shown, color=colours)
    for bar, v in zip(bars, med, strict=True):
        text = f"{v:.0f}" if np.isfinite(v) else f"> {epochs}"
        ax2.annotate(
            text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom"
        )
    ax2.set(
        ylabel=f"epochs to loss {TARGET_LOSS:g} (median over restarts)",
        title="Epochs to reach the target loss",
    )
    figures = [plotting.save(fig, out_dir, "momentum_loss_and_epochs.png")]
    return Outcome(
        LESSON, __name__.rsplit(".", 1)[1], TITLE, SHOWS, metrics, verdicts(metrics), figures
    )


def verdicts(m: dict) -> list[Claim]:
    return [
        check(
            f"epochs to the target loss, plain / momentum {MAIN_BETA:g} (momentum is faster)",
            m["plain_over_momentum_epochs"],
            ">=",
            SPEEDUP,
        ),
        check(
            f"final loss after the same epochs, momentum {MAIN_BETA:g} / plain",
            m["momentum_final_over_plain_final"],
            "<",
            1.0,
        ),
    ]


COUNTEREXAMPLE = {"plain_over_momentum_epochs": 0.8, "momentum_final_over_plain_final": 1.3}

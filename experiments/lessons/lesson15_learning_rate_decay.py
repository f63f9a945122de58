"""Lesson 15: learning-rate decay; a too-high rate bounces, a decayed one settles.

    python -m experiments run 15

Trains one network on the moons by mini-batch descent from a learning rate that is
too high (``LEARNING_RATE``), kept constant or decayed exponentially per epoch
(``FitConfig(decay="exponential", decay_rate=r)``; r = 1 is the constant rate). The
rates r and ``RESTARTS`` random restarts are one ``jaxnn.sweep``: one compiled
program. The constant rate keeps overshooting, so the loss jumps up and down from
epoch to epoch; as the decayed rate shrinks the loss settles, lower.
"""

from __future__ import annotations

import jax
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check

LESSON = 15
TITLE = "learning-rate decay"
SHOWS = "a too-high rate bouncing, a decayed rate settling"
N_POINTS = 1024  # moons; 32 mini-batches per epoch
N_QUICK = 256
HIDDEN = (16, 16)  # a small tanh MLP, enough for the moons' curved boundary
LEARNING_RATE = 6.0  # too high: at this constant rate the loss never settles (rate 3 almost does)
BATCH_SIZE = 32  # mini-batches: the usual setting for a decay schedule
DECAY_RATES = (1.0, 0.98, 0.95, 0.9)  # per-epoch factors; 1.0 = constant, the baseline
MAIN_DECAY = 0.95  # the decayed rate the claims compare (fixed in advance; rate /170 by the end)
EPOCHS, EPOCHS_QUICK = 100, 40
RESTARTS, RESTARTS_QUICK = 3, 2  # medians over restarts, so one lucky start decides nothing
LAST = 0.2  # "the last epochs": the final fifth of the run, where settling shows


def run(key: jax.Array, out_dir: str, *, quick: bool = False) -> Outcome:
    n = N_QUICK if quick else N_POINTS
    epochs = EPOCHS_QUICK if quick else EPOCHS
    x, y = jax.jit(jaxnn.data.make_moons, static_argnums=1)(jax.random.fold_in(key, 0), n)
    x = jaxnn.data.standardize(x)
    model = jaxnn.MLP((2, *HIDDEN, 1), activation="tanh")
    base = jaxnn.FitConfig(
        learning_rate=LEARNING_RATE,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        decay="exponential",
        train_metrics="end_of_epoch",
    )
    study = jaxnn.sweep(
        jax.random.fold_in(key, 1),
        model,
        (x, y),
        base=base,
        zipped={"decay_rate": list(DECAY_RATES)},
        n_restarts=RESTARTS_QUICK if quick else RESTARTS,
    )
    loss = np.asarray(study.results.history.train_loss)  # (rates, restarts, epochs)
    lr = np.asarray(study.results.history.learning_rate)[:, 0]
    k = max(2, int(LAST * epochs))
    last = loss[..., -k:]
    # oscillation: mean |change of the loss| from one epoch to the next over the last epochs
    variation = np.median(np.abs(np.diff(last, axis=-1)).mean(-1), 1)
    rises = np.median((np.diff(last, axis=-1) > 0).mean(-1), 1)
    final = np.median(last[..., -max(1, k // 2) :].mean(-1), 1)  # mean of the last tenth
    c, d = DECAY_RATES.index(1.0), DECAY_RATES.index(MAIN_DECAY)
    metrics = {
        "learning_rate": LEARNING_RATE,
        "decay_rates": list(DECAY_RATES),
        "last_epochs": k,
        "loss_variation_per_epoch": [float(v) for v in variation],
        "fraction_of_epochs_loss_rises": [float(v) for v in rises],
        "final_loss": [float(v) for v in final],
        "diverged_fits": int(np.sum(np.asarray(study.results.diverged_epoch) >= 0)),
        "constant_final_loss": float(final[c]),
        "decayed_final_loss": float(final[d]),
        "constant_variation": float(variation[c]),
        "decayed_variation": float(variation[d]),
        "decayed_over_constant_final_loss": float(final[d] / final[c]),
        "decayed_over_constant_variation": float(variation[d] / variation[c]),
        "decayed_rates_ending_below_constant": float(
            np.mean([final[i] < final[c] for i in range(len(DECAY_RATES)) if i != c])
        ),
    }

    fig, ax = plotting.figure(width=7.5, height=4.8)
    ax_lr = ax.twinx()
    colours = ["black", "tab:green", "tab:blue", "tab:purple"]
    e = np.arange(1, epochs + 1)
    r0 = 0  # one restart drawn (the claims use medians over all of them)
    for i, r in enumerate(DECAY_RATES):
        label = "constant rate" if r == 1.0 else f"decayed x{r:g} per epoch"
        ax.plot(e, loss[i, r0], color=colours[i], lw=1.2, label=label)
        ax_lr.plot(e, lr[i], color=colours[i], lw=1, ls="--", alpha=0.7)
    ax.set(
        yscale="log",
        xlabel="epoch",
        ylabel="training cross-entropy (solid)",
        title=f"Mini-batch descent from a too-high rate {LEARNING_RATE:g}",
    )
    ax.axvspan(
        epochs - k + 0.5, epochs, color="grey", alpha=0.12, lw=0, label="last epochs measured"
    )
    ax_lr.set(yscale="log", ylabel="learning rate (dashed)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3)
    figures = [plotting.save(fig, out_dir, "loss_and_learning_rate.png")]
    return Outcome(
        LESSON, __name__.rsplit(".", 1)[1], TITLE, SHOWS, metrics, verdicts(metrics), figures
    )


def verdicts(m: dict) -> list[Claim]:
    return [
        check(
            f"loss bouncing over the last epochs, decayed (x{MAIN_DECAY:g}/epoch) / constant",
            m["decayed_over_constant_variation"],
            "<=",
            0.1,
        ),
        check(
            f"final loss, decayed (x{MAIN_DECAY:g}/epoch) / constant (settles lower)",
            m["decayed_over_constant_final_loss"],
            "<",
            1.0,
        ),
        check(
            "share of decay rates in the sweep ending below the constant rate",
            m["decayed_rates_ending_below_constant"],
            ">=",
            1.0,
        ),
    ]


COUNTEREXAMPLE = {
    "decayed_over_constant_variation": 0.9,
    "decayed_over_constant_final_loss": 1.2,
    "decayed_rates_ending_below_constant": 0.33,
}

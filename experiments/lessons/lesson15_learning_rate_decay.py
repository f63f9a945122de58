"""Lesson 15: learning-rate decay; a too-high rate bounces, a decayed one settles.

    python -m experiments run 15

Trains one network on the moons by mini-batch descent from a learning rate that is
too high (``LEARNING_RATE``), kept constant or multiplied by a factor r every epoch
(``FitConfig(decay="exponential", decay_rate=r)``, r in ``DECAY_RATES``; r = 1 is
the constant rate). The factors and ``RESTARTS`` random restarts are one
``jaxnn.sweep``: one compiled program. At the constant rate the loss keeps
jumping up and down from epoch to epoch; as a decayed rate shrinks, the loss
settles, lower. The first two claims are about one factor fixed in advance,
``MAIN_DECAY`` = 0.95, not about the factor that ends lowest (at most seeds a
slower decay, x0.98, ends lower: its rate stays large for longer); the third is
about every factor.
"""

from __future__ import annotations

import sys

import jax
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check, outcome

LESSON = 15
TITLE = "learning-rate decay"
STATEMENT = (
    "A learning rate that is too high makes the loss bounce up and down instead of "
    "settling; one that is too low takes too long to converge. Decreasing the learning "
    "rate as the model gets closer to a solution lets it settle: here a too-high rate of "
    "6 is kept constant or multiplied by 0.98, 0.95 or 0.9 after every epoch."
)
N_POINTS = 1024  # moons; 32 mini-batches per epoch
N_QUICK = 256
HIDDEN = (16, 16)  # a small tanh MLP, enough for the moons' curved boundary
LEARNING_RATE = 6.0  # too high: at this constant rate the loss never settles (rate 3 almost does)
BATCH_SIZE = 32  # mini-batches: the usual setting for a decay schedule
DECAY_RATES = (1.0, 0.98, 0.95, 0.9)  # per-epoch factors; 1.0 = constant, the baseline
MAIN_DECAY = 0.95  # the factor the first two claims test (fixed in advance; rate /170 by the end)
EPOCHS, EPOCHS_QUICK = 100, 40
RESTARTS, RESTARTS_QUICK = 3, 2  # medians over restarts, so one lucky start decides nothing
LAST = 0.2  # "the last epochs": the final fifth of the run, where settling shows
COLOURS = ("black", "tab:green", "tab:blue", "tab:purple")  # one per factor of DECAY_RATES


def _name(r: float) -> str:
    return f"constant rate {LEARNING_RATE:g}" if r == 1.0 else f"x{r:g} per epoch"


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
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
    tail = max(1, k // 2)
    final = np.median(last[..., -tail:].mean(-1), 1)  # mean of the last tenth
    c, d = DECAY_RATES.index(1.0), DECAY_RATES.index(MAIN_DECAY)
    metrics = {
        "learning_rate": LEARNING_RATE,
        "decay_rates": list(DECAY_RATES),
        "last_epochs": k,
        "loss_variation_per_epoch": [float(v) for v in variation],
        "fraction_of_epochs_loss_rises": [float(v) for v in rises],
        "final_loss": [float(v) for v in final],
        "lowest_final_loss_decay_rate": float(DECAY_RATES[int(np.argmin(final))]),
        "diverged_fits": int(np.sum(np.asarray(study.results.diverged_epoch) >= 0)),
        "main_decay_rate": MAIN_DECAY,
        "constant_final_loss": float(final[c]),
        "main_decay_final_loss": float(final[d]),
        "constant_variation": float(variation[c]),
        "main_decay_variation": float(variation[d]),
        "main_decay_over_constant_final_loss": float(final[d] / final[c]),
        "main_decay_over_constant_variation": float(variation[d] / variation[c]),
        "decay_rates_ending_below_constant": float(
            np.mean([final[i] < final[c] for i in range(len(DECAY_RATES)) if i != c])
        ),
    }
    figures = []
    if out_dir is not None:
        figures.append(_figure(loss[:, 0], lr, k, tail, final, variation, loss.shape[1], out_dir))
    return outcome(sys.modules[__name__], metrics, figures)


def _figure(loss, lr, k, tail, final, variation, restarts, out_dir):
    """Left: loss and rate per epoch (the first start); right: the measured summaries
    (medians over every start)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

    epochs = loss.shape[-1]
    fig = plt.figure(figsize=(12, 6.6), dpi=plotting.DPI, layout="constrained")
    axd = fig.subplot_mosaic(
        [["loss", "final"], ["lr", "bounce"]], width_ratios=[1.7, 1], height_ratios=[1.6, 1]
    )
    ax, ax_lr = axd["loss"], axd["lr"]
    ax_lr.sharex(ax)
    e = np.arange(1, epochs + 1)
    for i, r in enumerate(DECAY_RATES):
        lw = 2.0 if r == MAIN_DECAY else 1.1
        ax.plot(e, loss[i], color=COLOURS[i], lw=lw)
        ax_lr.plot(e, lr[i], color=COLOURS[i], lw=lw, label=_name(r))
    for a in (ax, ax_lr):
        a.axvspan(epochs - k + 0.5, epochs + 0.5, color="grey", alpha=0.15, lw=0)
        a.axvspan(epochs - tail + 0.5, epochs + 0.5, color="grey", alpha=0.15, lw=0)
        a.set_xlim(0.5, epochs + 0.5)
    ax.set(yscale="log", ylabel="training loss")
    ticks = FixedLocator([0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10])
    ax.yaxis.set_major_locator(ticks)
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(np.nanmin(loss) * 0.45, np.nanmax(loss) * 1.3)
    ax.set_title(
        f"Mini-batches of {BATCH_SIZE} from a too-high rate {LEARNING_RATE:g}: the loss "
        "at each epoch (one start)",
        fontsize=10,
        loc="left",
    )
    ax.tick_params(labelbottom=False)
    bottom = ax.get_ylim()[0] * 1.12
    ax.text(epochs - k + 1.5, bottom, f"last {k}", fontsize=8, color="dimgrey")
    ax.text(epochs - tail + 1.5, bottom, f"last {tail}", fontsize=8, color="dimgrey")
    ax_lr.set(yscale="log", xlabel="epoch", ylabel="learning rate")
    ax_lr.set_title("The learning rate at each epoch", fontsize=10, loc="left")
    ax_lr.legend(fontsize=9, loc="lower left", ncol=2)

    names = ["constant" if r == 1.0 else f"x{r:g}" for r in DECAY_RATES]
    low = int(np.argmin(final))
    for a, values, title, ylabel, fmt in (
        (axd["final"], final, f"Final loss (last {tail} epochs)", "training loss", "{:.3f}"),
        (
            axd["bounce"],
            variation,
            f"Bouncing (last {k} epochs)",
            "mean change of the loss\nfrom one epoch to the next",
            "{:.2g}",
        ),
    ):
        bars = a.bar(names, values, color=COLOURS)
        labels = [fmt.format(v) for v in values]
        if a is axd["final"]:
            labels[low] += "\nlowest"
            bars[low].set(edgecolor="red", linewidth=2.5)
        a.bar_label(bars, labels, fontsize=9)
        a.set(yscale="log", ylabel=ylabel)
        a.set_title(title + f", median of {restarts} starts", fontsize=10, loc="left")
        a.margins(y=0.3)
    fa = axd["final"]
    fa.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    fa.yaxis.set_minor_formatter(NullFormatter())
    fa.yaxis.set_major_locator(ticks)
    axd["bounce"].set_xlabel("factor the rate is multiplied by after each epoch")
    caption = (
        f"Left: the training loss (top) and the learning rate (bottom) at each epoch from "
        f"one start, at a constant rate {LEARNING_RATE:g} (black) or a rate multiplied after "
        "every epoch by 0.98 (green), 0.95 (blue, thicker: the factor the first two claims "
        "test) or 0.9 (purple): the constant rate keeps bouncing, and the faster the rate "
        f"shrinks, the sooner the loss settles. Right: medians over {restarts} starts of the "
        "final loss and of the bouncing, over the shaded last epochs; here "
        f"{_name(DECAY_RATES[low])} ends lowest (red edge)."
    )
    return plotting.save(fig, out_dir, "loss_and_learning_rate.png", caption)


def verdicts(m: dict) -> list[Claim]:
    d = f"x{MAIN_DECAY:g}"
    return [
        check(
            f"Multiplying the too-high rate by {MAIN_DECAY:g} after every epoch stops the "
            "loss bouncing",
            m["main_decay_over_constant_variation"],
            "<=",
            0.1,
            quantity=(
                "mean change of the loss from one epoch to the next over the last fifth of "
                f"the epochs, {d} per epoch divided by the constant rate (medians over starts)"
            ),
        ),
        check(
            f"Multiplied by {MAIN_DECAY:g} after every epoch, the rate ends at a lower loss "
            "than kept constant",
            m["main_decay_over_constant_final_loss"],
            "<",
            1.0,
            quantity=(
                f"final loss (mean over the last tenth of the epochs), {d} per epoch divided "
                "by the constant rate (medians over starts)"
            ),
        ),
        check(
            "Every decay factor tried (x"
            + ", x".join(f"{r:g}" for r in DECAY_RATES if r != 1.0)
            + " per epoch) ends at a lower loss than the constant rate",
            m["decay_rates_ending_below_constant"],
            ">=",
            1.0,
            quantity="share of the decay factors whose final loss is below the constant rate's",
        ),
    ]


COUNTEREXAMPLE = {
    "main_decay_over_constant_variation": 0.9,
    "main_decay_over_constant_final_loss": 1.2,
    "decay_rates_ending_below_constant": 0.33,
}

"""Lesson 11: dropout.

    python -m experiments run 11

A network far bigger than its data (2-64-64-1 relu, ~4,400 weights) on 60 noisy
moons points overfits: training loss near 0, validation loss high. One compiled
sweep trains it at every dropout rate of a grid (PRNG-keyed inverted dropout on
both hidden layers, a fresh mask per update), a few restarts each, and measures
the gap between validation and training loss and accuracy (both evaluated
without dropout, averaged over the last 100 epochs and the restarts). The course
says the gap closes as the rate grows. The accuracy gap does, but from the
training side: the training accuracy falls as the rate grows while the validation
accuracy stays within a few points of where it was; the loss gap closes from both
sides (training loss up, validation loss down at moderate rates). The ``*_change``
metrics split each gap's change into its two sides.
"""

from __future__ import annotations

import sys

import jax
import matplotlib.ticker
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Figure, Outcome, check, outcome
from jaxnn.data import Standardizer, make_moons

LESSON = 11
TITLE = "dropout"
STATEMENT = (
    "Dropout turns off each hidden unit at random at every training step, with a "
    "probability called the dropout rate (a hyperparameter), so that no few units dominate "
    "and every unit gets trained. A network far bigger than its data overfits, fitting its "
    "training points much better than new (validation) points, and the course says this gap "
    "closes as the rate grows. Here the accuracy gap closes because the training fit gets "
    "worse: as the rate grows, training accuracy falls while validation accuracy stays within "
    "a few points of where it was, not reliably better; the validation loss, though, does "
    "fall at moderate rates at most seeds."
)

N_TRAIN = 60  # few points: the big network can memorise every one of them
N_VAL = 300  # enough validation points that its loss is not itself noisy
NOISE = 0.35  # overlapping moons: memorising them means learning the noise
SIZES = (2, 64, 64, 1)  # ~4,400 weights for 60 points: overfits without dropout
ACTIVATION = "relu"
RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)  # from none to most units dropped
QUICK_RATES = (0.0, 0.4, 0.8)
RESTARTS = 2  # per rate, averaged: one mask sequence is a noisy estimate of a rate's gap
QUICK_RESTARTS = 1
LEARNING_RATE = 0.05  # full-batch heavy ball: stable for every rate
MOMENTUM = 0.9
EPOCHS = 800  # long enough that the rate-0 network has memorised the training set
QUICK_EPOCHS = 150
AVERAGE_LAST = 100  # gaps averaged over the last 100 epochs: one epoch's mask is noisy
QUICK_AVERAGE_LAST = 20
MIN_OVERFIT = 0.05  # "overfits": train accuracy at least 5 points above validation


def _spearman(a, b) -> float:
    """Spearman rank correlation (average ranks for ties); NaN if either is constant."""

    def ranks(v):
        v = np.asarray(v, np.float64)
        r = np.empty(len(v))
        r[np.argsort(v, kind="stable")] = np.arange(len(v), dtype=np.float64)
        for u in np.unique(v):
            r[v == u] = r[v == u].mean()
        return r

    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    rates = list(QUICK_RATES if quick else RATES)
    # one draw split in two (one compiled generator rather than two shapes)
    xa, ya = make_moons(jax.random.fold_in(key, 0), N_TRAIN + N_VAL, noise=NOISE)
    x, y, xv, yv = xa[:N_TRAIN], ya[:N_TRAIN], xa[N_TRAIN:], ya[N_TRAIN:]
    scaler = Standardizer.fit(x)
    train, val = (scaler.transform(x), y), (scaler.transform(xv), yv)
    model = jaxnn.MLP(SIZES, ACTIVATION)
    config = jaxnn.FitConfig(
        learning_rate=LEARNING_RATE,
        momentum=MOMENTUM,
        epochs=QUICK_EPOCHS if quick else EPOCHS,
        train_metrics="end_of_epoch",  # train and val at the same params, no dropout
    )
    s = jaxnn.sweep(
        jax.random.fold_in(key, 2),
        model,
        train,
        val,
        base=config,
        grid={"dropout": rates},
        n_restarts=QUICK_RESTARTS if quick else RESTARTS,
    )
    h = s.results.history  # leaves (rates, restarts, epochs)
    tail = QUICK_AVERAGE_LAST if quick else AVERAGE_LAST
    last = lambda a: np.asarray(a)[:, :, -tail:].mean(axis=(1, 2))
    tl, vl = last(h.train_loss), last(h.val_loss)
    ta, va = last(h.train_accuracy), last(h.val_accuracy)
    loss_gap, acc_gap = vl - tl, ta - va
    metrics = {
        "rates": rates,
        "train_loss": tl.tolist(),
        "val_loss": vl.tolist(),
        "train_accuracy": ta.tolist(),
        "val_accuracy": va.tolist(),
        "loss_gap": loss_gap.tolist(),
        "accuracy_gap": acc_gap.tolist(),
        "loss_gap_at_0": float(loss_gap[0]),
        "loss_gap_at_max_rate": float(loss_gap[-1]),
        "accuracy_gap_at_0": float(acc_gap[0]),
        "accuracy_gap_at_max_rate": float(acc_gap[-1]),
        # where the gaps' change comes from: each side, highest rate minus rate 0
        "train_accuracy_change": float(ta[-1] - ta[0]),
        "val_accuracy_change": float(va[-1] - va[0]),
        "train_loss_change": float(tl[-1] - tl[0]),
        "val_loss_change": float(vl[-1] - vl[0]),
        "spearman_rate_loss_gap": _spearman(rates, loss_gap),
        "spearman_rate_accuracy_gap": _spearman(rates, acc_gap),
        "max_rate": rates[-1],
        "epochs_averaged": tail,
    }
    figures = []
    if out_dir is not None:  # figures at the first seed only
        figures = [
            _gap_figure(out_dir, metrics),
            _boundary_figure(out_dir, s, model, train, val, rates),
            _curves_figure(out_dir, h, rates),
        ]
    return outcome(sys.modules[__name__], metrics, figures)


TRAIN_COLOR, VAL_COLOR = "tab:green", "tab:orange"  # not the class colours


def _gap_arrow(ax, x, lo, hi, text, side) -> None:
    """A double arrow from ``lo`` to ``hi`` at ``x``, labelled ``text`` beside it."""
    ax.annotate("", (x, lo), (x, hi), arrowprops={"arrowstyle": "<->", "color": "black"})
    ax.annotate(
        text,
        (x, 0.5 * (lo + hi)),
        xytext=(6 if side == "right" else -6, 0),
        textcoords="offset points",
        ha="left" if side == "right" else "right",
        va="center",
        fontsize=8,
    )


def _gap_figure(out_dir, m) -> Figure:
    r = np.asarray(m["rates"])
    ta, va = np.asarray(m["train_accuracy"]), np.asarray(m["val_accuracy"])
    tl, vl = np.asarray(m["train_loss"]), np.asarray(m["val_loss"])
    fig, (ax0, ax1, ax2) = plotting.figure(3, width=4.8)
    pad = 0.12 * (r[-1] - r[0])
    for ax, tr, vd, what, gap in (
        (ax0, ta, va, "accuracy", "gap = train - validation"),
        (ax1, tl, vl, "cross-entropy loss", "gap = validation - train"),
    ):
        ax.fill_between(r, tr, vd, color="0.88", label=gap)
        ax.plot(r, tr, "o-", color=TRAIN_COLOR, label="train")
        ax.plot(r, vd, "s-", color=VAL_COLOR, label="validation")
        _gap_arrow(
            ax, r[0], min(tr[0], vd[0]), max(tr[0], vd[0]), f"gap {abs(tr[0] - vd[0]):.2f}", "right"
        )
        _gap_arrow(
            ax,
            r[-1],
            min(tr[-1], vd[-1]),
            max(tr[-1], vd[-1]),
            f"gap {abs(tr[-1] - vd[-1]):.2f}",
            "left",
        )
        ax.set(
            xlabel="dropout rate",
            ylabel=f"{what} (mean of the last {m['epochs_averaged']} epochs)",
            xlim=(r[0] - pad, r[-1] + pad),
        )
    ax0.set_title("Accuracy by dropout rate")
    ax0.legend(fontsize=8, loc="upper right")
    ax1.set_title("Loss by dropout rate")
    ax1.legend(fontsize=8, loc="best")
    # the accuracy gap's change split in two: gap(r) - gap(0) = dtrain(r) - dval(r)
    ax2.axhline(0.0, color="0.6", lw=0.8)
    ax2.plot(r, ta - ta[0], "o-", color=TRAIN_COLOR, label="train accuracy")
    ax2.plot(r, va - va[0], "s-", color=VAL_COLOR, label="validation accuracy")
    ax2.plot(r, (ta - va) - (ta[0] - va[0]), "--", color="black", label="accuracy gap")
    ax2.set(
        xlabel="dropout rate",
        ylabel="accuracy: change from rate 0",
        title="What moves when the gap closes",
        xlim=(r[0] - pad, r[-1] + pad),
    )
    ax2.legend(fontsize=8, loc="lower left")
    dt, dv = ta[-1] - ta[0], va[-1] - va[0]
    closes = "closes" if (ta[-1] - va[-1]) < (ta[0] - va[0]) else "does not close"
    if abs(dv) < 0.03:
        val_says = "validation accuracy stays about where it was"
    else:
        val_says = f"validation accuracy {'rises' if dv > 0 else 'falls'} by {abs(dv):.2f}"
    caption = (
        "Training (green) and validation (orange) accuracy and loss at each dropout rate, "
        f"the gap between them shaded grey. The accuracy gap {closes} from "
        f"{ta[0] - va[0]:.2f} at rate 0 to {ta[-1] - va[-1]:.2f} at rate {r[-1]:g}: training "
        f"accuracy {'falls' if dt < 0 else 'rises'} ({ta[0]:.2f} to {ta[-1]:.2f}) while "
        f"{val_says} ({va[0]:.2f} to {va[-1]:.2f}), as the right panel shows; the validation "
        f"loss goes from {vl[0]:.2f} to {vl[-1]:.2f} (lowest {vl.min():.2f}, at rate "
        f"{r[int(np.argmin(vl))]:g})."
    )
    return plotting.save(fig, out_dir, "gap_vs_rate.png", caption)


def _boundary_figure(out_dir, s, model, train, val, rates) -> Figure:
    fig, axes = plotting.figure(2)
    prob_of = jax.jit(lambda p, g: jax.nn.sigmoid(model.apply(p, g)[:, 0]))

    def accuracy(p, data):
        return float(np.mean((np.asarray(prob_of(p, data[0])) >= 0.5) == np.asarray(data[1])))

    acc = {}
    for ax, i in zip(axes, (0, len(rates) - 1), strict=True):
        params = jax.tree.map(lambda a, i=i: np.asarray(a)[i, 0], s.results.params)
        prob = lambda g, p=params: prob_of(p, g)
        acc[i] = accuracy(params, train), accuracy(params, val)
        title = (
            f"dropout rate {rates[i]:g}: train accuracy {acc[i][0]:.2f},\n"
            f"validation accuracy {acc[i][1]:.2f}"
        )
        plotting.boundary(ax, prob, *train, title)
    top = len(rates) - 1
    caption = (
        f"The network's probability of class 1 after training, over its {N_TRAIN} training "
        f"points, without dropout (left) and at rate {rates[-1]:g} (right); the black line "
        "is where it is 0.5. Without dropout the line bends around single noisy points to "
        f"classify {acc[0][0]:.0%} of them right; with dropout it is smoother and gets "
        f"{acc[top][0]:.0%} right, while on the validation points it scores "
        f"{acc[top][1]:.2f} against {acc[0][1]:.2f} without dropout."
    )
    return plotting.save(fig, out_dir, "boundaries.png", caption)


def _curves_figure(out_dir, h, rates) -> Figure:
    fig, ax = plotting.figure()
    epochs = np.arange(1, np.asarray(h.train_loss).shape[-1] + 1)
    for i, ls in ((0, "-"), (len(rates) - 1, "--")):
        ax.plot(
            epochs,
            np.asarray(h.train_loss)[i, 0],
            ls,
            color=TRAIN_COLOR,
            label=f"train, rate {rates[i]:g}",
        )
        ax.plot(
            epochs,
            np.asarray(h.val_loss)[i, 0],
            ls,
            color=VAL_COLOR,
            label=f"validation, rate {rates[i]:g}",
        )
    ax.set(
        yscale="log",
        xlabel="epoch",
        ylabel="cross-entropy loss (log scale)",
        title="Loss curves without and with dropout",
    )
    # plain numbers on the log axis, the minor ticks at 2, 3 and 5 times a power of 10
    plain = matplotlib.ticker.FuncFormatter(
        lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "1235" else ""
    )
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ax.legend(fontsize=8)
    caption = (
        f"Training (green) and validation (orange) loss, epoch by epoch, without dropout "
        f"(solid) and at rate {rates[-1]:g} (dashed). Without dropout the training loss keeps "
        "falling towards 0 while the validation loss turns up; with dropout the training loss "
        "stays higher, and the two curves stay closer together."
    )
    return plotting.save(fig, out_dir, "loss_curves.png", caption)


def verdicts(m: dict) -> list[Claim]:
    top = m.get("max_rate", RATES[-1])
    trend = "rank correlation of the rate and the {} gap over the rates (-1: it always shrinks)"
    return [
        check(
            "Without dropout the network overfits",
            m["accuracy_gap_at_0"],
            ">=",
            MIN_OVERFIT,
            quantity="training accuracy minus validation accuracy at rate 0",
        ),
        check(
            f"Dropout at rate {top:g} narrows the loss gap",
            m["loss_gap_at_max_rate"] - m["loss_gap_at_0"],
            "<",
            0.0,
            quantity=f"loss gap (validation minus training loss) at rate {top:g} minus at rate 0",
        ),
        check(
            f"Dropout at rate {top:g} narrows the accuracy gap",
            m["accuracy_gap_at_max_rate"] - m["accuracy_gap_at_0"],
            "<",
            0.0,
            quantity=(
                f"accuracy gap (training minus validation accuracy) at rate {top:g} minus at rate 0"
            ),
        ),
        check(
            "The loss gap shrinks as the rate grows",
            m["spearman_rate_loss_gap"],
            "<",
            0.0,
            quantity=trend.format("loss"),
        ),
        check(
            "The accuracy gap shrinks as the rate grows",
            m["spearman_rate_accuracy_gap"],
            "<",
            0.0,
            quantity=trend.format("accuracy"),
        ),
    ]


COUNTEREXAMPLE = {
    "max_rate": 0.8,
    "accuracy_gap_at_0": 0.01,
    "loss_gap_at_0": 0.2,
    "loss_gap_at_max_rate": 0.5,
    "accuracy_gap_at_max_rate": 0.1,
    "spearman_rate_loss_gap": 0.6,
    "spearman_rate_accuracy_gap": float("nan"),
}

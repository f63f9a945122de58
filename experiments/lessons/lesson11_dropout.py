"""Lesson 11: dropout.

    python -m experiments run 11

A network far bigger than its data (2-64-64-1 relu, ~4,400 weights) on 60 noisy
moons points overfits: training loss near 0, validation loss high. One compiled
sweep trains it at every dropout rate of a grid (PRNG-keyed inverted dropout on
both hidden layers, a fresh mask per update), a few restarts each, and measures
the gap between validation and training loss and accuracy (both evaluated
without dropout, averaged over the last 100 epochs and the restarts). The course
says the gap closes as the rate grows.
"""

from __future__ import annotations

import jax
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check
from jaxnn.data import Standardizer, make_moons

LESSON = 11
TITLE = "dropout"
SHOWS = "a gap between train and validation closing as the rate grows"

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


def run(key: jax.Array, out_dir: str, *, quick: bool = False) -> Outcome:
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
        "spearman_rate_loss_gap": _spearman(rates, loss_gap),
        "spearman_rate_accuracy_gap": _spearman(rates, acc_gap),
        "max_rate": rates[-1],
        "epochs_averaged": tail,
    }
    figures = [
        _gap_figure(out_dir, metrics),
        _boundary_figure(out_dir, s, model, train, rates),
        _curves_figure(out_dir, h, rates),
    ]
    return Outcome(
        LESSON, __name__.rsplit(".", 1)[1], TITLE, SHOWS, metrics, verdicts(metrics), figures
    )


TRAIN_COLOR, VAL_COLOR = "tab:green", "tab:orange"  # not the class colours


def _gap_figure(out_dir, m) -> str:
    r = np.asarray(m["rates"])
    fig, (ax0, ax1) = plotting.figure(2)
    for ax, (tr, va, what) in zip(
        (ax0, ax1),
        (
            (m["train_loss"], m["val_loss"], "cross-entropy loss"),
            (m["train_accuracy"], m["val_accuracy"], "accuracy"),
        ),
        strict=True,
    ):
        ax.plot(r, tr, "o-", color=TRAIN_COLOR, label="train")
        ax.plot(r, va, "s-", color=VAL_COLOR, label="validation")
        ax.fill_between(r, tr, va, color="0.85", label="gap")
        ax.set(
            xlabel="dropout rate", ylabel=f"{what} (mean of the last {m['epochs_averaged']} epochs)"
        )
        ax.legend(fontsize=8)
    ax0.set_title("Loss: train vs validation by dropout rate")
    ax1.set_title("Accuracy: train vs validation by dropout rate")
    return plotting.save(fig, out_dir, "gap_vs_rate.png")


def _boundary_figure(out_dir, s, model, train, rates) -> str:
    fig, axes = plotting.figure(2)
    prob_of = jax.jit(lambda p, g: jax.nn.sigmoid(model.apply(p, g)[:, 0]))
    for ax, i in zip(axes, (0, len(rates) - 1), strict=True):
        params = jax.tree.map(lambda a, i=i: np.asarray(a)[i, 0], s.results.params)
        prob = lambda g, p=params: prob_of(p, g)
        plotting.boundary(ax, prob, *train, f"dropout rate {rates[i]:g} (training points)")
    return plotting.save(fig, out_dir, "boundaries.png")


def _curves_figure(out_dir, h, rates) -> str:
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
        ylabel="cross-entropy loss (log)",
        title="Loss curves without and with dropout",
    )
    ax.legend(fontsize=8)
    return plotting.save(fig, out_dir, "loss_curves.png")


def verdicts(m: dict) -> list[Claim]:
    top = m.get("max_rate", RATES[-1])
    return [
        check(
            "without dropout the network overfits: train - validation accuracy at rate 0",
            m["accuracy_gap_at_0"],
            ">=",
            MIN_OVERFIT,
        ),
        check(
            f"loss gap (validation - train) at rate {top:g} minus at rate 0",
            m["loss_gap_at_max_rate"] - m["loss_gap_at_0"],
            "<",
            0.0,
        ),
        check(
            f"accuracy gap (train - validation) at rate {top:g} minus at rate 0",
            m["accuracy_gap_at_max_rate"] - m["accuracy_gap_at_0"],
            "<",
            0.0,
        ),
        check(
            "the loss gap shrinks as the rate grows (Spearman of rate and gap)",
            m["spearman_rate_loss_gap"],
            "<",
            0.0,
        ),
        check(
            "the accuracy gap shrinks as the rate grows (Spearman of rate and gap)",
            m["spearman_rate_accuracy_gap"],
            "<",
            0.0,
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

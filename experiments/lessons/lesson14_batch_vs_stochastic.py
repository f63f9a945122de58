"""Lesson 14: batch, mini-batch and stochastic (single-example) gradient descent.

    python -m experiments run 14

Trains one network on the moons three ways with the same ``jaxnn.fit``
(``FitConfig.batch_size`` None / 32 / 1), each at its own best learning rate, and
plots the training loss against the number of updates and against wall time.
Full batch takes few, exact but expensive steps; single-example descent takes many
cheap, noisy ones; mini-batches sit between, and reach a given loss first.

Timing: each way is fitted twice with the same config (one compiled program). The
first fit compiles it; the second is timed, and its time per epoch converts the
epoch at which a fit first reaches ``TARGET_LOSS`` (the mean over the two fits,
two random starts) into seconds. Every epoch also
evaluates the loss on the whole training set (the same cost for the three ways).

The figure draws the timed fit of each way, one way per row. The loss is measured
once per epoch, after the epoch's last update: after 1 update for a full batch,
after 64 for mini-batches of 32, after 2,048 for single examples. The three timed
fits start from the same weights (the same fit key), whose loss is drawn at 0
updates and 0 s; the figure computes it from those weights (``fit`` draws its
initial weights from ``fold_in(key, 0)``), and nothing is measured between that
start and the end of the first epoch.
"""

from __future__ import annotations

import sys
import time

import jax
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check, outcome

LESSON = 14
TITLE = "batch vs stochastic gradient descent"
STATEMENT = (
    "Batch gradient descent uses all the input data before taking a step: each step is "
    "accurate, but costly. Using a single point, or a mini-batch of a few points, per step "
    "gives many cheap steps that are slightly less accurate, and speeds the iteration up."
)
N_POINTS = 2048  # enough examples that one full-batch step costs visibly more than one of 32
HIDDEN = (16, 16)  # a small tanh MLP: the moons need a curved boundary
MINI_BATCH = 32  # the usual mini-batch size
TARGET_LOSS = 0.1  # ~1.3x the lowest loss this network reaches here (~0.075, long full batch)
# Each way at its own best rate, from an offline grid 0.003, 0.01, ..., 3 (seed 0,
# time to TARGET_LOSS): a fair race, not one rate that suits only one of them.
LEARNING_RATE = {"full batch": 3.0, "mini-batch (32)": 3.0, "single example": 0.1}
BATCH = {"full batch": None, "mini-batch (32)": MINI_BATCH, "single example": 1}
# Epoch budgets of a few times each way's time to the target (0.25-1 s on 2 CPU cores).
EPOCHS = {"full batch": 1000, "mini-batch (32)": 100, "single example": 40}
# Quick: same data (compiling, not epochs, is the cost), shorter budgets.
EPOCHS_QUICK = {"full batch": 600, "mini-batch (32)": 30, "single example": 30}
SHORT = {"full batch": "full", "mini-batch (32)": "mini", "single example": "single"}  # metric keys
COLOURS = {"full batch": "black", "mini-batch (32)": "tab:green", "single example": "tab:purple"}
NAME = {
    "full batch": "Full batch",
    "mini-batch (32)": "Mini-batches of 32",
    "single example": "Single examples",
}
PER_EPOCH = {
    "full batch": "all {n:,} examples per update, 1 update per epoch",
    "mini-batch (32)": "{upe:,} updates per epoch",
    "single example": "{upe:,} updates per epoch",
}


def _first_epoch_below(loss: np.ndarray, target: float) -> float:
    """Epochs (1-based count) until the loss first reaches ``target``; inf if never."""
    hit = np.nonzero(loss <= target)[0]
    return float(hit[0] + 1) if hit.size else float("inf")


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    n = N_POINTS
    x, y = jax.jit(jaxnn.data.make_moons, static_argnums=1)(jax.random.fold_in(key, 0), n)
    x = jaxnn.data.standardize(x)
    model = jaxnn.MLP((2, *HIDDEN, 1), activation="tanh")
    epochs = EPOCHS_QUICK if quick else EPOCHS
    curves, metrics = {}, {"n_train": n, "target_loss": TARGET_LOSS}
    for name, bs in BATCH.items():
        cfg = jaxnn.FitConfig(
            learning_rate=LEARNING_RATE[name],
            epochs=epochs[name],
            batch_size=bs,
            train_metrics="end_of_epoch",
        )
        warm = jaxnn.fit(jax.random.fold_in(key, 1), model, (x, y), config=cfg)  # compiles
        t0 = time.perf_counter()
        res = jaxnn.fit(jax.random.fold_in(key, 2), model, (x, y), config=cfg)
        jax.block_until_ready(res.history.train_loss)
        seconds = time.perf_counter() - t0
        per_epoch = seconds / int(res.epochs_run)
        updates_per_epoch = -(-n // (n if bs is None else bs))
        losses = [np.asarray(r.history.train_loss) for r in (warm, res)]
        to_target = np.mean([_first_epoch_below(lo, TARGET_LOSS) for lo in losses])
        key_ = SHORT[name]
        metrics |= {
            f"{key_}_learning_rate": LEARNING_RATE[name],
            f"{key_}_updates_per_epoch": updates_per_epoch,
            f"{key_}_seconds_per_epoch": per_epoch,
            f"{key_}_seconds_per_update": per_epoch / updates_per_epoch,
            f"{key_}_epochs_to_target": float(to_target),
            f"{key_}_updates_to_target": float(to_target * updates_per_epoch),
            f"{key_}_seconds_to_target": float(to_target * per_epoch),
            f"{key_}_final_loss": float(losses[1][-1]),
        }
        curves[name] = (losses[1], updates_per_epoch, per_epoch)
    mb = metrics["mini_seconds_to_target"]
    metrics["full_over_mini_seconds_to_target"] = metrics["full_seconds_to_target"] / mb
    metrics["single_over_mini_seconds_to_target"] = metrics["single_seconds_to_target"] / mb

    figures = []
    if out_dir is not None:
        # the timed fits' common starting weights (fit's init key is fold_in(its key, 0))
        start = model.init(jax.random.fold_in(jax.random.fold_in(key, 2), 0))
        start_loss = float(jaxnn.binary_cross_entropy(model.apply(start, x), y))
        figures.append(_figure(curves, start_loss, n, out_dir))
    return outcome(sys.modules[__name__], metrics, figures)


def _figure(curves: dict, start_loss: float, n: int, out_dir: str):
    """One row per way: loss against updates (left) and against wall time (right)."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

    fig, axes = plotting.figure(2, nrows=3, width=5.6, height=2.75)
    for row in axes[1:]:
        row[0].sharex(axes[0, 0])
        row[1].sharex(axes[0, 1])
    for ax in axes.ravel()[1:]:
        ax.sharey(axes[0, 0])
    for (name, (loss, upe, per_epoch)), row in zip(curves.items(), axes, strict=True):
        colour = COLOURS[name]
        e = np.arange(1, loss.size + 1)
        hit = _first_epoch_below(loss, TARGET_LOSS)
        head = f"{NAME[name]}, lr {LEARNING_RATE[name]:g}: "
        row[0].set_title(head + PER_EPOCH[name].format(n=n, upe=upe), fontsize=10, loc="left")
        row[1].set_title(head + f"{1e3 * per_epoch:.2g} ms per epoch", fontsize=10, loc="left")
        for ax, at, unit in ((row[0], e * upe, "updates"), (row[1], e * per_epoch, "s")):
            ax.plot([0, at[0]], [start_loss, loss[0]], color=colour, ls=":", lw=1.2)
            ax.plot(
                at, loss, color=colour, lw=0.9, marker="o" if loss.size <= 100 else None, ms=2.5
            )
            ax.plot([0], [start_loss], "*", color=colour, ms=11, mec="white")
            ax.axhline(TARGET_LOSS, color="red", ls="--", lw=0.8)
            if np.isfinite(hit):
                reached = at[int(hit) - 1]
                ax.plot(
                    [reached], [loss[int(hit) - 1]], "o", color="red", ms=7, mfc="none", mew=1.5
                )
                text = f"{reached:,.0f} updates" if unit == "updates" else f"{reached:.2f} s"
                text = f"first at or below {TARGET_LOSS:g}\nafter {text}"
            else:
                text = f"never reaches {TARGET_LOSS:g}"
            ax.text(0.98, 0.95, text, transform=ax.transAxes, ha="right", va="top", fontsize=9)
            ax.set_ylabel("training loss")
    ax = axes[0, 0]
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(FixedLocator([0.1, 0.2, 0.3, 0.5, 0.7]))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xscale("symlog", linthresh=1, linscale=0.5)
    top = max(loss.size * upe for loss, upe, _ in curves.values())
    ax.set_xlim(-0.15, top * 1.6)
    end = max(loss.size * per_epoch for loss, _, per_epoch in curves.values())
    axes[0, 1].set_xlim(-0.015 * end, 1.02 * end)
    axes[2, 0].set_xlabel("updates (parameter steps); 0 = start, log scale above 1")
    axes[2, 1].set_xlabel("wall time after compiling (s) = epochs x measured time per epoch")
    for ax in axes[:2].ravel():
        ax.tick_params(labelbottom=False)
    grey = "dimgrey"
    legend = [
        Line2D([], [], color=grey, marker="*", ms=11, ls="", label="start (same weights for all)"),
        Line2D([], [], color=grey, ls=":", lw=1.2, label="not measured"),
        Line2D([], [], color=grey, lw=0.9, marker="o", ms=2.5, label="loss after each epoch"),
        Line2D([], [], color="red", ls="--", lw=0.8, label=f"loss {TARGET_LOSS:g}"),
        Line2D(
            [],
            [],
            color="red",
            marker="o",
            ms=7,
            mfc="none",
            mew=1.5,
            ls="",
            label=f"first epoch at or below {TARGET_LOSS:g}",
        ),
    ]
    fig.legend(handles=legend, loc="outside lower center", ncol=5, fontsize=9)
    caption = (
        "One row per way of descending (black: full batch, green: mini-batches of 32, "
        "purple: single examples), all from the same starting weights (star, at 0 updates "
        "and 0 s); left, the training loss against the number of updates, right against "
        "the seconds the fit took. The loss is measured once per epoch (one pass over the "
        f"{n:,} examples), so each row's first point comes after 1, 64 or 2,048 updates, "
        "joined to the start by a dotted line. Red circles: the first epoch at or below loss "
        f"{TARGET_LOSS:g} in the fit drawn; the claims average it with a second fit from "
        "other starting weights."
    )
    return plotting.save(fig, out_dir, "loss_vs_updates_and_time.png", caption)


def verdicts(m: dict) -> list[Claim]:
    t = m.get("target_loss", TARGET_LOSS)
    return [
        check(
            f"Mini-batches of 32 reach a training loss of {t:g} in less time than full batches",
            m["full_over_mini_seconds_to_target"],
            ">",
            1.0,
            quantity=(
                f"seconds to loss {t:g} with full batches divided by the seconds with "
                "mini-batches (each the mean of two starts)"
            ),
        ),
        check(
            f"Mini-batches of 32 reach a training loss of {t:g} in less time than single examples",
            m["single_over_mini_seconds_to_target"],
            ">",
            1.0,
            quantity=(
                f"seconds to loss {t:g} with single examples divided by the seconds with "
                "mini-batches (each the mean of two starts)"
            ),
        ),
        check(
            f"Full-batch steps are more accurate: full batches need fewer updates to reach "
            f"loss {t:g} than single examples",
            m["full_updates_to_target"] / m["single_updates_to_target"],
            "<",
            1.0,
            quantity=(
                f"updates to loss {t:g} with full batches divided by the updates with single "
                "examples (each the mean of two starts)"
            ),
        ),
    ]


COUNTEREXAMPLE = {
    "target_loss": TARGET_LOSS,
    "full_over_mini_seconds_to_target": 0.5,
    "single_over_mini_seconds_to_target": 0.8,
    "full_updates_to_target": 5000.0,
    "single_updates_to_target": 4000.0,
}

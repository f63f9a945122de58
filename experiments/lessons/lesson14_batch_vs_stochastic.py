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
"""

from __future__ import annotations

import time

import jax
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check

LESSON = 14
TITLE = "batch vs stochastic gradient descent"
SHOWS = "loss against updates and against wall time for each"
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


def _first_epoch_below(loss: np.ndarray, target: float) -> float:
    """Epochs (1-based count) until the loss first reaches ``target``; inf if never."""
    hit = np.nonzero(loss <= target)[0]
    return float(hit[0] + 1) if hit.size else float("inf")


def run(key: jax.Array, out_dir: str, *, quick: bool = False) -> Outcome:
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

    fig, (ax1, ax2) = plotting.figure(2)
    for name, (loss, upe, per_epoch) in curves.items():
        e = np.arange(1, loss.size + 1)
        label = f"{name}, lr {LEARNING_RATE[name]:g}"
        ax1.plot(e * upe, loss, color=COLOURS[name], lw=1, label=label)
        ax2.plot(e * per_epoch, loss, color=COLOURS[name], lw=1, label=label)
    for ax, xl, title in (
        (ax1, "updates (parameter steps)", "Training loss against updates"),
        (ax2, "wall time (s, after compiling)", "Against wall time (dots: target reached)"),
    ):
        ax.axhline(TARGET_LOSS, color="red", ls=":", lw=1, label=f"target loss {TARGET_LOSS:g}")
        ax.set(xscale="log", yscale="log", xlabel=xl, ylabel="training cross-entropy", title=title)
        ax.legend(fontsize=8)
    for name in curves:
        s = metrics[f"{SHORT[name]}_seconds_to_target"]
        if np.isfinite(s):
            ax2.plot([s], [TARGET_LOSS], "o", color=COLOURS[name], ms=6)
    figures = [plotting.save(fig, out_dir, "loss_vs_updates_and_time.png")]
    return Outcome(
        LESSON, __name__.rsplit(".", 1)[1], TITLE, SHOWS, metrics, verdicts(metrics), figures
    )


def verdicts(m: dict) -> list[Claim]:
    t = m.get("target_loss", TARGET_LOSS)
    return [
        check(
            f"wall time to loss {t:g}: full batch / mini-batch (mini-batch is faster)",
            m["full_over_mini_seconds_to_target"],
            ">",
            1.0,
        ),
        check(
            f"wall time to loss {t:g}: single example / mini-batch (mini-batch is faster)",
            m["single_over_mini_seconds_to_target"],
            ">",
            1.0,
        ),
        check(
            "updates to the target: full batch needs fewer than single-example descent",
            m["full_updates_to_target"] / m["single_updates_to_target"],
            "<",
            1.0,
        ),
    ]


COUNTEREXAMPLE = {
    "target_loss": TARGET_LOSS,
    "full_over_mini_seconds_to_target": 0.5,
    "single_over_mini_seconds_to_target": 0.8,
    "full_updates_to_target": 5000.0,
    "single_updates_to_target": 4000.0,
}

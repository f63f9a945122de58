"""Lesson 14: batch, mini-batch and stochastic (single-example) gradient descent.

    python -m experiments run 14

Trains one network on the moons three ways with the same fitting engine
(``FitConfig.batch_size`` None / 32 / 1), each at its own best learning rate, and
races them to a training loss of ``TARGET_LOSS``. Full batch takes few, exact but
expensive steps; single-example descent takes many cheap, noisy ones; mini-batches
sit between.

Who reaches the loss first is decided on counts that a seed fixes (bitwise the same
in any run containing it): the passes over the data (epochs) and the updates until
the training loss, measured on the whole set after every epoch, is first at or
below ``TARGET_LOSS``. Every seed races ``STARTS`` starts (initial weights and data
orders; the three ways share each start's weights), and a way's count at a seed is
the mean over the middle starts (the fastest and the slowest dropped): the loss is
measured once per epoch, so one start's count is a coarse whole number, and now and
then a noisy start settles on a plateau near loss 0.3 (as lesson 12's stuck restarts do)
and never gets there.

Time: seconds = epochs x the seconds one epoch of one fit takes on this machine.
That time per epoch is measured once per run, not per seed: one fit of each way
(with the race's own compiled program, ``REPEATS`` calls of ``TIMED_EPOCHS``
epochs, the three ways in turn so that they share the machine's load), as
processor time of this process, which, unlike wall time, does not count the waits
for a core on a shared machine (on an idle machine the two agree); the median over
the repeats. Every epoch also evaluates the loss on the whole training set (the
same cost for the three ways). The time claims hold for this machine (a CPU, one
fit at a time): they rest on the measured cost of an epoch of each way, which
another machine (a GPU, another CPU) changes.

Fits run one at a time, as a learner runs them (batching several fits would change
what one costs): each way is one compiled program, shared by every seed and start,
called a few epochs at a time until the fit reaches the target (the figure's seed
runs to the end of its budget). A fit run in several calls is bitwise the fit run in
one, so a seed's counts are the same alone or among others.
"""

from __future__ import annotations

import functools
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check, outcome
from jaxnn.training import init_state, make_plan, run_epochs_rows

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
# The race's finish: about twice the lowest loss this network reaches on these moons
# (0.06-0.09 over 20 draws, long full-batch fits), so that the noise floor of the
# constant-rate stochastic ways (about 0.08-0.14 late in their fits) does not decide it.
TARGET_LOSS = 0.15
# Each way at its own best rate: of the grids full 1, 2, 3, 5, 8, 12, 20; mini
# 0.3, 0.5, 1, 1.5, 2, 3; single 0.01, 0.02, 0.03, 0.05, 0.1, 0.3, the one with the
# fewest epochs to TARGET_LOSS (median over seeds 0-19 of the count below; single
# 0.05 and 0.1 tie, 0.05 has fewer starts that never get there): a fair race, not
# one rate that suits only one of them. Full batch at 8 is at the edge of stability
# (its loss overshoots in the first epochs, and 2 of 160 starts never settle within
# the budget); at 5, every start settles, 10% later.
LEARNING_RATE = {"full batch": 8.0, "mini-batch (32)": 1.0, "single example": 0.05}
BATCH = {"full batch": None, "mini-batch (32)": MINI_BATCH, "single example": 1}
# Epoch budgets: above every start's epochs to the target at seeds 0-19 (full batch at
# most 153, mini-batches 7, single examples 4, but a start stuck on a plateau).
EPOCHS = {"full batch": 200, "mini-batch (32)": 12, "single example": 6}
EPOCHS_QUICK = {"full batch": 120, "mini-batch (32)": 6, "single example": 4}
Y_TOP = 3.0  # the figure's top loss
STARTS = 8  # starts per seed; the count is the mean of the middle STARTS - 2
TRIM = 1  # starts dropped at each end (a stuck start never reaches the target)
# Timing, once per run: one fit of each way, REPEATS calls of TIMED_EPOCHS epochs
# (about 20-30 ms each on 2 CPU cores), the median seconds per epoch.
TIMED_EPOCHS = {"full batch": 100, "mini-batch (32)": 10, "single example": 5}
TIMED_EPOCHS_QUICK = {"full batch": 40, "mini-batch (32)": 4, "single example": 2}
# A race checks its loss after every CHUNK epochs (each a call of the way's program)
# and stops once it is at or below the target.
CHUNK = {"full batch": 20, "mini-batch (32)": 1, "single example": 1}
REPEATS, REPEATS_QUICK = 7, 3
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


def _middle_mean(counts: list[float]) -> float:
    """The mean of ``counts`` without the ``TRIM`` smallest and largest (inf if a kept
    one is inf: more than ``TRIM`` starts never reached the target)."""
    kept = sorted(counts)[TRIM : len(counts) - TRIM]
    return float(np.mean(kept))


def _updates_per_epoch(name: str, n: int = N_POINTS) -> int:
    return -(-n // (n if BATCH[name] is None else BATCH[name]))


def _setup(name: str, epochs: int):
    model = jaxnn.MLP((2, *HIDDEN, 1), activation="tanh")
    config = jaxnn.FitConfig(
        learning_rate=LEARNING_RATE[name],
        epochs=epochs,
        batch_size=BATCH[name],
        train_metrics="end_of_epoch",
    )
    return model, config, make_plan(config, N_POINTS, False, model)


@jax.jit
def _data(key):
    """The seed's moons (standardised) and its starts' keys: start s trains with
    ``fold_in(fold_in(key, 1), s)`` (weights from its ``fold_in(., 0)``, data orders
    from ``fold_in(., 1)``), the same start for the three ways."""
    x, y = jaxnn.data.make_moons(jax.random.fold_in(key, 0), N_POINTS)
    starts = jax.vmap(functools.partial(jax.random.fold_in, jax.random.fold_in(key, 1)))(
        jnp.arange(STARTS, dtype=jnp.uint32)
    )
    return jaxnn.data.standardize(x), y, starts


@functools.partial(jax.jit, static_argnames=("name", "epochs"))
def _init(key, name: str, epochs: int):
    model, config, plan = _setup(name, epochs)
    return init_state(key, model, config, plan)


@functools.partial(jax.jit, static_argnames=("name", "epochs"))
def _train(state, x, y, until, name: str, epochs: int):
    """One fit of way ``name``, continued to epoch ``until`` (traced: every call of a
    way runs this one compiled program, and a fit run in several calls is bitwise the
    fit run in one)."""
    model, config, plan = _setup(name, epochs)
    return run_epochs_rows(state, model, config, plan, (x, y), None, until)


def _race(key, x, y, name: str, epochs: int, *, whole: bool) -> np.ndarray:
    """A fit of way ``name`` from ``key``, its loss after each epoch, until it first is
    at or below the target (checked every ``CHUNK`` epochs) or, with ``whole``, to the
    end of its budget (the figure draws the whole curve)."""
    state = _init(key, name, epochs)
    done = 0
    while done < epochs:
        done = min(done + CHUNK[name], epochs)
        state = _train(state, x, y, done, name, epochs)
        loss = np.asarray(state.history.train_loss)[:done]
        if not whole and np.any(loss <= TARGET_LOSS):
            break
    return loss


@jax.jit
def _start_loss(key, x, y):
    """The loss of a fit's starting weights (``init_state`` draws them from
    ``fold_in(key, 0)``), the same for the three ways."""
    model = _setup("full batch", 1)[0]
    return jaxnn.binary_cross_entropy(model.apply(model.init(jax.random.fold_in(key, 0)), x), y)


def _seconds_per_epoch(x, y, key, epochs: dict, quick: bool) -> dict:
    """Per way: the median over the repeats of the processor seconds per epoch of one
    fit (the race's compiled program, from the same fresh state each time), the three
    ways timed in turn; also the median wall time per epoch."""
    timed = TIMED_EPOCHS_QUICK if quick else TIMED_EPOCHS
    fresh = {name: _init(key, name, epochs[name]) for name in BATCH}
    cpu = {name: [] for name in BATCH}
    wall = {name: [] for name in BATCH}
    for _ in range(REPEATS_QUICK if quick else REPEATS):
        for name in BATCH:
            w, c = time.perf_counter(), time.process_time()
            jax.block_until_ready(_train(fresh[name], x, y, timed[name], name, epochs[name]))
            cpu[name].append((time.process_time() - c) / timed[name])
            wall[name].append((time.perf_counter() - w) / timed[name])
    return {
        name: (float(np.median(cpu[name])), float(np.median(wall[name])), len(cpu[name]))
        for name in BATCH
    }


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    return run_seeds(key[None], out_dir, quick=quick)[0]


def run_seeds(keys: jax.Array, out_dir: str | None, *, quick: bool = False) -> list[Outcome]:
    """Every seed's race, fit after fit (one compiled program per way, shared by all
    seeds); the time per epoch measured once; figures at ``keys[0]``."""
    epochs = EPOCHS_QUICK if quick else EPOCHS
    draw = out_dir is not None
    races, first = [], None
    for i, key in enumerate(keys):
        x, y, starts = _data(key)
        whole = draw and i == 0
        races.append(
            {
                name: [_race(k, x, y, name, epochs[name], whole=whole) for k in starts]
                for name in BATCH
            }
        )
        if i == 0:
            first = (x, y, starts[0])
    seconds = _seconds_per_epoch(*first, epochs, quick)
    outcomes = []
    for i, race in enumerate(races):
        metrics = {"n_train": N_POINTS, "target_loss": TARGET_LOSS, "starts": STARTS}
        for name in BATCH:
            k = SHORT[name]
            upe = _updates_per_epoch(name)
            counts = [_first_epoch_below(c, TARGET_LOSS) for c in race[name]]
            to_target = _middle_mean(counts)
            cpu, wall, repeats = seconds[name]
            metrics |= {
                f"{k}_learning_rate": LEARNING_RATE[name],
                f"{k}_updates_per_epoch": upe,
                f"{k}_epochs_to_target_per_start": counts,
                f"{k}_starts_never_at_target": sum(c == float("inf") for c in counts),
                f"{k}_epochs_to_target": to_target,
                f"{k}_updates_to_target": to_target * upe,
                f"{k}_seconds_per_epoch": cpu,
                f"{k}_wall_seconds_per_epoch": wall,
                f"{k}_seconds_per_update": cpu / upe,
                f"{k}_seconds_to_target": to_target * cpu,
            }
        metrics["timing_repeats"] = repeats
        for a, b, what in (
            ("full", "mini", "epochs"),
            ("full", "mini", "seconds"),
            ("single", "mini", "seconds"),
            ("full", "single", "seconds"),
            ("full", "single", "updates"),
            ("mini", "single", "updates"),
        ):
            top, bottom = metrics[f"{a}_{what}_to_target"], metrics[f"{b}_{what}_to_target"]
            metrics[f"{a}_over_{b}_{what}_to_target"] = _ratio(top, bottom)
        figures = []
        if draw and i == 0:
            x, y, start = first
            drawn = {
                name: (np.stack(race[name]), _updates_per_epoch(name), seconds[name][0])
                for name in BATCH
            }
            figures.append(_figure(drawn, float(_start_loss(start, x, y)), N_POINTS, out_dir))
        outcomes.append(outcome(sys.modules[__name__], metrics, figures))
    return outcomes


def _ratio(top: float, bottom: float) -> float:
    """``top / bottom`` for counts that may be inf (never reached): inf / inf is NaN,
    which no claim accepts; a finite count over inf is 0, inf over a finite one inf."""
    if top == bottom == float("inf"):
        return float("nan")
    return top / bottom if bottom != float("inf") else 0.0


def _figure(curves: dict, start_loss: float, n: int, out_dir: str):
    """One row per way: loss against updates (left) and against time (right); start 0
    drawn bold, the seed's other starts faint."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

    fig, axes = plotting.figure(2, nrows=3, width=5.6, height=2.75)
    for row in axes[1:]:
        row[0].sharex(axes[0, 0])
        row[1].sharex(axes[0, 1])
    for ax in axes.ravel()[1:]:
        ax.sharey(axes[0, 0])
    for (name, (losses, upe, per_epoch)), row in zip(curves.items(), axes, strict=True):
        colour = COLOURS[name]
        loss = losses[0]
        e = np.arange(1, loss.size + 1)
        hit = _first_epoch_below(loss, TARGET_LOSS)
        middle = _middle_mean([_first_epoch_below(lo, TARGET_LOSS) for lo in losses])
        head = f"{NAME[name]}, lr {LEARNING_RATE[name]:g}: "
        row[0].set_title(head + PER_EPOCH[name].format(n=n, upe=upe), fontsize=10, loc="left")
        row[1].set_title(head + f"{1e3 * per_epoch:.2g} ms per epoch", fontsize=10, loc="left")
        for ax, at, unit in ((row[0], e * upe, "updates"), (row[1], e * per_epoch, "s")):
            for other in losses[1:]:
                ax.plot(at, other, color=colour, lw=0.6, alpha=0.3)
            ax.plot([0, at[0]], [start_loss, loss[0]], color=colour, ls=":", lw=1.2)
            ax.plot(
                at, loss, color=colour, lw=1.1, marker="o" if loss.size <= 100 else None, ms=2.5
            )
            ax.plot([0], [start_loss], "*", color=colour, ms=11, mec="white")
            ax.axhline(TARGET_LOSS, color="red", ls="--", lw=0.8)
            if np.isfinite(hit):
                reached = at[int(hit) - 1]
                ax.plot(
                    [reached], [loss[int(hit) - 1]], "o", color="red", ms=7, mfc="none", mew=1.5
                )
                scale = upe if unit == "updates" else per_epoch
                text = f"{reached:,.0f} updates" if unit == "updates" else f"{reached:.3f} s"
                mean = (
                    f"{middle * scale:,.0f} updates"
                    if unit == "updates"
                    else f"{middle * scale:.3f} s"
                )
                text = f"first at or below {TARGET_LOSS:g}\nafter {text}\n(middle starts: {mean})"
            else:
                text = f"never reaches {TARGET_LOSS:g}"
            ax.text(0.98, 0.95, text, transform=ax.transAxes, ha="right", va="top", fontsize=9)
            ax.set_ylabel("training loss")
    ax = axes[0, 0]
    ax.set_yscale("log")
    ax.set_ylim(0.05, Y_TOP)
    ax.yaxis.set_major_locator(FixedLocator([0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0]))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xscale("symlog", linthresh=1, linscale=0.5)
    top = max(losses.shape[1] * upe for losses, upe, _ in curves.values())
    ax.set_xlim(-0.15, top * 1.6)
    end = max(losses.shape[1] * per_epoch for losses, _, per_epoch in curves.values())
    axes[0, 1].set_xlim(-0.015 * end, 1.02 * end)
    axes[2, 0].set_xlabel("updates (parameter steps); 0 = start, log scale above 1")
    axes[2, 1].set_xlabel("processor time (s) = epochs x median time per epoch of one fit")
    for ax in axes[:2].ravel():
        ax.tick_params(labelbottom=False)
    grey = "dimgrey"
    legend = [
        Line2D([], [], color=grey, marker="*", ms=11, ls="", label="start (same weights for all)"),
        Line2D([], [], color=grey, ls=":", lw=1.2, label="not measured"),
        Line2D([], [], color=grey, lw=1.1, marker="o", ms=2.5, label="loss after each epoch"),
        Line2D([], [], color=grey, lw=0.6, alpha=0.3, label=f"the other {STARTS - 1} starts"),
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
    fig.legend(handles=legend, loc="outside lower center", ncol=3, fontsize=9)
    caption = (
        "One row per way of descending (black: full batch, green: mini-batches of 32, "
        "purple: single examples), each at its own best learning rate, all from the same "
        "starting weights (star, at 0 updates and 0 s; the faint lines are the seed's other "
        f"{STARTS - 1} starts); left, the training loss against the number of updates, right "
        "against the processor time one fit takes on this machine (epochs times the median "
        "time per epoch over repeats). The loss is measured once per epoch (one pass over the "
        f"{n:,} examples), so each row's first point comes after 1, 64 or 2,048 updates, "
        "joined to the start by a dotted line. Red circles: the first epoch at or below loss "
        f"{TARGET_LOSS:g} in the fit drawn; the claims count the mean over the middle "
        f"{STARTS - 2 * TRIM} of the {STARTS} starts (in brackets)."
    )
    peak = max(float(np.nanmax(losses)) for losses, _, _ in curves.values())
    if peak > Y_TOP:
        caption += (
            f" At its fastest rate the full batch overshoots in its first epochs: its loss "
            f"leaves the top of the chart (up to {peak:.3g}) before it settles."
        )
    return plotting.save(fig, out_dir, "loss_vs_updates_and_time.png", caption)


def verdicts(m: dict) -> list[Claim]:
    t = m.get("target_loss", TARGET_LOSS)
    middle = f"each the mean over the middle {STARTS - 2 * TRIM} of {STARTS} starts"
    timed = (
        "seconds = epochs x the median processor time per epoch of one fit on this machine, "
        "measured once per run"
    )
    return [
        check(
            f"Full-batch steps are costly: mini-batches of 32 reach a training loss of {t:g} "
            "after fewer passes over the data than full batches",
            m["full_over_mini_epochs_to_target"],
            ">",
            1.0,
            quantity=(
                f"epochs (passes over the {N_POINTS:,} examples) to loss {t:g} with full batches "
                f"divided by those with mini-batches ({middle})"
            ),
        ),
        check(
            f"Full-batch steps are more accurate: full batches need fewer updates to reach "
            f"loss {t:g} than single examples",
            m["full_over_single_updates_to_target"],
            "<",
            1.0,
            quantity=(
                f"updates to loss {t:g} with full batches divided by the updates with single "
                f"examples ({middle})"
            ),
        ),
        check(
            f"Mini-batch steps are more accurate than single-example steps: mini-batches of 32 "
            f"need fewer updates to reach loss {t:g}",
            m["mini_over_single_updates_to_target"],
            "<",
            1.0,
            quantity=(
                f"updates to loss {t:g} with mini-batches divided by the updates with single "
                f"examples ({middle})"
            ),
        ),
        check(
            f"On this machine, mini-batches of 32 reach a training loss of {t:g} in less time "
            "than full batches",
            m["full_over_mini_seconds_to_target"],
            ">",
            1.0,
            quantity=(
                f"seconds to loss {t:g} with full batches divided by the seconds with "
                f"mini-batches ({timed}; epochs {middle})"
            ),
        ),
        check(
            f"On this machine, mini-batches of 32 reach a training loss of {t:g} in less time "
            "than single examples",
            m["single_over_mini_seconds_to_target"],
            ">",
            1.0,
            quantity=(
                f"seconds to loss {t:g} with single examples divided by the seconds with "
                f"mini-batches ({timed}; epochs {middle})"
            ),
        ),
    ]


COUNTEREXAMPLE = {
    "target_loss": TARGET_LOSS,
    "full_over_mini_epochs_to_target": 0.8,
    "full_over_single_updates_to_target": 1.5,
    "mini_over_single_updates_to_target": 1.2,
    "full_over_mini_seconds_to_target": 0.5,
    "single_over_mini_seconds_to_target": 0.8,
}

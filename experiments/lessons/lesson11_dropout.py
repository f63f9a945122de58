"""Lesson 11: dropout.

    python -m experiments run 11

A network far bigger than its data (2-64-64-1 relu, ~4,400 weights) on 60 noisy
moons points overfits: it fits nearly all its training points (96% on average) while
its validation loss turns up early (most often near epoch 40). It is trained at
every dropout rate of a grid (PRNG-keyed inverted dropout on both hidden layers, a
fresh mask per update) on 3 training sets per seed, each with its own 1,000
validation points, in one compiled program called once per seed, and the gap between
validation and training loss and accuracy is measured (both without dropout,
averaged over the last 100 epochs and over the 3 training sets). The course says the
gap closes as the rate grows. The accuracy gap does, but from the training side: the
training accuracy falls as the rate grows while the validation accuracy changes
little (median 1.3 points down at rate 0.8, from 4.5 down to 0.7 up over seeds
0-19), not reliably better; the loss gap closes from both sides (training loss up,
validation loss down). The ``*_change`` metrics split each gap's change into its two
sides.

Why this training length, and 3 training sets. Dropout slows the rise of the
validation loss rather than stopping it: at 400 epochs the validation loss of the
network without dropout has turned up at each of the 60 training sets of seeds 0-19
(at its lowest by epoch 160, most often near epoch 40), and at rate 0.8 it has
turned up at 58 of them, more slowly. Trained longer, the loss gap at rate 0.8
catches up: at 800 epochs of learning rate 0.05 (the lesson's earlier setting, one
training set and 300 validation points per seed, 9 rates) it was wider than without
dropout at 2 of 20 seeds, and did not shrink with the rate at 3; with 4 training
sets per seed and 5 rates it widened at 5 of 80 sets (at two of them the network at
rate 0.8 ended with larger validation logits than the one without, mean |logit|
about 30 against 24, so that its few mistakes cost the more). The accuracy gap
closed at every seed either way. Stopped at 400 epochs of learning rate 0.04, the
loss gap at rate 0.8 narrowed at 60 of the 60 training sets of seeds 0-19 and at 116
of the 120 of seeds 20-59 (a check on seeds the setting was not chosen on); the mean
over 3 sets narrowed it at each of those 60 seeds. So the loss-gap claims say how
long the training ran.
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
from jaxnn.data import Standardizer, make_moons
from jaxnn.training import init_state, loop_layout, make_plan, run_epochs_batched

LESSON = 11
TITLE = "dropout"
STATEMENT = (
    "Dropout turns off each hidden unit at random at every training step, with a "
    "probability called the dropout rate (a hyperparameter), so that no few units dominate "
    "and every unit gets trained. A network far bigger than its data overfits, fitting its "
    "training points much better than new (validation) points, and the course says this gap "
    "closes as the rate grows. Here the accuracy gap closes because the training fit gets "
    "worse: as the rate grows to 0.8, training accuracy falls by about 8 points while "
    "validation accuracy moves by a point or two (a little up at low rates, a little down at "
    "high ones), not reliably better. The loss gap closes from both sides, the validation "
    "loss lower at every rate than without dropout at nearly every seed, but for training "
    "of a given length: dropout slows the rise of the validation loss rather than stopping "
    "it, and trained twice as long, the loss gap at rate 0.8 was at some training sets wider "
    "than without dropout."
)

N_TRAIN = 60  # few points: the big network can memorise every one of them
N_VAL = 1000  # validation points per training set: its loss is not itself noisy
NOISE = 0.35  # overlapping moons: memorising them means learning the noise
SIZES = (2, 64, 64, 1)  # ~4,400 weights for 60 points: overfits without dropout
ACTIVATION = "relu"
RATES = (0.0, 0.2, 0.4, 0.6, 0.8)  # from none to most units dropped
QUICK_RATES = (0.0, 0.4, 0.8)
DRAWS = 3  # training sets per seed, gaps averaged: one set of 60 points is a noisy sample
QUICK_DRAWS = 1
LEARNING_RATE = 0.04  # full-batch heavy ball: stable for every rate
MOMENTUM = 0.9
EPOCHS = 400  # the rate-0 network fits ~96% of its points; longer, see the docstring
QUICK_EPOCHS = 150
EVERY = 20  # epochs between two measurements (without dropout) of every network
QUICK_EVERY = 10
AVERAGE_LAST = 100  # gaps: mean of the measurements in the last 100 epochs (noisy params)
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


def _sizes(quick: bool) -> tuple[tuple[float, ...], int, int, int, int]:
    """(rates, draws, epochs, every, average_last) of a full or quick run."""
    if quick:
        return QUICK_RATES, QUICK_DRAWS, QUICK_EPOCHS, QUICK_EVERY, QUICK_AVERAGE_LAST
    return RATES, DRAWS, EPOCHS, EVERY, AVERAGE_LAST


def _draw(data_key: jax.Array) -> tuple[tuple[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]:
    """One training set and its validation set, standardised on the training set."""
    # one draw split in two (one compiled generator rather than two shapes)
    xa, ya = make_moons(data_key, N_TRAIN + N_VAL, noise=NOISE)
    x, y, xv, yv = xa[:N_TRAIN], ya[:N_TRAIN], xa[N_TRAIN:], ya[N_TRAIN:]
    scaler = Standardizer.fit(x)
    return (scaler.transform(x), y), (scaler.transform(xv), yv)


@functools.cache
def _study(quick: bool):
    """The compiled study of one seed: its key -> every network's training and
    validation loss and accuracy (without dropout) every ``every`` epochs, leaves
    (draws, measurements, rates), and the first training set's data and its networks'
    final params (for the figures).

    Training set d of a seed's key k is drawn from ``fold_in(fold_in(k, 0), d)``;
    its networks, one per rate, all start from ``fold_in(fold_in(k, 2), d)`` (the
    same initial weights and mask keys: the rates are compared on equal terms),
    each as ``jaxnn.fit`` would train it: ``jax.vmap`` over the training sets of
    :func:`jaxnn.training.run_epochs_batched` over the rates, stopped every ``every``
    epochs (a ``lax.scan``) to be measured. One seed per call of this one compiled
    program: a seed's numbers are then bitwise the same whichever seeds run with it
    (a batch of seeds changed them by up to 1.6e-3 relative, XLA's CPU kernels summing
    in another order for another batch size, amplified by 400 epochs), and XLA's
    CPU loop ran no faster per network on a batch of 20 seeds than on one.
    """
    rates, draws, epochs, every, _ = _sizes(quick)
    model = jaxnn.MLP(SIZES, ACTIVATION)
    base = jaxnn.FitConfig(learning_rate=LEARNING_RATE, momentum=MOMENTUM, epochs=epochs)
    plan = make_plan(base.replace(dropout=max(rates)), N_TRAIN, False, model)
    stops = jnp.arange(0, epochs + 1, every)  # from the initial weights on

    def measure(params, data):
        return jaxnn.evaluate("binary", model.apply(params, data[0]), data[1])

    def one_set(data_key, fit_key):
        train, val = _draw(data_key)
        configs = jax.vmap(lambda r: base.replace(dropout=r))(jnp.asarray(rates, jnp.float32))
        states = jax.vmap(lambda c: init_state(fit_key, model, c, plan))(configs)
        states, loop_train, _ = loop_layout(states, train, None, plan)

        def segment(st, until):
            st = run_epochs_batched(st, model, configs, plan, loop_train, None, until)
            tl, ta = jax.vmap(lambda p: measure(p, train))(st.params)
            vl, va = jax.vmap(lambda p: measure(p, val))(st.params)
            return st, (tl, ta, vl, va)

        states, history = jax.lax.scan(segment, states, stops)
        return history, states.params, train

    def study(key):
        keys = lambda stream: jax.vmap(
            lambda d: jax.random.fold_in(jax.random.fold_in(key, stream), d)
        )(jnp.arange(draws))
        history, params, train = jax.vmap(one_set)(keys(0), keys(2))
        return history, jax.tree.map(lambda a: a[0], (params, train))

    return model, jax.jit(study)


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    return run_seeds(key[None], out_dir, quick=quick)[0]


def run_seeds(keys: jax.Array, out_dir: str | None, *, quick: bool = False) -> list[Outcome]:
    rates, _, epochs, every, tail = _sizes(quick)
    model, study = _study(quick)
    runs = [study(k) for k in keys]  # dispatched together, waited for below
    (params, train) = runs[0][1]
    # leaves (seeds, draws, stops, rates)
    tl, ta, vl, va = (np.stack([np.asarray(r[0][j], np.float64) for r in runs]) for j in range(4))
    k = tail // every  # measurements in the last `tail` epochs
    outcomes = []
    for i in range(len(keys)):
        m = _metrics(rates, *(a[i] for a in (tl, ta, vl, va)), k, epochs, tail)
        figures = []
        if out_dir is not None and i == 0:  # figures at the first seed only
            figures = [
                _gap_figure(out_dir, m),
                _boundary_figure(out_dir, model, params, train, rates, ta[0, 0, -1], va[0, 0, -1]),
                _curves_figure(out_dir, tl[0, 0], vl[0, 0], every, rates),
            ]
        outcomes.append(outcome(sys.modules[__name__], m, figures))
    return outcomes


def _metrics(rates, tl, ta, vl, va, k, epochs, tail) -> dict:
    """One seed's numbers from its networks' measurements (draws, stops, rates)."""
    last = lambda a: a[:, -k:].mean(axis=1)  # per training set and rate
    set_loss_gap = last(vl) - last(tl)  # (draws, rates)
    set_acc_gap = last(ta) - last(va)
    tl, vl, ta, va = (last(a).mean(axis=0) for a in (tl, vl, ta, va))
    loss_gap, acc_gap = vl - tl, ta - va
    return {
        "rates": list(rates),
        "training_sets": int(set_loss_gap.shape[0]),
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
        # the training sets one by one: at how many did each gap narrow at the top rate
        "sets_loss_gap_narrowed": int(np.sum(set_loss_gap[:, -1] < set_loss_gap[:, 0])),
        "sets_accuracy_gap_narrowed": int(np.sum(set_acc_gap[:, -1] < set_acc_gap[:, 0])),
        "max_rate": rates[-1],
        "epochs": epochs,
        "epochs_averaged": tail,
    }


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
            ylabel=f"{what} (mean over the last {m['epochs_averaged']} epochs)",
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
    n = m["training_sets"]
    sets = f"the seed's {n} training sets" if n > 1 else "the seed's training set"
    caption = (
        "Training (green) and validation (orange) accuracy and loss at each dropout rate, "
        f"means over the last {m['epochs_averaged']} epochs and over {sets} of "
        f"{N_TRAIN} points, the gap between them shaded grey. The accuracy gap {closes} from "
        f"{ta[0] - va[0]:.2f} at rate 0 to {ta[-1] - va[-1]:.2f} at rate {r[-1]:g}: training "
        f"accuracy {'falls' if dt < 0 else 'rises'} ({ta[0]:.2f} to {ta[-1]:.2f}) while "
        f"{val_says} ({va[0]:.2f} to {va[-1]:.2f}), as the right panel shows; the validation "
        f"loss goes from {vl[0]:.2f} to {vl[-1]:.2f} (lowest {vl.min():.2f}, at rate "
        f"{r[int(np.argmin(vl))]:g})."
    )
    return plotting.save(fig, out_dir, "gap_vs_rate.png", caption)


def _boundary_figure(out_dir, model, params, train, rates, train_acc, val_acc) -> Figure:
    """The first training set's networks at rate 0 and the top rate, after training;
    ``train_acc`` and ``val_acc`` are their last measurements, per rate."""
    fig, axes = plotting.figure(2)
    prob_of = jax.jit(lambda p, g: jax.nn.sigmoid(model.apply(p, g)[:, 0]))
    x, y = np.asarray(train[0]), np.asarray(train[1])
    top = len(rates) - 1
    for ax, i in zip(axes, (0, top), strict=True):
        p = jax.tree.map(lambda a, i=i: a[i], params)
        title = (
            f"dropout rate {rates[i]:g}: train accuracy {train_acc[i]:.2f},\n"
            f"validation accuracy {val_acc[i]:.2f}"
        )
        plotting.boundary(ax, lambda g, p=p: prob_of(p, g), x, y, title)
    caption = (
        f"The network's probability of class 1 after training, over its {N_TRAIN} training "
        f"points (the first training set), without dropout (left) and at rate {rates[-1]:g} "
        "(right); the black line is where it is 0.5. Without dropout the line bends around "
        f"single noisy points to classify {train_acc[0]:.0%} of them right; with dropout it "
        f"is smoother and gets {train_acc[top]:.0%} right, while on the {N_VAL} validation "
        f"points it scores {val_acc[top]:.2f} against {val_acc[0]:.2f} without dropout."
    )
    return plotting.save(fig, out_dir, "boundaries.png", caption)


def _curves_figure(out_dir, train_loss, val_loss, every, rates) -> Figure:
    """Loss curves of the first training set's networks at rate 0 and the top rate,
    ``train_loss`` and ``val_loss`` (stops, rates) measured every ``every`` epochs."""
    fig, ax = plotting.figure()
    epochs = every * np.arange(train_loss.shape[0])
    top = len(rates) - 1
    for i, ls in ((0, "-"), (top, "--")):
        ax.plot(epochs, train_loss[:, i], ls, color=TRAIN_COLOR, label=f"train, rate {rates[i]:g}")
        ax.plot(epochs, val_loss[:, i], ls, color=VAL_COLOR, label=f"validation, rate {rates[i]:g}")
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

    def val_says(i):
        v, best = val_loss[:, i], int(np.argmin(val_loss[:, i]))
        if best == len(v) - 1:
            return f"is still falling at the end ({v[-1]:.2f})"
        when = f"at epoch {epochs[best]}" if best else "at the initial weights"
        return f"is lowest {when} ({v[best]:.2f}) and then rises (to {v[-1]:.2f})"

    gap0, gap_top = val_loss[-1, 0] - train_loss[-1, 0], val_loss[-1, top] - train_loss[-1, top]
    caption = (
        f"Training (green) and validation (orange) loss without dropout (solid) and at rate "
        f"{rates[-1]:g} (dashed), measured without dropout every {every} epochs from the "
        "initial weights on (the first "
        f"training set). Without dropout the training loss keeps falling (to "
        f"{train_loss[-1, 0]:.3f}) while the validation loss {val_says(0)}. With dropout the "
        f"training loss stays higher ({train_loss[-1, top]:.2f}) and the validation loss "
        f"{val_says(top)}: the two curves end {gap_top:.2f} apart, against {gap0:.2f} without "
        "dropout."
    )
    return plotting.save(fig, out_dir, "loss_curves.png", caption)


def verdicts(m: dict) -> list[Claim]:
    top = m.get("max_rate", RATES[-1])
    n = m.get("training_sets", DRAWS)
    epochs = m.get("epochs", EPOCHS)
    mean = f"mean over {n} training sets" if n > 1 else "one training set"
    trend = "rank correlation of the rate and the {} gap over the rates ({}; -1: it always shrinks)"
    # the loss gap's claims hold for training of this length: longer, the validation
    # loss at high rates catches up (see the module's docstring)
    stopped = f"Stopped at {epochs} epochs"
    return [
        check(
            "Without dropout the network overfits",
            m["accuracy_gap_at_0"],
            ">=",
            MIN_OVERFIT,
            quantity=f"training accuracy minus validation accuracy at rate 0 ({mean})",
        ),
        check(
            f"{stopped}, dropout at rate {top:g} narrows the loss gap",
            m["loss_gap_at_max_rate"] - m["loss_gap_at_0"],
            "<",
            0.0,
            quantity=(
                f"loss gap (validation minus training loss, {mean}) at rate {top:g} minus at rate 0"
            ),
        ),
        check(
            f"Dropout at rate {top:g} narrows the accuracy gap",
            m["accuracy_gap_at_max_rate"] - m["accuracy_gap_at_0"],
            "<",
            0.0,
            quantity=(
                f"accuracy gap (training minus validation accuracy, {mean}) at rate {top:g} "
                "minus at rate 0"
            ),
        ),
        check(
            f"{stopped}, the loss gap shrinks as the rate grows",
            m["spearman_rate_loss_gap"],
            "<",
            0.0,
            quantity=trend.format("loss", mean),
        ),
        check(
            "The accuracy gap shrinks as the rate grows",
            m["spearman_rate_accuracy_gap"],
            "<",
            0.0,
            quantity=trend.format("accuracy", mean),
        ),
    ]


COUNTEREXAMPLE = {
    "max_rate": 0.8,
    "training_sets": 3,
    "epochs": 400,
    "accuracy_gap_at_0": 0.01,
    "loss_gap_at_0": 0.2,
    "loss_gap_at_max_rate": 0.5,
    "accuracy_gap_at_max_rate": 0.1,
    "spearman_rate_loss_gap": 0.6,
    "spearman_rate_accuracy_gap": float("nan"),
}

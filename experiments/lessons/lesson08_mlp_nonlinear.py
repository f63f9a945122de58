"""Lesson 8: non-linear models: an MLP where no line will do.

    python -m experiments run 8

On moons, circles and XOR (``jaxnn.data``), a small tanh MLP (``MLP((2, 16, 16, 1))``,
gradients by ``jax.grad`` inside jaxnn's fitting loop) draws a curved boundary with
high test accuracy, while logistic regression (``MLP((2, 1))``, the same fit) cannot
fit circles or XOR at all (its probabilities stay near 0.5) and stays below the MLP
on moons. To show that no linear model at all reaches the MLP, the best line is also
searched for (every offset along 360 directions) on the test set itself, which
favours the line. Each model is tested on 2,000 fresh points, so that accuracies are
measured to about +-0.01. A multi-class MLP reads scikit-learn's 8x8 digits.

Every seed draws its own data, initialisation and data order; the seeds train a
chunk at a time, each chunk one call of one compiled program (``jax.vmap`` over the
chunk's seeds of ``jaxnn.training.init_state`` and ``run_epochs_rows``).
"""

from __future__ import annotations

import functools
import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check, outcome
from jaxnn import training

LESSON = 8
TITLE = "non-linear models: MLPs and backpropagation"
STATEMENT = (
    "A neural network uses perceptrons as inputs to perceptrons: each hidden unit draws a "
    "line, and the next layer adds their regions, with weights, and squashes the sum with an "
    "activation such as the sigmoid or tanh, which gives a curved, non-linear boundary. "
    "Trained by gradient descent, its gradients found by the chain rule (backpropagation), "
    "it separates XOR, moons and circles, which no single line can; with a softmax output it "
    "tells apart more than two classes, such as the ten handwritten digits."
)
NAMES = {"moons": "moons", "circles": "circles", "xor": "XOR"}  # as the text writes them

DATASETS = ("moons", "circles", "xor")
MAKERS = {
    "moons": jaxnn.data.make_moons,
    "circles": jaxnn.data.make_circles,
    "xor": jaxnn.data.make_xor,
}
NOISE = {"moons": 0.2, "circles": 0.1, "xor": 0.25}  # jaxnn.data defaults: classes overlap little
N_FIT = (240, 480)  # quick / full: points to fit, split 3:1 into train / validation
# Fresh test points (quick / full): an accuracy on n points has a standard deviation
# of at most 0.5/sqrt(n), 0.011 at n = 2000, so a gap of 0.05 is measured, not guessed.
N_TEST = (500, 2000)
VAL_FRACTION = 0.25
HIDDEN = (16, 16)  # enough units for each curved boundary; tanh gives smooth ones
EPOCHS = (300, 1000)  # quick / full: full-batch descent with momentum
RATE, MOMENTUM = 0.1, 0.9  # stable for both models on these unit-scale data
PATIENCE = 100  # keep the params of the best validation epoch (both models)
MLP_ACCURACY = 0.9  # "high": these sets' noise allows >= 0.95, a line at best ~0.75 (XOR)
# Circles and XOR look the same from x and -x (same labels) and have balanced classes,
# and logistic regression's loss is strictly convex, so its best weights on the whole
# distribution are w = 0, b = 0: P = 0.5 everywhere, a coin toss of cross-entropy
# log 2. Fitted to n points, a line gets weights of order 1/sqrt(n) from sampling
# noise alone, and its zero line falls anywhere: its test *accuracy* on XOR ranged
# 0.30-0.63 over 20 seeds (2,000 test points; a line can honestly reach 0.75 there,
# cutting off one corner), so "near chance" is decided on the cross-entropy, which a
# model that learned anything lowers (logistic regression on moons ~0.29, the MLPs
# ~0.001-0.1).
COIN_LOSS = float(np.log(2.0))
# What 3 weights fitted to pure noise gain on their own training points: chi2_3 / (2 n),
# 0.004 on average for n = 360 and above 0.02 in 1 draw of 400; on fresh test points
# the loss rises instead.
COIN_MARGIN = 0.02
MOONS_GAP = 0.05  # on moons a line already gets ~0.87; the MLP (~0.96) must clearly beat it
FIGURE_POINTS = 400  # test points drawn in the figure (of N_TEST), so the boundary shows
# Real data, multi-class: scikit-learn's 8x8 digits (pixels scaled to [0, 1] by their
# range, 16, in jaxnn.data.load_digits; not standardised: some pixels are nearly
# constant in a training part, and dividing by their tiny standard deviation threw
# test pixels tens of standard deviations out), 80/20 split, 20% of the training part
# held out for early stopping, MLP 64-128-10 relu, softmax cross-entropy.
DIGITS_EPOCHS = (15, 100)  # quick / full; early stopping ends them sooner (median 50)
DIGITS_CONFIG = dict(
    loss="multiclass",
    learning_rate=0.1,  # with momentum 0.9 and batch 32, on [0, 1] pixels
    momentum=0.9,
    batch_size=32,
    decay="step",
    decay_rate=0.95,  # x0.95 per epoch: settles the noisy mini-batch steps
    l2=1e-4,
    dropout=0.2,
    # 20 epochs without a better validation loss: the loss of 288 validation digits
    # wanders with a few confident mistakes, and 10 stopped some fits at a lucky early dip
    patience=20,
)
DIGITS_ACCURACY = 0.97  # the course's multi-class claim on real data, a typical run
# The line search: directions, offsets per direction; its best line was within 0.001
# (2 of 2000 points) of a search with 20 times more directions and exact offsets.
SEARCH_ANGLES, SEARCH_BINS = 360, 1024
# Seeds train SEED_CHUNK at a time, each chunk one call of the same compiled program
# (vmapped over the chunk; a short last chunk is padded): a seed's numbers are then
# bitwise the same whichever seeds run with it. One vmap over all the seeds would
# change the shapes XLA compiles for, and with them the order of its sums (the bias
# gradients differed in the last bit after one epoch, and early stopping then picked
# other epochs); on these 2-core CPUs larger chunks are no faster.
SEED_CHUNK = 5

_MODELS = {
    "MLP": jaxnn.MLP((2, *HIDDEN, 1), activation="tanh"),
    "linear": jaxnn.MLP((2, 1)),
}
_DIGITS_NET = jaxnn.MLP((64, 128, 10), activation="relu")


def _fit(key, model, config, train, val):
    """One fit (jaxnn's loop), pure: vmapped over data sets and seeds below."""
    plan = training.make_plan(config, train[0].shape[0], True, model)
    state = training.init_state(key, model, config, plan)
    return training.run_epochs_rows(state, model, config, plan, train, val, config.epochs)


def _toy(key, mode):
    """Data, fits and test numbers of the three 2-D sets at one seed; data set i is
    drawn from ``fold_in(key, i)`` and fitted from ``fold_in(key, 100 + i)``."""
    sets = []
    for i, name in enumerate(DATASETS):
        k = jax.random.fold_in(key, i)
        x, y = MAKERS[name](jax.random.fold_in(k, 0), N_FIT[mode], noise=NOISE[name])
        split = jaxnn.data.train_val_test_split(
            jax.random.fold_in(k, 1), x, y, val=VAL_FRACTION, test=0.0
        )
        test = MAKERS[name](jax.random.fold_in(k, 2), N_TEST[mode], noise=NOISE[name])
        sets.append((split.train, split.val, test))
    train, val, test = jax.tree.map(lambda *a: jnp.stack(a), *sets)  # axis 0: data set
    keys = jax.vmap(lambda i: jax.random.fold_in(key, 100 + i))(jnp.arange(len(DATASETS)))
    config = jaxnn.FitConfig(
        learning_rate=RATE, momentum=MOMENTUM, epochs=EPOCHS[mode], patience=PATIENCE
    )
    out = {"test_x": test[0], "test_y": test[1]}
    for kind, model in _MODELS.items():
        st = jax.vmap(lambda k, tr, va, m=model: _fit(k, m, config, tr, va))(keys, train, val)
        params = st.early.best_params

        def scores(p, x, y, m=model):
            return jaxnn.evaluate("binary", m.apply(p, x), y)

        loss, acc = jax.vmap(scores)(params, *test)
        train_loss, train_acc = jax.vmap(scores)(params, *train)
        out[kind] = {
            "params": params,
            "test_loss": loss,
            "test_accuracy": acc,
            "train_loss": train_loss,
            "train_accuracy": train_acc,
            "best_epoch": st.early.best_epoch,
        }
    return out


def _digits(key, x, y, mode):
    """The digits MLP at one seed: its split from ``fold_in(key, 0)``, its fit from
    ``fold_in(key, 1)``; the early-stopped params' test logits and the history."""
    split = jaxnn.data.train_val_test_split(jax.random.fold_in(key, 0), x, y, val=0.16, test=0.2)
    config = jaxnn.FitConfig(epochs=DIGITS_EPOCHS[mode], **DIGITS_CONFIG)
    st = _fit(jax.random.fold_in(key, 1), _DIGITS_NET, config, split.train, split.val)
    logits = _DIGITS_NET.apply(st.early.best_params, split.test[0])
    _, acc = jaxnn.evaluate("multiclass", logits, split.test[1])
    return {
        "test_accuracy": acc,
        "best_epoch": st.early.best_epoch,
        "epochs_run": st.epoch,
        "stopped_early": st.stopped_early,
        "history": st.history,
        "logits": logits,
        "labels": split.test[1],
    }


@functools.partial(jax.jit, static_argnames="mode")
def _seeds(keys, digits_x, digits_y, mode):
    """Everything the lesson trains, for a chunk of seeds' keys (one program)."""

    def one(key):
        return {
            "toy": _toy(key, mode),
            "digits": _digits(jax.random.fold_in(key, 200), digits_x, digits_y, mode),
        }

    return jax.vmap(one)(keys)


def _best_line_accuracy(x, y) -> float:
    """Highest accuracy of a line (either orientation) on (x, y), searched over
    SEARCH_ANGLES directions and, along each, SEARCH_BINS + 1 offsets evenly spread
    over the projected points (a histogram of each class's projections: no sort)."""
    x, y = np.asarray(x, np.float64), np.asarray(y)
    theta = np.linspace(0, np.pi, SEARCH_ANGLES, endpoint=False)
    proj = x @ np.stack([np.cos(theta), np.sin(theta)])  # (n, A)
    lo, hi = proj.min(0), proj.max(0)
    bins = np.minimum((SEARCH_BINS * (proj - lo) / (hi - lo)).astype(np.int64), SEARCH_BINS - 1)
    flat = bins + SEARCH_BINS * np.arange(SEARCH_ANGLES)  # (n, A): one histogram per angle
    count = {
        c: np.bincount(flat[y == c].ravel(), minlength=SEARCH_ANGLES * SEARCH_BINS).reshape(
            SEARCH_ANGLES, SEARCH_BINS
        )
        for c in (0, 1)
    }
    # cut before bin k (k = 0..B): class 1 predicted at and above it
    zeros_below = np.concatenate([np.zeros((SEARCH_ANGLES, 1)), np.cumsum(count[0], 1)], 1)
    ones_below = np.concatenate([np.zeros((SEARCH_ANGLES, 1)), np.cumsum(count[1], 1)], 1)
    acc = (zeros_below + count[1].sum(1, keepdims=True) - ones_below) / len(y)
    return float(np.max(np.maximum(acc, 1 - acc)))


def run_seeds(keys: jax.Array, out_dir: str | None, *, quick: bool = False) -> list[Outcome]:
    mode = 0 if quick else 1
    dx, dy = jaxnn.data.load_digits()
    n = len(keys)
    keys = jnp.concatenate([keys, jnp.repeat(keys[-1:], -n % SEED_CHUNK, axis=0)])
    chunks = [
        jax.device_get(_seeds(keys[i : i + SEED_CHUNK], dx, dy, mode))
        for i in range(0, len(keys), SEED_CHUNK)
    ]
    res = jax.tree.map(lambda *a: np.concatenate(a)[:n], *chunks)
    toy, digits = res["toy"], res["digits"]
    outcomes = []
    for s in range(n):
        m = {}
        for i, name in enumerate(DATASETS):
            for kind in _MODELS:
                for q in ("test_accuracy", "test_loss", "train_accuracy", "train_loss"):
                    m[f"{name}_{kind}_{q}"] = float(toy[kind][q][s, i])
                m[f"{name}_{kind}_best_epoch"] = int(toy[kind]["best_epoch"][s, i])
            m[f"{name}_best_line_test_accuracy"] = _best_line_accuracy(
                toy["test_x"][s, i], toy["test_y"][s, i]
            )
        m["digits_MLP_test_accuracy"] = float(digits["test_accuracy"][s])
        m["digits_best_epoch"] = int(digits["best_epoch"][s])
        m["digits_epochs_run"] = int(digits["epochs_run"][s])
        m["digits_n_test"] = int(digits["labels"].shape[1])
        m["n_train"] = round(N_FIT[mode] * (1 - VAL_FRACTION))
        m["n_test"] = N_TEST[mode]
        figures = []
        if s == 0 and out_dir is not None:  # figures at the first seed only
            figures = [_figure(out_dir, toy, m), _digits_figure(out_dir, digits, m)]
        outcomes.append(outcome(sys.modules[__name__], m, figures))
    return outcomes


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    return run_seeds(key[None], out_dir, quick=quick)[0]


_APPLY = {kind: jax.jit(model.apply) for kind, model in _MODELS.items()}


def _figure(out_dir, toy, m):
    """The first seed's boundaries: each model's P(class 1) under its test points."""
    fig, axes = plotting.plt.subplots(2, 3, figsize=(15, 9), dpi=plotting.DPI, layout="constrained")
    for col, name in enumerate(DATASETS):
        x = toy["test_x"][0, col, :FIGURE_POINTS]
        y = toy["test_y"][0, col, :FIGURE_POINTS]
        for row, kind in enumerate(_MODELS):
            params = jax.tree.map(lambda a, c=col: a[0, c], toy[kind]["params"])
            prob = lambda g, p=params, k=kind: jaxnn.sigmoid(_APPLY[k](p, jnp.asarray(g)))[:, 0]
            label = "tanh MLP 2-16-16-1" if kind == "MLP" else "logistic regression (a line)"
            plotting.boundary(
                axes[row, col],
                prob,
                x,
                y,
                f"{NAMES[name]}: {label}\ntest accuracy {m[f'{name}_{kind}_test_accuracy']:.3f}",
            )
    for ax in axes.flat:  # one legend for the six panels, above them, off the points
        ax.get_legend().remove()
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=2)
    fig.suptitle(
        "Test points over each model's P(class 1): the MLP's boundary bends, the line cannot"
    )
    caption = (
        f"The first {FIGURE_POINTS} of the {m['n_test']} test points (red: class 1, blue: "
        "class 0) over each model's probability of class 1, its boundary P = 0.5 in black; "
        "the accuracies are on all the test points. Top row: the MLP's boundary bends around "
        "the moons, encloses the inner circle and keeps the XOR corners apart. Bottom row: "
        "logistic regression can only draw one straight line; on circles and XOR it learns "
        "nothing, its probability near 0.5 (pale) everywhere, so where its line falls is "
        "left to chance."
    )
    return plotting.save(fig, out_dir, "mlp_vs_linear_boundaries.png", caption)


def _digits_figure(out_dir, digits, m):
    """The digits MLP: its loss curves with the kept epoch, and its test confusion matrix."""
    fig, (ax0, ax1) = plotting.figure(2, width=6.0, height=5.0)
    best, run_e = m["digits_best_epoch"] + 1, m["digits_epochs_run"]  # epoch k: k passes
    h = jax.tree.map(lambda a: np.asarray(a[0, :run_e]), digits["history"])
    e = np.arange(1, run_e + 1)
    ax0.plot(e, h.train_loss, color="black", label="training loss (during the epoch, dropout on)")
    ax0.plot(e, h.val_loss, color="tab:orange", label="validation loss")
    ax0.axvline(best, color="tab:green", ls="--", label=f"best epoch {best} (its weights kept)")
    if digits["stopped_early"][0]:
        ax0.axvline(run_e, color="tab:purple", ls=":", label=f"stopped after epoch {run_e}")
        stop = (
            f"is lowest at epoch {best}; it was no lower in the {run_e - best} epochs after, so "
            f"training stopped after epoch {run_e} (purple, dotted)"
        )
    else:
        stop = f"is lowest at epoch {best}; training ran all {run_e} epochs"
    ax0.set(
        xlim=(0.5, run_e + 1),  # the stop line at the last epoch stays off the frame
        yscale="log",
        xlabel="epoch (passes over the training set)",
        ylabel="mean cross-entropy (log scale)",
        title=f"MLP 64-128-10 on 8x8 digits: early stopping (patience {DIGITS_CONFIG['patience']})",
    )
    ax0.title.set_fontsize(10)
    ax0.xaxis.set_major_locator(plotting.plt.MaxNLocator(integer=True))
    ax0.legend(fontsize=8, loc="best")

    pred = np.argmax(np.asarray(digits["logits"][0]), axis=1)
    true = np.asarray(digits["labels"][0])
    cm = np.zeros((10, 10), int)
    np.add.at(cm, (true, pred), 1)
    ax1.imshow(cm, cmap="Blues", vmin=0)
    for t in range(10):
        for p in range(10):
            if cm[t, p]:
                white = cm[t, p] > cm.max() / 2
                ax1.text(
                    p,
                    t,
                    str(cm[t, p]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if white else "black",
                )
    right, total = int(np.trace(cm)), int(cm.sum())
    ax1.set(
        xticks=range(10),
        yticks=range(10),
        xlabel="predicted digit",
        ylabel="true digit",
        title=f"Test set: {right} of {total} digits right (accuracy {right / total:.3f})",
    )
    ax1.title.set_fontsize(10)
    caption = (
        "Left: while the MLP's training loss (black) keeps falling, its validation loss "
        f"(orange) {stop} and kept the weights of epoch {best} (green, dashed). Right: with "
        f"those weights it reads {right} of the {total} test digits correctly (test accuracy "
        f"{right / total:.3f}): nearly all counts lie on the diagonal, where the predicted "
        "digit is the true one."
    )
    return plotting.save(fig, out_dir, "digits_mlp.png", caption)


def verdicts(m: dict) -> list[Claim]:
    claims = [
        check(
            f"On {NAMES[name]}, the MLP's curved boundary classifies new points well",
            m[f"{name}_MLP_test_accuracy"],
            ">=",
            MLP_ACCURACY,
            quantity="test accuracy of the tanh MLP 2-16-16-1",
        )
        for name in DATASETS
    ]
    claims += [
        check(
            f"On {NAMES[name]}, logistic regression (a single line) learns nothing: it stays "
            "a coin toss",
            m[f"{name}_linear_test_loss"],
            ">=",
            COIN_LOSS - COIN_MARGIN,
            quantity="test cross-entropy of logistic regression (a coin's is log 2 = 0.693)",
        )
        for name in ("circles", "xor")
    ]
    claims.append(
        check(
            "On moons, the MLP clearly beats logistic regression",
            m["moons_MLP_test_accuracy"] - m["moons_linear_test_accuracy"],
            ">=",
            MOONS_GAP,
            quantity="test accuracy of the MLP minus that of logistic regression",
        )
    )
    claims += [
        check(
            f"On {NAMES[name]}, no line at all reaches the MLP",
            m[f"{name}_MLP_test_accuracy"] - m[f"{name}_best_line_test_accuracy"],
            ">",
            0.0,
            quantity="test accuracy of the MLP minus that of the best line, searched over "
            f"{SEARCH_ANGLES} directions and every offset on the test points themselves",
        )
        for name in DATASETS
    ]
    claims.append(
        check(
            "With a softmax output, an MLP tells the ten handwritten digits apart",
            m["digits_MLP_test_accuracy"],
            ">=",
            DIGITS_ACCURACY,
            quantity="test accuracy of the MLP 64-128-10 on scikit-learn's 8x8 digits "
            "(a typical split: the median over seeds)",
            over="median",
        )
    )
    return claims


COUNTEREXAMPLE = {
    "digits_MLP_test_accuracy": 0.9,
    **{f"{n}_MLP_test_accuracy": 0.6 for n in DATASETS},
    **{f"{n}_linear_test_accuracy": 0.8 for n in DATASETS},
    **{f"{n}_linear_test_loss": 0.4 for n in DATASETS},
    **{f"{n}_best_line_test_accuracy": 0.7 for n in DATASETS},
}

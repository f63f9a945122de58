"""Lesson 9: over- and underfitting; early stopping.

    python -m experiments run 9

A big MLP (``MLP((2, 64, 64, 1))``, relu) trained on a small noisy training set (a
few dozen moons) overfits: its validation loss reaches a minimum and turns up while
its training loss keeps falling. The same fit (same key, so the same trajectory)
with ``FitConfig(patience=...)`` stops ``patience`` epochs after the minimum and
returns the params of the best epoch: ``best_epoch`` is the argmin of the
validation curve and ``best_params`` have exactly the minimum validation loss.
Every seed draws its own training and validation moons; all seeds' fits run as
one compiled program.
"""

from __future__ import annotations

import sys
from functools import partial

import jax
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check, outcome

LESSON = 9
TITLE = "over- and underfitting, early stopping"
STATEMENT = (
    "Underfitting is a too-simple model that makes too many errors; overfitting is a "
    "too-complex one that fits the training data extremely well but does not generalise to "
    "new data. As the right complexity is hard to hit, we err on the side of a too-complex "
    "model and then reduce its overfitting: early stopping runs gradient descent only until "
    "the error on held-out (validation) data starts to rise, and keeps the model from there."
)

N_TRAIN = 30  # few points: a 64-64 network can memorise them, noise and all
N_VAL = 400  # many validation points, so the validation curve is smooth
NOISE = 0.3  # moons whose classes overlap: memorising the training set must hurt
HIDDEN = (64, 64)  # far more capacity than 30 points need (~4,400 params)
RATE, MOMENTUM = 0.1, 0.9  # full-batch heavy ball: fast, so overfitting shows early
EPOCHS = (400, 1500)  # quick / full: long after the validation minimum (~ epoch 60)
PATIENCE = 50  # stop after 50 epochs without a better validation loss
SAME_TOL = 1e-6  # float32: the same computation twice, or a loss recomputed


def _model():
    return jaxnn.MLP((2, *HIDDEN, 1))


@partial(jax.jit, static_argnames="epochs")
def _fits(keys: jax.Array, *, epochs: int):
    """Every seed's two fits, as one compiled program: seed s draws its training and
    validation moons from fold_in(key, 0) and fold_in(key, 1), and fits from
    fold_in(key, 2) without and with early stopping (the same start and trajectory).
    The seeds run one after the other (``lax.map``): each seed's early-stopped fit
    ends at its own stop, and a seed gives bitwise the same numbers alone or among
    others."""
    model = _model()
    t = jaxnn.training
    base = jaxnn.FitConfig(
        learning_rate=RATE, momentum=MOMENTUM, epochs=epochs, train_metrics="end_of_epoch"
    )
    early = base.replace(patience=PATIENCE)
    plan = t.make_plan(base, N_TRAIN, True, model)

    def fit(key, config, train, val):
        state = t.init_state(key, model, config, plan)
        return t.result_from_state(
            t.run_epochs_rows(state, model, config, plan, train, val, epochs)
        )

    def one(key):
        train = jaxnn.data.make_moons(jax.random.fold_in(key, 0), N_TRAIN, noise=NOISE)
        val = jaxnn.data.make_moons(jax.random.fold_in(key, 1), N_VAL, noise=NOISE)
        fit_key = jax.random.fold_in(key, 2)
        full = fit(fit_key, base, train, val)
        stopped = fit(fit_key, early, train, val)
        # the kept weights' validation loss and accuracy, computed again
        again = jaxnn.evaluate("binary", model.apply(stopped.best_params, val[0]), val[1])
        keep = lambda r: r._replace(state=None)  # the rest of the state is not needed
        return train, keep(full), keep(stopped), again

    return jax.lax.map(one, keys)


def run_seeds(keys: jax.Array, out_dir: str | None, *, quick: bool = False) -> list[Outcome]:
    epochs = EPOCHS[0 if quick else 1]
    train, full, early, again = jax.tree.map(np.asarray, _fits(keys, epochs=epochs))
    outcomes = []
    for i in range(len(keys)):
        f, e = (jax.tree.map(lambda a, i=i: a[i], r) for r in (full, early))
        m = _metrics(epochs, f, e, again[0][i], again[1][i])
        figures = []
        if out_dir is not None and i == 0:  # figures at the first seed only
            figures = [_figure(out_dir, f, e, (train[0][i], train[1][i]), m)]
        outcomes.append(outcome(sys.modules[__name__], m, figures))
    return outcomes


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    return run_seeds(key[None], out_dir, quick=quick)[0]


def _metrics(epochs, full, early, best_val_loss, best_val_acc) -> dict:
    vl, tl = np.asarray(full.history.val_loss), np.asarray(full.history.train_loss)
    va, ta = np.asarray(full.history.val_accuracy), np.asarray(full.history.train_accuracy)
    best = int(np.argmin(vl))
    run_e = int(early.epochs_run)
    evl = np.asarray(early.history.val_loss)
    return {
        "n_train": N_TRAIN,
        "n_val": N_VAL,
        "epochs": epochs,
        "val_loss_min": float(vl[best]),
        "val_loss_min_epoch": best,
        "val_loss_end": float(vl[-1]),
        "val_loss_rise_after_min": float(vl[-1] - vl[best]),
        "train_loss_at_val_min": float(tl[best]),
        "train_loss_end": float(tl[-1]),
        "train_accuracy_end": float(ta[-1]),
        "val_accuracy_at_val_min": float(va[best]),
        "val_accuracy_end": float(va[-1]),
        "early_stopped": int(early.stopped_early),
        "early_epochs_run": run_e,
        "early_best_epoch": int(early.best_epoch),
        "early_argmin_val_loss": int(np.nanargmin(evl)),
        "early_epochs_after_best": run_e - 1 - int(early.best_epoch),
        "early_best_params_val_loss": float(best_val_loss),
        "early_best_params_val_accuracy": float(best_val_acc),
        "early_min_val_loss": float(np.nanmin(evl)),
        "early_vs_full_history_max_abs_diff": float(np.max(np.abs(evl[:run_e] - vl[:run_e]))),
    }


def _figure(out_dir, full, early, train, m):
    fig, axes = plotting.figure(3, width=5.2)
    e = np.arange(1, len(full.history.train_loss) + 1)  # epoch k ends after k passes
    a = axes[0]
    a.plot(e, np.asarray(full.history.train_loss), color="black", label="train loss")
    a.plot(e, np.asarray(full.history.val_loss), color="tab:orange", label="validation loss")
    a.axvline(m["early_best_epoch"] + 1, color="tab:green", ls="--", label="best epoch (kept)")
    a.axvline(m["early_epochs_run"], color="tab:purple", ls=":", label="early stop")
    a.set(
        xscale="log",
        yscale="log",
        xlabel="passes over the training set (epoch index + 1)",
        ylabel="mean cross-entropy",
        title=f"{N_TRAIN} noisy training points, MLP 2-64-64-1\n"
        f"stopped at epoch {m['early_epochs_run'] - 1} (patience {PATIENCE}), "
        f"best {m['early_best_epoch']}",
    )
    a.title.set_fontsize(9)
    a.legend(fontsize=8)
    apply = jax.jit(_model().apply)
    for ax, params, label, acc in (
        (axes[1], early.best_params, "early-stopped (best epoch)", m["val_accuracy_at_val_min"]),
        (axes[2], full.params, f"after all {m['epochs']} epochs", m["val_accuracy_end"]),
    ):
        prob = lambda g, p=params: jax.nn.sigmoid(apply(p, g))[:, 0]
        plotting.boundary(ax, prob, train[0], train[1], f"{label}\nvalidation accuracy {acc:.3f}")
        ax.title.set_fontsize(9)
    fig.suptitle("Overfitting: validation loss turns up while training loss falls")
    caption = (
        f"Left: on {N_TRAIN} noisy training points the training loss (black) keeps falling, "
        "while the validation loss (orange) reaches a minimum and turns up; early stopping "
        f"keeps the weights of that best epoch (green, dashed) and stops {PATIENCE} epochs "
        "later (purple, dotted). Middle and right: the training points over the kept "
        "network's P(class 1) and over the network trained to the end, whose boundary bends "
        f"around single noisy points (validation accuracy {m['val_accuracy_at_val_min']:.3f} "
        f"kept, {m['val_accuracy_end']:.3f} at the end)."
    )
    return plotting.save(fig, out_dir, "early_stopping.png", caption)


def verdicts(m: dict) -> list[Claim]:
    return [
        check(
            "The oversized network overfits: its validation loss turns up after a minimum",
            m["val_loss_end"] - m["val_loss_min"],
            ">",
            0.0,
            quantity="validation loss after the last epoch minus its minimum",
        ),
        check(
            "Meanwhile its training loss keeps falling",
            m["train_loss_end"] / m["train_loss_at_val_min"],
            "<",
            1.0,
            quantity="training loss after the last epoch divided by that at the validation minimum",
        ),
        check(
            "Early stopping ends training before the last epoch",
            m["early_stopped"],
            ">=",
            1,
            quantity="stopped early (1 for yes, 0 for no)",
        ),
        check(
            "The epoch it keeps is the one with the lowest validation loss",
            abs(m["early_best_epoch"] - m["early_argmin_val_loss"]),
            "<=",
            0,
            quantity="epochs between the kept epoch and the minimum of the validation curve",
            unit="epochs",
        ),
        check(
            "The weights it keeps have exactly that lowest validation loss",
            abs(m["early_best_params_val_loss"] - m["early_min_val_loss"]),
            "<=",
            SAME_TOL,
            quantity="validation loss of the kept weights, computed again, minus the curve's "
            "minimum (in size)",
        ),
        check(
            f"Training stops exactly {PATIENCE} epochs (the patience) after the best one",
            abs(m["early_epochs_after_best"] - PATIENCE),
            "<=",
            0,
            quantity=f"epochs run after the best one, minus {PATIENCE} (in size)",
            unit="epochs",
        ),
        check(
            "Stopping early changes nothing before the stop",
            m["early_vs_full_history_max_abs_diff"],
            "<=",
            SAME_TOL,
            quantity="largest difference in validation loss from the run without stopping, "
            "over the epochs both ran",
        ),
    ]


COUNTEREXAMPLE = {
    "val_loss_min": 0.3,
    "val_loss_end": 0.3,
    "train_loss_at_val_min": 0.2,
    "train_loss_end": 0.25,
    "early_stopped": 0,
    "early_best_epoch": 60,
    "early_argmin_val_loss": 63,
    "early_best_params_val_loss": 0.35,
    "early_min_val_loss": 0.3,
    "early_epochs_after_best": 10,
    "early_vs_full_history_max_abs_diff": 0.1,
}

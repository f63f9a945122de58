"""Lesson 7: gradient descent (logistic regression) and the perceptron trick, side by side.

    python -m experiments run 7

The course's two update rules differ only in the prediction they subtract:
the perceptron trick uses the step, ``w <- w + a (y - step(w·x + b)) x``, gradient
descent the sigmoid, ``w <- w + a (y - s(w·x + b)) x``. Both run here as in the
course's lab: one point at a time (``batch_size=1`` for ``jaxnn.fit`` with
``jaxnn.MLP((2, 1))``, one update per visit for ``jaxnn.perceptron_fit``), with the
same learning rate (0.01, the lab's, on the course's points; 0.1 on the blobs, see
LEARNING_RATE_BLOBS), epochs and starting line.

On separable blobs both reach 100% and agree on every training point (and nearly
every fresh one). On the course's non-separable points they part: gradient
descent's loss falls in every epoch and its accuracy settles, while the perceptron
keeps jumping at every misclassified point, so its accuracy fluctuates from epoch
to epoch and it never stops updating.
"""

from __future__ import annotations

import sys
from functools import partial

import jax
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check, outcome

LESSON = 7
TITLE = "gradient descent vs the perceptron algorithm"
STATEMENT = (
    "Gradient descent and the perceptron trick make the same update, w <- w + a (y - y_hat) x "
    "and b <- b + a (y - y_hat), except that the perceptron's y_hat is the step (0 or 1), so "
    "a correctly classified point does not move its line, while gradient descent's y_hat is "
    "the sigmoid, a value between 0 and 1, so every point moves it a little. On data a line "
    "can separate both reach 100% and agree; on the rest the perceptron keeps jumping while "
    "gradient descent settles."
)

N_POINTS = 100  # as many as the course's points: one compiled fit serves both data sets
BLOB_NOISE = 0.75  # wide blobs, points 0.1 from the separating line: not a trivial split
LEARNING_RATE = 0.01  # the course lab's rate, for both algorithms, on the course's points
# On the blobs (about 3 times the scale of the course's points, and only 0.1 from their
# separating line) GD at 0.01 is, on some seeds, still short of its limit after 100 epochs
# (seed 1: one point on the wrong side, accuracy 0.99). Its limit, the max-margin line,
# is what "both reach 100%" is about, so the blobs get 0.1, for both algorithms.
LEARNING_RATE_BLOBS = 0.1
EPOCHS = 100  # the course lab's epochs
NET = jaxnn.MLP((2, 1))  # no hidden layer: logistic regression, one line w·x + b = 0
# One update per point for both rules, as in the course's lab (jaxnn.fit reshuffles the
# order every epoch, as perceptron_fit does).
CONFIG = jaxnn.FitConfig(
    learning_rate=LEARNING_RATE, epochs=EPOCHS, batch_size=1, train_metrics="end_of_epoch"
)
FRESH_AGREEMENT = 0.95  # "they agree": on new points from the same blobs, 19 in 20 at least

_blobs = jax.jit(partial(jaxnn.data.make_blobs, n=N_POINTS, noise=BLOB_NOISE))
_predict = jax.jit(jaxnn.perceptron_predict)


@jax.jit
def _gd_prob(params, x):
    return jaxnn.sigmoid(NET.apply(params, x)[:, 0])


def _side_by_side(key, x, y, lr):
    """GD and the perceptron from the same start on (x, y): params, histories."""
    fit_key = jax.random.fold_in(key, 0)
    # jaxnn.fit draws its initial params from fold_in(key, 0) (see jaxnn.training);
    # the perceptron starts from that same line.
    start = NET.init(jax.random.fold_in(fit_key, 0))
    init = {"w": start[0]["w"][:, 0], "b": start[0]["b"][0]}
    # learning_rate is a traced leaf of FitConfig: both data sets share one compiled fit
    gd = jaxnn.fit(fit_key, NET, (x, y), None, CONFIG.replace(learning_rate=lr))
    pp, ph = jaxnn.perceptron_fit(
        x, y, learning_rate=lr, epochs=EPOCHS, key=jax.random.fold_in(key, 1), init=init
    )
    gh = jax.tree.map(np.asarray, gd.history)
    return gd.params, gh, pp, jax.tree.map(np.asarray, ph)


def _spread(acc: np.ndarray) -> tuple[float, float]:
    """Mean |accuracy change| between consecutive epochs, and the std, over the second
    half of the epochs (after the start-up, where both should have settled)."""
    a = acc[len(acc) // 2 :]
    return float(np.mean(np.abs(np.diff(a)))), float(np.std(a))


def _changes(acc: np.ndarray) -> int:
    """Epochs of the second half (51 to 100) after which the training accuracy differs
    from the epoch before, counted on the number of points classified right (exact,
    where accuracies differ by 0.01 and float32 rounding could blur them).

    A count of jumps, not their mean size in accuracy: each jump is one or a few
    points out of 100, so the mean size (0.006 to 0.025 per epoch for the perceptron)
    looks thin beside zero though the perceptron jumps at 22 to 35 of the 50 epochs
    (20 seeds). Gradient descent at the lab's rate has not converged after 100
    epochs (its loss still falls by a fifth over the second half), so its line
    still drifts and a point near it crosses now and then: 0 to 6 epochs."""
    right = np.round(np.asarray(acc, np.float64) * N_POINTS).astype(int)
    return int(np.sum(np.diff(right[len(right) // 2 - 1 :]) != 0))


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    del quick  # two compiled fits (GD, perceptron) are the whole cost; sizes are the course's
    xb, yb = _blobs(jax.random.fold_in(key, 0))
    xf, yf = _blobs(jax.random.fold_in(key, 1))  # fresh points from the same blobs
    xc, yc = jaxnn.data.load_course_points()

    gb, ghb, pb, phb = _side_by_side(jax.random.fold_in(key, 2), xb, yb, LEARNING_RATE_BLOBS)
    gc, ghc, pc, phc = _side_by_side(jax.random.fold_in(key, 3), xc, yc, LEARNING_RATE)

    def preds(g, p, x):
        return np.asarray(_gd_prob(g, x) >= 0.5), np.asarray(_predict(p, x) == 1)

    gtr, ptr = preds(gb, pb, xb)
    gfr, pfr = preds(gb, pb, xf)
    gcc, pcc = preds(gc, pc, xc)
    yb_, yf_, yc_ = (np.asarray(v) == 1 for v in (yb, yf, yc))
    p_acc_c = phc.accuracy[1:]  # after each epoch (index 0 is the start)
    gd_step, gd_std = _spread(ghc.train_accuracy)
    p_step, p_std = _spread(p_acc_c)
    wg = np.asarray(gb[0]["w"][:, 0])
    wp = np.asarray(pb["w"])
    cos = float(wg @ wp / (np.linalg.norm(wg) * np.linalg.norm(wp)))
    metrics = {
        "learning_rate_blobs": LEARNING_RATE_BLOBS,
        "learning_rate_course": LEARNING_RATE,
        "epochs": EPOCHS,
        "blobs_gd_accuracy": float(np.mean(gtr == yb_)),
        "blobs_perceptron_accuracy": float(np.mean(ptr == yb_)),
        "blobs_gd_first_epoch_at_100pct": _first(ghb.train_accuracy, offset=1),
        "blobs_perceptron_first_epoch_at_100pct": _first(phb.accuracy, offset=0),
        "blobs_train_agreement": float(np.mean(gtr == ptr)),
        "blobs_fresh_agreement": float(np.mean(gfr == pfr)),
        "blobs_fresh_gd_accuracy": float(np.mean(gfr == yf_)),
        "blobs_fresh_perceptron_accuracy": float(np.mean(pfr == yf_)),
        "blobs_angle_between_normals_deg": float(np.degrees(np.arccos(np.clip(cos, -1, 1)))),
        "course_gd_loss_first_epoch": float(ghc.train_loss[0]),
        "course_gd_loss_last_epoch": float(ghc.train_loss[-1]),
        "course_gd_loss_rises": int(np.sum(np.diff(ghc.train_loss) > 0)),
        "course_gd_final_accuracy": float(np.mean(gcc == yc_)),
        "course_perceptron_final_accuracy": float(np.mean(pcc == yc_)),
        "course_perceptron_accuracy_range_2nd_half": [
            float(p_acc_c[EPOCHS // 2 :].min()),
            float(p_acc_c[EPOCHS // 2 :].max()),
        ],
        "course_gd_accuracy_range_2nd_half": [
            float(ghc.train_accuracy[EPOCHS // 2 :].min()),
            float(ghc.train_accuracy[EPOCHS // 2 :].max()),
        ],
        "course_gd_epochs_accuracy_changed_2nd_half": _changes(ghc.train_accuracy),
        "course_perceptron_epochs_accuracy_changed_2nd_half": _changes(p_acc_c),
        "course_gd_mean_abs_epoch_change": gd_step,
        "course_perceptron_mean_abs_epoch_change": p_step,
        "course_gd_accuracy_std": gd_std,
        "course_perceptron_accuracy_std": p_std,
        "course_perceptron_updates_last_epoch": int(phc.updates[-1]),
        "course_final_agreement": float(np.mean(gcc == pcc)),
    }

    figures = []
    if out_dir is not None:  # another seed: draw nothing
        figures = [
            _boundaries(
                out_dir,
                "blobs_side_by_side.png",
                "separable blobs",
                xb,
                yb,
                gb,
                pb,
                LEARNING_RATE_BLOBS,
            ),
            _boundaries(
                out_dir,
                "course_side_by_side.png",
                "course's points",
                xc,
                yc,
                gc,
                pc,
                LEARNING_RATE,
            ),
            _curves(out_dir, ghb, phb, ghc, phc),
        ]
    return outcome(sys.modules[__name__], metrics, figures)


def _first(acc: np.ndarray, *, offset: int) -> float:
    """The first epoch whose accuracy is 1 (NaN if none); ``offset`` turns an index into
    an epoch number (GD's history starts after epoch 1, the perceptron's at the start)."""
    hit = np.nonzero(acc >= 1.0)[0]
    return float(hit[0] + offset) if len(hit) else float("nan")


def _boundaries(out_dir, name, what, x, y, g, p, lr):
    fig, axes = plotting.figure(2)
    acc_g = float(np.mean(np.asarray(_gd_prob(g, x) >= 0.5) == (np.asarray(y) == 1)))
    acc_p = float(np.mean(np.asarray(_predict(p, x)) == np.asarray(y)))
    plotting.boundary(
        axes[0],
        lambda grid: _gd_prob(g, grid),
        x,
        y,
        f"gradient descent (logistic regression)\naccuracy {acc_g:.2f}: P = s(w·x + b)",
    )
    plotting.boundary(
        axes[1],
        lambda grid: _predict(p, grid),
        x,
        y,
        f"perceptron trick\naccuracy {acc_p:.2f}: prediction step(w·x + b)",
    )
    fig.axes[-1].set_ylabel("prediction (1 = class 1)")  # its colour bar
    lines = {
        "GD's line": (np.asarray(g[0]["w"][:, 0]), float(g[0]["b"][0]), "tab:green"),
        "perceptron's line": (np.asarray(p["w"]), float(p["b"]), "tab:orange"),
    }
    for ax, own, other in zip(
        axes, ("GD's line", "perceptron's line"), ("perceptron's line", "GD's line"), strict=True
    ):
        xlim, ylim = ax.get_xlim(), ax.get_ylim()
        t = np.linspace(*xlim, 2)
        (w1, w2), b, _ = lines[own]  # exact, over the contour of the grid (jagged for a step)
        ax.plot(t, -(w1 * t + b) / w2, color="black", lw=1.2)
        (w1, w2), b, color = lines[other]
        ax.plot(t, -(w1 * t + b) / w2, color=color, ls="--", lw=2, label=f"the other: {other}")
        ax.set(xlim=xlim, ylim=ylim)
        # below the picture: inside, it would cover points or lines at some seeds
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=8)
    fig.suptitle(
        f"{what[:1].upper() + what[1:]}: {EPOCHS} epochs, one point at a time, learning rate "
        f"{lr}, same start (black: each one's own boundary)"
    )
    caption = (
        f"Both rules on the {what} after {EPOCHS} epochs from the same starting line. Left: "
        "gradient descent, shaded by its probability of class 1 (red near 1, blue near 0); "
        "right: the perceptron trick, red where it predicts class 1 and blue where class 0. "
        "Each panel's own boundary is black, the other rule's is dashed (orange: the "
        "perceptron's, green: gradient descent's)."
    )
    if acc_g == acc_p == 1.0:
        caption += " Both lines separate the two classes."
    elif acc_g < 1.0 and acc_p < 1.0:
        caption += " No line separates these points: both leave some on the wrong side."
    return plotting.save(fig, out_dir, name, caption)


def _plain_log_y(ax):
    """A log-scaled axis labelled with plain numbers (0.02, 0.05, 0.1, 0.2, 0.5)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(plotting.plt.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(plotting.plt.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(plotting.plt.NullFormatter())


def _curves(out_dir, ghb, phb, ghc, phc):
    fig, axes = plotting.figure(2, width=5.8, height=4.2)
    e = np.arange(1, EPOCHS + 1)
    axes[0].plot(e, ghc.train_loss, color="tab:purple", label="course's points")
    axes[0].plot(e, ghb.train_loss, color="tab:green", label="separable blobs")
    _plain_log_y(axes[0])
    axes[0].set(
        xlabel="epoch",
        ylabel="training cross-entropy (log scale)",
        title="Gradient descent: the loss falls every epoch",
    )
    axes[0].legend()
    # the blobs' curves sit at 1.0 together: the perceptron's wide and pale under GD's dashes
    axes[1].plot(
        e, phb.accuracy[1:], color="tab:orange", lw=4, alpha=0.4, label="perceptron, blobs"
    )
    axes[1].plot(e, ghb.train_accuracy, color="tab:green", ls="--", label="GD, blobs")
    axes[1].plot(e, phc.accuracy[1:], color="tab:orange", label="perceptron, course's points")
    axes[1].plot(e, ghc.train_accuracy, color="tab:purple", label="GD, course's points")
    axes[1].axvspan(
        EPOCHS // 2, EPOCHS, color="gray", alpha=0.12, label="where the jumps are measured"
    )
    lowest = min(float(np.min(a)) for a in (phb.accuracy[1:], ghb.train_accuracy, phc.accuracy[1:]))
    lowest = min(lowest, float(np.min(ghc.train_accuracy)))
    axes[1].set_ylim(lowest - 0.02, 1.02)  # the lines at 1.0 clear of the frame
    axes[1].set(
        xlabel="epoch",
        ylabel="training accuracy",
        title="Accuracy per epoch: the perceptron's jumps",
    )
    axes[1].legend(fontsize=8, loc="lower right")
    caption = (
        "Left: gradient descent's training loss falls at every epoch, on the course's points "
        "(purple) and on the blobs (green). Right: training accuracy after each epoch; on "
        "the blobs both rules reach 1.0 (pale orange: perceptron, dashed green: gradient "
        "descent), while on the course's points the perceptron's accuracy (orange) keeps "
        "jumping and gradient descent's (purple) settles; the jumps are measured over the "
        "grey half."
    )
    return plotting.save(fig, out_dir, "loss_and_accuracy.png", caption)


def verdicts(m: dict) -> list[Claim]:
    return [
        check(
            "On separable blobs, gradient descent reaches 100%",
            m["blobs_gd_accuracy"],
            ">=",
            1.0,
            quantity="training accuracy of gradient descent after the last epoch",
        ),
        check(
            "On separable blobs, the perceptron trick reaches 100%",
            m["blobs_perceptron_accuracy"],
            ">=",
            1.0,
            quantity="training accuracy of the perceptron after the last epoch",
        ),
        check(
            "On separable blobs, the two agree on every training point",
            m["blobs_train_agreement"],
            ">=",
            1.0,
            quantity="fraction of the training points both put in the same class",
        ),
        check(
            "On separable blobs, the two agree on fresh points from the same blobs",
            m["blobs_fresh_agreement"],
            ">=",
            FRESH_AGREEMENT,
            quantity=f"fraction of {N_POINTS} new points both put in the same class",
        ),
        check(
            "On the course's points, gradient descent's loss never rises from one epoch to "
            "the next",
            m["course_gd_loss_rises"],
            "<=",
            0,
            quantity="epochs whose training loss is higher than the one before",
            unit="epochs",
        ),
        check(
            "On the course's points, the perceptron's accuracy jumps from epoch to epoch "
            "more often than gradient descent's",
            m["course_perceptron_epochs_accuracy_changed_2nd_half"]
            - m["course_gd_epochs_accuracy_changed_2nd_half"],
            ">",
            0,
            quantity="epochs of the last 50 after which the training accuracy changed, "
            "perceptron's minus gradient descent's",
            unit="epochs",
        ),
        check(
            "On the course's points, which no line separates, the perceptron never stops updating",
            m["course_perceptron_updates_last_epoch"],
            ">=",
            1,
            quantity="updates the perceptron made in its last epoch",
        ),
    ]


COUNTEREXAMPLE = {
    "blobs_gd_accuracy": 0.98,
    "blobs_perceptron_accuracy": 0.97,
    "blobs_train_agreement": 0.95,
    "blobs_fresh_agreement": 0.9,
    "course_gd_loss_rises": 7,
    "course_perceptron_epochs_accuracy_changed_2nd_half": 2,
    "course_gd_epochs_accuracy_changed_2nd_half": 3,
    "course_perceptron_updates_last_epoch": 0,
}

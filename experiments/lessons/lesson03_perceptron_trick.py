"""Lesson 3: the perceptron trick, epoch by epoch.

    python -m experiments run 3

``jaxnn.perceptron_fit`` visits the points one at a time and moves the line toward
every misclassified point (w <- w ± a x, b <- b ± a). On linearly separable blobs it
reaches 100% training accuracy after finitely many epochs and then stops moving;
the number of updates it makes stays under Novikoff's bound for its starting line.
On the course's 100 points, which no line separates (lesson 1), it never gets
there: it keeps updating in every epoch. One update on a single point is checked
against the course's formula. Besides the figures, an animated GIF shows the line
on the blobs epoch by epoch (epochs rather than single updates: an update moves the
line by a hundredth of a point, too little to see, and the first epoch alone makes 50).
"""

from __future__ import annotations

import sys
from functools import partial

import jax
import jax.numpy as jnp
import matplotlib as mpl
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Figure, Outcome, check, outcome

LESSON = 3
TITLE = "the perceptron trick"
STATEMENT = (
    "The perceptron trick moves the line toward each misclassified point, and eventually "
    "past it, by steps of a small learning rate a: for a point of label 1 predicted 0, "
    "w <- w + a x and b <- b + a; for a point of label 0 predicted 1, w <- w - a x and "
    "b <- b - a. On points that a line can separate, it ends with every point on its own "
    "side (100% accuracy) and then stops; on points that no line separates, it never does."
)

N_POINTS = 100  # as many as the course's points: both fits are one compiled program
BLOB_NOISE = 0.75  # wide blobs with points 0.1 from the separating line: a real test
LEARNING_RATE = 0.01  # the course's quiz value; small steps make the line's path visible
EPOCHS = 300  # a budget: the blobs took 24-118 epochs over the 20 seeds of a full run (Novikoff
# allows some thousands of updates from this start); the course's points never finish.
# Quick mode keeps it: the fit is one compiled scan, and its length costs little.
LINES_DRAWN = 12  # epochs drawn in the figure (spread from the start to 100%)
GIF_FRAMES = 24  # at most, one epoch each: every early epoch, fewer as the line slows
# down; about 10 kB each
GIF_FPS = 3  # slow enough to follow the line from one epoch to the next
TRAIL = "#7fbf7f"  # the earlier lines: the notebooks' green dashes ("g--"), paler
TRAIL_FRAMES = 6  # earlier lines kept on screen: the last few (all of them make a dense
# band once the line slows down, and double the GIF's size)


_predict = jax.jit(jaxnn.perceptron_predict)  # one program for the contour grid


def _course_init(key: jax.Array, x: jax.Array) -> dict[str, jax.Array]:
    """The course quiz's random start: w ~ U[0, 1)^2, b = U[0, 1) + max(x1).

    This line lies below and left of every point, so it calls them all class 1 and
    the trick has to carry it across the data.
    """
    u = jax.random.uniform(key, (3,))
    return {"w": u[:2], "b": u[2] + jnp.max(x[:, 0])}


@partial(jax.jit, static_argnames="epochs")
def _fits(keys: jax.Array, xc: jax.Array, yc: jax.Array, *, epochs: int):
    """Every seed's blobs, starting lines and both fits (blobs, course's points), as
    one compiled program: the two data sets have the same size, so each seed's two
    fits run side by side (vmap), and the seeds one after the other (``lax.map``:
    it compiles faster than a vmap over the seeds, and a seed gives bitwise the same
    numbers alone or among others)."""

    def one(key):
        xb, yb = jaxnn.data.make_blobs(jax.random.fold_in(key, 0), N_POINTS, noise=BLOB_NOISE)
        inits = [_course_init(jax.random.fold_in(key, i), x) for i, x in ((1, xb), (2, xc))]
        fit = lambda x, y, k, init: jaxnn.perceptron_fit(
            x, y, learning_rate=LEARNING_RATE, epochs=epochs, key=k, init=init
        )[1]
        hist = jax.vmap(fit)(
            jnp.stack([xb, xc]),
            jnp.stack([yb, yc]),
            jnp.stack([jax.random.fold_in(key, 3), jax.random.fold_in(key, 4)]),
            jax.tree.map(lambda *a: jnp.stack(a), *inits),
        )
        return xb, yb, inits[0], hist

    return jax.lax.map(one, keys)


def _novikoff_bound(init, x, y, lr: float) -> float:
    """Most updates the trick can make from ``init`` on data separated by x1 + x2 = 0.

    With augmented vectors v = (w, b), z = (x, 1), s = ±1 for labels 1/0, the unit
    separator u = (1, 1, 0)/√2 of margin g = min s u·z and R = max |z|: each update
    adds a s z, so after k updates u·v >= u·v0 + k a g and |v|^2 <= |v0|^2 + k a^2 R^2
    (a misclassified point has s v·z <= 0). Cauchy-Schwarz bounds k by the largest
    root of (u·v0 + k a g)^2 = |v0|^2 + k a^2 R^2.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y)
    s = 2.0 * y - 1.0
    z = np.concatenate([x, np.ones((len(x), 1))], 1)
    u = np.array([1.0, 1.0, 0.0]) / np.sqrt(2.0)
    g = float(np.min(s * (z @ u)))
    r2 = float(np.max(np.sum(z * z, 1)))
    v0 = np.concatenate([np.asarray(init["w"], np.float64), [float(init["b"])]])
    c, n0 = float(u @ v0), float(v0 @ v0)
    a, bq = lr * g, lr * lr * r2
    # A^2 k^2 + (2 c A - B) k + c^2 - N <= 0
    qa, qb, qc = a * a, 2 * c * a - bq, c * c - n0
    return float((-qb + np.sqrt(qb * qb - 4 * qa * qc)) / (2 * qa))


def _single_updates() -> float:
    """Max abs error of one update on one misclassified point against the formula (the
    same at every seed: one point is visited in one order)."""
    err = 0.0
    init = {"w": jnp.array([0.5, -1.0]), "b": jnp.array(0.25)}
    # (1, 2) predicted 0 (score -1.25) with label 1; (-2, -2) predicted 1 (1.25), label 0
    for point, label, sign in (((1.0, 2.0), 1, 1.0), ((-2.0, -2.0), 0, -1.0)):
        x = jnp.array([point])
        p, _ = jaxnn.perceptron_fit(
            x,
            jnp.array([label]),
            learning_rate=LEARNING_RATE,
            epochs=1,
            key=jax.random.key(0),
            init=init,
        )
        want_w = np.asarray(init["w"]) + sign * LEARNING_RATE * np.asarray(point)
        want_b = float(init["b"]) + sign * LEARNING_RATE
        err = max(err, float(np.max(np.abs(np.asarray(p["w"]) - want_w))))
        err = max(err, abs(float(p["b"]) - want_b))
    return err


def run_seeds(keys: jax.Array, out_dir: str | None, *, quick: bool = False) -> list[Outcome]:
    del quick  # the whole lesson takes a few seconds; quick mode runs it unchanged
    epochs = EPOCHS
    xc, yc = jaxnn.data.load_course_points()
    xb, yb, init_b, hist = jax.tree.map(np.asarray, _fits(keys, xc, yc, epochs=epochs))
    single = _single_updates()
    outcomes = []
    for i in range(len(keys)):
        hb, hc = (jax.tree.map(lambda a, i=i, j=j: a[i, j], hist) for j in (0, 1))
        init = {"w": init_b["w"][i], "b": init_b["b"][i]}
        acc_b, upd_b = hb.accuracy, hb.updates
        acc_c, upd_c = hc.accuracy, hc.updates
        reached = np.nonzero(acc_b >= 1.0)[0]
        first = int(reached[0]) if len(reached) else None
        metrics = {
            "epochs_budget": epochs,
            "learning_rate": LEARNING_RATE,
            "blobs_start_accuracy": float(acc_b[0]),
            "blobs_first_epoch_at_100pct": float("nan") if first is None else first,
            "blobs_final_accuracy": float(acc_b[-1]),
            "blobs_updates_after_100pct": (
                int(upd_b[first:].sum()) if first is not None else float("nan")
            ),
            "blobs_total_updates": int(upd_b.sum()),
            "blobs_novikoff_bound": _novikoff_bound(init, xb[i], yb[i], LEARNING_RATE),
            "course_start_accuracy": float(acc_c[0]),
            "course_best_accuracy": float(acc_c.max()),
            "course_final_accuracy": float(acc_c[-1]),
            "course_fewest_updates_in_an_epoch": int(upd_c.min()),
            "single_update_max_abs_error": single,
        }
        draw = out_dir if i == 0 else None  # figures at the first seed only
        figures = [
            _lines_figure(draw, xb[i], yb[i], hb, first, epochs),
            _curves_figure(draw, acc_b, upd_b, acc_c, upd_c),
            _animation(draw, xb[i], yb[i], hb, first, epochs),
        ]
        outcomes.append(outcome(sys.modules[__name__], metrics, figures))
    return outcomes


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    return run_seeds(key[None], out_dir, quick=quick)[0]


def _lines_figure(out_dir, x, y, hist, first, epochs) -> Figure:
    name = "line_by_epoch.png"
    caption = (
        "The line after some of the epochs over the red (class 1) and blue (class 0) blobs, "
        "coloured from the random start (dark purple) to later epochs (green), and the line "
        "of the last epoch in black, with its two sides shaded: each epoch moves the line "
        "toward the points it still gets wrong, a little less each time."
    )
    if out_dir is None:
        return Figure(name, caption)
    last = first if first is not None else epochs
    shown = np.unique(np.round(np.geomspace(1, last + 1, LINES_DRAWN) - 1).astype(int))
    w, b = hist.w, hist.b
    x, y = np.asarray(x), np.asarray(y)
    lo, hi = x.min(0) - 0.5, x.max(0) + 0.5
    corners = np.array([[lo[0], lo[1]], [lo[0], hi[1]], [hi[0], lo[1]], [hi[0], hi[1]]])
    fig, ax = plotting.figure(width=8.2, height=5.6)
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 40), np.linspace(lo[1], hi[1], 40))
    ax.contourf(  # the score is linear, so its 0-contour is exactly the line
        g0,
        g1,
        w[last, 0] * g0 + w[last, 1] * g1 + b[last],
        levels=[-np.inf, 0, np.inf],
        colors=[plotting.BLUE, plotting.RED],
        alpha=0.12,
    )
    cmap = mpl.colormaps["viridis"]
    t = np.array([lo[0], hi[0]])
    for i, e in enumerate(shown):
        final = e == last
        scores = corners @ w[e] + b[e]
        away = " (out of view)" if np.all(scores >= 0) or np.all(scores < 0) else ""
        ax.plot(
            t,
            -(w[e, 0] * t + b[e]) / w[e, 1],
            color="black" if final else cmap(0.8 * i / max(len(shown) - 2, 1)),
            lw=2.5 if final else 1.5,
            label=f"epoch {e}: accuracy {float(hist.accuracy[e]):.2f}{away}",
            zorder=2 if final else 1,
        )
    for label, color in ((0, plotting.BLUE), (1, plotting.RED)):
        ax.scatter(
            *x[y == label].T,
            s=20,
            c=color,
            edgecolors="black",
            linewidths=0.4,
            label=f"class {label}",
            zorder=3,
        )
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xlabel="x1", ylabel="x2")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    done = f"100% first at epoch {first}" if first is not None else f"not 100% in {epochs}"
    ax.set_title(f"Perceptron trick on separable blobs:\nthe line after each epoch ({done})")
    return plotting.save(fig, out_dir, name, caption)


def _curves_figure(out_dir, acc_b, upd_b, acc_c, upd_c) -> Figure:
    name = "accuracy_and_updates.png"
    caption = (
        "Left: training accuracy after each epoch; on the separable blobs (green) it climbs "
        "to 1, on the course's 100 points (purple) it never does. Right: updates in each "
        "epoch; on the blobs they fall to zero and the line stops, on the course's points "
        "they never do."
    )
    if out_dir is None:
        return Figure(name, caption)
    fig, axes = plotting.figure(2, width=5.5, height=4.0)
    e = np.arange(len(acc_b))
    axes[0].plot(e, acc_b, color="tab:green", label="separable blobs")
    axes[0].plot(e, acc_c, color="tab:purple", label="course's 100 points")
    axes[0].axhline(1.0, color="gray", ls=":", lw=1)
    axes[0].set(
        xlabel="epoch (0 = the random start)",
        ylabel="training accuracy",
        title="Accuracy after each epoch",
    )
    axes[0].legend(loc="lower right")
    eu = np.arange(1, len(upd_b) + 1)
    axes[1].plot(eu, upd_b, color="tab:green", label="separable blobs")
    axes[1].plot(eu, upd_c, color="tab:purple", label="course's 100 points")
    axes[1].set(
        xlabel="epoch",
        ylabel="updates (misclassified visits) in the epoch",
        title="Updates per epoch: zero once the line separates",
    )
    axes[1].legend(loc="upper right")
    return plotting.save(fig, out_dir, name, caption)


def _frame_epochs(last: int) -> np.ndarray:
    """At most :data:`GIF_FRAMES` epochs from 0 to ``last``, both included: every epoch
    if there are so few, else spaced geometrically (the line moves most at first)."""
    if last + 1 <= GIF_FRAMES:
        return np.arange(last + 1)
    for n in range(GIF_FRAMES, 10 * GIF_FRAMES):
        shown = np.unique(np.round(np.geomspace(1, last + 1, n)).astype(int) - 1)
        if len(shown) >= GIF_FRAMES:
            return shown
    return shown


def _animation(out_dir, x, y, hist, first, epochs) -> Figure:
    """The trick epoch by epoch as an animated GIF, drawn as the course's notebooks do:
    red and blue points, earlier lines green and dashed, the current line black."""
    name = "perceptron_trick.gif"
    caption = (
        "The perceptron trick on the blobs, one frame per epoch (every epoch at first, then "
        "fewer as the line slows down) over the red (class 1) and blue (class 0) points: the "
        "black line is the line after that epoch, shading its two sides, the green dashed "
        "lines are where it was in the frames just before, and the circled points are those "
        "it still misclassifies. It moves toward them until none is left, then stops."
    )
    if out_dir is None:
        return Figure(name, caption)
    last = first if first is not None else epochs
    shown = _frame_epochs(last)
    x, y = np.asarray(x), np.asarray(y)
    lo, hi = x.min(0) - 0.5, x.max(0) + 0.5
    corners = np.array([[lo[0], lo[1]], [lo[0], hi[1]], [hi[0], lo[1]], [hi[0], hi[1]]])
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 40), np.linspace(lo[1], hi[1], 40))
    t = np.array([lo[0], hi[0]])

    def line(e):
        return t, -(hist.w[e, 0] * t + hist.b[e]) / hist.w[e, 1]

    # What stays put is drawn once and the layout then frozen, so that the frames differ
    # only where the line moves: the GIF stores just those pixels.
    fig, ax = plotting.figure(width=5.6, height=5.0)
    trail = [ax.plot(*line(e), ls="--", color=TRAIL, lw=1, visible=False)[0] for e in shown]
    (now,) = ax.plot([], [], color="black", lw=2)
    for label, color in ((0, plotting.BLUE), (1, plotting.RED)):
        ax.scatter(
            *x[y == label].T,
            s=22,
            c=color,
            edgecolors="black",
            linewidths=0.4,
            label=f"class {label}",
            zorder=3,
        )
    rings = ax.scatter(
        [], [], s=110, facecolors="none", edgecolors="black", linewidths=1.2, zorder=4
    )
    note = ax.text(
        0.97,
        0.03,
        "",
        transform=ax.transAxes,
        ha="right",
        fontsize=9,
        zorder=5,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
    )
    handles = [
        mpl.lines.Line2D([], [], color=TRAIL, ls="--", lw=1, label="earlier epochs"),
        mpl.lines.Line2D([], [], color="black", lw=2, label="the line now"),
        *ax.get_legend_handles_labels()[0],
        mpl.lines.Line2D(
            [], [], ls="none", marker="o", ms=10, mfc="none", mec="black", label="misclassified"
        ),
    ]
    ax.legend(handles=handles, loc="upper left", fontsize=8)
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xlabel="x1", ylabel="x2")
    ax.set_title(" ")
    fig.canvas.draw()
    fig.set_layout_engine("none")
    sides = []

    def update(i):
        e = int(shown[i])
        params = {"w": jnp.asarray(hist.w[e]), "b": jnp.asarray(hist.b[e])}
        wrong = np.asarray(_predict(params, x)) != y
        for j, artist in enumerate(trail):
            artist.set_visible(i - TRAIL_FRAMES <= j < i)
        now.set_data(*line(e))
        rings.set_offsets(x[wrong] if wrong.any() else np.empty((0, 2)))
        # the two sides of the line: the score is linear, so its 0-contour is exact
        while sides:
            sides.pop().remove()
        score = hist.w[e, 0] * g0 + hist.w[e, 1] * g1 + hist.b[e]
        sides.append(
            ax.contourf(
                g0,
                g1,
                score,
                levels=[-np.inf, 0, np.inf],
                colors=[plotting.BLUE, plotting.RED],
                alpha=0.12,
                zorder=0,
            )
        )
        scores = corners @ hist.w[e] + hist.b[e]
        outside = np.all(scores >= 0) or np.all(scores < 0)
        side = "red" if scores[0] >= 0 else "blue"
        note.set_text(f"the line is out of view: every point on its {side} side" if outside else "")
        note.set_visible(outside)
        done = ": the line stops" if not wrong.any() else ""
        start = " (the random start)" if e == 0 else ""
        ax.set_title(f"Epoch {e}{start}: {int(wrong.sum())} misclassified{done}")

    return plotting.save_animation(fig, update, len(shown), out_dir, name, caption, fps=GIF_FPS)


def verdicts(m: dict) -> list[Claim]:
    return [
        check(
            "One update on a misclassified point is w ± a x, b ± a",
            m["single_update_max_abs_error"],
            "<=",
            1e-6,
            quantity="largest difference from the course's formula, in w and b",
        ),
        check(
            "On blobs a line can separate, the trick reaches 100% training accuracy",
            m["blobs_first_epoch_at_100pct"],
            "<=",
            m["epochs_budget"],
            quantity="epochs until every point is on its own side (NaN if not within the budget)",
            unit="epochs",
        ),
        check(
            "Once the line separates the blobs, it stops moving",
            m["blobs_updates_after_100pct"],
            "<=",
            0,
            quantity="updates made after that epoch",
            unit="updates",
        ),
        check(
            "The trick makes no more updates than Novikoff's bound allows",
            m["blobs_total_updates"] - m["blobs_novikoff_bound"],
            "<=",
            0,
            quantity="total updates on the blobs minus Novikoff's bound for the starting line",
            unit="updates",
        ),
        check(
            "On the course's 100 points, which no line separates, it never reaches 100%",
            m["course_best_accuracy"],
            "<",
            1.0,
            quantity="best training accuracy over all epochs",
        ),
        check(
            "On the course's points the line keeps moving in every epoch",
            m["course_fewest_updates_in_an_epoch"],
            ">=",
            1,
            quantity="fewest updates made in one epoch",
        ),
    ]


COUNTEREXAMPLE = {
    "epochs_budget": 100,
    "single_update_max_abs_error": 0.01,
    "blobs_first_epoch_at_100pct": float("nan"),
    "blobs_updates_after_100pct": 3,
    "blobs_total_updates": 500,
    "blobs_novikoff_bound": 400.0,
    "course_best_accuracy": 1.0,
    "course_fewest_updates_in_an_epoch": 0,
}

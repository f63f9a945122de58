"""Lesson 1: linear boundaries and the perceptron that draws them.

    python -m experiments run 1

A perceptron scores ``w·x + b`` and predicts ``step(score)``: 1 where the score is
>= 0, else 0, so its boundary is the line ``w·x + b = 0``. This lesson checks that
``jaxnn.perceptron_predict`` is exactly that rule (points on the line included),
that the line ``x1 + x2 = 0`` separates ``jaxnn.data.make_blobs`` (accuracy 1), and
that no line separates the course's 100 points: an exact scan over every distinct
way a line can split them finds the best line, and its accuracy is below 1.
Every seed draws its own blobs (all seeds in one compiled program); the course's
points are the same at every seed, so their best line is found once.
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Figure, Outcome, check, outcome

LESSON = 1
TITLE = "linear boundaries: the perceptron's line w·x + b = 0"
STATEMENT = (
    "A neural network draws a line between red and blue points. A perceptron computes the "
    "score w·x + b = w1 x1 + w2 x2 + b and predicts 1 where the score is >= 0 (points on the "
    "line are accepted, by convention) and 0 where it is < 0, so its boundary is the line "
    "w·x + b = 0. Some sets of points no straight line can separate."
)

N_BLOBS = 200  # enough points to fill both blobs around the line in the figure
BLOB_NOISE = 0.75  # wide blobs, so that many points lie close to the line (a real test)
BLOB_LINE = {"w": (1.0, 1.0), "b": 0.0}  # make_blobs' documented separator x1 + x2 = 0
N_ON_LINE = 101  # points (t, -t) on that line: score exactly 0, so step says class 1


# One compiled program each, instead of one per primitive (eagerly, make_blobs alone
# costs seconds of small compilations).
_predict = jax.jit(jaxnn.perceptron_predict)


def _best_line(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, float]:
    """The highest accuracy of any line ``u·x = t`` (predict 1 where u·x >= t), exactly.

    Which side of a line each point falls on changes with the line's direction u only
    where u turns perpendicular to ``x_i - x_j``; between two such critical angles the
    order of the projections ``u·x`` is fixed, so one direction per interval, with
    every threshold between consecutive projections, covers every split a line can
    make (both orientations, as the angle runs round the whole circle). Only pairs of
    opposite labels matter: swapping two points of one class changes no accuracy.
    """
    i, j = np.nonzero(y[:, None] != y[None, :])
    d = x[i] - x[j]
    crit = np.arctan2(d[:, 1], d[:, 0]) + np.pi / 2
    crit = np.sort(np.concatenate([crit, crit + np.pi]) % (2 * np.pi))
    mids = (crit + np.diff(np.concatenate([crit, crit[:1] + 2 * np.pi])) / 2) % (2 * np.pi)
    u = np.stack([np.cos(mids), np.sin(mids)], 1)  # (A, 2)
    proj = u @ x.T  # (A, n)
    order = np.argsort(proj, 1)
    ys = y[order]
    # threshold after the k smallest projections: the k below are class 0, the rest 1
    zeros_below = np.concatenate([np.zeros((len(u), 1)), np.cumsum(ys == 0, 1)], 1)
    ones_above = np.concatenate(
        [np.cumsum((ys == 1)[:, ::-1], 1)[:, ::-1], np.zeros((len(u), 1))], 1
    )
    correct = zeros_below + ones_above  # (A, n + 1)
    a, k = np.unravel_index(np.argmax(correct), correct.shape)
    p = np.take_along_axis(proj, order, 1)[a]
    lo = p[k - 1] if k > 0 else p[0] - 1.0
    hi = p[k] if k < len(p) else p[-1] + 1.0
    return float(correct[a, k] / len(y)), u[a], float((lo + hi) / 2)


def _draw_line(ax, params, label: str) -> None:
    """The exact line w·x + b = 0 across the axes (the contour of a step is jagged)."""
    (w1, w2), b = np.asarray(params["w"], np.float64), float(params["b"])
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    t = np.linspace(*xlim, 2) if abs(w2) >= abs(w1) else np.linspace(*ylim, 2)
    if abs(w2) >= abs(w1):
        ax.plot(t, -(w1 * t + b) / w2, color="black", lw=1.5, label=label)
    else:
        ax.plot(-(w2 * t + b) / w1, t, color="black", lw=1.5, label=label)
    ax.set(xlim=xlim, ylim=ylim)


def _sides(ax, params, x, *, margin: float = 0.5, res: int = 300) -> None:
    """Shade the two sides of the line over the box around ``x``: light red where the
    perceptron predicts 1, light blue where it predicts 0 (its output is 0 or 1)."""
    x = np.asarray(x)
    lo, hi = x.min(0) - margin, x.max(0) + margin
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], res), np.linspace(lo[1], hi[1], res))
    grid = np.stack([g0.ravel(), g1.ravel()], 1).astype(np.float32)
    pred = np.asarray(_predict(params, grid)).reshape(g0.shape)
    ax.contourf(
        g0, g1, pred, levels=[-0.5, 0.5, 1.5], colors=[plotting.BLUE, plotting.RED], alpha=0.18
    )
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]))


def _equation(params) -> str:
    """``w1 x1 + w2 x2 + b = 0`` with two decimals, signs written as a person would."""
    (w1, w2), b = np.asarray(params["w"], np.float64), float(params["b"])
    s2, sb = ("-" if v < 0 else "+" for v in (w2, b))
    return f"{w1:.2f} x1 {s2} {abs(w2):.2f} x2 {sb} {abs(b):.2f} = 0"


def _line() -> dict[str, jax.Array]:
    return {k: jnp.asarray(v, jnp.float32) for k, v in BLOB_LINE.items()}


@jax.jit
def _blobs(keys: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Every seed's blobs and the line's predictions on them, as one program (the seeds
    one after the other, so that a seed gives bitwise the same numbers alone or among
    others)."""

    def one(key):
        x, y = jaxnn.data.make_blobs(key, N_BLOBS, noise=BLOB_NOISE)
        return x, y, jaxnn.perceptron_predict(_line(), x)

    return jax.lax.map(one, keys)


def _by_hand(x: np.ndarray) -> np.ndarray:
    """The course's rule written out: 1 where w1 x1 + w2 x2 + b >= 0, else 0."""
    xs = np.asarray(x, np.float64)
    (w1, w2), b = BLOB_LINE["w"], BLOB_LINE["b"]
    return (w1 * xs[..., 0] + w2 * xs[..., 1] + b >= 0).astype(np.float32)


def _course() -> dict:
    """What does not depend on the seed: the course's points, their best line, and the
    points on the line x1 + x2 = 0 (computed once for all seeds)."""
    line = _line()
    xc, yc = jaxnn.data.load_course_points()
    t = jnp.linspace(-3.0, 3.0, N_ON_LINE)
    on_line = jnp.stack([t, -t], 1)
    xcn, ycn = np.asarray(xc, np.float64), np.asarray(yc)
    best_acc, u, thr = _best_line(xcn, ycn)
    best = {"w": jnp.asarray(u, jnp.float32), "b": jnp.asarray(-thr, jnp.float32)}
    best_pred = np.asarray(_predict(best, xc))
    return {
        "x": xcn,
        "y": ycn,
        "hand_mismatches": int(np.sum(np.asarray(_predict(line, xc)) != _by_hand(xc))),
        "max_abs_score_on_line": float(jnp.max(jnp.abs(jaxnn.perceptron_score(line, on_line)))),
        "on_line_class1": float(jnp.mean(_predict(line, on_line))),
        "best_acc": best_acc,
        "best": best,
        "best_u": u,
        "best_b": -thr,
        "best_pred": best_pred,
    }


def run_seeds(keys: jax.Array, out_dir: str | None, *, quick: bool = False) -> list[Outcome]:
    del quick  # everything here takes well under a second
    xb, yb, pred = (np.asarray(a) for a in _blobs(keys))
    c = _course()
    outcomes = []
    for i in range(len(keys)):
        blob_acc = float(np.mean(pred[i] == yb[i]))
        metrics = {
            "blob_points": N_BLOBS,
            "blob_line_accuracy": blob_acc,
            # perceptron_predict against the course's rule written out by hand
            "hand_rule_mismatches": int(np.sum(pred[i] != _by_hand(xb[i]))) + c["hand_mismatches"],
            "max_abs_score_on_line": c["max_abs_score_on_line"],
            "on_line_predicted_class1_fraction": c["on_line_class1"],
            "course_points": len(c["y"]),
            "course_best_line_accuracy": c["best_acc"],
            "course_best_line_accuracy_recomputed": float(np.mean(c["best_pred"] == c["y"])),
            "course_best_line_w": [float(c["best_u"][0]), float(c["best_u"][1])],
            "course_best_line_b": c["best_b"],
        }
        figures = [
            _figure(
                out_dir if i == 0 else None,
                xb[i],
                yb[i],
                _line(),
                blob_acc,
                c["x"],
                c["y"],
                c["best"],
                c["best_acc"],
                c["best_pred"],
            )
        ]
        outcomes.append(outcome(sys.modules[__name__], metrics, figures))
    return outcomes


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    return run_seeds(key[None], out_dir, quick=quick)[0]


def _figure(out_dir, xb, yb, line, blob_acc, xc, yc, best, best_acc, best_pred) -> Figure:
    name = "boundary_lines.png"
    wrong = best_pred != yc
    caption = (
        "Red points are class 1, blue points class 0; the black line w·x + b = 0 splits the "
        "plane into the side the perceptron calls 1 (shaded red) and the side it calls 0 "
        "(shaded blue). Left: x1 + x2 = 0 puts every blob point on its own side; right: even "
        f"the best line leaves {int(wrong.sum())} of the course's points on the wrong side "
        "(circled)."
    )
    if out_dir is None:
        return Figure(name, caption)
    fig, axes = plotting.figure(2)
    panels = (
        (xb, yb, line, "x1 + x2 = 0", f"make_blobs: the line x1 + x2 = 0, accuracy {blob_acc:.3f}"),
        (xc, yc, best, _equation(best), f"course points: the best line, accuracy {best_acc:.2f}"),
    )
    for ax, (x, y, params, label, title) in zip(axes, panels, strict=True):
        _sides(ax, params, x)
        plotting.points(ax, x, y)
        _draw_line(ax, params, label)
        ax.set_title(title, fontsize=10)
    axes[1].scatter(
        *xc[wrong].T, s=70, facecolors="none", edgecolors="black", label="misclassified"
    )
    for ax in axes:
        ax.legend(loc="best", fontsize=8)
    fig.suptitle("A perceptron predicts step(w·x + b); its boundary is the line w·x + b = 0")
    return plotting.save(fig, out_dir, name, caption)


def verdicts(m: dict) -> list[Claim]:
    return [
        check(
            "The perceptron predicts step(w·x + b), exactly the rule written out by hand",
            m["hand_rule_mismatches"],
            "<=",
            0,
            quantity="points where jaxnn.perceptron_predict and the hand-written rule disagree",
        ),
        check(
            "Points on the line itself (score 0) are accepted as class 1",
            m["on_line_predicted_class1_fraction"],
            ">=",
            1.0,
            quantity="fraction of 101 points on the line x1 + x2 = 0 predicted class 1",
        ),
        check(
            "The line x1 + x2 = 0 separates the two blobs",
            m["blob_line_accuracy"],
            ">=",
            1.0,
            quantity="accuracy of that line on the 200 blob points",
        ),
        check(
            "No line separates the course's 100 points",
            m["course_best_line_accuracy"],
            "<",
            1.0,
            quantity="accuracy of the best line, found by trying every split a line can make",
        ),
    ]


COUNTEREXAMPLE = {
    "hand_rule_mismatches": 4,
    "on_line_predicted_class1_fraction": 0.0,
    "blob_line_accuracy": 0.97,
    "course_best_line_accuracy": 1.0,
}

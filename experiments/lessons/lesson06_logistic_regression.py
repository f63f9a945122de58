"""Lesson 6: logistic regression by gradient descent.

    python -m experiments run 6

On the course's 100 points, the course's update rule written out by hand
(``w <- w + a mean((y - y_hat) x)``, ``b <- b + a mean(y - y_hat)``, full batch)
moves the boundary epoch by epoch while the loss falls (a figure, and an animated
GIF of the boundary over the probability contours). On the breast-cancer data
(569 cases cut into 341 training, 114 validation and 114 test cases, standardised
with the training part's statistics), ``MLP((30, 1))`` with an L2 penalty minimises
scikit-learn's objective: ``0.5 |w|^2 + C sum CE_i`` divided by ``C n`` is
``mean CE + l2 |w|^2`` with ``l2 = 1 / (2 C n_train)``. One fit per C of a grid
(full-batch gradient descent, the pure parts of ``jaxnn.fit``) and C picked by
validation loss; the loss falls, the test accuracy is reported (a claim about a
typical split: its median over the seeds), every member lands on scikit-learn's
coefficients, and the same rule by hand (with the L2 term's gradient) from the same
start gives the chosen member's params. Every seed (its own split and start) is
trained in one compiled program (``run_seeds``).
"""

from __future__ import annotations

import functools
import sys

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.linear_model import LogisticRegression

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check, outcome

LESSON = 6
TITLE = "logistic regression by gradient descent"
STATEMENT = (
    "Logistic regression minimises the average cross-entropy E(W, b) by gradient descent: "
    "each epoch moves every weight by w_j <- w_j + a (y - y_hat) x_j and the bias by "
    "b <- b + a (y - y_hat), averaged over the points. The loss falls epoch by epoch, the "
    "boundary w·x + b = 0 settles, and it lands on the same optimum as an independent "
    "solver (scikit-learn's LogisticRegression)."
)

# course points: full-batch descent on points in [0, 1]^2, where the cost is flat
COURSE_RATE = 5.0  # stable (the loss falls every epoch) and converges within the epochs
COURSE_EPOCHS = (300, 1000)  # quick / full
SNAPSHOTS = (0, 1, 3, 10, 30, 100, 300, 1000)  # epochs whose boundary the figure draws
# breast cancer
# scikit-learn's C grid (quick / full), C picked by validation loss; the quick grid leaves
# out C = 3, which needs the full run's epochs to converge (gradient descent is slow on
# the weakly regularised, ill-conditioned problem)
CS = ((0.1, 0.3, 1.0), (0.01, 0.03, 0.1, 0.3, 1.0, 3.0))
BC_RATE = 1.0  # stable for every C of the grid (2.0 oscillates at C = 0.01)
BC_EPOCHS = (2000, 10000)  # quick / full: enough for the least regularised C to converge
# The expectation for the breast-cancer test set, about a typical split: the test
# set holds 114 cases (one case = 0.0088), so at a true accuracy of 0.97 one split's
# accuracy has a standard deviation of sqrt(0.97 x 0.03 / 114) = 0.016, and 6 errors
# (0.947) are drawn at about 1 split in 10. The claim is decided by the median over seeds.
TEST_ACCURACY = 0.95
COEF_TOL = 1e-2  # max |w_jaxnn - w_sklearn|: the same optimum (coefficients are O(1))
SAME_RULE_TOL = 1e-5  # hand-written rule vs jaxnn.fit: float32 rounding only
RISE_TOL = 1e-5  # a rise of the loss smaller than this (relative) is float32 rounding


def _course_rule(key, x, y, rate, l2, epochs, *, trace=True):
    """The course's update rule, full batch, with the L2 term's gradient 2 l2 w:
    ``w <- w + a (mean((y - y_hat) x) - 2 l2 w)``, ``b <- b + a mean(y - y_hat)``,
    from ``MLP((d, 1)).init(fold_in(key, 0))``, the start ``jaxnn.fit(key, ...)`` takes
    (see jaxnn.training). Returns (w, b) after each epoch, (epochs + 1, d + 1), or with
    ``trace=False`` the last one only, (d + 1,). Pure: traced inside run_seeds' program."""
    start = jaxnn.MLP((x.shape[1], 1)).init(jax.random.fold_in(key, 0))
    w, b = start[0]["w"][:, 0], start[0]["b"][0]

    def epoch(carry, _):
        w, b = carry
        err = y - jaxnn.sigmoid(x @ w + b)  # y - y_hat
        w = w + rate * (jnp.mean(err[:, None] * x, axis=0) - 2 * l2 * w)
        b = b + rate * jnp.mean(err)
        return (w, b), (jnp.concatenate([w, b[None]]) if trace else None)

    (w, b), steps = jax.lax.scan(epoch, (w, b), None, length=epochs)
    if not trace:
        return jnp.concatenate([w, b[None]])
    return jnp.concatenate([jnp.concatenate([start[0]["w"][:, 0], start[0]["b"]])[None], steps])


def _prepare(key, x, y):
    """Split (341 training, 114 validation, 114 test cases), then standardise every
    part with the training part's mean and standard deviation."""
    train, val, test = jaxnn.data.train_val_test_split(key, x, y)
    scaler = jaxnn.data.Standardizer.fit(train[0])
    return [(scaler.transform(a), b.astype(jnp.float32)) for a, b in (train, val, test)]


BC_NET = jaxnn.MLP((30, 1))  # no hidden layer: logistic regression on the 30 features


def _fit(key, config, plan, train, val):
    """``jaxnn.fit(key, BC_NET, train, val, config)``'s state at the end, from its pure
    parts (``init_state``, ``loop_layout``, ``epoch_step``), to be vmapped over C and
    seeds. The epochs run as a loop of fixed length (a fit stopped by divergence keeps
    its state: ``epoch_step``'s ``active``), not as ``run_epochs``' while loop: vmapped
    over seeds, a while loop would copy every member's whole history at every epoch."""
    tr = jaxnn.training
    state = tr.init_state(key, BC_NET, config, plan)
    state, train, val = tr.loop_layout(state, train, val, plan)

    def epoch(_, st):
        return tr.epoch_step(st, BC_NET, config, plan, train, val, None, ~st.stopped)

    return jax.lax.fori_loop(0, config.epochs, epoch, state)


def _one_seed(key, xc, yc, xb, yb, *, mode):
    """One seed's training, traced: the course's rule on the course's points; the
    breast-cancer split; one fit per C of the grid (:func:`_fit`, vmapped over C
    and, in :func:`_program`, over seeds); C chosen on the final validation loss; and
    the hand-written rule at that C from the same start."""
    course = _course_rule(key, xc, yc, COURSE_RATE, 0.0, COURSE_EPOCHS[mode])
    train, val, test = _prepare(jax.random.fold_in(key, 1), xb, yb)
    n_train = train[0].shape[0]
    l2s = [1.0 / (2.0 * c * n_train) for c in CS[mode]]
    # restart 0 of a jaxnn.sweep over the Cs with key fold_in(key, 2): every C starts
    # from the same params
    fit_key = jax.random.fold_in(jax.random.fold_in(key, 2), 0)
    config = jaxnn.FitConfig(
        learning_rate=BC_RATE, epochs=BC_EPOCHS[mode], train_metrics="end_of_epoch", l2=l2s[0]
    )
    plan = jaxnn.training.make_plan(config, n_train, True, BC_NET)

    def fit(l2):
        cf = config.replace(l2=l2)
        return jaxnn.training.result_from_state(_fit(fit_key, cf, plan, train, val))

    l2s = jnp.asarray(l2s, jnp.float32)
    res = jax.vmap(fit)(l2s)
    val_loss = res.history.val_loss  # (C, epochs)
    best = jnp.argmin(val_loss[:, -1])
    rule = _course_rule(fit_key, *train, BC_RATE, l2s[best], BC_EPOCHS[mode], trace=False)
    return {
        "course_trace": course,
        "train": train,
        "test": test,
        "w": res.params[0]["w"][..., 0],  # (C, 30)
        "b": res.params[0]["b"][..., 0],  # (C,)
        "train_loss": res.history.train_loss,
        "val_loss": val_loss,
        "rule": rule,
    }


SEED_BLOCK = 4  # seeds vmapped together; blocks run one after another (see _program)


@functools.partial(jax.jit, static_argnames="mode")
def _program(keys, xc, yc, xb, yb, *, mode):
    """Every seed's training (:func:`_one_seed`) as one compiled program: vmapped over
    blocks of :data:`SEED_BLOCK` seeds, the blocks one after another (``lax.map``), the
    last block padded with copies of the last key. Every seed is computed by the same
    block program however many seeds run, so a seed alone gives bitwise the numbers
    it gives among others (XLA's batched matmuls round differently for 1 and 20
    seeds: 1e-7 in the weights, which the rounding-level metrics would show)."""
    one = jax.vmap(functools.partial(_one_seed, mode=mode), in_axes=(0, None, None, None, None))
    n = keys.shape[0]
    pad = -n % SEED_BLOCK
    keys = jnp.concatenate([keys, jnp.repeat(keys[-1:], pad, axis=0)])
    out = jax.lax.map(lambda k: one(k, xc, yc, xb, yb), keys.reshape(-1, SEED_BLOCK))
    return jax.tree.map(lambda a: a.reshape(-1, *a.shape[2:])[:n], out)


def _mean_ce(x, y, trace):
    """Mean CE (float64 NumPy) of each row (w, b) of ``trace``: (rows,)."""
    z = np.asarray(x, np.float64) @ trace[:, :-1].T + trace[:, -1]
    return np.mean(np.logaddexp(0, z) - np.asarray(y, np.float64)[:, None] * z, axis=0)


def _max_rise(losses) -> float:
    """Largest relative rise of a loss curve from one epoch to the next."""
    h = np.asarray(losses, np.float64)
    h = h[np.isfinite(h)]
    return float(max(0.0, np.max((h[1:] - h[:-1]) / h[:-1])))


def run_seeds(keys: jax.Array, out_dir: str | None, *, quick: bool = False) -> list[Outcome]:
    """Every seed of ``keys`` at once (one compiled program), figures at ``keys[0]``."""
    mode = 0 if quick else 1
    x, y = jaxnn.data.load_course_points()
    xb, yb = jaxnn.data.load_breast_cancer()
    out = jax.device_get(_program(keys, x, y.astype(jnp.float32), xb, yb, mode=mode))
    x, y = np.asarray(x), np.asarray(y)
    return [
        _outcome(x, y, jax.tree.map(lambda a, i=i: a[i], out), out_dir if i == 0 else None, mode)
        for i in range(len(keys))
    ]


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    return run_seeds(key[None], out_dir, quick=quick)[0]


def _outcome(x, y, o, out_dir, mode) -> Outcome:
    """One seed's numbers from its part of the program's output (NumPy, float64)."""
    m = {}
    # -- the course's points: the update rule, epoch by epoch -----------------
    trace = np.asarray(o["course_trace"], np.float64)
    epochs = COURSE_EPOCHS[mode]
    course_loss = _mean_ce(x, y, trace)
    m["course_loss_first"] = float(course_loss[0])
    m["course_loss_last"] = float(course_loss[-1])
    m["course_loss_max_rise"] = _max_rise(course_loss)
    m["course_accuracy"] = float(np.mean(((x @ trace[-1, :2] + trace[-1, 2]) >= 0) == (y == 1)))
    snaps = [e for e in SNAPSHOTS if e <= epochs]
    m["course_snapshot_epochs"] = snaps
    m["course_snapshot_params"] = [[round(float(v), 4) for v in trace[e]] for e in snaps]

    # -- breast cancer: one fit per C, C chosen on the validation loss ----------
    cs = CS[mode]
    train, test = o["train"], o["test"]
    n_train = int(train[0].shape[0])
    l2s = [1.0 / (2.0 * c * n_train) for c in cs]
    val_final = np.asarray(o["val_loss"])[:, -1]
    best = int(np.argmin(val_final))
    w_all, b_all = np.asarray(o["w"]), np.asarray(o["b"])  # (C, 30), (C,)
    fitted = np.concatenate([w_all[best], b_all[best : best + 1]])
    z_test = np.asarray(test[0], np.float64) @ w_all[best] + b_all[best]
    test_wrong = int(np.sum((z_test >= 0) != (test[1] == 1)))
    test_acc = (len(z_test) - test_wrong) / len(z_test)
    # scikit-learn: 0.5 |w|^2 + C sum CE = C n (mean CE + l2 |w|^2) with l2 = 1/(2 C n);
    # Newton's method (solver="newton-cholesky") reaches the optimum to float64 precision
    # in about 10 steps (L-BFGS stops about 1e-6 short of it, 50 times slower)
    xt64, yt = np.asarray(train[0], np.float64), np.asarray(train[1])
    coef_diffs, sk_test_acc, sk_coefs = [], None, []
    for i, c in enumerate(cs):
        sk = LogisticRegression(C=c, tol=1e-10, max_iter=1000, solver="newton-cholesky")
        sk.fit(xt64, yt)
        diff = max(np.max(np.abs(w_all[i] - sk.coef_[0])), abs(b_all[i] - sk.intercept_[0]))
        coef_diffs.append(float(diff))
        sk_coefs.append(sk.coef_[0])
        if i == best:
            sk_test_acc = float(sk.score(np.asarray(test[0], np.float64), np.asarray(test[1])))
    train_loss = np.asarray(o["train_loss"])[best]
    m.update(
        bc_n_train=n_train,
        bc_n_test=int(test[0].shape[0]),
        bc_C_grid=list(cs),
        bc_val_loss_per_C=[round(float(v), 5) for v in val_final],
        bc_C_chosen=cs[best],
        bc_l2_chosen=l2s[best],
        bc_train_loss_first=float(train_loss[0]),
        bc_train_loss_last=float(train_loss[-1]),
        bc_train_loss_max_rise=_max_rise(train_loss),
        bc_rule_vs_fit_max_abs_diff=float(np.max(np.abs(np.asarray(o["rule"]) - fitted))),
        bc_test_accuracy=float(test_acc),
        bc_test_errors=test_wrong,
        bc_sklearn_test_accuracy=sk_test_acc,
        bc_coef_max_abs_diff_chosen=coef_diffs[best],
        bc_coef_max_abs_diff_per_C=[float(f"{d:.3g}") for d in coef_diffs],
        bc_coef_max_abs_diff_all=float(max(coef_diffs)),
        bc_sklearn_coef_max_abs=float(np.max(np.abs(sk_coefs[best]))),
    )
    figures = []
    if out_dir is not None:  # another seed: draw nothing
        losses = (train_loss, np.asarray(o["val_loss"])[best])
        figures = [
            _boundary_figure(out_dir, x, y, trace, snaps),
            _loss_figure(out_dir, course_loss, losses, m),
            _coef_figure(out_dir, w_all, sk_coefs, cs, best, m),
            _animation(out_dir, x, y, trace, course_loss),
        ]
    return outcome(sys.modules[__name__], m, figures)


def _box(x, margin=0.5):
    """The view around the points: (x1 range, x2 range), as plotting's contours use."""
    lo, hi = np.min(x, 0) - margin, np.max(x, 0) + margin
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def _segment(w1, w2, b, box):
    """The part of the line w1 x1 + w2 x2 + b = 0 inside ``box``, as ([x1, x1'], [x2, x2']),
    or None if the line misses the box (it lies off the picture)."""
    (x0, x1), (y0, y1) = box
    pts = []
    if w2 != 0:
        pts += [(x, -(w1 * x + b) / w2) for x in (x0, x1)]
    if w1 != 0:
        pts += [(-(w2 * y + b) / w1, y) for y in (y0, y1)]
    eps = 1e-9 * max(x1 - x0, y1 - y0)
    pts = [p for p in pts if x0 - eps <= p[0] <= x1 + eps and y0 - eps <= p[1] <= y1 + eps]
    if len(pts) < 2:
        return None
    a, c = max(((p, q) for p in pts for q in pts), key=lambda pq: np.hypot(*np.subtract(*pq)))
    if np.hypot(*np.subtract(a, c)) <= eps:
        return None  # touches a corner only
    return [a[0], c[0]], [a[1], c[1]]


def _epochs_text(epochs) -> str:
    epochs = list(epochs)
    if len(epochs) == 1:
        return f"epoch {epochs[0]}"
    return "epochs " + ", ".join(map(str, epochs[:-1])) + f" and {epochs[-1]}"


def _boundary_figure(out_dir, x, y, trace, snaps):
    fig, ax = plotting.figure(width=6.8, height=5.0)
    box = _box(x)
    plotting.points(ax, x, y, size=16)
    # earlier epochs lighter, the last one black, as the course's notebooks draw them
    shades = plotting.plt.cm.Greens(np.linspace(0.3, 0.85, len(snaps) - 1))
    off = []
    for k, e in enumerate(snaps):
        seg = _segment(*trace[e], box)
        if seg is None:
            off.append(e)
            continue
        last = k == len(snaps) - 1
        ax.plot(
            *seg,
            color="black" if last else shades[k],
            lw=2.2 if last else 1.4,
            ls="-" if last else "--",
            label=f"epoch {e}" + (" (last)" if last else ""),
        )
    ax.set(xlim=box[0], ylim=box[1])
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    title = "Course's points: the boundary w·x + b = 0 after each epoch"
    if off:
        title += f"\n({_epochs_text(off)}: the line lies outside this view)"
    ax.set_title(title, fontsize=10)
    caption = (
        "The boundary line of logistic regression on the course's points after the epochs "
        "named in the legend: dashed green, lighter for earlier epochs, and black after the "
        "last one. The line swings in over the first few epochs, then barely moves between "
        "the red and the blue points."
    )
    if off:
        caption += f" The line of {_epochs_text(off)} lies outside the view, so it is not drawn."
    return plotting.save(fig, out_dir, "boundary_converging.png", caption)


def _plain_log_x(ax):
    """Log-scaled epochs labelled as plain numbers (1, 10, 100, 1000)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(plotting.plt.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(plotting.plt.NullFormatter())


def _loss_figure(out_dir, course_loss, losses, m):
    fig, (a, b) = plotting.figure(2)
    ep = np.arange(len(course_loss))
    a.plot(ep[1:], course_loss[1:], color="black", label="mean cross-entropy")
    _plain_log_x(a)
    a.set(
        ylim=(0, None),
        xlabel="epoch (log scale)",
        ylabel="training loss (mean cross-entropy)",
        title=f"Course's points, learning rate {COURSE_RATE:g}, all points per step",
    )
    a.legend()
    tl, vl = losses  # at the chosen C
    e = np.arange(1, len(tl) + 1)
    b.plot(e, tl, color="black", label="training")
    b.plot(e, vl, color="tab:orange", label="validation")
    _plain_log_x(b)
    b.set(
        ylim=(0, None),
        xlabel="epoch (log scale)",
        ylabel="mean cross-entropy (without the L2 penalty)",
        title=f"Breast cancer, C = {m['bc_C_chosen']:g}: test accuracy {m['bc_test_accuracy']:.3f}",
    )
    b.legend()
    fig.suptitle("Gradient descent: the loss falls")
    caption = (
        "The mean cross-entropy after each epoch of gradient descent (epochs on a log scale): "
        "left, on the course's points; right, on the breast-cancer data for the C chosen on "
        "the validation set, the training loss (black) and the validation loss (orange). "
        "The training loss falls at every epoch."
    )
    return plotting.save(fig, out_dir, "loss_curves.png", caption)


def _coef_figure(out_dir, w_all, sk_coefs, cs, best, m):
    fig, ax = plotting.figure(width=5.5, height=5.0)
    lim = max(np.max(np.abs(w_all)), max(np.max(np.abs(c)) for c in sk_coefs)) * 1.05
    ax.plot([-lim, lim], [-lim, lim], color="grey", lw=0.8, label="same value (y = x)")
    cols = plotting.plt.cm.viridis(np.linspace(0, 0.9, len(cs)))
    for i, (c, col) in enumerate(zip(cs, cols, strict=True)):
        ax.scatter(
            sk_coefs[i],
            w_all[i],
            s=14 if i == best else 8,
            color=col,
            label=f"C = {c:g}" + (" (chosen)" if i == best else ""),
        )
    diff = np.format_float_positional(m["bc_coef_max_abs_diff_all"], precision=2, fractional=False)
    ax.set(
        xlabel="weight found by scikit-learn's LogisticRegression",
        ylabel="weight found by jaxnn.fit (l2 = 1 / (2 C n))",
        title=f"Breast cancer: the same 30 weights\n(largest difference {diff})",
    )
    ax.legend(fontsize=8)
    caption = (
        "Each dot is one of the 30 weights of logistic regression on the breast-cancer data, "
        "for each C of the grid (colours): the weight scikit-learn finds against the one "
        "gradient descent with jaxnn.fit finds. Every dot lies on the grey line y = x: both "
        "reach the same optimum."
    )
    return plotting.save(fig, out_dir, "same_optimum_as_sklearn.png", caption)


ANIMATION_FRAMES = 24  # log-spaced epochs: the early ones move most


def _animation(out_dir, x, y, trace, loss):
    """The boundary after each of ~30 log-spaced epochs over the course's points, on its
    probability contours; earlier epochs' lines stay, lighter the older they are."""
    epochs = len(trace) - 1
    shown = np.unique(np.round(np.geomspace(1, epochs + 1, ANIMATION_FRAMES)).astype(int) - 1)
    box = _box(x)
    fig, ax = plotting.figure(width=5.0, height=4.2)
    g0, g1 = np.meshgrid(np.linspace(*box[0], 80), np.linspace(*box[1], 80))
    grid = np.stack([g0.ravel(), g1.ravel()], 1)
    levels = np.linspace(0, 1, 6)
    state = {"fill": None, "lines": []}

    def contours(e):
        p = 1 / (1 + np.exp(-(grid @ trace[e, :2] + trace[e, 2]))).reshape(g0.shape)
        return ax.contourf(g0, g1, p, levels=levels, cmap="RdBu_r", alpha=0.45, zorder=0)

    state["fill"] = contours(shown[0])
    fig.colorbar(state["fill"], ax=ax, label="P(class 1)")
    plotting.points(ax, x, y, size=16)
    ax.set(xlim=box[0], ylim=box[1])

    def update(i):
        e = shown[i]
        state["fill"].remove()
        state["fill"] = contours(e)
        for line in state["lines"]:
            line.remove()
        state["lines"] = []
        for k in range(i + 1):  # older lines lighter, the current one black
            seg = _segment(*trace[shown[k]], box)
            if seg is None:
                continue
            now = k == i
            (line,) = ax.plot(
                *seg,
                color="black" if now else "darkgreen",
                lw=2.2 if now else 1.0,
                alpha=1.0 if now else 0.3 + 0.5 * k / len(shown),
                ls="-" if now else "--",
            )
            state["lines"].append(line)
        off = _segment(*trace[e], box) is None
        ax.set_title(
            f"Logistic regression by gradient descent, epoch {e}\n"
            f"mean cross-entropy {loss[e]:.3f}"
            + (" (the line lies outside this view)" if off else ""),
            fontsize=10,
        )

    caption = (
        "Gradient descent on the course's points, epoch by epoch (more epochs per frame as "
        "it slows down): the black line is the boundary after the epoch in the title, over "
        "its probability of class 1 (red above 0.6, blue below 0.4); dashed dark green lines "
        "are the boundaries of earlier frames, lighter the older. The line swings in within "
        "a few epochs; after that the loss keeps falling as the probabilities sharpen."
    )
    return plotting.save_animation(
        fig, update, len(shown), out_dir, "gradient_descent.gif", caption, fps=5
    )


def verdicts(m: dict) -> list[Claim]:
    return [
        check(
            "On the course's points, gradient descent lowers the loss",
            m["course_loss_last"] / m["course_loss_first"],
            "<",
            1.0,
            quantity="mean cross-entropy after the last epoch divided by that before the first",
        ),
        check(
            "On the course's points, the loss falls at every epoch",
            m["course_loss_max_rise"],
            "<=",
            RISE_TOL,
            quantity="largest rise of the loss from one epoch to the next, as a fraction of "
            "the loss (rounding only below 0.00001)",
        ),
        check(
            "On the breast-cancer data, gradient descent lowers the training loss",
            m["bc_train_loss_last"] / m["bc_train_loss_first"],
            "<",
            1.0,
            quantity="training cross-entropy after the last epoch divided by that after the "
            "first, at the chosen C",
        ),
        check(
            "On the breast-cancer data, the training loss falls at every epoch",
            m["bc_train_loss_max_rise"],
            "<=",
            RISE_TOL,
            quantity="largest rise of the training loss from one epoch to the next, as a "
            "fraction of the loss (rounding only below 0.00001)",
        ),
        check(
            "Gradient descent in jaxnn.fit is the course's update rule w <- w + a (y - y_hat) x",
            m["bc_rule_vs_fit_max_abs_diff"],
            "<=",
            SAME_RULE_TOL,
            quantity="largest difference between the weights of the rule written out by hand "
            "and those of jaxnn.fit, from the same start, after the last epoch",
        ),
        check(
            "Logistic regression classifies breast-cancer cases it has not seen",
            m["bc_test_accuracy"],
            ">=",
            TEST_ACCURACY,
            quantity="test accuracy on 114 unseen cases, with C chosen on the validation loss "
            "(a typical split: decided by the median over the seeds' splits)",
            over="median",
        ),
        check(
            "Gradient descent reaches the same optimum as scikit-learn at the chosen C",
            m["bc_coef_max_abs_diff_chosen"],
            "<=",
            COEF_TOL,
            quantity="largest difference between a weight of jaxnn.fit and the same weight "
            "of scikit-learn's LogisticRegression (weights are about 1 in size)",
        ),
        check(
            "Gradient descent reaches the same optimum as scikit-learn at every C of the grid",
            m["bc_coef_max_abs_diff_all"],
            "<=",
            COEF_TOL,
            quantity="largest difference between a weight of jaxnn.fit and the same weight "
            "of scikit-learn's LogisticRegression, over every C",
        ),
    ]


COUNTEREXAMPLE = {
    "bc_rule_vs_fit_max_abs_diff": 0.1,
    "course_loss_first": 0.7,
    "course_loss_last": 0.9,
    "course_loss_max_rise": 0.2,
    "bc_train_loss_first": 0.7,
    "bc_train_loss_last": 0.8,
    "bc_train_loss_max_rise": 0.1,
    "bc_test_accuracy": 0.9,
    "bc_coef_max_abs_diff_chosen": 0.3,
    "bc_coef_max_abs_diff_all": 0.5,
}

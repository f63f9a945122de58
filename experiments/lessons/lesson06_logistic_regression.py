"""Lesson 6: logistic regression by gradient descent.

    python -m experiments run 6

On the course's 100 points, the course's update rule written out by hand
(``w <- w + a mean((y - y_hat) x)``, ``b <- b + a mean(y - y_hat)``, full batch)
moves the boundary epoch by epoch while the loss falls. On the standardised
breast-cancer data, ``jaxnn.fit`` of ``MLP((30, 1))`` with an L2 penalty minimises
scikit-learn's objective: ``0.5 |w|^2 + C sum CE_i`` divided by ``C n`` is
``mean CE + l2 |w|^2`` with ``l2 = 1 / (2 C n_train)``. A grid of C is trained as
one ``jaxnn.sweep`` (full-batch gradient descent) and C is picked by validation
loss; the loss falls, the test accuracy is reported, every member lands on
scikit-learn's coefficients, and the same rule by hand (with the L2 term's
gradient) from the same start gives the chosen member's params.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.linear_model import LogisticRegression

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check

LESSON = 6
TITLE = "logistic regression by gradient descent"
SHOWS = "the loss falling and the boundary converging; the same optimum as an independent solver"

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
TEST_ACCURACY = 0.95  # the expectation for the breast-cancer test set
COEF_TOL = 1e-2  # max |w_jaxnn - w_sklearn|: the same optimum (coefficients are O(1))
SAME_RULE_TOL = 1e-5  # hand-written rule vs jaxnn.fit: float32 rounding only
RISE_TOL = 1e-5  # a rise of the loss smaller than this (relative) is float32 rounding


@functools.partial(jax.jit, static_argnames="epochs")
def _course_rule(key, x, y, rate, l2, *, epochs):
    """The course's update rule, full batch, with the L2 term's gradient 2 l2 w:
    ``w <- w + a (mean((y - y_hat) x) - 2 l2 w)``, ``b <- b + a mean(y - y_hat)``,
    from ``MLP((d, 1)).init(fold_in(key, 0))``, the start ``jaxnn.fit(key, ...)`` takes
    (see jaxnn.training). Returns (w, b) after each epoch: (epochs + 1, d + 1)."""
    start = jaxnn.MLP((x.shape[1], 1)).init(jax.random.fold_in(key, 0))
    w, b = start[0]["w"][:, 0], start[0]["b"][0]

    def epoch(carry, _):
        w, b = carry
        err = y - jaxnn.sigmoid(x @ w + b)  # y - y_hat
        w = w + rate * (jnp.mean(err[:, None] * x, axis=0) - 2 * l2 * w)
        b = b + rate * jnp.mean(err)
        return (w, b), jnp.concatenate([w, b[None]])

    _, trace = jax.lax.scan(epoch, (w, b), None, length=epochs)
    return jnp.concatenate([jnp.concatenate([w, b[None]])[None], trace])


@jax.jit
def _prepare(key, x, y):
    """Split, then standardise with the training statistics (one compiled program)."""
    train, val, test = jaxnn.data.train_val_test_split(key, x, y)
    scaler = jaxnn.data.Standardizer.fit(train[0])
    return [(scaler.transform(a), b.astype(jnp.float32)) for a, b in (train, val, test)]


def _mean_ce(x, y, trace):
    """Mean CE (float64 NumPy) of each row (w, b) of ``trace``: (rows,)."""
    z = np.asarray(x, np.float64) @ trace[:, :-1].T + trace[:, -1]
    return np.mean(np.logaddexp(0, z) - np.asarray(y, np.float64)[:, None] * z, axis=0)


def _max_rise(losses) -> float:
    """Largest relative rise of a loss curve from one epoch to the next."""
    h = np.asarray(losses, np.float64)
    h = h[np.isfinite(h)]
    return float(max(0.0, np.max((h[1:] - h[:-1]) / h[:-1])))


def run(key: jax.Array, out_dir: str, *, quick: bool = False) -> Outcome:
    m = {}
    mode = 0 if quick else 1
    # -- the course's points: the update rule, epoch by epoch -----------------
    x, y = (np.asarray(a) for a in jaxnn.data.load_course_points())
    epochs = COURSE_EPOCHS[mode]
    trace = np.asarray(
        _course_rule(key, x, y.astype(np.float32), COURSE_RATE, 0.0, epochs=epochs), np.float64
    )
    course_loss = _mean_ce(x, y, trace)
    m["course_loss_first"] = float(course_loss[0])
    m["course_loss_last"] = float(course_loss[-1])
    m["course_loss_max_rise"] = _max_rise(course_loss)
    m["course_accuracy"] = float(np.mean(((x @ trace[-1, :2] + trace[-1, 2]) >= 0) == (y == 1)))
    snaps = [e for e in SNAPSHOTS if e <= epochs]
    m["course_snapshot_epochs"] = snaps
    m["course_snapshot_params"] = [[round(float(v), 4) for v in trace[e]] for e in snaps]

    # -- breast cancer: jaxnn.fit for a grid of C, as one sweep ----------------
    cs = CS[mode]
    train, val, test = jax.device_get(
        _prepare(jax.random.fold_in(key, 1), *jaxnn.data.load_breast_cancer())
    )
    n_train = int(train[0].shape[0])
    l2s = [1.0 / (2.0 * c * n_train) for c in cs]
    sweep_key = jax.random.fold_in(key, 2)
    study = jaxnn.sweep(
        sweep_key,
        jaxnn.MLP((30, 1)),
        train,
        val,
        jaxnn.FitConfig(
            learning_rate=BC_RATE, epochs=BC_EPOCHS[mode], train_metrics="end_of_epoch"
        ),
        zipped={"l2": l2s},
    )
    hist = jax.device_get(study.results.history)
    val_final = np.asarray(hist.val_loss)[:, 0, -1]
    best = int(np.argmin(val_final))
    w_all = np.asarray(study.results.params[0]["w"])[:, 0, :, 0]  # (M, 30)
    b_all = np.asarray(study.results.params[0]["b"])[:, 0, 0]
    fitted = np.concatenate([w_all[best], b_all[best : best + 1]])
    z_test = np.asarray(test[0], np.float64) @ w_all[best] + b_all[best]
    test_acc = float(np.mean((z_test >= 0) == (test[1] == 1)))
    # the course's rule by hand, from the same start as the chosen member (restart 0
    # of a sweep fits with fold_in(key, 0)), must land on the same params
    rule = np.asarray(
        _course_rule(
            jax.random.fold_in(sweep_key, 0),
            train[0],
            train[1],
            BC_RATE,
            l2s[best],
            epochs=BC_EPOCHS[mode],
        )
    )
    # scikit-learn: 0.5 |w|^2 + C sum CE = C n (mean CE + l2 |w|^2) with l2 = 1/(2 C n)
    xt64, yt = np.asarray(train[0], np.float64), np.asarray(train[1])
    coef_diffs, sk_test_acc, sk_coefs = [], None, []
    for i, c in enumerate(cs):
        sk = LogisticRegression(C=c, tol=1e-10, max_iter=100_000).fit(xt64, yt)
        diff = max(np.max(np.abs(w_all[i] - sk.coef_[0])), abs(b_all[i] - sk.intercept_[0]))
        coef_diffs.append(float(diff))
        sk_coefs.append(sk.coef_[0])
        if i == best:
            sk_test_acc = float(sk.score(np.asarray(test[0], np.float64), np.asarray(test[1])))
    train_loss = np.asarray(hist.train_loss)[best, 0]
    m.update(
        bc_n_train=n_train,
        bc_C_grid=list(cs),
        bc_val_loss_per_C=[round(float(v), 5) for v in val_final],
        bc_C_chosen=cs[best],
        bc_l2_chosen=l2s[best],
        bc_train_loss_first=float(train_loss[0]),
        bc_train_loss_last=float(train_loss[-1]),
        bc_train_loss_max_rise=_max_rise(train_loss),
        bc_rule_vs_fit_max_abs_diff=float(np.max(np.abs(rule[-1] - fitted))),
        bc_test_accuracy=float(test_acc),
        bc_sklearn_test_accuracy=sk_test_acc,
        bc_coef_max_abs_diff_chosen=coef_diffs[best],
        bc_coef_max_abs_diff_per_C=[float(f"{d:.3g}") for d in coef_diffs],
        bc_coef_max_abs_diff_all=float(max(coef_diffs)),
        bc_sklearn_coef_max_abs=float(np.max(np.abs(sk_coefs[best]))),
    )
    figures = [
        _boundary_figure(out_dir, x, y, trace, snaps),
        _loss_figure(out_dir, course_loss, hist, best, m),
        _coef_figure(out_dir, w_all, sk_coefs, cs, best, m),
    ]
    return Outcome(LESSON, __name__.rsplit(".", 1)[1], TITLE, SHOWS, m, verdicts(m), figures)


def _boundary_figure(out_dir, x, y, trace, snaps):
    fig, ax = plotting.figure(width=6.5, height=5.2)
    w_last, b_last = trace[-1, :2], trace[-1, 2]
    plotting.boundary(
        ax,
        lambda g: 1 / (1 + np.exp(-(g @ w_last + b_last))),
        x,
        y,
        "Course's points: the boundary w·x + b = 0 at epochs "
        + ", ".join(str(e) for e in snaps)
        + "\n(filled: P(class 1) after the last epoch)",
    )
    xs = np.linspace(float(np.min(x[:, 0])) - 0.5, float(np.max(x[:, 0])) + 0.5, 2)
    colours = plotting.plt.cm.viridis(np.linspace(0.0, 0.95, len(snaps)))
    for e, col in zip(snaps, colours, strict=True):
        w1, w2, b = trace[e]
        ax.plot(xs, -(w1 * xs + b) / w2, color=col, lw=1.4, label=f"epoch {e}")
    ax.set_ylim(float(np.min(x[:, 1])) - 0.5, float(np.max(x[:, 1])) + 0.5)
    ax.set_xlim(xs[0], xs[1])
    ax.legend(loc="upper right", fontsize=7, ncol=2)
    ax.title.set_fontsize(9)
    return plotting.save(fig, out_dir, "boundary_converging.png")


def _loss_figure(out_dir, course_loss, hist, best, m):
    fig, (a, b) = plotting.figure(2)
    ep = np.arange(len(course_loss))
    a.plot(ep[1:], course_loss[1:], color="black", label="mean cross-entropy")
    a.set(
        xscale="log",
        yscale="log",
        xlabel="epoch",
        ylabel="training loss (mean CE)",
        title=f"Course's points, rate {COURSE_RATE}, full batch",
    )
    a.legend()
    tl = np.asarray(hist.train_loss)[best, 0]
    vl = np.asarray(hist.val_loss)[best, 0]
    e = np.arange(1, len(tl) + 1)
    b.plot(e, tl, color="black", label="train")
    b.plot(e, vl, color="tab:orange", label="validation")
    b.set(
        xscale="log",
        yscale="log",
        xlabel="epoch",
        ylabel="mean cross-entropy (without the L2 term)",
        title=f"Breast cancer, C = {m['bc_C_chosen']} (l2 = {m['bc_l2_chosen']:.2g}): "
        f"test acc {m['bc_test_accuracy']:.3f}",
    )
    b.title.set_fontsize(9)
    b.legend()
    fig.suptitle("Gradient descent: the loss falls")
    return plotting.save(fig, out_dir, "loss_curves.png")


def _coef_figure(out_dir, w_all, sk_coefs, cs, best, m):
    fig, ax = plotting.figure(width=5.5, height=5.0)
    lim = max(np.max(np.abs(w_all)), max(np.max(np.abs(c)) for c in sk_coefs)) * 1.05
    ax.plot([-lim, lim], [-lim, lim], color="grey", lw=0.8, label="y = x")
    cols = plotting.plt.cm.viridis(np.linspace(0, 0.9, len(cs)))
    for i, (c, col) in enumerate(zip(cs, cols, strict=True)):
        ax.scatter(
            sk_coefs[i],
            w_all[i],
            s=14 if i == best else 8,
            color=col,
            label=f"C = {c}" + (" (chosen)" if i == best else ""),
        )
    ax.set(
        xlabel="scikit-learn LogisticRegression coefficient",
        ylabel="jaxnn.fit coefficient (l2 = 1 / (2 C n))",
        title=f"Breast cancer: same optimum, max |diff| {m['bc_coef_max_abs_diff_all']:.1e}",
    )
    ax.legend(fontsize=8)
    return plotting.save(fig, out_dir, "same_optimum_as_sklearn.png")


def verdicts(m: dict) -> list[Claim]:
    return [
        check(
            "course's points: the loss falls (last / first epoch)",
            m["course_loss_last"] / m["course_loss_first"],
            "<",
            1.0,
        ),
        check(
            "course's points: the loss never rises (largest relative rise per epoch)",
            m["course_loss_max_rise"],
            "<=",
            RISE_TOL,
        ),
        check(
            "breast cancer: the training loss falls (last / first epoch)",
            m["bc_train_loss_last"] / m["bc_train_loss_first"],
            "<",
            1.0,
        ),
        check(
            "breast cancer: the training loss never rises (largest relative rise per epoch)",
            m["bc_train_loss_max_rise"],
            "<=",
            RISE_TOL,
        ),
        check(
            "breast cancer: the course's update rule by hand = jaxnn.fit (max abs param diff)",
            m["bc_rule_vs_fit_max_abs_diff"],
            "<=",
            SAME_RULE_TOL,
        ),
        check(
            "breast cancer: test accuracy (C chosen on validation loss)",
            m["bc_test_accuracy"],
            ">=",
            TEST_ACCURACY,
        ),
        check(
            "breast cancer: same coefficients as scikit-learn at the chosen C (max abs diff)",
            m["bc_coef_max_abs_diff_chosen"],
            "<=",
            COEF_TOL,
        ),
        check(
            "breast cancer: same coefficients as scikit-learn at every C of the grid",
            m["bc_coef_max_abs_diff_all"],
            "<=",
            COEF_TOL,
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

"""Lesson 10: L1 and L2 regularisation.

    python -m experiments run 10

Logistic regression on the breast-cancer set with as many pure-noise features
added as it has real ones (30 + 30). One compiled sweep trains L1 (proximal
soft-thresholding) and L2 at every strength lambda of a grid, so that at a
matched lambda the two can be compared weight by weight, and the effect of
lambda read off a curve. A second fit uses L1 as a plain penalty in the
objective (subgradient descent) to show "nearly zero" without the proximal step.
The course's worked example (L2 prefers (0.5, 0.5) to (1, 0), L1 does not care)
is checked with jaxnn.l2_penalty and jaxnn.l1_penalty. Whether L1 drops the noise
features rather than the real ones is asked at a lambda well above a noise feature's
chance correlation with the errors (``SELECTS``). Every seed draws its own noise
features and split; all seeds' fits run as one compiled program.
"""

from __future__ import annotations

import sys
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check, outcome
from jaxnn.data import Standardizer, load_breast_cancer, train_val_test_split

LESSON = 10
TITLE = "L1 and L2 regularisation"
STATEMENT = (
    "Large weights make a model overconfident, and its gradients nearly 0 almost everywhere; "
    "regularisation adds the size of the weights to the error: L1 adds "
    "lambda (|w1| + ... + |wn|), L2 adds lambda (w1^2 + ... + wn^2). L1 is sparse: with too "
    "many features it sets some weights to 0, so that those features go unused. L2 prefers "
    "small, even weights: (0.5, 0.5) over (1, 0), since 0.5^2 + 0.5^2 = 0.5 < 1^2 + 0^2 = 1."
)

N_EXAMPLES, N_REAL = 569, 30  # breast cancer: examples and real features
NOISE_FEATURES = 30  # as many irrelevant N(0, 1) features as real ones: what L1 should drop
TEST_FRACTION = 0.3  # held-out share, only to report that the models still classify
LAMBDAS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)  # from barely felt to most weights gone
QUICK_LAMBDAS = (1e-3, 1e-2, 3e-2, 1e-1)  # fewer members for --quick (same program shape)
MATCHED = 1e-2  # the lambda at which L1 and L2 are compared head to head
# Where L1 is asked to tell noise from real features. A noise feature's weight is 0 at
# the L1 optimum when lambda exceeds its gradient there, mean_i x_ij (p_i - y_i): a
# chance correlation with the errors, about N(0, s^2) with s = sqrt(mean x_ij^2 (p_i -
# y_i)^2 / n) (n = 398; metric noise_chance_gradient_by_lambda). At MATCHED, s is
# 0.0066-0.0078 over 20 seeds, lambda about 1.4 s, and some 16% of the noise features
# keep a weight by chance (22-29 of 30 zeroed, against 18-22 of the 30 real ones, many
# of which L1 drops as redundant: a margin of 2 to 11 features, thin); at 3e-2, s is
# 0.0088-0.0098, lambda about 3 s, and only 0.1% do (all 30 zeroed at every seed),
# while L1 still keeps 6-9 of the real ones.
SELECTS = 3e-2
LEARNING_RATE = 0.5  # full-batch heavy ball: fast on standardised features, never diverges
MOMENTUM = 0.9  # reaches the penalised optimum in ~1000 epochs instead of ~10000
DECAY_RATE = 0.01  # inverse-time decay lr / (1 + 0.01 t): lets subgradient L1 settle near 0
EPOCHS = 2000  # loss changes < 1e-4 over the last hundred epochs for every lambda
QUICK_EPOCHS = 400  # enough for the signs of every comparison, not for the last digits
NEAR_ZERO = 1e-3  # |w| below this counts as "nearly zero" (the subgradient penalty's zeros)


def _spearman(a, b) -> float:
    """Spearman rank correlation (average ranks for ties); NaN if either is constant."""

    def ranks(v):
        v = np.asarray(v, np.float64)
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=np.float64)
        for u in np.unique(v):  # average the ranks of ties
            r[v == u] = r[v == u].mean()
        return r

    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def _data(key):
    x, y = load_breast_cancer()
    noise = jax.random.normal(jax.random.fold_in(key, 0), (x.shape[0], NOISE_FEATURES))
    x = jnp.concatenate([x, noise], axis=1)
    train, _, test = train_val_test_split(
        jax.random.fold_in(key, 1), x, y, val=0.0, test=TEST_FRACTION
    )
    scaler = Standardizer.fit(train[0])
    return (scaler.transform(train[0]), train[1]), (scaler.transform(test[0]), test[1])


def _stack(configs):
    return jax.tree.map(lambda *xs: np.asarray(xs, np.float32), *configs)


@partial(jax.jit, static_argnames=("lambdas", "epochs"))
def _fits(keys: jax.Array, *, lambdas: tuple[float, ...], epochs: int):
    """Every seed's weights, as one compiled program: per seed, L1 (proximal) and L2
    at every lambda side by side (:func:`jaxnn.training.run_epochs_batched`, as
    :func:`jaxnn.sweep` runs its members), then L1 as a plain penalty at the matched
    lambda; the seeds one after the other (``lax.map``), so that a seed gives bitwise
    the same numbers alone or among others. All fits of a seed start from the same
    weights, ``fold_in(fold_in(key, 2), 0)``'s."""
    base = jaxnn.FitConfig(
        learning_rate=LEARNING_RATE,
        momentum=MOMENTUM,
        decay="inverse_time",
        decay_rate=DECAY_RATE,
        epochs=epochs,
    )
    prox = base.replace(l1_mode="proximal")
    configs = _stack(
        [prox.replace(l1=lam) for lam in lambdas] + [prox.replace(l2=lam) for lam in lambdas]
    )
    pen = base.replace(l1=MATCHED)
    n = round((1 - TEST_FRACTION) * N_EXAMPLES)
    model = jaxnn.MLP((N_REAL + NOISE_FEATURES, 1), "sigmoid")  # one layer: logistic regression
    t = jaxnn.training
    plan = t.make_plan(configs, n, False, model)
    plan_pen = t.make_plan(pen, n, False, model)

    def one(key):
        train, test = _data(key)
        fit_key = jax.random.fold_in(jax.random.fold_in(key, 2), 0)
        states = jax.vmap(lambda c: t.init_state(fit_key, model, c, plan))(configs)
        states, tr, _ = t.loop_layout(states, train, None, plan)
        states = t.run_epochs_batched(states, model, configs, plan, tr, None, epochs)
        state = t.init_state(fit_key, model, pen, plan_pen)
        state = t.run_epochs_rows(state, model, pen, plan_pen, train, None, epochs)
        layer = states.params[0]
        w, b = layer["w"][:, :, 0], layer["b"][:, 0]  # (2k, d), (2k,)
        # each member's chance gradient s of a noise feature (SELECTS), on its errors
        x, y = train
        err2 = (jax.nn.sigmoid(x @ w.T + b[None, :]) - y[:, None].astype(x.dtype)) ** 2  # (n, 2k)
        s = jnp.sqrt(jnp.mean(x[:, N_REAL:] ** 2, 1) @ err2 / n**2)
        return w, b, state.params[0]["w"][:, 0], s, test

    return jax.lax.map(one, keys)


def run_seeds(keys: jax.Array, out_dir: str | None, *, quick: bool = False) -> list[Outcome]:
    lambdas = list(QUICK_LAMBDAS if quick else LAMBDAS)
    epochs = QUICK_EPOCHS if quick else EPOCHS
    w_all, b_all, w_pen, chance, (xte, yte) = jax.tree.map(
        np.asarray, _fits(keys, lambdas=tuple(lambdas), epochs=epochs)
    )
    return [
        _outcome(
            lambdas,
            w_all[i],
            b_all[i],
            w_pen[i],
            chance[i][: len(lambdas)],
            xte[i],
            yte[i],
            out_dir if i == 0 else None,
        )
        for i in range(len(keys))
    ]


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    return run_seeds(key[None], out_dir, quick=quick)[0]


def _outcome(lambdas, w_all, b_all, w_pen, chance, xte, yte, out_dir) -> Outcome:
    """One seed's numbers and verdicts from its weights: ``w_all`` (2k, d), L1 at each
    lambda then L2; ``w_pen`` (d,), L1 as a plain penalty at the matched lambda;
    ``chance`` (k,), a noise feature's chance gradient at L1's optimum, by lambda."""
    d = w_all.shape[1]
    n_real = d - NOISE_FEATURES
    w_l1, w_l2 = w_all[: len(lambdas)], w_all[len(lambdas) :]

    def test_acc(member):  # logistic regression in numpy: no extra compiled programs
        return float(np.mean(((xte @ w_all[member] + b_all[member]) >= 0) == (yte == 1)))

    i = lambdas.index(MATCHED)
    sel = w_l1[lambdas.index(SELECTS)]
    l1m, l2m = w_l1[i], w_l2[i]
    exact = lambda w: int(np.sum(w == 0))
    near = lambda w: int(np.sum(np.abs(w) < NEAR_ZERO))
    norm2 = lambda w: float(np.sqrt(np.sum(w**2)))
    course = {
        "l2_of_05_05": float(jaxnn.l2_penalty({"w": jnp.array([0.5, 0.5])})),
        "l2_of_1_0": float(jaxnn.l2_penalty({"w": jnp.array([1.0, 0.0])})),
        "l1_of_05_05": float(jaxnn.l1_penalty({"w": jnp.array([0.5, 0.5])})),
        "l1_of_1_0": float(jaxnn.l1_penalty({"w": jnp.array([1.0, 0.0])})),
    }
    metrics = {
        **course,
        "features": d,
        "noise_features": NOISE_FEATURES,
        "matched_lambda": MATCHED,
        "l1_exact_zeros_at_matched": exact(l1m),
        "l2_exact_zeros_at_matched": exact(l2m),
        "l1_penalty_near_zeros_at_matched": near(w_pen),
        "l2_near_zeros_at_matched": near(l2m),
        "l1_zero_share_noise_at_matched": float(np.mean(l1m[n_real:] == 0)),
        "l1_zero_share_real_at_matched": float(np.mean(l1m[:n_real] == 0)),
        "selects_lambda": SELECTS,
        "l1_zero_share_noise": float(np.mean(sel[n_real:] == 0)),
        "l1_zero_share_real": float(np.mean(sel[:n_real] == 0)),
        "noise_chance_gradient_by_lambda": [float(v) for v in chance],
        "l1_max_abs_w_at_matched": float(np.max(np.abs(l1m))),
        "l2_max_abs_w_at_matched": float(np.max(np.abs(l2m))),
        "l1_norm2_at_matched": norm2(l1m),
        "l2_norm2_at_matched": norm2(l2m),
        "l1_test_accuracy_at_matched": test_acc(i),
        "l2_test_accuracy_at_matched": test_acc(len(lambdas) + i),
        "lambdas": lambdas,
        "l1_exact_zeros_by_lambda": [exact(w) for w in w_l1],
        "l1_noise_zeros_by_lambda": [exact(w[n_real:]) for w in w_l1],
        "l1_real_zeros_by_lambda": [exact(w[:n_real]) for w in w_l1],
        "l2_exact_zeros_by_lambda": [exact(w) for w in w_l2],
        "l1_norm2_by_lambda": [norm2(w) for w in w_l1],
        "l2_norm2_by_lambda": [norm2(w) for w in w_l2],
    }
    metrics["spearman_lambda_l1_zeros"] = _spearman(lambdas, metrics["l1_exact_zeros_by_lambda"])
    metrics["spearman_lambda_l2_norm"] = _spearman(lambdas, metrics["l2_norm2_by_lambda"])
    metrics["spearman_lambda_l1_norm"] = _spearman(lambdas, metrics["l1_norm2_by_lambda"])

    figures = []
    if out_dir is not None:
        figures = [
            _weights_figure(out_dir, l1m, l2m, w_pen, n_real),
            _lambda_figure(out_dir, metrics),
        ]
    return outcome(sys.modules[__name__], metrics, figures)


L1_COLOR, L2_COLOR, PEN_COLOR = "tab:purple", "tab:green", "tab:orange"  # not class colours
ZERO_COLOR = "indigo"  # L1's exact zeros, drawn over its histogram
L1_NAME = "L1 (shrink, stop at 0)"  # proximal: each step shrinks |w| by rate x lambda, not past 0
PEN_NAME = "L1 as a plain penalty"  # its gradient lambda sign(w) in the error: w jitters near 0


def _weights_figure(out_dir, l1m, l2m, w_pen, n_real):
    d = len(l1m)
    fig = plotting.plt.figure(figsize=(12, 8.5), dpi=plotting.DPI, layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=(1, 1.15))
    ax_l2 = fig.add_subplot(grid[0, 0])
    ax_l1 = fig.add_subplot(grid[0, 1], sharex=ax_l2)
    ax_w = fig.add_subplot(grid[1, :])
    lim = 1.05 * float(max(np.abs(l1m).max(), np.abs(l2m).max()))
    bins = np.linspace(-lim, lim, 43)
    width = bins[1] - bins[0]
    z1, z2 = int(np.sum(l1m == 0)), int(np.sum(l2m == 0))
    top = max(z1, z2, np.histogram(l2m, bins)[0].max(), np.histogram(l1m[l1m != 0], bins)[0].max())
    for ax, w, color, name, zeros in (
        (ax_l2, l2m, L2_COLOR, "L2", z2),
        (ax_l1, l1m, L1_COLOR, L1_NAME, z1),
    ):
        ax.axvline(0, color="0.6", lw=0.6, zorder=0)
        ax.hist(
            w[w != 0],
            bins=bins,
            color=color,
            alpha=0.75,
            label=f"not 0: {d - zeros} weights",
        )
        ax.bar(  # the exact zeros: a narrow dark bar on top, whatever their number
            0.0,
            zeros,
            width=width / 2.5,
            color=ZERO_COLOR,
            zorder=3,
            label=f"exactly 0: {zeros} of {d} ({zeros / d:.0%})",
        )
        ax.annotate(  # the count of exact zeros, off the bars, pointing at the dark bar
            f"{zeros} weights exactly 0" if zeros else "no weight exactly 0",
            (0, zeros),
            xytext=(0.6, 0.7),
            textcoords="axes fraction",
            color=ZERO_COLOR,
            fontweight="bold",
            arrowprops=dict(arrowstyle="->", color=ZERO_COLOR) if zeros else None,
        )
        ax.set(
            ylim=(0, 1.15 * top),
            xlabel="weight value",
            ylabel="number of weights",
            title=f"{name}, lambda = {MATCHED:g}",
        )
        ax.legend(fontsize=8, loc="upper left")
    idx = np.arange(d)
    ax_w.axvspan(n_real - 0.5, d - 0.5, color="0.92", label="added noise features")
    ax_w.axhline(0, color="black", lw=0.6)
    ax_w.plot(idx, l2m, "o", ms=5, color=L2_COLOR, label="L2")
    ax_w.plot(idx, l1m, "s", ms=6, mfc="none", mew=1.3, color=L1_COLOR, label=L1_NAME)
    near = int(np.sum(np.abs(w_pen) < NEAR_ZERO))
    ax_w.plot(
        idx,
        w_pen,
        "x",
        ms=4,
        mew=1.2,
        color=PEN_COLOR,
        label=f"{PEN_NAME} ({near} with |w| < {NEAR_ZERO:g})",
    )
    ax_w.set(
        xlim=(-1, d),
        xlabel=f"feature (0-{n_real - 1}: the real measurements, {n_real}-{d - 1}: added noise)",
        ylabel="weight",
        title=f"Each feature's weight at lambda = {MATCHED:g}",
    )
    ax_w.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=4)
    caption = (
        f"Top: at the same lambda = {MATCHED:g}, L2 (green, left) keeps all {d} weights small "
        f"but none exactly 0, while L1 (purple, right) sets {z1} of the {d} weights "
        f"({z1 / d:.0%}) exactly to 0 (dark bar at 0) and lets a few others grow large. "
        f"Bottom: each feature's weight; L1 zeroes {int(np.sum(l1m[n_real:] == 0))} of the "
        f"{d - n_real} added noise features (grey) and {int(np.sum(l1m[:n_real] == 0))} of "
        f"the {n_real} real ones, and L1 as a plain penalty in the error (orange crosses) "
        "brings the same weights only nearly to 0."
    )
    return plotting.save(fig, out_dir, "weights_l1_vs_l2.png", caption)


def _lambda_figure(out_dir, m):
    lam = np.asarray(m["lambdas"])
    fig, (ax0, ax1) = plotting.figure(2)
    ax0.plot(lam, m["l1_exact_zeros_by_lambda"], "o-", color=L1_COLOR, label=L1_NAME)
    noise, real = m["noise_features"], m["features"] - m["noise_features"]
    ax0.plot(
        lam,
        m["l1_noise_zeros_by_lambda"],
        "^--",
        color=L1_COLOR,
        alpha=0.6,
        label=f"L1: of the {noise} noise features",
    )
    ax0.plot(
        lam,
        m["l1_real_zeros_by_lambda"],
        "v:",
        color=L1_COLOR,
        alpha=0.6,
        label=f"L1: of the {real} real features",
    )
    ax0.plot(lam, m["l2_exact_zeros_by_lambda"], "s-", color=L2_COLOR, label="L2")
    ax0.axhline(m["features"], color="0.5", ls=":", label=f"all {m['features']} weights")
    ax0.set(
        xscale="log",
        ylim=(-2, m["features"] + 4),
        xlabel="lambda (log scale)",
        ylabel="weights exactly 0",
        title="Weights set to 0, by lambda",
    )
    ax0.legend(fontsize=8, loc="upper left")
    ax1.plot(lam, m["l1_norm2_by_lambda"], "o-", color=L1_COLOR, label=L1_NAME)
    ax1.plot(lam, m["l2_norm2_by_lambda"], "s-", color=L2_COLOR, label="L2")
    ax1.set(
        xscale="log",
        yscale="log",
        xlabel="lambda (log scale)",
        ylabel="size of the weights, sqrt(w1^2 + ... + wn^2)\n(log scale)",
        title="Size of the weights, by lambda",
    )
    ax1.legend(fontsize=8)
    most, widest = max(m["l1_exact_zeros_by_lambda"]), float(lam[-1])
    j = m["lambdas"].index(m["selects_lambda"])
    caption = (
        "Left: the larger lambda, the more weights L1 (purple) sets exactly to 0, up to "
        f"{most} of the {m['features']} at lambda = {widest:g}, while L2 (green) sets none. "
        f"Its zeros split into the {noise} added noise features (dashed) and the {real} real "
        f"ones (dotted): at lambda = {m['selects_lambda']:g} it has dropped "
        f"{m['l1_noise_zeros_by_lambda'][j]} of the noise features and "
        f"{m['l1_real_zeros_by_lambda'][j]} of the real ones. "
        "Right: both make the weights smaller as lambda grows."
    )
    return plotting.save(fig, out_dir, "lambda_effect.png", caption)


def verdicts(m: dict) -> list[Claim]:
    lam = m.get("matched_lambda", MATCHED)
    at = f"at lambda = {lam:g}"
    d = m.get("features", 30 + NOISE_FEATURES)  # breast cancer's 30 real features + the noise
    sel = m.get("selects_lambda", SELECTS)
    return [
        check(
            "L2 prefers the weights (0.5, 0.5) to (1, 0)",
            m["l2_of_1_0"] - m["l2_of_05_05"],
            ">",
            0.0,
            quantity="L2 penalty of (1, 0) minus that of (0.5, 0.5)",
        ),
        check(
            "L1 has no preference between them",
            abs(m["l1_of_1_0"] - m["l1_of_05_05"]),
            "<=",
            1e-7,
            quantity="L1 penalty of (1, 0) minus that of (0.5, 0.5), in size",
        ),
        check(
            "L1 sets more weights exactly to 0 than L2 does",
            m["l1_exact_zeros_at_matched"] - m["l2_exact_zeros_at_matched"],
            ">",
            0,
            quantity=f"weights exactly 0 with L1 (each step shrinks them and stops them at 0) "
            f"minus with L2, of {d}, {at}",
        ),
        check(
            "Even as a plain penalty in the error, L1 brings more weights nearly to 0 than L2",
            m["l1_penalty_near_zeros_at_matched"] - m["l2_near_zeros_at_matched"],
            ">",
            0,
            quantity=f"weights smaller than {NEAR_ZERO:g} in size with the L1 penalty minus "
            f"with L2, {at}",
        ),
        check(
            "L2 makes the weights small but sets none exactly to 0",
            m["l2_exact_zeros_at_matched"],
            "<=",
            0,
            quantity=f"weights exactly 0 with L2, {at}",
        ),
        check(
            "With too many features, L1 drops the useless ones first: once lambda is well "
            "above the noise features' chance correlation with the errors, it zeroes a larger "
            "share of the added noise features than of the real ones",
            m["l1_zero_share_noise"] - m["l1_zero_share_real"],
            ">",
            0.0,
            quantity=f"share of the {NOISE_FEATURES} noise features whose L1 weight is 0 "
            f"minus that of the {d - NOISE_FEATURES} real ones, at lambda = {sel:g} (about 3 "
            "times a noise feature's chance gradient)",
        ),
        check(
            "The larger lambda, the more weights L1 sets to 0",
            m["spearman_lambda_l1_zeros"],
            ">",
            0.0,
            quantity="rank correlation (Spearman) of lambda and L1's count of zero weights, "
            "over the lambdas tried",
        ),
        check(
            "The larger lambda, the smaller L2's weights",
            m["spearman_lambda_l2_norm"],
            "<",
            0.0,
            quantity="rank correlation (Spearman) of lambda and the size sqrt(w1^2 + ... + "
            "wn^2) of L2's weights, over the lambdas tried",
        ),
        check(
            "The larger lambda, the smaller L1's weights",
            m["spearman_lambda_l1_norm"],
            "<",
            0.0,
            quantity="rank correlation (Spearman) of lambda and the size sqrt(w1^2 + ... + "
            "wn^2) of L1's weights, over the lambdas tried",
        ),
    ]


COUNTEREXAMPLE = {
    "l2_of_05_05": 1.0,
    "l2_of_1_0": 1.0,
    "l1_of_05_05": 1.0,
    "l1_of_1_0": 2.0,
    "matched_lambda": MATCHED,
    "selects_lambda": SELECTS,
    "l1_exact_zeros_at_matched": 0,
    "l2_exact_zeros_at_matched": 3,
    "l1_penalty_near_zeros_at_matched": 1,
    "l2_near_zeros_at_matched": 4,
    "l1_zero_share_noise": 0.1,
    "l1_zero_share_real": 0.5,
    "spearman_lambda_l1_zeros": -0.5,
    "spearman_lambda_l2_norm": 0.7,
    "spearman_lambda_l1_norm": float("nan"),
}

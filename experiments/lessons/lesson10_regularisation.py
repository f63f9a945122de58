"""Lesson 10: L1 and L2 regularisation.

    python -m experiments run 10

Logistic regression on the breast-cancer set with as many pure-noise features
added as it has real ones (30 + 30). One compiled sweep trains L1 (proximal
soft-thresholding) and L2 at every strength lambda of a grid, so that at a
matched lambda the two can be compared weight by weight, and the effect of
lambda read off a curve. A second fit uses L1 as a plain penalty in the
objective (subgradient descent) to show "nearly zero" without the proximal step.
The course's worked example (L2 prefers (0.5, 0.5) to (1, 0), L1 does not care)
is checked with jaxnn.l2_penalty and jaxnn.l1_penalty.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check
from jaxnn.data import Standardizer, load_breast_cancer, train_val_test_split

LESSON = 10
TITLE = "L1 and L2 regularisation"
SHOWS = "L1 drives weights to exactly (or nearly) zero, L2 spreads them small; the effect of lambda"

NOISE_FEATURES = 30  # as many irrelevant N(0, 1) features as real ones: what L1 should drop
TEST_FRACTION = 0.3  # held-out share, only to report that the models still classify
LAMBDAS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)  # from barely felt to most weights gone
QUICK_LAMBDAS = (1e-3, 1e-2, 3e-2, 1e-1)  # fewer members for --quick (same program shape)
MATCHED = 1e-2  # the lambda at which L1 and L2 are compared head to head
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


def run(key: jax.Array, out_dir: str, *, quick: bool = False) -> Outcome:
    lambdas = list(QUICK_LAMBDAS if quick else LAMBDAS)
    train, test = _data(key)
    d = train[0].shape[1]
    n_real = d - NOISE_FEATURES
    model = jaxnn.MLP((d, 1), "sigmoid")  # one layer: logistic regression
    base = jaxnn.FitConfig(
        learning_rate=LEARNING_RATE,
        momentum=MOMENTUM,
        decay="inverse_time",
        decay_rate=DECAY_RATE,
        epochs=QUICK_EPOCHS if quick else EPOCHS,
    )
    fit_key = jax.random.fold_in(key, 2)
    zeros = [0.0] * len(lambdas)
    # one program: members 0..k-1 are L1 (proximal) at each lambda, k..2k-1 are L2
    s = jaxnn.sweep(
        fit_key,
        model,
        train,
        base=base.replace(l1_mode="proximal"),
        zipped={"l1": lambdas + zeros, "l2": zeros + lambdas},
    )
    w_all = np.asarray(s.results.params[0]["w"])[:, 0, :, 0]  # (2k, d)
    w_l1, w_l2 = w_all[: len(lambdas)], w_all[len(lambdas) :]
    # L1 as a penalty in the objective (subgradient), same key, same optimiser
    pen = jaxnn.fit(jax.random.fold_in(fit_key, 0), model, train, config=base.replace(l1=MATCHED))
    w_pen = np.asarray(pen.params[0]["w"])[:, 0]

    xte, yte = np.asarray(test[0]), np.asarray(test[1])
    b_all = np.asarray(s.results.params[0]["b"])[:, 0, 0]

    def test_acc(member):  # logistic regression in numpy: no extra compiled programs
        return float(np.mean(((xte @ w_all[member] + b_all[member]) >= 0) == (yte == 1)))

    i = lambdas.index(MATCHED)
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
        "l1_zero_share_noise": float(np.mean(l1m[n_real:] == 0)),
        "l1_zero_share_real": float(np.mean(l1m[:n_real] == 0)),
        "l1_max_abs_w_at_matched": float(np.max(np.abs(l1m))),
        "l2_max_abs_w_at_matched": float(np.max(np.abs(l2m))),
        "l1_norm2_at_matched": norm2(l1m),
        "l2_norm2_at_matched": norm2(l2m),
        "l1_test_accuracy_at_matched": test_acc(i),
        "l2_test_accuracy_at_matched": test_acc(len(lambdas) + i),
        "lambdas": lambdas,
        "l1_exact_zeros_by_lambda": [exact(w) for w in w_l1],
        "l2_exact_zeros_by_lambda": [exact(w) for w in w_l2],
        "l1_norm2_by_lambda": [norm2(w) for w in w_l1],
        "l2_norm2_by_lambda": [norm2(w) for w in w_l2],
    }
    metrics["spearman_lambda_l1_zeros"] = _spearman(lambdas, metrics["l1_exact_zeros_by_lambda"])
    metrics["spearman_lambda_l2_norm"] = _spearman(lambdas, metrics["l2_norm2_by_lambda"])
    metrics["spearman_lambda_l1_norm"] = _spearman(lambdas, metrics["l1_norm2_by_lambda"])

    figures = [
        _weights_figure(out_dir, l1m, l2m, w_pen, n_real),
        _lambda_figure(out_dir, metrics),
    ]
    return Outcome(
        LESSON, __name__.rsplit(".", 1)[1], TITLE, SHOWS, metrics, verdicts(metrics), figures
    )


L1_COLOR, L2_COLOR, PEN_COLOR = "tab:purple", "tab:green", "tab:orange"  # not class colours


def _weights_figure(out_dir, l1m, l2m, w_pen, n_real) -> str:
    fig, (ax0, ax1) = plotting.figure(2, width=6.0)
    lim = float(max(np.abs(l1m).max(), np.abs(l2m).max()))
    bins = np.linspace(-lim, lim, 41)
    ax0.hist(l2m, bins=bins, color=L2_COLOR, alpha=0.6, label=f"L2: {np.sum(l2m == 0)} exact zeros")
    ax0.hist(
        l1m, bins=bins, color=L1_COLOR, alpha=0.6, label=f"L1 (proximal): {np.sum(l1m == 0)} zeros"
    )
    ax0.set(
        yscale="log",
        xlabel="weight value",
        ylabel="number of weights (log)",
        title=f"Weights at matched lambda = {MATCHED:g}",
    )
    ax0.legend(fontsize=8)
    idx = np.arange(len(l1m))
    ax1.axvspan(n_real - 0.5, len(l1m) - 0.5, color="0.9", label="added noise features")
    ax1.axhline(0, color="black", lw=0.6)
    ax1.plot(idx, l2m, "o", ms=4, color=L2_COLOR, label="L2")
    ax1.plot(idx, w_pen, "x", ms=4, color=PEN_COLOR, label="L1 penalty (subgradient)")
    ax1.plot(idx, l1m, "s", ms=3, color=L1_COLOR, label="L1 proximal")
    ax1.set(
        xlabel="feature index (0-29 real, 30-59 noise)",
        ylabel="weight",
        title="Each feature's weight at matched lambda",
    )
    ax1.legend(fontsize=8, loc="lower left")
    return plotting.save(fig, out_dir, "weights_l1_vs_l2.png")


def _lambda_figure(out_dir, m) -> str:
    lam = np.asarray(m["lambdas"])
    fig, (ax0, ax1) = plotting.figure(2)
    ax0.plot(lam, m["l1_exact_zeros_by_lambda"], "o-", color=L1_COLOR, label="L1 (proximal)")
    ax0.plot(lam, m["l2_exact_zeros_by_lambda"], "s-", color=L2_COLOR, label="L2")
    ax0.axhline(m["features"], color="0.5", ls=":", label=f"all {m['features']} weights")
    ax0.set(
        xscale="log",
        xlabel="lambda",
        ylabel="weights exactly zero",
        title="Zeros vs lambda",
    )
    ax0.legend(fontsize=8)
    ax1.plot(lam, m["l1_norm2_by_lambda"], "o-", color=L1_COLOR, label="L1 (proximal)")
    ax1.plot(lam, m["l2_norm2_by_lambda"], "s-", color=L2_COLOR, label="L2")
    ax1.set(
        xscale="log",
        yscale="log",
        xlabel="lambda",
        ylabel="weight norm sqrt(sum w^2)",
        title="Weight norm vs lambda",
    )
    ax1.legend(fontsize=8)
    return plotting.save(fig, out_dir, "lambda_effect.png")


def verdicts(m: dict) -> list[Claim]:
    lam = m.get("matched_lambda", MATCHED)
    return [
        check(
            "course example: L2 prefers (0.5, 0.5) to (1, 0): l2(1, 0) - l2(0.5, 0.5)",
            m["l2_of_1_0"] - m["l2_of_05_05"],
            ">",
            0.0,
        ),
        check(
            "course example: L1 is indifferent: |l1(1, 0) - l1(0.5, 0.5)|",
            abs(m["l1_of_1_0"] - m["l1_of_05_05"]),
            "<=",
            1e-7,
        ),
        check(
            f"at lambda = {lam:g}, exact zeros: L1 (proximal) minus L2",
            m["l1_exact_zeros_at_matched"] - m["l2_exact_zeros_at_matched"],
            ">",
            0,
        ),
        check(
            f"at lambda = {lam:g}, weights with |w| < {NEAR_ZERO:g}: "
            "L1 as a penalty (subgradient) minus L2",
            m["l1_penalty_near_zeros_at_matched"] - m["l2_near_zeros_at_matched"],
            ">",
            0,
        ),
        check(
            f"L2 spreads weights small, zeroing none (exact zeros at lambda = {lam:g})",
            m["l2_exact_zeros_at_matched"],
            "<=",
            0,
        ),
        check(
            "L1 zeroes a larger share of the noise features than of the real ones "
            "(share noise - share real)",
            m["l1_zero_share_noise"] - m["l1_zero_share_real"],
            ">",
            0.0,
        ),
        check(
            "more lambda, more L1 zeros (Spearman of lambda and zero count)",
            m["spearman_lambda_l1_zeros"],
            ">",
            0.0,
        ),
        check(
            "more lambda, smaller L2 weights (Spearman of lambda and weight norm)",
            m["spearman_lambda_l2_norm"],
            "<",
            0.0,
        ),
        check(
            "more lambda, smaller L1 weights (Spearman of lambda and weight norm)",
            m["spearman_lambda_l1_norm"],
            "<",
            0.0,
        ),
    ]


COUNTEREXAMPLE = {
    "l2_of_05_05": 1.0,
    "l2_of_1_0": 1.0,
    "l1_of_05_05": 1.0,
    "l1_of_1_0": 2.0,
    "matched_lambda": MATCHED,
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

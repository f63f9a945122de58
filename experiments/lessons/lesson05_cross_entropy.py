"""Lesson 5: maximum likelihood and cross-entropy.

    python -m experiments run 5

The course's doors (gifts with probabilities 0.8, 0.7, 0.1; outcome gift, gift, no
gift) give P = 0.504 and CE = 0.69, computed with ``jaxnn.binary_cross_entropy``
from the logits (it returns the mean, so the course's sum is n times it); all 8
outcomes of the doors have probabilities summing to 1 and CE = -ln P. On the
course's 100 points, a trained logistic regression and a hand-drawn line are two
models: the one with the higher likelihood (product of the probabilities of the
true labels, in float64 NumPy) has the lower cross-entropy, and so does every pair
among many random lines. Multi-class ``jaxnn.cross_entropy`` equals
``-sum y ln p`` with one-hot y, and two-class CE equals binary CE.
"""

from __future__ import annotations

import functools
import itertools
import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check, outcome

LESSON = 5
TITLE = "maximum likelihood and cross-entropy"
STATEMENT = (
    "The better model is the one that gives the true labels the highest probability P(all), "
    "the product of each point's probability of its own label. Taking -ln turns the product "
    "into a sum, the cross-entropy, so the more likely model has the lower cross-entropy: "
    "for doors hiding a gift with probabilities 0.8, 0.7 and 0.1, the outcome (gift, gift, "
    "no gift) has P = 0.8 x 0.7 x 0.9 = 0.504 and CE = -ln 0.8 - ln 0.7 - ln 0.9 = 0.69. "
    "With more classes, CE = -sum y ln p, y being the one-hot labels."
)

DOOR_PROBS = (0.8, 0.7, 0.1)  # the course's P(gift) behind each door
DOOR_OUTCOME = (1, 1, 0)  # gift, gift, no gift: the outcome the course circles
COURSE_P, COURSE_CE = 0.504, 0.69  # the course's worked numbers (CE rounded to 2 places)
CE_ROUNDING = 0.005  # the course prints CE to 2 decimals: half a unit of the last place
EXACT_TOL = 1e-5  # float32 losses against float64 NumPy: a few ulps of the sums involved
# A line drawn by hand between the course's classes: class 1 where x1 < 0.5, a plausible
# but worse model than the fitted one (it misclassifies more points, less confidently)
HAND_LINE = {"w": (-6.0, 0.0), "b": 3.0}
LR_EPOCHS = (300, 1000)  # quick / full: full-batch gradient descent on 100 points
LR_RATE = 5.0  # the points lie in [0, 1]^2, so the cost is flat: a large step is stable
RANDOM_MODELS = (50, 400)  # quick / full: random lines whose CE and likelihood we rank
RANDOM_SCALE = 2.0  # weight scale of the random lines: |logit| <~ 6, products stay > 1e-300
TIE_TOL = 1e-4  # relative ln-likelihood gap below which a pair counts as a tie (float32 CE)
MULTI_N, MULTI_K = 1000, 5  # multi-class check: observations and classes


def _logit(p):
    return np.log(p) - np.log1p(-p)


def _linear_logits(w, b, x):
    return np.asarray(x, np.float32) @ np.asarray(w, np.float32) + np.float32(b)


def _likelihood(logits, y):
    """Product over examples (axis 0) of the probabilities the model gives the true
    labels, in float64 NumPy, independently of jaxnn."""
    p1 = 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))
    y = np.asarray(y).reshape((-1,) + (1,) * (p1.ndim - 1))
    return np.prod(np.where(y == 1, p1, 1.0 - p1), axis=0)


@functools.partial(jax.jit, static_argnames="n_models")
def _jaxnn_side(key, door_logits, door_outcomes, x, y, lines_w, lines_b, *, n_models):
    """Everything jaxnn computes here, as one compiled program (eager ops would each
    compile). Sums are the course's CE: jaxnn's mean cross-entropy times n."""
    n = x.shape[0]
    bce_columns = jax.vmap(jaxnn.binary_cross_entropy, (1, None))
    out = {
        "door_ce": jax.vmap(jaxnn.binary_cross_entropy, (None, 0))(door_logits, door_outcomes)
        * door_logits.shape[0],
        "line_ce": bce_columns(x @ lines_w.T + lines_b[None, :], y) * n,
    }
    # random lines, each through a random point of [0, 1]^2
    k = jax.random.fold_in(key, 1)
    ws = RANDOM_SCALE * jax.random.normal(jax.random.fold_in(k, 0), (n_models, 2))
    centres = jax.random.uniform(jax.random.fold_in(k, 1), (n_models, 2))
    out["random_logits"] = x @ ws.T - jnp.sum(ws * centres, axis=1)[None, :]  # (n, n_models)
    out["random_ce"] = bce_columns(out["random_logits"], y) * n
    # multi-class
    km = jax.random.fold_in(key, 2)
    logits = 3.0 * jax.random.normal(jax.random.fold_in(km, 0), (MULTI_N, MULTI_K))
    ids = jax.random.randint(jax.random.fold_in(km, 1), (MULTI_N,), 0, MULTI_K)
    two = logits[:, :2]
    out.update(
        mc_logits=logits,
        mc_one_hot=jaxnn.one_hot(ids, MULTI_K),
        mc_ce_ids=jaxnn.cross_entropy(logits, ids) * MULTI_N,
        mc_ce_one_hot=jaxnn.cross_entropy(logits, jaxnn.one_hot(ids, MULTI_K)) * MULTI_N,
        two_class_ce=jaxnn.cross_entropy(two, ids % 2),
        binary_ce=jaxnn.binary_cross_entropy(two[:, 1] - two[:, 0], ids % 2),
    )
    return out


def run(key: jax.Array, out_dir: str | None, *, quick: bool = False) -> Outcome:
    m = {}
    x, yc = (np.asarray(a) for a in jaxnn.data.load_course_points())
    # -- a model fitted to the course's points, and a hand-drawn line ----------
    epochs = LR_EPOCHS[0 if quick else 1]
    res = jaxnn.fit(
        jax.random.fold_in(key, 0),
        jaxnn.MLP((2, 1)),
        (x, yc),
        config=jaxnn.FitConfig(learning_rate=LR_RATE, epochs=epochs),
    )
    lines = {
        "fitted": (np.asarray(res.params[0]["w"][:, 0]), float(res.params[0]["b"][0])),
        "hand-drawn": (np.array(HAND_LINE["w"]), HAND_LINE["b"]),
    }
    p = np.array(DOOR_PROBS)
    outcomes = np.array(list(itertools.product((0, 1), repeat=3)), np.float32)
    n_models = RANDOM_MODELS[0 if quick else 1]
    j = jax.device_get(
        _jaxnn_side(
            key,
            _logit(p).astype(np.float32),
            outcomes,
            x,
            yc.astype(np.float32),
            np.stack([w for w, _ in lines.values()]).astype(np.float32),
            np.array([b for _, b in lines.values()], np.float32),
            n_models=n_models,
        )
    )

    # -- the doors -------------------------------------------------------------
    probs = np.prod(np.where(outcomes == 1, p, 1 - p), axis=1)
    course = int(np.flatnonzero((outcomes == np.array(DOOR_OUTCOME)).all(1))[0])
    m["doors_probability"] = float(probs[course])
    m["doors_cross_entropy"] = float(j["door_ce"][course])
    # every outcome of the three doors: P sums to 1, CE = -ln P, so ranks reverse
    m["doors_outcomes_probability_sum"] = float(probs.sum())
    m["doors_outcomes_max_abs_ce_plus_ln_p"] = float(np.max(np.abs(j["door_ce"] + np.log(probs))))
    m["doors_outcomes"] = ["".join("G" if o else "-" for o in row) for row in outcomes]
    m["doors_outcomes_probability"] = [round(float(v), 4) for v in probs]
    m["doors_outcomes_cross_entropy"] = [round(float(v), 4) for v in j["door_ce"]]

    # -- two models on the course's points ------------------------------------
    stats = {}
    for i, (name, (w, b)) in enumerate(lines.items()):
        logits = _linear_logits(w, b, x)
        acc = float(np.mean((logits >= 0) == (yc == 1)))
        stats[name] = (float(_likelihood(logits, yc)), float(j["line_ce"][i]), acc)
    (pa, cea, acca), (pb, ceb, accb) = stats["fitted"], stats["hand-drawn"]
    m.update(
        fitted_likelihood=pa,
        fitted_cross_entropy=cea,
        fitted_accuracy=acca,
        hand_likelihood=pb,
        hand_cross_entropy=ceb,
        hand_accuracy=accb,
    )
    # the more likely of the two is the one with the lower CE
    m["two_models_agree"] = int((pa > pb) == (cea < ceb))

    # -- many random lines: likelihood order = reverse CE order ---------------
    ce_all = np.asarray(j["random_ce"], np.float64)
    lik_all = _likelihood(j["random_logits"], yc)
    more = lik_all[:, None] > lik_all[None, :]
    lower = ce_all[:, None] < ce_all[None, :]
    # pairs whose likelihoods differ by more than float32 CE noise can resolve
    with np.errstate(divide="ignore"):
        ln_lik = np.log(lik_all)
    clear = np.abs(ln_lik[:, None] - ln_lik[None, :]) > TIE_TOL * (1 + ce_all[:, None])
    m["random_models"] = n_models
    m["random_models_zero_likelihood"] = int(np.sum(lik_all == 0))
    m["random_pairs_compared"] = int(np.sum(clear & more))
    m["random_pairs_discordant"] = int(np.sum(clear & more & ~lower))
    m["random_max_rel_ce_plus_ln_likelihood"] = float(
        np.max(np.abs(ce_all + ln_lik) / (1 + ce_all))
    )

    # -- multi-class CE = -sum y ln p (float64 NumPy reference) ----------------
    lz = np.asarray(j["mc_logits"], np.float64)
    log_p = lz - lz.max(1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(1, keepdims=True))
    ref = -np.sum(np.asarray(j["mc_one_hot"], np.float64) * log_p)
    m["multiclass_cross_entropy_sum"] = float(ref)
    m["multiclass_rel_error_ids"] = abs(float(j["mc_ce_ids"]) - ref) / ref
    m["multiclass_rel_error_one_hot"] = abs(float(j["mc_ce_one_hot"]) - ref) / ref
    m["two_class_ce_minus_binary_ce"] = abs(float(j["two_class_ce"]) - float(j["binary_ce"]))

    figures = []
    if out_dir is not None:  # another seed: draw nothing
        figures = [_figure(out_dir, x, yc, lines, stats), _doors_figure(out_dir, m)]
    return outcome(sys.modules[__name__], m, figures)


def _power_of_ten(v: float) -> str:
    """``v`` as a learner writes it, e.g. 1.15 x 10^-6 (matplotlib mathtext)."""
    mant, exp = f"{v:.2e}".split("e")
    return rf"${mant} \times 10^{{{int(exp)}}}$"


def _figure(out_dir, x, y, lines, stats):
    fig, axes = plotting.figure(2)
    titles = {"fitted": "line trained by gradient descent", "hand-drawn": "line drawn by hand"}
    for ax, (name, (w, b)) in zip(axes, lines.items(), strict=True):
        lik, ce, acc = stats[name]
        prob = lambda g, w=w, b=b: 1 / (1 + np.exp(-_linear_logits(w, b, g)))
        plotting.boundary(
            ax,
            prob,
            x,
            y,
            f"{titles[name]}: P(all) = {_power_of_ten(lik)}\n"
            f"CE = -ln P(all) = {ce:.2f}, accuracy {acc:.2f}",
        )
    fig.suptitle("Two models of the course's points: the more likely one has the lower CE")
    caption = (
        "Each model gives every point a probability of class 1 (shading: red near 1, blue "
        "near 0; black line: 0.5). The line trained by gradient descent (left) gives the "
        "points' true labels a far higher product of probabilities P(all) than the vertical "
        "line drawn by hand (right), and so has the lower cross-entropy -ln P(all)."
    )
    return plotting.save(fig, out_dir, "two_models_likelihood_vs_ce.png", caption)


def _doors_figure(out_dir, m):
    fig, ax = plotting.figure(width=6.5)
    order = np.argsort(m["doors_outcomes_probability"])[::-1]
    names = [m["doors_outcomes"][i] for i in order]
    probs = np.array(m["doors_outcomes_probability"])[order]
    ces = np.array(m["doors_outcomes_cross_entropy"])[order]
    pos = np.arange(len(names))
    ax.bar(pos - 0.2, probs, 0.4, color="tab:green", label="P(outcome)")
    ax2 = ax.twinx()
    ax2.bar(pos + 0.2, ces, 0.4, color="tab:gray", label="CE = -ln P")
    course = names.index("".join("G" if o else "-" for o in DOOR_OUTCOME))
    ax.annotate(
        f"course's outcome\nP = {m['doors_probability']:.3f}, CE = {m['doors_cross_entropy']:.2f}",
        (course - 0.2, probs[course]),
        xytext=(course + 0.5, probs[course] + 0.06),
        arrowprops=dict(arrowstyle="->"),
        fontsize=8,
    )
    ax.set_xticks(pos, names)
    ax.set(
        xlabel="outcome behind doors 1-3 (G = gift, - = none); P(gift) = 0.8, 0.7, 0.1",
        ylabel="probability",
        title="The doors: the likelier the outcome, the lower its cross-entropy",
    )
    ax.set_ylim(0, 1.3 * probs.max())
    ax2.set_ylim(0, 1.3 * ces.max())
    ax2.set_ylabel("cross-entropy")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper right")
    caption = (
        "The 8 possible outcomes behind the three doors (G = gift, - = none), from the most "
        "to the least likely: green bars give each one's probability P (left axis), grey "
        "bars its cross-entropy -ln P (right axis), which grows as P falls. The course's "
        "outcome GG- has P = 0.504 and CE = 0.69."
    )
    return plotting.save(fig, out_dir, "doors_probability_vs_ce.png", caption)


def verdicts(m: dict) -> list[Claim]:
    return [
        check(
            "Behind the doors, the outcome (gift, gift, no gift) has probability "
            "0.8 x 0.7 x 0.9 = 0.504",
            abs(m["doors_probability"] - COURSE_P),
            "<=",
            1e-9,
            quantity="distance of the computed probability from the course's 0.504",
        ),
        check(
            "Its cross-entropy is -ln 0.8 - ln 0.7 - ln 0.9 = 0.69",
            abs(m["doors_cross_entropy"] - COURSE_CE),
            "<=",
            CE_ROUNDING,
            quantity="distance of jaxnn's binary cross-entropy (the mean, times 3) from the "
            "course's 0.69, which is rounded to 2 decimals",
        ),
        check(
            "The probabilities of the 8 possible outcomes of the doors sum to 1",
            abs(m["doors_outcomes_probability_sum"] - 1.0),
            "<=",
            1e-9,
            quantity="distance of their sum from 1",
        ),
        check(
            "Every outcome's cross-entropy is -ln of its probability, so the likelier outcome "
            "has the lower cross-entropy",
            m["doors_outcomes_max_abs_ce_plus_ln_p"],
            "<=",
            EXACT_TOL,
            quantity="largest difference between jaxnn's cross-entropy and -ln P over the 8 "
            "outcomes",
        ),
        check(
            "Of two models of the course's points, the more likely one has the lower cross-entropy",
            m["two_models_agree"],
            ">=",
            1,
            quantity="1 if the more likely of the trained line and the hand-drawn line is "
            "also the one with the lower cross-entropy, 0 if not",
        ),
        check(
            "The line trained to minimise cross-entropy is more likely than a line drawn by hand",
            m["hand_cross_entropy"] - m["fitted_cross_entropy"],
            ">",
            0.0,
            quantity="cross-entropy of the hand-drawn line minus that of the trained line, "
            "on the course's 100 points",
        ),
        check(
            "Among many random lines, the more likely of any two has the lower cross-entropy",
            m["random_pairs_discordant"],
            "<=",
            0,
            quantity="pairs of random lines where the more likely one has the higher "
            "cross-entropy (pairs whose likelihoods differ by more than rounding)",
            unit="pairs",
        ),
        check(
            "On 100 points the product P(all) is still a usable number for every random line",
            m["random_models_zero_likelihood"],
            "<=",
            0,
            quantity="random lines whose product of probabilities fell to 0 "
            "(too small for a float64)",
            unit="lines",
        ),
        check(
            "Multi-class cross-entropy is -sum y ln p, y being the one-hot labels "
            "(jaxnn given class numbers)",
            m["multiclass_rel_error_ids"],
            "<=",
            EXACT_TOL,
            quantity="relative difference between jaxnn.cross_entropy given the class numbers "
            "and -sum y ln p in float64, over 1000 observations of 5 classes",
        ),
        check(
            "Multi-class cross-entropy is -sum y ln p, y being the one-hot labels "
            "(jaxnn given the one-hot labels)",
            m["multiclass_rel_error_one_hot"],
            "<=",
            EXACT_TOL,
            quantity="relative difference between jaxnn.cross_entropy given the one-hot "
            "labels and -sum y ln p in float64, over 1000 observations of 5 classes",
        ),
        check(
            "With two classes, multi-class cross-entropy is the binary cross-entropy of the "
            "difference of the two scores",
            m["two_class_ce_minus_binary_ce"],
            "<=",
            EXACT_TOL,
            quantity="difference between the two (mean over 1000 observations)",
        ),
    ]


COUNTEREXAMPLE = {
    "doors_probability": 0.5,
    "doors_cross_entropy": 0.75,
    "doors_outcomes_probability_sum": 0.9,
    "doors_outcomes_max_abs_ce_plus_ln_p": 0.1,
    "two_models_agree": 0,
    "fitted_cross_entropy": 40.0,
    "hand_cross_entropy": 30.0,
    "random_pairs_discordant": 12,
    "random_models_zero_likelihood": 3,
    "multiclass_rel_error_ids": 0.1,
    "multiclass_rel_error_one_hot": 0.1,
    "two_class_ce_minus_binary_ce": 0.1,
}

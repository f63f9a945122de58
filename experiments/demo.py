"""A short tour of the course, trained for real, printing its numbers.

    python -m experiments demo

Five moments of the course in half a minute on 2 CPU cores, before the full
reproduction (``make run``, every lesson at 20 seeds): logic gates, the perceptron
trick, logistic regression on breast-cancer data, an MLP on two moons against a
linear model, and an MLP on the digits, each with the number it reaches on this run.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp

import jaxnn
from jaxnn.data import Standardizer, train_val_test_split

SEED = 0
PERCEPTRON_EPOCHS = 25  # the course's quiz runs 25 epochs at rate 0.01
MOONS_N = 1024  # enough points that the curved boundary is well determined
MOONS_EPOCHS = 500  # full-batch momentum converges well within this
LOGREG_EPOCHS = 300
DIGITS_EPOCHS = 40  # early stopping (patience 10) ends it sooner


def _split(key, x, y, val=0.2, test=0.2):
    s = train_val_test_split(key, x, y, val=val, test=test)
    scaler = Standardizer.fit(s.train[0])
    return [(scaler.transform(part[0]), part[1]) for part in s]


def _test_accuracy(result, model, test, loss):
    logits = model.apply(result.best_params, test[0])
    return float(jaxnn.evaluate(loss, logits, test[1])[1])


def main(seed: int = SEED) -> dict[str, float]:
    """Run the tour; return and print its numbers."""
    key = jax.random.key(seed)
    out: dict[str, float] = {}
    t0 = time.perf_counter()

    corners = jnp.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    print("Lesson 2, logic gates on (0,0), (0,1), (1,0), (1,1):")
    for name in ("and", "or", "nand", "xor"):
        print(f"  {name.upper():>4}: {jaxnn.gate(name)(corners).astype(int).tolist()}")

    x, y = jaxnn.data.load_course_points()
    _, hist = jaxnn.perceptron_fit(
        x, y, learning_rate=0.01, epochs=PERCEPTRON_EPOCHS, key=jax.random.fold_in(key, 1)
    )
    out["perceptron_accuracy"] = float(hist.accuracy[-1])
    print(
        f"Lesson 3, perceptron trick on the course's 100 points: accuracy "
        f"{float(hist.accuracy[0]):.2f} -> {out['perceptron_accuracy']:.2f} "
        f"after {PERCEPTRON_EPOCHS} epochs (the set is not separable)"
    )

    train, val, test = _split(jax.random.fold_in(key, 2), *jaxnn.data.load_breast_cancer())
    logreg = jaxnn.MLP((30, 1))
    cfg = jaxnn.FitConfig(learning_rate=0.1, l2=1e-3, epochs=LOGREG_EPOCHS)
    res = jaxnn.fit(jax.random.fold_in(key, 3), logreg, train, val, cfg)
    out["breast_cancer_test_accuracy"] = _test_accuracy(res, logreg, test, "binary")
    print(
        "Lesson 6, logistic regression by gradient descent on breast cancer: test accuracy "
        f"{out['breast_cancer_test_accuracy']:.3f}"
    )

    train, val, test = _split(
        jax.random.fold_in(key, 4), *jaxnn.data.make_moons(jax.random.fold_in(key, 5), MOONS_N)
    )
    cfg = jaxnn.FitConfig(learning_rate=0.1, momentum=0.9, epochs=MOONS_EPOCHS)
    for name, model in (("linear", jaxnn.MLP((2, 1))), ("mlp", jaxnn.MLP((2, 32, 32, 1), "tanh"))):
        res = jaxnn.fit(jax.random.fold_in(key, 6), model, train, val, cfg)
        out[f"moons_{name}_test_accuracy"] = _test_accuracy(res, model, test, "binary")
    print(
        "Lesson 8, two moons: test accuracy linear "
        f"{out['moons_linear_test_accuracy']:.3f} vs MLP 2-32-32-1 "
        f"{out['moons_mlp_test_accuracy']:.3f}"
    )

    train, val, test = _split(jax.random.fold_in(key, 7), *jaxnn.data.load_digits())
    net = jaxnn.MLP((64, 128, 10))
    cfg = jaxnn.FitConfig(
        loss="multiclass",
        learning_rate=0.05,
        momentum=0.9,
        decay="step",
        decay_rate=0.95,
        dropout=0.2,
        l2=1e-4,
        batch_size=32,
        epochs=DIGITS_EPOCHS,
        patience=10,
    )
    res = jaxnn.fit(jax.random.fold_in(key, 8), net, train, val, cfg)
    out["digits_test_accuracy"] = _test_accuracy(res, net, test, "multiclass")
    print(
        "Lessons 9-16, digits MLP 64-128-10 (mini-batch 32, momentum, step decay, dropout, L2, "
        f"early stopping): test accuracy {out['digits_test_accuracy']:.3f}, "
        f"best epoch {int(res.best_epoch)} of {int(res.epochs_run)} run"
    )
    print(f"Done in {time.perf_counter() - t0:.1f} s.")
    return out

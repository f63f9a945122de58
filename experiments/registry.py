"""The lesson experiments, in course order, and running them."""

from __future__ import annotations

import importlib
import os
import time

import jax

from experiments.core import Outcome, save_outcome

LESSONS = (
    "lesson01_linear_boundaries",
    "lesson02_logic_gates",
    "lesson03_perceptron_trick",
    "lesson04_sigmoid_softmax",
    "lesson05_cross_entropy",
    "lesson06_logistic_regression",
    "lesson07_gd_vs_perceptron",
    "lesson08_mlp_nonlinear",
    "lesson09_early_stopping",
    "lesson10_regularisation",
    "lesson11_dropout",
    "lesson12_random_restarts",
    "lesson13_vanishing_gradients",
    "lesson14_batch_vs_stochastic",
    "lesson15_learning_rate_decay",
    "lesson16_momentum",
)


def available() -> list[str]:
    """Lesson names whose module exists (all of :data:`LESSONS` once written)."""
    here = os.path.join(os.path.dirname(__file__), "lessons")
    return [n for n in LESSONS if os.path.exists(os.path.join(here, f"{n}.py"))]


def load(name: str):
    """The module of lesson ``name`` (a full name, or its number such as ``"7"``)."""
    names = available()
    if name.isdigit():
        match = [n for n in names if int(n[6:8]) == int(name)]
    else:
        match = [n for n in names if n == name or n.split("_", 1)[1] == name]
    if not match:
        raise SystemExit(f"unknown experiment {name!r}; `python -m experiments list` shows them")
    return importlib.import_module(f"experiments.lessons.{match[0]}")


def run_one(name: str, *, seed: int = 0, out: str = "results", quick: bool = False) -> Outcome:
    """Run one lesson into ``out/<name>/`` and save its ``metrics.json``."""
    module = load(name)
    out_dir = os.path.join(out, module.__name__.rsplit(".", 1)[1])
    key = jax.random.fold_in(jax.random.key(seed), module.LESSON)
    t0 = time.perf_counter()
    outcome = module.run(key, out_dir, quick=quick)
    outcome.seconds = time.perf_counter() - t0
    save_outcome(outcome, out_dir)
    return outcome

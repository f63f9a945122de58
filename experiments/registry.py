"""The lesson experiments, in course order, and running them over seeds."""

from __future__ import annotations

import importlib
import os
import re
import time
from collections.abc import Callable, Sequence

import jax

from experiments.core import LessonResult, Outcome, save_result

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
SEEDS = 20  # seeds of a full run: a claim holds at >= 19 of them (core.required)


def available() -> list[str]:
    """Lesson names whose module exists (all of :data:`LESSONS` once written)."""
    here = os.path.join(os.path.dirname(__file__), "lessons")
    return [n for n in LESSONS if os.path.exists(os.path.join(here, f"{n}.py"))]


def resolve(name: str) -> str:
    """The full name of lesson ``name``: its number (``7``, ``07``), ``lesson7`` /
    ``lesson07``, its full name or its topic (``gd_vs_perceptron``, dashes allowed).

    Raises:
      ValueError: no lesson (or more than one) answers to ``name``, listing them.
    """
    names = available()
    word = name.strip().lower().replace("-", "_")
    number = re.fullmatch(r"(?:lesson_?)?0*(\d+)", word)
    if number:
        match = [n for n in names if int(n[6:8]) == int(number.group(1))]
    else:
        match = [n for n in names if word in (n, n.split("_", 1)[1])]
    if len(match) != 1:
        raise ValueError(
            f"unknown lesson {name!r}: give its number (1-16, 01, lesson1) or its name, "
            f"one of {', '.join(names)}"
        )
    return match[0]


def load(name: str):
    """The module of lesson ``name`` (anything :func:`resolve` accepts)."""
    return importlib.import_module(f"experiments.lessons.{resolve(name)}")


def lesson_key(module, seed: int) -> jax.Array:
    """The key of lesson ``module`` at ``seed``: ``fold_in(key(seed), LESSON)``."""
    return jax.random.fold_in(jax.random.key(seed), module.LESSON)


def run_lesson(
    name: str,
    seeds: Sequence[int] = (0,),
    *,
    out: str = "results",
    quick: bool = False,
    on_seed: Callable[[int, Outcome], None] | None = None,
) -> LessonResult:
    """Run lesson ``name`` at every seed of ``seeds`` into ``out/<name>/``, figures at
    the first seed, and save its ``metrics.json``; ``on_seed(seed, outcome)`` is
    called as each seed finishes (with ``run_seeds``, all at the end).

    A lesson with ``run_seeds`` trains every seed at once; otherwise ``run`` runs
    seed by seed (the compiled programs are shared, so a seed after the first
    compiles nothing). Seed ``s`` gives the same numbers in any run that contains it.
    """
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds}")
    module = load(name)
    out_dir = os.path.join(out, module.__name__.rsplit(".", 1)[1])
    t0 = time.perf_counter()
    if hasattr(module, "run_seeds"):
        keys = jax.numpy.stack([lesson_key(module, s) for s in seeds])
        outcomes = module.run_seeds(keys, out_dir, quick=quick)
        for s, o in zip(seeds, outcomes, strict=True):
            if on_seed is not None:
                on_seed(s, o)
    else:
        outcomes = []
        for i, s in enumerate(seeds):
            t1 = time.perf_counter()
            o = module.run(lesson_key(module, s), out_dir if i == 0 else None, quick=quick)
            o.seconds = time.perf_counter() - t1
            outcomes.append(o)
            if on_seed is not None:
                on_seed(s, o)
    result = LessonResult.from_outcomes(
        seeds, outcomes, quick=quick, seconds=time.perf_counter() - t0
    )
    save_result(result, out_dir)
    return result

"""scikit-learn peer: ``sklearn.neural_network.MLPClassifier`` (NumPy, solver ``"sgd"``).

W1: restart ``i`` is ``MLPClassifier(hidden_layer_sizes=(32, 32), activation="tanh",
solver="sgd", learning_rate_init=0.1, momentum=0.9, nesterovs_momentum=False,
batch_size=1024, shuffle=False, alpha=0.0, max_iter=epochs, tol=0.0,
n_iter_no_change=epochs + 1, random_state=i)``: ``epochs`` full-batch steps, never
stopped early (``ConvergenceWarning`` silenced). Its binary loss is the log-loss of a
logistic output, the workload's mean BCE, and its momentum ``v <- 0.9 v - lr g;
w <- w + v`` is the heavy ball ``v <- 0.9 v + g; w <- w - lr v`` at constant lr.
The final loss is the mean BCE of ``predict_proba`` on the whole set (clipped to
``[1e-7, 1 - 1e-7]``), i.e. of the final params (``loss_curve_[-1]`` would be the
loss before the last update).

W2: ``MLPClassifier(hidden_layer_sizes=(128,), activation="relu", solver="sgd",
batch_size=32, momentum=0.9, nesterovs_momentum=False, learning_rate_init=0.05,
alpha=2 * 1e-4 * 32)`` trained with one ``partial_fit`` per epoch (in scikit-learn
1.9 each call is exactly one pass over the data in batches of 32, the last one of
30, reshuffled when ``shuffle=True``, and it keeps its ``_optimizer``, velocities
included). scikit-learn has no per-epoch exponential schedule, so between epochs the
private ``_optimizer.learning_rate`` is set to ``0.05 * 0.95^e`` and the velocities
are multiplied by 0.95: scikit-learn's velocity is ``-lr`` times the heavy ball's,
so this keeps the update exactly the workload's ``w <- w - lr_e (0.9 v + g)``. The
seed is a ``np.random.RandomState`` instance, not an int: ``partial_fit`` calls
``check_random_state`` every time, and with an int every epoch would repeat the same
permutation. (``warm_start=True`` with ``max_iter=1`` would be wrong: every ``fit``
makes a new optimizer, resetting the velocities.) Test accuracy: ``clf.score``.

Deviations from the workloads (scikit-learn cannot express them without rewriting
its internals): its own init, Glorot-uniform weights *and biases* in
``+-sqrt(6 / (fan_in + fan_out))``, not the workloads' truncated normal and zero
biases; W2 has no dropout; W2's L2 gradient is ``alpha W / batch_rows``, so the
workload's ``2e-4 W`` holds for the 44 batches of 32 and is ``2.13e-4 W`` for the
last batch of 30. Timing: W1 trains and times at most 16 restarts when warming up
(``timed_restarts``; time is linear in restarts, the driver scales), all ``n`` with
``warmup=False``. scikit-learn compiles nothing: the warm-up is one tiny fit (one
epoch) to load and initialise everything, and ``warmup_s = 0``. Threads: NumPy's
BLAS is limited to ``$JAXNN_BENCH_THREADS`` (default 2) with ``threadpoolctl``.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from experiments.bench.peers import w1_result, w2_result
from experiments.bench.peers import workloads as wl

REQUIRES = ("sklearn",)
MAX_TIMED_RESTARTS = 16
"""W1 restarts trained and timed at most (when warm-up is on); the driver scales."""
EPS = 1e-7
THREADS_ENV = "JAXNN_BENCH_THREADS"
DEFAULT_THREADS = 2


def _threads() -> int:
    """Threads for BLAS: ``$JAXNN_BENCH_THREADS``, default 2."""
    return int(os.environ.get(THREADS_ENV, DEFAULT_THREADS))


def _w1_classifier(seed: int, epochs: int, n_points: int) -> MLPClassifier:
    """An unfitted W1 model: full-batch heavy-ball SGD for exactly ``epochs`` epochs."""
    return MLPClassifier(
        hidden_layer_sizes=wl.W1_SIZES[1:-1],
        activation=wl.W1_ACTIVATION,
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=wl.W1_LR,
        momentum=wl.W1_MOMENTUM,
        nesterovs_momentum=False,
        batch_size=n_points,
        shuffle=False,
        alpha=0.0,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        early_stopping=False,
        random_state=seed,
    )


def _bce(clf: MLPClassifier, x: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy of ``clf``'s probabilities of class 1 on ``(x, y)``."""
    p = np.clip(clf.predict_proba(x)[:, 1].astype(np.float64), EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def _train_w1(x: np.ndarray, y: np.ndarray, restarts: int, epochs: int) -> list[float]:
    """Fit restarts ``0 .. restarts - 1`` one after another; their final losses."""
    losses = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(restarts):
            clf = _w1_classifier(seed, epochs, x.shape[0]).fit(x, y)
            losses.append(_bce(clf, x, y))
    return losses


def w1(data: dict[str, np.ndarray], n: int, epochs: int, *, warmup: bool = True) -> dict:
    """W1: a loop of ``MLPClassifier.fit`` over restarts (at most 16 timed with warm-up)."""
    x, y = data["w1_x"], data["w1_y"].astype(np.int64)
    threads = _threads()
    restarts = n
    note = (
        f"scikit-learn MLPClassifier sgd, {threads} BLAS threads, own Glorot-uniform init "
        "(weights and biases)"
    )
    with threadpool_limits(limits=threads):
        if warmup:
            _train_w1(x, y, 1, 1)
            restarts = min(n, MAX_TIMED_RESTARTS)
            note += "; warm-up: one 1-epoch fit, warmup_s = 0 (nothing to compile)"
        start = time.perf_counter()
        losses = _train_w1(x, y, restarts, epochs)
        seconds = time.perf_counter() - start
    if restarts < n:
        note += f"; {restarts} of {n} restarts timed (time is linear in restarts)"
    return w1_result(
        seconds=seconds, warmup_s=0.0, final_losses=losses, timed_restarts=restarts, note=note
    )


def _w2_classifier(seed: int) -> MLPClassifier:
    """An unfitted W2 model (no dropout: scikit-learn has none)."""
    return MLPClassifier(
        hidden_layer_sizes=wl.W2_SIZES[1:-1],
        activation=wl.W2_ACTIVATION,
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=wl.W2_LR,
        momentum=wl.W2_MOMENTUM,
        nesterovs_momentum=False,
        batch_size=wl.W2_BATCH,
        shuffle=True,
        alpha=2 * wl.W2_L2 * wl.W2_BATCH,
        early_stopping=False,
        random_state=np.random.RandomState(seed),
    )


def _decay_learning_rate(clf: MLPClassifier, epoch: int) -> None:
    """Set epoch ``epoch``'s lr, rescaling the velocities so that the update stays
    the heavy ball's (scikit-learn's velocity is ``-lr`` times the heavy ball's)."""
    opt = clf._optimizer
    new_lr = wl.W2_LR * wl.W2_DECAY**epoch
    opt.velocities = [v * (new_lr / opt.learning_rate) for v in opt.velocities]
    opt.learning_rate = new_lr


def _train_w2(data: dict[str, np.ndarray], epochs: int, seed: int = 0) -> float:
    """Train the W2 model, one ``partial_fit`` per epoch; return its test accuracy."""
    x, y = data["w2_x_train"], data["w2_y_train"]
    clf = _w2_classifier(seed)
    classes = np.arange(wl.W2_SIZES[-1])
    for epoch in range(epochs):
        if epoch:
            _decay_learning_rate(clf, epoch)
        clf.partial_fit(x, y, classes=classes)
    return float(clf.score(data["w2_x_test"], data["w2_y_test"]))


def w2(data: dict[str, np.ndarray], epochs: int) -> dict:
    """W2 with ``MLPClassifier.partial_fit`` per epoch (no dropout, own init)."""
    threads = _threads()
    with threadpool_limits(limits=threads):
        _train_w2(data, 1)
        start = time.perf_counter()
        accuracy = _train_w2(data, epochs)
        seconds = time.perf_counter() - start
    return w2_result(
        seconds=seconds,
        warmup_s=0.0,
        test_accuracy=accuracy,
        note=(
            f"scikit-learn MLPClassifier sgd, {threads} BLAS threads, partial_fit per epoch "
            "with lr 0.05 * 0.95^e (velocities rescaled to stay heavy ball); no dropout; "
            "own Glorot-uniform init; L2 via alpha = 2e-4 * 32 (exact for batches of 32, "
            "the last batch of 30 gets 32/30 of it); warm-up: one 1-epoch fit, "
            "warmup_s = 0 (nothing to compile)"
        ),
    )

"""Benchmark: jaxnn.fit against a hand-written JAX + optax ``lax.scan`` loop.

    python -m experiments bench fit [--quick] [--out results/bench]

Two workloads, each trained by both in the same process, same data, same model,
same update rule and the same per-epoch work (an update pass, then the training
loss and accuracy of the epoch's params on the whole set):

* full batch: two moons (noise 0.2), n = 1024 standardised, MLP 2-32-32-1 tanh,
  binary cross-entropy, heavy-ball momentum 0.9, lr 0.1, 500 epochs;
* mini-batch: digits (80/20 split, the training part cut to whole batches: 1408),
  MLP 64-128-10 relu, batch 32 reshuffled every epoch, momentum 0.9, lr 0.05,
  20 epochs.

Prints steps (updates) per second for each, the ratio jaxnn / reference (target
>= 0.95), compile time apart, and the extra time a progress bar costs (the fit
run in chunks of epochs with a tqdm update between them; target < 5%); writes
``fit.json`` to ``--out``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time

import jax
import jax.numpy as jnp
import optax

import jaxnn
from jaxnn.data import standardize

REPEATS = 5  # medians over repeated timed runs; min and max also reported


def _reference_fit(x, y, sizes, activation, lr, beta, epochs, batch, loss):
    """The textbook hand-written loop: init, scan over epochs, scan over batches."""
    act = jaxnn.get_activation(activation)
    n = x.shape[0]
    nb = n // batch
    opt = optax.sgd(lr, momentum=beta)

    def apply(params, xb):
        h = xb
        for layer in params[:-1]:
            h = act(h @ layer["w"] + layer["b"][None, :])
        return h @ params[-1]["w"] + params[-1]["b"][None, :]

    def ce(logits, yb):
        if loss == "binary":
            z = logits[:, 0]
            return jnp.mean(-(yb * jax.nn.log_sigmoid(z) + (1 - yb) * jax.nn.log_sigmoid(-z)))
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, yb))

    def acc(logits, yb):
        pred = (logits[:, 0] >= 0).astype(jnp.int32) if loss == "binary" else logits.argmax(-1)
        return jnp.mean((pred == yb.astype(jnp.int32)).astype(jnp.float32))

    @jax.jit
    def run(key):
        params = jaxnn.init_mlp(jax.random.fold_in(key, 0), sizes, activation=activation)
        opt_state = opt.init(params)

        def step(carry, idx):
            params, opt_state = carry
            xb, yb = (x, y) if idx is None else (x[idx], y[idx])
            grads = jax.grad(lambda p: ce(apply(p, xb), yb))(params)
            updates, opt_state = opt.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        def epoch(carry, e):
            if nb == 1:
                carry, _ = step(carry, None)
            else:
                perm = jax.random.permutation(jax.random.fold_in(key, e), n)[: nb * batch]
                carry, _ = jax.lax.scan(step, carry, perm.reshape(nb, batch))
            logits = apply(carry[0], x)
            return carry, (ce(logits, y), acc(logits, y))

        (params, _), hist = jax.lax.scan(epoch, (params, opt_state), jnp.arange(epochs))
        return params, hist

    return run


def median_time(fn, repeats):
    """``(first call's seconds, median seconds of repeats, sorted repeat times)``."""
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    times.sort()
    return first, times[len(times) // 2], times


def _workload(name, x, y, sizes, activation, lr, epochs, batch, loss, repeats):
    key = jax.random.key(0)
    n = x.shape[0]
    model = jaxnn.MLP(sizes, activation)
    config = jaxnn.FitConfig(
        loss=loss, learning_rate=lr, momentum=0.9, epochs=epochs, batch_size=batch
    )
    if n % batch:
        raise ValueError(f"use n divisible by the batch size for like-for-like work, got {n}")
    nb = n // batch
    ref = _reference_fit(x, y, sizes, activation, lr, 0.9, epochs, batch, loss)
    ref_steps = epochs * nb
    j_first, j_med, j_times = median_time(
        lambda: jaxnn.fit(key, model, (x, y), config=config).params, repeats
    )
    r_first, r_med, r_times = median_time(lambda: ref(key)[0], repeats)
    row = {
        "workload": name,
        "updates": epochs * nb,
        "jaxnn_steps_per_s": epochs * nb / j_med,
        "reference_steps_per_s": ref_steps / r_med,
        "jaxnn_s": {"median": j_med, "min": j_times[0], "max": j_times[-1]},
        "reference_s": {"median": r_med, "min": r_times[0], "max": r_times[-1]},
        "jaxnn_compile_s": j_first - j_med,
        "reference_compile_s": r_first - r_med,
    }
    row["ratio"] = row["jaxnn_steps_per_s"] / row["reference_steps_per_s"]
    # The cost of a progress bar: the same fit in chunks of epochs, a tqdm update
    # between chunks (output to a null stream so the terminal is not measured).
    with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
        _, p_med, _ = median_time(
            lambda: jaxnn.fit(key, model, (x, y), config=config, progress=True).params, repeats
        )
    row["progress_overhead"] = p_med / j_med - 1
    return row


def main(quick: bool = False, out: str = "results/bench") -> list[dict]:
    repeats = 2 if quick else REPEATS
    x, y = jaxnn.data.make_moons(jax.random.key(1), 256 if quick else 1024, noise=0.2)
    rows = [
        _workload(
            "full-batch moons 2-32-32-1 tanh",
            standardize(x),
            y.astype(jnp.float32),
            (2, 32, 32, 1),
            "tanh",
            0.1,
            50 if quick else 500,
            x.shape[0],
            "binary",
            repeats,
        )
    ]
    xd, yd = jaxnn.data.load_digits()
    split = jaxnn.data.train_val_test_split(jax.random.key(2), xd, yd, val=0.0, test=0.2)
    xt, yt = split.train
    keep = 320 if quick else xt.shape[0] // 32 * 32  # whole batches: identical work in both
    xt, yt = xt[:keep], yt[:keep]
    rows.append(
        _workload(
            "mini-batch digits 64-128-10 relu, batch 32",
            xt,
            yt,
            (64, 128, 10),
            "relu",
            0.05,
            2 if quick else 20,
            32,
            "multiclass",
            repeats,
        )
    )
    head = ("workload", "jaxnn steps/s", "reference", "ratio", "compile s (j/r)", "progress")
    print(f"{head[0]:44} {head[1]:>14} {head[2]:>11} {head[3]:>6} {head[4]:>16} {head[5]:>9}")
    for r in rows:
        print(
            f"{r['workload']:44} {r['jaxnn_steps_per_s']:14.0f} {r['reference_steps_per_s']:11.0f} "
            f"{r['ratio']:6.2f} {r['jaxnn_compile_s']:8.2f}/{r['reference_compile_s']:<7.2f} "
            f"{r['progress_overhead']:+9.1%}"
        )
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "fit.json"), "w") as f:
        json.dump({"device": str(jax.devices()[0]), "rows": rows}, f, indent=2)
    return rows

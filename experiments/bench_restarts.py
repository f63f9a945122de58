"""Benchmark W1: a restart study, jaxnn against a hand-written reference and a Python loop.

    python -m experiments bench restarts [--quick] [--out results/bench]

Two moons (noise 0.2), n = 1024 standardised, MLP 2-32-32-1 tanh, binary
cross-entropy, full-batch heavy-ball momentum 0.9, lr 0.1, 500 epochs, N in
{1, 16, 128} restarts. In one process, side by side:

* jaxnn: ``jaxnn.restarts`` (members sharded over every host device);
* reference: hand-written JAX + optax, the best we could make it: feature-major
  activations, ``jax.vmap`` over restarts of a ``lax.scan`` over epochs, restarts
  sharded over the same devices, and the same per-epoch work as jaxnn (an update,
  then the training loss and accuracy of the new params on the whole set);
* python_loop: a Python loop over restarts and epochs of one jit-compiled step
  (at N = 128 timed on 16 restarts and scaled, since it grows linearly).

Reported in restart-epochs per second (medians of repeated runs), compile time
apart, and achieved GFLOP/s counting ``6 n W`` FLOPs per restart-epoch (W = number
of weights; forward 2nW, backward 4nW; the per-epoch evaluation's 2nW is not
counted) against the f32 matmul peak measured in the same run. Writes
``restarts.json`` to ``--out``: one object per N.
"""

from __future__ import annotations

import functools
import itertools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxnn
from experiments.bench_fit import median_time as _median_time

SIZES = (2, 32, 32, 1)
REPEATS = 3  # medians of repeated timed runs


def _apply_fm(params, xt):
    """Feature-major forward: xt (d, n) -> logits (n,)."""
    h = xt
    for layer in params[:-1]:
        h = jnp.tanh(layer["w"].T @ h + layer["b"][:, None])
    return (params[-1]["w"].T @ h + params[-1]["b"][:, None])[0]


def _bce(z, y):
    return jnp.mean(-(y * jax.nn.log_sigmoid(z) + (1 - y) * jax.nn.log_sigmoid(-z)))


def _reference(x, y, epochs, lr, beta):
    xt = x.T
    opt = optax.sgd(lr, momentum=beta)

    def one(key):
        params = jaxnn.init_mlp(jax.random.fold_in(key, 0), SIZES, activation="tanh")

        def epoch(carry, _):
            p, s = carry
            g = jax.grad(lambda q: _bce(_apply_fm(q, xt), y))(p)
            u, s = opt.update(g, s, p)
            p = optax.apply_updates(p, u)
            z = _apply_fm(p, xt)
            acc = jnp.mean(((z >= 0).astype(jnp.float32) == y).astype(jnp.float32))
            return (p, s), (_bce(z, y), acc)

        (p, _), hist = jax.lax.scan(epoch, (params, opt.init(params)), None, length=epochs)
        return p, hist

    return jax.jit(jax.vmap(one))


def _python_loop(x, y, n, epochs, lr, beta):
    opt = optax.sgd(lr, momentum=beta)

    @jax.jit
    def step(p, s):
        g = jax.grad(lambda q: _bce(jaxnn.mlp_apply(q, x, activation="tanh")[:, 0], y))(p)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s

    def run():
        out = []
        for r in range(n):
            p = jaxnn.init_mlp(jax.random.fold_in(jax.random.key(r), 0), SIZES, activation="tanh")
            s = opt.init(p)
            for _ in range(epochs):
                p, s = step(p, s)
            out.append(p)
        return out

    return run


def matmul_peak_gflops(size: int = 2048, repeats: int = 5) -> float:
    """f32 matmul GFLOP/s of this machine: one large matmul per device, all at once."""
    devices = jax.devices()
    mesh = Mesh(np.array(devices), ("d",))
    a = jax.device_put(
        jnp.ones((len(devices), size, size), jnp.float32), NamedSharding(mesh, P("d"))
    )
    f = jax.jit(lambda m: jnp.einsum("bij,bjk->bik", m, m))
    _, med, _ = _median_time(lambda: f(a), repeats)
    return 2 * len(devices) * size**3 / med / 1e9


def main(quick: bool = False, out: str = "results/bench") -> list[dict]:
    n_points, epochs = (256, 50) if quick else (1024, 500)
    ns = (1, 4) if quick else (1, 16, 128)
    repeats = 1 if quick else REPEATS
    x, y = jaxnn.data.make_moons(jax.random.key(0), n_points, noise=0.2)
    x = jaxnn.data.standardize(x)
    yf = y.astype(jnp.float32)
    model = jaxnn.MLP(SIZES, "tanh")
    config = jaxnn.FitConfig(learning_rate=0.1, momentum=0.9, epochs=epochs)
    weights = sum(a * b for a, b in itertools.pairwise(SIZES))
    flops = 6 * n_points * weights  # per restart-epoch
    devices = jax.devices()
    mesh = Mesh(np.array(devices), ("members",))
    peak = matmul_peak_gflops()
    rows = []
    for n in ns:
        key = jax.random.key(1)
        study = functools.partial(jaxnn.restarts, key, model, (x, y), config=config, n=n)
        j_first, j_med, _ = _median_time(lambda s=study: s().results.params, repeats)
        keys = jax.vmap(functools.partial(jax.random.fold_in, key))(jnp.arange(n))
        if n % len(devices) == 0:
            keys = jax.device_put(keys, NamedSharding(mesh, P("members")))
        ref = functools.partial(_reference(x, yf, epochs, 0.1, 0.9), keys)
        r_first, r_med, _ = _median_time(ref, repeats)
        loop_n = min(n, 4 if quick else 16)
        _, l_med, _ = _median_time(_python_loop(x, yf, loop_n, epochs, 0.1, 0.9), 1)
        row = {
            "N": n,
            "devices": len(devices),
            "jaxnn": n * epochs / j_med,
            "reference": n * epochs / r_med,
            "python_loop": loop_n * epochs / l_med,
            "python_loop_timed_restarts": loop_n,
            "jaxnn_compile_s": j_first - j_med,
            "reference_compile_s": r_first - r_med,
            "flops_per_restart_epoch": flops,
            "peak_gflops": peak,
        }
        row["jaxnn_gflops"] = row["jaxnn"] * flops / 1e9
        row["reference_gflops"] = row["reference"] * flops / 1e9
        row["jaxnn_vs_reference"] = row["jaxnn"] / row["reference"]
        row["jaxnn_vs_python_loop"] = row["jaxnn"] / row["python_loop"]
        rows.append(row)
        print(
            f"N={n:4d}: jaxnn {row['jaxnn']:9.0f}  reference {row['reference']:9.0f}  "
            f"python loop {row['python_loop']:7.0f} restart-epochs/s | "
            f"x{row['jaxnn_vs_reference']:.2f} ref, x{row['jaxnn_vs_python_loop']:.0f} loop | "
            f"{row['jaxnn_gflops']:.0f} GFLOP/s = {row['jaxnn_gflops'] / peak:.0%} of "
            f"{peak:.0f} peak | compile {row['jaxnn_compile_s']:.2f}/"
            f"{row['reference_compile_s']:.2f} s",
            flush=True,
        )
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "restarts.json"), "w") as f:
        json.dump(rows, f, indent=2)
    return rows

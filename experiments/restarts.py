"""A restart study on one of the course's 2-D data sets (lesson 12), from the shell.

    python -m experiments restarts --data xor --sizes 2,2,1 --activation sigmoid \\
        --n 200 --epochs 2000 --lr 1.0 --out results/restarts

Trains N random restarts of one MLP at once (jaxnn.study.restarts, sharded over
every host device), prints the summary (min / median / max loss, the fraction of
restarts within --tol of the best, the expected best-of-k loss) and saves three
figures under --out: a histogram of the restarts' losses, the best-of-k curve, and
the decision boundaries of the best and the worst restart. ``--host-devices`` sets
``XLA_FLAGS=--xla_force_host_platform_device_count`` for this process (before jax
is imported) so the restarts split over the CPU cores.

Across processes (``jax.distributed``; see :mod:`jaxnn.distributed`), every
process runs this same command with its own settings, and process 0 prints and
writes the results::

    # two processes on this machine, started for you (127.0.0.1, a free port):
    python -m experiments restarts --local-processes 2 --n 256
    # or by hand / by a scheduler, one command per process:
    python -m experiments restarts --coordinator 10.0.0.1:1234 --num-processes 2 --process-id 0
    # SLURM, Open MPI or Cloud TPU (JAX detects the settings):
    srun python -m experiments restarts --distributed

``--checkpoint-dir`` saves the study as it trains (orbax, every process taking
part) and resumes it, with the same or another number of processes.
"""

from __future__ import annotations

import json
import os

DATASETS = ("moons", "circles", "xor", "spirals", "blobs", "course")


def add_arguments(parser) -> None:
    parser.add_argument("--data", choices=DATASETS, default="xor")
    parser.add_argument("--n-points", type=int, default=400, help="examples (not for 'course')")
    parser.add_argument("--noise", type=float, default=None, help="generator noise")
    parser.add_argument("--sizes", default="2,2,1", help="layer sizes, comma-separated")
    parser.add_argument("--activation", choices=("sigmoid", "tanh", "relu"), default="sigmoid")
    parser.add_argument("--n", type=int, default=100, help="number of restarts N")
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--momentum", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--tol", type=float, default=1e-2, help="'within tolerance' of the best")
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--out", default="results/restarts")
    parser.add_argument("--checkpoint-dir", default=None, help="save and resume the study here")
    parser.add_argument("--save-losses", action="store_true", help="also write losses.npz")
    dist = parser.add_argument_group(
        "across processes (jax.distributed; see jaxnn.distributed for the timeouts)"
    )
    dist.add_argument(
        "--local-processes",
        type=int,
        default=None,
        help="start this many processes of the study on 127.0.0.1 (a local launcher)",
    )
    dist.add_argument(
        "--distributed",
        action="store_true",
        help="join a multi-process run whose settings JAX detects (SLURM, Open MPI, TPU) "
        "or that JAX_COORDINATOR_ADDRESS / JAXNN_NUM_PROCESSES / JAXNN_PROCESS_ID give",
    )
    dist.add_argument("--coordinator", default=None, help="host:port of process 0")
    dist.add_argument("--num-processes", type=int, default=None)
    dist.add_argument("--process-id", type=int, default=None)
    dist.add_argument("--init-timeout", type=int, default=None, help="seconds (default 120)")
    dist.add_argument("--heartbeat-timeout", type=int, default=None, help="seconds (default 30)")


def is_distributed(args) -> bool:
    """Whether this process joins a multi-process run."""
    from jaxnn.distributed import ENV_NUM_PROCESSES

    return bool(
        args.distributed
        or args.coordinator
        or args.num_processes
        or os.environ.get(ENV_NUM_PROCESSES)
    )


def join(args) -> None:
    """``jaxnn.distributed.initialize`` with the command line's settings."""
    from jaxnn import distributed

    timeouts = {}
    if args.init_timeout is not None:
        timeouts["initialization_timeout"] = args.init_timeout
    if args.heartbeat_timeout is not None:
        timeouts["heartbeat_timeout"] = args.heartbeat_timeout
    distributed.initialize(args.coordinator, args.num_processes, args.process_id, **timeouts)


def launch(args, argv: list[str]) -> int:
    """Run this command as ``--local-processes`` processes; process 0's exit status."""
    import sys

    from jaxnn.distributed import launch_local

    child = [a for a in argv if not a.startswith("--local-processes")]
    if "--local-processes" in argv:  # "--local-processes K" as two words
        i = argv.index("--local-processes")
        child = argv[:i] + argv[i + 2 :]
    return launch_local(
        [sys.executable, "-m", "experiments", *child],
        args.local_processes,
        devices_per_process=args.host_devices or 1,
    )


def load(name: str, key, n_points: int, noise: float | None):
    """(x, y) standardised for a data set name of :data:`DATASETS`."""
    import jaxnn.data as data

    if name == "course":
        x, y = data.load_course_points()
    else:
        make = getattr(data, f"make_{name}")
        kwargs = {} if noise is None else {"noise": noise}
        x, y = make(key, n_points, **kwargs)
    return data.standardize(x), y


def run(args) -> dict:
    if is_distributed(args):
        join(args)
    import jax
    import numpy as np

    import jaxnn
    from jaxnn import study

    key = jax.random.key(args.seed)
    x, y = load(args.data, jax.random.fold_in(key, 1), args.n_points, args.noise)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    model = jaxnn.MLP(sizes, args.activation)
    config = jaxnn.FitConfig(
        learning_rate=args.lr,
        momentum=args.momentum,
        epochs=args.epochs,
        batch_size=args.batch_size,
    )
    s = study.restarts(
        jax.random.fold_in(key, 2),
        model,
        (x, y),
        config=config,
        n=args.n,
        tol=args.tol,
        chunk_size=args.chunk_size,
        progress=args.progress,
        checkpoint_dir=args.checkpoint_dir,
    )
    sm = s.summary
    losses = s.losses[0]
    ks = [k for k in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if k <= args.n]
    report = {
        "data": args.data,
        "sizes": sizes,
        "activation": args.activation,
        "n": args.n,
        "epochs": args.epochs,
        "devices": len(jax.devices()),
        "processes": jax.process_count(),
        "min": float(sm.min[0]),
        "median": float(sm.median[0]),
        "max": float(sm.max[0]),
        "tol": sm.tol,
        "fraction_within_tol": float(sm.fraction_within_tol[0]),
        "best_of_k": {k: float(sm.best_of_k[0, k - 1]) for k in ks},
        "diverged": int(np.sum(np.asarray(s.results.diverged_epoch) >= 0)),
    }
    if jax.process_index() != 0:  # every process holds the results; one reports them
        return report
    print(
        f"{args.n} restarts of {'-'.join(map(str, sizes))} {args.activation} on {args.data} "
        f"({report['devices']} device(s) in {report['processes']} process(es)), "
        f"{args.epochs} epochs"
    )
    print(
        f"  training loss: min {report['min']:.4f}, median {report['median']:.4f}, "
        f"max {report['max']:.4f}"
    )
    print(f"  within {args.tol:g} of the best: {report['fraction_within_tol']:.1%} of restarts")
    print(
        "  expected best-of-k: "
        + ", ".join(f"k={k}: {v:.4f}" for k, v in report["best_of_k"].items())
    )
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(report, f, indent=2)
    if args.save_losses:
        best = jax.tree.map(np.asarray, s.best_result.params)
        np.savez(
            os.path.join(args.out, "losses.npz"),
            losses=losses,
            best_of_k=sm.best_of_k[0],
            **{f"best_{i}_{k}": a for i, layer in enumerate(best) for k, a in layer.items()},
        )
    _figures(args, s, model, x, y, losses)
    print(f"  wrote {args.out}/metrics.json, losses.png, best_of_k.png, boundaries.png")
    return report


def _figures(args, s, model, x, y, losses) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import jax
    import jax.numpy as jnp
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.hist(losses, bins=min(50, max(10, len(losses) // 4)), color="tab:gray", edgecolor="black")
    ax.axvline(losses.min(), color="tab:blue", label=f"best {losses.min():.3f}")
    ax.set(
        xlabel="training loss after the fit (cross-entropy)",
        ylabel="restarts",
        title=f"{len(losses)} restarts: spread of final losses",
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "losses.png"))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    k = np.arange(1, len(losses) + 1)
    ax.plot(k, s.summary.best_of_k[0], marker=".", color="tab:blue")
    ax.set(
        xscale="log",
        xlabel="restarts k",
        ylabel="expected best loss of k",
        title="How many restarts do I need?",
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "best_of_k.png"))
    plt.close(fig)

    xs = np.asarray(x)
    lo, hi = xs.min(0) - 0.5, xs.max(0) + 0.5
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = jnp.asarray(np.stack([g0.ravel(), g1.ravel()], 1), jnp.float32)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), dpi=120, layout="constrained")
    for ax, idx, name in (
        (axes[0], int(np.argmin(losses)), "best"),
        (axes[1], int(np.argmax(losses)), "worst"),
    ):
        params = jax.tree.map(lambda a, i=idx: a[i], s.results.params)
        p = jax.nn.sigmoid(model.apply(params, grid)[:, 0]).reshape(g0.shape)
        cs = ax.contourf(g0, g1, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        ax.scatter(
            xs[:, 0],
            xs[:, 1],
            c=np.where(np.asarray(y) == 1, "tab:red", "tab:blue"),
            s=8,
            edgecolors="none",
        )
        ax.set(title=f"{name} restart #{idx}: loss {losses[idx]:.3f}", xlabel="x1", ylabel="x2")
    fig.colorbar(cs, ax=axes, label="P(class 1)")
    fig.savefig(os.path.join(args.out, "boundaries.png"))
    plt.close(fig)

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
part) and resumes it, with the same or another number of processes; the first line
printed says which (``starting a new study in DIR`` or ``resuming the study in DIR
from epoch E of T``).

Every option's ``--help`` states its default, and a bad value stops the command
with one line naming what was expected (``argument --lr: expected a finite number
> 0, got 'nan'``), before anything is imported or trained.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings

DATASETS = ("moons", "circles", "xor", "spirals", "blobs", "course")
ACTIVATIONS = ("sigmoid", "tanh", "relu")
PROG = "python -m experiments restarts"


# --- the command line's types: each rejects a bad value with one line naming what
# --- it expected (argparse prints "argument --X: <message>" and exits with status 2)


def whole_number(low: int, high: int | None = None):
    """An argparse ``type=`` for whole numbers in ``[low, high)`` (``>= low`` without
    ``high``): a bad value is a one-line error saying what was expected."""
    expected = f"a whole number >= {low}" if high is None else f"a whole number in [{low}, {high})"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < low or (high is not None and value >= high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    return parse


def _real(low: float, *, above: bool = False, below: float | None = None):
    """A ``type=`` for finite numbers ``>= low`` (``> low`` if ``above``), and
    ``< below`` if given."""
    expected = f"a finite number {'>' if above else '>='} {low:g}"
    if below is not None:
        expected = f"a number in {'(' if above else '['}{low:g}, {below:g})"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not (
            math.isfinite(value)
            and (value > low if above else value >= low)
            and (below is None or value < below)
        ):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


def _sizes(text: str) -> tuple[int, ...]:
    """``--sizes``: the MLP's layer sizes, 2 inputs (the data sets are points in the
    plane) to 1 output (one logit: they have two classes)."""
    example = "e.g. 2,8,1 (2 inputs, a hidden layer of 8, 1 output)"
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected layer sizes as whole numbers separated by commas, {example}; got {text!r}"
        ) from None
    if len(sizes) < 2:
        raise argparse.ArgumentTypeError(
            f"expected at least two layer sizes (inputs and outputs), {example}; got {text!r}"
        )
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected layer sizes >= 1, {example}; got {text!r}")
    if sizes[0] != 2:
        raise argparse.ArgumentTypeError(
            f"expected 2 inputs first (the data sets are points in the plane), {example}; "
            f"got {text!r}"
        )
    if sizes[-1] != 1:
        raise argparse.ArgumentTypeError(
            f"expected 1 output last (one logit: the data sets have two classes), {example}; "
            f"got {text!r}"
        )
    return sizes


def _directory(text: str) -> str:
    """A directory that exists or can be created: not a file, not under a file, and
    (its nearest existing parent) writable. Nothing is created here."""
    if not text:
        raise argparse.ArgumentTypeError("expected a directory, got ''")
    path = os.path.abspath(text)
    if os.path.exists(path) and not os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"expected a directory, but {text!r} is a file")
    parent = path
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise argparse.ArgumentTypeError(
            f"expected a directory, but {text!r} lies under the file {parent!r}"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(
            f"expected a directory that can be written, but {parent!r} is not writable"
        )
    return text


def _address(text: str) -> str:
    """``host:port`` of process 0's coordinator."""
    host, sep, port = text.rpartition(":")
    if not (sep and host and port.isdigit() and 1 <= int(port) <= 65535):
        raise argparse.ArgumentTypeError(
            f"expected HOST:PORT with a port in 1..65535, e.g. 10.0.0.1:1234; got {text!r}"
        )
    return text


def _combination_problem(ns) -> str | None:
    """What is wrong with the options given so far together, if anything."""
    local = getattr(ns, "local_processes", None)
    given = [
        name
        for name, on in (
            ("--coordinator", getattr(ns, "coordinator", None) is not None),
            ("--num-processes", getattr(ns, "num_processes", None) is not None),
            ("--process-id", getattr(ns, "process_id", None) is not None),
            ("--distributed", getattr(ns, "distributed", False)),
        )
        if on
    ]
    if local is not None and given:
        return (
            f"--local-processes starts the processes and gives them their settings; "
            f"not allowed with {', '.join(given)}"
        )
    count, pid = getattr(ns, "num_processes", None), getattr(ns, "process_id", None)
    if count is not None and pid is not None and pid >= count:
        return f"--process-id {pid} is not a process of --num-processes {count} (0 to {count - 1})"
    return None


class _Together(argparse.Action):
    """Stores the value (``True`` for a ``flag``), then checks it with the options
    given before it (so each combination is checked, in either order)."""

    def __init__(self, option_strings, dest, flag: bool = False, **kwargs):
        if flag:
            kwargs.update(nargs=0, default=False)
        self.flag = flag
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, True if self.flag else values)
        problem = _combination_problem(namespace)
        if problem is not None:
            raise argparse.ArgumentError(self, problem)


def add_arguments(parser) -> None:
    """The options of ``python -m experiments restarts``; every help states its default."""
    parser.add_argument(
        "--data",
        choices=DATASETS,
        default="xor",
        help="the data set (default: %(default)s)",
    )
    parser.add_argument(
        "--n-points",
        metavar="COUNT",
        type=whole_number(2),
        default=400,
        help="examples to generate; 'course' has its own 100 (default: %(default)s)",
    )
    parser.add_argument(
        "--noise",
        metavar="SD",
        type=_real(0.0),
        default=None,
        help="the generator's noise, a standard deviation (default: the data set's own)",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=(2, 2, 1),
        metavar="2,...,1",
        help="the MLP's layer sizes, comma-separated, from 2 inputs to 1 output (default: 2,2,1)",
    )
    parser.add_argument(
        "--activation",
        choices=ACTIVATIONS,
        default="sigmoid",
        help="of the hidden layers (default: %(default)s)",
    )
    parser.add_argument(
        "--n", type=whole_number(1), default=100, help="number of restarts N (default: %(default)s)"
    )
    parser.add_argument(
        "--epochs",
        metavar="E",
        type=whole_number(1),
        default=2000,
        help="epochs per restart (default: %(default)s)",
    )
    parser.add_argument(
        "--lr",
        type=_real(0.0, above=True),
        default=1.0,
        help="learning rate (default: %(default)s)",
    )
    parser.add_argument(
        "--momentum",
        metavar="BETA",
        type=_real(0.0, below=1.0),
        default=0.0,
        help="heavy-ball momentum in [0, 1) (default: %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        metavar="B",
        type=whole_number(1),
        default=None,
        help="examples per update (default: the whole data set)",
    )
    parser.add_argument(
        "--tol",
        type=_real(0.0),
        default=1e-2,
        help="a restart is 'within tolerance' if its loss is at most this above the best "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--chunk-size",
        metavar="C",
        type=whole_number(1),
        default=None,
        help="restarts trained at once (default: all of them, up to 1024)",
    )
    parser.add_argument(
        "--seed",
        type=whole_number(0, 2**32),
        default=0,
        help="the random seed of the data and the restarts (default: %(default)s)",
    )
    parser.add_argument(
        "--progress", action="store_true", help="show a progress bar (default: off)"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=_directory,
        default="results/restarts",
        help="where to write metrics.json and the figures (default: %(default)s)",
    )
    parser.add_argument(
        "--checkpoint-dir",
        metavar="DIR",
        type=_directory,
        default=None,
        help="save the study here as it trains, and resume it from here (default: no checkpoints)",
    )
    parser.add_argument(
        "--save-losses",
        action="store_true",
        help="also write losses.npz (default: off)",
    )
    dist = parser.add_argument_group(
        "across processes (jax.distributed; see jaxnn.distributed for the timeouts)"
    )
    dist.add_argument(
        "--local-processes",
        action=_Together,
        type=whole_number(1),
        default=None,
        metavar="K",
        help="start this many processes of the study on 127.0.0.1, a local launcher "
        "(default: one process, this one)",
    )
    dist.add_argument(
        "--distributed",
        action=_Together,
        flag=True,
        help="join a multi-process run whose settings JAX detects (SLURM, Open MPI, TPU) "
        "or that JAX_COORDINATOR_ADDRESS / JAXNN_NUM_PROCESSES / JAXNN_PROCESS_ID give "
        "(default: off)",
    )
    dist.add_argument(
        "--coordinator",
        action=_Together,
        type=_address,
        default=None,
        metavar="HOST:PORT",
        help="address of process 0's coordinator (default: from the environment, or none)",
    )
    dist.add_argument(
        "--num-processes",
        metavar="K",
        action=_Together,
        type=whole_number(1),
        default=None,
        help="processes taking part (default: from the environment, or detected by JAX)",
    )
    dist.add_argument(
        "--process-id",
        metavar="I",
        action=_Together,
        type=whole_number(0),
        default=None,
        help="this process's id, 0 to --num-processes - 1 (default: from the environment, "
        "or detected by JAX)",
    )
    dist.add_argument(
        "--init-timeout",
        metavar="SECONDS",
        type=whole_number(1),
        default=None,
        help="seconds every process waits for all to join (default: 120, "
        "jaxnn.distributed.INIT_TIMEOUT_S)",
    )
    dist.add_argument(
        "--heartbeat-timeout",
        metavar="SECONDS",
        type=whole_number(1),
        default=None,
        help="seconds without a heartbeat before a process counts as lost (default: 30, "
        "jaxnn.distributed.HEARTBEAT_TIMEOUT_S)",
    )


def _fail(message: str) -> SystemExit:
    """A one-line error for what only shows once the study starts (exit status 1)."""
    return SystemExit(f"{PROG}: error: {message}")


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
    try:
        distributed.initialize(args.coordinator, args.num_processes, args.process_id, **timeouts)
    except ValueError as e:  # settings from the environment that do not fit
        raise _fail(str(e)) from None


def _without_local_processes(argv: list[str]) -> list[str]:
    """``argv`` less its ``--local-processes`` option, in any spelling argparse takes
    (``--local-processes K``, ``--local-processes=K``, or a prefix such as
    ``--local K``), so that the processes started do not each start more."""
    option, out, skip = "--local-processes", [], False
    for i, word in enumerate(argv):
        if skip:
            skip = False
            continue
        if word == "--":
            out.extend(argv[i:])
            break
        name, eq, _ = word.partition("=")
        if len(name) >= len("--lo") and option.startswith(name):
            skip = not eq  # the value is the next word
            continue
        out.append(word)
    return out


def launch(args, argv: list[str]) -> int:
    """Run this command as ``--local-processes`` processes; process 0's exit status."""
    from jaxnn.distributed import launch_local

    return launch_local(
        [sys.executable, "-m", "experiments", *_without_local_processes(argv)],
        args.local_processes,
        devices_per_process=getattr(args, "host_devices", None) or 1,
    )


def checkpoint_status(directory: str, epochs: int, n: int) -> str:
    """What a study with ``--checkpoint-dir directory`` does: start anew, or resume
    from the latest checkpoint there (which restarts, from which epoch), in one line.

    Reads each chunk's newest checkpoint with :func:`jaxnn.checkpoint.latest_tag`
    (the study's number of epochs and restarts per chunk); its step, the name of
    its directory, is the epochs run summed over the chunk's restarts.

    Raises:
      SystemExit: if a checkpoint there is unreadable or has run more epochs than
        ``epochs``.
    """
    from jaxnn.checkpoint import CheckpointError, latest_tag

    chunks = []  # (chunk index, tag, latest step), oldest chunk first
    if os.path.isdir(directory):
        for name in sorted(os.listdir(directory)):
            sub = os.path.join(directory, name)
            if not (name.startswith("members_") and name[8:].isdigit() and os.path.isdir(sub)):
                continue
            try:
                tag = latest_tag(sub)
            except CheckpointError as e:
                raise _fail(str(e)) from None
            steps = [int(s) for s in os.listdir(sub) if s.isdigit()]
            if tag is not None and steps:
                chunks.append((int(name[8:]), tag, max(steps)))
    if not chunks:
        return f"starting a new study in {directory} (saved as it trains)"
    c, tag, step = chunks[-1]
    try:
        size, saved_epochs = int(tag["chunk"]), int(tag["epochs"])
    except (KeyError, ValueError):
        raise _fail(
            f"{directory} holds a checkpoint of something other than a restart study; "
            "pass another --checkpoint-dir"
        ) from None
    # restarts run every epoch (no early stopping here) unless they diverge: at least
    done = step // size
    if done > epochs:
        raise _fail(
            f"the study in {directory} has already run {done} epochs, more than --epochs "
            f"{epochs}; pass --epochs {saved_epochs} to read it back, or another --checkpoint-dir"
        )
    n_chunks = -(-n // size)
    complete = len(chunks) == n_chunks and all(step // size >= epochs for _, _, step in chunks)
    if complete:
        return (
            f"resuming the study in {directory} at its end (epoch {epochs} of {epochs}): "
            "nothing left to train"
        )
    longer = f" (saved by a run of {saved_epochs} epochs)" if saved_epochs != epochs else ""
    if n_chunks == 1:
        return f"resuming the study in {directory} from epoch {done} of {epochs}{longer}"
    return (
        f"resuming the study in {directory}: {len(chunks)} of {n_chunks} chunks of {size} "
        f"restarts saved, the latest (restarts {c * size + 1}-{min((c + 1) * size, n)}) at "
        f"epoch {done} of {epochs}{longer}"
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
    from jaxnn.checkpoint import CheckpointError, check_directory

    report_here = jax.process_index() == 0  # every process holds the results; one reports
    # the directories now, before anything trains: an error here costs no training
    try:
        if report_here:
            check_directory(args.out, "--out")
        if args.checkpoint_dir is not None:
            check_directory(args.checkpoint_dir, "--checkpoint-dir")
    except (TypeError, ValueError) as e:
        raise _fail(str(e)) from None
    if args.checkpoint_dir is not None:
        status = checkpoint_status(args.checkpoint_dir, args.epochs, args.n)
        if report_here:
            print(status, flush=True)
    key = jax.random.key(args.seed)
    x, y = load(args.data, jax.random.fold_in(key, 1), args.n_points, args.noise)
    sizes = _sizes(args.sizes) if isinstance(args.sizes, str) else tuple(args.sizes)
    model = jaxnn.MLP(sizes, args.activation)
    config = jaxnn.FitConfig(
        learning_rate=args.lr,
        momentum=args.momentum,
        epochs=args.epochs,
        batch_size=args.batch_size,
    )
    try:
        with warnings.catch_warnings():
            # the line printed above already says that a shorter run's checkpoint resumes
            warnings.filterwarnings("ignore", "resumed the checkpoint in ", UserWarning)
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
    except CheckpointError as e:  # another study's checkpoint, or a damaged one
        raise _fail(str(e)) from None
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
    if not report_here:
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

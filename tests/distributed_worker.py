"""One process of a multi-process study, for tests/test_distributed.py.

    python -m jaxnn.distributed --local-processes 2 -- \\
        python tests/distributed_worker.py OUT.npz [--epochs E] [--checkpoint-dir D]

Joins the run from the launcher's environment (or runs alone without it), trains
:func:`study` and, in process 0, saves the summary and the best member's params to
OUT.npz. Each process writes its pid to ``OUT.pid<process index>`` so a test can
kill one of them.
"""

from __future__ import annotations

import argparse
import os
import sys

EPOCHS = 200
N_RESTARTS = 6  # not a multiple of the device count: the last chunk is padded
HEARTBEAT_S = 4  # small, so a lost process stops the others quickly in the tests


def study(epochs: int, checkpoint_dir: str | None = None, progress: bool = False):
    """The study every test runs: a sweep of 2 learning rates x 6 restarts on XOR."""
    import jax

    import jaxnn

    x, y = jaxnn.data.make_xor(jax.random.key(0), 128)
    return jaxnn.sweep(
        jax.random.key(1),
        jaxnn.MLP((2, 8, 1), "tanh"),
        (x, y),
        base=jaxnn.FitConfig(learning_rate=0.5, momentum=0.5, epochs=epochs),
        grid={"learning_rate": [0.5, 0.2]},
        n_restarts=N_RESTARTS,
        chunk_size=8,
        checkpoint_dir=checkpoint_dir,
        progress=progress,
    )


def arrays(s) -> dict:
    """What the tests compare: the losses, summary and the best member's params."""
    import jax
    import numpy as np

    out = {
        "losses": s.losses,
        "best": np.asarray(s.best),
        "min": s.summary.min,
        "median": s.summary.median,
        "max": s.summary.max,
        "best_of_k": s.summary.best_of_k,
        "epochs_run": np.asarray(s.results.epochs_run),
    }
    for i, leaf in enumerate(jax.tree.leaves(s.best_result.params)):
        out[f"best_param_{i}"] = np.asarray(leaf)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--checkpoint-dir", default=None)
    args = parser.parse_args(argv)

    import jaxnn

    if os.environ.get(jaxnn.distributed.ENV_NUM_PROCESSES):
        jaxnn.distributed.initialize(initialization_timeout=60, heartbeat_timeout=HEARTBEAT_S)
    import jax
    import numpy as np

    with open(f"{args.out}.pid{jax.process_index()}", "w") as f:
        f.write(str(os.getpid()))
    s = study(args.epochs, args.checkpoint_dir, progress=args.checkpoint_dir is not None)
    print(f"process {jax.process_index()} of {jax.process_count()}: done", flush=True)
    if jax.process_index() == 0:
        np.savez(args.out, devices=len(jax.devices()), **arrays(s))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Peers for the comparison benchmark (``python -m experiments bench``): the same
workloads written the way each library documents, one module per peer.

Each peer runs in its own process (``python -m experiments.bench.peers PEER WORKLOAD``),
so threads, allocators and compile caches of one library never touch another's
numbers. The driver (:mod:`experiments.bench.peer_comparison`) writes the data once
(:func:`experiments.bench.peers.workloads.write_data`) and every peer reads the same
arrays, as NumPy, from that file.

A peer module defines:

* ``REQUIRES``: the import names it needs (a peer whose imports fail is skipped
  with a message, never failed);
* ``w1(data, n, epochs, *, warmup=True) -> dict``: train ``n`` restarts of the W1
  model (see :mod:`experiments.bench.peers.workloads`) for ``epochs`` epochs, twice in
  the same process (warm-up, then timed), and return a :func:`w1_result`. With
  ``warmup=False`` (W3) train once; ``seconds`` then includes compilation and
  ``warmup_s`` is 0. The final losses come from the final params, computed after
  the timed run (never from a history);
* ``w2(data, epochs) -> dict`` (optional; peers that are variants of another on
  W2 leave it out): train the W2 model once as warm-up, once timed, and return a
  :func:`w2_result`.

``data`` is the dict of :func:`experiments.bench.peers.workloads.load_data`.

Threads: every peer process is limited to the machine's cores (``--threads``,
default all); torch gets ``torch.set_num_threads``, XLA the same host devices as
jaxnn (``--xla_force_host_platform_device_count``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

PEERS = {
    "jaxnn": "jaxnn_study",
    "jaxnn_nnx": "jaxnn_nnx",
    "reference": "reference",
    "flax_nnx": "flax_nnx",
    "equinox": "equinox_ensemble",
    "torch_loop": "torch_loop",
    "torch_vmap": "torch_vmap",
    "sklearn": "sklearn_mlp",
}
"""Peer name -> module ``experiments.bench.peers.<module>``, in report order (module names
differ from the libraries' own so that no import is shadowed)."""

VARIANTS = {"jaxnn_fit": "jaxnn_fit"}
"""Peers that only the narrower benchmarks run (``bench fit``), not the comparison."""

MODULES = {**PEERS, **VARIANTS}
"""Every peer a worker can run: name -> module under :mod:`experiments.bench.peers`."""


def w1_result(
    *,
    seconds: float,
    warmup_s: float,
    final_losses,
    timed_restarts: int,
    note: str = "",
    first_call_s: float | None = None,
) -> dict:
    """What a peer's ``w1`` returns.

    Args:
      seconds: wall time of the timed run (after warm-up) of ``timed_restarts``
        restarts x ``epochs`` epochs, results on the host.
      warmup_s: the warm-up run's extra seconds over the timed run (compile, caches).
      final_losses: the timed run's final mean training BCE of each of its restarts
        (of the params after the last update, on the whole training set; computed
        outside the timed region).
      timed_restarts: restarts actually timed (fewer than asked for when a peer is
        too slow for the full N; the driver scales and says so).
      note: anything a reader of the report must know about how this peer ran.
      first_call_s: the wall seconds of the process's first call (tracing,
        compilation and the first run), or None where a peer does not measure it.
    """
    return {
        "seconds": float(seconds),
        "warmup_s": float(warmup_s),
        "first_call_s": None if first_call_s is None else float(first_call_s),
        "final_losses": [float(v) for v in final_losses],
        "timed_restarts": int(timed_restarts),
        "note": note,
    }


def w2_result(
    *,
    seconds: float,
    warmup_s: float,
    test_accuracy: float,
    note: str = "",
    first_call_s: float | None = None,
) -> dict:
    """What a peer's ``w2`` returns: the timed run's wall seconds (all epochs), the
    warm-up's extra seconds, the first call's wall seconds (None if not measured)
    and the test accuracy of the timed run's final params (dropout off)."""
    return {
        "seconds": float(seconds),
        "warmup_s": float(warmup_s),
        "first_call_s": None if first_call_s is None else float(first_call_s),
        "test_accuracy": float(test_accuracy),
        "note": note,
    }


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """``(fn(), wall seconds)``; ``fn`` must block until its results are ready."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def first_then_timed(fn: Callable[[], T], *, warmup: bool = True) -> tuple[T, dict]:
    """Call ``fn`` twice (once with ``warmup=False``); return the last call's output
    and the timing fields of :func:`w1_result` / :func:`w2_result`: ``seconds`` of
    the last call, ``first_call_s`` (the process's first call: tracing, compilation
    and a run) and ``warmup_s`` (first minus timed, 0 without a warm-up)."""
    first = timed(fn)[1] if warmup else None
    out, seconds = timed(fn)
    return out, {
        "seconds": seconds,
        "first_call_s": seconds if first is None else first,
        "warmup_s": 0.0 if first is None else max(first - seconds, 0.0),
    }

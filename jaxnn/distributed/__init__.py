"""Studies across processes and hosts: ``jax.distributed`` with stated timeouts.

JAX's multi-controller runtime runs one process per host (or per accelerator);
after :func:`initialize`, ``jax.devices()`` lists the devices of every process and
a study (:func:`jaxnn.restarts`, :func:`jaxnn.sweep`) shards its members over all
of them: each process trains the members its devices hold, and every process ends
with the whole :class:`~jaxnn.StudyResult`, equal to a one-process study with the
same key. The user's code does not change; every process runs the same script::

    import jaxnn
    jaxnn.distributed.initialize()        # first, before any other JAX work
    study = jaxnn.restarts(key, model, data, config=config, n=10_000)

Where the settings come from (the first that is given wins):

1. arguments of :func:`initialize`;
2. the environment: ``JAX_COORDINATOR_ADDRESS`` (read by JAX itself),
   ``JAXNN_NUM_PROCESSES`` and ``JAXNN_PROCESS_ID`` (set by :func:`launch_local`);
3. JAX's automatic detection on SLURM, Open MPI and Cloud TPU.

Faults. A process that never arrives, or one that dies, must not leave the others
waiting forever; JAX stops every process (exit status 134, SIGABRT) with its own
message when

* not every process has joined within ``initialization_timeout`` seconds
  (``DEADLINE_EXCEEDED ... RegisterTask``), or
* a process has sent no heartbeat for ``heartbeat_timeout`` seconds (``The
  following tasks are unhealthy (stopped sending heartbeats): <process ids>``).

jaxnn's defaults (:data:`INIT_TIMEOUT_S`, :data:`HEARTBEAT_TIMEOUT_S`) are shorter
than JAX's (300 s and 100 s). Checkpoints are written by orbax with every process
taking part; the last complete one stays readable after such a stop, and a study
started again with the same ``checkpoint_dir`` resumes from it, with the same or
another number of processes.

CPU clusters (and the tests) use gloo for the collectives between processes:
:func:`initialize` selects it (``jax_cpu_collectives_implementation``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence

import jax

INIT_TIMEOUT_S = 120
"""Seconds every process waits for all the others to join before all stop."""

HEARTBEAT_TIMEOUT_S = 30
"""Seconds without a heartbeat after which a process counts as dead and all stop."""

SHUTDOWN_TIMEOUT_S = 30
"""Seconds a finishing process waits at exit for the others to finish too."""

ENV_NUM_PROCESSES = "JAXNN_NUM_PROCESSES"
ENV_PROCESS_ID = "JAXNN_PROCESS_ID"
ENV_COORDINATOR = "JAX_COORDINATOR_ADDRESS"


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"environment variable {name} must be an integer, got {value!r}."
        ) from None


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    local_device_ids: int | Sequence[int] | None = None,
    initialization_timeout: int = INIT_TIMEOUT_S,
    heartbeat_timeout: int = HEARTBEAT_TIMEOUT_S,
    shutdown_timeout: int = SHUTDOWN_TIMEOUT_S,
) -> None:
    """Join this process to a multi-process JAX program (``jax.distributed``).

    Call it first, in every process, before any other JAX work. With no arguments
    and no environment settings it relies on JAX's detection (SLURM, Open MPI,
    Cloud TPU). A program of one process (``num_processes=1``) needs no call.

    Args:
      coordinator_address: ``host:port`` of process 0's coordinator service.
      num_processes: how many processes take part.
      process_id: this process's id in ``0 .. num_processes - 1``.
      local_device_ids: restrict this process to these local devices.
      initialization_timeout: seconds to wait for every process to join.
      heartbeat_timeout: seconds of silence after which a process counts as lost.
      shutdown_timeout: seconds to wait at exit for the other processes.

    Raises:
      ValueError: for a process id outside ``[0, num_processes)``, or timeouts < 1.
      RuntimeError: if JAX has already started (initialize must come first).
    """
    coordinator_address = coordinator_address or os.environ.get(ENV_COORDINATOR) or None
    if num_processes is None:
        num_processes = _env_int(ENV_NUM_PROCESSES)
    if process_id is None:
        process_id = _env_int(ENV_PROCESS_ID)
    if num_processes is not None and num_processes < 1:
        raise ValueError(f"num_processes must be >= 1, got {num_processes}.")
    if num_processes is not None and process_id is not None:
        if not 0 <= process_id < num_processes:
            raise ValueError(
                f"process_id must be in [0, {num_processes}) for {num_processes} processes, "
                f"got {process_id}."
            )
    for name, value in (
        ("initialization_timeout", initialization_timeout),
        ("heartbeat_timeout", heartbeat_timeout),
        ("shutdown_timeout", shutdown_timeout),
    ):
        if int(value) < 1:
            raise ValueError(f"{name} must be at least 1 second, got {value}.")
    if jax.distributed.is_initialized():
        raise RuntimeError("jax.distributed is already initialized in this process.")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    joined = threading.Event()
    threading.Thread(
        target=_say_if_not_joined,
        args=(joined, initialization_timeout, coordinator_address, num_processes, process_id),
        daemon=True,
    ).start()
    try:
        jax.distributed.initialize(
            coordinator_address=coordinator_address,
            num_processes=num_processes,
            process_id=process_id,
            local_device_ids=local_device_ids,
            initialization_timeout=int(initialization_timeout),
            heartbeat_timeout_seconds=int(heartbeat_timeout),
            shutdown_timeout_seconds=int(shutdown_timeout),
        )
    except RuntimeError as e:
        raise RuntimeError(
            f"jaxnn.distributed.initialize: {e} It must be called before any other JAX "
            "work in the process (creating arrays or listing devices starts JAX)."
        ) from e
    finally:
        joined.set()


def _say_if_not_joined(joined, timeout, address, num_processes, process_id) -> None:
    """Name the problem on stderr when joining times out: JAX then stops the process
    from C++ (``DEADLINE_EXCEEDED``), where Python cannot raise a clearer error."""
    if joined.wait(timeout):
        return
    who = "" if process_id is None else f"process {process_id}"
    who += "" if num_processes is None else f" of {num_processes}"
    sys.stderr.write(
        f"jaxnn.distributed: {who or 'this process'}: not every process joined the "
        f"coordinator {address or '(detected by JAX)'} within {timeout} s "
        "(initialization_timeout); a process never started, or cannot reach the "
        "coordinator. JAX stops this process now.\n"
    )
    sys.stderr.flush()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that is free now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _describe(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"
    if code == 134:
        return "stopped with exit status 134 (SIGABRT: JAX's distributed runtime stopped it)"
    return f"exited with status {code}"


def _pump(stream, prefix: str, out) -> None:
    for line in iter(stream.readline, ""):
        out.write(prefix + line)
        out.flush()
    stream.close()


def launch_local(
    command: Sequence[str],
    num_processes: int,
    *,
    devices_per_process: int | None = None,
    env: Mapping[str, str] | None = None,
    grace_s: float = HEARTBEAT_TIMEOUT_S + 30,
    out=None,
) -> int:
    """Run ``command`` as ``num_processes`` processes of one JAX program on this machine.

    A launcher for trying a multi-process study on one machine: the coordinator
    listens on ``127.0.0.1`` at a free port; process i gets ``JAX_COORDINATOR_ADDRESS``,
    ``JAXNN_NUM_PROCESSES`` and ``JAXNN_PROCESS_ID=i`` in its environment (what
    :func:`initialize` reads), and its output lines are prefixed ``[pI] ``.

    When a process fails, the others are given ``grace_s`` seconds to stop on their
    own (JAX stops them after its heartbeat timeout), then killed; a line on
    ``out`` names each failed process. Never waits forever.

    Args:
      command: the program and its arguments, e.g. ``[sys.executable, "study.py"]``.
      num_processes: processes to start (>= 1).
      devices_per_process: XLA CPU devices per process
        (``--xla_force_host_platform_device_count``); ``None`` leaves ``XLA_FLAGS``.
      env: extra environment variables for every process.
      grace_s: seconds the others may take to stop after one fails.
      out: where prefixed output goes (default ``sys.stdout``).

    Returns:
      Process 0's (the coordinator's) exit status: 0 if the study finished, non-zero
      (or ``128 + signal``) otherwise; 1 if process 0 exited 0 but another failed.
    """
    if num_processes < 1:
        raise ValueError(f"num_processes must be >= 1, got {num_processes}.")
    out = sys.stdout if out is None else out
    port = free_port()
    base = dict(os.environ)
    base.update(env or {})
    if devices_per_process is not None:
        flags = [
            f
            for f in base.get("XLA_FLAGS", "").split()
            if not f.startswith("--xla_force_host_platform_device_count")
        ]
        flags.append(f"--xla_force_host_platform_device_count={devices_per_process}")
        base["XLA_FLAGS"] = " ".join(flags)
    base[ENV_COORDINATOR] = f"127.0.0.1:{port}"
    base[ENV_NUM_PROCESSES] = str(num_processes)
    base["PYTHONUNBUFFERED"] = "1"
    procs, pumps = [], []
    first_failure, deadline = None, None
    try:  # the processes already started are stopped if one cannot be
        for i in range(num_processes):
            p = subprocess.Popen(
                list(command),
                env={**base, ENV_PROCESS_ID: str(i)},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
            t = threading.Thread(target=_pump, args=(p.stdout, f"[p{i}] ", out), daemon=True)
            t.start()
            procs.append(p)
            pumps.append(t)
        while True:
            codes = [p.poll() for p in procs]
            if first_failure is None:
                failed = [i for i, code in enumerate(codes) if code not in (None, 0)]
                if failed:  # several at once: the lowest id is named first
                    first_failure, deadline = failed[0], time.monotonic() + grace_s
            if all(code is not None for code in codes):
                break
            if deadline is not None and time.monotonic() > deadline:
                for p in procs:
                    if p.poll() is None:
                        p.kill()
            time.sleep(0.05)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        for t in pumps:
            t.join(timeout=5)
    codes = [p.returncode for p in procs]
    if first_failure is not None:
        out.write(
            f"jaxnn.distributed: process {first_failure} of {num_processes} "
            f"{_describe(codes[first_failure])} first; the study stopped.\n"
        )
        for i, code in enumerate(codes):
            if i != first_failure and code != 0:
                out.write(f"jaxnn.distributed: process {i} then {_describe(code)}.\n")
        out.flush()
    if codes[0] != 0:
        return codes[0] if codes[0] > 0 else 128 - codes[0]
    return 0 if all(c == 0 for c in codes) else 1


def _at_least_one(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m jaxnn.distributed --local-processes K [--devices-per-process D]
    -- PROGRAM ARGS...``: :func:`launch_local` from the shell (run by this package's
    ``__main__``, so that ``python -m`` does not execute a module ``jaxnn`` has
    already imported)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m jaxnn.distributed",
        usage="%(prog)s --local-processes K [--devices-per-process D] -- PROGRAM [ARGS ...]",
        description="Run PROGRAM as K processes of one JAX program on this machine "
        "(jaxnn.distributed.launch_local): the coordinator listens on 127.0.0.1 at a free "
        "port, each process finds its settings in its environment (what "
        "jaxnn.distributed.initialize reads), and its output lines are prefixed [pI]. "
        "The exit status is process 0's.",
    )
    parser.add_argument(
        "--local-processes",
        metavar="K",
        type=_at_least_one,
        required=True,
        help="processes to start on 127.0.0.1 (required)",
    )
    parser.add_argument(
        "--devices-per-process",
        metavar="D",
        type=_at_least_one,
        default=None,
        help="XLA CPU devices per process (default: XLA_FLAGS left as it is)",
    )
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        metavar="-- PROGRAM [ARGS ...]",
        help="the program to run in every process, e.g. -- python my_study.py",
    )
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the program to run, e.g. -- python my_study.py")
    try:
        return launch_local(
            command, args.local_processes, devices_per_process=args.devices_per_process
        )
    except OSError as e:  # the program cannot be started (not found, not executable)
        parser.error(f"cannot start {command[0]!r}: {e.strerror or e}")

"""Studies across processes (jax.distributed over gloo on 127.0.0.1) and the launcher.

The multi-process tests start real processes (``python -m jaxnn.distributed``) on
the loopback address, at ports chosen free at run time, and are marked
``distributed`` (``pytest -m distributed`` runs only them).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from jaxnn import distributed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(ROOT, "tests", "distributed_worker.py")
sys.path.insert(0, os.path.dirname(WORKER))
import distributed_worker  # noqa: E402


def _gloo_missing() -> str | None:
    try:
        from jax._src.lib import _jax
    except ImportError:  # pragma: no cover - other jaxlib layouts
        return "this jaxlib has no CPU collectives module"
    if not hasattr(_jax, "make_gloo_tcp_collectives"):
        return "this jaxlib was built without gloo CPU collectives"
    return None


needs_gloo = pytest.mark.skipif(
    _gloo_missing() is not None, reason=f"gloo not available: {_gloo_missing()}"
)


def _launch(tmp_path, name, processes, *extra, devices=1):
    """Start the worker under the local launcher; returns (Popen, output path, npz path)."""
    out = tmp_path / f"{name}.npz"
    log = tmp_path / f"{name}.log"
    cmd = [
        sys.executable,
        "-m",
        "jaxnn.distributed",
        "--local-processes",
        str(processes),
        "--devices-per-process",
        str(devices),
        "--",
        sys.executable,
        WORKER,
        str(out),
        *extra,
    ]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    handle = open(log, "w")
    proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    proc.log_handle = handle
    return proc, log, out


def _finish(proc, log, timeout=240):
    try:
        code = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.log_handle.close()
    return code, log.read_text()


def _single_process(checkpoint_dir=None):
    study = distributed_worker.study(distributed_worker.EPOCHS, checkpoint_dir)
    return distributed_worker.arrays(study)


@pytest.fixture(scope="module")
def uninterrupted():
    """The study in this process (one device), uninterrupted: what every run must end with."""
    return _single_process()


def _assert_same(got, want):
    assert set(got) >= set(want)
    for k, v in want.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-5, atol=1e-6, err_msg=k)


# --- the launcher and the settings, without JAX's runtime ------------------------


def test_launcher_prefixes_output_and_returns_the_coordinators_status():
    out = io.StringIO()
    code = distributed.launch_local(
        [
            sys.executable,
            "-c",
            "import os; i = os.environ['JAXNN_PROCESS_ID']; "
            "print('hello from', i, os.environ['JAXNN_NUM_PROCESSES'], "
            "os.environ['JAX_COORDINATOR_ADDRESS'].startswith('127.0.0.1:')); "
            "raise SystemExit(int(i) * 3)",
        ],
        3,
        out=out,
    )
    lines = out.getvalue().splitlines()
    for i in range(3):
        assert f"[p{i}] hello from {i} 3 True" in lines
    # process 0 succeeded but the others did not: not a success (1), and the
    # launcher says which failed first
    assert code == 1
    assert any("process 1 of 3 exited with status 3" in line for line in lines) or any(
        "process 2 of 3 exited with status 6" in line for line in lines
    )


def test_launcher_stops_the_others_within_the_grace_period():
    out = io.StringIO()
    start = time.monotonic()
    code = distributed.launch_local(
        [
            sys.executable,
            "-c",
            "import os, time, sys\n"
            "if os.environ['JAXNN_PROCESS_ID'] == '1': sys.exit(5)\n"
            "time.sleep(600)",
        ],
        2,
        grace_s=1.0,
        out=out,
    )
    assert time.monotonic() - start < 30
    assert code == 128 + signal.SIGKILL  # process 0 was killed after the grace period
    text = out.getvalue()
    assert "process 1 of 2 exited with status 5 first" in text
    assert "process 0 then was killed by SIGKILL" in text


def test_launcher_rejects_no_processes():
    with pytest.raises(ValueError, match="num_processes must be >= 1"):
        distributed.launch_local([sys.executable, "-c", "pass"], 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(num_processes=2, process_id=2), r"process_id must be in \[0, 2\)"),
        (dict(num_processes=0), "num_processes must be >= 1"),
        (dict(num_processes=2, process_id=0, heartbeat_timeout=0), "heartbeat_timeout"),
    ],
)
def test_initialize_rejects_bad_settings_before_starting_anything(kwargs, match):
    with pytest.raises(ValueError, match=match):
        distributed.initialize("127.0.0.1:1", **kwargs)


def test_initialize_names_a_bad_environment_variable(monkeypatch):
    monkeypatch.setenv(distributed.ENV_NUM_PROCESSES, "two")
    with pytest.raises(ValueError, match="JAXNN_NUM_PROCESSES must be an integer"):
        distributed.initialize("127.0.0.1:1")


def test_initialize_after_jax_started_says_it_must_come_first():
    jax.devices()  # the backend is running in this test process
    with pytest.raises(RuntimeError, match="before any other JAX work"):
        distributed.initialize("127.0.0.1:1", num_processes=1, process_id=0)


def test_free_port_is_bindable_on_loopback():
    import socket

    port = distributed.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def _launcher(*words):
    """``python -W error -m jaxnn.distributed WORDS`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "jaxnn.distributed", *words],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_the_launcher_runs_as_a_module_without_a_runpy_warning():
    """``python -m jaxnn.distributed`` runs the package's ``__main__``, which ``import
    jaxnn`` has not imported (runpy warns about a module that it has, and ``-W
    error`` turns that warning into a traceback)."""
    done = _launcher("--help")
    assert done.returncode == 0, done.stderr
    assert "RuntimeWarning" not in done.stderr and "Traceback" not in done.stderr
    assert "--local-processes K" in done.stdout
    done = _launcher("--local-processes", "2", "--", sys.executable, "-c", "print('hi')")
    assert done.returncode == 0, done.stderr
    assert "RuntimeWarning" not in done.stderr
    assert sorted(done.stdout.splitlines()) == ["[p0] hi", "[p1] hi"]


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["--local-processes", "0", "--", "true"], "argument --local-processes: expected a whole"),
        (["--local-processes", "x", "--", "true"], "argument --local-processes: expected a whole"),
        (["--local-processes", "1", "--devices-per-process", "0", "--", "true"], "expected a"),
        (["--local-processes", "2"], "give the program to run"),
        (["--local-processes", "2", "--", "no-such-program-jaxnn"], "cannot start"),
    ],
)
def test_the_launcher_rejects_bad_arguments_in_one_line(words, message):
    done = _launcher(*words)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("python -m jaxnn.distributed: error: ") and message in last, last


def test_the_api_is_the_packages():
    import jaxnn

    assert jaxnn.distributed is distributed
    for name in ("initialize", "launch_local", "free_port", "main", "ENV_NUM_PROCESSES"):
        assert hasattr(jaxnn.distributed, name), name


# --- two processes on 127.0.0.1 ---------------------------------------------------


@pytest.mark.distributed
@needs_gloo
def test_two_processes_end_with_the_single_process_summary_and_best_params(tmp_path, uninterrupted):
    proc, log, out = _launch(tmp_path, "two", 2)
    code, text = _finish(proc, log)
    assert code == 0, text
    assert "[p1] process 1 of 2: done" in text
    got = dict(np.load(out))
    assert int(got.pop("devices")) == 2
    _assert_same(got, uninterrupted)


@pytest.mark.distributed
@needs_gloo
def test_a_lost_process_stops_the_other_and_the_study_resumes(tmp_path, uninterrupted):
    """Kill process 1 once a checkpoint exists: process 0 stops non-zero within the
    heartbeat timeout with a message naming process 1; the study then resumes from
    the checkpoint and ends with the uninterrupted numbers."""
    ckpt = tmp_path / "ckpt"
    proc, log, out = _launch(tmp_path, "killed", 2, "--checkpoint-dir", str(ckpt))
    pid_file = tmp_path / "killed.npz.pid1"
    deadline = time.monotonic() + 180
    saved = lambda: (
        ckpt.is_dir() and any(name.isdigit() for sub in ckpt.iterdir() for name in os.listdir(sub))
    )
    while not (pid_file.exists() and saved()):
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "no checkpoint within 180 s"
        time.sleep(0.1)
    killed_at = time.monotonic()
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    code, text = _finish(proc, log, timeout=distributed_worker.HEARTBEAT_S + 60)
    stopped_after = time.monotonic() - killed_at
    assert code != 0, text
    assert stopped_after < distributed_worker.HEARTBEAT_S + 60
    assert "process 1 of 2 was killed by SIGKILL first" in text
    # JAX's own message in process 0 names the lost process (task 1)
    assert "stopped sending heartbeats" in text, text
    assert not out.exists()

    # the last checkpoint is partway through, and two processes resume from it and
    # end with the uninterrupted numbers
    steps = [int(name) for name in os.listdir(ckpt / "members_00000") if name.isdigit()]
    assert 0 < max(steps) < 8 * distributed_worker.EPOCHS  # epochs summed over 8 members
    proc, log, out = _launch(tmp_path, "resumed", 2, "--checkpoint-dir", str(ckpt))
    code, text = _finish(proc, log)
    assert code == 0, text
    got = dict(np.load(out))
    got.pop("devices")
    _assert_same(got, uninterrupted)


@pytest.mark.distributed
@needs_gloo
def test_a_one_process_study_stopped_partway_resumes_in_two_processes(
    tmp_path, uninterrupted, monkeypatch
):
    from jaxnn import study

    original, calls = study._vrun_jit, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    ckpt = tmp_path / "ckpt"
    monkeypatch.setattr(study, "_vrun_jit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _single_process(str(ckpt))
    monkeypatch.setattr(study, "_vrun_jit", original)
    proc, log, out = _launch(tmp_path, "resumed", 2, "--checkpoint-dir", str(ckpt))
    code, text = _finish(proc, log)
    assert code == 0, text
    got = dict(np.load(out))
    assert int(got.pop("devices")) == 2
    _assert_same(got, uninterrupted)


@pytest.mark.distributed
@needs_gloo
def test_a_process_that_never_arrives_stops_the_other_with_a_clear_message():
    """Process 0 of 2 alone: it stops non-zero soon after the join timeout, naming it."""
    timeout = 3
    code = (
        "import jaxnn; jaxnn.distributed.initialize("
        f"'127.0.0.1:{distributed.free_port()}', 2, 0, initialization_timeout={timeout})"
    )
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
    )
    assert done.returncode != 0
    assert time.monotonic() - start < timeout + 60
    assert "process 0 of 2: not every process joined the coordinator 127.0.0.1:" in done.stderr
    assert f"within {timeout} s" in done.stderr


@pytest.mark.distributed
@needs_gloo
def test_distributed_benchmark_quick_run_prints_both_ways(tmp_path, capsys):
    from experiments.__main__ import main

    assert main(["bench", "distributed", "--quick", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "1 process x 2 devices" in printed and "2 processes x 1 device" in printed
    import json

    saved = json.loads((tmp_path / "distributed.json").read_text())
    # the results; a study without progress or checkpoints is one program (no checks)
    assert saved["summary"]["2x1"]["gathers"] >= 1
    assert saved["runs"]["2x1"][0]["processes"] == 2
    assert saved["runs"]["1x2"][0]["devices"] == 2


@pytest.mark.distributed
@needs_gloo
def test_two_processes_resume_a_shorter_study_into_a_longer_one(tmp_path, uninterrupted):
    """A checkpoint of a study of E/2 epochs, continued by two processes to E epochs,
    ends with the uninterrupted numbers (resizing its history once crashed there:
    the epoch counter spans both processes and must be gathered first)."""
    ckpt = str(tmp_path / "ckpt")
    half = str(distributed_worker.EPOCHS // 2)
    proc, log, out = _launch(tmp_path, "half", 2, "--checkpoint-dir", ckpt, "--epochs", half)
    code, text = _finish(proc, log)
    assert code == 0, text
    proc, log, out = _launch(tmp_path, "longer", 2, "--checkpoint-dir", ckpt)
    code, text = _finish(proc, log)
    assert code == 0, text
    assert "continuing it to" in text  # the warning that it resumed into a longer study
    got = dict(np.load(out))
    assert int(got.pop("devices")) == 2
    _assert_same(got, uninterrupted)

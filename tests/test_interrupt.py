"""Ctrl-C, calls of the compiled loop, and the progress display (jaxnn.progress).

A fit or a study runs as calls of its compiled program, each about
``jaxnn.progress.CALL_SECONDS``: Ctrl-C (SIGINT) must end a long one within about a
second in every path (plain, progress, checkpoints, restarts, sweep), the process
must then exit at once (XLA cannot cancel a call it runs, and Python's exit waits
for it), an interrupted checkpointed run must resume bitwise, and the numbers must
not depend on the calls. The SIGINT tests run a script in a subprocess and time
the signal to the process's exit.
"""

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_bitwise, count_compiles

import jaxnn
from jaxnn import progress

training = sys.modules["jaxnn.training"]
study = sys.modules["jaxnn.study"]

# From SIGINT to KeyboardInterrupt, and to the process's exit. Measured on 2 CPU
# cores shared with other jobs (load 7-14): 0.1-0.4 s and 0.7-1.8 s, of which
# Python's and JAX's own teardown took 0.9-1.4 s (before: the whole run, 3-12 s).
RAISE_SECONDS = 1.5
EXIT_SECONDS = 4.0

# The data, model and config of the subprocess tests, shared with this process (the
# checkpoint tests resume there what the subprocess started).
SETUP = textwrap.dedent(
    """
    import jax
    import jaxnn

    X, Y = jaxnn.data.make_moons(jax.random.key(0), 512, noise=0.2)
    MODEL = jaxnn.MLP((2, 8, 1), "tanh")  # about 20 microseconds an epoch

    def run(kind, epochs, directory=None):
        config = jaxnn.FitConfig(learning_rate=0.1, epochs=epochs)
        kw = dict(checkpoint_dir=directory, progress=kind.endswith("progress"))
        key = jax.random.key(1)
        if kind.startswith("restarts"):
            return jaxnn.restarts(key, MODEL, (X, Y), config=config, n=2, **kw)
        if kind.startswith("sweep"):
            grid = {"learning_rate": [0.1, 0.2]}
            return jaxnn.sweep(key, MODEL, (X, Y), base=config, grid=grid, **kw)
        if directory is not None:  # a few saves (orbax takes ~0.1 s a save)
            kw["chunk_epochs"] = epochs // 5
        return jaxnn.fit(key, MODEL, (X, Y), config=config, **kw)
    """
)

SCRIPT = (
    textwrap.dedent(
        """
        import sys
        import time

        import jax

        # as tests/conftest.py, so that the programs (and numbers) are the same
        jax.config.update("jax_numpy_rank_promotion", "raise")
        jax.config.update("jax_numpy_dtype_promotion", "strict")
        jax.config.update("jax_default_matmul_precision", "highest")


        def compiled(event, *args, **kwargs):
            if event in (
                "/jax/core/compile/backend_compile_duration",
                "/jax/compilation_cache/cache_hits",
            ):
                print("compiled", flush=True)

        """
    )
    + SETUP
    + textwrap.dedent(
        """
        jax.monitoring.register_event_duration_secs_listener(compiled)
        jax.monitoring.register_event_listener(compiled)
        print("start", flush=True)
        try:
            run(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
        except KeyboardInterrupt:
            print(f"KeyboardInterrupt raised at {time.time()}", file=sys.stderr, flush=True)
            raise
        print("done", flush=True)
        """
    )
)


def setup():
    namespace = {}
    exec(SETUP, namespace)
    return namespace


# A pytest-xdist worker ignores SIGINT and a child inherits an ignored signal (Python
# then never installs its KeyboardInterrupt handler), so each script first restores
# what Ctrl-C does in a terminal.
CTRL_C_AS_IN_A_TERMINAL = (
    "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
)


def interrupted(tmp_path, kind, epochs, compiles, directory=None, ready=None, delay=0.5):
    """Run ``SETUP.run(kind, epochs, directory)`` in a subprocess, send SIGINT once
    its ``compiles`` programs are compiled (and ``ready()`` holds) and ``delay``
    seconds later; return (seconds from the signal to the exit, returncode, stderr,
    the signal's ``time.time()``)."""
    script = tmp_path / "interrupted.py"
    script.write_text(CTRL_C_AS_IN_A_TERMINAL + SCRIPT)
    args = [sys.executable, str(script), kind, str(epochs)] + (
        [str(directory)] if directory else []
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = []
        while "start" not in lines:
            line = proc.stdout.readline()
            assert line, f"the script ended early: {proc.communicate()}"
            lines.append(line.strip())
        seen = 0
        while seen < compiles:
            line = proc.stdout.readline().strip()
            assert line and line != "done", f"not interrupted in time: {proc.communicate()}"
            seen += line == "compiled"
        deadline = time.monotonic() + 60
        while ready is not None and not ready():
            assert time.monotonic() < deadline and proc.poll() is None, "never ready"
            time.sleep(0.02)
        time.sleep(delay)
        assert proc.poll() is None, f"finished before the signal: {proc.communicate()}"
        sent = time.time()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        return time.time() - sent, proc.returncode, err, sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def assert_interrupted(seconds, returncode, err, sent):
    """KeyboardInterrupt within ``RAISE_SECONDS`` of the signal (the call in flight
    finishes first), and the process's exit within ``EXIT_SECONDS``."""
    assert returncode != 0, err
    assert "KeyboardInterrupt" in err, err
    raised = float(err.split("KeyboardInterrupt raised at ")[1].split()[0]) - sent
    assert raised < RAISE_SECONDS, (raised, err)
    assert seconds < EXIT_SECONDS, (seconds, err)


# ---------------------------------------------------------------------------------------
# Ctrl-C ends a long fit or study at once, in every path


@pytest.mark.parametrize(
    ("kind", "epochs", "compiles"),
    [
        ("fit", 1_000_000, 1),  # about 20 s, one program
        ("fit_progress", 1_000_000, 2),  # init, then the loop in calls
        ("restarts", 500_000, 1),
        ("sweep", 500_000, 1),
    ],
)
def test_ctrl_c_ends_a_long_run_and_the_process_within_a_second_or_two(
    tmp_path, kind, epochs, compiles
):
    seconds, returncode, err, sent = interrupted(tmp_path, kind, epochs, compiles)
    assert_interrupted(seconds, returncode, err, sent)
    if kind == "fit_progress":  # plain lines: stderr is a pipe
        assert "fit: compiling..." in err and "fit: interrupted at epoch" in err
        assert "\r" not in err


def saved_steps(directory):
    """The finished checkpoints under ``directory`` (orbax renames a step's temporary
    directory to its number when the step is complete)."""
    found = []
    for root, dirs, _ in os.walk(directory):
        found += [os.path.join(root, d) for d in dirs if d.isdigit()]
    return found


@pytest.mark.parametrize("kind", ["fit", "restarts"])
def test_an_interrupted_checkpointed_run_resumes_bitwise(tmp_path, monkeypatch, kind):
    """SIGINT after the first checkpoint: the process exits at once, the checkpoint
    is restorable, and the same call resumes it (it does not start over) to bitwise
    the result of a straight run."""
    directory = tmp_path / "ckpt"
    epochs = 100_000 if kind == "fit" else 15_000  # about 1-2 s
    seconds, returncode, err, sent = interrupted(
        tmp_path, kind, epochs, 2, directory, ready=lambda: saved_steps(directory), delay=0.1
    )
    assert_interrupted(seconds, returncode, err, sent)
    assert saved_steps(directory)

    ns = setup()
    straight = ns["run"](kind, epochs)
    starts = []
    if kind == "fit":
        real = training._run_jit

        def recorded(state, **kwargs):
            starts.append(int(state.epoch))
            return real(state, **kwargs)

        monkeypatch.setattr(training, "_run_jit", recorded)
    else:
        real = study._vrun_jit

        def recorded(states, *args, **kwargs):
            starts.append(int(np.min(states.epoch)))
            return real(states, *args, **kwargs)

        monkeypatch.setattr(study, "_vrun_jit", recorded)
    resumed = ns["run"](kind, epochs, str(directory))
    assert 0 < starts[0] < epochs  # resumed from the checkpoint, not from the start
    assert_bitwise(getattr(straight, "results", straight), getattr(resumed, "results", resumed))


# a small fit for the tests that run one in this process (one set of programs)
SMALL = (
    jaxnn.data.make_moons(jax.random.key(0), 64, noise=0.2),
    jaxnn.MLP((2, 4, 1)),
    jaxnn.FitConfig(learning_rate=0.5, epochs=12),
)


@pytest.fixture
def sigint_raises():
    """Python's own SIGINT handler (raise KeyboardInterrupt) for the test's duration."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_during_a_save_lets_it_finish_then_interrupts(
    key, tmp_path, monkeypatch, sigint_raises
):
    """SIGINT while a checkpoint is written: the save completes, then
    KeyboardInterrupt; the same call resumes from it to the straight result."""
    from jaxnn.checkpoint import save_state

    (x, y), model, config = SMALL
    saved = []

    def interrupted_save(directory, state, tag=None):
        os.kill(os.getpid(), signal.SIGINT)  # held until the save is done
        save_state(directory, state, tag)
        saved.append(int(state.epoch))

    fit = lambda **kw: jaxnn.fit(key, model, (x, y), config=config, chunk_epochs=4, **kw)
    monkeypatch.setattr("jaxnn.checkpoint.save_state", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        fit(checkpoint_dir=str(tmp_path))
    assert saved == [4]
    monkeypatch.setattr("jaxnn.checkpoint.save_state", save_state)
    assert_bitwise(fit(checkpoint_dir=str(tmp_path)), fit())


def test_interrupts_deferred_holds_one_sigint_and_a_second_acts_at_once(sigint_raises):
    done = []
    with pytest.raises(KeyboardInterrupt), progress.interrupts_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        done.append(1)  # still runs
    assert done == [1]
    with pytest.raises(KeyboardInterrupt), progress.interrupts_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        done.append(2)  # not reached
    assert done == [1]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# ---------------------------------------------------------------------------------------
# wait: block_until_ready that Ctrl-C interrupts

WAIT_SCRIPT = textwrap.dedent(
    """
    import os, signal, threading, time
    import jax, jax.numpy as jnp
    from jaxnn.progress import wait

    @jax.jit
    def slow(x, n):
        return jax.lax.fori_loop(0, n, lambda i, x: jnp.tanh(x @ x) * 0.5, x)

    x = jnp.ones((256, 256), jnp.float32) / 256
    slow(x, 1).block_until_ready()
    t0 = time.perf_counter()
    slow(x, 100).block_until_ready()
    n = max(1, int(100 * 0.6 / (time.perf_counter() - t0)))  # about 0.6 s
    for grace, calls in ((0.0, 3), (5.0, 1)):  # 1.8 s, cut at once; 0.6 s, finished
        out = slow(x, n * calls)
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        t0 = time.perf_counter()
        try:
            wait(out, grace=grace)
        except KeyboardInterrupt:
            print(grace, round(time.perf_counter() - t0, 3), out.is_ready(), flush=True)
        out.block_until_ready()
    """
)


def test_wait_raises_keyboard_interrupt_and_lets_the_call_finish_within_grace(tmp_path):
    script = tmp_path / "wait.py"
    script.write_text(CTRL_C_AS_IN_A_TERMINAL + WAIT_SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    (_, t0, ready0), (_, t1, ready1) = (line.split() for line in out.stdout.splitlines())
    assert float(t0) < 1.0 and ready0 == "False"  # grace 0: at once, the call still runs
    assert 0.2 < float(t1) < 5.0 and ready1 == "True"  # the call finished, then raised


def test_wait_returns_its_tree_and_raises_what_the_computation_raises(key):
    tree = {"a": jnp.arange(3), "key": jax.random.split(key), "n": np.ones(2), "none": None}
    assert progress.wait(tree) is tree
    gone = jnp.ones(3)
    gone.delete()
    with pytest.raises(RuntimeError):
        progress.wait([jnp.ones(2), gone])
    results = []
    thread = threading.Thread(target=lambda: results.append(progress.wait(jnp.ones(4) * 2)))
    thread.start()  # outside the main thread it simply blocks
    thread.join()
    assert float(results[0][0]) == 2.0


# ---------------------------------------------------------------------------------------
# Calls: sizes, one program, the same numbers


def test_the_pacer_probes_then_sizes_calls_and_remembers_the_speed():
    class Jitted:  # a "jitted function" whose cache never grows: every call is timed
        def _cache_size(self):
            return 1

    fn, key = Jitted(), ("test", object())
    pacer = progress.Pacer(key, seconds=0.1)
    assert pacer.until(0, 1000) == 1  # unknown speed: one epoch
    pacer.run(fn, lambda: time.sleep(0.002))
    pacer.ran(1)  # about 2 ms an epoch
    assert pacer.rate >= 0.002
    assert pacer.until(1, 1000) == 1 + min(8, int(0.1 / pacer.rate))  # at most 8x more
    pacer.run(fn, lambda: time.sleep(0.016))
    pacer.ran(8)
    step = min(64, int(0.1 / pacer.rate))  # about 0.1 s, at most 8x more
    assert pacer.until(9, 1000) == 9 + step
    again = progress.Pacer(key, seconds=0.1)  # the next fit of that program
    assert again.rate == pacer.rate and again.until(0, 1000) == int(0.1 / pacer.rate)
    assert again.until(0, 60) == 60  # short enough for one call
    assert progress.Pacer(key, probe=False, seconds=0.1).until(5, 900) == 5 + int(0.1 / pacer.rate)
    assert progress.Pacer(("other",), probe=False).until(5, 900) == 900  # unknown: all


def test_a_long_plain_fit_runs_in_calls_of_one_program_with_the_same_numbers(key, monkeypatch):
    x, y = jaxnn.data.make_moons(key, 37, noise=0.2)  # shapes no other test compiles
    model, config = jaxnn.MLP((2, 5, 1)), jaxnn.FitConfig(learning_rate=0.5, epochs=200)
    real, calls = training._fit_jit, []

    def counted(*args, **kwargs):
        calls.append(args[3])  # until
        return real(*args, **kwargs)

    counted._cache_size = real._cache_size
    monkeypatch.setattr(training, "_fit_jit", counted)
    monkeypatch.setattr(progress, "CALL_SECONDS", 1e-5)  # every call "long"
    with count_compiles() as compiles:
        res = jaxnn.fit(key, model, (x, y), config=config)
    assert compiles.count == 1
    assert len(calls) > 3 and calls[-1] == 200
    # one call of that program, from the key to the end
    config = training.as_float32(config)
    model_, train, _ = training.prepare_inputs(model, (x, y), None, config)
    statics = dict(model=model_, plan=training.make_plan(config, 37, False, model_), optimizer=None)
    blank, _ = training.blank_state(key, config, statics)
    one = real(key, blank, True, 200, config=config, train=train, val=None, params=None, **statics)
    assert_bitwise(res.state, one)


def test_a_short_fit_of_a_known_program_is_one_call(key, monkeypatch):
    x, y = jaxnn.data.make_moons(key, 37, noise=0.2)
    model, config = jaxnn.MLP((2, 5, 1)), jaxnn.FitConfig(learning_rate=0.5, epochs=200)
    jaxnn.fit(key, model, (x, y), config=config)  # the speed is now known
    real, calls = training._fit_jit, []

    def counted(*args, **kwargs):
        calls.append(args[3])
        return real(*args, **kwargs)

    counted._cache_size = real._cache_size
    monkeypatch.setattr(training, "_fit_jit", counted)
    jaxnn.fit(jax.random.fold_in(key, 1), model, (x, y), config=config)
    assert calls == [200]


# ---------------------------------------------------------------------------------------
# The progress display


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_plain_lines_when_the_output_is_not_a_terminal():
    out = io.StringIO()
    with progress.progress_bar(100, desc="fit", file=out) as bar:
        bar.update(5)  # e.g. restored from a checkpoint, before anything ran
        time.sleep(0.05)
        bar.update(2)
        bar.compiled()
        bar.set_postfix(running="1/4")
        for _ in range(31):
            bar.update(3)
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0] == "fit: compiling..."
    assert [line.split(",")[0] for line in lines[1:]] == [
        "fit: epoch 10/100 (10%)",
        "fit: epoch 22/100 (22%)",
        "fit: epoch 31/100 (31%)",
        "fit: epoch 40/100 (40%)",
        "fit: epoch 52/100 (52%)",
        "fit: epoch 61/100 (61%)",
        "fit: epoch 70/100 (70%)",
        "fit: epoch 82/100 (82%)",
        "fit: epoch 91/100 (91%)",
        "fit: epoch 100/100 (100%)",
    ]
    assert " s, about " in lines[1]  # elapsed, then the time left
    assert lines[-1].endswith("running 1/4")


def test_plain_lines_say_where_a_run_was_interrupted():
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt), progress.progress_bar(50, desc="study", file=out) as bar:
        bar.compiled()
        bar.update(7)
        raise KeyboardInterrupt
    assert out.getvalue().splitlines()[-1].startswith("study: interrupted at epoch 7/50 (14%)")


def test_on_a_terminal_a_tqdm_bar_says_compiling_until_the_first_call_is_back():
    out = Terminal()
    with progress.progress_bar(100, desc="fit", file=out) as bar:
        bar.update(10)  # done before this run: not counted in the rate
        assert "fit (compiling)" in out.getvalue()
        time.sleep(0.2)  # "compiling"
        before = time.time()
        bar.update(5)
        bar.compiled()
        tq = bar._bar
        assert tq.start_t >= before and tq.initial == tq.n == 15  # the clock starts now
        assert tq.desc == "fit: "
        bar.update(85)
    text = out.getvalue()
    assert "\r" in text and "100/100" in text.split("\r")[-1]


def test_without_tqdm_a_terminal_gets_plain_lines(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails
    out = Terminal()
    with progress.progress_bar(10, desc="fit", file=out) as bar:
        bar.compiled()
        bar.update(10)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0] == "fit: compiling..."
    assert lines[1].startswith("fit: epoch 10/10 (100%), ")


def test_a_fit_and_a_study_with_progress_log_plain_lines_to_a_pipe(key, capsys):
    (x, y), model, config = SMALL
    jaxnn.fit(key, model, (x, y), config=config, progress=True)
    jaxnn.restarts(key, model, (x, y), config=config, n=2, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    assert lines[0] == "fit: compiling..."
    assert any(line.startswith("fit: epoch 12/12 (100%), ") for line in lines)
    assert "study: compiling..." in lines
    assert any(line.startswith("study: epoch 12/12 (100%), ") for line in lines)

"""Everything a fit or a study does on the host while its compiled loop runs.

A compiled fit or study runs as calls of a compiled loop, each a number of epochs;
between two calls the host can show progress, save a checkpoint and notice Ctrl-C.
Nothing here happens inside a compiled program.

* :func:`wait` waits for a call's result as ``jax.block_until_ready`` does, but
  Ctrl-C interrupts it.
* :class:`Pacer` sizes the calls: about :data:`CALL_SECONDS` each, so that Ctrl-C
  ends a fit soon and the host's round trips cost well under 1%.
* :func:`interrupts_deferred` lets a checkpoint save finish before Ctrl-C acts.
* :func:`progress_bar`: a tqdm bar on a terminal or in a notebook, and plain lines
  (no carriage returns) when the output goes to a file or a pipe. tqdm is an
  optional dependency (the ``experiments`` extra); without it, the plain lines.

Ctrl-C and XLA. XLA cannot cancel a program it is running: after Ctrl-C the call
in flight runs to its end, and Python's exit waits for it (on CPU, a call still
running while Python shuts down could also crash the process). So every loop runs
in calls of about :data:`CALL_SECONDS`, and :func:`wait` lets the call in flight
finish (at most ``grace`` seconds) before it raises ``KeyboardInterrupt``: the
process then exits at once, and in a notebook the device is free when control
comes back. Compiling cannot be interrupted either: Ctrl-C while XLA compiles acts
when the compiler returns.
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import jax

CALL_SECONDS = 0.25
"""Seconds a call of a compiled loop should take (:class:`Pacer`). Ctrl-C waits
for the call in flight, so about this long; a host round trip between calls costs
about 0.1 ms, under 0.1% of a call."""

BLOCK_SECONDS = 0.05
"""A call expected to take less than this is waited for in C++ (Ctrl-C acts when
it returns); a longer one with :func:`wait` (30 microseconds more)."""

# ---------------------------------------------------------------------------------------
# Waiting for results


def _arrays(tree: Any) -> list[Any]:
    """The leaves of ``tree`` that are device arrays (typed PRNG keys as their raw data).

    Raises:
      RuntimeError: for a deleted array (e.g. donated to a compiled call), on which
        ``block_until_ready`` would crash the process (jax 0.10).
    """
    out = []
    for a in jax.tree.leaves(tree):
        a = getattr(a, "_base_array", a)  # a typed key array holds its key data
        if hasattr(a, "is_ready"):
            if getattr(a, "is_deleted", lambda: False)():
                raise RuntimeError(
                    "wait: an array has been deleted (donated to a compiled call?), so it "
                    "will never be ready."
                )
            out.append(a)
    return out


_waiter: dict[str, Any] = {"pid": None, "requests": None}


def _waiter_loop(requests: queue.SimpleQueue) -> None:
    while True:
        arrays, done = requests.get()
        try:
            jax.block_until_ready(arrays)
        except Exception:  # the caller blocks again and raises it itself
            pass
        finally:
            done.set()


def _requests() -> queue.SimpleQueue:
    """The queue of the thread that blocks on arrays for the main thread (one per
    process: a forked child starts its own)."""
    if _waiter["pid"] != os.getpid():
        requests: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(
            target=_waiter_loop, args=(requests,), name="jaxnn-wait", daemon=True
        ).start()
        _waiter.update(pid=os.getpid(), requests=requests)
    return _waiter["requests"]


def wait(tree: Any, *, grace: float = 1.0) -> Any:
    """Wait until every array in ``tree`` is computed and return ``tree``, as
    ``jax.block_until_ready`` does, but so that Ctrl-C interrupts the wait.

    JAX dispatches a compiled call asynchronously and blocks only when a result is
    read (``int(x)``, ``np.asarray(x)``), in C++, where Python cannot run its
    signal handler: Ctrl-C then waits for the whole call. Here a helper thread
    blocks and the main thread waits on an event, which a signal interrupts; it
    costs about 30 microseconds when the arrays are not ready yet, nothing when
    they are. Leaves that are not JAX arrays are ignored.

    After Ctrl-C the call in flight keeps running (XLA cannot cancel it): the wait
    goes on for at most ``grace`` seconds so that it can finish, then raises
    ``KeyboardInterrupt``; a second Ctrl-C raises at once. Called from a thread
    other than the main one (which never receives signals), it simply blocks.

    Args:
      tree: any pytree; its JAX arrays (typed PRNG keys included) are waited for.
      grace: seconds to let the call in flight finish after Ctrl-C, >= 0.

    Returns:
      ``tree`` itself.

    Raises:
      KeyboardInterrupt: on Ctrl-C (SIGINT).
      RuntimeError: for an array that was deleted (or donated).
      Exception: whatever computing the arrays raised (as ``block_until_ready``).
    """
    arrays = _arrays(tree)
    if threading.current_thread() is threading.main_thread() and not all(
        a.is_ready() for a in arrays
    ):
        done = threading.Event()
        _requests().put((arrays, done))
        try:
            done.wait()
        except KeyboardInterrupt:
            try:
                done.wait(max(0.0, grace))
            except KeyboardInterrupt:  # a second Ctrl-C: at once
                pass
            raise
    jax.block_until_ready(arrays)  # at once now; raises what the computation raised
    return tree


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Run the block to its end before Ctrl-C acts: a first SIGINT in the block is
    held and raised (as the previous handler does, ``KeyboardInterrupt``) when the
    block ends; a second one acts at once. Used around checkpoint saves, so that an
    interrupted fit keeps the checkpoint of the epochs it finished.

    Outside the main thread, or when SIGINT has no Python handler (ignored, or
    handled outside Python), the block simply runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):
        yield
        return
    held: list[tuple[int, Any]] = []

    def hold(signum: int, frame: Any) -> None:
        if held:
            previous(signum, frame)
        held.append((signum, frame))

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        previous(*held[0])


# ---------------------------------------------------------------------------------------
# Sizing the calls

_RATES: collections.OrderedDict[Any, float] = collections.OrderedDict()
_MAX_RATES = 256


def _cache_size(fn: Any) -> int | None:
    size = getattr(fn, "_cache_size", None)
    try:
        return None if size is None else int(size())
    except Exception:
        return None


class Pacer:
    """How many epochs each call of a compiled loop runs, so that a call takes
    about ``seconds`` (default :data:`CALL_SECONDS`).

    The speed of a program (seconds per epoch) is remembered under ``key`` for the
    rest of the process (the newest 256 programs), so the next fit of the same
    program knows it at once: a short one runs in one call, a long one in calls of
    ``seconds``. A program not seen before starts with a call of one epoch (when
    ``probe``, else the whole of ``limit``) and grows at most 8x per call as it
    measures itself. Only the number of calls changes: a fit is bitwise the same
    whatever its calls.

    Use::

        pacer = Pacer(key)
        until = pacer.until(done, limit)
        state = pacer.run(jitted, lambda: jitted(state, until=until))
        epoch = int(state.epoch)  # reading the result waits for it
        pacer.ran(epoch - done)
    """

    def __init__(self, key: Any = None, *, probe: bool = True, seconds: float | None = None):
        try:
            hash(key)
        except TypeError:
            key = None
        self.key = key
        self.probe = probe
        self.seconds = CALL_SECONDS if seconds is None else seconds
        self.rate = None if key is None else _RATES.get(key)  # seconds per epoch
        self.measured = False  # whether self.rate comes from a call of this run
        self._step = 0  # epochs asked of the last call
        self._timed = False  # whether the last call is timed (it did not compile)
        self._t0 = 0.0  # when the last call started
        self.took = 0.0  # seconds the last call took (0 when not timed; see run)

    def until(self, done: int, limit: int) -> int:
        """The epoch the next call should run to: ``done < until <= limit``."""
        left = max(1, limit - done)
        if self.rate is None:  # a probe of one epoch, growing 8x while not timed
            step = (8 * self._step if self._step else 1) if self.probe else left
        else:
            step = max(1, int(self.seconds / max(self.rate, 1e-12)))
            if self.measured:
                step = min(step, 8 * self._step)
            if left <= 1.5 * step:  # no short tail call
                step = left
        self._step = min(step, left)
        return done + self._step

    def run(self, fn: Any, call: Callable[[], Any]) -> Any:
        """``call()`` (which calls the jitted ``fn``), timed until :meth:`ran`.

        A call expected to take over :data:`BLOCK_SECONDS` is waited for with
        :func:`wait`, which Ctrl-C interrupts; a shorter one is left to the
        caller's first read of its result (Ctrl-C acts when that returns, too soon
        to notice). A call that compiled is not timed: its execution may have run
        within the call (XLA:CPU runs small programs at once), after the compile;
        nor is one of a function that cannot tell (no ``_cache_size``, as a jitted
        function has).
        """
        expected = math.inf if self.rate is None else self.rate * self._step
        before = _cache_size(fn)
        self._t0 = time.perf_counter()
        out = call()
        self._timed = before is not None and _cache_size(fn) == before
        if expected > BLOCK_SECONDS:
            wait(out)
        return out

    def ran(self, epochs: int) -> None:
        """The last call, whose result the caller has now read, ran ``epochs`` epochs
        (fewer than asked if the fit stopped)."""
        self.took = time.perf_counter() - self._t0 if self._timed else 0.0
        if epochs <= 0 or not self._timed:
            return
        self.rate = max(self.took, 1e-9) / epochs
        self.measured = True
        if self.key is not None:
            _RATES[self.key] = self.rate
            _RATES.move_to_end(self.key)
            while len(_RATES) > _MAX_RATES:
                _RATES.popitem(last=False)


# ---------------------------------------------------------------------------------------
# Progress bars


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def compiled(self) -> None:
        pass


class _TqdmBar:
    """A tqdm bar that says "compiling" until the first call is back, and measures
    its rate and ETA from then on (the compile is not epochs' time)."""

    def __init__(self, bar: Any, desc: str):
        self._bar, self._desc, self._compiling = bar, desc, True
        bar.set_description(f"{desc} (compiling)" if desc else "compiling")

    def update(self, n: int = 1) -> None:
        if not self._compiling:
            self._bar.update(n)
            return
        b = self._bar  # epochs restored from a checkpoint: done before this run
        b.n = b.initial = b.last_print_n = b.n + n
        b.refresh()

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        self._bar.set_postfix(*args, **kwargs)

    def compiled(self) -> None:
        if not self._compiling:
            return
        self._compiling = False
        b = self._bar
        n = b.n
        b.reset()  # the clock and the rate's averages start now
        b.n = b.initial = b.last_print_n = n
        b.set_description(self._desc)

    def close(self) -> None:
        if self._compiling:
            self._bar.set_description(self._desc, refresh=False)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class _LogBar:
    """Progress as plain lines, for output that is not a terminal (a log file, a
    pipe): ``fit: compiling...`` first, then ``fit: epoch 120/500 (24%), 3.1 s``
    at every tenth of the total, and at least every :attr:`every` seconds."""

    every = 30.0

    def __init__(self, file: TextIO, total: int, desc: str, unit: str):
        self._file, self._total, self._desc, self._unit = file, total, desc or "progress", unit
        self._n = 0
        self._postfix = ""
        self._start = time.perf_counter()
        self._last_t, self._last_n, self._next_tenth = self._start, -1, 1
        self._compiled_at: tuple[float, int] | None = None
        self._write(f"{self._desc}: compiling...")

    def _write(self, line: str) -> None:
        try:
            self._file.write(line + "\n")
            self._file.flush()
        except (OSError, ValueError):  # a closed or broken stream: no progress
            pass

    def _line(self, prefix: str = "") -> str:
        now = time.perf_counter()
        pct = f" ({100 * self._n / self._total:.0f}%)" if self._total else ""
        text = f"{self._unit} {self._n}/{self._total}{pct}, {_duration(now - self._start)}"
        if self._compiled_at is not None and 0 < self._n < self._total:
            t0, n0 = self._compiled_at
            if self._n > n0 and now > t0:
                left = (self._total - self._n) * (now - t0) / (self._n - n0)
                text += f", about {_duration(left)} left"
        if self._postfix:
            text += f", {self._postfix}"
        return f"{self._desc}: {prefix}{text}"

    def _maybe_write(self) -> None:
        now = time.perf_counter()
        tenth = math.floor(10 * self._n / self._total) if self._total else 0
        if tenth >= self._next_tenth or now - self._last_t >= self.every:
            self._write(self._line())
            self._last_t, self._last_n = now, self._n
            self._next_tenth = max(self._next_tenth, tenth + 1)

    def update(self, n: int = 1) -> None:
        self._n += n
        if self._compiled_at is not None:
            self._maybe_write()
        else:  # restored from a checkpoint before anything ran: tenths already passed
            self._next_tenth = math.floor(10 * self._n / self._total) + 1 if self._total else 1

    def set_postfix(self, *args: Any, refresh: bool = True, **kwargs: Any) -> None:
        items = dict(*args, **kwargs)
        self._postfix = ", ".join(f"{k} {v}" for k, v in items.items())

    def compiled(self) -> None:
        if self._compiled_at is None:
            self._compiled_at = (time.perf_counter(), self._n)
            self._maybe_write()

    def close(self, interrupted: bool = False) -> None:
        if interrupted:
            self._write(self._line("interrupted at "))
        elif self._n != self._last_n:
            self._write(self._line())


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


@contextlib.contextmanager
def progress_bar(
    total: int,
    *,
    enabled: bool = True,
    desc: str = "",
    unit: str = "epoch",
    file: TextIO | None = None,
) -> Iterator[Any]:
    """A progress display over ``total`` units (epochs), or one that shows nothing
    when not ``enabled``.

    On a terminal, or in a notebook, a tqdm bar; when the output is not a terminal
    (a file, a pipe, a CI log) or tqdm is not installed, plain lines without
    carriage returns: ``fit: compiling...``, then ``fit: epoch 120/500 (24%),
    3.1 s, about 9.8 s left`` at every tenth of ``total`` and at least every 30 s,
    and a last line when the block ends (``interrupted at ...`` after Ctrl-C).

    The display says "compiling" until its ``compiled()`` is called (after the
    first call of the compiled loop is back), and measures the rate and ETA from
    then on. Its ``update(n)`` adds ``n`` units (before ``compiled()``: units done
    before this run, e.g. restored from a checkpoint, which are not counted in the
    rate), ``set_postfix(**values)`` shows values after the count.

    Args:
      total: the number of units, >= 0.
      enabled: ``False`` gives a display that shows nothing.
      desc: the name shown in front (``"fit"``, ``"study"``).
      unit: the unit's name.
      file: the stream to write to; default ``sys.stderr`` (tqdm's default).
    """
    if not enabled:
        yield _NoBar()
        return
    stream = sys.stderr if file is None else file
    try:
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = None
    notebook = tqdm is not None and any(
        c.__module__.startswith("tqdm.notebook") for c in tqdm.__mro__
    )
    if tqdm is not None and (notebook or _isatty(stream)):
        with tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, file=stream) as bar:
            wrapped = _TqdmBar(bar, desc)
            try:
                yield wrapped
            finally:
                wrapped.close()
        return
    log = _LogBar(stream, total, desc, unit)
    try:
        yield log
    except KeyboardInterrupt:
        log.close(interrupted=True)
        raise
    else:
        log.close()

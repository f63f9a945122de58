"""README.md works for a reader who has only it: it starts with the two commands,
says how to use the environment they create, and every python block runs as
written and on its own, each in a fresh process (the multi-process block as the
README starts it: under the local launcher, with two processes)."""

import contextlib
import io
import os
import pathlib
import re
import shlex
import signal
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BENCH_README = (ROOT / "experiments" / "bench" / "README.md").read_text()
SH_BLOCKS = re.findall(r"```sh\n(.*?)```", README, re.S)
DISTRIBUTED = "jaxnn.distributed.initialize()"
TIMEOUT_S = 300  # one block, on a loaded 2-core machine; each takes 10-40 s alone


def _python_blocks() -> list[tuple[str, str]]:
    """``(id, code)`` of every python block, the id naming the section it is in."""
    blocks, heading = [], "top"
    for part in re.split(r"(```python\n.*?```)", README, flags=re.S):
        if part.startswith("```python\n"):
            name = re.sub(r"\W+", "-", heading.lower()).strip("-")
            blocks.append((f"{len(blocks)}-{name}", part[len("```python\n") : -3]))
        else:
            headings = re.findall(r"^#+ (.+)$", part, re.M)
            heading = headings[-1] if headings else heading
    return blocks


BLOCKS = _python_blocks()


def _env() -> dict[str, str]:
    """A reader's shell after ``source .venv/bin/activate``: ``python`` is this
    environment's, and no XLA_FLAGS (one CPU device per process)."""
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def _run(command: list[str], cwd: pathlib.Path) -> subprocess.CompletedProcess:
    """Run ``command`` in its own process group: past :data:`TIMEOUT_S` the whole
    group is killed (the launcher's processes too), and the test fails."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{shlex.join(command)} ran past {TIMEOUT_S} s:\n{out[-4000:]}\n{err[-4000:]}")
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def _explain(proc: subprocess.CompletedProcess) -> str:
    return f"exit status {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"


def test_readme_starts_with_the_two_commands():
    lines = SH_BLOCKS[0].splitlines()
    assert lines[0].startswith("make run") and lines[1].startswith("make test")


def test_readme_says_how_to_use_the_environment_before_any_example():
    before_code = README.split("```python", 1)[0]
    setup = "\n".join(re.findall(r"```sh\n(.*?)```", before_code, re.S)[1:])
    assert "source .venv/bin/activate" in setup
    assert ".venv/bin/python -m experiments" in setup
    assert "python quickstart.py" in before_code


def test_makefile_targets_exist():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("run:", "test:", "lint:", "bench:"):
        assert re.search(rf"^{target}", makefile, re.M), target
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "-m experiments run all" in makefile  # what the README says `make run` runs


def test_every_path_the_readmes_name_exists():
    for text, base in ((README, ROOT), (BENCH_README, ROOT / "experiments" / "bench")):
        links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
        for link in links:
            assert (base / link).exists(), link
    named = re.findall(r"`((?:experiments|jaxnn|tests)/[\w./]+)`", README + BENCH_README)
    for path in named:
        assert (ROOT / path).exists(), path


def test_lesson_selectors_of_the_readme_name_one_lesson():
    from experiments import registry

    for selector in ("8", "08", "lesson8", "mlp_nonlinear"):
        assert re.search(rf"\b{selector}\b", README), selector
        assert registry.resolve(selector) == "lesson08_mlp_nonlinear"


def test_command_line_options_of_the_readme_exist():
    """Every ``--option`` the README gives ``python -m experiments COMMAND`` is one
    of that command's (its ``--help`` lists it)."""
    from experiments.__main__ import main

    lines = [
        line.split("#")[0]
        for block in SH_BLOCKS
        for line in block.replace("\\\n", " ").splitlines()
        if "python -m experiments " in line
    ]
    prose = re.findall(r"`(python -m experiments [^`]+)`", README + BENCH_README)
    options: dict[str, set[str]] = {}
    for line in lines + prose:
        words = line.split("python -m experiments ", 1)[1].split()
        options.setdefault(words[0], set()).update(w for w in words if w.startswith("--"))
    assert {"list", "run", "demo", "restarts", "bench"} <= set(options)
    for command, opts in options.items():
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            main([command, "--help"])
        for opt in opts:
            assert re.search(rf"{re.escape(opt)}\b", out.getvalue()), f"{command} {opt}"


@pytest.mark.parametrize("code", [c for _, c in BLOCKS], ids=[i for i, _ in BLOCKS])
def test_python_block_runs_on_its_own(code, tmp_path):
    """Saved as a file and run in a fresh process, as the README tells the reader
    to; the multi-process block by the launcher command the README gives for it."""
    if DISTRIBUTED in code:
        return _run_distributed_block(code, tmp_path)
    (tmp_path / "example.py").write_text(code)
    proc = _run([sys.executable, "example.py"], tmp_path)
    assert proc.returncode == 0, _explain(proc)
    if "moons.png" in code:  # the quickstart: its numbers, and the plot it saves
        accuracy = re.search(r"test accuracy (\S+)", proc.stdout)
        assert accuracy and float(accuracy.group(1)) > 0.9, proc.stdout
        assert (tmp_path / "moons.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _run_distributed_block(code: str, tmp_path: pathlib.Path) -> None:
    name = re.search(r"`(\w+\.py)`:\n\n```python\n" + re.escape(code), README).group(1)
    command = [
        line
        for block in SH_BLOCKS
        for line in block.splitlines()
        if line.startswith("python -m jaxnn.distributed ") and line.endswith(f"python {name}")
    ]
    assert command == ["python -m jaxnn.distributed --local-processes 2 -- python my_study.py"]
    (tmp_path / name).write_text(code)
    proc = _run(shlex.split(command[0]), tmp_path)
    assert proc.returncode == 0, _explain(proc)
    printed = [line for line in proc.stdout.splitlines() if "StudyResult(" in line]
    assert len(printed) == 1 and printed[0].startswith("[p0] StudyResult(8 restarts"), proc.stdout


def test_the_distributed_block_alone_says_it_needs_a_launcher(tmp_path):
    """The README says what running the multi-process script without a launcher does."""
    (code,) = [c for _, c in BLOCKS if DISTRIBUTED in c]
    message = "coordinator_address should be defined"
    assert f"`{message}`" in README
    (tmp_path / "my_study.py").write_text(code)
    proc = _run([sys.executable, "my_study.py"], tmp_path)
    assert proc.returncode != 0 and message in proc.stderr, _explain(proc)

"""The README's quickstart runs as written, and it starts with the two commands."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_commands():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    assert first_block.splitlines()[0].startswith("make run")
    assert first_block.splitlines()[1].startswith("make test")


def test_quickstart_runs_and_is_short():
    section = README.split("## Quickstart", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(code.strip().splitlines()) < 25
    exec(compile(code, "README.md quickstart", "exec"), {})


def test_makefile_targets_exist():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("run:", "test:", "lint:"):
        assert re.search(rf"^{target}", makefile, re.M), target
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_python_block_runs_on_its_own():
    """Each python block is self-contained: it runs in a fresh namespace. The
    multi-process block needs a launcher (several processes) and is run by
    tests/test_distributed.py's launcher tests instead."""
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert len(blocks) >= 3
    quickstart = re.search(r"```python\n(.*?)```", README.split("## Quickstart", 1)[1], re.S)
    for i, code in enumerate(blocks):
        if "jaxnn.distributed.initialize()" in code or code == quickstart.group(1):
            continue  # the quickstart runs in test_quickstart_runs_and_is_short
        exec(compile(code, f"README.md python block {i}", "exec"), {})

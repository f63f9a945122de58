"""``python -m experiments run``: lessons by number or name, seeds, argparse errors,
a plain log when the output is not a terminal, the report kept across runs."""

import json
import subprocess
import sys

import pytest

from experiments.__main__ import main


def test_run_writes_the_report_and_logs_plain_lines(tmp_path, capsys):
    assert main(["run", "lesson04", "--quick", "--seeds", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert "\r" not in out.out + out.err  # pytest's capture is not a terminal
    assert "lesson 4, seed 1" not in out.out  # per-seed lines only on the bar
    assert "lesson  4 continuous errors" in out.out and "wrote " in out.out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["lessons"]["lesson04_sigmoid_softmax"]["seeds"] == [0, 1]
    report = (tmp_path / "report.md").read_text()
    assert "at 2 of 2 seeds" in report


def test_run_of_one_seed_reproduces_that_seed(tmp_path):
    main(["run", "4", "--quick", "--seeds", "3", "--out", str(tmp_path / "all")])
    main(["run", "4", "--quick", "--seed", "2", "--out", str(tmp_path / "one")])
    many = json.loads((tmp_path / "all/lesson04_sigmoid_softmax/metrics.json").read_text())
    one = json.loads((tmp_path / "one/lesson04_sigmoid_softmax/metrics.json").read_text())
    assert one["seeds"] == [2] and one["metrics"][0] == many["metrics"][2]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "99"], "unknown lesson '99'"),
        (["run", "lesson"], "unknown lesson 'lesson'"),
        (["run", "4", "--seeds", "0"], "expected a whole number >= 1, got 0"),
        (["run", "4", "--seeds", "x"], "expected a whole number >= 1, got 'x'"),
        (["run", "4", "--seed", "-1"], "expected a whole number in [0, 4294967296), got -1"),
        (["run", "4", "--seed", "1", "--seeds", "3"], "not allowed with argument"),
        (["restarts", "--host-devices", "-1"], "expected a whole number >= 0, got -1"),
        (["bench", "fit", "--host-devices", "x"], "expected a whole number >= 0, got 'x'"),
    ],
)
def test_bad_arguments_are_one_line_argparse_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_help_shows_defaults_and_list_names_the_commands():
    run = subprocess.run(
        [sys.executable, "-m", "experiments", "run", "--help"], capture_output=True, text=True
    )
    assert "(default: results)" in run.stdout and "(default: 20, or 3 with --quick)" in run.stdout
    listing = subprocess.run(
        [sys.executable, "-m", "experiments", "list"], capture_output=True, text=True
    )
    assert " 8  lesson08_mlp_nonlinear" in listing.stdout
    assert "demo" in listing.stdout and "restarts" in listing.stdout

"""The experiments' command line runs (quick sizes) and writes what it promises (the
benchmarks' commands: tests/test_bench_peers.py): every option of ``restarts``
states its default and rejects a bad value in one line, a study with a checkpoint
directory says whether it starts or resumes, and the demo's output reads well in a
file."""

import argparse
import re

import pytest

from experiments import restarts

SMALL = ["--data", "xor", "--n", "2", "--epochs", "20", "--n-points", "16"]


def _parser():
    parser = argparse.ArgumentParser(prog=restarts.PROG)
    restarts.add_arguments(parser)
    return parser


def test_restarts_command_writes_metrics_and_figures(tmp_path):
    args = _parser().parse_args(
        ["--data", "xor", "--n", "6", "--epochs", "40", "--n-points", "64", "--out", str(tmp_path)]
    )
    report = restarts.run(args)
    assert report["n"] == 6 and report["min"] <= report["median"] <= report["max"]
    assert set(report["best_of_k"]) == {1, 2, 5}
    for name in ("metrics.json", "losses.png", "best_of_k.png", "boundaries.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_every_restarts_option_states_its_default():
    parser = _parser()
    text = " ".join(parser.format_help().split())  # every "%(default)s" expands
    for action in parser._actions:
        if action.dest != "help":
            assert "(default: " in action.help, action.option_strings
    assert "(default: 2,2,1)" in text and "(default: xor)" in text
    from jaxnn import distributed

    assert f"(default: {distributed.INIT_TIMEOUT_S}," in text
    assert f"(default: {distributed.HEARTBEAT_TIMEOUT_S}," in text


def test_restarts_help_through_the_command_line(capsys):
    from experiments.__main__ import main

    with pytest.raises(SystemExit) as e:
        main(["restarts", "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--lr LR learning rate (default: 1.0)" in text
    assert "--n N number of restarts N (default: 100)" in text


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["--sizes", "2,x,1"], "argument --sizes: expected layer sizes as whole numbers"),
        (["--sizes", "2"], "argument --sizes: expected at least two layer sizes"),
        (["--sizes", "3,4,1"], "argument --sizes: expected 2 inputs first"),
        (["--sizes", "2,4,3"], "argument --sizes: expected 1 output last"),
        (["--sizes", "2,0,1"], "argument --sizes: expected layer sizes >= 1"),
        (["--lr", "-1"], "argument --lr: expected a finite number > 0, got '-1'"),
        (["--lr", "nan"], "argument --lr: expected a finite number > 0, got 'nan'"),
        (["--lr", "fast"], "argument --lr: expected a finite number > 0, got 'fast'"),
        (["--n", "0"], "argument --n: expected a whole number >= 1, got 0"),
        (["--n", "2.5"], "argument --n: expected a whole number >= 1, got '2.5'"),
        (["--epochs", "-3"], "argument --epochs: expected a whole number >= 1, got -3"),
        (["--n-points", "1"], "argument --n-points: expected a whole number >= 2, got 1"),
        (["--noise", "-0.1"], "argument --noise: expected a finite number >= 0"),
        (["--noise", "inf"], "argument --noise: expected a finite number >= 0"),
        (["--momentum", "1"], "argument --momentum: expected a number in [0, 1), got '1'"),
        (["--batch-size", "0"], "argument --batch-size: expected a whole number >= 1"),
        (["--tol", "-1"], "argument --tol: expected a finite number >= 0"),
        (["--chunk-size", "0"], "argument --chunk-size: expected a whole number >= 1"),
        (["--seed", "-1"], "argument --seed: expected a whole number in [0, 4294967296)"),
        (["--data", "mnist"], "argument --data: invalid choice: 'mnist'"),
        (["--activation", "foo"], "argument --activation: invalid choice: 'foo'"),
        (["--out", "FILE"], "argument --out: expected a directory, but"),
        (["--checkpoint-dir", "FILE/sub"], "argument --checkpoint-dir: expected a directory"),
        (["--local-processes", "0"], "argument --local-processes: expected a whole number >= 1"),
        (["--coordinator", "host"], "argument --coordinator: expected HOST:PORT"),
        (["--coordinator", "host:99999"], "argument --coordinator: expected HOST:PORT"),
        (["--num-processes", "0"], "argument --num-processes: expected a whole number >= 1"),
        (["--process-id", "-1"], "argument --process-id: expected a whole number >= 0"),
        (["--num-processes", "2", "--process-id", "2"], "--process-id 2 is not a process of"),
        (["--process-id", "2", "--num-processes", "2"], "--process-id 2 is not a process of"),
        (["--local-processes", "2", "--distributed"], "not allowed with --distributed"),
        (["--num-processes", "2", "--local", "2"], "not allowed with --num-processes"),
        (["--init-timeout", "0"], "argument --init-timeout: expected a whole number >= 1"),
        (["--heartbeat-timeout", "x"], "argument --heartbeat-timeout: expected a whole number"),
    ],
)
def test_restarts_rejects_a_bad_value_in_one_line(words, message, tmp_path, capsys):
    from experiments.__main__ import main

    (tmp_path / "FILE").write_text("")
    words = [w.replace("FILE", str(tmp_path / "FILE")) for w in words]
    with pytest.raises(SystemExit) as e:
        main(["restarts", *words])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("python -m experiments restarts: error: "), err
    assert message in last, last


def test_local_processes_is_taken_out_of_the_processes_command():
    strip = restarts._without_local_processes
    assert strip(["restarts", "--local-processes", "2", "--n", "4"]) == ["restarts", "--n", "4"]
    assert strip(["restarts", "--local-processes=2", "--lr", "1"]) == ["restarts", "--lr", "1"]
    assert strip(["restarts", "--local", "2", "--lr", "1"]) == ["restarts", "--lr", "1"]
    assert strip(["restarts", "--lr", "1"]) == ["restarts", "--lr", "1"]


def _run_printed(capsys, *words):
    restarts.run(_parser().parse_args([*SMALL, *words]))
    return capsys.readouterr().out.splitlines()


def test_a_study_with_a_checkpoint_dir_says_it_starts_then_that_it_resumes(tmp_path, capsys):
    ckpt, out = str(tmp_path / "ckpt"), str(tmp_path / "out")
    lines = _run_printed(capsys, "--checkpoint-dir", ckpt, "--out", out)
    assert lines[0] == f"starting a new study in {ckpt} (saved as it trains)"
    first = (tmp_path / "out" / "metrics.json").read_text()
    lines = _run_printed(capsys, "--checkpoint-dir", ckpt, "--out", out)
    assert lines[0] == (
        f"resuming the study in {ckpt} at its end (epoch 20 of 20): nothing left to train"
    )
    assert (tmp_path / "out" / "metrics.json").read_text() == first
    # a longer run continues it (the library's warning is the line printed, once)
    lines = _run_printed(capsys, "--checkpoint-dir", ckpt, "--out", out, "--epochs", "30")
    assert lines[0] == (
        f"resuming the study in {ckpt} from epoch 20 of 30 (saved by a run of 20 epochs)"
    )
    assert "30 epochs" in lines[1]
    # a shorter one cannot: one line, before anything trains
    with pytest.raises(SystemExit, match=re.escape("has already run 30 epochs, more than")):
        _run_printed(capsys, "--checkpoint-dir", ckpt, "--out", out, "--epochs", "10")
    # another study's checkpoint: the library's error, in one line
    with pytest.raises(SystemExit, match="written by a different fit or study"):
        _run_printed(capsys, "--checkpoint-dir", ckpt, "--out", out, "--epochs", "30", "--lr", "2")


def test_demo_prints_its_numbers_without_a_progress_bar(monkeypatch, capsys):
    from experiments import demo

    for name, value in (
        ("PERCEPTRON_EPOCHS", 2),
        ("MOONS_N", 64),
        ("MOONS_EPOCHS", 5),
        ("LOGREG_EPOCHS", 5),
        ("DIGITS_EPOCHS", 2),
    ):
        monkeypatch.setattr(demo, name, value)
    numbers = demo.main()
    printed = capsys.readouterr()
    assert "\r" not in printed.out + printed.err  # no bar repainting the line in a file
    assert printed.err == ""
    lines = printed.out.splitlines()
    assert lines[0].startswith("Lesson 2, logic gates") and lines[-1].startswith("Done in")
    assert all(0.0 <= v <= 1.0 for v in numbers.values())

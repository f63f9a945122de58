"""The experiments' command line runs (quick sizes) and writes what it promises."""

import json

from experiments.__main__ import main


def test_bench_fit_quick_writes_json(tmp_path, capsys):
    assert main(["bench", "fit", "--quick", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "fit.json").read_text())["rows"]
    assert [r["workload"].split()[0] for r in rows] == ["full-batch", "mini-batch"]
    for r in rows:
        assert r["jaxnn_steps_per_s"] > 0 and r["reference_steps_per_s"] > 0
        assert r["ratio"] > 0
    assert "ratio" in capsys.readouterr().out


def test_bench_restarts_quick_writes_json(tmp_path):
    from experiments.bench_restarts import main as bench_restarts

    rows = bench_restarts(quick=True, out=str(tmp_path))
    saved = json.loads((tmp_path / "restarts.json").read_text())
    assert [r["N"] for r in saved] == [r["N"] for r in rows] == [1, 4]
    for r in saved:
        for field in (
            "jaxnn",
            "reference",
            "python_loop",
            "jaxnn_compile_s",
            "reference_compile_s",
            "jaxnn_gflops",
            "peak_gflops",
        ):
            assert r[field] > 0, field


def test_restarts_command_writes_metrics_and_figures(tmp_path):
    import argparse

    from experiments import restarts

    parser = argparse.ArgumentParser()
    restarts.add_arguments(parser)
    args = parser.parse_args(
        ["--data", "xor", "--n", "6", "--epochs", "40", "--n-points", "64", "--out", str(tmp_path)]
    )
    report = restarts.run(args)
    assert report["n"] == 6 and report["min"] <= report["median"] <= report["max"]
    assert set(report["best_of_k"]) == {1, 2, 5}
    for name in ("metrics.json", "losses.png", "best_of_k.png", "boundaries.png"):
        assert (tmp_path / name).stat().st_size > 0

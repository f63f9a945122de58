"""The experiments' command line runs (quick sizes) and writes what it promises (the
benchmarks' commands: tests/test_bench_peers.py)."""


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

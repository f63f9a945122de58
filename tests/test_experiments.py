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

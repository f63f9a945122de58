"""The peer benchmark: its pure parts (aggregation, the W3 search, the report), the
command line, and one quick smoke run with a peer that is not there."""

import json

import pytest

from experiments import bench_peers as bp
from experiments.peers import PEERS
from experiments.peers import workloads as wl


def _w1_run(peer, n, seconds, *, epochs=10, timed=None, losses=(0.3, 0.2), r=0):
    result = {
        "seconds": seconds,
        "warmup_s": 1.0,
        "final_losses": list(losses),
        "timed_restarts": n if timed is None else timed,
        "note": f"{peer} note",
        "epochs": epochs,
    }
    return {"peer": peer, "workload": "w1", "n": n, "status": "ok", "result": result, "round": r}


def _w2_run(peer, seconds, acc, *, epochs=2):
    result = {"seconds": seconds, "warmup_s": 0.5, "test_accuracy": acc, "epochs": epochs}
    result["note"] = "no dropout" if peer == "sklearn" else ""
    return {"peer": peer, "workload": "w2", "n": 1, "status": "ok", "result": result}


def test_spread_is_median_min_max():
    assert bp.spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "count": 3}
    assert bp.spread([1.0, 4.0])["median"] == 2.5
    assert bp.spread([])["median"] is None


def test_summarize_w1_rates_ratios_and_scaling():
    runs = [_w1_run("jaxnn", 4, s, r=i) for i, s in enumerate((1.0, 2.0, 4.0))] + [
        _w1_run("torch_loop", 4, 2.0, timed=1, losses=(0.5,)),  # 1 restart timed of 4
        _w1_run("reference", 4, 0.5),
        {"peer": "flax_nnx", "workload": "w1", "n": 4, "status": "skip", "result": None},
    ]
    rows = bp.summarize_w1(runs, n_points=100, peak_gflops=10.0)
    assert [r["peer"] for r in rows] == ["jaxnn", "reference", "torch_loop"]  # PEERS' order
    j, ref, loop = rows
    assert j["rate"] == {"median": 20.0, "min": 10.0, "max": 40.0, "count": 3}  # 4*10/s
    assert j["ratio"] == 1.0 and ref["ratio"] == pytest.approx(80.0 / 20.0)
    assert loop["rate"]["median"] == 5.0 and loop["scaled"] and not j["scaled"]
    assert j["gflops"] == pytest.approx(20.0 * wl.w1_flops_per_restart_epoch(100) / 1e9)
    assert j["pct_peak"] == pytest.approx(j["gflops"] / 10.0)
    assert loop["final_loss"]["median"] == 0.5
    assert j["final_loss"] == {"median": 0.25, "min": 0.2, "max": 0.3, "count": 2}


def test_summarize_w2_examples_per_second_and_accuracy():
    runs = [_w2_run("jaxnn", 1.0, 0.95), _w2_run("jaxnn", 3.0, 0.97), _w2_run("sklearn", 0.5, 0.9)]
    rows = bp.summarize_w2(runs, n_train=100)
    j, sk = rows
    assert j["rate"]["median"] == pytest.approx((200 + 200 / 3) / 2)  # 2 x 100 / 1 s and / 3 s
    assert j["wall_s"]["median"] == 2.0 and j["test_accuracy"]["max"] == 0.97
    assert sk["ratio"] == pytest.approx(400.0 / j["rate"]["median"])
    assert sk["note"] == "no dropout"


def _fake_trial(limit, calls):
    def trial(n):
        calls.append(n)
        ok = n <= limit
        return {"ok": ok, "reason": "" if ok else "time: too slow", "seconds": n / 10}

    return trial


def test_w3_search_doubles_then_bisects():
    calls = []
    out = bp.w3_search(_fake_trial(100, calls), start=16, cap=2**16)
    assert calls == [16, 32, 64, 128, 96]
    assert out["largest_n"] == 96 and out["seconds"] == 9.6
    assert out["next_n"] == 128 and out["next_reason"] == "time: too slow"


def test_w3_search_bisection_that_fails_and_edges():
    calls = []
    out = bp.w3_search(_fake_trial(80, calls), start=16, cap=2**16)
    assert calls == [16, 32, 64, 128, 96] and out["largest_n"] == 64 and out["next_n"] == 96
    out = bp.w3_search(_fake_trial(1, []), start=2, cap=64)  # the first trial fails
    assert out["largest_n"] is None and out["next_n"] == 2
    calls = []
    out = bp.w3_search(_fake_trial(10**9, calls), start=2, cap=16)  # never fails
    assert calls == [2, 4, 8, 16] and out["largest_n"] == 16 and out["next_n"] is None
    assert "cap" in out["next_reason"]


def _results():
    runs = [_w1_run("jaxnn", 16, 2.0), _w1_run("reference", 16, 1.0)]
    runs += [_w1_run("torch_vmap", 16, 4.0), _w2_run("jaxnn", 1.0, 0.95)]
    runs += [_w2_run("sklearn", 0.5, 0.93)]
    w3 = {
        "jaxnn": {"largest_n": 256, "seconds": 50.0, "peak_rss_bytes": 2**30, "next_n": 384,
                  "next_reason": "time: 70.0 s > 60 s"},
        "reference": {"largest_n": 512, "seconds": 55.0, "peak_rss_bytes": 2**30,
                      "next_n": 768, "next_reason": "memory: 9.0 GiB > 8 GiB"},
    }  # fmt: skip
    settings = {
        "threads": 2,
        "repeats": 1,
        "w1_ns": [16],
        "w1_points": 1024,
        "w1_epochs": 10,
        "w2_epochs": 2,
        "w3_epochs": 10,
        "w3_seconds": 60.0,
        "w3_bytes": wl.W3_BYTES,
        "w3_start": 16,
        "w3_max_n": 2**16,
        "flops_per_restart_epoch": wl.w1_flops_per_restart_epoch(1024),
    }
    return {
        "command": "python -m experiments bench",
        "quick": False,
        "machine": {"cpu": "test cpu", "cpu_count": 2, "versions": {"jax": "0"}},
        "peak_gflops": 100.0,
        "settings": settings,
        "skipped": {"flax_nnx": "flax is not installed (pip install 'jaxnn[bench]')"},
        "workloads_run": ["w1", "w2", "w3"],
        "summary": {
            "w1": {"rows": bp.summarize_w1(runs, 1024, 100.0), "skipped": {}, "failed": []},
            "w2": {
                "rows": bp.summarize_w2(runs, 1438),
                "skipped": {"torch_vmap": "no w2 (a variant of another peer on W2)"},
                "failed": [],
            },
            "w3": {"rows": bp.summarize_w3(w3), "skipped": {}, "failed": []},
        },
        "runs": runs,
    }


def test_report_has_every_peer_the_skips_and_computed_behind_lines():
    results = _results()
    report = bp.render_report(results)
    w1, w2, w3 = (report.split(f"## {w}")[1].split("\n## ")[0] for w in ("W1", "W2", "W3"))
    for peer in ("jaxnn", "reference", "torch_vmap"):
        assert f"| {peer} |" in w1
    for peer in ("jaxnn", "sklearn"):
        assert f"| {peer} |" in w2
    assert "| reference | 512 |" in w3 and "memory" in w3
    assert "torch_vmap: skipped, no w2" in w2
    assert "flax_nnx: flax is not installed" in report
    assert "| 16 | reference | 160 | 160–160 | 2.00 |" in w1  # 16 x 10 / 1.0 s, x2 jaxnn
    behind = bp.behind_lines(results["summary"])
    assert any(line.startswith("W1, N=16: jaxnn is behind reference") for line in behind)
    assert any(line.startswith("W2: jaxnn is behind sklearn") for line in behind)
    assert any(line.startswith("W3: jaxnn is behind reference") for line in behind)
    assert not any("torch_vmap" in line for line in behind)  # slower than jaxnn
    for line in behind:
        assert line in report
    assert "experiments/peers/workloads.py" in report


def test_worker_reads_requires_without_importing(tmp_path):
    from experiments.peers.__main__ import _requires, unavailable

    src = tmp_path / "peer.py"
    src.write_text("import not_a_real_package\nREQUIRES = ('numpy', 'not_a_real_package')\n")
    assert _requires(str(src)) == ("numpy", "not_a_real_package")
    assert "does not exist" in unavailable("no_such_peer_module")
    assert unavailable("jaxnn_study") is None


def test_cli_bench_without_a_name_runs_the_peer_comparison(monkeypatch):
    from experiments.__main__ import main

    seen = {}
    monkeypatch.setattr(bp, "main", lambda **kw: seen.update(kw))
    assert main(["bench", "--quick", "--peers", "jaxnn,reference", "--workloads", "w1"]) == 0
    assert seen["peers"] == ["jaxnn", "reference"] and seen["workloads"] == ["w1"]
    assert seen["quick"] and seen["repeats"] is None
    assert seen["command"].startswith("python -m experiments bench --quick")
    with pytest.raises(SystemExit):
        main(["bench", "--workloads", "w9"])


def test_quick_run_writes_report_and_skips_a_missing_peer(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(PEERS, "absent_peer", "no_such_peer_module")
    results = bp.main(
        quick=True,
        out=str(tmp_path),
        peers=["jaxnn", "reference", "absent_peer"],
        repeats=1,
        w1_ns=(2,),
        w3_max_n=2,
    )
    saved = json.loads((tmp_path / "peers.json").read_text())
    report = (tmp_path / "report.md").read_text()
    assert "does not exist" in saved["skipped"]["absent_peer"]
    assert "absent_peer: its module" in report
    assert all(r["peer"] != "absent_peer" for r in saved["runs"])
    assert all(r["status"] == "ok" for r in saved["runs"]), saved["runs"]
    for w in ("w1", "w2", "w3"):
        assert {r["peer"] for r in results["summary"][w]["rows"]} == {"jaxnn", "reference"}
        assert not results["summary"][w]["failed"]
    w1 = results["summary"]["w1"]["rows"]
    j, ref = (next(r for r in w1 if r["peer"] == p) for p in ("jaxnn", "reference"))
    # The same init, data and update rule: the same final losses (up to float noise).
    assert j["final_loss"]["median"] == pytest.approx(ref["final_loss"]["median"], rel=1e-3)
    assert "## W1" in report and "## W2" in report and "## W3" in report
    assert "SKIP absent_peer" in capsys.readouterr().out

"""The peer benchmark: its pure parts (aggregation, the W3 search, the report), the
command line, and one quick smoke run with a peer that is not there; the bare loop
against jaxnn's fit; ``bench restarts`` and ``bench fit`` (quick runs)."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnn
from experiments.__main__ import main as cli
from experiments.bench import loop as bench_loop
from experiments.bench import peer_comparison as bp
from experiments.bench.peers import PEERS, reference
from experiments.bench.peers import workloads as wl


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
    assert "experiments/bench/peers/workloads.py" in report


def test_worker_reads_requires_without_importing(tmp_path):
    from experiments.bench.peers.__main__ import _requires, unavailable

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
    assert j["final_loss"]["median"] == pytest.approx(ref["final_loss"]["median"], rel=1e-5)
    assert "## W1" in report and "## W2" in report and "## W3" in report
    assert "SKIP absent_peer" in capsys.readouterr().out


# ------------------------------------------------ the bare loop, bench restarts, bench fit


def test_bare_loop_trains_what_jaxnn_fit_trains():
    """Restart i of the bare loop (W1's model and update rule, 10 restarts: a group of
    8 and a remainder of 2) reaches the final loss of ``jaxnn.fit`` from
    ``fold_in(key, i)`` with jaxnn's defaults, to float tolerance."""
    x, y = jaxnn.data.make_moons(jax.random.key(3), 64, noise=0.2)
    x, y = jaxnn.data.standardize(x), y.astype(jnp.float32)
    key, n, epochs = jax.random.key(wl.W1_SEED), 10, 30
    params = reference.w1_program(n, epochs)(key, x.T, y)
    assert jax.tree.leaves(params)[0].shape[0] == n
    loop = np.asarray(reference.w1_final_losses(params, x.T, y))
    model = jaxnn.MLP(wl.W1_SIZES, wl.W1_ACTIVATION)
    config = jaxnn.FitConfig(learning_rate=wl.W1_LR, momentum=wl.W1_MOMENTUM, epochs=epochs)
    fits = []
    for i in range(n):
        p = jaxnn.fit(jax.random.fold_in(key, i), model, (x, y), config=config).params
        fits.append(float(jaxnn.evaluate("binary", model.apply(p, x), y)[0]))
    np.testing.assert_allclose(loop, fits, rtol=1e-5)
    # They trained: below the loss of the restarts' init, and the restarts differ.
    init = jaxnn.init_mlp(jax.random.fold_in(jax.random.fold_in(key, 0), 0), wl.W1_SIZES,
                          activation="tanh")  # fmt: skip
    assert loop[0] < float(reference.bce(init, x.T, y)) - 0.05
    assert np.ptp(loop) > 1e-3


def _loop_run(peer, w, n, r, seconds, first, losses=(0.3, 0.2)):
    result = {"seconds": seconds, "warmup_s": first - seconds, "first_call_s": first,
              "note": "", "epochs": 10, "timed_restarts": n, "final_losses": list(losses),
              "test_accuracy": 0.9}  # fmt: skip
    return {"peer": peer, "workload": w, "n": n, "status": "ok", "round": r, "result": result}


def test_run_rounds_rotates_the_order_and_summarize_pairs_rounds(monkeypatch):
    calls = []

    def fake_worker(peer, workload, data, *, n, epochs, threads, timeout):
        calls.append((peer, workload, n))
        r = (sum(1 for c in calls if c[1:] == (workload, n)) - 1) // 2  # this call's round
        seconds = {"jaxnn": 2.0, "reference": 1.0}[peer] * (1 + r)
        run = _loop_run(peer, workload, n, r, seconds, first=3.0 if peer == "jaxnn" else 1.5)
        return {k: v for k, v in run.items() if k != "round"} | {"wall_s": 1.0}

    monkeypatch.setattr(bp, "run_worker", fake_worker)
    runs, section = [], {"skipped": {}, "failed": []}
    cases = [("w2", 1), ("w1", 4)]
    bp.run_rounds(cases, ["jaxnn", "reference"], 2, "data.npz", epochs={"w1": 10, "w2": 10},
                  threads=2, timeout=10.0, runs=runs, section=section)  # fmt: skip
    assert calls == [
        ("jaxnn", "w2", 1), ("reference", "w2", 1), ("jaxnn", "w1", 4), ("reference", "w1", 4),
        ("reference", "w2", 1), ("jaxnn", "w2", 1), ("reference", "w1", 4), ("jaxnn", "w1", 4),
    ]  # fmt: skip
    assert [r["round"] for r in runs] == [0, 0, 0, 0, 1, 1, 1, 1]
    rows = bench_loop.summarize(runs, cases, "jaxnn", n_points=100, n_train=50, peak_gflops=1.0)
    w2, w1 = rows
    assert w2["jaxnn"]["rate"]["median"] == pytest.approx((250 + 125) / 2)  # 10 x 50 / s
    assert w2["ratio"] == {"median": 0.5, "min": 0.5, "max": 0.5, "count": 2}  # per round
    assert w1["first_call_ratio"]["median"] == 2.0 and w1["max_final_loss_diff"] == 0.0
    flops = wl.w1_flops_per_restart_epoch(100)
    assert w1["loop"]["pct_peak"] == pytest.approx(w1["loop"]["rate"]["median"] * flops / 1e9)
    table = bench_loop.render(rows)
    assert "| W1 N=4 (restart-epochs/s) |" in table and "0.50 [0.50–0.50]" in table


def _check_loop_rows(saved, workloads):
    assert [(r["workload"], r["N"]) for r in saved["rows"]] == workloads
    assert saved["peak_gflops"] > 0 and not saved["failed"] and not saved["skipped"]
    assert all(r["status"] == "ok" for r in saved["runs"]), saved["runs"]
    for row in saved["rows"]:
        for side in ("jaxnn", "loop"):
            assert row[side]["rate"]["median"] > 0 and row[side]["first_call_s"]["median"] > 0
        assert row["ratio"]["median"] > 0 and row["first_call_ratio"]["median"] > 0
        if row["workload"] == "w1":
            assert row["jaxnn"]["pct_peak"] > 0 and row["loop"]["pct_peak"] > 0
            # The bare loop trains what jaxnn trains: the same final losses.
            assert row["max_final_loss_diff"] < 1e-5
        else:
            assert row["loop"]["test_accuracy"]["median"] > 0.5


def test_bench_restarts_quick(tmp_path, capsys):
    # Two host devices whatever the cores: the bare loop's shard_map path runs.
    args = ["bench", "restarts", "--quick", "--ns", "4", "--host-devices", "2"]
    assert cli([*args, "--out", str(tmp_path)]) == 0
    saved = json.loads((tmp_path / "restarts.json").read_text())
    _check_loop_rows(saved, [("w1", 4)])
    assert {r["peer"] for r in saved["runs"]} == {"jaxnn", "reference"}
    assert saved["settings"]["threads"] == 2 and "shard_map" in saved["rows"][0]["loop"]["note"]
    out = capsys.readouterr().out
    assert "| W1 N=4 (restart-epochs/s) |" in out and "% of peak" in out
    assert (tmp_path / "restarts.md").read_text().count("| W1 N=4") == 1


def test_bench_fit_quick(tmp_path):
    assert cli(["bench", "fit", "--quick", "--out", str(tmp_path)]) == 0
    saved = json.loads((tmp_path / "fit.json").read_text())
    _check_loop_rows(saved, [("w2", 1), ("w1", 1)])
    assert {r["peer"] for r in saved["runs"]} == {"jaxnn_fit", "reference"}


def test_cli_bench_loop_options_are_checked():
    for argv in (["bench", "fit", "--ns", "4"], ["bench", "restarts", "--ns", "x"],
                 ["bench", "restarts", "--ns", "0"]):  # fmt: skip
        with pytest.raises(SystemExit):
            cli(argv)

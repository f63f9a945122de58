"""Every lesson experiment runs in --quick mode, its verdicts can fail, and the
report is built from what the lessons saved (over seeds, one section per lesson)."""

import json
import os

import pytest

from experiments import core, registry, report

NAMES = registry.available()


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("results"))
    results = {}
    for n in NAMES:  # one lesson's failure is reported by its own test only
        try:
            results[n] = registry.run_lesson(n, [0], out=out, quick=True)
        except Exception as e:
            results[n] = e
    return out, results


def test_every_lesson_of_the_course_is_registered():
    assert len(registry.LESSONS) == 16
    assert [int(n[6:8]) for n in registry.LESSONS] == list(range(1, 17))


@pytest.mark.parametrize("name", NAMES)
def test_quick_run_saves_metrics_and_figures(quick_run, name):
    out, results = quick_run
    r = results[name]
    if isinstance(r, Exception):
        raise r
    assert r.claims, "a lesson must decide at least one claim"
    assert r.figures, "a lesson must draw at least one figure"
    module = registry.load(name)
    assert module.STATEMENT and module.STATEMENT == r.statement
    with open(os.path.join(out, name, "metrics.json")) as f:
        saved = json.load(f)
    assert saved["lesson"] == r.lesson == module.LESSON
    assert core.load_result(os.path.join(out, name)) == r
    for fig in r.figures:
        assert len(fig.caption) > 20, fig
        assert os.path.getsize(os.path.join(out, name, fig.name)) > 1000
    for c in r.claims:
        assert c.claim[:1].isupper() and c.quantity, c


@pytest.mark.parametrize("name", NAMES)
def test_verdicts_fail_on_numbers_that_break_the_claims(name):
    module = registry.load(name)
    claims = module.verdicts(module.COUNTEREXAMPLE)
    assert claims and not any(c.holds for c in claims), [c for c in claims if c.holds]


def test_report_references_existing_sections_and_figures(quick_run):
    out, results = quick_run
    ran = [r for r in results.values() if not isinstance(r, Exception)]
    path = report.build(out, NAMES)
    with open(path) as f:
        text = f.read()
    assert text.count("## Summary") == 1
    assert text.index("## Summary") < text.index("## Lesson ")
    for r in ran:
        assert f"## Lesson {r.lesson}:" in text
        for fig in r.figures:
            assert f"]({r.name}/{fig.name})" in text
            assert fig.caption in text
            assert os.path.exists(os.path.join(out, r.name, fig.name))
        for c in r.claims:
            assert c.claim in text
    held = sum(c.holds for r in ran for c in r.claims)
    assert f"**{held} of {sum(len(r.claims) for r in ran)} claims" in text


def test_rerunning_one_lesson_keeps_the_others_sections(tmp_path):
    out = str(tmp_path)
    registry.run_lesson("4", [0, 1], out=out, quick=True)
    registry.run_lesson("lesson02", [0], out=out, quick=True)
    report.build(out, NAMES)
    registry.run_lesson("04", [5], out=out, quick=True)  # only lesson 4 again
    with open(report.build(out, NAMES)) as f:
        text = f.read()
    assert "## Lesson 2:" in text and "## Lesson 4:" in text
    assert "different seeds" in text  # lesson 2 at seed 0, lesson 4 at seed 5


def test_a_seed_gives_the_same_numbers_alone_and_among_others(tmp_path):
    alone = registry.run_lesson("4", [2], out=str(tmp_path / "a"), quick=True)
    among = registry.run_lesson("4", [0, 1, 2], out=str(tmp_path / "b"), quick=True)
    assert alone.metrics[0] == among.metrics[2]
    assert [c.values[0] for c in alone.claims] == [c.values[2] for c in among.claims]


@pytest.mark.parametrize(
    "word", ["4", "04", "lesson4", "lesson04", "Lesson_4", "sigmoid_softmax", "sigmoid-softmax"]
)
def test_lessons_are_found_by_number_or_name(word):
    assert registry.resolve(word) == "lesson04_sigmoid_softmax"


@pytest.mark.parametrize("word", ["0", "17", "lesson", "sigmoid", ""])
def test_unknown_lessons_are_refused_with_the_list(word):
    with pytest.raises(ValueError, match=r"unknown lesson.*lesson01_linear_boundaries"):
        registry.resolve(word)


def test_a_claim_holds_at_19_of_20_seeds_and_not_at_18():
    def over(held, n=20):
        values = tuple([1.0] * held + [0.0] * (n - held))
        return core.ClaimOverSeeds("c", "q", "", ">=", 0.5, values, held)

    assert over(20).holds and over(19).holds and not over(18).holds
    assert core.required(1) == 1 and core.required(3) == 3 and core.required(40) == 38
    c = over(19)
    assert c.median == 1.0 and c.range == (0.0, 1.0)
    nan = core.ClaimOverSeeds("c", "q", "", ">=", 0.5, (float("nan"), 1.0, 2.0), 2)
    assert nan.median == 1.5 and not nan.holds
    values = (0.94, 0.96, 0.97, 0.94, 0.98)  # median 0.96: holds by its median
    typical = core.ClaimOverSeeds("c", "q", "", ">=", 0.95, values, 3, "median")
    assert (
        typical.holds
        and not core.ClaimOverSeeds("c", "q", "", ">=", 0.965, values, 2, "median").holds
    )
    nan = float("nan")
    diverged = (0.96, 0.97, nan, nan, nan)  # NaN at 3 of 5 seeds: fails, not left out
    assert not core.ClaimOverSeeds("c", "q", "", ">=", 0.95, diverged, 2, "median").holds
    assert not core.ClaimOverSeeds("c", "q", "", "<=", 0.05, (0.01, nan, nan), 1, "median").holds


def test_check_decides_each_op_and_nan_never_holds():
    assert core.check("C", 1.0, ">=", 1.0).holds and not core.check("C", 1.0, ">", 1.0).holds
    assert core.check("C", 0.0, "<", 1.0).holds and not core.check("C", 1.0, "<=", 0.5).holds
    assert not core.check("C", float("nan"), "<=", 1.0).holds
    with pytest.raises(ValueError, match="op must be one of"):
        core.check("C", 1.0, "==", 1.0)
    assert core.check("C", 0.97, ">=", 0.95, unit="accuracy").expected == "at least 0.95 accuracy"
    assert core.fmt(float("inf")) == "infinite" and core.fmt(2.0, "epochs") == "2 epochs"
    assert core.fmt(float("nan")) == "NaN" and core.fmt(0.123456) == "0.1235"

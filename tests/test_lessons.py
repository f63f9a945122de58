"""Every lesson experiment runs in --quick mode, and its verdicts can fail."""

import json
import os

import pytest

from experiments import registry, report

NAMES = registry.available()


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("results"))
    outcomes = {}
    for n in NAMES:  # one lesson's failure is reported by its own test only
        try:
            outcomes[n] = registry.run_one(n, seed=0, out=out, quick=True)
        except Exception as e:
            outcomes[n] = e
    return out, outcomes


def test_every_lesson_of_the_course_is_registered():
    assert len(registry.LESSONS) == 16
    assert [int(n[6:8]) for n in registry.LESSONS] == list(range(1, 17))


@pytest.mark.parametrize("name", NAMES)
def test_quick_run_saves_metrics_and_figures(quick_run, name):
    out, outcomes = quick_run
    o = outcomes[name]
    if isinstance(o, Exception):
        raise o
    assert o.claims, "a lesson must decide at least one claim"
    assert o.figures, "a lesson must draw at least one figure"
    with open(os.path.join(out, name, "metrics.json")) as f:
        saved = json.load(f)
    assert saved["lesson"] == o.lesson == registry.load(name).LESSON
    for fig in o.figures:
        assert os.path.getsize(os.path.join(out, name, fig)) > 1000


@pytest.mark.parametrize("name", NAMES)
def test_verdicts_fail_on_numbers_that_break_the_claims(name):
    module = registry.load(name)
    claims = module.verdicts(module.COUNTEREXAMPLE)
    assert claims and not any(c.holds for c in claims), [c for c in claims if c.holds]


def test_report_references_existing_sections_and_figures(quick_run):
    out, outcomes = quick_run
    ran = [o for o in outcomes.values() if not isinstance(o, Exception)]
    path = report.build(ran, out, quick=True)
    with open(path) as f:
        text = f.read()
    for o in ran:
        assert f"## Lesson {o.lesson}:" in text
        for fig in o.figures:
            assert f"]({o.name}/{fig})" in text
            assert os.path.exists(os.path.join(out, o.name, fig))
    assert "## Summary" in text

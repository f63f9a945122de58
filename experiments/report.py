"""results/report.md: the course, lesson by lesson, as a learner reads it.

The summary comes once, at the top; then per lesson what the course says, its
figures with captions, and its claims in plain words (each with the median
measured value, its range over the seeds, the expected bound, and at how many
seeds it held); the raw per-seed metrics in an appendix. The report is built from
every lesson's saved ``metrics.json`` in the output folder, so running some
lessons again rewrites their sections and keeps the others.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from experiments.core import ClaimOverSeeds, LessonResult, fmt, load_result, required


def collect(out: str, names: Sequence[str]) -> list[LessonResult]:
    """The saved results of the lessons ``names`` found in ``out``, in course order."""
    found = [load_result(os.path.join(out, n)) for n in names]
    return sorted((r for r in found if r is not None), key=lambda r: r.lesson)


def _seeds_text(seeds: Sequence[int]) -> str:
    seeds = list(seeds)
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{len(seeds)} seeds ({seeds[0]}-{seeds[-1]})"
    return f"{len(seeds)} seeds ({', '.join(map(str, seeds))})"


def _value(c: ClaimOverSeeds) -> str:
    if c.seeds == 1:
        return fmt(c.values[0], c.unit)
    lo, hi = c.range
    nan = sum(v != v for v in c.values)
    if lo == hi:
        text = f"{fmt(lo, c.unit)} at every seed"
    else:
        text = f"median {fmt(c.median, c.unit)}, from {fmt(lo)} to {fmt(hi)}"
    return text + (f" (NaN at {nan} seeds)" if nan else "")


def _claim_line(c: ClaimOverSeeds) -> str:
    seeds = f" at {c.held} of {c.seeds} seeds" if c.seeds > 1 else ""
    if c.over == "median" and c.seeds > 1:
        seeds = f" by its median over {c.seeds} seeds; it held{seeds}"
    verdict = f"holds{seeds}" if c.holds else f"**does not hold**{seeds or ''}"
    what = (c.quantity[:1].upper() + c.quantity[1:]) if c.quantity else "Measured"
    return f"- **{c.claim}** ({verdict}). {what}: {_value(c)}; expected {c.expected}."


def _metric_value(values: list) -> str:
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        if len(values) == 1:
            return fmt(float(values[0]))
        finite = sorted(float(v) for v in values if v == v)
        if not finite:
            return "NaN"
        k = len(finite)
        med = finite[k // 2] if k % 2 else 0.5 * (finite[k // 2 - 1] + finite[k // 2])
        return f"{fmt(med)} [{fmt(finite[0])}, {fmt(finite[-1])}]"
    v = values[0]
    if isinstance(v, list):
        shown = ", ".join(fmt(float(x)) if isinstance(x, int | float) else str(x) for x in v[:6])
        return f"[{shown}{', ...' if len(v) > 6 else ''}] (first seed)"
    return str(v)


def build(out: str, names: Sequence[str]) -> str:
    """Write ``out/report.md`` and ``out/summary.json`` from the results of
    ``names`` saved in ``out``; return the report's path."""
    results = collect(out, names)
    held = sum(c.holds for r in results for c in r.claims)
    total = sum(len(r.claims) for r in results)
    seed_sets = {tuple(r.seeds) for r in results}
    quick = any(r.quick for r in results)
    lines = ["# The course, reproduced with jaxnn", ""]
    if len(seed_sets) == 1:
        (seeds,) = seed_sets
        n = len(seeds)
        rule = (
            f"A claim holds when it holds at {required(n)} of the {n} seeds (a claim about "
            "a typical run on real data, such as a test accuracy, by its median over the "
            "seeds); each is shown with its median value over the seeds, the range, and the "
            "number of seeds at which it held. Figures are drawn at the first seed."
            if n > 1
            else "Each claim is decided on this seed's numbers alone."
        )
        lines += [
            f"Every number below was measured by `python -m experiments run` at "
            f"{_seeds_text(seeds)}{', quick mode (small sizes)' if quick else ''}. "
            f"Each seed draws fresh data, initial weights and data order. {rule}",
            "",
        ]
    else:
        lines += [
            "The lessons below were run at different seeds (each section says which); "
            "a claim holds when it holds at 19 of 20 seeds (all of fewer).",
            "",
        ]
    lines += ["## Summary", "", f"**{held} of {total} claims of the course hold.**", ""]
    lines += ["| lesson | claims that hold | seeds | time |", "| --- | --- | --- | --- |"]
    for r in results:
        ok = sum(c.holds for c in r.claims)
        lines.append(
            f"| [{r.lesson}. {r.title}](#lesson-{r.lesson}) | {ok} of {len(r.claims)} | "
            f"{_seeds_text(r.seeds)} | {r.seconds:.0f} s |"
        )
    failing = [(r, c) for r in results for c in r.claims if not c.holds]
    if failing:
        lines += ["", "Claims that do not hold:", ""]
        lines += [
            f"- lesson {r.lesson}: {c.claim} ({c.held} of {c.seeds} seeds)" for r, c in failing
        ]
    lines.append("")
    for r in results:
        lines += [f'<a id="lesson-{r.lesson}"></a>', "", f"## Lesson {r.lesson}: {r.title}", ""]
        lines += [r.statement, ""]
        for i, fig in enumerate(r.figures, 1):
            lines += [
                f"![{fig.caption}]({r.name}/{fig.name})",
                "",
                f"*Figure {r.lesson}.{i}: {fig.caption}*",
                "",
            ]
        where = f" ({_seeds_text(r.seeds)}{', quick' if r.quick else ''})"
        lines += [f"**What the course claims, measured{where}:**", ""]
        lines += [_claim_line(c) for c in r.claims]
        lines += [
            "",
            f"({r.seconds:.1f} s; raw numbers in the [appendix](#appendix-{r.lesson}).)",
            "",
        ]
    lines += ["## Appendix: the raw metrics", ""]
    lines += [
        "Per lesson, every number the experiment measured, by its name in the code: "
        "the median over the seeds with [smallest, largest], or the first seed's value "
        "for lists. Each seed's numbers are in `<lesson>/metrics.json`.",
        "",
    ]
    for r in results:
        lines += [f'<a id="appendix-{r.lesson}"></a>', "", f"### Lesson {r.lesson}", ""]
        lines += ["| metric | value |", "| --- | --- |"]
        for k, v in r.metrics[0].items():
            if isinstance(v, dict):
                continue
            values = [m.get(k) for m in r.metrics]
            lines.append(f"| `{k}` | {_metric_value(values)} |")
        lines.append("")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    summary = {
        "held": held,
        "total": total,
        "quick": quick,
        "lessons": {
            r.name: {"seeds": r.seeds, "held": sum(c.holds for c in r.claims)} for r in results
        },
    }
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return path

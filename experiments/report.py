"""results/report.md: one section per lesson (figures, numbers, verdicts), then a summary."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from experiments.core import Outcome


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list) and len(v) > 8:
        return f"[{', '.join(_fmt(x) for x in v[:4])}, ... ({len(v)} values)]"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def build(outcomes: Sequence[Outcome], out: str, *, quick: bool = False, seed: int = 0) -> str:
    """Write ``out/report.md`` from the outcomes (figures are relative links); return its path."""
    lines = [
        "# The course, reproduced with jaxnn",
        "",
        f"Seed {seed}{', quick mode (small sizes)' if quick else ''}. Every number below was "
        "measured on this run; each claim of the course is decided from them.",
        "",
    ]
    for o in outcomes:
        lines += [f"## Lesson {o.lesson}: {o.title}", "", f"*Shows:* {o.shows}", ""]
        for fig in o.figures:
            lines += [f"![{fig}]({o.name}/{fig})", ""]
        lines += ["| metric | value |", "| --- | --- |"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in o.metrics.items() if not isinstance(v, dict)]
        lines += ["", "| claim | measured | expected | verdict |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {c.claim} | {c.measured:.4g} | {c.expected} | "
            f"{'holds' if c.holds else '**does not hold**'} |"
            for c in o.claims
        ]
        lines += ["", f"({o.seconds:.1f} s)", ""]
    lines += [
        "## Summary",
        "",
        "| lesson | claim | measured | expected | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    for o in outcomes:
        for c in o.claims:
            verdict = "holds" if c.holds else "**does not hold**"
            lines.append(
                f"| {o.lesson} | {c.claim} | {c.measured:.4g} | {c.expected} | {verdict} |"
            )
    held = sum(c.holds for o in outcomes for c in o.claims)
    total = sum(len(o.claims) for o in outcomes)
    lines += ["", f"{held} of {total} claims hold on this run.", ""]
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump({"held": held, "total": total, "quick": quick, "seed": seed}, f)
    return path

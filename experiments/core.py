"""What every lesson experiment shares: claims, verdicts, outcomes and their files.

A lesson module (``experiments/lessons/lessonNN_<topic>.py``) defines

* ``LESSON`` (its number), ``TITLE`` and ``SHOWS`` (the row of course/lessons.md);
* ``run(key, out_dir, *, quick=False) -> Outcome``: trains what it needs with
  jaxnn's public API, saves PNG figures in ``out_dir``, and returns its measured
  numbers with the verdicts of :func:`verdicts`;
* ``verdicts(metrics) -> list[Claim]``: a pure function deciding each claim from
  the numbers alone, so a test can feed it numbers that break every claim;
* ``COUNTEREXAMPLE``: such numbers (a dict like ``metrics``).
"""

from __future__ import annotations

import dataclasses
import json
import operator
import os
from typing import Any

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@dataclasses.dataclass(frozen=True)
class Claim:
    """One statement of the course, decided on this run's numbers."""

    claim: str
    measured: float
    op: str
    threshold: float
    holds: bool

    @property
    def expected(self) -> str:
        return f"{self.op} {self.threshold:.4g}"


def check(claim: str, measured: float, op: str, threshold: float) -> Claim:
    """A :class:`Claim` that holds iff ``measured <op> threshold`` (NaN never holds)."""
    measured = float(measured)
    holds = bool(_OPS[op](measured, threshold)) if measured == measured else False
    return Claim(claim, measured, op, float(threshold), holds)


@dataclasses.dataclass
class Outcome:
    """What a lesson returns and saves: numbers, verdicts, figure file names."""

    lesson: int
    name: str
    title: str
    shows: str
    metrics: dict[str, Any]
    claims: list[Claim]
    figures: list[str]
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["claims"] = [dict(dataclasses.asdict(c), expected=c.expected) for c in self.claims]
        return d


def save_outcome(outcome: Outcome, out_dir: str) -> None:
    """Write ``metrics.json`` (numbers, verdicts, figure names) into ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(outcome.to_json(), f, indent=2, default=_jsonable)


def _jsonable(x: Any) -> Any:
    import numpy as np

    if isinstance(x, np.generic | np.ndarray):
        return x.tolist()
    if hasattr(x, "tolist"):
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")

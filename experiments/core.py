"""What every lesson experiment shares: claims, figures, outcomes and their files.

A lesson module (``experiments/lessons/lessonNN_<topic>.py``) defines

* ``LESSON`` (its number), ``TITLE``, and ``STATEMENT``: what the course says in
  one or two plain sentences (the row of course/lessons.md, for a learner);
* ``run(key, out_dir, *, quick=False) -> Outcome``: trains what it needs with
  jaxnn's public API for one seed's ``key``, draws its figures (each a
  :class:`Figure` with a caption, from :func:`experiments.plotting.save`) into
  ``out_dir`` (``None``: draw nothing, the other seeds of a multi-seed run), and
  returns its measured numbers with the verdicts of :func:`verdicts`;
* optionally ``run_seeds(keys, out_dir, *, quick=False) -> list[Outcome]``: the
  same for every key of ``keys`` at once (one compiled program over the seeds),
  figures at ``keys[0]`` only; each outcome equals ``run`` at its key, bitwise.
  The lessons map over the seeds with ``jax.lax.map`` (or vmap fixed-width,
  padded chunks of seeds): a plain ``jax.vmap`` over all the seeds batches the
  matmuls differently for 1 and for 20 seeds, so a seed's last bits (and an early
  stop decided on them) would depend on the seeds beside it;
* ``verdicts(metrics) -> list[Claim]``: a pure function deciding each claim from
  one seed's numbers alone, so a test can feed it numbers that break every claim;
* ``COUNTEREXAMPLE``: such numbers (a dict like ``metrics``).

A lesson runs at several seeds (:mod:`experiments.registry`); a claim of the
course *holds* when it holds at :func:`required` of them (19 of 20): a claim that
holds at one seed and fails at the next has not been reproduced.
"""

from __future__ import annotations

import dataclasses
import json
import math
import operator
import os
from collections.abc import Sequence
from typing import Any

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_OP_WORDS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least"}


@dataclasses.dataclass(frozen=True)
class Claim:
    """One statement of the course, decided on one seed's numbers.

    ``claim`` is the statement in plain words ("the MLP separates the moons"),
    ``quantity`` what was measured to decide it ("test accuracy"), in ``unit``
    (empty for a pure number); it holds iff ``measured <op> threshold``. Over
    several seeds (:class:`ClaimOverSeeds`) a claim with ``over="each"`` must hold
    at :func:`required` seeds; one with ``over="median"`` is decided by its median
    (a claim about a typical run on real data, such as a test accuracy whose
    spread over data splits is part of the answer).
    """

    claim: str
    measured: float
    op: str
    threshold: float
    holds: bool
    quantity: str = ""
    unit: str = ""
    over: str = "each"

    @property
    def expected(self) -> str:
        """The bound in words, e.g. ``"at least 0.95"``."""
        return f"{_OP_WORDS[self.op]} {fmt(self.threshold, self.unit)}"


def check(
    claim: str,
    measured: float,
    op: str,
    threshold: float,
    *,
    quantity: str = "",
    unit: str = "",
    over: str = "each",
) -> Claim:
    """A :class:`Claim` that holds iff ``measured <op> threshold`` (NaN never holds);
    ``over`` says how seeds decide it ("each" or "median", see :class:`Claim`)."""
    if op not in _OPS:
        raise ValueError(f"op must be one of {sorted(_OPS)}, got {op!r}")
    if over not in ("each", "median"):
        raise ValueError(f"over must be 'each' or 'median', got {over!r}")
    measured = float(measured)
    holds = _holds(measured, op, threshold)
    return Claim(claim, measured, op, float(threshold), holds, quantity, unit, over)


def _holds(measured: float, op: str, threshold: float) -> bool:
    return bool(_OPS[op](measured, threshold)) if measured == measured else False


def fmt(value: float, unit: str = "") -> str:
    """A number as a reader would write it (4 significant digits), with its unit."""
    if value != value:
        text = "NaN"
    elif math.isinf(value):
        text = "infinite" if value > 0 else "minus infinite"
    elif value == int(value) and abs(value) < 1e6:
        text = str(int(value))
    else:
        text = f"{value:.4g}"
    return f"{text} {unit}" if unit else text


@dataclasses.dataclass(frozen=True)
class Figure:
    """A figure file (PNG or GIF) in the lesson's folder, with its caption."""

    name: str
    caption: str


@dataclasses.dataclass
class Outcome:
    """What a lesson returns at one seed: numbers, verdicts, figures."""

    lesson: int
    name: str
    title: str
    statement: str
    metrics: dict[str, Any]
    claims: list[Claim]
    figures: list[Figure]
    seconds: float = 0.0


def outcome(module: Any, metrics: dict[str, Any], figures: Sequence[Figure]) -> Outcome:
    """The :class:`Outcome` of lesson ``module`` (its ``verdicts`` of ``metrics``)."""
    return Outcome(
        module.LESSON,
        module.__name__.rsplit(".", 1)[1],
        module.TITLE,
        module.STATEMENT,
        metrics,
        module.verdicts(metrics),
        list(figures),
    )


def required(n_seeds: int) -> int:
    """Seeds at which a claim must hold, of ``n_seeds``: 19 of 20, all of 1 to 19."""
    return n_seeds - n_seeds // 20


@dataclasses.dataclass(frozen=True)
class ClaimOverSeeds:
    """One claim decided at every seed: its values, and at how many seeds it held."""

    claim: str
    quantity: str
    unit: str
    op: str
    threshold: float
    values: tuple[float, ...]
    held: int
    over: str = "each"

    @property
    def seeds(self) -> int:
        return len(self.values)

    @property
    def holds(self) -> bool:
        """At :func:`required` seeds (``over="each"``), or by the median."""
        if self.over == "median":  # a NaN seed counts as failing, never as left out
            worst = -math.inf if self.op in (">", ">=") else math.inf
            values = [v if v == v else worst for v in self.values]
            return _holds(_median(values), self.op, self.threshold)
        return self.held >= required(self.seeds)

    @property
    def expected(self) -> str:
        return f"{_OP_WORDS[self.op]} {fmt(self.threshold, self.unit)}"

    @property
    def median(self) -> float:
        """The median measured value over the seeds (NaN values left out)."""
        return _median(self.values)

    @property
    def range(self) -> tuple[float, float]:
        """The smallest and largest measured values (NaN values left out)."""
        finite = [v for v in self.values if v == v]
        return (min(finite), max(finite)) if finite else (math.nan, math.nan)


def _median(values: Sequence[float]) -> float:
    """The median of the values that are not NaN (NaN if all are)."""
    finite = sorted(v for v in values if v == v)
    k = len(finite)
    if k == 0:
        return math.nan
    return finite[k // 2] if k % 2 else 0.5 * (finite[k // 2 - 1] + finite[k // 2])


@dataclasses.dataclass
class LessonResult:
    """A lesson run at several seeds: the claims over the seeds, per-seed metrics,
    and the figures of the first seed (the representative one)."""

    lesson: int
    name: str
    title: str
    statement: str
    seeds: list[int]
    quick: bool
    claims: list[ClaimOverSeeds]
    metrics: list[dict[str, Any]]
    figures: list[Figure]
    seconds: float

    @property
    def figure_seed(self) -> int:
        return self.seeds[0]

    @classmethod
    def from_outcomes(
        cls, seeds: Sequence[int], outcomes: Sequence[Outcome], *, quick: bool, seconds: float
    ) -> LessonResult:
        """Gather one lesson's per-seed outcomes (``outcomes[i]`` at ``seeds[i]``)."""
        first = outcomes[0]
        names = [c.claim for c in first.claims]
        for s, o in zip(seeds, outcomes, strict=True):
            if [c.claim for c in o.claims] != names:
                raise ValueError(f"lesson {first.lesson}: seed {s} decided other claims")
        claims = []
        for i, c in enumerate(first.claims):
            values = tuple(o.claims[i].measured for o in outcomes)
            held = sum(o.claims[i].holds for o in outcomes)
            claims.append(
                ClaimOverSeeds(c.claim, c.quantity, c.unit, c.op, c.threshold, values, held, c.over)
            )
        return cls(
            first.lesson,
            first.name,
            first.title,
            first.statement,
            list(seeds),
            quick,
            claims,
            [o.metrics for o in outcomes],
            first.figures,
            seconds,
        )

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["claims"] = [dict(dataclasses.asdict(c), holds=c.holds) for c in self.claims]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LessonResult:
        d = dict(d)
        d["claims"] = [
            ClaimOverSeeds(**{k: v for k, v in c.items() if k != "holds"}) for c in d["claims"]
        ]
        for c in d["claims"]:
            object.__setattr__(c, "values", tuple(float(v) for v in c.values))
        d["figures"] = [Figure(**f) for f in d["figures"]]
        return cls(**d)


RESULT_FILE = "metrics.json"


def save_result(result: LessonResult, out_dir: str) -> str:
    """Write ``out_dir/metrics.json`` (claims over seeds, per-seed numbers, figures)."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, RESULT_FILE)
    with open(path, "w") as f:
        json.dump(result.to_json(), f, indent=1, default=_jsonable)
    return path


def load_result(out_dir: str) -> LessonResult | None:
    """The :class:`LessonResult` saved in ``out_dir``, or None if there is none
    (or it was written by an older layout)."""
    path = os.path.join(out_dir, RESULT_FILE)
    try:
        with open(path) as f:
            return LessonResult.from_json(json.load(f))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _jsonable(x: Any) -> Any:
    import numpy as np

    if isinstance(x, np.generic | np.ndarray):
        return x.tolist()
    if hasattr(x, "tolist"):
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")

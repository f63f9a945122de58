"""Lesson 2: logic gates as perceptrons, and why XOR needs two layers.

    python -m experiments run 2

Checks the truth tables of ``jaxnn.gate`` ("and", "or", "not", "nand" single
perceptrons; "xor" = AND(OR, NAND), two layers), then searches a dense grid of
single-perceptron weights (w1, w2, b): it finds weights for AND, OR and NAND (and
for 14 of the 16 two-input truth tables in all), but none at all for XOR, nor for
its complement XNOR: no single line puts (0, 1) and (1, 0) on one side and (0, 0)
and (1, 1) on the other.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Outcome, check

LESSON = 2
TITLE = "logic gates: AND, OR, NOT, NAND perceptrons; XOR in two layers"
SHOWS = "the truth tables; that no single perceptron computes XOR (a search over weights fails)"

CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)  # truth-table rows
TRUTH = {  # the expected outputs, row by row
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "nand": (1, 1, 1, 0),
    "xor": (0, 1, 1, 0),
    "not": (1, 0),  # inputs 0, 1
}
GRID_RANGE = 2.0  # weights in [-2, 2]: any line through the unit square has such a (w, b) up
# to scale, since scaling (w, b) by c > 0 changes no prediction
GRID_POINTS = 161  # per axis: 161^3 = 4.2 million perceptrons (step 0.025), exact 0 included
GRID_POINTS_QUICK = 41  # 69 thousand (step 0.1): the same verdicts, in a fraction of the time
GATE_COLUMNS = ("and", "or", "nand", "xor")  # the panels of the figure


def _table_code(bits) -> int:
    """A truth table (outputs for rows 00, 01, 10, 11) as a number 0..15, row 00 the top bit."""
    return int(sum(int(b) << (3 - i) for i, b in enumerate(bits)))


def _grid_search(points: int) -> tuple[np.ndarray, np.ndarray]:
    """How many grid perceptrons compute each of the 16 truth tables; NOT's (w, b) count.

    Returns ``(counts (16,), rows_right_xor (5,))``: for each table code the number of
    (w1, w2, b) whose perceptron outputs that table on the four corners, and how many
    grid perceptrons get 0, 1, 2, 3 or 4 rows of XOR right.
    """
    g = np.linspace(-GRID_RANGE, GRID_RANGE, points, dtype=np.float32)
    w1, w2, b = np.meshgrid(g, g, g, indexing="ij")
    code = np.zeros(w1.shape, np.int32)
    right = np.zeros(w1.shape, np.int32)
    for i, (x1, x2) in enumerate(CORNERS):
        out = (w1 * x1 + w2 * x2 + b >= 0).astype(np.int32)  # step(w·x + b)
        code += out << (3 - i)
        right += out == TRUTH["xor"][i]
    return np.bincount(code.ravel(), minlength=16), np.bincount(right.ravel(), minlength=5)


def _not_search(points: int) -> int:
    g = np.linspace(-GRID_RANGE, GRID_RANGE, points, dtype=np.float32)
    w, b = np.meshgrid(g, g, indexing="ij")
    return int(
        np.sum(((b >= 0) == bool(TRUTH["not"][0])) & ((w + b >= 0) == bool(TRUTH["not"][1])))
    )


def _gate_prob(name: str):
    """P(output 1) of a gate on any real (x1, x2): the gates' perceptrons on a grid
    (``jaxnn.gate`` itself accepts 0/1 inputs only)."""
    p = {
        k: {"w": jnp.asarray(v["w"]), "b": jnp.asarray(v["b"])}
        for k, v in jaxnn.GATE_PARAMS.items()
    }
    if name != "xor":
        return lambda g: jaxnn.perceptron_predict(p[name], g)

    def xor(g):
        hidden = jnp.stack([jaxnn.perceptron_predict(p[k], g) for k in ("or", "nand")], -1)
        return jaxnn.perceptron_predict(p["and"], hidden)

    return xor


def run(key, out_dir: str, *, quick: bool = False) -> Outcome:
    del key  # nothing random: the gates are fixed and the search is a grid
    points = GRID_POINTS_QUICK if quick else GRID_POINTS
    tables = {}
    for name in ("and", "or", "nand", "xor"):
        tables[name] = np.asarray(jaxnn.gate(name)(CORNERS)).astype(int).tolist()
    tables["not"] = np.asarray(jaxnn.gate("not")(CORNERS[:2, 1:])).astype(int).tolist()
    wrong = {k: int(np.sum(np.array(tables[k]) != np.array(TRUTH[k]))) for k in TRUTH}
    hidden = jnp.stack([jaxnn.gate("or")(CORNERS), jaxnn.gate("nand")(CORNERS)], -1)
    composed = np.asarray(jaxnn.gate("and")(hidden))

    counts, xor_rows_right = _grid_search(points)
    sol = {k: int(counts[_table_code(TRUTH[k])]) for k in ("and", "or", "nand", "xor")}
    xnor = _table_code([1 - t for t in TRUTH["xor"]])
    metrics = {
        **{f"truth_table_{k}": tables[k] for k in TRUTH},
        **{f"wrong_rows_{k}": wrong[k] for k in TRUTH},
        "xor_vs_and_of_or_nand_mismatches": int(np.sum(composed != np.asarray(tables["xor"]))),
        "grid_points_per_axis": points,
        "grid_perceptrons": int(points**3),
        **{f"grid_solutions_{k}": sol[k] for k in ("and", "or", "nand", "xor")},
        "grid_solutions_xnor": int(counts[xnor]),
        "grid_solutions_not": _not_search(points),
        "truth_tables_found": int(np.sum(counts > 0)),
        "xor_best_rows_right": int(np.max(np.nonzero(xor_rows_right)[0])),
        "grid_solutions_by_table": counts.astype(int).tolist(),
    }

    fig, axes = plotting.figure(4, width=4.2, height=4.0)
    for ax, name in zip(axes, GATE_COLUMNS, strict=True):
        plotting.probability_contours(ax, _gate_prob(name), CORNERS, res=200)
        plotting.points(ax, CORNERS, np.array(tables[name]), size=140)
        if name == "xor":
            _lines(ax, ("or", "nand"))
            title = "XOR = AND(OR, NAND): two lines"
        else:
            _lines(ax, (name,))
            w, b = jaxnn.GATE_PARAMS[name]["w"], jaxnn.GATE_PARAMS[name]["b"]
            title = f"{name.upper()}: {_equation(w, b)}"
        ax.set_title(title, fontsize=10)
        ax.set_aspect("equal")
    fig.suptitle("Logic gates: filled = gate output over the plane, points = the truth table")
    figures = [plotting.save(fig, out_dir, "gates.png")]

    fig, ax = plotting.figure(width=8.0, height=4.2)
    labels = [format(c, "04b") for c in range(16)]
    found = np.nonzero(counts)[0]
    ax.bar(found, counts[found], color="tab:gray", label="weights found")
    for c in range(16):
        zero = counts[c] == 0
        ax.text(
            c,
            1.3 if zero else counts[c] * 1.3,
            "none" if zero else str(int(counts[c])),
            ha="center",
            fontsize=8 if zero else 7,
            color="black",
            fontweight="bold" if zero else "normal",
        )
    ax.set_yscale("log")
    ax.set_xticks(range(16), labels, rotation=60, fontsize=8)
    for c, name in ((_table_code(TRUTH[k]), k.upper()) for k in ("and", "or", "nand", "xor")):
        ax.annotate(name, (c, 0.5), ha="center", fontsize=8, color="tab:red")
    ax.annotate("XNOR", (xnor, 0.5), ha="center", fontsize=8, color="tab:red")
    ax.set_ylim(0.3, counts.max() * 6)
    ax.set(
        xlabel="truth table: outputs for inputs (0,0) (0,1) (1,0) (1,1)",
        ylabel="perceptrons (w1, w2, b) on the grid",
        title=f"Grid search over {points}^3 single perceptrons: XOR and XNOR never appear",
    )
    figures.append(plotting.save(fig, out_dir, "weight_search.png"))
    return Outcome(
        LESSON, __name__.rsplit(".", 1)[1], TITLE, SHOWS, metrics, verdicts(metrics), figures
    )


def _equation(w, b) -> str:
    """``w1 x1 + w2 x2 + b = 0`` written as a person would (no "1 x1", no "+ -")."""
    text = ""
    for i, wi in enumerate(w):
        sign = ("-" if wi < 0 else "") if not text else (" - " if wi < 0 else " + ")
        text += f"{sign}{'' if abs(wi) == 1 else f'{abs(wi):g} '}x{i + 1}"
    return f"{text} {'-' if b < 0 else '+'} {abs(b):g} = 0"


def _lines(ax, names) -> None:
    """The gates' boundary lines w·x + b = 0, dashed, across the axes."""
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    t = np.linspace(*xlim, 2)
    for name in names:
        (w1, w2), b = jaxnn.GATE_PARAMS[name]["w"], jaxnn.GATE_PARAMS[name]["b"]
        ax.plot(t, -(w1 * t + b) / w2, "k--", lw=1, label=f"{name.upper()} line")
    ax.set(xlim=xlim, ylim=ylim)
    ax.legend(loc="lower left", fontsize=7)


def verdicts(m: dict) -> list[Claim]:
    claims = [
        check(f"{k.upper()} truth table (wrong rows)", m[f"wrong_rows_{k}"], "<=", 0)
        for k in ("and", "or", "not", "nand", "xor")
    ]
    claims += [
        check(
            "gate('xor') = AND(OR, NAND) of the single gates (mismatching rows)",
            m["xor_vs_and_of_or_nand_mismatches"],
            "<=",
            0,
        ),
        check(
            "grid search finds single perceptrons for AND, OR, NAND and NOT (the fewest of them)",
            min(m[f"grid_solutions_{k}"] for k in ("and", "or", "nand", "not")),
            ">=",
            1,
        ),
        check(
            "grid search finds NO single perceptron for XOR (solutions)",
            m["grid_solutions_xor"],
            "<=",
            0,
        ),
        check("nor for XNOR, XOR's complement (solutions)", m["grid_solutions_xnor"], "<=", 0),
        check(
            "two-input truth tables some grid perceptron computes (all 16 but XOR and XNOR)",
            m["truth_tables_found"],
            ">=",
            14,
        ),
    ]
    return claims


COUNTEREXAMPLE = {
    "wrong_rows_and": 1,
    "wrong_rows_or": 1,
    "wrong_rows_not": 1,
    "wrong_rows_nand": 1,
    "wrong_rows_xor": 2,
    "xor_vs_and_of_or_nand_mismatches": 1,
    "grid_solutions_and": 0,
    "grid_solutions_or": 10,
    "grid_solutions_nand": 10,
    "grid_solutions_not": 5,
    "grid_solutions_xor": 3,
    "grid_solutions_xnor": 2,
    "truth_tables_found": 12,
}

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

import sys

import jax.numpy as jnp
import numpy as np

import jaxnn
from experiments import plotting
from experiments.core import Claim, Figure, Outcome, check, outcome

LESSON = 2
TITLE = "logic gates: AND, OR, NOT, NAND perceptrons; XOR in two layers"
STATEMENT = (
    "Logical operations can be perceptrons: AND, OR, NOT and NAND are each one perceptron, "
    "one line w1 x1 + w2 x2 + b = 0 with the output 1 on one side. XOR needs more, "
    "because no straight line separates its red and blue points: it takes two layers, "
    "XOR = AND(OR, NAND)."
)

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


def run(key, out_dir: str | None, *, quick: bool = False) -> Outcome:
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

    figures = [
        _gates_figure(out_dir, tables),
        _search_figure(out_dir, counts, points, xnor),
    ]
    return outcome(sys.modules[__name__], metrics, figures)


# How each gate's line is drawn, in its own panel and in XOR's: colour and line style.
LINE_STYLE = {
    "and": {"color": "black", "ls": "-"},
    "or": {"color": "tab:green", "ls": "-"},
    "nand": {"color": "tab:purple", "ls": "--"},
}


def _gates_figure(out_dir, tables) -> Figure:
    name = "gates.png"
    caption = (
        "The four corners are the truth table's inputs, red where the gate outputs 1 and "
        "blue where it outputs 0; the shading is the gate's output over the whole plane. "
        "AND, OR and NAND each need one line (AND solid black, OR solid green, NAND dashed "
        "purple); XOR's output 1 lies between two lines, OR's (solid green) and NAND's "
        "(dashed purple), so it takes two perceptrons and a third to combine them."
    )
    if out_dir is None:
        return Figure(name, caption)
    fig, axes = plotting.figure(4, width=4.0, height=4.4)
    lo, hi = -0.5, 1.5
    g0, g1 = np.meshgrid(np.linspace(lo, hi, 300), np.linspace(lo, hi, 300))
    grid = np.stack([g0.ravel(), g1.ravel()], 1).astype(np.float32)
    for ax, gate in zip(axes, GATE_COLUMNS, strict=True):
        out = np.asarray(_gate_prob(gate)(grid)).reshape(g0.shape)
        ax.contourf(
            g0, g1, out, levels=[-0.5, 0.5, 1.5], colors=[plotting.BLUE, plotting.RED], alpha=0.18
        )
        y = np.array(tables[gate])
        for label, color in ((0, plotting.BLUE), (1, plotting.RED)):
            ax.scatter(
                *CORNERS[y == label].T,
                s=140,
                c=color,
                edgecolors="black",
                linewidths=0.8,
                label=f"output {label}",
                zorder=3,
            )
        ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="x1", ylabel="x2", aspect="equal")
        ax.set_xticks([0, 1])
        ax.set_yticks([0, 1])
        if gate == "xor":
            _lines(ax, ("or", "nand"))
            title = "XOR = AND(OR, NAND): two lines"
        else:
            _lines(ax, (gate,))
            title = f"{gate.upper()}: one line"
        ax.set_title(title, fontsize=10)
    # one legend for the four panels: each gate's line is drawn alike wherever it appears
    handles = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncol=5, fontsize=9)
    fig.suptitle(
        "Logic gates as perceptrons: shaded = the gate's output over the plane, "
        "corners = its truth table"
    )
    return plotting.save(fig, out_dir, name, caption)


def _search_figure(out_dir, counts, points, xnor) -> Figure:
    name = "weight_search.png"
    caption = (
        f"Each of {points}^3 single perceptrons (w1, w2, b) on a grid over [-2, 2] computes "
        "one of the 16 two-input truth tables; a bar counts how many compute each (log "
        "scale). Every table has some, except XOR (0110) and XNOR (1001): none at all, "
        "marked in red."
    )
    if out_dir is None:
        return Figure(name, caption)
    fig, ax = plotting.figure(width=8.5, height=4.2)
    names = {_table_code(TRUTH[k]): k.upper() for k in ("and", "or", "nand", "xor")}
    names[xnor] = "XNOR"
    labels = [format(c, "04b") + (f"\n{names[c]}" if c in names else "") for c in range(16)]
    found = np.nonzero(counts)[0]
    ax.bar(found, counts[found], color="tab:gray")
    for c in range(16):
        zero = counts[c] == 0
        ax.text(
            c,
            1.3 if zero else counts[c] * 1.3,
            "none" if zero else str(int(counts[c])),
            ha="center",
            fontsize=9 if zero else 7,
            color=plotting.RED if zero else "black",
            fontweight="bold" if zero else "normal",
        )
    ax.set_yscale("log")
    ax.set_xticks(range(16), labels, fontsize=8)
    for c, tick in enumerate(ax.get_xticklabels()):
        if counts[c] == 0:
            tick.set(color=plotting.RED, fontweight="bold")
    ax.set_ylim(0.5, counts.max() * 6)
    ax.set(
        xlabel="truth table: outputs for inputs (0,0) (0,1) (1,0) (1,1)",
        ylabel="perceptrons (w1, w2, b) on the grid",
        title=f"{points}^3 = {points**3:,} single perceptrons: none computes XOR or XNOR",
    )
    return plotting.save(fig, out_dir, name, caption)


def _equation(w, b) -> str:
    """``w1 x1 + w2 x2 + b = 0`` written as a person would (no "1 x1", no "+ -")."""
    text = ""
    for i, wi in enumerate(w):
        sign = ("-" if wi < 0 else "") if not text else (" - " if wi < 0 else " + ")
        text += f"{sign}{'' if abs(wi) == 1 else f'{abs(wi):g} '}x{i + 1}"
    return f"{text} {'-' if b < 0 else '+'} {abs(b):g} = 0"


def _lines(ax, names) -> None:
    """The gates' boundary lines w·x + b = 0 across the axes, each in its
    :data:`LINE_STYLE`, with its equation in the legend and its name beside it."""
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    t = np.linspace(*xlim, 2)
    centre = np.array([np.mean(xlim), np.mean(ylim)])
    for name in names:
        w, b = np.asarray(jaxnn.GATE_PARAMS[name]["w"]), float(jaxnn.GATE_PARAMS[name]["b"])
        style = LINE_STYLE[name]
        ax.plot(
            t,
            -(w[0] * t + b) / w[1],
            lw=2,
            **style,
            label=f"{name.upper()} line: {_equation(w, b)}",
        )
        # the name beside the line, up and left of the box's centre, on the side of output 1
        n = w / np.linalg.norm(w)
        along = np.array([-n[1], n[0]])
        along = -along if along[0] > 0 else along  # pointing left along the line
        foot = centre - (w @ centre + b) / (w @ w) * w
        x, y = foot + 0.62 * along + 0.09 * n
        angle = np.degrees(np.arctan2(along[1], along[0]))
        angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle
        ax.text(
            x,
            y,
            name.upper(),
            color=style["color"],
            fontsize=9,
            fontweight="bold",
            rotation=angle,
            rotation_mode="anchor",
            ha="center",
            va="center",
        )
    ax.set(xlim=xlim, ylim=ylim)


def verdicts(m: dict) -> list[Claim]:
    claims = [
        check(
            f"The {k.upper()} perceptron gives {k.upper()}'s truth table",
            m[f"wrong_rows_{k}"],
            "<=",
            0,
            quantity="rows of the truth table it gets wrong",
        )
        for k in ("and", "or", "not", "nand")
    ]
    claims += [
        check(
            "The two-layer XOR gives XOR's truth table",
            m["wrong_rows_xor"],
            "<=",
            0,
            quantity="rows of the truth table it gets wrong",
        ),
        check(
            "XOR is AND(OR, NAND): an AND perceptron on the outputs of OR and NAND",
            m["xor_vs_and_of_or_nand_mismatches"],
            "<=",
            0,
            quantity="rows where gate('xor') and AND(OR, NAND) of the single gates differ",
        ),
        check(
            "Single perceptrons compute AND, OR, NAND and NOT",
            min(m[f"grid_solutions_{k}"] for k in ("and", "or", "nand", "not")),
            ">=",
            1,
            quantity="settings of the weights on a grid over [-2, 2] that compute the gate "
            "(the fewest over the four gates)",
        ),
        check(
            "No single perceptron computes XOR",
            m["grid_solutions_xor"],
            "<=",
            0,
            quantity="settings of (w1, w2, b) on a grid over [-2, 2] that compute XOR",
        ),
        check(
            "Nor does any compute XNOR, the opposite of XOR",
            m["grid_solutions_xnor"],
            "<=",
            0,
            quantity="settings of (w1, w2, b) on the same grid that compute XNOR",
        ),
        check(
            "Single perceptrons compute every other two-input truth table: 14 of the 16",
            m["truth_tables_found"],
            ">=",
            14,
            quantity="two-input truth tables that some perceptron on the grid computes",
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

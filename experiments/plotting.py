"""Figures in one style: Agg backend, 120 dpi, red = class 1, blue = class 0."""

from __future__ import annotations

import os
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

DPI = 120
RED, BLUE = "tab:red", "tab:blue"


def figure(ncols: int = 1, *, width: float = 5.5, height: float = 4.5):
    """A figure with ``ncols`` axes side by side (constrained layout)."""
    fig, axes = plt.subplots(
        1, ncols, figsize=(width * ncols, height), dpi=DPI, layout="constrained"
    )
    return fig, axes


def save(fig, out_dir: str, name: str) -> str:
    """Save ``fig`` as ``out_dir/name`` (PNG) and close it; return ``name``."""
    os.makedirs(out_dir, exist_ok=True)
    fig.savefig(os.path.join(out_dir, name))
    plt.close(fig)
    return name


def points(ax, x, y, *, size: float = 12) -> None:
    """Scatter 2-D points, red for label 1 and blue for label 0, with a legend."""
    x, y = np.asarray(x), np.asarray(y)
    ax.scatter(*x[y == 0].T, c=BLUE, s=size, edgecolors="white", linewidths=0.3, label="class 0")
    ax.scatter(*x[y == 1].T, c=RED, s=size, edgecolors="white", linewidths=0.3, label="class 1")
    ax.set(xlabel="x1", ylabel="x2")
    ax.legend(loc="best", fontsize=8)


def probability_contours(ax, prob: Callable[[np.ndarray], np.ndarray], x, *, margin=0.5, res=150):
    """Filled contours of P(class 1) = ``prob(grid)`` over the box around ``x``."""
    x = np.asarray(x)
    lo, hi = x.min(0) - margin, x.max(0) + margin
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], res), np.linspace(lo[1], hi[1], res))
    grid = np.stack([g0.ravel(), g1.ravel()], 1).astype(np.float32)
    p = np.asarray(prob(grid)).reshape(g0.shape)
    cs = ax.contourf(g0, g1, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55)
    ax.contour(g0, g1, p, levels=[0.5], colors="black", linewidths=1)
    return cs


def boundary(ax, prob, x, y, title: str) -> None:
    """Probability contours under the points, the 0.5 line in black."""
    cs = probability_contours(ax, prob, x)
    points(ax, x, y)
    ax.set_title(title)
    ax.figure.colorbar(cs, ax=ax, label="P(class 1)")

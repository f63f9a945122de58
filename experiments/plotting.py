"""Figures in one style: Agg backend, 120 dpi, red = class 1, blue = class 0."""

from __future__ import annotations

import os
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from experiments.core import Figure

DPI = 120
RED, BLUE = "tab:red", "tab:blue"


def figure(ncols: int = 1, *, width: float = 5.5, height: float = 4.5, nrows: int = 1):
    """A figure with ``nrows`` x ``ncols`` axes (constrained layout)."""
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows), dpi=DPI, layout="constrained"
    )
    return fig, axes


def save(fig, out_dir: str | None, name: str, caption: str) -> Figure:
    """Save ``fig`` as ``out_dir/name`` (PNG) and close it; return it as a
    :class:`~experiments.core.Figure` with its ``caption`` (what a learner should see
    in it, one or two sentences). ``out_dir=None`` closes it without saving (a seed
    whose figures are not drawn)."""
    if not caption:
        raise ValueError(f"figure {name!r} needs a caption")
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        fig.savefig(os.path.join(out_dir, name))
    plt.close(fig)
    return Figure(name, caption)


def save_animation(
    fig,
    update: Callable[[int], object],
    frames: int,
    out_dir: str | None,
    name: str,
    caption: str,
    *,
    fps: float = 4.0,
) -> Figure:
    """Save an animated GIF ``out_dir/name``: ``update(i)`` redraws ``fig`` for frame
    ``i`` of ``frames``. Each frame is drawn once and quantised to one palette shared
    by all frames (Pillow, which matplotlib already needs: no extra dependency), so
    that pixels that do not move cost nothing; the last frame is held a second.
    ``out_dir=None`` closes ``fig`` without drawing."""
    from PIL import Image

    if not caption:
        raise ValueError(f"animation {name!r} needs a caption")
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        fig.set_dpi(80)
        images = []
        for i in range(frames):
            update(i)
            fig.canvas.draw()
            images.append(Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB"))
        palette = images[-1].quantize(256)
        images = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
        durations = [round(1000 / fps)] * frames
        durations[-1] = max(durations[-1], 1000)
        images[0].save(
            os.path.join(out_dir, name),
            save_all=True,
            append_images=images[1:],
            duration=durations,
            loop=0,
            optimize=False,
        )
    plt.close(fig)
    return Figure(name, caption)


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

"""Progress bars driven from outside the compiled region.

A compiled fit or study runs in chunks of epochs; between chunks the host updates a
tqdm bar. Nothing happens inside the compiled program, so a bar costs one host
round-trip per chunk. tqdm is an optional dependency (the ``experiments`` extra);
without it, progress is silently not shown.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass


@contextlib.contextmanager
def progress_bar(
    total: int, *, enabled: bool = True, desc: str = "", unit: str = "epoch"
) -> Iterator[Any]:
    """A tqdm bar over ``total`` units, or a do-nothing bar when disabled or unavailable."""
    if not enabled:
        yield _NoBar()
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:
        yield _NoBar()
        return
    with tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True) as bar:
        yield bar

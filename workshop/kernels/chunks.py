"""How parallel implementations cut work into pieces: contiguous blocks or interleaved rows."""

from __future__ import annotations

import numpy as np

__all__ = ["blocks", "interleaved"]


def blocks(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ``(start, stop)`` ranges covering ``range(n)``, sizes differing by <= 1.

    Static contiguous blocks are the simplest decomposition; they balance the load only when
    every item costs the same.
    """
    if parts < 1:
        raise ValueError(f"parts must be >= 1, not {parts}")
    base, extra = divmod(n, parts)
    edges = [0]
    for k in range(parts):
        edges.append(edges[-1] + base + (1 if k < extra else 0))
    return [(edges[k], edges[k + 1]) for k in range(parts) if edges[k + 1] > edges[k]]


def interleaved(n: int, parts: int) -> list[np.ndarray]:
    """``parts`` index arrays ``k, k + parts, k + 2 parts, ...``: cheap and expensive items mix."""
    if parts < 1:
        raise ValueError(f"parts must be >= 1, not {parts}")
    return [np.arange(k, n, parts, dtype=np.int64) for k in range(min(parts, n))]

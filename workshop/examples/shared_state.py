"""Worker functions for unit 02's section on shared state: NumPy in shared memory, random streams.

Like ``pool_tasks``, they live in an importable module so that pool workers started with
``spawn`` or ``forkserver`` can find them; unlike ``pool_tasks`` they use NumPy, which each worker
imports once when it starts.
"""

from __future__ import annotations

from multiprocessing import shared_memory

import numpy as np

__all__ = ["count_inside", "square_block", "square_shared"]


def count_inside(seed: int | np.random.SeedSequence, n: int) -> int:
    """How many of ``n`` uniform points of the unit square, drawn from the stream ``seed``, fall
    inside the quarter circle (a Monte Carlo count for pi/4)."""
    if n < 0:
        raise ValueError(f"n must be >= 0 points, got {n!r}")
    points = np.random.default_rng(seed).random((n, 2))
    return int(np.count_nonzero((points * points).sum(axis=1) <= 1.0))


def square_block(block: np.ndarray) -> np.ndarray:
    """``block ** 2``: the block travels to the worker and its square back, both pickled."""
    return block * block


def square_shared(names: tuple[str, str], n: int, start: int, stop: int) -> None:
    """``y[start:stop] = x[start:stop] ** 2`` for float64 arrays of length ``n`` that live in the
    shared-memory blocks ``names = (x's, y's)``: only the names travel, never the numbers."""
    source = shared_memory.SharedMemory(name=names[0])
    target = shared_memory.SharedMemory(name=names[1])
    try:
        x = np.ndarray((n,), dtype=np.float64, buffer=source.buf)
        y = np.ndarray((n,), dtype=np.float64, buffer=target.buf)
        np.multiply(x[start:stop], x[start:stop], out=y[start:stop])
        del x, y  # the views must go before the blocks can close
    finally:
        source.close()
        target.close()

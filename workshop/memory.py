"""How much memory something takes: the bytes an array holds, and the peak a call allocates.

``peak_memory`` uses :mod:`tracemalloc`, which sees every allocation made through Python's
allocators, NumPy's array buffers included (NumPy reports them to tracemalloc), so a call that
builds a large temporary shows up even when it returns something small. ``nbytes`` counts the
buffers of a NumPy array or a SciPy sparse matrix, the number to compare dense against sparse.
"""

from __future__ import annotations

import gc
import math
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["PeakMemory", "format_bytes", "nbytes", "peak_memory"]

_SPARSE_BUFFERS = {
    "csr": ("data", "indices", "indptr"),
    "csc": ("data", "indices", "indptr"),
    "bsr": ("data", "indices", "indptr"),
    "dia": ("data", "offsets"),
}


def format_bytes(count: float) -> str:
    """Human-readable size in binary units: ``"512 B"``, ``"1.5 KiB"``, ``"3.2 GiB"``."""
    if not math.isfinite(count) or count < 0:
        raise ValueError(f"a size in bytes must be a finite number >= 0, got {count!r}")
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.3g} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def nbytes(value: Any) -> int:
    """Bytes held by the buffers of a NumPy array or a SciPy sparse matrix/array.

    For CSR, CSC and BSR that is data + indices + indptr; for COO data + the coordinate arrays;
    for DIA data + offsets. LIL and DOK keep Python objects per element and are refused (convert
    them with ``.tocsr()`` first): their true size is not the sum of a few buffers.
    """
    import numpy as np

    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    fmt = getattr(value, "format", None)
    if fmt == "coo":
        coords = getattr(value, "coords", None)
        if coords is None:  # older SciPy: row and col attributes only
            coords = (value.row, value.col)
        return int(value.data.nbytes + sum(c.nbytes for c in coords))
    if fmt in _SPARSE_BUFFERS:
        return int(sum(getattr(value, name).nbytes for name in _SPARSE_BUFFERS[fmt]))
    kind = f"a sparse matrix in {fmt!r} format" if fmt else f"a {type(value).__name__}"
    raise ValueError(
        f"nbytes counts NumPy arrays and sparse matrices in the formats "
        f"{', '.join(['coo', *_SPARSE_BUFFERS])}; got {kind} (convert LIL or DOK with .tocsr())"
    )


@dataclass(frozen=True)
class PeakMemory:
    """The result of a call and the most memory it held at once above what was held before."""

    result: Any
    peak: int  # bytes

    def __str__(self) -> str:
        return f"peak {format_bytes(self.peak)}"


def peak_memory(func: Callable[..., Any], *args: Any, **kwargs: Any) -> PeakMemory:
    """Call ``func(*args, **kwargs)`` and return its result with its peak traced allocation.

    The peak is measured with ``tracemalloc`` relative to the memory traced when the call starts,
    so it counts temporaries the call creates and frees as well as what it returns. Tracing slows
    the call down several times: use this for memory, and ``workshop.timing`` for time.
    """
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        result = func(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return PeakMemory(result, max(0, peak - baseline))

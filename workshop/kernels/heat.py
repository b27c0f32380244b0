"""The 2-D heat equation: a coarse-grained parallel problem whose neighbours must talk.

An ``N`` x ``N`` grid of temperatures ``u`` evolves for ``steps`` explicit time steps of the
5-point stencil::

    u_new[i, j] = u[i, j] + ALPHA * (u[i-1, j] + u[i+1, j] + u[i, j-1] + u[i, j+1] - 4 u[i, j])

on every interior point; the outermost rows and columns are fixed (Dirichlet boundaries). Every
implementation evaluates that expression in the same order, so the serial ones agree to the last
bit with NumPy wherever the compiler keeps the order (the MPI one always does: it runs the same
NumPy expression on each rank's block). Each step reads one grid and writes the other, so the
stencil moves at least ``2 * 8 * N * N`` bytes for ``7 * (N - 2) ** 2`` flops: about 0.44 flop per
byte, far below what a core can compute per byte it loads. It is memory-bound, and
``achieved_bandwidth`` says how close an implementation comes to the memory's limit.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any

import numpy as np
from numba import njit, prange

from workshop.kernels import native
from workshop.kernels.compiled import cython_module, cython_parallel_reason, cython_reason
from workshop.kernels.registry import Problem
from workshop.kernels.stencil import (
    ALPHA,
    FLOPS_PER_POINT,
    STEPS,
    bytes_moved,
    flops,
    heat_numpy,
    make_input,
)
from workshop.kernels.threads import numba_threads

__all__ = [
    "ALPHA",
    "FLOPS_PER_POINT",
    "HEAT",
    "PROBLEM",
    "STEPS",
    "achieved_bandwidth",
    "bytes_moved",
    "flops",
    "heat_numpy",
    "make_input",
    "roofline_of",
    "validate",
]

#: Relative difference allowed against the NumPy reference (compilers may reorder, e.g. FMA).
TOLERANCE = 1e-12


def check_grid(u0: np.ndarray, steps: int) -> None:
    """ValueError unless ``u0`` is a square float64 grid of at least 3 x 3 and ``steps >= 0``."""
    if not isinstance(u0, np.ndarray) or u0.ndim != 2 or u0.shape[0] != u0.shape[1]:
        raise ValueError(f"u0 must be a square 2-D NumPy array, not {getattr(u0, 'shape', u0)!r}")
    if u0.shape[0] < 3 or u0.dtype != np.float64:
        raise ValueError(f"u0 must be float64 and at least 3 x 3, not {u0.dtype} {u0.shape}")
    if isinstance(steps, bool) or int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be a whole number >= 0, not {steps!r}")


def achieved_bandwidth(size: int, steps: int, seconds: float) -> float:
    """Bytes per second a run of ``seconds`` moved by that count (compare with STREAM)."""
    return bytes_moved(size, steps) / seconds


def validate(result: np.ndarray, inputs: tuple) -> None:
    """Compare with the NumPy reference: shape, fixed boundary, and every point to 1e-12."""
    u0, steps = inputs
    result = np.asarray(result)
    if result.shape != u0.shape:
        raise AssertionError(f"expected a grid of shape {u0.shape}, got {result.shape}")
    if result.dtype != np.float64:
        raise AssertionError(f"expected float64 temperatures, got {result.dtype}")
    edge = np.ones(u0.shape, dtype=bool)
    edge[1:-1, 1:-1] = False
    if not np.array_equal(result[edge], u0[edge]):
        raise AssertionError("the boundary changed: its rows and columns must stay fixed")
    expected = heat_numpy(u0, steps)
    if not np.allclose(result, expected, rtol=TOLERANCE, atol=TOLERANCE):
        bad = np.argwhere(~np.isclose(result, expected, rtol=TOLERANCE, atol=TOLERANCE))
        i, j = bad[0]
        raise AssertionError(
            f"{len(bad)} of {result.size} points differ from the NumPy reference; first at "
            f"({i}, {j}): {result[i, j]!r} instead of {expected[i, j]!r}"
        )


# --- Numba: the loops, compiled; one row per thread in the parallel version -------------------
#
# The two grids are allocated by NumPy, as in the Cython and C versions. NumPy asks Linux for
# huge pages for large arrays (madvise); Numba's own allocator (``u0.copy()`` inside the kernel)
# does not, and at 2048 x 2048 its 4 KiB pages made the whole run about 1.2x slower than C.


@njit(cache=True)
def heat_numba_kernel(u, new, steps):
    n = u.shape[0]
    for _ in range(steps):
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                c = u[i, j]
                new[i, j] = c + ALPHA * (
                    u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] - 4.0 * c
                )
        u, new = new, u
    return u


@njit(cache=True, parallel=True)
def heat_numba_parallel_kernel(u, new, steps):
    n = u.shape[0]
    for _ in range(steps):
        for i in prange(1, n - 1):
            for j in range(1, n - 1):
                c = u[i, j]
                new[i, j] = c + ALPHA * (
                    u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] - 4.0 * c
                )
        u, new = new, u
    return u


def _two_grids(u0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two C-ordered copies of ``u0``: the grid a step reads and the one it writes."""
    u = np.array(u0, dtype=np.float64, order="C", copy=True)
    return u, u.copy()


def heat_numba(u0: np.ndarray, steps: int) -> np.ndarray:
    return heat_numba_kernel(*_two_grids(u0), steps)


def heat_numba_parallel(u0: np.ndarray, steps: int, *, workers: int) -> np.ndarray:
    with numba_threads(workers):
        return heat_numba_parallel_kernel(*_two_grids(u0), steps)


# --- Cython and C -------------------------------------------------------------------------------


def _cython_reason() -> str | None:
    return cython_reason("heat_cy")


def _cython_parallel_reason() -> str | None:
    return cython_parallel_reason("heat_cy")


def heat_cython(u0: np.ndarray, steps: int) -> np.ndarray:
    return cython_module("heat_cy").heat(np.ascontiguousarray(u0), steps, ALPHA)


def heat_cython_parallel(u0: np.ndarray, steps: int, *, workers: int) -> np.ndarray:
    return cython_module("heat_cy").heat_parallel(np.ascontiguousarray(u0), steps, ALPHA, workers)


@functools.cache
def _c_library() -> ctypes.CDLL:
    library = ctypes.CDLL(str(native.compile_library("heat")))
    library.heat_run.restype = ctypes.c_int64
    pointer = np.ctypeslib.ndpointer(dtype=np.float64, flags="C_CONTIGUOUS")
    library.heat_run.argtypes = [pointer, pointer, ctypes.c_int64, ctypes.c_int64, ctypes.c_double]
    return library


def heat_c(u0: np.ndarray, steps: int) -> np.ndarray:
    """The plain C loop (``c/heat.c``, a shared library), on copies of ``u0``."""
    u, scratch = _two_grids(u0)
    where = _c_library().heat_run(u, scratch, u.shape[0], int(steps), ALPHA)
    return scratch if where else u


def reference(u0: np.ndarray, steps: int) -> np.ndarray:
    """The trusted serial answer: NumPy slicing."""
    return heat_numpy(u0, steps)


PROBLEM = HEAT = Problem(
    name="heat",
    title="2-D heat equation (5-point stencil)",
    size_label="grid points per side",
    min_size=3,
    max_size=8_192,
    default_size=2_048,
    small_size=128,
    make_input_func=make_input,
    reference_func=reference,
    validate_func=validate,
    work_exponent=2.0,
    baseline="c",
)

# --- the implementations, in teaching order ---------------------------------------------------

HEAT.register("numpy", "NumPy slicing", "numpy")(heat_numpy)
HEAT.register("numba", "Numba @njit", "numba")(heat_numba)
HEAT.register("numba-parallel", "Numba prange", "numba", parallel=True, threaded=True)(
    heat_numba_parallel
)
HEAT.register("cython", "Cython typed loops", "cython", requires=_cython_reason)(heat_cython)
HEAT.register(
    "cython-parallel",
    "Cython prange (OpenMP)",
    "cython",
    parallel=True,
    threaded=True,
    requires=_cython_parallel_reason,
)(heat_cython_parallel)
HEAT.register("c", "Plain C (-O3, built for this CPU)", "c", requires=native.unavailable_reason)(
    heat_c
)


def _mpi_reason() -> str | None:
    from workshop.mpi import unavailable_reason

    return unavailable_reason()


@HEAT.register(
    "mpi",
    "MPI ranks on ipyparallel MPI engines, Sendrecv halos",
    "mpi",
    parallel=True,
    requires=_mpi_reason,
)
def heat_mpi_engines(u0: np.ndarray, steps: int, *, workers: int) -> np.ndarray:
    from workshop.kernels import engines

    return engines.mpi_engines().heat(u0, steps, workers)[0]


def roofline_of(size: int, steps: int, seconds: float) -> Any:
    """A run of ``seconds`` against the measured memory bandwidth (``workshop.bandwidth``)."""
    from workshop.bandwidth import roofline

    return roofline(bytes_moved(size, steps), flops(size, steps), seconds)

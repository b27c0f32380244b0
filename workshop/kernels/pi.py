"""Monte Carlo estimate of pi: the embarrassingly parallel problem.

Throw ``n`` random points into the unit square; the fraction inside the quarter circle is about
pi / 4. Every implementation draws the same numbers from a counter-based generator (splitmix64:
draw ``k`` is ``mix(seed + k * GAMMA)``), so a block of points ``start .. stop - 1`` needs no
shared state: each parallel worker reads its own stretch of the stream, independent of the
others, and every worker count gives the same answer.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from workshop.kernels import engines, native, pools
from workshop.kernels.chunks import blocks
from workshop.kernels.compiled import cython_module, cython_parallel_reason, cython_reason
from workshop.kernels.registry import Problem
from workshop.kernels.threads import numba_threads

__all__ = ["PI", "PROBLEM", "SEED"]

SEED = 20240611
GAMMA = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
MASK = 2**64 - 1
INV_2_53 = 1.0 / 9007199254740992.0  # 53 random bits -> [0, 1)


def make_input(n: int) -> tuple[int, int]:
    """``(n, seed)``: the number of points and the stream they are drawn from."""
    return (n, SEED)


def validate(result: float, inputs: tuple[int, int]) -> None:
    """Statistical check: the estimate lies within 6 standard deviations of pi."""
    n = inputs[0]
    if not isinstance(result, float | np.floating) or not math.isfinite(result):
        raise AssertionError(f"pi estimate must be a finite float, got {result!r}")
    tolerance = 6.0 * math.sqrt(math.pi * (4.0 - math.pi) / n) + 1e-12
    error = abs(float(result) - math.pi)
    if error > tolerance:
        raise AssertionError(
            f"pi estimate {float(result):.6f} from {n} samples is {error:.2e} away from pi; "
            f"more than 6 standard deviations ({tolerance:.2e})"
        )


# --- pure Python: one point at a time -------------------------------------------------------


def _uniform_python(seed: int, k: int) -> float:
    z = (seed + k * GAMMA) & MASK
    z = ((z ^ (z >> 30)) * MIX1) & MASK
    z = ((z ^ (z >> 27)) * MIX2) & MASK
    z = z ^ (z >> 31)
    return (z >> 11) * INV_2_53


def pi_python(n: int, seed: int) -> float:
    hits = 0
    for i in range(n):
        x = _uniform_python(seed, 2 * i + 1)
        y = _uniform_python(seed, 2 * i + 2)
        if x * x + y * y < 1.0:
            hits += 1
    return 4.0 * hits / n


# --- NumPy: whole arrays of points at once (in blocks, to bound memory) ---------------------

_NUMPY_BLOCK = 1 << 20


def _uniform_numpy(seed: int, k: np.ndarray) -> np.ndarray:
    z = np.uint64(seed) + k * np.uint64(GAMMA)  # uint64 arrays wrap around like C
    z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * INV_2_53


def pi_numpy(n: int, seed: int) -> float:
    hits = 0
    for start, stop in blocks(n, max(1, -(-n // _NUMPY_BLOCK))):
        i = np.arange(start, stop, dtype=np.uint64)
        x = _uniform_numpy(seed, 2 * i + np.uint64(1))
        y = _uniform_numpy(seed, 2 * i + np.uint64(2))
        hits += int(np.count_nonzero(x * x + y * y < 1.0))
    return 4.0 * hits / n


# --- Numba: the Python loop, compiled ---------------------------------------------------------

_GAMMA, _MIX1, _MIX2 = np.uint64(GAMMA), np.uint64(MIX1), np.uint64(MIX2)
_S11, _S27, _S30, _S31 = np.uint64(11), np.uint64(27), np.uint64(30), np.uint64(31)


@njit(cache=True)
def _uniform_numba(seed, k):
    z = seed + k * _GAMMA
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    z = z ^ (z >> _S31)
    return np.float64(z >> _S11) * INV_2_53


@njit(cache=True)
def hits_numba(seed, start, stop):
    """How many of the points ``start .. stop - 1`` fall inside the unit circle."""
    seed = np.uint64(seed)
    hits = 0
    for i in range(start, stop):
        x = _uniform_numba(seed, np.uint64(2 * i + 1))
        y = _uniform_numba(seed, np.uint64(2 * i + 2))
        if x * x + y * y < 1.0:
            hits += 1
    return hits


@njit(cache=True, parallel=True)
def hits_numba_parallel(seed, start, stop):
    """``hits_numba`` with ``prange``: Numba shares the points among its threads."""
    seed = np.uint64(seed)
    hits = 0
    for i in prange(start, stop):
        x = _uniform_numba(seed, np.uint64(2 * i + 1))
        y = _uniform_numba(seed, np.uint64(2 * i + 2))
        if x * x + y * y < 1.0:
            hits += 1
    return hits


def hits_block(seed: int, start: int, stop: int) -> int:
    """One worker's share for the ``processes`` and ``engines`` implementations."""
    return int(hits_numba(np.uint64(seed), start, stop))


def warm() -> None:
    """Load (or compile) the Numba kernel a worker process runs."""
    hits_block(SEED, 0, 1)


pools.warm_in_workers(f"{__name__}:warm")


def _cython_reason() -> str | None:
    return cython_reason("pi_cy")


def _cython_parallel_reason() -> str | None:
    return cython_parallel_reason("pi_cy")


def _reference(n: int, seed: int) -> float:
    return 4.0 * int(hits_numba(np.uint64(seed), 0, n)) / n


PROBLEM = PI = Problem(
    name="pi",
    title="Monte Carlo estimate of pi",
    size_label="samples",
    min_size=1_000,
    max_size=20_000_000_000,
    # Enough work that an engine call's few milliseconds of messaging stay near 1 % of the time
    # at 2 workers: about 0.3 s for one worker on a fast core.
    default_size=1_000_000_000,
    small_size=20_000,
    make_input_func=make_input,
    reference_func=_reference,
    validate_func=validate,
    work_exponent=1.0,
    baseline="c",
)

# --- the implementations, in teaching order ---------------------------------------------------

PI.register("python", "Pure Python loop", "python")(pi_python)
PI.register("numpy", "NumPy arrays", "numpy")(pi_numpy)


@PI.register("numba", "Numba @njit", "numba")
def pi_numba(n: int, seed: int) -> float:
    return 4.0 * int(hits_numba(np.uint64(seed), 0, n)) / n


@PI.register("numba-parallel", "Numba prange", "numba", parallel=True, threaded=True)
def pi_numba_parallel(n: int, seed: int, *, workers: int) -> float:
    with numba_threads(workers):
        return 4.0 * int(hits_numba_parallel(np.uint64(seed), 0, n)) / n


@PI.register("cython", "Cython typed loop", "cython", requires=_cython_reason)
def pi_cython(n: int, seed: int) -> float:
    return 4.0 * cython_module("pi_cy").hits(seed, 0, n) / n


@PI.register(
    "cython-parallel",
    "Cython prange (OpenMP)",
    "cython",
    parallel=True,
    threaded=True,
    requires=_cython_parallel_reason,
)
def pi_cython_parallel(n: int, seed: int, *, workers: int) -> float:
    return 4.0 * cython_module("pi_cy").hits_parallel(seed, 0, n, workers) / n


@PI.register("processes", "Process pool (Numba in each)", "processes", parallel=True)
def pi_processes(n: int, seed: int, *, workers: int) -> float:
    tasks = [(seed, start, stop) for start, stop in blocks(n, workers)]
    return 4.0 * sum(pools.run_tasks(workers, hits_block, tasks)) / n


@PI.register(
    "engines",
    "ipyparallel engines (Numba in each)",
    "engines",
    parallel=True,
    requires=engines.unavailable_reason,
)
def pi_engines(n: int, seed: int, *, workers: int) -> float:
    tasks = [(seed, start, stop) for start, stop in blocks(n, workers)]
    return 4.0 * sum(engines.run_static(hits_block, tasks, workers)) / n


@PI.register("c", "Plain C (-O3, built for this CPU)", "c", requires=native.unavailable_reason)
def pi_c(n: int, seed: int) -> float:
    return 4.0 * int(native.run_program("pi", n, seed)) / n

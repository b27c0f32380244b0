"""Mandelbrot escape-time counts: a parallel problem whose rows cost very different amounts.

Pixel ``(i, j)`` of a ``size`` x ``size`` grid is the point
``c = (x_min + j dx) + (y_min + i dy) 1j``; its value is the number of iterations of
``z -> z**2 + c`` before ``|z| > 2`` (at most ``MAX_ITER``). Points inside the set use every
iteration, points far outside only a few. The window is chosen off-centre, so the first rows cost
far more than the last ones: static contiguous row blocks leave some workers idle while others
finish, and interleaved or load-balanced rows fix that.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit, parallel_chunksize, prange

from workshop.kernels import engines, native, pools
from workshop.kernels.chunks import blocks, interleaved
from workshop.kernels.compiled import cython_module, cython_parallel_reason, cython_reason
from workshop.kernels.registry import Problem
from workshop.kernels.threads import numba_threads

__all__ = ["BOUNDS", "MANDELBROT", "MAX_ITER", "PROBLEM"]

#: (x_min, x_max, y_min, y_max): the real axis, where most points never escape, lies in the
#: first third of the rows; the last rows are nearly empty.
BOUNDS = (-2.0, 0.6, -0.8, 1.3)
MAX_ITER = 200
assert MAX_ITER < 256  # rows_block_compact sends counts as bytes
#: At most this fraction of pixels may differ from the reference (rounding, fused multiply-add).
TOLERANCE = 1e-3


def make_input(size: int) -> tuple[float, float, float, float, int, int]:
    """``(x_min, x_max, y_min, y_max, size, max_iter)``."""
    return (*BOUNDS, size, MAX_ITER)


def validate(result: np.ndarray, inputs: tuple) -> None:
    """Compare with the reference; a tiny fraction of boundary pixels may differ by rounding."""
    size = inputs[4]
    result = np.asarray(result)
    if result.shape != (size, size):
        raise AssertionError(f"expected a {size} x {size} array, got shape {result.shape}")
    if result.dtype != np.int32:
        raise AssertionError(f"expected int32 counts, got {result.dtype}")
    expected = reference(*inputs)
    differ = int(np.count_nonzero(result != expected))
    allowed = int(TOLERANCE * size * size)
    if differ > allowed:
        rows = np.flatnonzero((result != expected).any(axis=1))
        raise AssertionError(
            f"{differ} of {size * size} pixels differ from the reference (at most {allowed} may, "
            f"by floating-point rounding); first differing rows: {rows[:5].tolist()}"
        )


# --- pure Python: one pixel at a time ---------------------------------------------------------


def _escape_python(c_re: float, c_im: float, max_iter: int) -> int:
    z_re = z_im = 0.0
    n = 0
    while n < max_iter:
        re2 = z_re * z_re
        im2 = z_im * z_im
        if re2 + im2 > 4.0:
            break
        z_im = 2.0 * z_re * z_im + c_im
        z_re = re2 - im2 + c_re
        n += 1
    return n


def mandelbrot_python(x_min, x_max, y_min, y_max, size, max_iter):
    dx = (x_max - x_min) / size
    dy = (y_max - y_min) / size
    image = np.empty((size, size), dtype=np.int32)
    for i in range(size):
        c_im = y_min + i * dy
        for j in range(size):
            image[i, j] = _escape_python(x_min + j * dx, c_im, max_iter)
    return image


# --- NumPy: every pixel at once, masking those that escaped ---------------------------------


def mandelbrot_numpy(x_min, x_max, y_min, y_max, size, max_iter):
    dx = (x_max - x_min) / size
    dy = (y_max - y_min) / size
    c_re = np.broadcast_to(x_min + np.arange(size) * dx, (size, size)).copy()
    c_im = np.broadcast_to((y_min + np.arange(size) * dy)[:, None], (size, size)).copy()
    z_re = np.zeros((size, size))
    z_im = np.zeros((size, size))
    image = np.zeros((size, size), dtype=np.int32)
    active = np.ones((size, size), dtype=bool)
    for _ in range(max_iter):
        zr, zi, cr, ci = z_re[active], z_im[active], c_re[active], c_im[active]
        re2, im2 = zr * zr, zi * zi
        going = re2 + im2 <= 4.0  # still bounded: iterate once more
        if not going.any():
            break
        where = np.flatnonzero(active)
        z_im.flat[where] = 2.0 * zr * zi + ci
        z_re.flat[where] = re2 - im2 + cr
        image.flat[where[going]] += 1
        active.flat[where[~going]] = False
    return image


# --- Numba: the Python loops, compiled --------------------------------------------------------


@njit(cache=True)
def _escape_numba(c_re, c_im, max_iter):
    z_re = 0.0
    z_im = 0.0
    n = 0
    while n < max_iter:
        re2 = z_re * z_re
        im2 = z_im * z_im
        if re2 + im2 > 4.0:
            break
        z_im = 2.0 * z_re * z_im + c_im
        z_re = re2 - im2 + c_re
        n += 1
    return n


@njit(cache=True)
def mandelbrot_numba_kernel(x_min, x_max, y_min, y_max, size, max_iter):
    dx = (x_max - x_min) / size
    dy = (y_max - y_min) / size
    image = np.empty((size, size), dtype=np.int32)
    for i in range(size):
        c_im = y_min + i * dy
        for j in range(size):
            image[i, j] = _escape_numba(x_min + j * dx, c_im, max_iter)
    return image


@njit(cache=True, parallel=True)
def mandelbrot_numba_parallel_kernel(x_min, x_max, y_min, y_max, size, max_iter):
    dx = (x_max - x_min) / size
    dy = (y_max - y_min) / size
    image = np.empty((size, size), dtype=np.int32)
    for i in prange(size):
        c_im = y_min + i * dy
        for j in range(size):
            image[i, j] = _escape_numba(x_min + j * dx, c_im, max_iter)
    return image


@njit(cache=True)
def rows_numba(x_min, x_max, y_min, y_max, size, max_iter, rows):
    """Only the rows ``rows`` (an int64 array) of the image: one worker's share."""
    dx = (x_max - x_min) / size
    dy = (y_max - y_min) / size
    image = np.empty((rows.shape[0], size), dtype=np.int32)
    for r in range(rows.shape[0]):
        c_im = y_min + rows[r] * dy
        for j in range(size):
            image[r, j] = _escape_numba(x_min + j * dx, c_im, max_iter)
    return image


@njit(nogil=True, cache=True)
def _rows_numba_nogil(x_min, x_max, y_min, y_max, size, max_iter, rows):
    # rows_numba, compiled to release the GIL while it runs, so that Python threads calling it
    # compute at the same time (the numba-threads implementation).
    return rows_numba(x_min, x_max, y_min, y_max, size, max_iter, rows)


def rows_block(inputs: tuple, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, counts)`` for the ``processes`` and ``engines`` implementations."""
    x_min, x_max, y_min, y_max, size, max_iter = inputs
    rows = np.asarray(rows, dtype=np.int64)
    return rows, rows_numba(x_min, x_max, y_min, y_max, size, max_iter, rows)


def rows_block_compact(inputs: tuple, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``rows_block`` with the counts sent back as one byte each (``MAX_ITER`` < 256): a quarter
    of the data to carry from the engines, which is most of what a small task costs there."""
    rows, counts = rows_block(inputs, rows)
    return rows, counts.astype(np.uint8)


def _assemble(size: int, parts: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    image = np.empty((size, size), dtype=np.int32)
    for rows, counts in parts:
        image[rows] = counts
    return image


def _rows_on_threads(rows_nogil, inputs: tuple, workers: int) -> np.ndarray:
    """The image from a pool of ``workers`` Python threads, each computing interleaved rows with
    ``rows_nogil(*inputs, rows)``, compiled code that releases the GIL: the threads compute at
    the same time in one process."""
    size = inputs[4]

    def block(rows):
        return rows, rows_nogil(*inputs, rows)

    with ThreadPoolExecutor(workers) as pool:
        return _assemble(size, list(pool.map(block, interleaved(size, 4 * workers))))


def _row_blocks(size: int, workers: int) -> list[np.ndarray]:
    return [np.arange(start, stop, dtype=np.int64) for start, stop in blocks(size, workers)]


def warm() -> None:
    """Load (or compile) the Numba kernel a worker process runs."""
    rows_block(make_input(2), np.arange(1))


pools.warm_in_workers(f"{__name__}:warm")


def reference(x_min, x_max, y_min, y_max, size, max_iter) -> np.ndarray:
    """The serial Numba kernel: the trusted answer."""
    return mandelbrot_numba_kernel(x_min, x_max, y_min, y_max, size, max_iter)


def _cython_reason() -> str | None:
    return cython_reason("mandelbrot_cy")


def _cython_parallel_reason() -> str | None:
    return cython_parallel_reason("mandelbrot_cy")


PROBLEM = MANDELBROT = Problem(
    name="mandelbrot",
    title="Mandelbrot set (uneven rows)",
    size_label="pixels per side",
    min_size=8,
    max_size=8_192,
    default_size=1_200,
    small_size=64,
    make_input_func=make_input,
    reference_func=reference,
    validate_func=validate,
    work_exponent=2.0,
    baseline="c",
)

# --- the implementations, in teaching order ---------------------------------------------------

MANDELBROT.register("python", "Pure Python loops", "python")(mandelbrot_python)
MANDELBROT.register("numpy", "NumPy arrays with a mask", "numpy")(mandelbrot_numpy)


@MANDELBROT.register("numba", "Numba @njit", "numba")
def mandelbrot_numba(x_min, x_max, y_min, y_max, size, max_iter):
    return mandelbrot_numba_kernel(x_min, x_max, y_min, y_max, size, max_iter)


@MANDELBROT.register("numba-parallel", "Numba prange", "numba", parallel=True, threaded=True)
def mandelbrot_numba_parallel(x_min, x_max, y_min, y_max, size, max_iter, *, workers):
    with numba_threads(workers):
        return mandelbrot_numba_parallel_kernel(x_min, x_max, y_min, y_max, size, max_iter)


@MANDELBROT.register(
    "numba-dynamic",
    "Numba prange, rows handed out one at a time",
    "numba",
    parallel=True,
    threaded=True,
)
def mandelbrot_numba_dynamic(x_min, x_max, y_min, y_max, size, max_iter, *, workers):
    # chunks of one row, taken by whichever thread is free: the costly rows spread out
    with numba_threads(workers), parallel_chunksize(1):
        return mandelbrot_numba_parallel_kernel(x_min, x_max, y_min, y_max, size, max_iter)


@MANDELBROT.register(
    "numba-threads", "Python threads, Numba nogil=True", "numba", parallel=True, threaded=True
)
def mandelbrot_numba_threads(x_min, x_max, y_min, y_max, size, max_iter, *, workers):
    inputs = (x_min, x_max, y_min, y_max, size, max_iter)
    return _rows_on_threads(_rows_numba_nogil, inputs, workers)


@MANDELBROT.register("cython", "Cython typed loops", "cython", requires=_cython_reason)
def mandelbrot_cython(x_min, x_max, y_min, y_max, size, max_iter):
    return cython_module("mandelbrot_cy").mandelbrot(x_min, x_max, y_min, y_max, size, max_iter)


@MANDELBROT.register(
    "cython-threads",
    "Python threads, Cython with nogil",
    "cython",
    parallel=True,
    threaded=True,
    requires=_cython_reason,
)
def mandelbrot_cython_threads(x_min, x_max, y_min, y_max, size, max_iter, *, workers):
    inputs = (x_min, x_max, y_min, y_max, size, max_iter)
    return _rows_on_threads(cython_module("mandelbrot_cy").rows, inputs, workers)


@MANDELBROT.register(
    "cython-parallel",
    "Cython prange (OpenMP)",
    "cython",
    parallel=True,
    threaded=True,
    requires=_cython_parallel_reason,
)
def mandelbrot_cython_parallel(x_min, x_max, y_min, y_max, size, max_iter, *, workers):
    module = cython_module("mandelbrot_cy")
    return module.mandelbrot_parallel(x_min, x_max, y_min, y_max, size, max_iter, workers)


@MANDELBROT.register(
    "cython-dynamic",
    "Cython prange, schedule='dynamic'",
    "cython",
    parallel=True,
    threaded=True,
    requires=_cython_parallel_reason,
)
def mandelbrot_cython_dynamic(x_min, x_max, y_min, y_max, size, max_iter, *, workers):
    module = cython_module("mandelbrot_cy")
    return module.mandelbrot_dynamic(x_min, x_max, y_min, y_max, size, max_iter, workers)


@MANDELBROT.register("processes", "Process pool, row blocks", "processes", parallel=True)
def mandelbrot_processes(x_min, x_max, y_min, y_max, size, max_iter, *, workers):
    inputs = (x_min, x_max, y_min, y_max, size, max_iter)
    tasks = [(inputs, rows) for rows in _row_blocks(size, workers)]
    return _assemble(size, pools.run_tasks(workers, rows_block, tasks))


@MANDELBROT.register(
    "engines",
    "ipyparallel engines, row blocks",
    "engines",
    parallel=True,
    requires=engines.unavailable_reason,
)
def mandelbrot_engines(x_min, x_max, y_min, y_max, size, max_iter, *, workers):
    inputs = (x_min, x_max, y_min, y_max, size, max_iter)
    tasks = [(inputs, rows) for rows in _row_blocks(size, workers)]
    return _assemble(size, engines.run_static(rows_block, tasks, workers))


@MANDELBROT.register(
    "engines-balanced",
    "ipyparallel load-balanced, interleaved rows",
    "engines",
    parallel=True,
    requires=engines.unavailable_reason,
)
def mandelbrot_engines_balanced(x_min, x_max, y_min, y_max, size, max_iter, *, workers):
    inputs = (x_min, x_max, y_min, y_max, size, max_iter)
    # Interleaved rows already even out the cost; two tasks per engine leave the scheduler
    # room to balance while paying its per-task round trip (a few ms on a busy controller)
    # half as often as four did (measured: 1.68x against 1.54x at 2 engines, 2 cores).
    tasks = [(inputs, rows) for rows in interleaved(size, 2 * workers)]
    return _assemble(size, engines.run_balanced(rows_block_compact, tasks, workers))


@MANDELBROT.register(
    "c", "Plain C (-O3, built for this CPU)", "c", requires=native.unavailable_reason
)
def mandelbrot_c(x_min, x_max, y_min, y_max, size, max_iter):
    args = (*(repr(float(v)) for v in (x_min, x_max, y_min, y_max)), size, max_iter)
    raw = native.run_program("mandelbrot", *args)
    return np.frombuffer(raw, dtype=np.int32).reshape(size, size).copy()

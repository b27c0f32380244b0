"""Plausible wrong answers to unit 05-numba, for the nbgrader round trip in test_course.py.

Each submission replaces solution cells (by nbgrader grade id) of the solution notebook and names
the autograded cells that must then score 0; every other autograded cell must keep full marks.
"""

import runpy as _runpy
from pathlib import Path as _Path

WRONG_SUBMISSIONS = [
    {
        "description": "never compiled: the Python loop kept, np.vectorize taken for a compiler",
        "replace": {
            # Right images, but nothing is compiled: far from the speed of C.
            "jit-solution": """
def mandelbrot_jit(x_min, x_max, y_min, y_max, size, max_iter):
    return mandelbrot_python(x_min, x_max, y_min, y_max, size, max_iter)
""",
            # Right counts in float64 and int32, but np.vectorize calls Python once per element.
            "ufunc-solution": """
escape_ufunc = np.vectorize(
    lambda c_re, c_im, max_iter: escape_python(float(c_re), float(c_im), int(max_iter)),
    otypes=[np.int32],
)


def mandelbrot_ufunc(x_min, x_max, y_min, y_max, size, max_iter):
    c_re = np.linspace(x_min, x_max, size, endpoint=False)
    c_im = np.linspace(y_min, y_max, size, endpoint=False)
    return escape_ufunc(c_re[np.newaxis, :], c_im[:, np.newaxis], max_iter)
""",
        },
        # Not compiled at all: the verdicts ask for Numba's own types, so the result cells fail too.
        "fails": ["jit-test", "jit-speed-test", "ufunc-test", "ufunc-speed-test"],
    },
    {
        "description": "grid spacing off by one; prange forgotten; a lazy ufunc returning int64",
        "replace": {
            # Compiled and fast, but (size - 1) steps put the last pixel on the window's edge.
            "jit-solution": """
@njit
def mandelbrot_jit(x_min, x_max, y_min, y_max, size, max_iter):
    dx = (x_max - x_min) / (size - 1)
    dy = (y_max - y_min) / (size - 1)
    image = np.empty((size, size), dtype=np.int32)
    for i in range(size):
        for j in range(size):
            c_re, c_im = x_min + j * dx, y_min + i * dy
            z_re = z_im = 0.0
            n = 0
            while n < max_iter and z_re * z_re + z_im * z_im <= 4.0:
                z_re, z_im = z_re * z_re - z_im * z_im + c_re, 2.0 * z_re * z_im + c_im
                n += 1
            image[i, j] = n
    return image
""",
            # Right fraction and compiled, but serial: no parallel=True, no prange.
            "inside-fraction-solution": """
@njit
def inside_fraction(x_min, x_max, y_min, y_max, size, max_iter):
    dx = (x_max - x_min) / size
    dy = (y_max - y_min) / size
    inside = 0
    for i in range(size):
        for j in range(size):
            c_re, c_im = x_min + j * dx, y_min + i * dy
            z_re = z_im = 0.0
            n = 0
            while n < max_iter and z_re * z_re + z_im * z_im <= 4.0:
                z_re, z_im = z_re * z_re - z_im * z_im + c_re, 2.0 * z_re * z_im + c_im
                n += 1
            if n == max_iter:
                inside += 1
    return inside / (size * size)
""",
            # Compiled and right, but without a signature the counts come back as int64.
            "ufunc-solution": """
@vectorize
def escape_ufunc(c_re, c_im, max_iter):
    z_re = z_im = 0.0
    n = 0
    while n < max_iter and z_re * z_re + z_im * z_im <= 4.0:
        z_re, z_im = z_re * z_re - z_im * z_im + c_re, 2.0 * z_re * z_im + c_im
        n += 1
    return n


def mandelbrot_ufunc(x_min, x_max, y_min, y_max, size, max_iter):
    j, i = np.arange(size), np.arange(size)
    c_re = x_min + j * ((x_max - x_min) / size)
    c_im = y_min + i * ((y_max - y_min) / size)
    return escape_ufunc(c_re[np.newaxis, :], c_im[:, np.newaxis], max_iter)
""",
        },
        # The speed cells check results first, so the wrong images fail them too.
        "fails": [
            "jit-test",
            "jit-speed-test",
            "inside-fraction-speed-test",
            "ufunc-test",
            "ufunc-speed-test",
        ],
    },
]

# Cheats: answers that used to score without solving (tests/cheats/, issue "tests a learner
# can't game"). Each must score 0 on the cells listed, graded for real in the same round trip.

_kinds = _runpy.run_path(str(_Path(__file__).resolve().parents[1] / "cheats" / "kinds.py"))

CHEATS = [
    _kinds["hooks"](
        "05-numba",
        keep=["ufunc-solution", "scaled-sum-solution"],
        fails=["jit-test", "jit-speed-test", "inside-fraction-test", "inside-fraction-speed-test"],
    ),
    {
        "description": "the course's own compiled kernels passed off as the learner's",
        "replace": {
            "jit-solution": """
from workshop.kernels.mandelbrot import mandelbrot_numba_kernel as mandelbrot_jit
""",
            "inside-fraction-solution": """
from workshop.kernels.mandelbrot import mandelbrot_numba_parallel_kernel


@njit(parallel=True)
def inside_fraction(x_min, x_max, y_min, y_max, size, max_iter):
    image = mandelbrot_numba_parallel_kernel(x_min, x_max, y_min, y_max, size, max_iter)
    inside = 0
    for i in prange(size):
        for j in range(size):
            if image[i, j] == max_iter:
                inside += 1
    return inside / (size * size)
""",
        },
        "fails": [
            "jit-test",
            "jit-speed-test",
            "inside-fraction-test",
            "inside-fraction-speed-test",
        ],
    },
    {
        "description": "the scaled sum right, but through a temporary array",
        "replace": {
            # Right values and returns out, but a * x + y builds two arrays of the input's size.
            "scaled-sum-solution": """
def scaled_sum(a, x, y, out):
    out[:] = a * x + y
    return out
""",
        },
        "fails": ["scaled-sum-test"],
    },
]

WRONG_SUBMISSIONS += _kinds["cheats"](CHEATS)

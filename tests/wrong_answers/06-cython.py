"""Plausible wrong answers to unit 06-cython, for the nbgrader round trip in test_course.py.

Each submission replaces solution cells (by nbgrader grade id) of the solution notebook and names
the autograded cells that must then score 0; every other autograded cell must keep full marks.
"""

import runpy as _runpy
from pathlib import Path as _Path

_ESCAPE = """
cdef inline int escape(double c_re, double c_im, int max_iter) noexcept nogil:
    cdef double z_re = 0.0, z_im = 0.0, re2, im2
    cdef int n = 0
    while n < max_iter:
        re2 = z_re * z_re
        im2 = z_im * z_im
        if re2 + im2 > 4.0:
            break
        z_im = 2.0 * z_re * z_im + c_im
        z_re = re2 - im2 + c_re
        n += 1
    return n
"""

WRONG_SUBMISSIONS = [
    {
        "description": "one argument left untyped: max_iter stays a Python int",
        "replace": {
            # Right and fast enough, but max_iter is converted to a C int again for every pixel.
            "typed-solution": """%%cython -a
cimport cython
import numpy as np
"""
            + _ESCAPE
            + """

@cython.boundscheck(False)
@cython.wraparound(False)
def mandelbrot_typed(double x_min, double x_max, double y_min, double y_max, int size,
                     max_iter):
    image = np.empty((size, size), dtype=np.int32)
    cdef int[:, ::1] out = image
    cdef double dx = (x_max - x_min) / size
    cdef double dy = (y_max - y_min) / size
    cdef double c_im
    cdef int i, j
    for i in range(size):
        c_im = y_min + i * dy
        for j in range(size):
            out[i, j] = escape(x_min + j * dx, c_im, max_iter)
    return image
""",
        },
        "fails": ["typed-annotation-test"],
    },
    {
        "description": "C float (single precision) for z; a serial loop where prange was asked",
        "replace": {
            # Fully typed and fast, but Cython's float is C's 32-bit float: counts drift. The
            # annotation and speed cells check results first, so they give nothing either.
            "typed-solution": """%%cython -a
cimport cython
import numpy as np


cdef inline int escape(float c_re, float c_im, int max_iter) noexcept nogil:
    cdef float z_re = 0.0, z_im = 0.0, re2, im2
    cdef int n = 0
    while n < max_iter:
        re2 = z_re * z_re
        im2 = z_im * z_im
        if re2 + im2 > 4.0:
            break
        z_im = 2.0 * z_re * z_im + c_im
        z_re = re2 - im2 + c_re
        n += 1
    return n


@cython.boundscheck(False)
@cython.wraparound(False)
def mandelbrot_typed(float x_min, float x_max, float y_min, float y_max, int size,
                     int max_iter):
    image = np.empty((size, size), dtype=np.int32)
    cdef int[:, ::1] out = image
    cdef float dx = (x_max - x_min) / size
    cdef float dy = (y_max - y_min) / size
    cdef float c_im
    cdef int i, j
    for i in range(size):
        c_im = y_min + i * dy
        for j in range(size):
            out[i, j] = escape(x_min + j * dx, c_im, max_iter)
    return image
""",
            # Right images without the GIL, but range runs every row on one thread.
            "prange-solution": """%%cython {OPENMP_ARGS}
cimport cython
import numpy as np
"""
            + _ESCAPE
            + """

@cython.boundscheck(False)
@cython.wraparound(False)
def mandelbrot_prange(double x_min, double x_max, double y_min, double y_max, int size,
                      int max_iter, int num_threads):
    image = np.empty((size, size), dtype=np.int32)
    cdef int[:, ::1] out = image
    cdef double dx = (x_max - x_min) / size
    cdef double dy = (y_max - y_min) / size
    cdef double c_im
    cdef int i, j
    with nogil:
        for i in range(size):
            c_im = y_min + i * dy
            for j in range(size):
                out[i, j] = escape(x_min + j * dx, c_im, max_iter)
    return image
""",
        },
        "fails": ["typed-test", "typed-annotation-test", "typed-speed-test", "prange-speed-test"],
    },
]

# Cheats: answers that used to score without solving (tests/cheats/, issue "tests a learner
# can't game"). Each must score 0 on the cells listed, graded for real in the same round trip.

_kinds = _runpy.run_path(str(_Path(__file__).resolve().parents[1] / "cheats" / "kinds.py"))

CHEATS = [
    {
        "description": "a fixed 48 x 48 image: no Python in loops, and fast (results unchecked)",
        "replace": {
            "typed-solution": """%%cython -a
import numpy as np

from workshop.kernels import mandelbrot

FIXED = mandelbrot.reference(*mandelbrot.make_input(48))


def mandelbrot_typed(double x_min, double x_max, double y_min, double y_max, int size,
                     int max_iter):
    return FIXED
""",
        },
        "fails": ["typed-test", "typed-annotation-test", "typed-speed-test"],
    },
]

WRONG_SUBMISSIONS += _kinds["cheats"](CHEATS)

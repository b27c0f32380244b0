# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernels for Mandelbrot escape counts (same loop as the C and Numba versions)."""

import numpy as np

from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t

cdef extern from *:
    """
    #ifdef _OPENMP
    #define WORKSHOP_HAVE_OPENMP 1
    #else
    #define WORKSHOP_HAVE_OPENMP 0
    #endif
    #ifndef WORKSHOP_CFLAGS
    #define WORKSHOP_CFLAGS "unknown"
    #endif
    """
    const int WORKSHOP_HAVE_OPENMP
    const char *CFLAGS_MACRO "WORKSHOP_CFLAGS"

#: True when this module was compiled with OpenMP, so ``prange`` really runs threads.
OPENMP = bool(WORKSHOP_HAVE_OPENMP)
#: The C compiler's flags this module was built with, e.g. ``"-O3 -march=native -fopenmp"``.
CFLAGS = (<bytes>CFLAGS_MACRO).decode()

__all__ = ["CFLAGS", "OPENMP", "mandelbrot", "mandelbrot_dynamic", "mandelbrot_parallel", "rows"]


cdef inline int32_t escape(double c_re, double c_im, int32_t max_iter) noexcept nogil:
    cdef double z_re = 0.0, z_im = 0.0, re2, im2
    cdef int32_t n = 0
    while n < max_iter:
        re2 = z_re * z_re
        im2 = z_im * z_im
        if re2 + im2 > 4.0:
            break
        z_im = 2.0 * z_re * z_im + c_im
        z_re = re2 - im2 + c_re
        n += 1
    return n


def mandelbrot(double x_min, double x_max, double y_min, double y_max, int64_t size,
               int32_t max_iter):
    """Escape counts on a ``size`` x ``size`` grid, row by row."""
    image = np.empty((size, size), dtype=np.int32)
    cdef int32_t[:, ::1] out = image
    cdef double dx = (x_max - x_min) / <double>size
    cdef double dy = (y_max - y_min) / <double>size
    cdef double c_im
    cdef int64_t i, j
    with nogil:
        for i in range(size):
            c_im = y_min + <double>i * dy
            for j in range(size):
                out[i, j] = escape(x_min + <double>j * dx, c_im, max_iter)
    return image


def rows(double x_min, double x_max, double y_min, double y_max, int64_t size,
         int32_t max_iter, const int64_t[::1] which):
    """Escape counts of the image's rows ``which`` (shape ``(len(which), size)``), computed
    without the GIL, so that Python threads calling it at once run on several cores."""
    image = np.empty((which.shape[0], size), dtype=np.int32)
    cdef int32_t[:, ::1] out = image
    cdef double dx = (x_max - x_min) / <double>size
    cdef double dy = (y_max - y_min) / <double>size
    cdef double c_im
    cdef Py_ssize_t r
    cdef int64_t j
    with nogil:
        for r in range(which.shape[0]):
            c_im = y_min + <double>which[r] * dy
            for j in range(size):
                out[r, j] = escape(x_min + <double>j * dx, c_im, max_iter)
    return image


def mandelbrot_parallel(double x_min, double x_max, double y_min, double y_max, int64_t size,
                        int32_t max_iter, int num_threads):
    """``mandelbrot`` with the rows shared among ``num_threads`` OpenMP threads (static blocks)."""
    image = np.empty((size, size), dtype=np.int32)
    cdef int32_t[:, ::1] out = image
    cdef double dx = (x_max - x_min) / <double>size
    cdef double dy = (y_max - y_min) / <double>size
    cdef double c_im
    cdef int64_t i, j
    for i in prange(size, nogil=True, num_threads=num_threads):
        c_im = y_min + <double>i * dy
        for j in range(size):
            out[i, j] = escape(x_min + <double>j * dx, c_im, max_iter)
    return image


def mandelbrot_dynamic(double x_min, double x_max, double y_min, double y_max, int64_t size,
                       int32_t max_iter, int num_threads):
    """``mandelbrot_parallel`` with a dynamic schedule: a thread that finishes its row takes the
    next one still waiting, so the costly rows no longer pile up on one thread."""
    image = np.empty((size, size), dtype=np.int32)
    cdef int32_t[:, ::1] out = image
    cdef double dx = (x_max - x_min) / <double>size
    cdef double dy = (y_max - y_min) / <double>size
    cdef double c_im
    cdef int64_t i, j
    for i in prange(size, nogil=True, num_threads=num_threads, schedule="dynamic"):
        c_im = y_min + <double>i * dy
        for j in range(size):
            out[i, j] = escape(x_min + <double>j * dx, c_im, max_iter)
    return image

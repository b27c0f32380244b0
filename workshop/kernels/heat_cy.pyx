# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernels for the 2-D heat equation (same stencil, same order as NumPy, Numba and C)."""

import numpy as np

from cython.parallel cimport prange
from libc.stdint cimport int64_t

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

__all__ = ["CFLAGS", "OPENMP", "heat", "heat_parallel"]


cdef inline void row(const double[:, ::1] u, double[:, ::1] new, int64_t i, int64_t n,
                     double alpha) noexcept nogil:
    cdef int64_t j
    cdef double c
    for j in range(1, n - 1):
        c = u[i, j]
        new[i, j] = c + alpha * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] - 4.0 * c)


def heat(const double[:, ::1] u0, int64_t steps, double alpha):
    """``steps`` explicit steps on a copy of ``u0``; returns the final grid."""
    cdef int64_t n = u0.shape[0], i, t
    a = np.array(u0, copy=True)
    b = np.array(u0, copy=True)
    cdef double[:, ::1] u = a
    cdef double[:, ::1] new = b
    cdef double[:, ::1] swap
    with nogil:
        for t in range(steps):
            for i in range(1, n - 1):
                row(u, new, i, n, alpha)
            swap = u
            u = new
            new = swap
    return b if steps % 2 else a


def heat_parallel(const double[:, ::1] u0, int64_t steps, double alpha, int num_threads):
    """``heat`` with each step's rows shared among ``num_threads`` OpenMP threads."""
    cdef int64_t n = u0.shape[0], i, t
    a = np.array(u0, copy=True)
    b = np.array(u0, copy=True)
    cdef double[:, ::1] u = a
    cdef double[:, ::1] new = b
    cdef double[:, ::1] swap
    for t in range(steps):
        for i in prange(1, n - 1, nogil=True, num_threads=num_threads, schedule="static"):
            row(u, new, i, n, alpha)
        swap = u
        u = new
        new = swap
    return b if steps % 2 else a

# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython kernels for the Monte Carlo estimate of pi (same loop as the C and Numba versions)."""

from cython.parallel cimport prange
from libc.stdint cimport int64_t, uint64_t

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
    #define WORKSHOP_GAMMA 0x9E3779B97F4A7C15ULL
    #define WORKSHOP_MIX1 0xBF58476D1CE4E5B9ULL
    #define WORKSHOP_MIX2 0x94D049BB133111EBULL
    """
    const int WORKSHOP_HAVE_OPENMP
    const char *CFLAGS_MACRO "WORKSHOP_CFLAGS"
    const uint64_t GAMMA "WORKSHOP_GAMMA"
    const uint64_t MIX1 "WORKSHOP_MIX1"
    const uint64_t MIX2 "WORKSHOP_MIX2"

#: True when this module was compiled with OpenMP, so ``prange`` really runs threads.
OPENMP = bool(WORKSHOP_HAVE_OPENMP)
#: The C compiler's flags this module was built with, e.g. ``"-O3 -march=native -fopenmp"``.
CFLAGS = (<bytes>CFLAGS_MACRO).decode()

__all__ = ["CFLAGS", "OPENMP", "hits", "hits_parallel"]


cdef inline double uniform(uint64_t seed, uint64_t k) noexcept nogil:
    """Draw ``k`` of the counter-based splitmix64 stream ``seed``, in [0, 1)."""
    cdef uint64_t z = seed + k * GAMMA
    z = (z ^ (z >> 30)) * MIX1
    z = (z ^ (z >> 27)) * MIX2
    z = z ^ (z >> 31)
    return <double>(z >> 11) * (1.0 / 9007199254740992.0)


def hits(uint64_t seed, int64_t start, int64_t stop):
    """How many of the points ``start .. stop - 1`` fall inside the unit circle."""
    cdef int64_t i, count = 0
    cdef double x, y
    with nogil:
        for i in range(start, stop):
            x = uniform(seed, <uint64_t>(2 * i + 1))
            y = uniform(seed, <uint64_t>(2 * i + 2))
            if x * x + y * y < 1.0:
                count += 1
    return count


def hits_parallel(uint64_t seed, int64_t start, int64_t stop, int num_threads):
    """``hits`` with the points shared among ``num_threads`` OpenMP threads."""
    cdef int64_t i, count = 0
    cdef double x, y
    for i in prange(start, stop, nogil=True, num_threads=num_threads):
        x = uniform(seed, <uint64_t>(2 * i + 1))
        y = uniform(seed, <uint64_t>(2 * i + 2))
        if x * x + y * y < 1.0:
            count += 1
    return count

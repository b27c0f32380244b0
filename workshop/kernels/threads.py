"""Control of Numba's in-process thread pool for the ``numba-parallel`` implementations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["numba_threads"]


@contextmanager
def numba_threads(workers: int) -> Iterator[None]:
    """Run the body with ``workers`` Numba threads, then restore the previous number.

    Numba starts ``NUMBA_NUM_THREADS`` threads once per process and can use fewer, never more.
    """
    import numba

    limit = numba.config.NUMBA_NUM_THREADS
    if not 1 <= workers <= limit:
        raise ValueError(
            f"workers must be in [1, {limit}] for Numba: this process started Numba with "
            f"NUMBA_NUM_THREADS={limit} threads; set the NUMBA_NUM_THREADS environment variable "
            "before Python starts to allow more"
        )
    previous = numba.get_num_threads()
    numba.set_num_threads(workers)
    try:
        yield
    finally:
        numba.set_num_threads(previous)

"""Worker functions for unit 02 (multiprocessing): small, pure Python, and importable.

A process pool sends a function to its workers by name (module and qualified name), and each
worker imports it. With the ``spawn`` and ``forkserver`` start methods (the defaults on macOS
and Windows, and on Linux from Python 3.14) a worker starts from a fresh interpreter, so a
function defined in a notebook, which lives in the notebook's ``__main__``, cannot be found
there. The functions here can: they live in a module every worker can import. They use only the
standard library, so a worker starts quickly.
"""

from __future__ import annotations

import math
import time

__all__ = ["busy", "hits", "lyapunov", "noop", "power", "square", "wait"]

# splitmix64, as in workshop.kernels.pi: draw k of a stream is mix(seed + k * GAMMA), so any
# block of draws can be computed without the ones before it.
_GAMMA = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_MASK = 2**64 - 1
_INV_2_53 = 1.0 / 9007199254740992.0


def noop(x: object = None) -> object:
    """Return ``x``: a task that does nothing, to measure what sending a task costs."""
    return x


def square(x: float) -> float:
    """``x * x``: a task far too small to be worth sending to another process."""
    return x * x


def power(x: float, exponent: float = 2) -> float:
    """``x ** exponent``: a two-argument function for ``starmap`` and ``functools.partial``."""
    return x**exponent


def wait(seconds: float) -> float:
    """Sleep ``seconds`` and return them: a stand-in for waiting on a disk, a network or a device.

    A sleeping thread releases the GIL, as a thread blocked in a read does.
    """
    time.sleep(seconds)
    return seconds


def busy(n: int) -> int:
    """Pure-Python arithmetic in a loop (CPU-bound; it holds the GIL the whole time)."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def _uniform(seed: int, k: int) -> float:
    z = (seed + k * _GAMMA) & _MASK
    z = ((z ^ (z >> 30)) * _MIX1) & _MASK
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK
    z = z ^ (z >> 31)
    return (z >> 11) * _INV_2_53


def hits(seed: int, start: int, stop: int) -> int:
    """How many of the random points ``start .. stop - 1`` fall inside the unit circle.

    Point ``i`` is ``(x, y)`` = draws ``2i + 1`` and ``2i + 2`` of the stream ``seed`` (the same
    points as ``workshop.kernels.pi``), so blocks can be counted in any order, by any worker, and
    their counts add up to the count of the whole range.
    """
    if start < 0 or stop < start:
        raise ValueError(f"need 0 <= start <= stop, got start={start!r}, stop={stop!r}")
    count = 0
    for i in range(start, stop):
        x = _uniform(seed, 2 * i + 1)
        y = _uniform(seed, 2 * i + 2)
        if x * x + y * y < 1.0:
            count += 1
    return count


def lyapunov(r: float, steps: int = 2_000, transient: int = 200) -> float:
    """Lyapunov exponent of the logistic map ``x -> r x (1 - x)`` from ``x = 0.3``.

    Negative: the orbit settles on a fixed point or cycle; positive: chaos. The first
    ``transient`` iterations are skipped, the next ``steps`` averaged. One call is one point of
    a parameter sweep over ``r`` (0 < r <= 4).
    """
    r = float(r)  # a NumPy scalar would make every step several times slower
    if not 0.0 < r <= 4.0:
        raise ValueError(f"r must be in (0, 4], got {r!r}")
    if steps < 1 or transient < 0:
        raise ValueError(f"need steps >= 1 and transient >= 0, got {steps!r}, {transient!r}")
    x = 0.3
    for _ in range(transient):
        x = r * x * (1.0 - x)
    total = 0.0
    for _ in range(steps):
        x = r * x * (1.0 - x)
        total += math.log(max(abs(r * (1.0 - 2.0 * x)), 1e-300))
    return total / steps

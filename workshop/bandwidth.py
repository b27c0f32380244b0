"""This machine's memory bandwidth, measured once, and how close a memory-bound kernel gets to it.

A STREAM-like triad (``a[i] = b[i] + s * c[i]`` on arrays far larger than the caches) in plain C
measures what one core can stream from memory. The result is cached per machine beside the
compiled C programs, since it does not change between runs; ``refresh=True`` measures again.
Comparing a kernel's achieved bandwidth with it is the memory side of the **roofline** model:
a kernel of low arithmetic intensity (flops per byte) can run no faster than memory delivers.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass

from workshop.kernels import native

__all__ = ["Roofline", "roofline", "stream_bandwidth"]

ELEMENTS = 1 << 24  # three arrays of 128 MiB: far beyond any last-level cache
SMALL_ELEMENTS = 1 << 22  # three arrays of 32 MiB, for Binder's memory
REPEATS = 10


def _cache_file(elements: int) -> os.PathLike:
    program = native.compile_program("stream")
    key = f"{platform.node()}-{program.stem}-{elements}"
    return native.cache_dir() / f"stream-{key}.json"


def stream_bandwidth(*, refresh: bool = False) -> float:
    """Triad bandwidth of one core in bytes per second (measured once per machine, then cached).

    Raises MissingCapability (with how to install one) where there is no C compiler.
    """
    from workshop.hardware import small_mode

    elements = SMALL_ELEMENTS if small_mode() else ELEMENTS
    cache = _cache_file(elements)
    if not refresh:
        try:
            return float(json.loads(open(cache).read())["bytes_per_second"])
        except (OSError, ValueError, KeyError):
            pass
    measured = float(native.run_program("stream", elements, REPEATS, timeout=300).decode())
    tmp = f"{cache}.{os.getpid()}.tmp"
    with open(tmp, "w") as out:
        json.dump({"bytes_per_second": measured, "elements": elements}, out)
    os.replace(tmp, cache)  # readers see the old file or the whole new one
    return measured


@dataclass(frozen=True)
class Roofline:
    """Where a run sits against the memory limit."""

    bytes_per_second: float  # achieved, by the kernel's least traffic
    stream_bytes_per_second: float  # the triad's, one core
    flops_per_byte: float  # arithmetic intensity of the kernel

    @property
    def fraction_of_stream(self) -> float:
        return self.bytes_per_second / self.stream_bytes_per_second

    @property
    def bound_flops(self) -> float:
        """Flops per second the memory allows at this intensity (the roofline's sloped part)."""
        return self.flops_per_byte * self.stream_bytes_per_second

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "fraction_of_stream": self.fraction_of_stream}


def roofline(bytes_moved: float, flops: float, seconds: float) -> Roofline:
    """A run that moved ``bytes_moved`` bytes and did ``flops`` flops in ``seconds``."""
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, not {seconds!r}")
    return Roofline(bytes_moved / seconds, stream_bandwidth(), flops / bytes_moved)

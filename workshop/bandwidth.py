"""This machine's memory bandwidth, measured once, and how close a memory-bound kernel gets to it.

A STREAM-like triad (``a[i] = b[i] + s * c[i]`` on arrays far larger than the caches) in plain C
measures what one core, or several together (OpenMP threads), can stream from memory: a parallel
run's roof is the bandwidth of as many cores as it uses. Each result is cached per machine and
core count beside the compiled C programs, since it does not change between runs; ``refresh=True`` measures again.
Comparing a kernel's achieved bandwidth with it is the memory side of the **roofline** model:
a kernel of low arithmetic intensity (flops per byte) can run no faster than memory delivers.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from workshop.errors import MissingCapability
from workshop.kernels import native

__all__ = [
    "Roofline",
    "bandwidth_markdown",
    "heat_bandwidths",
    "roofline",
    "stream_bandwidth",
]

ELEMENTS = 1 << 24  # three arrays of 128 MiB: far beyond any last-level cache
SMALL_ELEMENTS = 1 << 22  # three arrays of 32 MiB, for Binder's memory
REPEATS = 10


def _cache_file(elements: int, threads: int) -> os.PathLike:
    program = native.compile_program("stream")
    key = f"{platform.node()}-{program.stem}-{elements}-{threads}"
    return native.cache_dir() / f"stream-{key}.json"


def stream_bandwidth(*, threads: int = 1, refresh: bool = False) -> float:
    """Triad bandwidth in bytes per second of ``threads`` cores streaming together (OpenMP),
    measured once per machine and thread count, then cached.

    The roofline of a run on k workers is the bandwidth of k cores: one core alone often cannot
    keep enough memory requests in flight to reach what the memory delivers to several.
    Raises ValueError for ``threads < 1``, and MissingCapability where there is no C compiler
    or, for ``threads > 1``, where the compiler could not build the program with OpenMP.
    """
    from workshop.hardware import small_mode

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a whole number >= 1, not {threads!r}")
    elements = SMALL_ELEMENTS if small_mode() else ELEMENTS
    cache = _cache_file(elements, threads)
    if not refresh:
        try:
            return float(json.loads(open(cache).read())["bytes_per_second"])
        except (OSError, ValueError, KeyError):
            pass
    printed = native.run_program(
        "stream", elements, REPEATS, timeout=300, env={"OMP_NUM_THREADS": str(threads)}
    ).split()
    measured, ran = float(printed[0]), int(printed[1])
    if ran != threads:
        raise MissingCapability(
            f"the STREAM triad ran on {ran} thread(s), not {threads}: it was built without "
            f"OpenMP (flags: {native.flags('stream')}); a compiler with OpenMP (gcc, or clang "
            "with libomp) measures the bandwidth of several cores"
        )
    tmp = f"{cache}.{os.getpid()}.tmp"
    with open(tmp, "w") as out:
        json.dump({"bytes_per_second": measured, "elements": elements, "threads": threads}, out)
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


def heat_bandwidths(rows: list[Any], sweeps: list[Any], streams: Mapping[int, float]) -> list[dict]:
    """For each measured heat row of ``workshop bench``: its time, the bandwidth it reached by
    the stencil's least traffic, and that bandwidth over STREAM's on one core; for each heat
    sweep (threads, MPI ranks), the same at its most workers, over STREAM's on as many cores,
    with its speed-up over one worker. ``streams``: STREAM's bytes per second by core count.
    Rows are ``bench.ImplementationRow``s, sweeps ``scaling.ScalingResult``s."""
    from workshop.kernels.stencil import STEPS, bytes_moved

    found = []
    for row in rows:
        if row.problem != "heat" or row.measurement is None:
            continue
        seconds = row.measurement.median
        rate = bytes_moved(row.size, STEPS) / seconds
        found.append(_entry(row.implementation, row.size, 1, seconds, rate, streams.get(1), None))
    for sweep in sweeps:
        points = sweep.ok_points if sweep.problem == "heat" else []
        if not points or max(point.workers for point in points) < 2:
            continue
        point = max(points, key=lambda p: p.workers)
        rate = bytes_moved(point.size, STEPS) / point.time
        speedup = float(sweep.speedup[list(sweep.workers).index(point.workers)])
        found.append(
            _entry(
                sweep.implementation,
                point.size,
                point.workers,
                point.time,
                rate,
                streams.get(point.workers),
                speedup,
            )
        )
    return found


def _entry(
    name: str,
    size: int,
    workers: int,
    seconds: float,
    rate: float,
    stream: float | None,
    speedup: float | None,
) -> dict:
    return {
        "implementation": name,
        "size": size,
        "workers": workers,
        "seconds": seconds,
        "bytes_per_second": rate,
        "fraction_of_stream": None if not stream else rate / stream,
        "speedup": speedup,
    }


def bandwidth_markdown(entries: list[dict], streams: Mapping[int, float]) -> list[str]:
    """Lines of the bench's "Memory bandwidth" section (the heat equation's roofline);
    ``streams``: STREAM's bytes per second by core count."""
    if not entries:
        return []
    limit = (
        ", ".join(
            f"{rate / 1e9:.2f} GB/s on {cores} core{'s' if cores > 1 else ''}"
            for cores, rate in sorted(streams.items())
        )
        or "not measured (no C compiler)"
    )
    lines = [
        "",
        "## Memory bandwidth (heat equation)",
        "",
        f"STREAM-like triad: {limit}. The stencil moves at least 16 bytes per point and step for "
        "7 flops (0.44 flop/byte), so the roofline puts it on the memory side: it can run no "
        "faster than memory delivers. ÷ STREAM compares a row with the triad on as many cores "
        "as it had workers. Where more workers move more bytes per second than one (the "
        "speed-up column), one core's loop had not reached the memory's limit.",
        "",
        "| implementation | size | workers | time | bandwidth | ÷ STREAM, same cores | speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        share = "–" if e["fraction_of_stream"] is None else f"{e['fraction_of_stream']:.2f}"
        speedup = "–" if e["speedup"] is None else f"{e['speedup']:.2f}×"
        lines.append(
            f"| {e['implementation']} | {e['size']} | {e['workers']} | {e['seconds']:.3g} s | "
            f"{e['bytes_per_second'] / 1e9:.2f} GB/s | {share} | {speedup} |"
        )
    return lines

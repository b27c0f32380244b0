"""CPU time used by other programs: is the machine quiet enough for its timings to be trusted?

A speed-up measured while another program keeps a core busy is wrong in a way that no statistic
of our own samples can reveal: every sample is slow alike. So the lab and ``workshop bench`` ask,
before and during a sweep, how much CPU time the CPUs this process may use spent busy, and how
much of it was ours (this process, its threads and its child processes: pool workers, engines).
The rest was used by other programs. The counters are psutil's (``/proc/stat`` on Linux).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["BUSY_CORES", "LoadMonitor", "LoadReading", "measure_load", "start_monitor"]

#: Other programs using at least this many cores' worth of CPU time (beyond the CPUs we may use
#: anyway) make timings slower and noisier: the workers wait for a core.
BUSY_CORES = 0.25
#: Readings over a shorter interval than this say too little to report.
MIN_INTERVAL = 0.05


@dataclass(frozen=True)
class LoadReading:
    """CPU time over one interval, in cores' worth (CPU seconds per wall-clock second)."""

    seconds: float  # wall-clock length of the interval
    busy_cores: float  # how busy the CPUs this process may run on were, in all
    own_cores: float  # of which this process and its children
    cpus: int  # the CPUs this process may run on (its affinity mask)
    usable_cores: int  # of which it may really use (a cgroup quota can allow fewer)

    @property
    def other_cores(self) -> float:
        """Cores' worth of CPU time used by other programs (never below zero)."""
        return max(0.0, self.busy_cores - self.own_cores)

    @property
    def busy(self) -> bool:
        """True when other programs left fewer idle cores than this process may use."""
        spare = max(0, self.cpus - self.usable_cores)
        return self.other_cores >= spare + BUSY_CORES

    def note(self) -> str | None:
        """A sentence for the status line when the machine was busy, else None."""
        if not self.busy:
            return None
        return (
            f"Other programs used {self.other_cores:.1f} of the {self.usable_cores} usable "
            f"core{'s' if self.usable_cores != 1 else ''} over the last "
            f"{self.seconds:.1f} s, so these timings are slower and noisier than on a quiet "
            "machine; close them (or wait) and measure again before trusting a speed-up."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "busy_cores": self.busy_cores,
            "own_cores": self.own_cores,
            "other_cores": self.other_cores,
            "cpus": self.cpus,
            "usable_cores": self.usable_cores,
            "busy": self.busy,
        }


def _cpu_indices(process: Any) -> list[int] | None:
    try:
        return sorted(process.cpu_affinity())
    except (AttributeError, OSError, NotImplementedError):  # macOS has no affinity
        return None


def _busy_seconds(cpus: list[int] | None) -> float:
    """CPU seconds spent busy (not idle, not waiting for I/O) since boot on ``cpus``."""
    import psutil

    per_cpu = psutil.cpu_times(percpu=True)
    chosen = per_cpu if cpus is None else [per_cpu[i] for i in cpus if i < len(per_cpu)]
    total = 0.0
    for times in chosen:
        fields = times._asdict()
        idle = sum(fields.get(name, 0.0) for name in ("idle", "iowait"))
        guest = sum(fields.get(name, 0.0) for name in ("guest", "guest_nice"))  # inside user
        total += sum(fields.values()) - idle - guest
    return total


def _own_seconds(process: Any) -> float:
    """CPU seconds used by ``process``, its threads and its children, living or reaped."""
    import psutil

    times = process.cpu_times()
    total = times.user + times.system
    total += getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0)
    for child in process.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += child_times.user + child_times.system
    return total


class LoadMonitor:
    """Counts busy and own CPU time from its start, or from its last reading.

    Reading it costs a few milliseconds and never blocks, so the lab can keep one from one
    measurement to the next: the reading at the start of a sweep covers the idle time before it,
    and a reading after each point covers that point.
    """

    def __init__(
        self,
        *,
        busy_seconds: Callable[[], float] | None = None,
        own_seconds: Callable[[], float] | None = None,
        cpus: int | None = None,
        usable_cores: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """The keyword arguments replace the machine's counters (for tests)."""
        from workshop.hardware import usable_cores as detect_usable

        if busy_seconds is None or own_seconds is None or cpus is None:
            import psutil

            process = psutil.Process()
            indices = _cpu_indices(process)
            cpus = cpus or (len(indices) if indices else psutil.cpu_count() or 1)
            busy_seconds = busy_seconds or (lambda: _busy_seconds(indices))
            own_seconds = own_seconds or (lambda: _own_seconds(process))
        self._busy, self._own, self._clock = busy_seconds, own_seconds, clock
        self._cpus = int(cpus)
        self._usable = int(usable_cores or detect_usable())
        self._start = self._snapshot()

    def _snapshot(self) -> tuple[float, float, float]:
        return self._clock(), self._busy(), self._own()

    def reading(self, *, reset: bool = True) -> LoadReading | None:
        """CPU use since the start (or the last reading); None when under ``MIN_INTERVAL``."""
        now = self._snapshot()
        (t0, busy0, own0), (t1, busy1, own1) = self._start, now
        seconds = t1 - t0
        if seconds < MIN_INTERVAL:
            return None
        if reset:
            self._start = now
        return LoadReading(
            seconds=seconds,
            busy_cores=max(0.0, busy1 - busy0) / seconds,
            own_cores=max(0.0, own1 - own0) / seconds,
            cpus=self._cpus,
            usable_cores=self._usable,
        )


def measure_load(interval: float = 0.25) -> LoadReading | None:
    """Watch the CPUs for ``interval`` seconds (blocking) and say how busy other programs kept
    them; None where the counters cannot be read (then nothing is known, not "quiet")."""
    if not interval >= MIN_INTERVAL:
        raise ValueError(f"interval must be at least {MIN_INTERVAL} s, got {interval!r}")
    monitor = start_monitor()
    if monitor is None:
        return None
    time.sleep(interval)
    return monitor.reading()


def start_monitor() -> LoadMonitor | None:
    """A monitor of this machine's CPUs, or None where psutil cannot read their counters."""
    try:
        return LoadMonitor()
    except Exception:  # psutil.Error, OSError, ImportError: the counters are unreadable here
        return None

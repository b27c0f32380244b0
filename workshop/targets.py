"""The workshop's performance targets, checked against what one ``workshop bench`` run measured.

Each target is a ratio from the same run (never an absolute time): a kernel's time over the C
reference's at the same size, or a parallel implementation's speed-up from one to two workers
within one sweep. A target the run could not measure says why in words (a quick run's small
sizes, too few cores, an implementation that cannot run here), and counts as neither met nor
missed. ``workshop bench --check`` fails when any target is missed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from workshop.scaling import ScalingResult

__all__ = [
    "BALANCED_MANDELBROT",
    "BALANCED_SPEEDUP",
    "C_RATIO",
    "LAB_LATENCY",
    "PI_PARALLEL",
    "PI_SPEEDUP",
    "Target",
    "check_targets",
]

C_RATIO = 1.1  # a Numba or Cython kernel at most this many times the C reference's time
BALANCED_SPEEDUP = 1.8  # a load-balanced Mandelbrot from 1 to 2 workers
PI_SPEEDUP = 1.9  # the embarrassingly parallel pi from 1 to 2 workers
LAB_LATENCY = 0.1  # seconds from a workers-slider move to the lab measuring
BALANCED_MANDELBROT = ("numba-dynamic", "cython-dynamic", "engines-balanced")
PI_PARALLEL = ("numba-parallel", "processes", "engines")
COMPILED_BACKENDS = ("numba", "cython")


@dataclass
class Target:
    """A performance target of the workshop, checked against this run's measurements.

    ``met`` is None when the run did not measure it; ``note`` then says why, in words.
    """

    name: str
    goal: str
    value: float | None
    met: bool | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "goal": self.goal,
            "value": self.value,
            "met": self.met,
            "note": self.note,
        }

    def verdict(self) -> str:
        """``"yes"``, ``"NO"`` (``"NO: <why>"`` where the run can tell) or
        ``"not measured: <why>"``."""
        if self.met is None:
            return f"not measured: {self.note}" if self.note else "not measured"
        if self.met:
            return "yes"
        return f"NO: {self.note}" if self.note else "NO"


class Measured(Protocol):
    """What the targets read from a bench run (``workshop.bench.BenchReport``)."""

    quick: bool
    machine: dict[str, Any]
    lab_latency: float | None
    load: Any  # a workshop.load.LoadReading, or None
    engine_round_trips: dict[int, float] | None  # seconds of an empty task per engine, by count

    def row(self, problem: str, implementation: str) -> Any: ...

    def sweep(self, problem: str, implementation: str) -> ScalingResult | None: ...


def _c_ratio_targets(run: Measured, rows: Iterable[Any]) -> list[Target]:
    targets = []
    for row in rows:
        if row.backend not in COMPILED_BACKENDS:
            continue
        name = f"{row.problem} {row.implementation} ÷ C, same size, 1 worker"
        goal = f"≤ {C_RATIO:g}"
        ratio = row.ratio_to_reference
        if ratio is None:
            why = row.error or "the C reference was not measured (no C compiler?)"
            targets.append(Target(name, goal, None, None, why))
        elif run.quick:
            targets.append(Target(name, goal, ratio, None, "a quick run's sizes are too small"))
        else:
            met = ratio <= C_RATIO
            targets.append(Target(name, goal, ratio, met, "" if met else _why_slower(run, row)))
    return targets


def _why_slower(run: Measured, row: Any) -> str:
    """A sentence on why a compiled kernel missed the C target, where this run can tell."""
    load = getattr(run, "load", None)
    runs = (getattr(row, "measurement", None), getattr(row, "reference", None))
    measured = [m for m in runs if m is not None]
    if any(not m.stable for m in measured) or (load is not None and load.busy):
        return (
            "noisy: unstable samples or other programs busy during the run; measure again on "
            "a quiet machine"
        )
    serial = run.row(row.problem, row.backend)
    ratio = None if serial is None or serial is row else serial.ratio_to_reference
    if ratio is not None and ratio <= C_RATIO:
        return (
            f"the serial {row.backend} kernel is within {C_RATIO:g}× ({ratio:.2f}); the gap is "
            "the parallel machinery (a thread team, its scheduling) paid even at one worker"
        )
    return ""


def _two_worker_speedup(result: ScalingResult | None) -> float | None:
    if result is None:
        return None
    workers = list(result.workers)
    if 1 not in workers or 2 not in workers:
        return None
    return float(result.speedup[workers.index(2)])


def _benched(run: Measured, problem: str) -> bool:
    """Whether this run measured anything of ``problem`` (``--problem`` may leave it out)."""
    rows = getattr(run, "rows", [])
    sweeps = getattr(run, "sweeps", [])
    sweeps = sweeps.values() if isinstance(sweeps, dict) else sweeps
    return any(r.problem == problem for r in rows) or any(s.problem == problem for s in sweeps)


def _speedup_target(run: Measured, problem: str, name: str, goal: float) -> Target:
    title = f"{problem} {name}: 2 workers ÷ 1 worker"
    wanted = f"≥ {goal:g} (full size, 2 cores)"
    value = _two_worker_speedup(run.sweep(problem, name))
    row = run.row(problem, name)
    if value is None:
        if int(run.machine.get("usable_cores", 1)) < 2:
            why = "needs 2 usable cores"
        elif row is not None and row.error:
            why = f"{name} cannot run here: {row.error}"
        elif not _benched(run, problem):
            why = f"{problem} was not benched in this run (workshop bench --problem)"
        else:
            why = "the sweep has no result at 1 and 2 workers"
        return Target(title, wanted, None, None, why)
    if run.quick:
        return Target(title, wanted, value, None, "a quick run's sizes are too small")
    met = value >= goal
    why = (
        ""
        if met or row is None or row.backend != "engines"
        else _engine_messaging(run, problem, name)
    )
    return Target(title, wanted, value, met, why)


def _engine_messaging(run: Measured, problem: str, name: str) -> str:
    """A sentence on what the engines' messaging cost a missed speed-up, from this run's empty
    round trips (``engines.round_trip``): the speed-up with that cost taken off both times."""
    trips = getattr(run, "engine_round_trips", None) or {}
    result = run.sweep(problem, name)
    times = {point.workers: point.time for point in result.ok_points} if result else {}
    if not all(k in trips and k in times for k in (1, 2)):
        return ""
    one, two = times[1] - trips[1], times[2] - trips[2]
    if one <= 0 or two <= 0:
        return ""
    return (
        f"the engines' messaging: an empty task on each engine took {trips[2] * 1e3:.1f} ms at "
        f"2 workers ({trips[1] * 1e3:.1f} ms at 1) in this run, {trips[2] / times[2]:.0%} of "
        f"the 2-worker time; without it the speed-up would be {one / two:.2f}×. Each engine "
        "needs more work per message (a larger size) to hide it"
    )


def check_targets(run: Measured, rows: Iterable[Any]) -> list[Target]:
    """Every target, checked against ``run`` (``rows``: its implementation rows, each with
    ``problem``, ``implementation``, ``backend``, ``ratio_to_reference`` and ``error``)."""
    targets = _c_ratio_targets(run, rows)
    targets += [
        _speedup_target(run, "mandelbrot", n, BALANCED_SPEEDUP) for n in BALANCED_MANDELBROT
    ]
    targets += [_speedup_target(run, "pi", n, PI_SPEEDUP) for n in PI_PARALLEL]
    latency = run.lab_latency
    targets.append(
        Target(
            "lab: slider 2→1 to measuring (s)",
            f"≤ {LAB_LATENCY:g}",
            latency,
            None if latency is None else latency <= LAB_LATENCY,
            "" if latency is not None else "the lab was not run (--no-lab, or one usable core)",
        )
    )
    return targets

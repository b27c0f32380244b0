"""Sweeps over worker counts: strong and weak scaling, speed-up, efficiency, Amdahl and Gustafson fits.

Strong scaling keeps the problem size fixed while workers grow; weak scaling grows the size with
the workers (``Problem.weak_size``). Each point is one ``timing.measure`` of a registered kernel
implementation. A point that fails (an exception, a dead engine, a wrong answer) is recorded with
its message and the sweep goes on.
"""

from __future__ import annotations

import functools
import json
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from workshop.errors import MissingCapability, WrongResult, describe
from workshop.hardware import small_mode, usable_cores
from workshop.kernels.registry import check_worker_count
from workshop.timing import Measurement, measure

__all__ = [
    "OVERSUBSCRIBE_FACTOR",
    "ScalingPoint",
    "ScalingResult",
    "amdahl_speedup",
    "check_workers",
    "fit_amdahl",
    "fit_gustafson",
    "gustafson_speedup",
    "strong_scaling",
    "sweep",
    "weak_scaling",
]

Mode = Literal["strong", "weak"]
MODES: tuple[Mode, ...] = ("strong", "weak")
OVERSUBSCRIBE_FACTOR = 4  # with oversubscription allowed, up to this many workers per usable core


def _check_fraction(serial_fraction: float) -> None:
    if not 0.0 <= serial_fraction <= 1.0:
        raise ValueError(f"serial_fraction must be between 0 and 1, got {serial_fraction!r}")


def amdahl_speedup(workers: Any, serial_fraction: float) -> Any:
    """Amdahl's law: speed-up of a fixed problem on ``workers`` when a fraction stays serial."""
    _check_fraction(serial_fraction)
    p = np.asarray(workers, dtype=float)
    result = 1.0 / (serial_fraction + (1.0 - serial_fraction) / p)
    return float(result) if result.ndim == 0 else result


def gustafson_speedup(workers: Any, serial_fraction: float) -> Any:
    """Gustafson's law: scaled speed-up when the problem grows with the workers."""
    _check_fraction(serial_fraction)
    p = np.asarray(workers, dtype=float)
    result = p - serial_fraction * (p - 1.0)
    return float(result) if result.ndim == 0 else result


def _paired(workers: Iterable[float], speedups: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(list(workers), dtype=float)
    s = np.asarray(list(speedups), dtype=float)
    if p.shape != s.shape:
        raise ValueError(f"workers and speed-ups differ in length ({p.size} vs {s.size})")
    if np.any(p < 1) or np.any(s <= 0):
        raise ValueError("workers must be >= 1 and speed-ups > 0")
    if np.unique(p).size < 2:
        raise ValueError("a fit needs measurements at two or more different worker counts")
    return p, s


def fit_amdahl(workers: Iterable[float], speedups: Iterable[float]) -> float:
    """Least-squares serial fraction of Amdahl's law, from strong-scaling points.

    Amdahl's law is linear in the serial fraction s once inverted:
    ``1/S - 1/p = s (1 - 1/p)``, so the fit has a closed form; the result is clipped to [0, 1].
    """
    p, s = _paired(workers, speedups)
    a = 1.0 - 1.0 / p
    b = 1.0 / s - 1.0 / p
    return float(np.clip(np.dot(a, b) / np.dot(a, a), 0.0, 1.0))


def fit_gustafson(workers: Iterable[float], scaled_speedups: Iterable[float]) -> float:
    """Least-squares serial fraction of Gustafson's law (``p - S = s (p - 1)``), clipped to [0, 1]."""
    p, s = _paired(workers, scaled_speedups)
    a = p - 1.0
    return float(np.clip(np.dot(a, p - s) / np.dot(a, a), 0.0, 1.0))


@dataclass
class ScalingPoint:
    """One worker count of a sweep: its measurement, or the error that stopped it."""

    workers: int
    size: int
    measurement: Measurement | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.measurement is not None and self.error is None

    @property
    def time(self) -> float:
        """Median seconds per run, or NaN when the point failed."""
        return self.measurement.median if self.ok else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "size": self.size,
            "measurement": self.measurement.to_dict() if self.measurement else None,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScalingPoint:
        m = data.get("measurement")
        return cls(
            workers=int(data["workers"]),
            size=int(data["size"]),
            measurement=Measurement.from_dict(m) if m else None,
            error=data.get("error"),
        )


@dataclass
class ScalingResult:
    """The points of one sweep, with speed-up, efficiency and the fitted serial fraction."""

    problem: str
    implementation: str
    mode: Mode
    points: list[ScalingPoint] = field(default_factory=list)
    usable_cores: int = 1

    @property
    def ok_points(self) -> list[ScalingPoint]:
        return [point for point in self.points if point.ok]

    @property
    def errors(self) -> list[str]:
        return [f"{p.workers} workers: {p.error}" for p in self.points if p.error]

    @property
    def workers(self) -> np.ndarray:
        return np.array([p.workers for p in self.ok_points], dtype=int)

    @property
    def sizes(self) -> np.ndarray:
        return np.array([p.size for p in self.ok_points], dtype=int)

    @property
    def times(self) -> np.ndarray:
        return np.array([p.time for p in self.ok_points], dtype=float)

    @property
    def ideal(self) -> np.ndarray:
        return self.workers.astype(float)

    @property
    def speedup(self) -> np.ndarray:
        """Strong: ``p0 T(p0) / T(p)``; weak (scaled): ``p T(p0) / T(p)``; p0 = fewest workers."""
        points = self.ok_points
        if not points:
            return np.array([], dtype=float)
        base = min(points, key=lambda point: point.workers)
        times = self.times
        if self.mode == "strong":
            return base.workers * base.time / times
        return self.workers * base.time / times

    @property
    def efficiency(self) -> np.ndarray:
        return self.speedup / self.workers if self.ok_points else np.array([], dtype=float)

    @property
    def serial_fraction(self) -> float | None:
        """Amdahl's (strong) or Gustafson's (weak) serial fraction; None below two worker counts."""
        if np.unique(self.workers).size < 2:
            return None
        fit = fit_amdahl if self.mode == "strong" else fit_gustafson
        return fit(self.workers, self.speedup)

    def model(self, workers: Any) -> Any:
        """The fitted law evaluated at ``workers`` (for the curve drawn through the points)."""
        fraction = self.serial_fraction
        if fraction is None:
            raise ValueError("no fit yet: measure at two or more different worker counts")
        law = amdahl_speedup if self.mode == "strong" else gustafson_speedup
        return law(workers, fraction)

    def to_dict(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "implementation": self.implementation,
            "mode": self.mode,
            "usable_cores": self.usable_cores,
            "points": [point.to_dict() for point in self.points],
            "serial_fraction": self.serial_fraction,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScalingResult:
        return cls(
            problem=str(data["problem"]),
            implementation=str(data["implementation"]),
            mode=data["mode"],
            points=[ScalingPoint.from_dict(p) for p in data["points"]],
            usable_cores=int(data.get("usable_cores", 1)),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> ScalingResult:
        return cls.from_dict(json.loads(text))


def check_workers(
    workers: Iterable[int], *, parallel: bool = True, oversubscribe: bool = False
) -> list[int]:
    """Validate worker counts against the usable cores; ``ValueError`` names the valid range.

    Each count is a whole number >= 1 (``registry.check_worker_count``) and at most the usable
    cores, or ``OVERSUBSCRIBE_FACTOR`` times them with ``oversubscribe``.
    """
    counts = list(workers)
    if not counts:
        raise ValueError("workers is empty: give one or more worker counts, e.g. [1, 2]")
    cores = usable_cores()
    highest = cores * OVERSUBSCRIBE_FACTOR if oversubscribe else cores
    checked = []
    for count in counts:
        whole = isinstance(count, int | np.integer) and not isinstance(count, bool)
        if whole and not parallel and count != 1:
            raise ValueError(
                f"this implementation is serial: it runs with workers=1 only, got {count}"
            )
        if whole and not 1 <= count <= highest:
            hint = (
                ""
                if oversubscribe
                else f"; pass oversubscribe=True to allow up to {cores * OVERSUBSCRIBE_FACTOR}"
            )
            raise ValueError(
                f"workers={count} is out of range: valid is 1 to {highest} on this machine "
                f"({cores} usable cores){hint}"
            )
        checked.append(check_worker_count(count))  # refuses what is not a whole number
    return checked


def _single_threaded_pools(threaded: bool):
    """Limit BLAS/OpenMP pools to one thread unless the implementation brings its own threads."""
    if threaded:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def sweep(
    problem: str,
    implementation: str,
    workers: Sequence[int],
    size: int | None = None,
    *,
    mode: Mode = "strong",
    repeat: int = 3,
    min_time: float = 0.05,
    oversubscribe: bool = False,
    on_point: Callable[[ScalingPoint], None] | None = None,
    cancel: threading.Event | None = None,
) -> ScalingResult:
    """Measure ``implementation`` of ``problem`` at each worker count, strong or weak scaling.

    ``size`` defaults to the problem's default size (its small size in small mode). Each point's
    first result is validated against the problem's reference before its time is kept.
    """
    from workshop.kernels import get_problem

    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    spec = get_problem(problem)
    impl = spec.implementation(implementation)
    reason = impl.unavailable_reason()
    if reason:
        raise MissingCapability(f"{spec.name}/{impl.name} cannot run here: {reason}")
    counts = check_workers(workers, parallel=impl.parallel, oversubscribe=oversubscribe)
    if size is None:
        size = spec.small_size if small_mode() else spec.default_size
    size = spec.check_size(size)

    result = ScalingResult(spec.name, impl.name, mode, usable_cores=usable_cores())
    with _single_threaded_pools(impl.threaded):
        for count in counts:
            if cancel is not None and cancel.is_set():
                break
            point = _measure_point(spec, impl, count, size, mode, repeat, min_time)
            result.points.append(point)
            if on_point is not None:
                on_point(point)
    return result


def _measure_point(spec, impl, workers: int, size: int, mode: Mode, repeat: int, min_time: float):
    point_size = size if mode == "strong" else spec.check_size(spec.weak_size(size, workers))
    inputs = spec.make_input(point_size)
    try:
        measurement = measure(
            functools.partial(impl, workers=workers),
            *inputs,
            repeat=repeat,
            min_time=min_time,
            label=f"{spec.name}/{impl.name} ×{workers}",
            check=lambda result: spec.validate(result, inputs),
        )
    except WrongResult as exc:
        return ScalingPoint(workers, point_size, error=str(exc))
    except Exception as exc:  # a failing point is reported, and the sweep goes on
        return ScalingPoint(workers, point_size, error=describe(exc))
    measurement.metadata.update(problem=spec.name, implementation=impl.name, workers=workers)
    return ScalingPoint(workers, point_size, measurement)


def strong_scaling(
    problem: str,
    implementation: str,
    workers: Sequence[int],
    size: int | None = None,
    **options: Any,
) -> ScalingResult:
    """Fixed problem size, growing workers (Amdahl's view)."""
    return sweep(problem, implementation, workers, size, mode="strong", **options)


def weak_scaling(
    problem: str,
    implementation: str,
    workers: Sequence[int],
    size: int | None = None,
    **options: Any,
) -> ScalingResult:
    """Problem size grows with the workers from ``size`` at one worker (Gustafson's view)."""
    return sweep(problem, implementation, workers, size, mode="weak", **options)

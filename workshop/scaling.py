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
from workshop.load import LoadMonitor, start_monitor
from workshop.timing import Measurement, measure

__all__ = [
    "COVERAGE",
    "FIT_MIN_COUNTS",
    "KARP_FLATT_NOTE",
    "OVERSUBSCRIBE_FACTOR",
    "LawFit",
    "PointNote",
    "ScalingPoint",
    "ScalingResult",
    "amdahl_speedup",
    "check_workers",
    "fit_amdahl",
    "fit_gustafson",
    "fit_law",
    "gustafson_speedup",
    "karp_flatt",
    "strong_scaling",
    "sweep",
    "weak_scaling",
]

Mode = Literal["strong", "weak"]
MODES: tuple[Mode, ...] = ("strong", "weak")
OVERSUBSCRIBE_FACTOR = 4  # with oversubscription allowed, up to this many workers per usable core
#: A law is fitted only through this many different worker counts or more: through two, the
#: fit has no degree of freedom left (it passes exactly through them) and says nothing new.
FIT_MIN_COUNTS = 3
#: How many standard errors a fit's interval or a point's "beyond the noise" test spans (~95 %).
COVERAGE = 2.0
KARP_FLATT_NOTE = (
    "The Karp-Flatt metric e = (1/S - 1/p) / (1 - 1/p) is the serial fraction that would explain "
    "the speed-up S at p workers by itself; it lumps together the truly serial work, the "
    "overhead of starting and feeding the workers, and load imbalance (workers waiting for the "
    "slowest). If e grows with p, overhead or imbalance dominates, not serial code."
)
_LAW_NAMES = {"strong": "Amdahl", "weak": "Gustafson"}


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


@dataclass(frozen=True)
class LawFit:
    """A serial fraction fitted to measured speed-ups, with its uncertainty.

    ``stderr`` combines the scatter of the points about the law (least-squares residuals) with the
    spread of the measurements themselves; ``low`` .. ``high`` spans ``COVERAGE`` standard errors
    either side, clipped to [0, 1] (roughly a 95 % interval).
    """

    law: str  # "Amdahl" (strong scaling) or "Gustafson" (weak scaling)
    serial_fraction: float
    stderr: float
    low: float
    high: float
    counts: int  # different worker counts the fit went through

    def text(self) -> str:
        """E.g. ``"Amdahl fit: serial fraction 0.052 ± 0.013 (3 worker counts)"``."""
        return (
            f"{self.law} fit: serial fraction {self.serial_fraction:.3f} ± "
            f"{COVERAGE * self.stderr:.3f} ({self.counts} worker counts)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "law": self.law,
            "serial_fraction": self.serial_fraction,
            "stderr": self.stderr,
            "low": self.low,
            "high": self.high,
            "counts": self.counts,
        }


def _law_terms(mode: Mode, p: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` with ``b = fraction * a`` under the law (Amdahl inverted, or Gustafson)."""
    if mode == "strong":
        return 1.0 - 1.0 / p, 1.0 / s - 1.0 / p
    return p - 1.0, p - s


def fit_law(
    mode: Mode,
    workers: Iterable[float],
    speedups: Iterable[float],
    errors: Iterable[float] | None = None,
) -> LawFit:
    """Amdahl's (strong) or Gustafson's (weak) serial fraction with its standard error.

    Needs ``FIT_MIN_COUNTS`` different worker counts, else ValueError. ``errors`` are the
    speed-ups' standard deviations (zeros when not given).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    p, s = _paired(workers, speedups)
    counts = int(np.unique(p).size)
    if counts < FIT_MIN_COUNTS:
        raise ValueError(
            f"a fit with an uncertainty needs {FIT_MIN_COUNTS} or more different worker counts, "
            f"got {counts}; through fewer it passes exactly through the points"
        )
    sigma = np.zeros_like(s) if errors is None else np.asarray(list(errors), dtype=float)
    if sigma.shape != s.shape or np.any(~np.isfinite(sigma)) or np.any(sigma < 0):
        raise ValueError("errors must be one finite standard deviation >= 0 per speed-up")
    a, b = _law_terms(mode, p, s)
    norm = float(np.dot(a, a))
    raw = float(np.dot(a, b) / norm)
    informative = int(np.count_nonzero(a > 0))  # p = 1 says nothing about the fraction
    residual = b - raw * a
    resid_var = float(np.dot(residual, residual)) / max(1, informative - 1) / norm
    db = sigma / s**2 if mode == "strong" else sigma  # how b moves with the speed-up
    meas_var = float(np.dot(a**2, db**2)) / norm**2
    stderr = math.sqrt(resid_var + meas_var)
    fraction = float(np.clip(raw, 0.0, 1.0))
    return LawFit(
        law=_LAW_NAMES[mode],
        serial_fraction=fraction,
        stderr=stderr,
        low=float(np.clip(raw - COVERAGE * stderr, 0.0, 1.0)),
        high=float(np.clip(raw + COVERAGE * stderr, 0.0, 1.0)),
        counts=counts,
    )


def karp_flatt(workers: Any, speedups: Any, mode: Mode = "strong") -> np.ndarray:
    """The experimentally determined serial fraction at each worker count (NaN at one worker).

    Strong scaling: Karp-Flatt, ``(1/S - 1/p) / (1 - 1/p)``; weak scaling: Gustafson's law
    solved at each point, ``(p - S) / (p - 1)``. Unlike a fit, it needs a single point beside
    the one-worker time, so it says something from two worker counts already.
    """
    p = np.asarray(workers, dtype=float)
    s = np.asarray(speedups, dtype=float)
    a, b = _law_terms(mode, p, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, b / np.where(a > 0, a, 1.0), np.nan)


@dataclass(frozen=True)
class PointNote:
    """Why a measured point should not be read at face value, in words for the learner."""

    workers: int
    kind: str  # "failed", "unstable", "busy", "above-ideal" (noise) or "superlinear" (real)
    text: str


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
    def time_error(self) -> np.ndarray:
        """Standard deviation of each point's samples, in seconds (the time's error bar)."""
        return np.array([p.measurement.stdev for p in self.ok_points], dtype=float)

    def _base_index(self) -> int:
        return int(np.argmin(self.workers))

    @property
    def speedup_error(self) -> np.ndarray:
        """Standard deviation of each speed-up, from the relative spreads of its two times.

        The point with the fewest workers is the reference itself (its speed-up is exact).
        """
        points = self.ok_points
        if not points:
            return np.array([], dtype=float)
        spread = np.array([p.measurement.spread for p in points], dtype=float)
        base = self._base_index()
        error = self.speedup * np.sqrt(spread**2 + spread[base] ** 2)
        error[base] = 0.0
        return error

    @property
    def efficiency_error(self) -> np.ndarray:
        return self.speedup_error / self.workers if self.ok_points else np.array([], dtype=float)

    @property
    def karp_flatt(self) -> np.ndarray:
        """The serial fraction that explains each point on its own (NaN at one worker)."""
        return karp_flatt(self.workers, self.speedup, self.mode)

    @property
    def karp_flatt_error(self) -> np.ndarray:
        """Standard deviation of ``karp_flatt``, carried over from the speed-up's."""
        p = self.workers.astype(float)
        s, ds = self.speedup, self.speedup_error
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = s**2 * (1.0 - 1.0 / p) if self.mode == "strong" else p - 1.0
            error = ds / slope
        return np.where(p > 1, error, np.nan)

    @property
    def fit(self) -> LawFit | None:
        """Amdahl's (strong) or Gustafson's (weak) law fitted with its uncertainty, or None
        below ``FIT_MIN_COUNTS`` different worker counts."""
        if np.unique(self.workers).size < FIT_MIN_COUNTS:
            return None
        return fit_law(self.mode, self.workers, self.speedup, self.speedup_error)

    @property
    def serial_fraction(self) -> float | None:
        """The fitted serial fraction (see ``fit``); None below ``FIT_MIN_COUNTS`` counts."""
        fitted = self.fit
        return None if fitted is None else fitted.serial_fraction

    def model(self, workers: Any) -> Any:
        """The fitted law evaluated at ``workers`` (for the curve drawn through the points)."""
        fraction = self.serial_fraction
        if fraction is None:
            raise ValueError(
                f"no fit yet: measure at {FIT_MIN_COUNTS} or more different worker counts"
            )
        law = amdahl_speedup if self.mode == "strong" else gustafson_speedup
        return law(workers, fraction)

    @property
    def notes(self) -> list[PointNote]:
        """Every point that should not be read at face value, and why, in worker order."""
        notes = [PointNote(p.workers, "failed", p.error) for p in self.points if p.error]
        points = self.ok_points
        if not points:
            return notes
        speedup, error, base = self.speedup, self.speedup_error, self._base_index()
        shaky = [_busy(p) or not p.measurement.stable for p in points]
        for i, point in enumerate(points):
            notes += _point_notes(point, speedup[i], error[i], i != base, shaky[i] or shaky[base])
        return sorted(notes, key=lambda note: note.workers)

    @property
    def flagged(self) -> np.ndarray:
        """One bool per measured point: True where a note says not to read it at face value."""
        noted = {note.workers for note in self.notes}
        return np.array([p.workers in noted for p in self.ok_points], dtype=bool)

    def to_dict(self) -> dict[str, Any]:
        """Points plus derived figures (the derived ones are ignored when read back)."""
        fitted = self.fit
        return {
            "problem": self.problem,
            "implementation": self.implementation,
            "mode": self.mode,
            "usable_cores": self.usable_cores,
            "points": [point.to_dict() for point in self.points],
            "serial_fraction": self.serial_fraction,
            "fit": None if fitted is None else fitted.to_dict(),
            "karp_flatt": [None if math.isnan(v) else float(v) for v in self.karp_flatt],
            "notes": [note.__dict__ for note in self.notes],
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


def _busy(point: ScalingPoint) -> bool:
    """True when the load monitor saw other programs busy while ``point`` was measured."""
    load = point.measurement.metadata.get("load") if point.measurement else None
    return bool(load and load.get("busy"))


def _workers_text(count: int) -> str:
    return f"{count} worker" if count == 1 else f"{count} workers"


def _point_notes(
    point: ScalingPoint, speedup: float, error: float, compared: bool, shaky: bool
) -> list[PointNote]:
    """Notes on one measured point: unstable, measured under load, or above the ideal line."""
    m, who = point.measurement, _workers_text(point.workers)
    notes = []
    if _busy(point):
        other = m.metadata["load"].get("other_cores", 0.0)
        notes.append(
            PointNote(
                point.workers,
                "busy",
                f"{who}: other programs used {other:.1f} cores while it was measured",
            )
        )
    if not m.stable:
        notes.append(
            PointNote(
                point.workers, "unstable", f"{who}: unstable, its samples vary by {m.spread:.0%}"
            )
        )
    ideal = float(point.workers)
    if not compared or speedup <= ideal * (1.0 + 1e-9):
        return notes
    above = f"{who}: speed-up {speedup:.2f}× is above the ideal {ideal:.0f}× (efficiency {speedup / ideal:.0%})"
    if error > 0 and speedup - ideal > COVERAGE * error and not shaky:
        text = (
            f"{above} by more than the noise, on a quiet machine: a real superlinear effect, "
            "usually because each worker's share of the data now fits in a faster cache"
        )
        return [*notes, PointNote(point.workers, "superlinear", text)]
    why = "within the noise" if error > 0 and not shaky else "while the timings were noisy"
    text = f"{above}, {why}: read it as noise (about ideal), not as a real gain"
    return [*notes, PointNote(point.workers, "above-ideal", text)]


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
    warn: bool = True,
) -> ScalingResult:
    """Measure ``implementation`` of ``problem`` at each worker count, strong or weak scaling.

    ``size`` defaults to the problem's default size (its small size in small mode). Each point's
    first result is validated against the problem's reference before its time is kept, and the
    CPU time other programs used while it was measured is kept in its metadata (``"load"``, see
    ``workshop.load``). ``warn=False`` leaves unstable points to the caller (the lab names them
    in its status line) instead of an ``UnstableMeasurementWarning`` for each.
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
    monitor = start_monitor()
    with _single_threaded_pools(impl.threaded):
        for count in counts:
            if cancel is not None and cancel.is_set():
                break
            point = _measure_point(spec, impl, count, size, mode, repeat, min_time, warn)
            _record_load(point, monitor)
            result.points.append(point)
            if on_point is not None:
                on_point(point)
    return result


def _record_load(point: ScalingPoint, monitor: LoadMonitor | None) -> None:
    """Keep what other programs used while ``point`` was measured in its metadata."""
    reading = monitor.reading() if monitor is not None else None
    if reading is not None and point.measurement is not None:
        point.measurement.metadata["load"] = reading.to_dict()


def _measure_point(
    spec, impl, workers: int, size: int, mode: Mode, repeat: int, min_time: float, warn: bool
):
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
            warn=warn,
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

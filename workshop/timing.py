"""One measurement done properly: warm-up apart, loops calibrated, repeated, median and spread.

Imitates pyperf and ``timeit.Timer.autorange``: the first call is timed on its own (it includes any
JIT compile), loops are calibrated until one sample takes at least ``min_time``, and the median of
the samples is reported with its spread. A spread above 10 % (stdev/mean, as pyperf warns) raises
an ``UnstableMeasurementWarning``. ``compare`` interleaves implementations so drift cancels.
"""

from __future__ import annotations

import gc
import json
import math
import statistics
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workshop.errors import UnstableMeasurementWarning, WrongResult, describe

__all__ = ["UNSTABLE_SPREAD", "Check", "Measurement", "compare", "format_seconds", "measure"]

UNSTABLE_SPREAD = 0.10
_MAX_LOOPS = 1_000_000

#: Called with a measured callable's first return value; raises AssertionError when it is wrong.
Check = Callable[[Any], None]


def format_seconds(seconds: float) -> str:
    """Human-readable duration: ``"12.3 ms"``, ``"450 ns"``, ``"1.20 s"``."""
    if not math.isfinite(seconds):
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


@dataclass
class Measurement:
    """Timings of one callable: seconds per call for each sample, plus the first (warm-up) call."""

    label: str
    times: list[float]
    loops: int
    first_call: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.times:
            raise ValueError("a Measurement needs at least one sample time")

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times)

    @property
    def stdev(self) -> float:
        return statistics.stdev(self.times) if len(self.times) > 1 else 0.0

    @property
    def min(self) -> float:
        return min(self.times)

    @property
    def spread(self) -> float:
        """Relative spread, stdev / mean (pyperf's stability criterion)."""
        return self.stdev / self.mean if self.mean > 0 else 0.0

    @property
    def stable(self) -> bool:
        return self.spread <= UNSTABLE_SPREAD

    @property
    def compile_time(self) -> float:
        """Extra time of the first call over a warm one: JIT compilation, caches, imports."""
        return max(0.0, self.first_call - self.median)

    def __str__(self) -> str:
        text = (
            f"{self.label}: {format_seconds(self.median)} ± {format_seconds(self.stdev)} "
            f"(median of {len(self.times)} samples × {self.loops} loops; "
            f"first call {format_seconds(self.first_call)})"
        )
        if not self.stable:
            text += f" — unstable, spread {self.spread:.0%}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Samples plus derived statistics (the statistics are ignored when read back)."""
        return {
            "label": self.label,
            "times": list(self.times),
            "loops": self.loops,
            "first_call": self.first_call,
            "metadata": dict(self.metadata),
            "median": self.median,
            "stdev": self.stdev,
            "spread": self.spread,
            "compile_time": self.compile_time,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurement:
        return cls(
            label=str(data["label"]),
            times=[float(t) for t in data["times"]],
            loops=int(data["loops"]),
            first_call=float(data["first_call"]),
            metadata=dict(data.get("metadata", {})),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Measurement:
        return cls.from_dict(json.loads(text))


def _check_options(repeat: int, min_time: float) -> None:
    if not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be a whole number >= 1, got {repeat!r}")
    if not (isinstance(min_time, int | float) and min_time >= 0):
        raise ValueError(f"min_time must be a number of seconds >= 0, got {min_time!r}")


def _time_calls(func: Callable[..., Any], args: tuple, loops: int) -> float:
    """Seconds per call over ``loops`` back-to-back calls, with the garbage collector paused."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(loops):
            func(*args)
        elapsed = time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    return elapsed / loops


def _first_call(func: Callable[..., Any], args: tuple, check: Check | None) -> float:
    """Seconds of the first call, timed on its own; its result must pass ``check``.

    This is the workshop's one "validate the first result, then time" rule: a wrong answer
    raises ``WrongResult`` before any sample is taken, so no wrong code is ever timed.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        value = func(*args)
        elapsed = time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    if check is not None:
        try:
            check(value)
        except AssertionError as exc:
            raise WrongResult(f"wrong result: {exc}") from exc
    return elapsed


def _warm_up_and_calibrate(
    func: Callable[..., Any], args: tuple, min_time: float, check: Check | None = None
) -> tuple[float, int]:
    """Time the first call on its own, then pick loops so one sample lasts at least ``min_time``."""
    first_call = _first_call(func, args, check)
    per_call = _time_calls(func, args, 1)  # second call: warm, used to calibrate
    loops = 1
    while per_call * loops < min_time and loops < _MAX_LOOPS:
        # Grow like timeit's autorange (1, 2, 5, 10, ...) but jump straight near the target.
        wanted = min_time / max(per_call, 1e-9)
        loops = min(_MAX_LOOPS, max(loops * 2, math.ceil(wanted)))
        per_call = _time_calls(func, args, loops)
    return first_call, loops


def _warn_if_unstable(measurement: Measurement) -> None:
    if not measurement.stable:
        warnings.warn(
            f"{measurement.label}: the samples vary by {measurement.spread:.0%} (stdev/mean), more "
            f"than {UNSTABLE_SPREAD:.0%}; the machine is busy or the work is too short. Close other "
            "programs, raise repeat or min_time, and measure again before trusting the median.",
            UnstableMeasurementWarning,
            stacklevel=3,
        )


def measure(
    func: Callable[..., Any],
    *args: Any,
    repeat: int = 5,
    min_time: float = 0.05,
    label: str | None = None,
    warn: bool = True,
    check: Check | None = None,
) -> Measurement:
    """Measure ``func(*args)``: a warm-up call, calibrated loops, ``repeat`` samples.

    ``check``, when given, is called with the first call's result and raises AssertionError
    when it is wrong; ``measure`` then raises ``WrongResult`` ("wrong result: ...") untimed.
    """
    _check_options(repeat, min_time)
    first_call, loops = _warm_up_and_calibrate(func, args, min_time, check)
    times = [_time_calls(func, args, loops) for _ in range(repeat)]
    result = Measurement(label or getattr(func, "__name__", "function"), times, loops, first_call)
    if warn:
        _warn_if_unstable(result)
    return result


def _calibrate_all(
    funcs: Mapping[str, Callable[..., Any]],
    args: tuple,
    min_time: float,
    check: Check | None,
    failed: dict[str, str] | None,
) -> dict[str, tuple[float, int]]:
    """First call, check and loops of each callable; a failure goes to ``failed`` if given."""
    calibration = {}
    for name, func in funcs.items():
        try:
            calibration[name] = _warm_up_and_calibrate(func, args, min_time, check)
        except WrongResult as exc:
            if failed is None:
                raise
            failed[name] = str(exc)
        except Exception as exc:
            if failed is None:
                raise
            failed[name] = f"it raised {describe(exc)}"
    return calibration


def compare(
    funcs: Mapping[str, Callable[..., Any]],
    *args: Any,
    repeat: int = 5,
    min_time: float = 0.05,
    warn: bool = True,
    check: Check | None = None,
    failed: dict[str, str] | None = None,
) -> dict[str, Measurement]:
    """Measure several callables on the same arguments, interleaved (A B, B A, A B, ...).

    Alternating the order each round cancels slow drift of the machine (thermal throttling,
    another program starting) that would otherwise favour whichever ran first. ``check`` is
    applied to each one's first result as in ``measure``. With a ``failed`` dict, a callable
    that raises or gives a wrong first result is left out and its reason recorded there
    (``"it raised ValueError: ..."``, ``"wrong result: ..."``); without one, the error propagates.
    """
    if not funcs:
        raise ValueError("compare needs at least one callable, as a mapping of label -> callable")
    _check_options(repeat, min_time)
    calibration = _calibrate_all(funcs, args, min_time, check, failed)
    names = list(calibration)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(repeat):
        order = names if round_number % 2 == 0 else names[::-1]
        for name in order:
            samples[name].append(_time_calls(funcs[name], args, calibration[name][1]))
    results = {
        name: Measurement(name, samples[name], calibration[name][1], calibration[name][0])
        for name in names
    }
    if warn:
        for measurement in results.values():
            _warn_if_unstable(measurement)
    return results

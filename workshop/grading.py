"""Helpers for nbgrader test cells: correctness checks and a noise-tolerant speed-up check.

Every failure is an ``AssertionError`` whose message says what was checked, what was measured and
what was expected, so the learner (and nbgrader's feedback) can act on it. ``assert_faster``
times through ``workshop.timing.compare`` (interleaved, so drift cancels), measures a second time
before failing, scales its bar to the cores this machine really has, and keeps to a time budget.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from workshop.hardware import cores_reason, usable_cores
from workshop.timing import Measurement, compare, format_seconds

__all__ = [
    "SpeedCheck",
    "assert_faster",
    "check_close",
    "check_equal",
    "check_numba_parallel",
    "check_raises",
    "check_type",
    "parallel_capacity",
]

_MIN_REPEAT = 3  # fewer samples than this make a median meaningless
# Set to "1" in the kernels that nbgrader grades (workshop.autograde.GradingExecute): speed is
# judged outside them (workshop.verdict), so their own speed cells time nothing.
JUDGED_VARIABLE = "WORKSHOP_SPEED_JUDGED"
_BUSY_CAPACITY = 1.3  # reference threads below this speed-up: no core is really free


def _describe(value: Any, limit: int = 120) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_type(value: Any, expected: type | tuple[type, ...], name: str = "value") -> None:
    """Fail unless ``isinstance(value, expected)``, naming the type that was expected and found."""
    if not isinstance(value, expected):
        kinds = expected if isinstance(expected, tuple) else (expected,)
        wanted = " or ".join(kind.__name__ for kind in kinds)
        raise AssertionError(
            f"{name} should be of type {wanted}, but it is of type {type(value).__name__}: "
            f"{_describe(value)}"
        )


def _as_array(value: Any, name: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists and the like
        raise AssertionError(f"{name} could not be read as numbers: {error}") from None
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)
    ):
        raise AssertionError(
            f"{name} should be a number or an array of numbers, but it is "
            f"{type(value).__name__}: {_describe(value)}"
        )
    return array


def check_close(
    actual: Any,
    expected: Any,
    name: str = "result",
    *,
    rtol: float = 1e-7,
    atol: float = 0.0,
) -> None:
    """Fail unless ``actual`` matches ``expected`` within ``rtol``/``atol`` (scalars or arrays).

    Shapes must agree exactly (no broadcasting); NaN matches NaN and infinities match when equal.
    The message gives the worst element, its error and how many elements are off.
    """
    if rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be >= 0, got rtol={rtol!r}, atol={atol!r}")
    got = _as_array(actual, name)
    want = np.asarray(expected)
    if got.shape != want.shape:
        raise AssertionError(
            f"{name} should have shape {want.shape}, but it has shape {got.shape}"
            + (f": {_describe(actual)}" if got.size <= 10 else "")
        )
    close = np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    if bool(np.all(close)):
        return
    tolerance = f"rtol={rtol:g}" + (f", atol={atol:g}" if atol else "")
    if got.ndim == 0:
        raise AssertionError(
            f"{name} should be {want.item()!r} (within {tolerance}), but it is {got.item()!r}"
        )
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(got.astype(float) - want.astype(float))
    error = np.where(close, 0.0, np.nan_to_num(error, nan=np.inf))
    worst = np.unravel_index(int(np.argmax(error)), error.shape)
    index = worst if len(worst) > 1 else worst[0]
    raise AssertionError(
        f"{name}: {int(np.count_nonzero(~close))} of {close.size} elements differ from the "
        f"expected values (within {tolerance}); the worst is at index {index}: expected "
        f"{want[worst].item()!r}, got {got[worst].item()!r}"
    )


def check_equal(actual: Any, expected: Any, name: str = "result") -> None:
    """Fail unless ``actual == expected``; arrays compare element-wise, mappings key by key."""
    if isinstance(actual, np.ndarray) or isinstance(expected, np.ndarray):
        got, want = np.asarray(actual), np.asarray(expected)
        if got.shape != want.shape:
            raise AssertionError(
                f"{name} should have shape {want.shape}, but it has shape {got.shape}"
            )
        if not np.array_equal(got, want):
            wrong = np.argwhere(got != want)
            first = tuple(int(i) for i in wrong[0]) if len(wrong) else ()
            raise AssertionError(
                f"{name}: {len(wrong)} of {got.size} elements differ; the first is at index "
                f"{first}: expected {want[first].item()!r}, got {got[first].item()!r}"
            )
        return
    if isinstance(expected, dict) and isinstance(actual, dict):
        missing = [key for key in expected if key not in actual]
        extra = [key for key in actual if key not in expected]
        wrong = [key for key in expected if key in actual and actual[key] != expected[key]]
        if missing or extra or wrong:
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if extra:
                parts.append(f"unexpected keys {extra}")
            for key in wrong[:3]:
                parts.append(
                    f"[{key!r}] should be {_describe(expected[key])}, got {_describe(actual[key])}"
                )
            if len(wrong) > 3:
                parts.append(f"and {len(wrong) - 3} more wrong values")
            raise AssertionError(f"{name}: " + "; ".join(parts))
        return
    if actual != expected:
        raise AssertionError(
            f"{name} should be {_describe(expected)}, but it is {_describe(actual)}"
        )


def check_raises(
    expected: type[BaseException] | tuple[type[BaseException], ...],
    func: Callable[..., Any],
    *args: Any,
    name: str | None = None,
    **kwargs: Any,
) -> None:
    """Fail unless ``func(*args, **kwargs)`` raises ``expected`` (or a subclass of it)."""
    kinds = expected if isinstance(expected, tuple) else (expected,)
    wanted = " or ".join(kind.__name__ for kind in kinds)
    if name is None:
        shown = [_describe(arg, 40) for arg in args]
        shown += [f"{key}={_describe(value, 40)}" for key, value in kwargs.items()]
        name = f"{getattr(func, '__name__', 'the function')}({', '.join(shown)})"
    try:
        value = func(*args, **kwargs)
    except kinds:
        return
    except Exception as error:
        raise AssertionError(
            f"{name} should raise {wanted}, but it raised {type(error).__name__}: {error}"
        ) from error
    raise AssertionError(f"{name} should raise {wanted}, but it returned {_describe(value)}")


def check_numba_parallel(func: Callable[..., Any], *args: Any, name: str | None = None) -> int:
    """Fail unless ``func`` is a Numba function compiled with ``parallel=True`` in which Numba
    parallelised at least one ``prange`` loop of the learner's; return how many it did.

    A structural check, so a serial answer fails it whatever the machine's load or cores (a speed
    check alone cannot tell serial code from parallel code on busy cores). ``func`` is compiled
    afresh, without cache (a cached compilation keeps no diagnostics), for the types of ``args``
    or, without ``args``, for the signatures it has been called with.
    """
    from numba import njit
    from numba.core.dispatcher import Dispatcher

    name = name or getattr(func, "__name__", "the function")
    if not isinstance(func, Dispatcher):
        raise AssertionError(
            f"{name} is not compiled by Numba: add @njit(parallel=True) and use prange"
        )
    if not func.targetoptions.get("parallel"):
        raise AssertionError(
            f"{name} is not compiled with parallel=True: add @njit(parallel=True) and use prange"
        )
    if args:
        from numba import typeof

        signatures = [tuple(typeof(arg) for arg in args)]
    else:
        signatures = list(func.signatures)
    if not signatures:
        raise ValueError(f"{name} has not been compiled yet: call it once or pass its arguments")
    options = {key: value for key, value in func.targetoptions.items() if key != "nopython"}
    fresh = njit(locals=dict(func.locals), **options)(func.py_func)
    loops = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no transformation for parallel execution" and the like
        for signature in signatures:
            fresh.compile(signature)
    for signature in fresh.signatures:
        diagnostics = (fresh.overloads[signature].metadata or {}).get("parfor_diagnostics")
        parfors = diagnostics.get_parfors() if diagnostics is not None else []
        user = [
            parfor
            for parfor in parfors
            if any(isinstance(p, tuple) and p[:2] == ("prange", "user") for p in parfor.patterns)
        ]
        loops = max(loops, len(user))
    if loops == 0:
        raise AssertionError(
            f"{name} is compiled with parallel=True, but Numba parallelised no prange loop in it: "
            "write the loop whose iterations are independent as `for i in prange(...)`"
        )
    return loops


@dataclass(frozen=True)
class SpeedCheck:
    """What ``assert_faster`` measured and the bar it applied (returned when the check passes)."""

    fast: Measurement | None  # None in a grading kernel, where nothing is timed ("judged")
    slow: Measurement | None
    speedup: float
    required: float
    # "speedup": fast must be >= required times faster; "overhead": see max_overhead;
    # "judged": not timed here, because the grader times the two outside this kernel
    mode: str
    cores: int  # usable cores
    capacity: float | None  # speed-up of reference threads just before measuring (parallel only)
    attempts: int
    message: str

    @property
    def passed(self) -> bool:
        return self.margin >= 1

    @property
    def margin(self) -> float:
        """How far past the bar (>= 1 passes): speed-up over the required one, or in overhead
        mode the allowed time over the time taken; 1 where the grader judges instead."""
        if self.mode == "judged":
            return 1.0
        if self.mode == "overhead":
            return self.speedup * self.required
        return self.speedup / self.required

    def __str__(self) -> str:
        return self.message


def _labels(fast: Callable[..., Any], slow: Callable[..., Any]) -> tuple[str, str]:
    """The functions' own names where they have distinct, real ones; else "fast" and "slow"."""
    labels = (getattr(fast, "__name__", ""), getattr(slow, "__name__", ""))
    if "<lambda>" in labels or "" in labels or labels[0] == labels[1]:
        return "fast", "slow"
    return labels


def _one_call(func: Callable[..., Any], args: tuple) -> float:
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


def _compare_cost(per_call: list[float], samples: int, min_time: float) -> float:
    """Estimated seconds of ``compare``: per callable a warm-up and a calibration call, then the
    calibration loops and ``samples`` samples, each lasting at least ``min_time`` or one call."""
    return sum(2 * t + (samples + 1) * max(min_time, t) for t in per_call)


_REFERENCE_BLOCK = bytes(1 << 18)  # hashing 256 KiB releases the GIL, so threads really overlap


def _hash_rounds(rounds: int) -> None:
    for _ in range(rounds):
        hashlib.sha256(_REFERENCE_BLOCK).digest()


def parallel_capacity(threads: int, seconds: float = 0.05) -> float:
    """How much faster ``threads`` threads finish GIL-free reference work than one thread, now.

    About the number of cores that other programs leave free (between 1 and ``threads``): a
    machine with two usable cores that someone else keeps busy gives close to 1.
    """
    if threads <= 1:
        return 1.0
    _hash_rounds(1)
    start = time.perf_counter()
    _hash_rounds(4)
    rounds = max(1, math.ceil(seconds / max((time.perf_counter() - start) / 4, 1e-9)))
    start = time.perf_counter()
    _hash_rounds(rounds * threads)
    serial = time.perf_counter() - start
    with ThreadPoolExecutor(threads) as pool:
        start = time.perf_counter()
        list(pool.map(_hash_rounds, [rounds] * threads))
        parallel = time.perf_counter() - start
    return max(1.0, min(float(threads), serial / parallel))


def _check_arguments(
    workers: int | None,
    min_speedup: float | None,
    max_overhead: float,
    repeat: int,
    time_limit: float,
    retries: int,
) -> None:
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a whole number >= 1 or None, got {workers!r}")
    if min_speedup is not None and not min_speedup > 0:
        raise ValueError(f"min_speedup must be a number > 0 or None, got {min_speedup!r}")
    if not max_overhead >= 1:
        raise ValueError(f"max_overhead must be a number >= 1, got {max_overhead!r}")
    if not (isinstance(repeat, int) and repeat >= _MIN_REPEAT):
        raise ValueError(f"repeat must be a whole number >= {_MIN_REPEAT}, got {repeat!r}")
    if not time_limit > 0:
        raise ValueError(f"time_limit must be a number of seconds > 0, got {time_limit!r}")
    if not (isinstance(retries, int) and retries >= 0):
        raise ValueError(f"retries must be a whole number >= 0, got {retries!r}")


@dataclass(frozen=True)
class _Bar:
    """How a parallel or serial ``fast`` is judged: against how many workers, on which cores."""

    workers: int | None
    min_speedup: float | None
    max_overhead: float
    cores: int
    names: tuple[str, str]

    @property
    def parallel(self) -> bool:
        return self.workers is not None and self.workers > 1

    @property
    def effective(self) -> int:
        """Workers that can really run at once here."""
        return min(self.workers, self.cores) if self.parallel else 1

    def _overhead(self, why: str) -> tuple[str, float, str]:
        fast_name, slow_name = self.names
        at_most = f"{fast_name} to cost at most {self.max_overhead:g}x the time of {slow_name}"
        return "overhead", float(self.max_overhead), f"{at_most}: {why}"

    def judge(self, capacity: float | None) -> tuple[str, float, str]:
        """(mode, required, what is expected) for one attempt, given the free cores now."""
        if not self.parallel:
            required = 1.2 if self.min_speedup is None else float(self.min_speedup)
            return "speedup", required, f"a speed-up of at least {required:.2f}x"
        if self.effective == 1:
            return self._overhead(
                f"with only 1 usable core ({cores_reason()}) {self.workers} workers take turns, "
                "so no speed-up can show here"
            )
        assert capacity is not None
        if capacity < _BUSY_CAPACITY:
            return self._overhead(
                f"the {self.effective} usable cores ({cores_reason()}) are busy with other "
                f"programs ({self.effective} threads got only {capacity:.2f}x on reference work "
                "just now), so no speed-up can show"
            )
        free = min(capacity, self.effective)
        if self.min_speedup is None:
            required = 1 + 0.3 * (free - 1)
        else:  # min_speedup is the bar at `workers` free cores; scale it to the free ones
            required = 1 + (self.min_speedup - 1) * (free - 1) / (self.workers - 1)
        expected = (
            f"a speed-up of at least {required:.2f}x with {self.workers} workers on "
            f"{self.effective} usable cores ({cores_reason()}), where {self.effective} threads "
            f"got {capacity:.2f}x on reference work just now"
        )
        return "speedup", required, expected

    def check(self, fast: Measurement, slow: Measurement, attempts: int) -> SpeedCheck:
        """Judge one measurement against the bar as the cores stand right now."""
        capacity = parallel_capacity(self.effective) if self.effective > 1 else None
        mode, required, expected = self.judge(capacity)
        speedup = slow.median / fast.median if fast.median > 0 else math.inf
        return SpeedCheck(
            fast, slow, speedup, required, mode, self.cores, capacity, attempts, expected
        )


def _samples_within(per_call: list[float], repeat: int, min_time: float, remaining: float) -> int:
    """How many samples fit the remaining time (at least _MIN_REPEAT), or 0 if none do."""
    samples = repeat
    while samples > _MIN_REPEAT and _compare_cost(per_call, samples, min_time) > remaining:
        samples -= 1
    return 0 if _compare_cost(per_call, samples, min_time) > remaining else samples


def _best_attempt(
    bar: _Bar,
    funcs: dict[str, Callable[..., Any]],
    args: tuple,
    per_call: list[float],
    options: dict[str, Any],
) -> tuple[SpeedCheck | None, int]:
    """Measure interleaved up to ``1 + retries`` times within the time limit; the best check
    (None if not even one measurement fits) and how many measurements were taken."""
    fast_name, slow_name = bar.names
    best: SpeedCheck | None = None
    attempts = 0
    for _ in range(1 + options["retries"]):
        remaining = options["time_limit"] - (time.perf_counter() - options["started"])
        samples = _samples_within(per_call, options["repeat"], options["min_time"], remaining)
        if not samples:
            break  # no time left for (another) interleaved measurement
        timings = compare(funcs, *args, repeat=samples, min_time=options["min_time"], warn=False)
        attempts += 1
        check = bar.check(timings[fast_name], timings[slow_name], attempts)
        if best is None or check.margin > best.margin:
            best = check
        if check.passed:
            break
    return best, attempts


def _single_calls(bar: _Bar, per_call: list[float]) -> SpeedCheck:
    """The check judged on one warm call each (when no measurement fits the time limit)."""
    fast_name, slow_name = bar.names
    return bar.check(
        Measurement(fast_name, [per_call[0]], 1, per_call[0]),
        Measurement(slow_name, [per_call[1]], 1, per_call[1]),
        1,
    )


def _verdict(best: SpeedCheck, bar: _Bar, tries: str) -> SpeedCheck:
    """Return the passing check with its message, or raise saying what was measured."""
    fast_name, slow_name = bar.names
    measured = (
        f"{fast_name} took {format_seconds(best.fast.median)} per call "
        f"(spread {best.fast.spread:.0%}), {slow_name} {format_seconds(best.slow.median)} "
        f"(spread {best.slow.spread:.0%}): a speed-up of {best.speedup:.2f}x"
    )
    if best.passed:
        message = f"OK: {measured} ({tries}); expected {best.message}."
        print(message)
        return replace(best, attempts=max(best.attempts, 1), message=message)
    if best.mode == "overhead":
        raise AssertionError(
            f"{fast_name} is too slow even allowing for no free core: it took "
            f"{best.fast.median / best.slow.median:.2f}x the time of {slow_name} ({measured}; "
            f"{tries}), expected {best.message}. Look for work or data copies that the "
            "parallel version adds."
        )
    raise AssertionError(
        f"{fast_name} is not fast enough: {measured} ({tries}), expected {best.message}. "
        "If the machine is busy, run the cell again; otherwise look at what the faster "
        "version still does in Python or serially."
    )


def _judged_elsewhere(bar: _Bar) -> SpeedCheck:
    """The check in a grading kernel: nothing timed, and a note saying who times it."""
    fast_name, slow_name = bar.names
    message = (
        f"Not timed in this grading kernel: the grader times {fast_name} against {slow_name} "
        "outside it, on a quiet runner, and this cell's points follow that verdict."
    )
    print(message)
    return SpeedCheck(None, None, math.nan, math.nan, "judged", bar.cores, None, 0, message)


def assert_faster(
    fast: Callable[..., Any],
    slow: Callable[..., Any],
    *args: Any,
    workers: int | None = None,
    min_speedup: float | None = None,
    max_overhead: float = 1.5,
    repeat: int = 5,
    min_time: float = 0.05,
    time_limit: float = 30.0,
    retries: int = 1,
    names: tuple[str, str] | None = None,
) -> SpeedCheck:
    """Check that ``fast(*args)`` beats ``slow(*args)``, tolerant of a noisy, shared machine.

    ``workers`` is how many workers ``fast`` uses (None: it is not parallel, e.g. NumPy against a
    loop). The bar is ``min_speedup`` (default 1.2 for a serial improvement). For a parallel
    ``fast``, ``min_speedup`` is the bar at ``workers`` free cores (default ``1 + 0.3 * (cores -
    1)``), lowered in proportion to the cores really available: the usable cores, and of those,
    what reference threads get just before measuring (``parallel_capacity``). With a single
    usable core, or cores kept busy by other programs, no speed-up can show, so it checks instead
    that ``fast`` costs at most ``max_overhead`` times ``slow``, and says so. A failing
    measurement is taken again (``retries``) and the best attempt counts. Timing stays within
    about ``time_limit`` seconds (fewer samples, then fewer retries, then single calls).
    ``names`` label the two in messages (default: the functions' names, else "fast" and "slow").
    Returns a ``SpeedCheck``; raises ``AssertionError`` saying what was measured and expected.

    This is feedback for learners in their own kernel; graded verdicts are given out of the
    kernel by ``workshop.verdict``, which also checks results and parallel work. So in a kernel
    that nbgrader grades (``WORKSHOP_SPEED_JUDGED=1``, set by ``workshop.autograde``) it times
    nothing and returns a check in mode "judged", saying so.
    """
    _check_arguments(workers, min_speedup, max_overhead, repeat, time_limit, retries)
    labels = names if names is not None else _labels(fast, slow)
    bar = _Bar(workers, min_speedup, max_overhead, usable_cores(), labels)
    if os.environ.get(JUDGED_VARIABLE) == "1":
        return _judged_elsewhere(bar)
    started = time.perf_counter()
    # Warm both up (JIT compiles, pools start), then time one warm call of each to plan the budget.
    for func in (fast, slow):
        _one_call(func, args)
    per_call = [_one_call(fast, args), _one_call(slow, args)]
    options = {
        "retries": retries,
        "time_limit": time_limit,
        "started": started,
        "repeat": repeat,
        "min_time": min_time,
    }
    funcs = dict(zip(bar.names, (fast, slow), strict=True))
    best, attempts = _best_attempt(bar, funcs, args, per_call, options)
    if best is None:  # a single call is too long for the time limit: judge the warm calls
        best = _single_calls(bar, per_call)
        tries = f"one call each, as a measurement would exceed time_limit={time_limit:g} s"
    else:
        tries = f"best of {attempts} measurements" if attempts > 1 else "one measurement"
    return _verdict(best, bar, tries)

"""02-multiprocessing: how this Python runs threads, a timing decorator, and pools that really
share the work."""

from __future__ import annotations

import numpy as np

from workshop.examples.pool_tasks import hits, lyapunov
from workshop.examples.shared_state import count_inside
from workshop.grading import check_equal
from workshop.kernels.chunks import blocks
from workshop.verdict.judge import Trial
from workshop.verdict.runners import Raised, RunnerProcess
from workshop.verdict.units.common import assert_parallel

PREAMBLE = """
import functools
import math
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial

import numpy as np

from workshop.examples.pool_tasks import busy, hits, lyapunov, noop, power, square, wait
from workshop.hardware import small_mode, usable_cores
from workshop.examples.shared_state import count_inside
from workshop.kernels.chunks import blocks
from workshop.timing import compare, format_seconds, measure

SMALL = small_mode()
CORES = usable_cores()
WORKERS = min(max(2, CORES), 4)
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
MP = multiprocessing.get_context(START_METHOD)


def pi_serial(n, seed):
    return 4.0 * hits(seed, 0, n) / n


def sweep_one_after_another(rs, steps=2_000, workers=2):
    return [lyapunov(r, steps=steps) for r in rs]
"""

TIMED_TEST = """
import contextlib as _contextlib
import io as _io

_printed = _io.StringIO()


@timed
def _slow_add(a, b):
    "Add a and b, slowly."
    time.sleep(_pause)
    return a + b


@timed
def _scaled(x, *, factor=1):
    "Multiply x by factor."
    return x * factor


@timed
def _failing():
    raise KeyError("expected")


with _contextlib.redirect_stdout(_printed):
    _results = [_slow_add(2, 3), _scaled(4, factor=_factor), _scaled(5)]
    try:
        _failing()
        _passed_through = False
    except KeyError:
        _passed_through = True
_report = {
    "results": _results,
    "names": [_slow_add.__name__, _scaled.__name__],
    "docs": [_slow_add.__doc__, _scaled.__doc__],
    "wrapped": getattr(_scaled, "__wrapped__", None) is not None,
    "timings": [list(_slow_add.timings), list(_scaled.timings), list(_failing.timings)],
    "printed": _printed.getvalue(),
    "passed_through": _passed_through,
}
"""


def check_timed(trial: Trial) -> str:
    pause = round(float(trial.rng.uniform(0.02, 0.06)), 3)
    factor = int(trial.rng.integers(2, 9))
    report = trial.evaluate(f"_pause = {pause}\n_factor = {factor}\n" + TIMED_TEST, "_report")
    check_equal(report["results"], [5, 4 * factor, 5], "results through @timed")
    check_equal(report["names"], ["_slow_add", "_scaled"], "__name__ of decorated functions")
    check_equal(report["docs"], ["Add a and b, slowly.", "Multiply x by factor."], "__doc__")
    assert report["wrapped"], "use functools.wraps (the wrapper has no __wrapped__)"
    timings = report["timings"]
    check_equal([len(t) for t in timings[:2]], [1, 2], "calls recorded in each function's .timings")
    assert all(isinstance(t, float) for t in timings[0] + timings[1]), "timings holds floats"
    assert pause * 0.95 <= timings[0][0] < 10, (
        f"a {pause} s call was recorded as {timings[0][0]!r} s"
    )
    assert report["passed_through"], (
        "an exception raised by the decorated function must pass through"
    )
    assert "_slow_add" in report["printed"] and "_scaled" in report["printed"], (
        f"timed should print each call's function name; it printed {report['printed']!r}"
    )
    return "the decorator times, records and keeps the function's name"


def _pi(n: int, seed: int) -> float:
    return 4.0 * hits(seed, 0, n) / n


def check_pi(trial: Trial) -> str:
    rng = trial.rng
    for n, workers in (
        (int(rng.integers(1_000, 30_000)), 2),
        (int(rng.integers(10, 100)), 3),
        (int(rng.integers(1_000, 5_000)), 1),
    ):
        seed = int(rng.integers(0, 10_000))
        got = trial.value("pi_pool", n, seed, workers)
        assert isinstance(got, float), f"pi_pool should return a float, got {got!r}"
        check_equal(got, _pi(n, seed), f"pi_pool({n}, {seed}, {workers})")
    return "the same estimate as one process, for points drawn now"


def check_pi_speed(trial: Trial) -> str:
    n, seed = 400_000, int(trial.rng.integers(0, 10_000))
    _, message = assert_parallel(
        trial,
        ("pi_pool", (n, seed, 2)),
        ("pi_serial", (n, seed)),
        2,
        what="pi_pool with 2 workers",
        verify=lambda value: check_equal(value, _pi(n, seed), f"pi_pool({n}, {seed}, 2)"),
    )
    return message


def check_sweep(trial: Trial) -> str:
    rng = trial.rng
    rs = np.round(rng.uniform(2.5, 4.0, size=int(rng.integers(20, 40))), 6).tolist()
    steps = int(rng.integers(100, 400))
    check_equal(
        list(trial.value("lyapunov_sweep", rs, steps=steps, workers=3)),
        [lyapunov(r, steps=steps) for r in rs],
        f"lyapunov_sweep(<{len(rs)} values>, steps={steps}, workers=3)",
    )
    check_equal(
        list(trial.value("lyapunov_sweep", rs[:1], workers=1)), [lyapunov(rs[0])], "one value"
    )
    check_equal(
        list(trial.value("lyapunov_sweep", [], steps=10, workers=2)), [], "lyapunov_sweep([])"
    )
    return "sweep right for values drawn now"


def check_sweep_speed(trial: Trial) -> str:
    rs = np.round(trial.rng.uniform(2.5, 4.0, size=400), 6).tolist()
    expected = [lyapunov(r) for r in rs]
    _, message = assert_parallel(
        trial,
        ("lyapunov_sweep", (rs, 2_000, 2)),
        ("sweep_one_after_another", (rs, 2_000, 2)),
        2,
        what="lyapunov_sweep with 2 workers",
        verify=lambda value: check_equal(
            list(value), expected, "lyapunov_sweep on the timed values"
        ),
    )
    return message


def _pi_streams(n: int, seed: int, workers: int) -> float:
    children = np.random.SeedSequence(seed).spawn(workers)
    sizes = [stop - start for start, stop in blocks(n, workers)]
    return 4.0 * sum(count_inside(c, k) for c, k in zip(children, sizes, strict=True)) / n


def check_streams(trial: Trial) -> str:
    rng = trial.rng
    cases = [(int(rng.integers(1_000, 40_000)), int(rng.integers(1 << 30)), w) for w in (1, 2, 3)]
    for n, seed, workers in cases:
        got = trial.value("pi_independent", n, seed, workers, timeout=300)
        assert isinstance(got, float), f"pi_independent should return a float, not {got!r}"
        check_equal(got, _pi_streams(n, seed, workers), f"pi_independent({n}, {seed}, {workers})")
    n, seed, workers = cases[-1]
    again = trial.value("pi_independent", n, seed, workers, timeout=300)
    check_equal(again, _pi_streams(n, seed, workers), "pi_independent, the same arguments again")
    return "one spawned stream per worker, reproducible, for seeds drawn now"


# (Py_GIL_DISABLED of the build, what sys._is_gil_enabled() says or None where it is missing)
# -> how threads run: every interpreter a learner may meet, told apart.
THREADING_MODES = {
    (None, None): "GIL",  # before 3.13: neither exists
    (0, True): "GIL",
    (1, False): "free-threaded",
    (1, True): "free-threaded build, GIL re-enabled",  # PYTHON_GIL=1, or an extension needs it
}
_INTERPRETER = """
import sys as _sys
import sysconfig as _sysconfig

_build = {build!r}
_real_config_var = _sysconfig.get_config_var
_sysconfig.get_config_var = (
    lambda name, *rest: _build if name == "Py_GIL_DISABLED" else _real_config_var(name, *rest)
)
_sysconfig.get_config_vars()["Py_GIL_DISABLED"] = _build
if {gil!r} is None:
    if hasattr(_sys, "_is_gil_enabled"):
        del _sys._is_gil_enabled
else:
    _sys._is_gil_enabled = lambda: {gil!r}
"""


def check_threading_mode(trial: Trial) -> str:
    """threading_mode() in runners that each stand for one kind of interpreter: the build and
    the running state are set before the answer cells run, so reading them at import time or at
    call time both work; the order is drawn now."""
    cases = list(THREADING_MODES.items())
    for index in trial.rng.permutation(len(cases)):
        (build, gil), expected = cases[index]
        with RunnerProcess(network=trial.network) as runner:
            set_up = [_INTERPRETER.format(build=build, gil=gil), PREAMBLE]
            errors = runner.cells(set_up)
            if errors:
                raise RuntimeError(f"the unit's set-up failed in the runner: {errors[0]}")
            runner.cells(list(trial.answers.values()))  # another cell's error is its own
            got = runner.call("threading_mode")
        if isinstance(got, Raised):
            raise AssertionError(f"threading_mode() raised {got}")
        described = f"a build with Py_GIL_DISABLED={build!r} where sys._is_gil_enabled() " + (
            "does not exist" if gil is None else f"returns {gil}"
        )
        check_equal(got.value, expected, f"threading_mode() on {described}")
    return "right on every kind of interpreter: GIL, free-threaded, and GIL re-enabled"


CHECKS = {
    "threading-mode-test": check_threading_mode,
    "timed-test": check_timed,
    "streams-test": check_streams,
    "pi-test": check_pi,
    "pi-speed-test": check_pi_speed,
    "sweep-test": check_sweep,
    "sweep-speed-test": check_sweep_speed,
}

"""Unit tests of workshop.grading: the helpers nbgrader test cells call.

The speed-check logic is tested against a stand-in for ``workshop.timing.compare`` that returns
chosen timings, so no assertion here depends on how fast this machine is.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from workshop import grading
from workshop.grading import (
    JUDGED_VARIABLE,
    SpeedCheck,
    assert_faster,
    check_close,
    check_equal,
    check_numba_parallel,
    check_raises,
    check_type,
)
from workshop.timing import Measurement


def noop() -> None:
    pass


# ------------------------------------------------------------------------- correctness checks


def test_check_close_accepts_close_values() -> None:
    check_close(1.0 + 1e-9, 1.0, "x")
    check_close([1.0, 2.0, math.nan], np.array([1.0, 2.0, math.nan]), "x")
    check_close(math.inf, math.inf, "x")
    check_close(np.float32(0.1), 0.1, "x", rtol=1e-6)


def test_check_close_scalar_message_names_value_and_expectation() -> None:
    with pytest.raises(AssertionError, match=r"amdahl\(0.1, 10\) should be 5.0 .*but it is 2.0"):
        check_close(2.0, 5.0, "amdahl(0.1, 10)")


def test_check_close_array_message_points_at_worst_element() -> None:
    with pytest.raises(AssertionError) as failure:
        check_close([1.0, 2.0, 3.5], [1.0, 2.0, 3.0], "y")
    message = str(failure.value)
    assert "1 of 3 elements" in message and "index 2" in message
    assert "expected 3.0, got 3.5" in message


def test_check_close_rejects_wrong_shape_and_non_numbers() -> None:
    with pytest.raises(AssertionError, match=r"shape \(2, 3\).*shape \(2, 2\)"):
        check_close(np.ones((2, 2)), np.ones((2, 3)), "grid")
    with pytest.raises(AssertionError, match="should be a number"):
        check_close("3", 3, "answer")
    with pytest.raises(ValueError, match="rtol"):
        check_close(1, 1, rtol=-1)


def test_check_equal_scalars_arrays_and_mappings() -> None:
    check_equal("fine-grained", "fine-grained", "kind")
    check_equal(np.arange(3), np.arange(3), "a")
    with pytest.raises(AssertionError, match="kind should be 'coarse-grained', but it is 'fine"):
        check_equal("fine-grained", "coarse-grained", "kind")
    with pytest.raises(AssertionError, match=r"1 of 3 elements differ.*index \(1,\)"):
        check_equal(np.array([0, 5, 2]), np.arange(3), "a")
    with pytest.raises(AssertionError, match=r"missing keys \['c'\].*\['b'\] should be 3, got 2"):
        check_equal({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}, "counts")


def test_check_type() -> None:
    check_type(3, int, "n")
    check_type(3.0, (int, float), "n")
    with pytest.raises(
        AssertionError, match="n should be of type str or float, but it is of type int"
    ):
        check_type(3, (str, float), "n")


def test_check_raises() -> None:
    def fails(x):
        raise ValueError(f"bad {x}")

    check_raises(ValueError, fails, 1)
    check_raises((TypeError, ValueError), fails, 1)
    with pytest.raises(
        AssertionError, match=r"abs\(-2\) should raise ValueError, but it returned 2"
    ):
        check_raises(ValueError, abs, -2)
    with pytest.raises(AssertionError, match="should raise TypeError, but it raised ValueError"):
        check_raises(TypeError, fails, 1)


# ---------------------------------------------------------------------- parallel structure


def test_check_numba_parallel_accepts_a_prange_loop_and_refuses_serial_code() -> None:
    numba = pytest.importorskip("numba")

    def total(n):
        s = 0
        for i in numba.prange(n):
            s += i
        return s

    def serial(n):
        s = 0
        for i in range(n):
            s += i
        return s

    parallel = numba.njit(parallel=True, cache=False)(total)
    assert parallel(10) == 45
    assert check_numba_parallel(parallel) == 1  # for the signature it was called with
    assert check_numba_parallel(parallel, np.int32(3)) == 1  # for the types of these arguments
    with pytest.raises(AssertionError, match="parallelised no prange loop"):
        check_numba_parallel(numba.njit(parallel=True)(serial), 10)
    with pytest.raises(AssertionError, match=r"not compiled with parallel=True: add @njit\("):
        check_numba_parallel(numba.njit(total), 10)
    with pytest.raises(AssertionError, match="not compiled by Numba"):
        check_numba_parallel(total, 10)
    with pytest.raises(ValueError, match="call it once"):
        check_numba_parallel(numba.njit(parallel=True)(total))


# ------------------------------------------------------------------------------- speed check


class FakeCompare:
    """Stands in for workshop.timing.compare: returns the (fast, slow) medians it is given."""

    def __init__(self, *rounds: tuple[float, float]) -> None:
        self.rounds = list(rounds)
        self.calls: list[dict] = []

    def __call__(self, funcs, *args, repeat=5, min_time=0.05, warn=True):
        self.calls.append({"names": list(funcs), "repeat": repeat, "min_time": min_time})
        fast, slow = self.rounds.pop(0) if len(self.rounds) > 1 else self.rounds[0]
        names = list(funcs)
        return {
            names[0]: Measurement(names[0], [fast] * repeat, 1, fast),
            names[1]: Measurement(names[1], [slow] * repeat, 1, slow),
        }


@pytest.fixture
def cores(monkeypatch):
    """Set what assert_faster believes about usable cores (and how many are free right now)."""

    def set_cores(n: int, free: float | None = None) -> None:
        monkeypatch.setattr(grading, "usable_cores", lambda: n)
        monkeypatch.setattr(grading, "cores_reason", lambda: f"{n} CPUs (test)")
        monkeypatch.setattr(
            grading, "parallel_capacity", lambda threads: min(threads, n if free is None else free)
        )

    return set_cores


def test_serial_speedup_passes_and_reports(monkeypatch, cores, capsys) -> None:
    cores(2)
    fake = FakeCompare((0.01, 0.05))
    monkeypatch.setattr(grading, "compare", fake)
    check = assert_faster(noop, noop, min_speedup=3)
    assert isinstance(check, SpeedCheck) and check.passed
    assert check.speedup == pytest.approx(5.0) and check.required == 3
    assert check.mode == "speedup" and check.attempts == 1
    assert "a speed-up of 5.00x" in capsys.readouterr().out


def test_failure_is_measured_twice_and_explained(monkeypatch, cores) -> None:
    cores(2)
    fake = FakeCompare((0.01, 0.011), (0.01, 0.0105))
    monkeypatch.setattr(grading, "compare", fake)
    with pytest.raises(AssertionError) as failure:
        assert_faster(noop, noop, names=("numpy_call", "python_loop"))
    message = str(failure.value)
    assert len(fake.calls) == 2, "one retry before failing"
    assert "numpy_call is not fast enough" in message
    assert "a speed-up of 1.10x (best of 2 measurements)" in message
    assert "expected a speed-up of at least 1.20x" in message


def test_retry_that_passes_counts(monkeypatch, cores) -> None:
    cores(2)
    monkeypatch.setattr(grading, "compare", FakeCompare((0.01, 0.011), (0.01, 0.02)))
    check = assert_faster(noop, noop)
    assert check.passed and check.attempts == 2 and check.speedup == pytest.approx(2.0)


def test_parallel_bar_follows_usable_cores(monkeypatch, cores) -> None:
    monkeypatch.setattr(grading, "compare", FakeCompare((0.01, 0.1)))
    cores(4)
    assert assert_faster(noop, noop, workers=8).required == pytest.approx(1 + 0.3 * 3)
    cores(16)
    assert assert_faster(noop, noop, workers=8).required == pytest.approx(1 + 0.3 * 7)
    # min_speedup is the bar at `workers` cores, lowered in proportion for fewer usable cores.
    cores(2)
    assert assert_faster(noop, noop, workers=4, min_speedup=4).required == pytest.approx(2.0)
    cores(8)
    assert assert_faster(noop, noop, workers=4, min_speedup=4).required == pytest.approx(4.0)


def test_parallel_bar_follows_the_cores_free_right_now(monkeypatch, cores) -> None:
    monkeypatch.setattr(grading, "compare", FakeCompare((0.01, 0.1)))
    cores(4, free=2.5)
    check = assert_faster(noop, noop, workers=4, min_speedup=4)
    assert check.required == pytest.approx(2.5) and check.capacity == 2.5
    assert "4 threads got 2.50x on reference work" in check.message


def test_busy_cores_check_overhead_instead(monkeypatch, cores, capsys) -> None:
    cores(2, free=1.1)
    monkeypatch.setattr(grading, "compare", FakeCompare((0.012, 0.01)))
    check = assert_faster(noop, noop, workers=2, min_speedup=2)
    assert check.mode == "overhead" and check.passed
    assert "busy with other programs" in capsys.readouterr().out
    monkeypatch.setattr(grading, "compare", FakeCompare((0.02, 0.01)))
    with pytest.raises(AssertionError, match="too slow even allowing for no free core"):
        assert_faster(noop, noop, workers=2)


def test_parallel_capacity_is_between_one_and_the_threads() -> None:
    assert grading.parallel_capacity(1) == 1.0
    assert 1.0 <= grading.parallel_capacity(2, seconds=0.01) <= 2.0


def test_parallel_failure_names_workers_and_cores(monkeypatch, cores) -> None:
    cores(2)
    monkeypatch.setattr(grading, "compare", FakeCompare((0.01, 0.012)))
    with pytest.raises(AssertionError, match=r"at least 1.30x with 2 workers on 2 usable cores"):
        assert_faster(noop, noop, workers=2)


def test_one_core_checks_overhead_instead(monkeypatch, cores, capsys) -> None:
    cores(1)
    monkeypatch.setattr(grading, "compare", FakeCompare((0.012, 0.01)))
    check = assert_faster(noop, noop, workers=4, min_speedup=3)
    assert check.mode == "overhead" and check.passed and check.required == 1.5
    assert "only 1 usable core" in capsys.readouterr().out

    monkeypatch.setattr(grading, "compare", FakeCompare((0.03, 0.01)))
    with pytest.raises(AssertionError) as failure:
        assert_faster(noop, noop, workers=4, max_overhead=2)
    message = str(failure.value)
    assert "too slow even allowing for no free core" in message
    assert "3.00x the time" in message and "at most 2x" in message
    assert "only 1 usable core" in message


def test_real_timings_of_a_sleep_pair() -> None:
    # A 10x margin between two sleeps: safe on a busy machine, and a real run through compare.
    check = assert_faster(
        lambda: time.sleep(0.001), lambda: time.sleep(0.01), min_speedup=2, repeat=3, min_time=0
    )
    assert check.passed and check.fast.loops >= 1 and len(check.slow.times) == 3


def test_a_grading_kernel_times_nothing_and_says_the_judge_does(monkeypatch, capsys) -> None:
    def never(*args):
        raise AssertionError("a speed cell in a grading kernel called its function")

    monkeypatch.setenv(JUDGED_VARIABLE, "1")
    check = assert_faster(never, never, 10, workers=2, names=("pi_pool", "pi_serial"))
    assert check.mode == "judged" and check.passed and check.fast is None
    assert "the grader times pi_pool against pi_serial" in capsys.readouterr().out
    with pytest.raises(ValueError, match="workers must be a whole number"):
        assert_faster(never, never, workers=0)  # bad arguments are still refused


def test_time_limit_falls_back_to_single_calls(monkeypatch, cores) -> None:
    cores(2)
    fake = FakeCompare((0.01, 0.1))
    monkeypatch.setattr(grading, "compare", fake)
    calls = []

    def slow():
        calls.append("slow")
        time.sleep(0.05)

    with pytest.raises(AssertionError, match="one call each, as a measurement would exceed"):
        assert_faster(slow, noop, time_limit=0.01, names=("slow", "noop"))
    assert not fake.calls, "no interleaved measurement fits in the time limit"
    assert len(calls) == 2, "a warm-up call and one timed call"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"workers": 0}, "workers"),
        ({"min_speedup": 0}, "min_speedup"),
        ({"max_overhead": 0.5}, "max_overhead"),
        ({"repeat": 1}, "repeat"),
        ({"time_limit": 0}, "time_limit"),
        ({"retries": -1}, "retries"),
    ],
)
def test_bad_arguments(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        assert_faster(noop, noop, **kwargs)

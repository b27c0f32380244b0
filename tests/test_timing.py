"""The measurement harness on cheap callables (no assertions on how fast anything is)."""

from __future__ import annotations

import time
import warnings

import pytest

from workshop.errors import UnstableMeasurementWarning, WrongResult
from workshop.timing import Measurement, compare, format_seconds, measure


class Counter:
    def __init__(self, first_delay: float = 0.0) -> None:
        self.calls = 0
        self.first_delay = first_delay

    def __call__(self, x: int = 0) -> int:
        self.calls += 1
        if self.calls == 1 and self.first_delay:
            time.sleep(self.first_delay)  # stands in for a JIT compile
        return x + 1


def test_warm_up_is_apart_and_loops_are_calibrated():
    func = Counter(first_delay=0.05)
    m = measure(func, 1, repeat=4, min_time=0.002, warn=False)
    assert len(m.times) == 4
    assert m.loops > 1  # a trivial call needs many loops to last 2 ms
    assert m.first_call >= 0.05
    assert m.compile_time > 0.04  # the first call's extra time is reported on its own
    assert m.median < 0.01  # the warm-up's delay is not in the samples
    assert func.calls >= 2 + 4 * m.loops


def test_slow_calls_need_one_loop():
    m = measure(time.sleep, 0.005, repeat=3, min_time=0.001, warn=False)
    assert m.loops == 1
    assert m.min >= 0.005


def test_json_round_trip():
    m = measure(Counter(), repeat=3, min_time=0.001, label="counter", warn=False)
    back = Measurement.from_json(m.to_json())
    assert back == m
    assert back.median == m.median
    assert m.to_dict()["median"] == m.median


def test_statistics_of_known_samples():
    m = Measurement("x", [1.0, 2.0, 3.0, 10.0], loops=1, first_call=12.0)
    assert m.median == 2.5
    assert m.mean == 4.0
    assert m.min == 1.0
    assert m.compile_time == 9.5
    assert m.spread == pytest.approx(m.stdev / 4.0)
    assert not m.stable
    assert "unstable" in str(m)


def test_unstable_measurement_warns():
    warm_up_and_calibration = [0.0, 0.0]
    delays = iter([*warm_up_and_calibration, 0.001, 0.02, 0.001, 0.02, 0.001, 0.02])

    def jumpy() -> None:
        time.sleep(next(delays))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = measure(jumpy, repeat=6, min_time=0.0)
    assert not m.stable
    assert any(issubclass(w.category, UnstableMeasurementWarning) for w in caught)
    assert "spread" in str(m) or "unstable" in str(m)


def test_compare_interleaves_calls():
    order: list[str] = []
    funcs = {"a": lambda: order.append("a"), "b": lambda: order.append("b")}
    results = compare(funcs, repeat=4, min_time=0.0, warn=False)
    assert set(results) == {"a", "b"}
    assert all(m.loops == 1 for m in results.values())
    timed = order[4:]  # two warm-up and two calibration calls come first
    assert timed == ["a", "b", "b", "a", "a", "b", "b", "a"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"repeat": 0}, "repeat"), ({"min_time": -1}, "min_time"), ({"repeat": 1.5}, "repeat")],
)
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        measure(Counter(), **kwargs)


def test_compare_needs_callables():
    with pytest.raises(ValueError, match="at least one"):
        compare({})


def test_format_seconds():
    assert format_seconds(1.5) == "1.5 s"
    assert format_seconds(0.0123) == "12.3 ms"
    assert format_seconds(4.5e-6) == "4.5 µs"
    assert format_seconds(3e-8) == "30 ns"


def _must_be(expected: int):
    def check(result: int) -> None:
        if result != expected:
            raise AssertionError(f"expected {expected}, got {result}")

    return check


def test_a_wrong_first_result_is_never_timed():
    func = Counter()
    with pytest.raises(WrongResult, match="wrong result: expected 3, got 2"):
        measure(func, 1, repeat=3, min_time=0.0, check=_must_be(3))
    assert func.calls == 1  # the first call only: no sample was taken
    m = measure(Counter(), 2, repeat=3, min_time=0.0, warn=False, check=_must_be(3))
    assert len(m.times) == 3


def test_compare_leaves_out_what_fails_and_says_why():
    def broken(x: int) -> int:
        raise RuntimeError("not written yet")

    funcs = {"right": Counter(), "wrong": lambda x: x, "broken": broken}
    failed: dict[str, str] = {}
    results = compare(
        funcs, 2, repeat=2, min_time=0.0, warn=False, check=_must_be(3), failed=failed
    )
    assert list(results) == ["right"]
    assert failed == {
        "wrong": "wrong result: expected 3, got 2",
        "broken": "it raised RuntimeError: not written yet",
    }
    with pytest.raises(WrongResult):  # without ``failed``, the first failure propagates
        compare(funcs, 2, repeat=2, min_time=0.0, check=_must_be(3))
    with pytest.raises(RuntimeError, match="not written yet"):
        compare({"broken": broken}, 2, repeat=2, min_time=0.0)

"""Amdahl and Gustafson fits on synthetic data, result arithmetic, and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from workshop import scaling
from workshop.scaling import ScalingPoint, ScalingResult
from workshop.timing import Measurement


@pytest.mark.parametrize("serial", [0.0, 0.05, 0.2, 0.5, 1.0])
def test_amdahl_fit_recovers_known_serial_fraction(serial):
    workers = np.arange(1, 17)
    assert scaling.fit_amdahl(workers, scaling.amdahl_speedup(workers, serial)) == pytest.approx(
        serial, abs=1e-9
    )


def test_amdahl_fit_tolerates_noise():
    rng = np.random.default_rng(1)
    workers = np.repeat(np.arange(1, 9), 5)
    noisy = scaling.amdahl_speedup(workers, 0.1) * rng.normal(1.0, 0.02, workers.size)
    assert scaling.fit_amdahl(workers, noisy) == pytest.approx(0.1, abs=0.02)


@pytest.mark.parametrize("serial", [0.0, 0.3, 1.0])
def test_gustafson_fit_recovers_known_serial_fraction(serial):
    workers = [1, 2, 4, 8]
    scaled = scaling.gustafson_speedup(workers, serial)
    assert scaling.fit_gustafson(workers, scaled) == pytest.approx(serial, abs=1e-9)


def test_laws_at_known_points():
    assert scaling.amdahl_speedup(4, 0.0) == 4.0
    assert scaling.amdahl_speedup(10**9, 0.1) == pytest.approx(10.0, rel=1e-6)
    assert scaling.gustafson_speedup(4, 0.25) == pytest.approx(3.25)
    with pytest.raises(ValueError, match="between 0 and 1"):
        scaling.amdahl_speedup(2, 1.5)


def test_fit_needs_two_worker_counts():
    with pytest.raises(ValueError, match="two or more"):
        scaling.fit_amdahl([2, 2], [1.5, 1.6])


def synthetic_result(mode: str, times: dict[int, float], errors: dict[int, str] | None = None):
    points = [
        ScalingPoint(w, 1000 * (w if mode == "weak" else 1), Measurement("t", [t], 1, t))
        for w, t in times.items()
    ]
    points += [ScalingPoint(w, 1000, error=e) for w, e in (errors or {}).items()]
    return ScalingResult("pi", "numba-parallel", mode, points, usable_cores=4)


def test_strong_result_speedup_efficiency_and_fit():
    times = {p: 1.0 * (0.2 + 0.8 / p) for p in (1, 2, 4)}
    result = synthetic_result("strong", times, errors={3: "EngineError: engine 2 died"})
    assert list(result.workers) == [1, 2, 4]
    np.testing.assert_allclose(result.speedup, [1.0, 1 / 0.6, 1 / 0.4])
    np.testing.assert_allclose(result.efficiency, result.speedup / [1, 2, 4])
    assert result.serial_fraction == pytest.approx(0.2)
    assert result.model(8) == pytest.approx(scaling.amdahl_speedup(8, 0.2))
    assert result.errors == ["3 workers: EngineError: engine 2 died"]


def test_speedup_is_relative_to_fewest_workers():
    result = synthetic_result("strong", {2: 1.0, 4: 0.5})
    np.testing.assert_allclose(result.speedup, [2.0, 4.0])


def test_weak_result_uses_scaled_speedup_and_gustafson():
    times = {1: 1.0, 2: 1.0, 4: 1.0}  # perfect weak scaling: time stays flat
    result = synthetic_result("weak", times)
    np.testing.assert_allclose(result.speedup, [1, 2, 4])
    assert result.serial_fraction == pytest.approx(0.0)


def test_single_point_has_no_fit():
    result = synthetic_result("strong", {1: 1.0})
    assert result.serial_fraction is None
    with pytest.raises(ValueError, match="3 or more"):
        result.model(2)


def test_result_json_round_trip():
    result = synthetic_result("strong", {1: 1.0, 2: 0.55}, errors={4: "timeout"})
    back = ScalingResult.from_json(result.to_json())
    assert back == result
    assert back.serial_fraction == result.serial_fraction


def test_check_workers_names_the_valid_range(monkeypatch):
    monkeypatch.setenv("WORKSHOP_CPUS", "2")
    assert scaling.check_workers([1, 2]) == [1, 2]
    with pytest.raises(ValueError, match=r"valid is 1 to 2 .*oversubscribe=True"):
        scaling.check_workers([3])
    assert scaling.check_workers([8], oversubscribe=True) == [8]
    with pytest.raises(ValueError, match="valid is 1 to 8"):
        scaling.check_workers([9], oversubscribe=True)
    with pytest.raises(ValueError, match="workers=0"):
        scaling.check_workers([0])
    with pytest.raises(ValueError, match="serial"):
        scaling.check_workers([2], parallel=False)
    with pytest.raises(ValueError, match="empty"):
        scaling.check_workers([])

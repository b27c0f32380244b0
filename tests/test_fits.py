"""Fits that say what they can, and flags on points that should not be read at face value.

All on synthetic sweeps with known serial fractions and known noise, so nothing here is timed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from workshop import scaling
from workshop.scaling import ScalingPoint, ScalingResult
from workshop.timing import Measurement


def point(workers: int, seconds: float, spread: float = 0.0, busy: bool = False) -> ScalingPoint:
    """A point whose five samples have median ``seconds`` and relative stdev about ``spread``."""
    offsets = np.array([-1.2649, -0.6325, 0.0, 0.6325, 1.2649])  # stdev 1 (sample), mean 0
    times = list(seconds * (1.0 + spread * offsets))
    measurement = Measurement(f"x{workers}", times, 1, seconds)
    if busy:
        measurement.metadata["load"] = {"busy": True, "other_cores": 1.1}
    return ScalingPoint(workers, 1000, measurement)


def amdahl_result(serial: float, counts, spread: float = 0.0, mode: str = "strong"):
    points = [point(p, serial + (1 - serial) / p, spread) for p in counts]
    return ScalingResult("pi", "numba-parallel", mode, points, usable_cores=max(counts))


def test_no_fit_through_fewer_than_three_worker_counts():
    result = amdahl_result(0.2, [1, 2])
    assert result.fit is None and result.serial_fraction is None
    with pytest.raises(ValueError, match="3 or more"):
        result.model(4)
    with pytest.raises(ValueError, match="3 or more different worker counts"):
        scaling.fit_law("strong", [1, 2], [1.0, 1.6])


def test_karp_flatt_speaks_from_two_counts():
    result = amdahl_result(0.2, [1, 2])
    metric = result.karp_flatt
    assert math.isnan(metric[0])
    assert metric[1] == pytest.approx(0.2)
    assert "serial work" in scaling.KARP_FLATT_NOTE and "imbalance" in scaling.KARP_FLATT_NOTE
    assert "overhead" in scaling.KARP_FLATT_NOTE


def test_karp_flatt_is_the_serial_fraction_at_each_count_for_amdahl_data():
    counts = [1, 2, 3, 4, 8]
    metric = scaling.karp_flatt(counts, scaling.amdahl_speedup(counts, 0.1))
    np.testing.assert_allclose(metric[1:], 0.1)
    weak = scaling.karp_flatt(counts, scaling.gustafson_speedup(counts, 0.3), mode="weak")
    np.testing.assert_allclose(weak[1:], 0.3)


def test_exact_data_fits_exactly_with_no_uncertainty():
    fit = amdahl_result(0.1, [1, 2, 3, 4]).fit
    assert fit.law == "Amdahl" and fit.counts == 4
    assert fit.serial_fraction == pytest.approx(0.1)
    assert fit.stderr == pytest.approx(0.0, abs=1e-12)
    assert "serial fraction 0.100 ± 0.000 (4 worker counts)" in fit.text()


def test_noisy_points_give_an_interval_that_holds_the_truth():
    """Many synthetic noisy sweeps: the ~95 % interval covers the true fraction most times."""
    rng = np.random.default_rng(7)
    counts = np.array([1, 2, 3, 4, 6, 8])
    covered, widths = 0, []
    for _ in range(200):
        noise = rng.normal(1.0, 0.03, counts.size)
        speedups = scaling.amdahl_speedup(counts, 0.1) * noise
        speedups[0] = 1.0
        fit = scaling.fit_law("strong", counts, speedups, 0.03 * speedups)
        covered += fit.low <= 0.1 <= fit.high
        widths.append(fit.high - fit.low)
    assert covered >= 170  # at least 85 % of 200 intervals hold the true value
    assert 0.005 < np.median(widths) < 0.2


def test_measurement_spread_widens_the_fit():
    quiet = amdahl_result(0.1, [1, 2, 4], spread=0.0).fit
    noisy = amdahl_result(0.1, [1, 2, 4], spread=0.1).fit
    assert noisy.stderr > quiet.stderr + 0.01
    assert noisy.low < 0.1 < noisy.high


def test_gustafson_fit_has_an_uncertainty_too():
    points = [point(p, 1.0 + 0.02 * (p - 1), 0.02) for p in (1, 2, 4)]
    fit = ScalingResult("pi", "numba-parallel", "weak", points, usable_cores=4).fit
    assert fit.law == "Gustafson"
    assert fit.stderr > 0 and fit.low <= fit.serial_fraction <= fit.high


def test_error_bars_follow_the_samples():
    result = amdahl_result(0.2, [1, 2, 4], spread=0.05)
    np.testing.assert_allclose(result.time_error, 0.05 * result.times, rtol=0.01)
    errors = result.speedup_error
    assert errors[0] == 0.0  # the reference point itself
    np.testing.assert_allclose(errors[1:], result.speedup[1:] * 0.05 * math.sqrt(2), rtol=0.02)
    np.testing.assert_allclose(result.efficiency_error, errors / result.workers)
    assert np.all(result.karp_flatt_error[1:] > 0)


def test_speedup_above_ideal_within_noise_is_flagged_as_noise():
    """The 620 % efficiency case: 2 workers 'faster than ideal' on noisy samples."""
    points = [point(1, 1.0, 0.3), point(2, 0.45, 0.3)]
    result = ScalingResult("pi", "numba-parallel", "strong", points, usable_cores=2)
    kinds = {(n.workers, n.kind) for n in result.notes}
    assert (2, "above-ideal") in kinds and (2, "unstable") in kinds
    assert (1, "unstable") in kinds
    text = next(n.text for n in result.notes if n.kind == "above-ideal")
    assert "above the ideal 2×" in text and "noise" in text
    assert list(result.flagged) == [True, True]


def test_far_above_ideal_on_a_quiet_machine_is_explained_as_real():
    points = [point(1, 1.0, 0.01), point(2, 0.40, 0.01)]
    result = ScalingResult("pi", "numba-parallel", "strong", points, usable_cores=2)
    (note,) = result.notes
    assert note.kind == "superlinear" and note.workers == 2
    assert "cache" in note.text


def test_far_above_ideal_under_load_is_still_noise():
    points = [point(1, 1.0, 0.01, busy=True), point(2, 0.40, 0.01)]
    result = ScalingResult("pi", "numba-parallel", "strong", points, usable_cores=2)
    kinds = [(n.workers, n.kind) for n in result.notes]
    assert (1, "busy") in kinds and (2, "above-ideal") in kinds
    assert "superlinear" not in {kind for _, kind in kinds}
    assert "other programs used 1.1 cores" in result.notes[0].text


def test_honest_points_carry_no_notes():
    result = amdahl_result(0.1, [1, 2, 4], spread=0.02)
    assert result.notes == []
    assert not result.flagged.any()


def test_failed_points_are_noted_by_their_error():
    result = amdahl_result(0.1, [1, 2], spread=0.0)
    result.points.append(ScalingPoint(4, 1000, error="EngineError: engine 3 died"))
    assert [(n.workers, n.kind) for n in result.notes] == [(4, "failed")]


def test_derived_figures_are_written_with_the_result():
    result = amdahl_result(0.1, [1, 2, 3], spread=0.01)
    data = result.to_dict()
    assert data["fit"]["law"] == "Amdahl" and data["fit"]["low"] <= 0.1 <= data["fit"]["high"]
    assert data["karp_flatt"][0] is None and data["karp_flatt"][1] == pytest.approx(0.1, abs=0.02)
    back = ScalingResult.from_json(result.to_json())
    assert back.fit == result.fit

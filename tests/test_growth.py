"""Growth curves: measurement bookkeeping, the fitted exponent and the plot (no timing asserts)."""

from __future__ import annotations

import math
import time

import matplotlib
import numpy as np
import pytest

from workshop.growth import GrowthCurve, fit_exponent, growth, plot_growth

matplotlib.use("Agg")


def test_fit_exponent_reads_the_slope():
    n = np.array([10, 100, 1000, 10000])
    assert fit_exponent(n, 3e-9 * n**2) == pytest.approx(2.0)
    assert fit_exponent(n, 5e-7 * n) == pytest.approx(1.0)
    assert fit_exponent(n, [1e-6, 1e-6, 1e-6, 1e-6]) == pytest.approx(0.0, abs=1e-12)
    # only the largest sizes: a constant overhead at small n is ignored
    times = 1e-4 + 1e-9 * n**2
    assert fit_exponent(n, times, last=2) == pytest.approx(2.0, abs=0.05)
    assert fit_exponent(n, times) < 1.5


def test_fit_exponent_skips_missing_points_and_validates():
    assert fit_exponent([1, 2, 4], [1.0, math.nan, 4.0]) == pytest.approx(1.0)
    assert math.isnan(fit_exponent([1, 2], [1.0, math.nan]))
    with pytest.raises(ValueError, match="differ in length"):
        fit_exponent([1, 2], [1.0])
    with pytest.raises(ValueError, match="last must be >= 2"):
        fit_exponent([1, 2], [1.0, 2.0], last=1)


def test_growth_measures_every_function_at_every_size():
    calls = []

    def make_input(n):
        calls.append(n)
        return (list(range(n)),)

    curves = growth({"sum": sum, "len": len}, make_input, [10, 100], repeat=2, min_time=0.001)
    assert calls == [10, 100]
    assert list(curves) == ["sum", "len"]
    curve = curves["sum"]
    assert curve.sizes == [10, 100]
    assert len(curve.measurements) == 2
    assert np.all(curve.times > 0)
    assert "sum: time grows like n^" in str(curve)


def test_growth_stops_a_curve_that_gets_too_slow():
    def slow(n):
        time.sleep(0.02 if n > 1 else 0.0)

    curves = growth({"slow": slow}, lambda n: (n,), [1, 2, 3], repeat=1, min_time=0, max_call=0.01)
    measurements = curves["slow"].measurements
    assert measurements[0] is not None and measurements[1] is not None
    assert measurements[2] is None  # the call at n=2 took longer than max_call
    assert math.isnan(curves["slow"].times[2])


@pytest.mark.parametrize(
    ("sizes", "message"),
    [([], "whole numbers"), ([0, 1], "whole numbers"), ([3, 2], "increasing")],
)
def test_growth_validates_sizes(sizes, message):
    with pytest.raises(ValueError, match=message):
        growth({"len": len}, lambda n: ([0] * n,), sizes)


def test_growth_validates_funcs_and_inputs():
    with pytest.raises(ValueError, match="at least one function"):
        growth({}, lambda n: (n,), [1])
    with pytest.raises(ValueError, match="must return a tuple"):
        growth({"abs": abs}, lambda n: n, [1])


def test_plot_growth_draws_curves_and_guides():
    curve = GrowthCurve("demo", [10, 100, 1000], [])
    curves = growth({"demo": sum}, lambda n: (range(n),), [10, 100, 1000], repeat=1, min_time=0)
    ax = plot_growth(curves, title="demo")
    labels = [line.get_label() for line in ax.get_lines()]
    assert any(label.startswith("demo  (slope") for label in labels)
    assert len(ax.get_lines()) == 3  # the curve and the two guides
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.collections, "each measured point carries its error bar"
    with pytest.raises(ValueError, match="at least one GrowthCurve"):
        plot_growth([])
    assert math.isnan(curve.exponent)

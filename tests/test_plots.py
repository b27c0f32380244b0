"""Measured points are drawn with their spread, doubtful ones apart, fits with their band."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from workshop.plots import FLAGGED_LABEL, draw_fit, draw_measured
from workshop.scaling import ScalingPoint, ScalingResult
from workshop.timing import Measurement


def result(times: dict[int, tuple[float, float]]) -> ScalingResult:
    points = [
        ScalingPoint(p, 100, Measurement("t", [t * (1 - s), t, t * (1 + s)], 1, t))
        for p, (t, s) in times.items()
    ]
    return ScalingResult("pi", "numba-parallel", "strong", points, usable_cores=4)


def test_error_bars_and_doubtful_points_are_drawn():
    r = result({1: (1.0, 0.3), 2: (0.45, 0.3), 4: (0.3, 0.01)})
    ax = Figure().subplots()
    draw_measured(ax, r.workers, r.speedup, r.speedup_error, r.flagged, label="speed-up")
    bars = [c for c in ax.containers if hasattr(c, "has_yerr") and c.has_yerr]
    assert len(bars) == 1
    segments = bars[0].lines[2][0].get_segments()
    heights = [abs(seg[1][1] - seg[0][1]) for seg in segments]
    np.testing.assert_allclose(heights, 2 * r.speedup_error)
    labels = [line.get_label() for line in ax.get_lines()]
    assert FLAGGED_LABEL in labels
    ringed = next(line for line in ax.get_lines() if line.get_label() == FLAGGED_LABEL)
    assert list(ringed.get_xdata()) == [1.0, 2.0]  # both noisy points, not the steady one


def test_a_fit_is_drawn_with_its_band_only_from_three_counts():
    ax = Figure().subplots()
    draw_fit(ax, result({1: (1.0, 0.0), 2: (0.6, 0.0)}), np.linspace(1, 4, 10))
    assert not ax.get_lines() and not ax.collections
    noisy = result({1: (1.0, 0.05), 2: (0.6, 0.05), 4: (0.4, 0.05)})
    draw_fit(ax, noisy, np.linspace(1, 4, 10))
    (line,) = ax.get_lines()
    assert line.get_label().startswith("Amdahl fit (s = ")
    assert len(ax.collections) == 1  # the uncertainty band


def test_comparison_bars_carry_their_spread_and_hatch_unstable_ones():
    from workshop.comparison import Comparison

    steady = Measurement("a", [1.0, 1.01, 0.99], 1, 1.0)
    noisy = Measurement("b", [0.5, 0.8, 0.2], 1, 0.5)
    comparison = Comparison("pi", 100, {"C": steady, "mine": noisy}, reference="C")
    ax = comparison.plot(ax=Figure().subplots())
    (bars,) = [c for c in ax.containers if hasattr(c, "patches")]
    assert [bar.get_hatch() or "" for bar in bars.patches] == ["//", ""]  # "mine" on the bottom
    assert bars.errorbar is not None
    texts = [t.get_text() for t in ax.texts]
    assert any("unstable: spread" in t for t in texts)

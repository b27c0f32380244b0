"""How a cost grows with input size: time against n on log-log axes, where complexity shows.

On log-log axes a cost that grows like n^k is a straight line of slope k, so a linear algorithm
and a quadratic one part ways visibly, whatever the constant factors. ``growth`` measures several
implementations at each size with ``workshop.timing.compare`` (interleaved, so they share the
machine's mood); ``fit_exponent`` reads the slope; ``plot_growth`` draws the curves with guide
lines of slope 1 and 2. A curve stops growing once one call exceeds ``max_call`` seconds, so a
quadratic algorithm cannot hold a notebook hostage.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workshop.timing import Measurement, compare

__all__ = ["GrowthCurve", "fit_exponent", "growth", "plot_growth"]


@dataclass
class GrowthCurve:
    """One implementation's measurements over input sizes (``None`` where it was skipped)."""

    label: str
    sizes: list[int]
    measurements: list[Measurement | None] = field(default_factory=list)

    @property
    def times(self) -> np.ndarray:
        """Median seconds per call at each size (NaN where skipped)."""
        return np.array([m.median if m else math.nan for m in self.measurements], dtype=float)

    @property
    def exponent(self) -> float:
        """The fitted k of time ~ n^k over the measured sizes (NaN with fewer than 2 points)."""
        times = self.times
        return fit_exponent(self.sizes[: len(times)], times)

    def __str__(self) -> str:
        exponent = self.exponent
        if not self.sizes:
            return f"{self.label}: no sizes"
        slope = "n/a" if math.isnan(exponent) else f"{round(exponent, 2) + 0.0:.2f}"
        return f"{self.label}: time grows like n^{slope} over n = {self.sizes[0]}..{self.sizes[-1]}"


def fit_exponent(sizes: Sequence[float], times: Sequence[float], last: int | None = None) -> float:
    """Least-squares slope of log(time) against log(size): the k in time ~ n^k.

    NaN and non-positive points are left out; ``last`` keeps only the largest sizes, where the
    asymptotic behaviour shows (small inputs are dominated by fixed call overheads).
    Returns NaN when fewer than two usable points remain.
    """
    n = np.asarray(sizes, dtype=float)
    t = np.asarray(times, dtype=float)
    if n.shape != t.shape:
        raise ValueError(f"sizes and times differ in length ({n.size} vs {t.size})")
    ok = np.isfinite(t) & (t > 0) & (n > 0)
    n, t = n[ok], t[ok]
    if last is not None:
        if last < 2:
            raise ValueError(f"last must be >= 2 points, got {last!r}")
        n, t = n[-last:], t[-last:]
    if np.unique(n).size < 2:
        return math.nan
    slope, _ = np.polyfit(np.log(n), np.log(t), 1)
    return float(slope)


def growth(
    funcs: Mapping[str, Callable[..., Any]],
    make_input: Callable[[int], tuple],
    sizes: Sequence[int],
    *,
    repeat: int = 3,
    min_time: float = 0.02,
    max_call: float = 0.5,
    warn: bool = False,
) -> dict[str, GrowthCurve]:
    """Measure every function of ``funcs`` on ``make_input(n)`` for each n of ``sizes``.

    ``make_input(n)`` returns the positional arguments for one call (a tuple). At each size the
    functions are compared interleaved. Once a function's warm-up call takes longer than
    ``max_call`` seconds, the larger sizes are skipped for it (their measurement is ``None``).
    """
    if not funcs:
        raise ValueError("growth needs at least one function, as a mapping of label -> callable")
    ordered = list(sizes)
    if not ordered or any(not isinstance(n, int | np.integer) or n < 1 for n in ordered):
        raise ValueError(f"sizes must be whole numbers >= 1, got {sizes!r}")
    if ordered != sorted(ordered):
        raise ValueError(f"sizes must be increasing, got {sizes!r}")
    if not max_call > 0:
        raise ValueError(f"max_call must be a number of seconds > 0, got {max_call!r}")
    curves = {label: GrowthCurve(label, [int(n) for n in ordered]) for label in funcs}
    too_slow: set[str] = set()
    for n in ordered:
        inputs = make_input(int(n))
        if not isinstance(inputs, tuple):
            raise ValueError(
                f"make_input must return a tuple of arguments, got {type(inputs).__name__}"
            )
        active = {label: f for label, f in funcs.items() if label not in too_slow}
        results = (
            compare(active, *inputs, repeat=repeat, min_time=min_time, warn=warn) if active else {}
        )
        for label, curve in curves.items():
            measurement = results.get(label)
            curve.measurements.append(measurement)
            if measurement is not None and measurement.first_call > max_call:
                too_slow.add(label)
    return curves


def plot_growth(
    curves: Mapping[str, GrowthCurve] | Sequence[GrowthCurve],
    ax: Any = None,
    *,
    xlabel: str = "input size n",
    ylabel: str = "time per call (s), ± 1 standard deviation",
    title: str | None = None,
    guides: Sequence[int] = (1, 2),
) -> Any:
    """Draw time against size on log-log axes with dotted guides of slope ``guides``.

    Each curve is labelled with its fitted exponent. Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    items = list(curves.values()) if isinstance(curves, Mapping) else list(curves)
    if not items:
        raise ValueError("plot_growth needs at least one GrowthCurve")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for curve in items:
        exponent = curve.exponent
        label = (
            curve.label
            if math.isnan(exponent)
            else f"{curve.label}  (slope {round(exponent, 2) + 0.0:.2f})"  # no "-0.00"
        )
        times = curve.times
        (line,) = ax.loglog(curve.sizes[: len(times)], times, "o-", label=label)
        spread = [m.stdev if m else math.nan for m in curve.measurements]  # ± 1 std deviation
        ax.errorbar(
            curve.sizes[: len(times)], times, yerr=spread, fmt="none", ecolor=line.get_color()
        )
    all_times = np.concatenate([c.times for c in items])
    finite = all_times[np.isfinite(all_times) & (all_times > 0)]
    sizes = np.array(sorted({n for c in items for n in c.sizes}), dtype=float)
    if finite.size and sizes.size > 1:
        anchor = float(np.min(finite))
        bottom, top = ax.get_ylim()
        for k in guides:
            ax.loglog(sizes, anchor * (sizes / sizes[0]) ** k, ":", color="grey", linewidth=1)
            ax.annotate(
                f"n^{k}",
                (sizes[-1], anchor * (sizes[-1] / sizes[0]) ** k),
                color="grey",
                fontsize=8,
                annotation_clip=True,
            )
        ax.set_ylim(bottom, top)  # guides must not stretch the axes beyond the data
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return ax

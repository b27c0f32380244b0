"""One input, several implementations of a problem side by side, and how each compares with C.

``compare_implementations`` takes implementations from the kernel registry by name, plus
callables of your own (a notebook's Numba or Cython function), and hands them to one call of
``workshop.timing.compare``, which checks each one's first result against the problem's
reference and times the correct ones interleaved on the same input. An implementation that
cannot run here (no C compiler, kernels not built), fails or gives a wrong answer is listed with
the reason instead of timed. ``Comparison.plot`` draws the median times on one bar chart,
labelled with each one's ratio to the problem's baseline (C) where it was measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workshop.kernels import Problem, get_problem
from workshop.timing import Measurement, compare, format_seconds

__all__ = ["Comparison", "compare_implementations"]


@dataclass
class Comparison:
    """Median times of several implementations on one input, and why others were left out."""

    problem: str
    size: int
    measurements: dict[str, Measurement] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    reference: str | None = None  # label of the measured C reference, if any

    def ratio(self, label: str) -> float:
        """Time of ``label`` divided by the C reference's (NaN without a reference)."""
        if label not in self.measurements:
            raise ValueError(
                f"{label!r} was not measured; measured: {', '.join(self.measurements)}"
            )
        if self.reference is None:
            return math.nan
        return self.measurements[label].median / self.measurements[self.reference].median

    def __str__(self) -> str:
        width = max([len(label) for label in (*self.measurements, *self.skipped)] or [0])
        lines = [f"{self.problem}, size {self.size}:"]
        for label, measurement in self.measurements.items():
            ratio = self.ratio(label)
            versus = "" if math.isnan(ratio) else f"  {ratio:8.3g} x the time of C"
            lines.append(
                f"  {label:<{width}}  {format_seconds(measurement.median):>9}"
                f"  (spread {measurement.spread:4.0%}){versus}"
            )
        for label, reason in self.skipped.items():
            lines.append(f"  {label:<{width}}  not measured: {reason}")
        return "\n".join(lines)

    def plot(self, ax: Any = None, title: str | None = None) -> Any:
        """Horizontal bars of the median times (log scale); returns the matplotlib Axes."""
        if ax is None:
            import matplotlib.pyplot as plt

            height = 0.45 * max(len(self.measurements), 2) + 1.4
            _, ax = plt.subplots(figsize=(8, height), layout="constrained")
        labels = list(self.measurements)[::-1]  # first one on top
        runs = [self.measurements[label] for label in labels]
        times = [run.median for run in runs]
        colours = ["C3" if label == self.reference else "C0" for label in labels]
        # error bars: one standard deviation; unstable bars hatched, so noise is not read as fact
        hatches = ["" if run.stable else "//" for run in runs]
        bars = ax.barh(labels, times, color=colours, xerr=[r.stdev for r in runs], capsize=3)
        for bar, hatch in zip(bars, hatches, strict=True):
            bar.set_hatch(hatch)
        ax.set_xscale("log")
        for y, label in enumerate(labels):
            ratio = self.ratio(label)
            text = format_seconds(runs[y].median)
            if not math.isnan(ratio) and label != self.reference:
                text += f"  ({ratio:.3g} × the time of C)"
            if not runs[y].stable:
                text += f"  unstable: spread {runs[y].spread:.0%}"
            ax.text(times[y], y, " " + text, va="center", fontsize=9)
        if times:
            ax.set_xlim(min(times) / 2, max(times) * 30)  # room for the labels
        ax.set_xlabel(
            "median time per call (s) ± 1 standard deviation, measured now; shorter is faster"
        )
        ax.set_title(title or f"{self.problem}, size {self.size}: the same input for every one")
        return ax


def compare_implementations(
    problem: str | Problem,
    size: int,
    names: Sequence[str] = (),
    extra: Mapping[str, Callable[..., Any]] | None = None,
    *,
    repeat: int = 3,
    min_time: float = 0.02,
) -> Comparison:
    """Time the registry's ``names`` and the ``extra`` callables on ``problem``'s input at ``size``.

    Registry implementations are labelled with their titles, ``extra`` ones with their keys; each
    is called once first (which also compiles a JIT function) and validated, and only correct
    ones are timed, interleaved. The problem's baseline (``Problem.baseline``, plain C), when among
    ``names`` and available, is the one every ratio is taken against. Raises ValueError for an unknown problem or name, a size
    outside the problem's range, or a label used twice.
    """
    spec = problem if isinstance(problem, Problem) else get_problem(problem)
    inputs = spec.make_input(size)
    candidates, skipped, reference = _candidates(spec, names, extra or {})
    measurements = {}
    if candidates:
        measurements = compare(
            candidates,
            *inputs,
            repeat=repeat,
            min_time=min_time,
            warn=False,
            check=lambda result: spec.validate(result, inputs),
            failed=skipped,
        )
    if reference not in measurements:
        reference = None
    return Comparison(spec.name, int(size), measurements, skipped, reference)


def _candidates(
    spec: Problem, names: Sequence[str], extra: Mapping[str, Callable[..., Any]]
) -> tuple[dict[str, Callable[..., Any]], dict[str, str], str | None]:
    """The callables to time by label, the labels that cannot run here, the baseline's label."""
    candidates: dict[str, Callable[..., Any]] = {}
    skipped: dict[str, str] = {}
    reference = None
    for name in names:
        impl = spec.implementation(name)  # ValueError listing the choices
        reason = impl.unavailable_reason()
        if reason is not None:
            skipped[impl.title] = reason
        else:
            candidates[impl.title] = impl
            if name == spec.baseline:
                reference = impl.title
    for label, func in extra.items():
        if label in candidates or label in skipped:
            raise ValueError(f"the label {label!r} is used twice; give each callable its own")
        if not callable(func):
            raise ValueError(f"{label!r} must be a callable, not {type(func).__name__}")
        candidates[label] = func
    return candidates, skipped, reference

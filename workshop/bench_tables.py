"""The tables of ``workshop bench``'s results.md: what a person reads after a run.

Each figure reads right on its own line: a time carries its spread and its size its unit; "÷ C"
compares with the C reference measured at the same size in the same interleaved group, and says
so; a speed-up is the ratio of the two times shown on its own row (one sweep); a point that
should not be read at face value is named with the reason; a target the run did not measure
says why in words.
"""

from __future__ import annotations

import math
from typing import Any

from workshop.bandwidth import bandwidth_markdown
from workshop.scaling import KARP_FLATT_NOTE, ScalingResult
from workshop.timing import Measurement, format_seconds

__all__ = ["bench_markdown"]


def _size(problem: str, size: int) -> str:
    from workshop.kernels import get_problem

    try:
        label = get_problem(problem).size_label
    except ValueError:
        label = ""
    return f"{size:,} {label}".strip()


def _time(m: Measurement) -> str:
    text = f"{format_seconds(m.median)} ± {format_seconds(m.stdev)}"
    return text if m.stable else f"{text} (unstable: spread {m.spread:.0%})"


def _load_line(report: Any) -> str:
    load = report.load
    if load is None:
        return "Other programs' CPU use could not be read on this machine."
    if load.busy:
        return (
            f"**Other programs used {load.other_cores:.1f} of the {load.usable_cores} usable "
            "cores just before this run**: every figure below may be slower and noisier than "
            "this machine can do; run again on a quiet machine before trusting a ratio."
        )
    return (
        f"The machine was quiet just before this run (other programs used "
        f"{load.other_cores:.2f} cores)."
    )


def _header(report: Any) -> list[str]:
    machine = report.machine
    return [
        f"# workshop bench ({'quick' if report.quick else 'full'})",
        "",
        f"Usable cores: {machine['usable_cores']} ({machine['cores_reason']}). "
        f"All figures measured in this run ({format_seconds(report.elapsed)} in all). "
        + _load_line(report),
        "",
    ]


def _rows_table(report: Any) -> list[str]:
    lines = [
        "## One worker, side by side",
        "",
        "Time: median of the samples ± their standard deviation. ÷ C: that median over the C "
        "reference's, both measured at the row's size in the same interleaved group (the "
        "pure-Python rows run at a smaller size of their own, with C beside them at that size).",
        "",
        "| problem | implementation | size | time | first call | ÷ C (same size) | compiled with |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report.rows:
        size = _size(row.problem, row.size)
        if row.measurement is None:
            lines.append(
                f"| {row.problem} | {row.implementation} | {size} | skipped: {row.error} | | | |"
            )
            continue
        ratio = row.ratio_to_reference
        ratio_text = "–" if ratio is None else f"{ratio:.2f}"
        if row.backend == "c":
            ratio_text = "1 (the reference)"
        compiled = row.flags or ("Numba JIT for this CPU" if row.backend == "numba" else "–")
        lines.append(
            f"| {row.problem} | {row.implementation} | {size} | {_time(row.measurement)} | "
            f"{format_seconds(row.measurement.first_call)} | {ratio_text} | {compiled} |"
        )
    return [*lines, ""]


def _fit_text(sweep: ScalingResult) -> str:
    if sweep.fit is not None:
        return sweep.fit.text()
    metric, error = sweep.karp_flatt[-1], sweep.karp_flatt_error[-1]
    if not math.isfinite(metric):
        return "–"
    return f"Karp-Flatt e = {metric:.3f} ± {error:.3f}"


def _notes(sweep: ScalingResult) -> str:
    """The sweep's notes, with the points measured under load named together, once."""
    busy = [note.workers for note in sweep.notes if note.kind == "busy"]
    texts = [note.text for note in sweep.notes if note.kind != "busy"]
    if busy:
        counts = ", ".join(str(w) for w in busy)
        texts.insert(0, f"other programs were busy while {counts} worker(s) were measured")
    return "; ".join(texts) or "–"


def _scaling_row(sweep: ScalingResult) -> str:
    name, size = f"| {sweep.problem} | {sweep.implementation} |", ""
    notes = _notes(sweep)
    points = sweep.ok_points
    if len(points) < 2:
        size = _size(sweep.problem, sweep.points[0].size) if sweep.points else "–"
        return f"{name} {size} | | | | | | {notes} |"
    first, last = points[0], points[-1]
    s, ds = sweep.speedup[-1], sweep.speedup_error[-1]
    e, de = sweep.efficiency[-1], sweep.efficiency_error[-1]
    return (
        f"{name} {_size(sweep.problem, last.size)} | {_time(first.measurement)} "
        f"({first.workers}) | {_time(last.measurement)} ({last.workers}) | {s:.2f}× ± {ds:.2f} "
        f"| {e:.0%} ± {de:.0%} | {_fit_text(sweep)} | {notes} |"
    )


def _scaling_table(report: Any) -> list[str]:
    if not report.sweeps:
        return []
    lines = [
        "## Strong scaling",
        "",
        "One sweep per row: the speed-up is the ratio of the two times on that row (fewest and "
        "most workers, in brackets), ± its standard deviation from both times' spreads.",
        "",
        "| problem | implementation | size | time, fewest workers | time, most workers "
        "| speed-up | efficiency | fit | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_scaling_row(sweep) for sweep in report.sweeps]
    if any(sweep.fit is None for sweep in report.sweeps):
        lines += ["", KARP_FLATT_NOTE]
    return [*lines, ""]


def _targets_table(report: Any) -> list[str]:
    lines = ["## Targets", "", "| target | goal | measured | met |", "|---|---|---|---|"]
    for target in report.targets:
        value = "–" if target.value is None else f"{target.value:.3g}"
        lines.append(f"| {target.name} | {target.goal} | {value} | {target.verdict()} |")
    return lines


def bench_markdown(report: Any) -> str:
    """results.md for ``report`` (a ``workshop.bench.BenchReport``)."""
    lines = _header(report) + _rows_table(report) + _scaling_table(report)
    lines += bandwidth_markdown(report.bandwidths(), report.stream_bandwidths)
    lines += _targets_table(report)
    if report.cluster_start is not None:
        lines += ["", f"Engine cluster start: {format_seconds(report.cluster_start)}."]
    trips = getattr(report, "engine_round_trips", None)
    if trips:
        each = ", ".join(f"{format_seconds(s)} on {k}" for k, s in sorted(trips.items()))
        lines += [
            "",
            f"Engine round trip (an empty task on each engine, median of 20): {each} "
            "engine(s). Every engine call pays this on top of its work.",
        ]
    return "\n".join(lines) + "\n"

"""``workshop bench``: every problem × implementation, strong-scaling sweeps, and the lab's latency.

Everything is measured in one run on this machine and reported as ratios (to the C reference at
the same size, to one worker within the same sweep), because absolute times on shared machines
drift. Every time carries its spread, doubtful points are named, and the CPU time other programs
used is reported, since it can make any figure here wrong. Results go to a new timestamped
folder (JSON, PNG plots, a markdown table); nothing earlier is overwritten. The targets are in
``workshop.targets``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workshop.bandwidth import heat_bandwidths
from workshop.comparison import compare_implementations
from workshop.errors import MissingCapability
from workshop.hardware import report, usable_cores
from workshop.kernels import engines
from workshop.load import LoadReading, measure_load
from workshop.scaling import ScalingResult, strong_scaling
from workshop.targets import Target, check_targets
from workshop.timing import Measurement

__all__ = ["BenchReport", "ImplementationRow", "Target", "run_bench"]

SLOW_BACKEND = "python"  # measured at a smaller size of its own, beside C at that size
SLOW_FIRST_CALL_BUDGET = 0.5  # seconds: the pure-Python size doubles until a call takes this long


@dataclass
class ImplementationRow:
    """One implementation of one problem, measured beside the others at the same size."""

    problem: str
    implementation: str
    size: int
    measurement: Measurement | None = None
    reference: Measurement | None = None
    error: str | None = None
    backend: str = ""
    flags: str | None = None  # how a compiled implementation was compiled (C and Cython)

    @property
    def ratio_to_reference(self) -> float | None:
        """This implementation's median time over the C reference's, both at ``size``."""
        if self.measurement is None or self.reference is None:
            return None
        return self.measurement.median / self.reference.median

    def to_dict(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "implementation": self.implementation,
            "size": self.size,
            "measurement": self.measurement.to_dict() if self.measurement else None,
            "reference": self.reference.to_dict() if self.reference else None,
            "ratio_to_reference": self.ratio_to_reference,
            "error": self.error,
            "backend": self.backend,
            "flags": self.flags,
        }


@dataclass
class BenchReport:
    """Everything one ``workshop bench`` run measured."""

    quick: bool
    machine: dict[str, Any]
    rows: list[ImplementationRow] = field(default_factory=list)
    sweeps: list[ScalingResult] = field(default_factory=list)
    lab_latency: float | None = None
    cluster_start: float | None = None
    #: STREAM triad bytes/s by core count (measured when heat is benched)
    stream_bandwidths: dict[int, float] = field(default_factory=dict)
    #: seconds of an empty task on each of k engines, by k (measured when engines were swept)
    engine_round_trips: dict[int, float] | None = None
    targets: list[Target] = field(default_factory=list)
    elapsed: float = 0.0
    load: LoadReading | None = None  # other programs' CPU use just before the run

    def to_dict(self) -> dict[str, Any]:
        return {
            "load": None if self.load is None else self.load.to_dict(),
            "quick": self.quick,
            "machine": self.machine,
            "rows": [row.to_dict() for row in self.rows],
            "sweeps": [sweep.to_dict() for sweep in self.sweeps],
            "lab_latency": self.lab_latency,
            "cluster_start": self.cluster_start,
            "stream_bandwidths": self.stream_bandwidths,
            "engine_round_trips": self.engine_round_trips,
            "bandwidth": self.bandwidths(),
            "targets": [target.to_dict() for target in self.targets],
            "elapsed": self.elapsed,
        }

    def sweep(self, problem: str, implementation: str) -> ScalingResult | None:
        for result in self.sweeps:
            if (result.problem, result.implementation) == (problem, implementation):
                return result
        return None

    def bandwidths(self) -> list[dict[str, Any]]:
        """The heat equation's achieved memory bandwidths (``workshop.bandwidth``)."""
        return heat_bandwidths(self.rows, self.sweeps, self.stream_bandwidths)

    def row(self, problem: str, implementation: str) -> ImplementationRow | None:
        for row in self.rows:
            if (row.problem, row.implementation) == (problem, implementation):
                return row
        return None

    def markdown(self) -> str:
        """The tables a person reads: times with spreads, ratios to C, speed-ups, targets."""
        from workshop.bench_tables import bench_markdown

        return bench_markdown(self)


def _bench_size(problem: Any, quick: bool) -> int:
    """Full: the default size. Quick: halfway (geometrically) between the small and default size,
    large enough that starting the C reference's process does not dominate its time."""
    if not quick:
        return problem.default_size
    return problem.check_size(round(math.sqrt(problem.small_size * problem.default_size)))


def _slow_size(problem: Any, impl: Any, largest: int) -> int:
    """Largest size (doubling from the small size) at which one pure-Python call stays quick."""
    size = problem.small_size
    while size * 2 <= largest:
        inputs = problem.make_input(size)
        start = time.perf_counter()
        impl(*inputs, workers=1)
        if time.perf_counter() - start > SLOW_FIRST_CALL_BUDGET / 4:
            break
        size *= 2
    return size


def _compare_group(
    problem: Any, names: Sequence[str], size: int, repeat: int, min_time: float
) -> dict[str, ImplementationRow]:
    """Measure implementations interleaved at one size, each validated first (``comparison``)."""
    measured = compare_implementations(problem, size, names, repeat=repeat, min_time=min_time)
    rows = {}
    for name in names:
        title = problem.implementation(name).title
        backend = problem.implementation(name).backend
        rows[name] = ImplementationRow(
            problem.name,
            name,
            size,
            measurement=measured.measurements.get(title),
            error=measured.skipped.get(title),
            backend=backend,
            flags=_compile_flags(problem.name, backend),
        )
    return rows


def _compile_flags(problem: str, backend: str) -> str | None:
    """How the C reference or the problem's Cython module was compiled, where known."""
    try:
        if backend == "c":
            from workshop.kernels import native

            return native.flags(problem)
        if backend == "cython":
            from workshop.kernels.compiled import cython_module

            return getattr(cython_module(f"{problem}_cy"), "CFLAGS", None)
    except (ImportError, OSError, RuntimeError, ValueError):
        return None
    return None


def _measure_problem(
    problem: Any, quick: bool, repeat: int, min_time: float, log: Callable[[str], None]
):
    size = _bench_size(problem, quick)
    fast, slow, skipped = [], [], []
    for name, impl in problem.implementations.items():
        reason = impl.unavailable_reason()
        if reason:
            skipped.append(
                ImplementationRow(problem.name, name, size, error=reason, backend=impl.backend)
            )
        else:
            (slow if impl.backend == SLOW_BACKEND else fast).append(name)
    baseline = problem.baseline
    has_reference = baseline in fast
    log(f"{problem.name}: {', '.join(fast)} at size {size}")
    rows = _compare_group(problem, fast, size, repeat, min_time)
    if slow:
        slow_size = _slow_size(problem, problem.implementation(slow[0]), size)
        log(f"{problem.name}: {', '.join(slow)} at size {slow_size} (beside C at that size)")
        group = [*slow, baseline] if has_reference else slow
        slow_rows = _compare_group(problem, group, slow_size, repeat, min_time)
        for name in slow:
            rows[name] = slow_rows[name]
            rows[name].reference = slow_rows[baseline].measurement if has_reference else None
    reference = rows[baseline].measurement if has_reference else None
    for name in fast:
        rows[name].reference = reference
    ordered = [rows[name] for name in problem.implementations if name in rows]
    return ordered + skipped


def _sweep_problem(
    problem: Any, quick: bool, repeat: int, min_time: float, log: Callable[[str], None]
):
    workers = list(range(1, usable_cores() + 1))
    results = []
    for name, impl in problem.implementations.items():
        if not impl.parallel or impl.unavailable_reason():
            continue
        log(f"{problem.name}/{name}: strong scaling over workers {workers}")
        results.append(
            strong_scaling(
                problem.name,
                name,
                workers,
                _bench_size(problem, quick),
                repeat=repeat,
                min_time=min_time,
            )
        )
    return results


def _start_cluster(log: Callable[[str], None]) -> float | None:
    """Start the shared engine cluster (if it is not running) and return how long its start took."""
    log("starting the engine cluster")
    return engines.start()


def _engine_round_trips(
    sweeps: Sequence[ScalingResult], log: Callable[[str], None]
) -> dict[int, float] | None:
    """The engines' messaging cost at each worker count their sweeps used: an empty task per
    engine, sent and collected (what the engine targets' notes subtract to say why)."""
    counts = sorted(
        {point.workers for sweep in sweeps if _on_engines(sweep) for point in sweep.ok_points}
    )
    if not counts:
        return None
    log(f"engine round trips: an empty task on each of {', '.join(map(str, counts))} engines")
    return {k: engines.round_trip(k) for k in counts}


def _on_engines(sweep: ScalingResult) -> bool:
    from workshop.kernels import get_problem

    return get_problem(sweep.problem).implementation(sweep.implementation).backend == "engines"


def _lab_latency(log: Callable[[str], None]) -> float | None:
    """The lab's delay from a workers-slider move (2 to 1) to the start of measuring."""
    from workshop.lab import SpeedupLab

    if usable_cores() < 2:
        log("lab latency: needs two usable cores to move the slider from 2 to 1; skipped")
        return None
    lab = SpeedupLab(problem="pi", implementation="engines", workers=1)
    try:
        lab.size.value = lab.size.options[0]
        lab.workers.value = 2  # measured once, so the move back below is from a warm state
        lab.wait(timeout=120)
        lab.workers.value = 1
        lab.wait(timeout=120)
        return lab.last_start_latency
    finally:
        lab.close()


def _heat_targets(report_: BenchReport) -> list[Target]:
    """The heat equation's memory targets: the best bandwidth at the default size, each run
    against STREAM on as many cores as it had workers, at least 0.8; MPI's 2-rank speed-up,
    reported (no goal: it depends on the machine).
    Numba and Cython against C are among ``check_targets``' compiled-kernel targets."""
    if report_.row("heat", "c") is None:
        return []
    name, goal = "heat best bandwidth ÷ STREAM on as many cores", "≥ 0.8 (full size)"
    measured = [e for e in report_.bandwidths() if e["fraction_of_stream"]]
    best = max((e["fraction_of_stream"] for e in measured), default=None)
    if best is None:
        bandwidth = Target(name, goal, None, None, "STREAM or the heat rows were not measured")
    elif report_.quick:
        bandwidth = Target(name, goal, best, None, "a quick run's sizes are too small")
    else:
        met = best >= 0.8
        bandwidth = Target(name, goal, best, met, "" if met else _why_below_stream(report_))
    mpi = [
        e["speedup"]
        for e in report_.bandwidths()
        if e["implementation"] == "mpi" and e["workers"] == 2
    ]
    why = "reported, no goal" if mpi else "the MPI sweep has no 2-rank point"
    return [
        bandwidth,
        Target("heat mpi: 2 ranks ÷ 1 rank", "reported", mpi[0] if mpi else None, None, why),
    ]


def _why_below_stream(report_: BenchReport) -> str:
    """The best run's figures, and whether more workers moved more bytes per second than one
    (then one core's loop, not the memory, held the serial runs back), from this run."""
    entries = [e for e in report_.bandwidths() if e["fraction_of_stream"]]
    if not entries:
        return ""
    best = max(entries, key=lambda e: e["fraction_of_stream"])
    said = (
        f"the best, {best['implementation']} on {best['workers']} worker(s), moved "
        f"{best['bytes_per_second'] / 1e9:.1f} GB/s, {best['fraction_of_stream']:.2f} of STREAM "
        "on as many cores"
    )
    parallel = [e for e in entries if e["workers"] > 1 and e["speedup"]]
    if not parallel:
        return said
    fastest = max(parallel, key=lambda e: e["bytes_per_second"])
    if fastest["speedup"] >= 1.3:
        return (
            f"{said}; {fastest['implementation']} moved {fastest['speedup']:.2f}× the bytes per "
            f"second with {fastest['workers']} workers as with one, so one core's loop, not "
            "the memory, holds the serial runs back"
        )
    return (
        f"{said}; {fastest['implementation']} gained only {fastest['speedup']:.2f}× from "
        f"{fastest['workers']} workers: the memory is the limit, at a lower rate than the "
        "triad reaches"
    )


def _streams(specs: Sequence[Any], log: Callable[[str], None]) -> dict[int, float]:
    """STREAM's bandwidth on one core and on every usable core (each measured once per machine),
    when heat is benched: the memory roofs of its serial and its parallel runs."""
    from workshop.bandwidth import stream_bandwidth

    if "heat" not in {spec.name for spec in specs}:
        return {}
    log("memory bandwidth: STREAM-like triad (measured once per machine, then cached)")
    found = {}
    for cores in sorted({1, usable_cores()}):
        try:
            found[cores] = stream_bandwidth(threads=cores)
        except MissingCapability as exc:
            log(f"memory bandwidth on {cores} core(s) not measured: {exc}")
    return found


def _plot(report_: BenchReport, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from workshop.plots import draw_measured

    paths = []
    for problem in sorted({s.problem for s in report_.sweeps}):
        fig, ax = plt.subplots(figsize=(6, 4))
        highest = 1
        sweeps = [s for s in report_.sweeps if s.problem == problem and s.ok_points]
        for k, sweep in enumerate(sweeps):
            draw_measured(
                ax,
                sweep.workers,
                sweep.speedup,
                sweep.speedup_error,
                sweep.flagged,
                color=f"C{k % 10}",
                label=sweep.implementation,
            )
            highest = max(highest, int(sweep.workers.max()))
        ax.plot([1, highest], [1, highest], "k--", label="ideal")
        ax.set(
            xlabel="workers",
            ylabel="speed-up (± 1 standard deviation)",
            title=f"{problem}: strong scaling, measured",
        )
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))  # one "doubtful" entry, not one per sweep
        ax.legend(unique.values(), unique.keys(), fontsize="small")
        path = folder / f"scaling-{problem}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
    return paths


def _new_folder(out: Path) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(100):
        folder = out / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new results folder under {out}")


def run_bench(
    out: Path = Path("bench-results"),
    *,
    quick: bool = False,
    problems: Sequence[str] | None = None,
    lab: bool = True,
    log: Callable[[str], None] = print,
) -> tuple[BenchReport, Path]:
    """Run the benchmark; returns the report and the new folder holding its files."""
    from workshop.kernels import get_problem
    from workshop.kernels import problems as all_problems

    names = list(problems) if problems else list(all_problems())
    specs = [get_problem(name) for name in names]  # ValueError for unknown names, before any work
    repeat, min_time = (3, 0.01) if quick else (5, 0.05)
    started = time.perf_counter()
    result = BenchReport(quick=quick, machine=report().to_dict(), load=measure_load(0.5))
    if result.load is not None and result.load.busy:
        log(result.load.note() or "")
    if lab:
        result.cluster_start = _start_cluster(log)
    result.stream_bandwidths = _streams(specs, log)
    for spec in specs:
        result.rows += _measure_problem(spec, quick, repeat, min_time, log)
        result.sweeps += _sweep_problem(spec, quick, repeat, min_time, log)
    if lab:
        result.engine_round_trips = _engine_round_trips(result.sweeps, log)
        result.lab_latency = _lab_latency(log)
    result.targets = check_targets(result, result.rows) + _heat_targets(result)
    result.elapsed = time.perf_counter() - started

    folder = _new_folder(out)
    (folder / "results.json").write_text(
        json.dumps(result.to_dict(), indent=1, default=_json_default)
    )
    (folder / "results.md").write_text(result.markdown())
    _plot(result, folder)
    return result, folder


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(f"cannot write {type(value).__name__} to JSON")

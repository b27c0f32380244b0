"""The performance targets read a bench run's ratios, and say in words what was not measured."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workshop import targets
from workshop.scaling import ScalingPoint, ScalingResult
from workshop.timing import Measurement


@dataclass
class Row:
    problem: str
    implementation: str
    backend: str
    ratio_to_reference: float | None
    error: str | None = None


@dataclass
class Run:
    quick: bool = False
    machine: dict[str, Any] = field(default_factory=lambda: {"usable_cores": 2})
    lab_latency: float | None = 0.02
    engine_round_trips: dict[int, float] | None = None
    rows: list[Row] = field(default_factory=list)
    sweeps: dict[tuple[str, str], ScalingResult] = field(default_factory=dict)

    def row(self, problem, implementation):
        return next(
            (r for r in self.rows if (r.problem, r.implementation) == (problem, implementation)),
            None,
        )

    def sweep(self, problem, implementation):
        return self.sweeps.get((problem, implementation))


def sweep(problem: str, name: str, one: float, two: float) -> ScalingResult:
    points = [
        ScalingPoint(w, 100, Measurement("t", [t, t, t], 1, t)) for w, t in ((1, one), (2, two))
    ]
    return ScalingResult(problem, name, "strong", points, usable_cores=2)


def by_name(found):
    return {t.name: t for t in found}


def test_compiled_kernels_are_held_to_the_c_reference():
    run = Run(
        rows=[
            Row("pi", "numba", "numba", 1.02),
            Row("pi", "cython", "cython", 1.3),
            Row("pi", "numpy", "numpy", 4.0),  # not a compiled kernel: no target
            Row("pi", "cython-parallel", "cython", None, error="built without OpenMP"),
        ]
    )
    found = by_name(targets.check_targets(run, run.rows))
    assert found["pi numba ÷ C, same size, 1 worker"].met is True
    assert found["pi cython ÷ C, same size, 1 worker"].met is False
    assert found["pi cython ÷ C, same size, 1 worker"].verdict() == "NO"
    assert not any("numpy" in name for name in found)
    unbuilt = found["pi cython-parallel ÷ C, same size, 1 worker"]
    assert unbuilt.met is None and unbuilt.verdict() == "not measured: built without OpenMP"


def test_speedups_come_from_one_sweep_and_meet_or_miss():
    run = Run(
        sweeps={
            ("pi", "numba-parallel"): sweep("pi", "numba-parallel", 1.0, 0.51),  # 1.96
            ("pi", "processes"): sweep("pi", "processes", 1.0, 0.6),  # 1.67
            ("mandelbrot", "cython-dynamic"): sweep("mandelbrot", "cython-dynamic", 1.0, 0.54),
        }
    )
    found = by_name(targets.check_targets(run, []))
    assert found["pi numba-parallel: 2 workers ÷ 1 worker"].met is True
    processes = found["pi processes: 2 workers ÷ 1 worker"]
    assert processes.met is False and abs(processes.value - 1 / 0.6) < 1e-9
    assert found["mandelbrot cython-dynamic: 2 workers ÷ 1 worker"].met is True
    engines = found["pi engines: 2 workers ÷ 1 worker"]
    assert engines.met is None and "no result at 1 and 2 workers" in engines.verdict()
    only_pi = Run(sweeps={("pi", "engines"): sweep("pi", "engines", 1.0, 0.51)})
    found = by_name(targets.check_targets(only_pi, []))
    assert found["mandelbrot engines-balanced: 2 workers ÷ 1 worker"].verdict() == (
        "not measured: mandelbrot was not benched in this run (workshop bench --problem)"
    )


def test_quick_runs_and_one_core_say_why_nothing_was_checked():
    quick = Run(quick=True, sweeps={("pi", "engines"): sweep("pi", "engines", 1.0, 0.5)})
    found = by_name(targets.check_targets(quick, [Row("pi", "numba", "numba", 1.0)]))
    assert found["pi engines: 2 workers ÷ 1 worker"].verdict() == (
        "not measured: a quick run's sizes are too small"
    )
    assert found["pi numba ÷ C, same size, 1 worker"].met is None
    one_core = Run(machine={"usable_cores": 1}, lab_latency=None)
    found = by_name(targets.check_targets(one_core, []))
    assert found["pi processes: 2 workers ÷ 1 worker"].note == "needs 2 usable cores"
    assert (
        "not measured: the lab was not run" in found["lab: slider 2→1 to measuring (s)"].verdict()
    )


def test_targets_are_plain_data():
    target = targets.Target("x", "≥ 1", 1.5, True)
    assert target.to_dict() == {"name": "x", "goal": "≥ 1", "value": 1.5, "met": True, "note": ""}


def test_a_miss_says_why_where_the_run_can_tell():
    rows = [
        Row("mandelbrot", "numba", "numba", 1.02),
        Row("mandelbrot", "numba-parallel", "numba", 1.3),
        Row("mandelbrot", "cython", "cython", 1.4),
    ]
    found = by_name(targets.check_targets(Run(rows=rows), rows))
    parallel = found["mandelbrot numba-parallel ÷ C, same size, 1 worker"]
    assert parallel.met is False
    assert parallel.verdict().startswith("NO: the serial numba kernel is within 1.1× (1.02)")
    assert found["mandelbrot cython ÷ C, same size, 1 worker"].verdict() == "NO"

    @dataclass
    class Busy:
        busy: bool = True

    noisy = Run(rows=rows)
    noisy.load = Busy()
    found = by_name(targets.check_targets(noisy, rows))
    assert found["mandelbrot cython ÷ C, same size, 1 worker"].verdict().startswith("NO: noisy")


def test_an_engine_miss_says_what_the_messaging_cost():
    """1.0 s and 0.55 s (1.82x): with 0.01 s and 0.05 s of empty round trips taken off both,
    0.99 / 0.5 = 1.98x; the note gives the figures, the target stays missed."""
    rows = [Row("pi", "engines", "engines", None), Row("pi", "processes", "processes", None)]
    run = Run(
        rows=rows,
        engine_round_trips={1: 0.01, 2: 0.05},
        sweeps={
            ("pi", "engines"): sweep("pi", "engines", 1.0, 0.55),
            ("pi", "processes"): sweep("pi", "processes", 1.0, 0.55),
        },
    )
    found = by_name(targets.check_targets(run, []))
    engines = found["pi engines: 2 workers ÷ 1 worker"]
    assert engines.met is False
    assert "50.0 ms at 2 workers (10.0 ms at 1)" in engines.note
    assert "9% of the 2-worker time" in engines.note
    assert "would be 1.98×" in engines.note
    assert found["pi processes: 2 workers ÷ 1 worker"].verdict() == "NO"  # not engines
    run.engine_round_trips = None  # not measured: no reason is made up
    assert by_name(targets.check_targets(run, []))["pi engines: 2 workers ÷ 1 worker"].note == ""

"""bench's results.md reads right, checked on a synthetic run (nothing here is timed)."""

from __future__ import annotations

import re

import pytest

from workshop import cli
from workshop.bench import BenchReport, ImplementationRow
from workshop.load import LoadReading
from workshop.scaling import ScalingPoint, ScalingResult
from workshop.targets import Target, check_targets
from workshop.timing import Measurement


def m(seconds: float, spread: float = 0.01) -> Measurement:
    return Measurement("t", [seconds * (1 - spread), seconds, seconds * (1 + spread)], 1, seconds)


def synthetic_report(busy: bool = False) -> BenchReport:
    report = BenchReport(
        quick=False,
        machine={"usable_cores": 2, "cores_reason": "2 CPUs on this machine"},
        load=LoadReading(1.0, 1.5 if busy else 0.05, 0.0, 2, 2),
        elapsed=42.0,
    )
    c = m(0.400)
    report.rows = [
        ImplementationRow("pi", "python", 40_000, m(0.2), m(0.001), backend="python"),
        ImplementationRow("pi", "numba", 500_000_000, m(0.42), c, backend="numba"),
        ImplementationRow(
            "pi", "cython", 500_000_000, m(0.5), c, backend="cython", flags="-O3 -march=native"
        ),
        ImplementationRow("pi", "c", 500_000_000, c, c, backend="c", flags="-O3 -march=native"),
        ImplementationRow("pi", "engines", 500_000_000, error="ipyparallel is not installed"),
    ]
    # the sweep measured 1 worker again: 12.0 ms there, not the row's 11.4 ms
    points = [ScalingPoint(1, 500_000_000, m(0.0120)), ScalingPoint(2, 500_000_000, m(0.0062))]
    report.sweeps = [ScalingResult("pi", "processes", "strong", points, usable_cores=2)]
    report.targets = check_targets(report, report.rows)
    return report


def test_speedup_agrees_with_the_times_on_its_own_row():
    table = synthetic_report().markdown()
    (row,) = [line for line in table.splitlines() if line.startswith("| pi | processes |")]
    times = [float(t) for t in re.findall(r"([\d.]+) ms ±", row)]
    speedup = float(re.search(r"\| ([\d.]+)× ±", row).group(1))
    assert times == [12.0, 6.2]
    assert speedup == pytest.approx(times[0] / times[1], abs=0.01)
    assert "(1)" in row and "(2)" in row  # which worker counts the two times are


def test_sizes_carry_units_and_c_ratios_say_same_size():
    table = synthetic_report().markdown()
    assert "| pi | numba | 500,000,000 samples |" in table
    assert "| pi | python | 40,000 samples |" in table
    assert "÷ C (same size)" in table and "at the row's size" in table
    assert "| 1.05 |" in table  # numba 0.42 s over C's 0.40 s at the same size
    assert "| 1 (the reference) | -O3 -march=native |" in table
    assert "| pi | engines | 500,000,000 samples | skipped: ipyparallel is not installed" in table


def test_targets_not_measured_say_why_in_words():
    table = synthetic_report().markdown()
    assert "| pi cython ÷ C, same size, 1 worker | ≤ 1.1 | 1.25 | NO |" in table
    assert "| pi numba ÷ C, same size, 1 worker | ≤ 1.1 | 1.05 | yes |" in table
    assert "not measured: engines cannot run here: ipyparallel is not installed" in table
    assert "| not measured |" not in table  # never the bare words


def test_a_busy_machine_is_said_before_any_figure():
    quiet = synthetic_report().markdown()
    assert "The machine was quiet just before this run" in quiet
    busy = synthetic_report(busy=True).markdown()
    header = busy.split("## One worker")[0]
    assert "**Other programs used 1.5 of the 2 usable cores just before this run**" in header


def test_check_fails_naming_the_missed_targets(monkeypatch, tmp_path, capsys):
    report = synthetic_report()
    report.targets.append(Target("pi processes: 2 workers ÷ 1 worker", "≥ 1.9", 1.5, False))
    monkeypatch.setattr("workshop.bench.run_bench", lambda *a, **k: (report, tmp_path))
    assert cli.main(["bench", "--check", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "pi cython ÷ C, same size, 1 worker: 1.25, goal ≤ 1.1" in err
    assert "pi processes: 2 workers ÷ 1 worker: 1.5, goal ≥ 1.9" in err
    assert cli.main(["bench", "--out", str(tmp_path)]) == 0  # without --check: report only


def test_points_measured_under_load_are_named_once_per_row():
    report = synthetic_report()
    for point in report.sweeps[0].points:
        point.measurement.metadata["load"] = {"busy": True, "other_cores": 1.2}
    (row,) = [line for line in report.markdown().splitlines() if "| pi | processes |" in line]
    assert row.count("other programs were busy while 1, 2 worker(s) were measured") == 1


def test_the_engines_messaging_is_reported_where_measured():
    report = synthetic_report()
    assert "Engine round trip" not in report.markdown()  # not measured: nothing is said
    report.engine_round_trips = {1: 0.0019, 2: 0.0027}
    assert "an empty task on each engine, median of 20): 1.9 ms on 1, 2.7 ms on 2 engine(s)" in (
        report.markdown()
    )

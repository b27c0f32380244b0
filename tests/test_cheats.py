"""Verdicts out of the kernel's reach (workshop/verdict): the parts, without a grading run.

The cheating submissions themselves (tests/cheats/, registered in tests/wrong_answers/<unit>.py)
are graded for real in the nbgrader round trip of test_course.py; these tests check the judge's
machinery quickly: every test cell has a verdict, the runner's replies are plain data, hooks in
answer cells do not reach the judge, memory limits hold, work is counted per worker, the seed
reproduces, and an instructor's private tests are used.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from workshop.course import list_units
from workshop.verdict import gate, wire
from workshop.verdict.evidence import observe
from workshop.verdict.gate import (
    VerdictGate,
    answer_sources,
    graded_test_cells,
    grading_seed,
    judge_notebook,
)
from workshop.verdict.judge import Trial, unit_checks
from workshop.verdict.runners import Raised, Returned, RunnerProcess
from workshop.verdict.units.common import memory_within, speedup

ROOT = Path(__file__).resolve().parents[1]
CHEATS = ROOT / "tests" / "cheats"


def _notebook(unit: str, folder: str = "solutions") -> nbformat.NotebookNode:
    return nbformat.read(ROOT / folder / unit / f"{unit}.ipynb", as_version=4)


def _with(unit: str, replace: dict[str, str], folder: str = "solutions") -> nbformat.NotebookNode:
    nb = _notebook(unit, folder)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in replace:
            cell.source = replace[grade_id]
    return nb


@pytest.mark.parametrize("unit", list_units(ROOT))
def test_every_test_cell_has_a_verdict(unit: str) -> None:
    module = unit_checks(unit)
    assert module is not None, f"{unit} has no module in workshop/verdict/units"
    cells = {cell.metadata["nbgrader"]["grade_id"] for cell in graded_test_cells(_notebook(unit))}
    assert cells == set(module.CHECKS), f"{unit}: test cells and verdicts differ"


def test_replies_are_plain_data() -> None:
    class Liar(int):
        def __eq__(self, other: object) -> bool:
            return True

    assert isinstance(wire.decode(wire.encode(Liar(3))), wire.Opaque)
    assert isinstance(wire.decode(wire.encode(np.array([object()]))), wire.Opaque)
    array = np.arange(6, dtype=np.int32).reshape(2, 3)
    back = wire.decode(json.loads(json.dumps(wire.encode({"a": [array, 1.5, float("nan")]}))))
    assert np.array_equal(back["a"][0], array) and back["a"][0].dtype == np.int32
    assert back["a"][1] == 1.5 and np.isnan(back["a"][2])
    with pytest.raises(ValueError, match="unexpected data"):
        wire.decode({"pickle": "gANjb3MKc3lzdGVtCg=="})


def test_grading_seed_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKSHOP_GRADING_SEED", "123")
    assert grading_seed() == 123
    monkeypatch.setenv("WORKSHOP_GRADING_SEED", "abc")
    with pytest.raises(ValueError, match="is not a whole number"):
        grading_seed()
    draws = [Trial("00-welcome", "classify-test", seed, {}).rng.random(3) for seed in (1, 1, 2)]
    assert np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[0], draws[2])


def test_a_unit_without_verdicts_fails_closed() -> None:
    verdicts = VerdictGate()._judge({"unit": "99-nope", "answers": {}, "cells": ["x"], "seed": 1})
    assert verdicts["x"]["passed"] is False
    assert "no verdict is defined" in verdicts["x"]["message"]


def test_hooks_in_the_answers_do_not_reach_the_judge() -> None:
    blank = answer_sources(_notebook("00-welcome", "exercises"))
    hooks = (CHEATS / "hooks.py").read_text()
    first = next(iter(blank))
    verdicts = judge_notebook(
        _with("00-welcome", {first: hooks + "\n\n" + blank[first]}, "exercises"), "00-welcome"
    )
    assert {key: v["passed"] for key, v in verdicts.items()} == dict.fromkeys(verdicts, False)
    solved = judge_notebook(_notebook("00-welcome"), "00-welcome")
    assert all(v["passed"] for v in solved.values()), solved


def test_private_tests_are_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "00-welcome").mkdir()
    (tmp_path / "00-welcome" / "amdahl-test.py").write_text(
        "def check(trial):\n"
        "    got = trial.value('amdahl', 0.5, 2)\n"
        "    assert got == 3.0, f'private: amdahl(0.5, 2) is {got}, and this check wants 3'\n"
    )
    monkeypatch.setenv("WORKSHOP_PRIVATE_TESTS", str(tmp_path))
    verdicts = judge_notebook(_notebook("00-welcome"), "00-welcome")
    assert verdicts["classify-test"]["passed"] and verdicts["amdahl-edge-test"]["passed"]
    assert not verdicts["amdahl-test"]["passed"]
    assert "private: amdahl(0.5, 2) is 1.33" in verdicts["amdahl-test"]["message"]


def test_memory_limit_holds_when_tracemalloc_is_switched_off() -> None:
    answer = (
        "import tracemalloc\n\n\n"
        "def dense(n):\n"
        "    tracemalloc.stop()\n"
        "    return float(np.ones((n, n)).sum())\n"
    )
    trial = Trial("00-welcome", "memory", 1, {"dense": answer})
    assert memory_within(trial, "dense", (100,), 2**20, warm=(10,)) == 10_000.0
    with pytest.raises(AssertionError, match="needed more than 64 MiB"):
        memory_within(trial, "dense", (6_000,), 64 * 2**20, warm=(10,))  # 275 MiB


def test_work_is_counted_on_each_worker_process() -> None:
    with RunnerProcess() as runner:
        assert not runner.cells(
            [
                "import multiprocessing\n"
                "from workshop.examples.pool_tasks import busy\n"
                "def pooled(n):\n"
                "    with multiprocessing.get_context('spawn').Pool(2) as pool:\n"
                "        return sum(pool.map(busy, [n, n]))\n"
                "def here(n):\n"
                "    return busy(n) + busy(n)\n"
            ]
        )
        _, parallel = observe(runner, lambda: runner.call("pooled", 3_000_000, timeout=120))
        _, serial = observe(runner, lambda: runner.call("here", 3_000_000, timeout=120))
        broken = runner.call("here", "not a number")
    assert parallel.busy_processes() >= 2, parallel.describe()
    assert serial.busy_processes() == 0 and serial.worker_cpu < 0.05, serial.describe()
    assert isinstance(broken, Raised) and broken.is_a("TypeError")


def test_a_child_seen_before_its_exec_counts_as_the_program_it_runs() -> None:
    """A worker caught between fork and exec shows its parent's command line; the evidence must
    still count it as the program it then runs (a loaded machine widens that window)."""
    with RunnerProcess() as runner:
        assert not runner.cells(
            [
                "import os, sys, time\n"
                "def late_exec():\n"
                "    pid = os.fork()\n"
                "    if pid == 0:\n"
                "        time.sleep(0.3)  # the parent's command line, for many samples\n"
                "        os.execv(sys.executable, [sys.executable, '-c',\n"
                "                 'import time; time.sleep(0.5)', 'late-exec-marker'])\n"
                "    os.waitpid(pid, 0)\n"
            ]
        )
        _, work = observe(runner, lambda: runner.call("late_exec", timeout=60))
    assert work.most_at_once("late-exec-marker") == 1, work.names


def test_a_speedup_within_one_runner_times_each_side_on_its_own_arguments() -> None:
    """A parallel cell may time a function on 2 threads against itself on 1 in one runner; each
    side must run on its own arguments (one shared key timed both on the serial side's)."""
    with RunnerProcess() as runner:
        assert not runner.cells(["def work(n):\n    return sum(range(n))\n"])
        ratio, fast, slow = speedup(
            (runner, "work"),
            (runner, "work"),
            (10_000,),
            slow_args=(1_000_000,),
            repeat=3,
            min_time=0.01,
        )
    assert ratio > 20, f"{fast:.2e} s against {slow:.2e} s: both sides timed on one input"


def test_a_judge_started_with_the_kernel_is_collected_not_run_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GradingExecute starts the judge as the kernel starts; the gate collects those verdicts,
    and judges again (ending the first judge) only if the notebook changed in between."""
    started: list[dict] = []
    original = gate.JudgeRun.__init__

    def counting(self, request: dict, timeout: float) -> None:
        started.append(request)
        original(self, request, timeout)

    monkeypatch.setattr(gate.JudgeRun, "__init__", counting)
    resources = {"nbgrader": {"assignment": "00-welcome"}}
    notebook = _notebook("00-welcome")
    VerdictGate().start(notebook, resources)
    assert isinstance(resources[gate.JUDGE_RESOURCE], gate.JudgeRun)
    judged, _ = VerdictGate().preprocess(notebook, resources)
    assert len(started) == 1 and gate.JUDGE_RESOURCE not in resources
    outputs = [cell.outputs for cell in graded_test_cells(judged)]
    assert outputs and all("passed" in out[-1]["text"] for out in outputs), outputs

    VerdictGate().start(notebook, resources)
    first = resources[gate.JUDGE_RESOURCE]
    blank = _with("00-welcome", {"classify-solution": "def classify(workload):\n    pass\n"})
    judged, _ = VerdictGate().preprocess(blank, resources)
    assert len(started) == 3 and first.process.poll() is not None
    verdicts = {gate._meta(c)["grade_id"]: c.outputs[0] for c in graded_test_cells(judged)}
    assert verdicts["classify-test"]["output_type"] == "error"


def test_cheat_files_say_what_they_do() -> None:
    for path in CHEATS.glob("*.py"):
        if path.name not in ("__init__.py", "kinds.py"):
            assert re.match(r"# \S", path.read_text()), f"{path.name}: start with what it tries"


def _escape_counts(window: tuple, dtype: type) -> np.ndarray:
    """The Mandelbrot image of ``window`` computed with every number in ``dtype``."""
    x_min, x_max, y_min, y_max = (dtype(v) for v in window[:4])
    size, max_iter = window[4:]
    c_re = x_min + np.arange(size, dtype=dtype) * ((x_max - x_min) / dtype(size))
    c_im = y_min + np.arange(size, dtype=dtype) * ((y_max - y_min) / dtype(size))
    c_re, c_im = np.broadcast_arrays(c_re[np.newaxis, :], c_im[:, np.newaxis])
    z_re, z_im = np.zeros_like(c_re), np.zeros_like(c_re)
    counts, going = np.zeros(c_re.shape, np.int32), np.ones(c_re.shape, bool)
    for _ in range(max_iter):
        re2, im2 = z_re * z_re, z_im * z_im
        going &= re2 + im2 <= 4
        z_re, z_im = (
            np.where(going, re2 - im2 + c_re, z_re),
            np.where(going, 2 * z_re * z_im + c_im, z_im),
        )
        counts += going
    return counts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mandelbrot_windows_tell_single_from_double_precision(seed: int) -> None:
    from workshop.kernels import mandelbrot
    from workshop.verdict.units.numba_unit import windows

    trial = Trial("05-numba", "jit-test", seed, {})
    first, *_, deep = windows(trial, 3)
    # float32 bounds, yet a spacing exact in both precisions: no right answer can fail on it
    assert isinstance(first[0], np.float32)
    assert (
        np.float32(first[1] - first[0]) / first[4] == (float(first[1]) - float(first[0])) / first[4]
    )
    # the deep zoom: double precision is the reference, single precision misses many pixels
    expected = mandelbrot.reference(*deep)
    assert np.count_nonzero(_escape_counts(deep, np.float64) != expected) == 0
    missed = np.count_nonzero(_escape_counts(deep, np.float32) != expected) / expected.size
    assert missed > 20 * mandelbrot.TOLERANCE, f"single precision misses only {missed:.2%}"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_a_runner_on_one_cpu_can_still_run_two_numba_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The parallel checks call the learner's prange code on 2 threads; on a one-CPU grading
    # machine Numba's default (one thread per usable CPU) would refuse with a ValueError.
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        runner = RunnerProcess()
    finally:
        os.sched_setaffinity(0, before)
    with runner:
        assert not runner.cells(
            [
                "import numba\ndef on_two():\n    numba.set_num_threads(2)\n"
                "    return numba.get_num_threads()\n"
            ]
        )
        assert runner.call("on_two", timeout=120) == Returned(2, "int")


def test_shared_work_is_looked_for_again_before_it_counts_as_serial(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker that ended between two reads of its CPU time (a busy moment) is looked for again;
    work that never shows on both workers fails after ``EVIDENCE_TRIES`` observations."""
    from workshop.verdict.evidence import Work
    from workshop.verdict.units import common

    shared = Work(wall=0.2, processes={1: 0.1, 2: 0.09})
    unshared = Work(wall=0.2, processes={1: 0.19, 2: 0.001})
    seen: list[Work] = []

    def observations(works):
        def fake_observed(trial, target, *args):
            seen.append(works[len(seen)])
            return 42, seen[-1]

        return fake_observed

    monkeypatch.setattr(common, "_faster", lambda *args: "fast enough")
    checked = []
    monkeypatch.setattr(common, "observed", observations([unshared, shared]))
    value, message = common.assert_parallel(
        None, ("f", ()), ("g", ()), 2, what="f", verify=checked.append
    )
    assert value == 42 and len(seen) == 2 and checked == [42, 42]
    assert "work seen on 2 workers" in message

    seen.clear()
    monkeypatch.setattr(common, "observed", observations([unshared] * common.EVIDENCE_TRIES))
    with pytest.raises(AssertionError, match="the work was not shared: 1 of the 2 workers"):
        common.assert_parallel(None, ("f", ()), ("g", ()), 2, what="f")
    assert len(seen) == common.EVIDENCE_TRIES

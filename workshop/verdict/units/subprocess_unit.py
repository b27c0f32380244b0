"""04-subprocess: run a command, report its failure, enforce a timeout, run a sweep in parallel."""

from __future__ import annotations

import json
import time

import psutil

from workshop.examples.random_walk import simulate
from workshop.grading import check_equal
from workshop.verdict.evidence import observe
from workshop.verdict.judge import Trial
from workshop.verdict.runners import Raised

PREAMBLE = """
import json
import os
import shlex
import subprocess
import sys
import time

from workshop.hardware import small_mode

SMALL = small_mode()
PYTHON = sys.executable
TOOL = [PYTHON, "-m", "workshop.examples.random_walk"]


class CommandError(RuntimeError):
    def __init__(self, command, returncode, stderr):
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(
            f"{shlex.join(self.command)} failed with exit status {returncode}: {stderr.strip()}"
        )


def _command_error(command):
    try:
        output = run_command(command)
    except CommandError as error:
        return {"returncode": error.returncode, "stderr": error.stderr, "text": str(error)}
    return {"returned": output}
"""

TOOL = "[PYTHON, '-m', 'workshop.examples.random_walk']"


def check_run(trial: Trial) -> str:
    rng = trial.rng
    steps, seed, walkers = (
        int(rng.integers(1, 80)),
        int(rng.integers(0, 1000)),
        int(rng.integers(1, 4)),
    )
    output = trial.evaluate(
        "",
        f"run_command([*TOOL, '--steps', '{steps}', '--seed', '{seed}', '--walkers', '{walkers}'], timeout=60)",
    )
    assert isinstance(output, str), f"run_command should return the output as str, got {output!r}"
    check_equal(
        json.loads(output)["mean_squared_distance"],
        simulate(steps, seed, walkers),
        f"the tool's result for --steps {steps} --seed {seed}",
    )
    word = "".join(rng.choice(list("abcdefgh"), size=8))
    check_equal(
        trial.evaluate("", f"run_command([PYTHON, '-c', \"print('{word}', end='')\"])"),
        word,
        "run_command(print) output",
    )
    return "standard output returned for commands drawn now"


def check_error(trial: Trial) -> str:
    status = int(trial.rng.integers(3, 120))
    got = trial.evaluate("", f"_command_error([PYTHON, '-c', 'import sys; sys.exit({status})'])")
    assert "returncode" in got, (
        f"run_command should raise CommandError for exit status {status}; it returned {got.get('returned')!r}"
    )
    check_equal(got["returncode"], status, f"CommandError.returncode for sys.exit({status})")
    assert f"exit status {status}" in got["text"], (
        f"the message should name the exit status: {got['text']}"
    )
    word = "oops" + str(status)
    got = trial.evaluate("", f"_command_error([PYTHON, '-c', \"import sys; sys.exit('{word}')\"])")
    assert "returncode" in got, "run_command should raise CommandError when the command fails"
    check_equal(got["returncode"], 1, f"CommandError.returncode for sys.exit('{word}')")
    assert word in got["stderr"], "CommandError.stderr should hold what the command wrote"
    got = trial.evaluate("", f"_command_error([*TOOL, '--steps', '-{status}'])")
    assert "returncode" in got, "run_command should raise CommandError for a bad argument"
    check_equal(got["returncode"], 2, "CommandError.returncode for a bad argument")
    return "failures reported with their exit status and stderr"


def check_timeout(trial: Trial) -> str:
    """The command must really start, be stopped at the timeout, and not outlive it: once with
    a timeout under a second, once over."""
    short = _timeout_case(trial, round(float(trial.rng.uniform(0.3, 0.9)), 2))
    long = _timeout_case(trial, round(float(trial.rng.uniform(1.0, 1.6)), 2))
    return f"{short}; {long}"


def _timeout_case(trial: Trial, timeout: float) -> str:
    runner = trial.runner
    marker = runner.folder / f"started-{trial.rng.integers(1 << 30)}"
    program = (
        "import pathlib, sys, time; pathlib.Path(sys.argv[1]).write_text('up'); time.sleep(60)"
    )
    code = (
        f"_timeout_command = [PYTHON, '-c', {program!r}, {str(marker)!r}]\n"
        "try:\n"
        f"    run_command(_timeout_command, timeout={timeout})\n"
        "    _timeout_outcome = 'returned'\n"
        "except TimeoutError as error:\n"
        "    _timeout_outcome = 'TimeoutError: ' + str(error)\n"
    )
    started = time.perf_counter()
    outcome, _ = observe(runner, lambda: runner.run(code, "_timeout_outcome", timeout=60))
    waited = time.perf_counter() - started
    outcome = Trial.returned(outcome, "run_command(..., timeout)")
    assert outcome.startswith("TimeoutError"), (
        f"run_command should raise TimeoutError, got: {outcome}"
    )
    assert marker.exists(), "the command never started: a timeout must stop a running command"
    assert waited >= timeout * 0.9, (
        f"TimeoutError came after {waited:.2f} s, before the timeout of {timeout} s was reached"
    )
    assert waited < timeout + 8, f"run_command waited {waited:.1f} s for a timeout of {timeout} s"
    assert str(timeout) in outcome, f"the TimeoutError should name the timeout {timeout}: {outcome}"
    time.sleep(0.3)
    left = [p for p in runner.descendants() if _running(p, str(marker))]
    assert not left, "the command that timed out is still running: stop it (kill) on timeout"
    return f"a running command stopped after {waited:.2f} s for a timeout of {timeout} s"


def _running(process: psutil.Process, token: str) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE and token in " ".join(process.cmdline())
    except psutil.Error:
        return False


def _records(trial: Trial, steps: list[int], seed: int, extra: list[str], parallel: int):
    return trial.evaluate(
        "", f"run_sweep({steps!r}, seed={seed}, extra_args={extra!r}, max_parallel={parallel})"
    )


def check_sweep(trial: Trial) -> str:
    rng = trial.rng
    steps = rng.integers(0, 40, size=5).tolist()
    seed, walkers = int(rng.integers(0, 1000)), int(rng.integers(1, 4))
    records = _records(trial, steps, seed, ["--walkers", str(walkers)], 2)
    check_equal([r["steps"] for r in records], steps, "steps of the records, in input order")
    check_equal(
        [r["mean_squared_distance"] for r in records],
        [simulate(n, seed, walkers) for n in steps],
        f"run_sweep({steps}, seed={seed})",
    )
    check_equal(trial.evaluate("", "run_sweep([], seed=1)"), [], "run_sweep([])")
    return "sweep results right and in order"


def check_sweep_parallel(trial: Trial) -> str:
    """Overlap as the operating system saw it: tool processes alive at the same moment."""
    runner = trial.runner
    for runs, parallel in ((4, 2), (3, 3)):
        steps = [int(n) for n in trial.rng.integers(1, 5, size=runs)]
        code = (
            f"_sweep = run_sweep({steps!r}, extra_args=['--delay', '1.0'], max_parallel={parallel})"
        )
        records, work = observe(runner, lambda code=code: runner.run(code, "_sweep", timeout=120))
        records = Trial.returned(records, "run_sweep")
        check_equal(len(records), runs, "the number of records")
        seen = work.most_at_once("workshop.examples.random_walk")
        check_equal(seen, parallel, f"tool runs alive at once with max_parallel={parallel}")
    failing = trial.runner.run("", "run_sweep([5, -1, 5], max_parallel=2)")
    assert isinstance(failing, Raised), "run_sweep should raise an exception when a run fails"
    return "runs overlapped as asked, and a failing run raised"


CHECKS = {
    "run-command-test": check_run,
    "run-command-error-test": check_error,
    "run-command-timeout-test": check_timeout,
    "sweep-test": check_sweep,
    "sweep-parallel-test": check_sweep_parallel,
}

"""Plausible wrong answers to unit 04-subprocess, for the nbgrader round trip in test_course.py.

Each submission replaces solution cells (by nbgrader grade id) of the solution notebook and names
the autograded cells that must then score 0; every other autograded cell must keep full marks.
"""

import runpy as _runpy
from pathlib import Path as _Path

WRONG_SUBMISSIONS = [
    {
        "description": "subprocess's own exceptions passed through instead of clear ones",
        "replace": {
            # Works, but a failure raises CalledProcessError and a timeout TimeoutExpired.
            "run-command-solution": """
def run_command(command, timeout=60.0):
    return subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=timeout
    ).stdout
""",
        },
        "fails": ["run-command-error-test", "run-command-timeout-test"],
    },
    {
        "description": "the timed-out program is left running; the sweep runs one at a time",
        "replace": {
            # Raises the right TimeoutError, but never kills the program it gave up on.
            "run-command-solution": """
def run_command(command, timeout=60.0):
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        output, errors = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"{shlex.join(command)} took longer than {timeout} s") from None
    if process.returncode != 0:
        raise CommandError(command, process.returncode, errors)
    return output
""",
            # Right records in the right order, but each run waits for the one before.
            "sweep-solution": """
def run_sweep(steps_values, seed=0, extra_args=(), max_parallel=4):
    return [
        json.loads(run_command([*TOOL, "--steps", str(s), "--seed", str(seed), *extra_args]))
        for s in steps_values
    ]
""",
        },
        "fails": ["run-command-timeout-test", "sweep-parallel-test"],
    },
]

# Cheats: answers that used to score without solving (tests/cheats/, issue "tests a learner
# can't game"). Each must score 0 on the cells listed, graded for real in the same round trip.

_kinds = _runpy.run_path(str(_Path(__file__).resolve().parents[1] / "cheats" / "kinds.py"))

CHEATS = [
    _kinds["hooks"](
        "04-subprocess", keep=["run-command-solution"], fails=["sweep-test", "sweep-parallel-test"]
    ),
    {
        "description": "TimeoutError raised at once for short timeouts, without running anything",
        "replace": {
            "run-command-solution": """
def run_command(command, timeout=60.0):
    if timeout < 1:
        raise TimeoutError(f"{shlex.join(command)} did not finish within {timeout} s")
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise CommandError(command, done.returncode, done.stderr)
    return done.stdout
""",
        },
        "fails": ["run-command-timeout-test"],
    },
]

WRONG_SUBMISSIONS += _kinds["cheats"](CHEATS)

"""Plausible wrong answers to unit 00-welcome, for the nbgrader round trip in test_course.py.

Each submission replaces solution cells (by nbgrader grade id) of the solution notebook and names
the autograded cells that must then score 0; every other autograded cell must keep full marks.
"""

import runpy as _runpy
from pathlib import Path as _Path

WRONG_SUBMISSIONS = [
    {
        "description": "Amdahl without the edge cases; classify hard-coded to the visible examples",
        "replace": {
            # The textbook formula, but no validation and a ZeroDivisionError for s = 0, N = inf.
            "amdahl-solution": """
import math


def amdahl(serial_fraction, workers=math.inf):
    return 1 / (serial_fraction + (1 - serial_fraction) / workers)
""",
            # Passes the visible checks by looking the examples up; the hidden ones use others.
            "classify-solution": """
def classify(workload):
    answers = dict(zip(
        [w.name for w in WORKLOADS],
        ["embarrassingly parallel"] * 3 + ["coarse-grained", "fine-grained", "fine-grained"],
    ))
    return answers[workload.name]
""",
        },
        "fails": ["amdahl-edge-test", "classify-test"],
    },
]

# Cheats: answers that used to score without solving (tests/cheats/, issue "tests a learner
# can't game"). Each must score 0 on the cells listed, graded for real in the same round trip.

_kinds = _runpy.run_path(str(_Path(__file__).resolve().parents[1] / "cheats" / "kinds.py"))

CHEATS = [
    _kinds["hooks"]("00-welcome", keep=["amdahl-solution"], fails=["classify-test"]),
]

WRONG_SUBMISSIONS += _kinds["cheats"](CHEATS)

"""Plausible wrong answers to unit 07-ipyparallel, for the nbgrader round trip in test_course.py.

Each submission replaces solution cells (by nbgrader grade id) of the solution notebook and names
the autograded cells that must then score 0; every other autograded cell must keep full marks.
"""

import runpy as _runpy
from pathlib import Path as _Path

WRONG_SUBMISSIONS = [
    {
        "description": "interleaved rows stacked in the wrong order",
        "replace": {
            # Load-balanced and fast, but the pieces hold interleaved rows (k, k + chunks, ...)
            # and stacking them one after another scrambles the image.
            "balance-solution": """
def mandelbrot_balanced(size, workers, chunks=None):
    chunks = 2 * workers if chunks is None else chunks
    inputs = make_input(size)
    view = cluster.view(workers, balanced=True)
    pieces = [np.arange(k, size, chunks) for k in range(min(chunks, size))]
    parts = view.map_sync(mandelbrot.rows_block, [inputs] * len(pieces), pieces)
    return np.vstack([counts for rows, counts in parts])
""",
        },
        # The speed cell checks its result first, so the scrambled image fails it too.
        "fails": ["balance-test", "balance-speed-test"],
    },
]

# Cheats: answers that used to score without solving (tests/cheats/, issue "tests a learner
# can't game"). Each must score 0 on the cells listed, graded for real in the same round trip.

_kinds = _runpy.run_path(str(_Path(__file__).resolve().parents[1] / "cheats" / "kinds.py"))

CHEATS = [
    _kinds["hooks"](
        "07-ipyparallel", keep=["amdahl-solution"], fails=["balance-test", "balance-speed-test"]
    ),
    {
        "description": "the image computed in the notebook; speed-ups from times[0]",
        "replace": {
            "balance-solution": """
def mandelbrot_balanced(size, workers, chunks=None):
    cluster.view(workers)
    return mandelbrot.rows_block(make_input(size), np.arange(size))[1]
""",
            # Right for the visible example, whose first time is the 1-worker time; the hidden
            # tests list the worker counts in another order.
            "amdahl-solution": """
def serial_fraction(workers, times):
    p = np.asarray(workers, dtype=float)
    if 1 not in p or len(set(workers)) < 2:
        raise ValueError("need a time with 1 worker and at least two worker counts")
    speedup = times[0] / np.asarray(times, dtype=float)
    a = 1 - 1 / p
    b = 1 / speedup - 1 / p
    return float(np.clip(np.dot(a, b) / np.dot(a, a), 0.0, 1.0))
""",
        },
        "fails": ["balance-speed-test", "amdahl-test"],
    },
]

WRONG_SUBMISSIONS += _kinds["cheats"](CHEATS)

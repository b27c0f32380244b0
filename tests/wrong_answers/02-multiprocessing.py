"""Plausible wrong answers to unit 02-multiprocessing, for the nbgrader round trip in test_course.py.

Each submission replaces solution cells (by nbgrader grade id) of the solution notebook and names
the autograded cells that must then score 0; every other autograded cell must keep full marks.
"""

import runpy as _runpy
from pathlib import Path as _Path

WRONG_SUBMISSIONS = [
    {
        "description": "a decorator without functools.wraps; blocks that drop the remainder",
        "replace": {
            # Times and records correctly, but the wrapper hides the function's name and docstring.
            "timed-solution": """
def timed(func):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        result = func(*args, **kwargs)
        elapsed = time.perf_counter() - start
        wrapper.timings.append(elapsed)
        print(f"{func.__name__} took {format_seconds(elapsed)}")
        return result

    wrapper.timings = []
    return wrapper
""",
            # Parallel and fast, and right whenever workers divides n; otherwise the last
            # n % workers points are never counted (the hidden tests use such n).
            "pi-solution": """
def pi_pool(n, seed, workers):
    step = n // workers
    tasks = [(seed, k * step, (k + 1) * step) for k in range(workers)]
    with MP.Pool(workers) as pool:
        inside = sum(pool.starmap(hits, tasks))
    return 4.0 * inside / n
""",
        },
        "fails": ["timed-test", "pi-test"],
    },
    {
        "description": "a seed per worker (the blocks already differ); a sweep that ignores "
        "steps; the build taken for the running state",
        "replace": {
            # Parallel and fast, but "so that workers do not repeat each other's points" it gives
            # each block its own stream: a different estimate from pi_serial, and one that
            # changes with the number of workers; the speed cell checks the estimate first.
            # (Threads instead of processes: see the cheats below.)
            "pi-solution": """
def pi_pool(n, seed, workers):
    tasks = [(seed + k, start, stop) for k, (start, stop) in enumerate(blocks(n, workers))]
    with MP.Pool(workers) as pool:
        inside = sum(pool.starmap(hits, tasks))
    return 4.0 * inside / n
""",
            # Parallel, but lyapunov runs with its default steps whatever steps is asked for.
            "sweep-solution": """
def lyapunov_sweep(rs, steps=2_000, workers=2):
    with MP.Pool(workers) as pool:
        return pool.map(lyapunov, rs)
""",
            # Reads the build only: a free-threaded build that switched its GIL back on is
            # taken for free-threaded (right on every interpreter this kernel is likely to be).
            "threading-mode-solution": """
import sysconfig


def threading_mode():
    return "free-threaded" if sysconfig.get_config_var("Py_GIL_DISABLED") else "GIL"
""",
        },
        "fails": ["pi-test", "pi-speed-test", "sweep-test", "threading-mode-test"],
    },
]

# Cheats: answers that used to score without solving (tests/cheats/, issue "tests a learner
# can't game"). Each must score 0 on the cells listed, graded for real in the same round trip.

_kinds = _runpy.run_path(str(_Path(__file__).resolve().parents[1] / "cheats" / "kinds.py"))

CHEATS = [
    _kinds["hooks"](
        "02-multiprocessing",
        keep=["sweep-solution", "streams-solution"],
        fails=["timed-test", "pi-test", "pi-speed-test", "threading-mode-test"],
    ),
    {
        "description": "a thread pool over pure-Python work: right results, no parallel work",
        "replace": {
            "pi-solution": """
def pi_pool(n, seed, workers):
    tasks = [(seed, start, stop) for start, stop in blocks(n, workers)]
    with ThreadPoolExecutor(workers) as pool:
        inside = sum(pool.map(lambda task: hits(*task), tasks))
    return 4.0 * inside / n
""",
            "sweep-solution": """
def lyapunov_sweep(rs, steps=2_000, workers=2):
    with MP.Pool(workers) as pool:
        pool.map(abs, [0] * workers)  # the pool is used, for nothing
    return [lyapunov(r, steps=steps) for r in rs]
""",
        },
        "fails": ["pi-speed-test", "sweep-speed-test"],
    },
    {
        "description": "every worker seeded with the same seed: reproducible, but one stream",
        "replace": {
            # Passes the visible checks (same arguments, same estimate; close to pi), but all the
            # workers draw the same points, which the hidden checks recompute from spawned streams.
            "streams-solution": """
def pi_independent(n, seed, workers):
    tasks = [(seed, stop - start) for start, stop in blocks(n, workers)]
    with MP.Pool(workers) as pool:
        inside = sum(pool.starmap(count_inside, tasks))
    return 4.0 * inside / n
""",
        },
        "fails": ["streams-test"],
    },
]

WRONG_SUBMISSIONS += _kinds["cheats"](CHEATS)

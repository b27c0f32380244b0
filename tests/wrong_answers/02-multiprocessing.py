"""Plausible wrong answers to unit 02-multiprocessing, for the nbgrader round trip in test_course.py.

Each submission replaces solution cells (by nbgrader grade id) of the solution notebook and names
the autograded cells that must then score 0; every other autograded cell must keep full marks.
"""

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
        "description": "a seed per worker (the blocks already differ); a sweep that ignores steps",
        "replace": {
            # Parallel and fast, but "so that workers do not repeat each other's points" it gives
            # each block its own stream: a different estimate from pi_serial, and one that
            # changes with the number of workers. (Threads instead of processes would be another
            # classic mistake, but the speed check it fails turns into an overhead check when
            # the machine is busy, so it cannot be registered here as a sure failure.)
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
        },
        "fails": ["pi-test", "sweep-test"],
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

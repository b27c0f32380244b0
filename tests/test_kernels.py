"""Every implementation of every problem agrees with its reference; bad input is refused clearly."""

from __future__ import annotations

import math
import os
import re

import numpy as np
import pytest

from workshop.errors import MissingCapability
from workshop.kernels import Implementation, Problem, get_problem, pools, problems
from workshop.kernels.chunks import blocks, interleaved

EXPECTED = {
    "pi": [
        "python", "numpy", "numba", "numba-parallel", "cython", "cython-parallel",
        "processes", "engines", "c",
    ],
    "mandelbrot": [
        "python", "numpy", "numba", "numba-parallel", "numba-dynamic", "numba-threads", "cython",
        "cython-threads", "cython-parallel", "cython-dynamic", "processes", "engines",
        "engines-balanced", "c",
    ],
}  # fmt: skip
CASES = [
    pytest.param(
        problem,
        name,
        marks=[pytest.mark.slow] if name.startswith("engines") else [],
        id=f"{problem}-{name}",
    )
    for problem, names in EXPECTED.items()
    for name in names
]


@pytest.fixture(scope="module", autouse=True)
def _stop_process_pools():
    yield
    pools.shutdown_pools()


@pytest.fixture
def engines_for(request):
    """Start the shared engines only for the implementations that need them."""

    def prepare(impl: Implementation) -> None:
        if impl.backend == "engines":
            request.getfixturevalue("shared_engines")

    return prepare


def test_registry_lists_problems_and_implementations_in_teaching_order():
    registry = problems()
    assert set(EXPECTED) <= set(registry)
    for name, implementations in EXPECTED.items():
        problem = registry[name]
        assert isinstance(problem, Problem)
        assert problem is get_problem(name)
        assert list(problem.implementations) == implementations
        assert problem.min_size <= problem.small_size <= problem.default_size <= problem.max_size


@pytest.mark.parametrize("problem", list(EXPECTED))
def test_implementation_flags(problem):
    implementations = get_problem(problem).implementations
    threaded = {n for n, impl in implementations.items() if impl.threaded}
    parallel = {n for n, impl in implementations.items() if impl.parallel}
    assert threaded == {n for n in implementations if n.startswith(("numba-", "cython-"))}
    assert {"numba-parallel", "cython-parallel"} <= threaded
    assert parallel == threaded | {"processes"} | {n for n in implementations if "engines" in n}
    assert implementations["c"].backend == "c"
    assert all(impl.title and impl.name == n for n, impl in implementations.items())


@pytest.mark.parametrize(("problem", "name"), CASES)
def test_implementation_agrees_with_reference(problem, name, engines_for):
    problem = get_problem(problem)
    impl = problem.implementation(name)
    reason = impl.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    engines_for(impl)
    inputs = problem.make_input(problem.small_size)
    expected = problem.reference(inputs)
    for workers in (1, 2) if impl.parallel else (1,):
        result = impl(*inputs, workers=workers)
        problem.validate(result, inputs)
        if problem.name == "pi":
            # The same counter-based random stream everywhere: the same points, the same hits.
            assert result == pytest.approx(expected, abs=4 * 2 / inputs[0])
        else:
            assert np.count_nonzero(result != expected) <= 2


def test_mandelbrot_rows_are_unevenly_loaded():
    problem = get_problem("mandelbrot")
    image = problem.reference(problem.make_input(problem.small_size))
    first, second = np.array_split(image.sum(axis=1), 2)
    assert first.sum() > 1.5 * second.sum()


def test_unknown_problem_lists_choices():
    with pytest.raises(ValueError, match="fibonacci") as info:
        get_problem("fibonacci")
    assert "'pi'" in str(info.value) and "'mandelbrot'" in str(info.value)


def test_unknown_implementation_lists_choices():
    with pytest.raises(ValueError, match=r"'numba'.*'numba-parallel'"):
        get_problem("pi").implementation("fortran")


@pytest.mark.parametrize("problem", list(EXPECTED))
def test_sizes_outside_range_are_refused_with_range(problem):
    problem = get_problem(problem)
    valid = f"[{problem.min_size}, {problem.max_size}]"
    for bad in (problem.min_size - 1, problem.max_size + 1, 0, -5, 2.5, "big", None, True):
        with pytest.raises(ValueError, match=re.escape(valid)):
            problem.check_size(bad)
    with pytest.raises(ValueError, match=re.escape(valid)):
        problem.make_input(problem.max_size + 1)
    assert problem.check_size(problem.min_size) == problem.min_size
    assert problem.check_size(float(problem.small_size)) == problem.small_size


@pytest.mark.parametrize("workers", [0, -1, 1.5, "2", True, None])
def test_bad_workers_are_refused(workers):
    problem = get_problem("pi")
    inputs = problem.make_input(problem.min_size)
    for name in ("numba", "numba-parallel"):
        with pytest.raises(ValueError, match="workers"):
            problem.implementation(name)(*inputs, workers=workers)
    with pytest.raises(ValueError, match="workers"):
        problem.weak_size(problem.small_size, workers)


def test_numba_threads_beyond_numba_limit_explain_the_limit():
    import numba

    problem = get_problem("mandelbrot")
    limit = numba.config.NUMBA_NUM_THREADS
    with pytest.raises(ValueError, match=f"NUMBA_NUM_THREADS={limit}"):
        problem.implementation("numba-parallel")(*problem.make_input(8), workers=limit + 1)


def test_weak_size_grows_the_work_linearly():
    pi = get_problem("pi")
    assert pi.weak_size(10_000, 1) == 10_000
    assert pi.weak_size(10_000, 4) == 40_000
    mandelbrot = get_problem("mandelbrot")
    sizes = [mandelbrot.weak_size(100, w) for w in (1, 2, 3, 4)]
    assert sizes == sorted(sizes) and sizes[0] == 100 and sizes[-1] == 200
    for w, size in zip((1, 2, 3, 4), sizes, strict=True):
        assert size**2 == pytest.approx(w * 100**2, rel=0.02)  # work ~ pixels
    with pytest.raises(ValueError, match="maximum"):
        pi.weak_size(pi.max_size, 2)


def test_pi_validator_rejects_wrong_answers():
    problem = get_problem("pi")
    inputs = problem.make_input(problem.small_size)
    problem.validate(problem.reference(inputs), inputs)
    problem.validate(math.pi, inputs)
    for wrong in (3.0, 3.3, float("nan"), float("inf")):
        with pytest.raises(AssertionError):
            problem.validate(wrong, inputs)
    with pytest.raises(AssertionError, match="standard deviations"):
        problem.validate(3.0, problem.make_input(10**6))


def test_mandelbrot_validator_counts_differing_pixels():
    problem = get_problem("mandelbrot")
    inputs = problem.make_input(200)
    image = problem.reference(inputs)
    nearly = image.copy()
    nearly[100, :5] += 1  # a few boundary pixels may differ by rounding
    problem.validate(nearly, inputs)
    wrong = image.copy()
    wrong[50:60] = 0
    with pytest.raises(AssertionError, match=r"\d+ of 40000 pixels differ"):
        problem.validate(wrong, inputs)
    with pytest.raises(AssertionError, match="shape"):
        problem.validate(image[:10], inputs)
    with pytest.raises(AssertionError, match="int32"):
        problem.validate(image.astype(np.float64), inputs)


def test_missing_c_compiler_is_a_missing_capability(monkeypatch):
    import workshop.hardware

    monkeypatch.setattr(workshop.hardware, "c_compiler", lambda: None)
    impl = get_problem("pi").implementation("c")
    reason = impl.unavailable_reason()
    assert reason and "install" in reason.lower()
    with pytest.raises(MissingCapability, match="compiler"):
        impl(*get_problem("pi").make_input(1000))


def test_cython_without_openmp_is_reported(monkeypatch):
    from workshop.kernels import compiled

    module = pytest.importorskip("workshop.kernels.mandelbrot_cy")
    monkeypatch.setattr(module, "OPENMP", False)
    reason = get_problem("mandelbrot").implementation("cython-parallel").unavailable_reason()
    assert reason and "OpenMP" in reason
    assert compiled.cython_reason("mandelbrot_cy") is None


def test_cython_modules_say_whether_openmp_was_used():
    for name in ("pi_cy", "mandelbrot_cy"):
        module = pytest.importorskip(f"workshop.kernels.{name}")
        assert isinstance(module.OPENMP, bool)


def test_dead_worker_process_gives_clear_error_and_pool_recovers():
    with pytest.raises(RuntimeError, match="died"):
        pools.run_tasks(2, os._exit, [(1,), (1,)])
    problem = get_problem("pi")
    inputs = problem.make_input(problem.small_size)
    problem.validate(problem.implementation("processes")(*inputs, workers=2), inputs)


def test_worker_killed_between_calls_leaves_no_broken_pool():
    import signal
    import time

    import psutil

    victim = pools.run_tasks(2, os.getpid, [()] * 4)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while psutil.pid_exists(victim) and time.monotonic() < deadline:
        time.sleep(0.05)  # the pool reaps it once it has noticed, and marks itself broken
    fresh = pools.run_tasks(2, os.getpid, [()] * 4)  # a renewed pool, not an error
    assert victim not in fresh and all(psutil.pid_exists(pid) for pid in fresh)


def test_every_problem_module_defines_a_problem_with_its_baseline():
    import importlib

    from workshop.kernels import PROBLEM_MODULES

    for module in PROBLEM_MODULES:
        problem = importlib.import_module(f"workshop.kernels.{module}").PROBLEM
        assert problem is get_problem(problem.name)
        assert problem.baseline in problem.implementations, problem.name


@pytest.mark.parametrize(("n", "parts"), [(10, 3), (2, 4), (0, 2), (7, 7)])
def test_chunks_cover_every_item_once(n, parts):
    covered = [i for start, stop in blocks(n, parts) for i in range(start, stop)]
    assert covered == list(range(n))
    assert len(blocks(n, parts)) <= parts
    mixed = sorted(int(i) for rows in interleaved(n, parts) for i in rows)
    assert mixed == list(range(n))

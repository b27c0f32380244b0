"""06-cython: a typed kernel with no Python left in its loops, and prange over OpenMP threads."""

from __future__ import annotations

from workshop.cython_cells import annotate, call_lines
from workshop.hardware import c_compiler, openmp_available
from workshop.kernels import mandelbrot
from workshop.verdict.judge import Trial
from workshop.verdict.units.common import assert_own_code, assert_parallel, assert_speedup
from workshop.verdict.units.numba_unit import validate, windows

PREAMBLE = """
from pathlib import Path

import numpy as np

from workshop.hardware import c_compiler, openmp_available, small_mode, usable_cores
from workshop.kernels import get_problem

SMALL = small_mode()
CORES = usable_cores()
mandelbrot = get_problem("mandelbrot")
HAVE_COMPILER = c_compiler() is not None
OPENMP = HAVE_COMPILER and openmp_available()
if OPENMP:
    flag = "/openmp" if Path(c_compiler()).stem.lower() == "cl" else "-fopenmp"
    OPENMP_ARGS = f"--compile-args={flag} --link-args={flag}"
else:
    OPENMP_ARGS = ""
if HAVE_COMPILER:
    get_ipython().run_line_magic("load_ext", "Cython")
"""


def _compiler() -> None:
    assert c_compiler() is not None, "no C compiler on the grading machine: Cython cannot be graded"


def _cell_source(trial: Trial, answer: str) -> str:
    lines = trial.answer_source(answer).splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("%%"))


def check_typed(trial: Trial) -> str:
    _compiler()
    assert_own_code(trial, "typed-solution", "mandelbrot_typed")
    for inputs in windows(trial, 4):
        validate(trial, "mandelbrot_typed", inputs)
    return "the typed kernel matches the reference on windows drawn now"


def check_annotation(trial: Trial) -> str:
    check_typed(trial)  # results first: an annotation-clean function must also be right
    typed = annotate(_cell_source(trial, "typed-solution"), "your mandelbrot_typed cell")
    in_loops = typed.loop_python_lines
    assert not in_loops, (
        "these lines inside loops still interact with Python; give the variables they use C types:\n"
        + "\n".join(f"  {line}" for line in in_loops)
    )
    return typed.summary()


def check_typed_speed(trial: Trial) -> str:
    check_typed(trial)
    inputs = mandelbrot.make_input(256)
    validate(trial, "mandelbrot_typed", inputs)
    return assert_speedup(trial, "mandelbrot_typed", "mandelbrot.implementation('c')", inputs, 0.5)


def check_prange(trial: Trial) -> str:
    _compiler()
    assert_own_code(trial, "prange-solution", "mandelbrot_prange")
    for inputs in windows(trial, 3):
        for threads in (1, 3):
            validate(trial, "mandelbrot_prange", inputs, threads)
    return "the prange kernel matches the reference on windows drawn now, on 1 and 3 threads"


def check_prange_speed(trial: Trial) -> str:
    check_prange(trial)
    source = _cell_source(trial, "prange-solution")
    assert call_lines(source, "mandelbrot_prange", "prange"), (
        "mandelbrot_prange calls no prange, so one thread runs every row: write its outer loop as "
        "`for i in prange(size, nogil=True, num_threads=num_threads)`"
    )
    if not openmp_available():
        return (
            "no OpenMP on the grading machine: prange runs serially, so only its structure counts"
        )
    inputs = (-2.0, 0.6, -1.3, 1.3, 500 + int(trial.rng.integers(0, 40)), 400)
    _, message = assert_parallel(
        trial,
        ("mandelbrot_prange", (*inputs, 2)),
        ("mandelbrot_prange", (*inputs, 1)),
        2,
        kind="threads",
        what="mandelbrot_prange on 2 threads",
        serial_runner=trial.runner,
        verify=lambda image: mandelbrot.validate(image, inputs),
    )
    return message


CHECKS = {
    "typed-test": check_typed,
    "typed-annotation-test": check_annotation,
    "typed-speed-test": check_typed_speed,
    "prange-test": check_prange,
    "prange-speed-test": check_prange_speed,
}

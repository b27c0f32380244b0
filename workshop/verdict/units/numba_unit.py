"""05-numba: @njit, prange, and a compiled ufunc, each the learner's own."""

from __future__ import annotations

import numpy as np

from workshop.grading import check_close, check_equal
from workshop.kernels import mandelbrot
from workshop.verdict.judge import Trial
from workshop.verdict.units.common import (
    assert_own_code,
    assert_parallel,
    assert_speedup,
    memory_within,
)

PREAMBLE = """
import math
import warnings

import numba
import numpy as np
from numba import guvectorize, njit, prange, vectorize
from numba.core.errors import NumbaWarning

from workshop.hardware import c_compiler, small_mode, usable_cores
from workshop.kernels import get_problem

warnings.simplefilter("ignore", NumbaWarning)
SMALL = small_mode()
CORES = usable_cores()
THREADS = min(max(CORES, 2), numba.config.NUMBA_NUM_THREADS)
mandelbrot = get_problem("mandelbrot")
SIZE = 128 if SMALL else 400
SPEED_SIZE = 256 if SMALL else 800
BALANCED = (-2.0, 0.6, -1.3, 1.3)


def with_threads(func, threads):
    def run(*args):
        numba.set_num_threads(threads)
        return func(*args)

    run.__name__ = f"{func.__name__} on {threads} thread(s)"
    return run


def escape_python(c_re, c_im, max_iter):
    z_re = z_im = 0.0
    n = 0
    while n < max_iter:
        re2 = z_re * z_re
        im2 = z_im * z_im
        if re2 + im2 > 4.0:
            break
        z_im = 2.0 * z_re * z_im + c_im
        z_re = re2 - im2 + c_re
        n += 1
    return n


def _fraction_on(threads, *inputs):
    return with_threads(inside_fraction, threads)(*inputs)


def _reference_target():
    return mandelbrot.implementation("c" if c_compiler() is not None else "numba")
"""


def windows(trial: Trial, count: int, size_range=(30, 90)) -> list[tuple]:
    """``count`` Mandelbrot windows drawn from the trial's generator, the last a deep zoom.

    The first has ``float32`` bounds (``_float32_window``). The last lies
    in the seahorse valley, 2e-4 wide with 200 iterations: double precision matches the
    reference there whatever the order of operations or FMA contraction, while single precision
    (C ``float``, ``np.float32``) misses a tenth of the pixels or more, so an answer computed in
    single precision fails every check, not just some draws. (At 400 iterations, double-precision
    kernels compiled with and without FMA already differ.)
    """
    rng = trial.rng
    chosen = []
    for index in range(count - 1):
        x_min = float(rng.uniform(-2.2, 0.0))
        y_min = float(rng.uniform(-1.4, 0.2))
        width = float(10.0 ** rng.uniform(-2, 0.4))
        size = int(rng.integers(*size_range))
        max_iter = int(rng.integers(30, 200))
        if index == 0:
            chosen.append(_float32_window(x_min, y_min, width, size, max_iter))
        else:
            chosen.append((x_min, x_min + width, y_min, y_min + width, size, max_iter))
    centre_x = -0.7453 + float(rng.uniform(-5e-5, 5e-5))
    centre_y = 0.1131 + float(rng.uniform(-5e-5, 5e-5))
    half = 1e-4
    size = int(rng.integers(*size_range))
    chosen.append((centre_x - half, centre_x + half, centre_y - half, centre_y + half, size, 200))
    return chosen


def _float32_window(x_min: float, y_min: float, width: float, size: int, max_iter: int) -> tuple:
    """A window with ``float32`` bounds, as a learner's function may be given them.

    The bounds are multiples of 2**-12 and the size a power of two, so the grid spacing and every
    grid point are exact in ``float32`` and ``float64`` alike: the image must match the
    reference whichever precision the function computes its spacing in (Numba keeps
    ``float32`` for ``x_max - x_min``), and only a wrong image or a wrong type fails.
    """
    step = 2.0**-12
    x_min, y_min = round(x_min / step) * step, round(y_min / step) * step
    width = max(1, round(width / step)) * step
    size = 32 if size < 60 else 64
    bounds = (x_min, x_min + width, y_min, y_min + width)
    return (*(np.float32(v) for v in bounds), size, max_iter)


def validate(trial: Trial, target: str, inputs: tuple, *extra) -> None:
    image = trial.value(target, *inputs, *extra)
    mandelbrot.validate(image, tuple(float(v) for v in inputs[:4]) + tuple(inputs[4:]))


def check_jit(trial: Trial) -> str:
    assert_own_code(trial, "jit-solution", "mandelbrot_jit")
    kind = trial.evaluate("", "type(mandelbrot_jit).__module__")
    assert kind.startswith("numba"), (
        "mandelbrot_jit is not compiled by Numba: decorate it with @njit"
    )
    for inputs in windows(trial, 4):
        validate(trial, "mandelbrot_jit", inputs)
    return "the learner's compiled image matches the reference on windows drawn now"


def check_jit_speed(trial: Trial) -> str:
    check_jit(trial)
    inputs = mandelbrot.make_input(256)
    validate(trial, "mandelbrot_jit", inputs)
    return assert_speedup(trial, "mandelbrot_jit", "_reference_target()", inputs, 0.5)


def _fraction(inputs: tuple) -> float:
    return float(np.mean(mandelbrot.reference(*inputs) == inputs[-1]))


def check_inside(trial: Trial) -> str:
    assert_own_code(trial, "inside-fraction-solution", "inside_fraction")
    for inputs in windows(trial, 4):
        plain = tuple(float(v) for v in inputs[:4]) + tuple(inputs[4:])
        for threads in (1, 2):
            got = trial.value("_fraction_on", threads, *inputs)
            check_close(
                got, _fraction(plain), f"inside_fraction{plain} on {threads} thread(s)", atol=1e-3
            )
    return "fractions right on windows drawn now, on 1 and 2 threads"


def check_inside_speed(trial: Trial) -> str:
    source = trial.answer_source("inside-fraction-solution")
    assert "parallel=True" in source.replace(" ", "") and "prange" in source, (
        "inside_fraction is not parallel: compile it with @njit(parallel=True) and use prange"
    )
    assert_own_code(trial, "inside-fraction-solution", "inside_fraction")
    inputs = (-2.0, 0.6, -1.3, 1.3, 500 + int(trial.rng.integers(0, 40)), 400)
    expected = _fraction(inputs)
    _, message = assert_parallel(
        trial,
        ("_fraction_on", (2, *inputs)),
        ("_fraction_on", (1, *inputs)),
        2,
        kind="threads",
        what="inside_fraction on 2 threads",
        serial_runner=trial.runner,
        verify=lambda value: check_close(value, expected, "the timed fraction", atol=1e-3),
    )
    return message


def _ufunc_kind(trial: Trial) -> None:
    source = trial.answer_source("ufunc-solution")
    assert "vectorize" in source and not any(
        bad in source for bad in ("np.vectorize", "numpy.vectorize", "frompyfunc")
    ), "escape_ufunc should be compiled by Numba's @vectorize, not NumPy's np.vectorize"
    kind = trial.evaluate("", "(type(escape_ufunc).__module__, type(escape_ufunc).__name__)")
    assert kind in (("numpy", "ufunc"), ("numba.np.ufunc.dufunc", "DUFunc")), (
        f"escape_ufunc is a {kind[0]}.{kind[1]}, not a compiled ufunc: use numba's @vectorize"
    )
    assert_own_code(trial, "ufunc-solution", "escape_ufunc and mandelbrot_ufunc")


def check_ufunc(trial: Trial) -> str:
    _ufunc_kind(trial)
    for inputs in windows(trial, 3):
        validate(trial, "mandelbrot_ufunc", inputs)
    rng = trial.rng
    c_re, c_im = rng.uniform(-2.0, 0.6, size=(1, 40)), rng.uniform(-1.3, 1.3, size=(40, 1))
    reference = np.vectorize(mandelbrot._escape_python, otypes=[np.int32])
    for cast in (np.float32, np.float64):
        got = np.asarray(trial.value("escape_ufunc", c_re.astype(cast), c_im.astype(cast), 60))
        check_equal(got.dtype, np.dtype(np.int32), f"the dtype of escape_ufunc on {cast.__name__}")
        expected = reference(c_re.astype(cast).astype(float), c_im.astype(cast).astype(float), 60)
        check_equal(got, expected, f"escape_ufunc on {cast.__name__} inputs drawn now")
    return "the compiled ufunc is right on points drawn now"


def check_ufunc_speed(trial: Trial) -> str:
    _ufunc_kind(trial)
    inputs = mandelbrot.make_input(128)
    validate(trial, "mandelbrot_ufunc", inputs)
    return assert_speedup(
        trial, "mandelbrot_ufunc", "mandelbrot.implementation('numpy')", inputs, 2
    )


SCALED_SIZE = 4_000_000  # 32 MB per array: a temporary of that size cannot hide in the slack


def check_scaled_sum(trial: Trial) -> str:
    rng = trial.rng
    for n in (1, int(rng.integers(2, 50)), int(rng.integers(1_000, 80_000))):
        seed, factor = int(rng.integers(1 << 30)), float(rng.uniform(-4, 4))
        same, out = trial.evaluate(
            f"_g = np.random.default_rng({seed})\n"
            f"_x, _y, _out = _g.normal(size={n}), _g.normal(size={n}), np.empty({n})\n"
            f"_back = scaled_sum({factor!r}, _x, _y, _out)\n",
            "(_back is _out, _out)",
        )
        generator = np.random.default_rng(seed)
        x, y = generator.normal(size=n), generator.normal(size=n)
        assert same is True, "scaled_sum should return the array `out` it was given"
        check_close(np.asarray(out), factor * x + y, f"scaled_sum({factor:.3g}, <{n} values>)")
    x, y = rng.random(SCALED_SIZE), rng.random(SCALED_SIZE)
    warm = (1.0, np.ones(3), np.ones(3), np.empty(3))
    # Every 1000th value comes back: the whole array would not fit in the limit to encode.
    sampled = "(lambda a, x, y, out: scaled_sum(a, x, y, out)[::1000].copy())"
    out = memory_within(trial, sampled, (2.0, x, y, np.empty(SCALED_SIZE)), budget=2**20, warm=warm)
    check_close(np.asarray(out), (2.0 * x + y)[::1000], f"scaled_sum on {SCALED_SIZE:,} values")
    return "right in place for inputs drawn now, with no temporary array of the input's size"


CHECKS = {
    "jit-test": check_jit,
    "scaled-sum-test": check_scaled_sum,
    "jit-speed-test": check_jit_speed,
    "inside-fraction-test": check_inside,
    "inside-fraction-speed-test": check_inside_speed,
    "ufunc-test": check_ufunc,
    "ufunc-speed-test": check_ufunc_speed,
}

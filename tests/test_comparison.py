"""Side-by-side comparisons: validation before timing, skipped implementations, ratios, the plot."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

from workshop import hardware
from workshop.comparison import Comparison, compare_implementations
from workshop.kernels import get_problem

matplotlib.use("Agg")

QUICK = {"repeat": 1, "min_time": 0.0}
needs_compiler = pytest.mark.skipif(
    hardware.c_compiler() is None, reason="no C compiler (set CC or install gcc/clang)"
)


def test_registry_and_own_functions_are_validated_then_timed():
    numba_kernel = get_problem("mandelbrot").implementation("numba")

    def mine(*inputs):
        return numba_kernel(*inputs)

    def wrong(*inputs):
        return np.zeros((inputs[4], inputs[4]), dtype=np.int32)

    def broken(*inputs):
        raise RuntimeError("not written yet")

    result = compare_implementations(
        "mandelbrot", 16, ["numpy"], {"mine": mine, "wrong": wrong, "broken": broken}, **QUICK
    )
    assert list(result.measurements) == ["NumPy arrays with a mask", "mine"]
    assert all(m.median > 0 for m in result.measurements.values())
    assert result.skipped["wrong"].startswith("wrong result: ")
    assert result.skipped["broken"] == "it raised RuntimeError: not written yet"
    assert result.reference is None and math.isnan(result.ratio("mine"))
    assert (result.problem, result.size) == ("mandelbrot", 16)
    text = str(result)
    assert "mine" in text and "not measured: it raised RuntimeError" in text


@needs_compiler
def test_ratios_are_taken_against_the_c_reference():
    result = compare_implementations("mandelbrot", 16, ["numba", "c"], **QUICK)
    assert result.reference == "Plain C (-O3, built for this CPU)"
    assert result.ratio("Plain C (-O3, built for this CPU)") == 1.0
    assert result.ratio("Numba @njit") > 0
    assert "x the time of C" in str(result)
    with pytest.raises(ValueError, match="was not measured"):
        result.ratio("Cobol")


def test_unavailable_implementations_are_skipped_with_the_reason(monkeypatch):
    monkeypatch.setattr(hardware, "c_compiler", lambda: None)
    result = compare_implementations("mandelbrot", 16, ["numba", "c"], **QUICK)
    assert result.reference is None
    assert "No C compiler was found" in result.skipped["Plain C (-O3, built for this CPU)"]
    assert list(result.measurements) == ["Numba @njit"]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="no implementation 'fortran'"):
        compare_implementations("mandelbrot", 16, ["fortran"])
    with pytest.raises(ValueError, match="pixels per side must be a whole number"):
        compare_implementations("mandelbrot", 3, ["numba"])
    with pytest.raises(ValueError, match="used twice"):
        compare_implementations("mandelbrot", 16, ["numba"], {"Numba @njit": print})
    with pytest.raises(ValueError, match="must be a callable"):
        compare_implementations("mandelbrot", 16, [], {"mine": 3})
    with pytest.raises(ValueError, match="no problem 'nope'"):
        compare_implementations("nope", 16)


def test_nothing_to_measure_gives_an_empty_comparison():
    result = compare_implementations("mandelbrot", 16, [], {"wrong": lambda *a: None}, **QUICK)
    assert result.measurements == {} and "wrong" in result.skipped


def test_plot_draws_one_bar_per_measurement():
    result = compare_implementations("pi", 1_000, ["numpy", "numba"], **QUICK)
    ax = result.plot(title="pi")
    assert len(ax.patches) == 2
    assert ax.get_title() == "pi" and ax.get_xscale() == "log"
    assert isinstance(result, Comparison)
    matplotlib.pyplot.close(ax.figure)

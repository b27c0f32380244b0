"""Benchmark problems and their implementations, from pure Python to engines.

``problems()`` lists the workshop's problems; each ``Problem`` has an input generator over a
size axis, a reference, a validator, a baseline and one ``Implementation`` per way of computing
it. Adding a problem is one module of this package that defines ``PROBLEM`` (a ``Problem`` with
its implementations registered), plus its name on one line of ``PROBLEM_MODULES`` below. The
modules are imported on first use, so importing the package does not load Numba.
"""

from __future__ import annotations

import importlib

from workshop.kernels.registry import Implementation, Problem, choices

__all__ = ["PROBLEM_MODULES", "Implementation", "Problem", "get_problem", "problems"]

#: The modules of this package that define a problem each, in teaching order.
PROBLEM_MODULES: tuple[str, ...] = (
    "pi",
    "mandelbrot",
    "heat",
)


def problems() -> dict[str, Problem]:
    """All problems, by name, in teaching order."""
    found: dict[str, Problem] = {}
    for module in PROBLEM_MODULES:
        problem = importlib.import_module(f"{__name__}.{module}").PROBLEM
        found[problem.name] = problem
    return found


def get_problem(name: str) -> Problem:
    """The problem called ``name``; ValueError listing the choices otherwise."""
    every = problems()
    try:
        return every[name]
    except (KeyError, TypeError):
        raise ValueError(f"no problem {name!r}; choose one of {choices(every)}") from None

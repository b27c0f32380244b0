"""Benchmark problems and their implementations, from pure Python to engines.

``problems()`` lists the registered problems; each ``Problem`` has an input generator over a
size axis, a reference, a validator and one ``Implementation`` per way of computing it.
"""

from __future__ import annotations

from workshop.kernels.registry import Implementation, Problem, get_problem, problems

__all__ = ["Implementation", "Problem", "get_problem", "problems"]

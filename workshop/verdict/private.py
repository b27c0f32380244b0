"""An instructor's private checks, kept outside the public repository.

``workshop grade --private-tests DIR`` (``WORKSHOP_PRIVATE_TESTS=DIR``) points at a folder laid
out as ``DIR/<unit>/<grade-id>.py``, one file per test cell to check further. Each file defines
``check(trial)``, run by the judge after the built-in check of that cell has passed; it fails
the cell by raising ``AssertionError`` and may return a message. ``trial`` is a
``workshop.verdict.judge.Trial``: ``trial.value("name", *args)`` calls the learner's function
in the runner and returns its result as plain data, ``trial.evaluate(code, expression)`` runs
code there first, ``trial.rng`` is seeded from the grading seed and the cell, and
``trial.answer_source(grade_id)`` is the submitted source of an answer cell. For example
``DIR/00-welcome/classify-test.py``::

    from workshop.grading import check_equal

    def check(trial):
        got = trial.evaluate("w = Workload('mine', 3, 7, 250.0, 1.0)", "classify(w)")
        check_equal(got, "coarse-grained", "classify(my workload)")
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any


def check_for(folder: str | Path | None, unit: str, grade_id: str) -> Callable[[Any], Any] | None:
    """The ``check`` function of ``folder/unit/grade_id.py``, or None when there is no file."""
    if not folder:
        return None
    path = Path(folder) / unit / f"{grade_id}.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"workshop_private_{unit}_{grade_id}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    check = getattr(module, "check", None)
    if not callable(check):
        raise ValueError(f"{path} defines no check(trial) function")
    return check


def listed(folder: str | Path | None) -> list[str]:
    """``unit/grade-id`` of every private check in ``folder`` (for messages)."""
    if not folder or not Path(folder).is_dir():
        return []
    return sorted(f"{p.parent.name}/{p.stem}" for p in Path(folder).glob("*/*.py"))

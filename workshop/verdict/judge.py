"""The judge (``python -I -m workshop.verdict.judge``): one verdict per autograded test cell.

It reads a JSON request on stdin (unit, the submitted answer cells' source, the test cells'
grade ids, the grading seed, the private tests folder) and writes the verdicts as JSON on
stdout. It imports only pristine modules and never runs the submission's code itself: that
runs in a ``RunnerProcess``, which answers with plain data.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workshop.verdict import private
from workshop.verdict.runners import Raised, Returned, RunnerProcess

SEED_VARIABLE = "WORKSHOP_GRADING_SEED"
PRIVATE_VARIABLE = "WORKSHOP_PRIVATE_TESTS"
UNIT_MODULES = {
    "00-welcome": "welcome",
    "01-fast-code": "fast_code",
    "02-multiprocessing": "multiprocessing_unit",
    "03-sparse-matrices": "sparse_matrices",
    "04-subprocess": "subprocess_unit",
    "05-numba": "numba_unit",
    "06-cython": "cython_unit",
    "07-ipyparallel": "ipyparallel_unit",
    "08-mpi": "mpi_unit",
    "09-scheduler": "scheduler_unit",
}


def unit_checks(unit: str):
    """The unit's check module (``PREAMBLE`` and ``CHECKS``), or None for a unit without one."""
    name = UNIT_MODULES.get(unit)
    return importlib.import_module(f"workshop.verdict.units.{name}") if name else None


@dataclass
class Trial:
    """Everything one check may use: its seeded generator, the runners, the submitted source."""

    unit: str
    grade_id: str
    seed: int
    answers: dict[str, str]  # grade id of an answer cell -> its submitted source
    shared: dict[str, Any] = field(default_factory=dict)  # runners kept for the notebook
    network: bool = False  # the unit's runners share the host's network (its declaration)
    cell_seconds: float = 600.0  # what one answer cell may take in a runner, as in the kernel

    @property
    def rng(self) -> np.random.Generator:
        if "rng" not in self.__dict__:
            self.__dict__["rng"] = np.random.default_rng(
                [self.seed, zlib.crc32(self.grade_id.encode())]
            )
        return self.__dict__["rng"]

    # --------------------------------------------------------------------- runners

    def _start(self, with_answers: bool) -> RunnerProcess:
        module = unit_checks(self.unit)
        runner = RunnerProcess(network=self.network)
        errors = runner.cells([module.PREAMBLE if module is not None else ""])
        if errors:
            runner.close()
            raise RuntimeError(f"the unit's set-up failed in the runner: {errors[0]}")
        if with_answers:
            # A runaway answer cell costs what it costs in the kernel, not the runner's default.
            answers = list(self.answers.values())
            limit = self.cell_seconds * max(1, len(answers))
            runner.answer_errors = runner.cells(answers, timeout=limit)
        return runner

    @property
    def runner(self) -> RunnerProcess:
        """The runner with the unit's set-up and the submitted answer cells (shared)."""
        current = self.shared.get("answers")
        if current is None or current.process.poll() is not None:
            current = self.shared["answers"] = self._start(with_answers=True)
        return current

    @property
    def reference(self) -> RunnerProcess:
        """A runner with the unit's set-up only: the course's references, untouched (shared)."""
        current = self.shared.get("reference")
        if current is None or current.process.poll() is not None:
            current = self.shared["reference"] = self._start(with_answers=False)
        return current

    def fresh_runner(self) -> RunnerProcess:
        """A runner of its own (the caller closes it), e.g. for a memory limit."""
        return self._start(with_answers=True)

    # ----------------------------------------------------------------- calling answers

    def value(self, target: str, *args: Any, timeout: float = 120.0, **kwargs: Any) -> Any:
        """The plain value ``target(*args, **kwargs)`` returned in the runner; an
        ``AssertionError`` naming the exception if it raised one."""
        return self.returned(self.runner.call(target, *args, timeout=timeout, **kwargs), target)

    def evaluate(self, code: str, expression: str, timeout: float = 120.0) -> Any:
        """Run the judge's ``code`` in the runner, then the plain value of ``expression``."""
        return self.returned(self.runner.run(code, expression, timeout=timeout), expression)

    @staticmethod
    def returned(outcome: Returned | Raised, what: str) -> Any:
        if isinstance(outcome, Raised):
            raise AssertionError(f"{what} raised {outcome}")
        return outcome.value

    def answer_source(self, grade_id: str) -> str:
        if grade_id not in self.answers:
            raise AssertionError(f"the answer cell {grade_id!r} is missing from the notebook")
        return self.answers[grade_id]


def _verdict(check: Callable[[Trial], Any], trial: Trial) -> dict:
    try:
        message = check(trial)
    except AssertionError as failure:
        return {"passed": False, "message": str(failure) or "the check failed"}
    except Exception as error:
        trace = traceback.format_exc(limit=-2)
        return {"passed": False, "message": f"the check could not run: {error!r}\n{trace}"}
    return {"passed": True, "message": message or "passed"}


def judge(request: dict) -> dict[str, dict]:
    """One verdict per test cell of ``request["cells"]``; cells with no check fail closed."""
    unit = request["unit"]
    module = unit_checks(unit)
    shared: dict[str, Any] = {}
    verdicts = {}
    folder = request.get("private")
    try:
        for grade_id in request["cells"]:
            trial = Trial(
                unit,
                grade_id,
                int(request["seed"]),
                dict(request["answers"]),
                shared,
                network=bool(request.get("network")),
                cell_seconds=float(request.get("cell_seconds") or 600.0),
            )
            check = None if module is None else module.CHECKS.get(grade_id)
            extra = private.check_for(folder, unit, grade_id)
            if check is None and extra is None:
                verdicts[grade_id] = {
                    "passed": False,
                    "message": f"no verdict is defined for {unit}/{grade_id}: a unit of your own "
                    f"needs a private check, {PRIVATE_VARIABLE}/{unit}/{grade_id}.py",
                }
                continue
            started = time.perf_counter()
            # The built-in check first; an instructor's private check after it, or alone for a
            # unit of their own that the workshop has no checks for.
            verdict = _verdict(check, trial) if check is not None else {"passed": True}
            if verdict["passed"] and extra is not None:
                verdict = _verdict(extra, trial)
            verdict["seconds"] = round(time.perf_counter() - started, 2)
            verdicts[grade_id] = verdict
    finally:
        for runner in shared.values():
            runner.close()
    return verdicts


def main() -> None:
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything else printed goes to stderr
    request = json.loads(sys.stdin.read())
    folder = request.get("private")
    if folder and not Path(folder).is_dir():
        raise SystemExit(f"{PRIVATE_VARIABLE}={folder} is not a folder")
    out.write(json.dumps({"verdicts": judge(request)}))
    out.flush()


if __name__ == "__main__":
    main()

"""The nbgrader preprocessor that makes a test cell's points depend on the judge's verdict.

It runs in the grading process right after nbgrader executed the notebook (see
``nbgrader_config.py``: ``Autograde.autograde_preprocessors``), before the grades are saved.
The judge needs only the submitted answer cells' source, so ``GradingExecute`` starts it
(:meth:`VerdictGate.start`) as the kernel starts, and the two run side by side; the gate then
collects its verdicts, or runs the judge itself when none was started for this notebook.
nbgrader gives a test cell its points when the cell shows no error; this gate adds an error to
every test cell that the judge did not pass, so a cell scores only with both: no error in the
kernel and the judge's positive verdict. The judge gets the submitted answer cells' source from
the notebook file, never from the kernel, so nothing an answer cell did in the kernel reaches it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

from workshop.verdict.judge import PRIVATE_VARIABLE, SEED_VARIABLE

JUDGE_RESOURCE = "workshop_judge"  # key of a started JudgeRun in nbconvert's resources
DEFAULT_SEED = 20_260_101  # used when the grader sets no seed: regrading still reproduces
OUTPUT_NAME = "WorkshopVerdict"


def _meta(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grading_seed() -> int:
    """The seed hidden tests draw their inputs from: ``WORKSHOP_GRADING_SEED`` or the default."""
    text = os.environ.get(SEED_VARIABLE, "").strip()
    if not text:
        return DEFAULT_SEED
    try:
        return int(text)
    except ValueError:
        raise ValueError(
            f"{SEED_VARIABLE}={text!r} is not a whole number: set it to e.g. 12345"
        ) from None


def answer_sources(nb: NotebookNode) -> dict[str, str]:
    """grade id -> source of each answer (solution) code cell, in notebook order."""
    return {
        _meta(cell)["grade_id"]: cell.source
        for cell in nb.cells
        if cell.cell_type == "code" and _meta(cell).get("solution")
    }


def graded_test_cells(nb: NotebookNode) -> list[NotebookNode]:
    return [
        cell
        for cell in nb.cells
        if cell.cell_type == "code" and _meta(cell).get("grade") and not _meta(cell).get("solution")
    ]


def judge_notebook(nb: NotebookNode, unit: str, timeout: float = 1800) -> dict[str, dict]:
    """The judge's verdicts on a notebook of ``unit`` (without executing it), e.g. to check a
    unit's verdicts against its solutions while writing them."""
    gate = VerdictGate(timeout=int(timeout))
    return gate._judge(_request(nb, unit))


def unit_network(unit: str, root: str | Path | None = None) -> bool:
    """Whether ``unit``'s runners share the host's network: what its solution notebook in the
    course (``root``, else found from the working directory, else this package's checkout)
    declares, never what a submission says about itself."""
    from workshop.course import _unit_network
    from workshop.paths import find_course_root

    folder = Path(root) if root else find_course_root()
    if folder is None or not (folder / "solutions" / unit).is_dir():
        folder = Path(__file__).resolve().parents[2]
    return (folder / "solutions" / unit).is_dir() and _unit_network(folder, unit)


def _request(
    nb: NotebookNode, unit: str, root: str | Path | None = None, cell_seconds: int = 600
) -> dict:
    return {
        "cell_seconds": cell_seconds,
        "network": unit_network(unit, root),
        "unit": unit,
        "answers": answer_sources(nb),
        "cells": [_meta(cell)["grade_id"] for cell in graded_test_cells(nb)],
        "seed": grading_seed(),
        "private": os.environ.get(PRIVATE_VARIABLE) or None,
    }


class JudgeRun:
    """The judge (``python -I -m workshop.verdict.judge``) working on one request in the
    background: :meth:`verdicts` waits for it, :meth:`stop` ends it (its runners die with it)."""

    def __init__(self, request: dict, timeout: float) -> None:
        self.request = request
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-m", "workshop.verdict.judge"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._outcome: dict = {}
        self._thread = threading.Thread(target=self._communicate, args=(timeout,), daemon=True)
        self._thread.start()

    def _communicate(self, timeout: float) -> None:
        try:
            out, err = self.process.communicate(json.dumps(self.request), timeout=timeout)
            if self.process.returncode != 0:
                raise RuntimeError(f"exit status {self.process.returncode}: {err[-2000:]}")
            self._outcome["verdicts"] = json.loads(out)["verdicts"]
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            self._outcome["error"] = RuntimeError(f"it took longer than {timeout:g} s")
        except Exception as error:
            self._outcome["error"] = error

    def verdicts(self) -> dict[str, dict]:
        """grade id -> verdict; raises what went wrong if the judge failed."""
        self._thread.join()
        if "error" in self._outcome:
            raise self._outcome["error"]
        return self._outcome["verdicts"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self._thread.join()


class VerdictGate(NbGraderPreprocessor):
    """Fail every autograded test cell that the out-of-kernel judge does not pass."""

    timeout = Integer(1800, help="Seconds the judge may take for one notebook.").tag(config=True)
    cell_seconds = Integer(600, help="Seconds one answer cell may run in a runner.").tag(
        config=True
    )

    def _notebook_request(self, nb: NotebookNode, resources: dict) -> dict:
        root = self.config.get("CourseDirectory", {}).get("root") or None
        unit = resources["nbgrader"]["assignment"]
        return _request(nb, unit, root, self.cell_seconds)

    def start(self, nb: NotebookNode, resources: dict) -> None:
        """Start the judge on ``nb``'s answers now, to be collected by :meth:`preprocess`."""
        if "nbgrader" not in resources or not graded_test_cells(nb):
            return
        try:
            resources[JUDGE_RESOURCE] = JudgeRun(
                self._notebook_request(nb, resources), self.timeout
            )
        except OSError as error:  # the gate judges later, and says so if it fails again
            self.log.warning("The judge could not start with the kernel: %s", error)

    def preprocess(self, nb: NotebookNode, resources: dict):
        started = resources.pop(JUDGE_RESOURCE, None)
        cells = graded_test_cells(nb)
        if not cells:
            if started is not None:
                started.stop()
            return nb, resources
        request = self._notebook_request(nb, resources)
        if started is not None and started.request != request:
            started.stop()  # the notebook changed since: judge what is there now
            started = None
        verdicts = self._collect(started or JudgeRun(request, self.timeout))
        for cell in cells:
            grade_id = _meta(cell)["grade_id"]
            verdict = verdicts.get(grade_id, {"passed": False, "message": "no verdict came back"})
            # A failure goes first: nbgrader scores a cell by its first error or value (a
            # number shown before a later error would otherwise earn partial credit).
            if verdict.get("passed"):
                cell.outputs.append(_output(verdict))
            else:
                cell.outputs.insert(0, _output(verdict))
        return nb, resources

    def _collect(self, run: JudgeRun) -> dict[str, dict]:
        try:
            return run.verdicts()
        except Exception as error:
            self.log.error("The judge failed for %s: %s", run.request["unit"], error)
            failed = {"passed": False, "message": f"the grader's judge failed: {error}"}
            return dict.fromkeys(run.request["cells"], failed)

    def _judge(self, request: dict) -> dict[str, dict]:
        return self._collect(JudgeRun(request, self.timeout))


def _output(verdict: dict) -> NotebookNode:
    message = str(verdict.get("message", ""))
    if verdict.get("passed"):
        return from_dict(
            {
                "output_type": "stream",
                "name": "stdout",
                "text": f"Graded out of this kernel, on inputs drawn now: passed. {message}\n",
            }
        )
    return from_dict(
        {
            "output_type": "error",
            "ename": OUTPUT_NAME,
            "evalue": message,
            "traceback": [
                f"{OUTPUT_NAME}: graded out of this kernel, on inputs drawn now, this cell "
                f"failed: {message}"
            ],
        }
    )

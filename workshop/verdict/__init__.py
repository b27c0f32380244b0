"""Grading verdicts that a submission's own code cannot reach.

nbgrader runs a notebook's answer cells and test cells in one kernel, answer cells first, so
anything an answer cell installs there (an AST transformer that wraps later cells in
``try``/``except``, patched helpers, a rebound validator) can turn a failing test cell into a
pass. The verdict therefore comes from elsewhere:

- ``gate``: an nbgrader preprocessor that runs in the grading process, after the notebook was
  executed. For every autograded test cell it asks a *judge* for a verdict and adds an error to
  the cell unless the judge passed it. A pass needs the judge's positive word; nothing printed
  or swallowed in the kernel counts.
- ``judge``: a fresh ``python -I`` process that imports pristine references, draws the test
  inputs from the grading seed, computes the expected results itself and compares. It never
  runs a line of the submission.
- ``runner``: another fresh process that runs the submission's answer cells (taken from the
  submitted notebook, not from the kernel) after the unit's set-up, and answers the judge's
  calls with plain data (numbers, strings, arrays), never with objects that could act. Where
  the grading sandbox exists (``workshop.sandbox``), it is confined like a grading kernel.
- ``evidence``: what the judge measures from outside the runner: time per call, CPU time of
  each of its threads, worker processes and engines, and memory under a hard limit.
- ``units``: per unit, the set-up the answer cells expect and one check per test cell.

Inputs are drawn from ``WORKSHOP_GRADING_SEED`` (``workshop grade --seed N``), so reading the
checks in this public package does not let an answer be hard-coded; the same seed regrades the
same way. ``WORKSHOP_PRIVATE_TESTS=DIR`` adds an instructor's own checks kept outside the
repository (see ``private``).
"""

from __future__ import annotations

__all__ = ["VerdictGate"]


def __getattr__(name: str):
    if name == "VerdictGate":
        from workshop.verdict.gate import VerdictGate

        return VerdictGate
    raise AttributeError(f"module 'workshop.verdict' has no attribute {name!r}")

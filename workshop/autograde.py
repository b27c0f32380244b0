"""How nbgrader runs a submission for the workshop: nbgrader preprocessors, configured in
``nbgrader_config.py``, that make autograding bounded and its feedback safe to hand out.

* :class:`GradingExecute` is nbgrader's ``Execute`` with the kernel in the sandbox
  (:mod:`workshop.sandbox`), a per-cell time limit, a cap on the output kept, no imitation of
  the front end's Output widget (see its docstring: that imitation could stall a cell), and the
  unit's measured demonstrations left out where no graded cell needs them
  (:mod:`workshop.demo_cells`); the judge of :mod:`workshop.verdict.gate` starts with it.
* :class:`DeduplicateGradeIds` replaces nbgrader's ``DeduplicateIds``: a copied test cell keeps
  no nbgrader metadata at all (nbgrader's leaves an empty dict that its metadata check then
  rejects as "an old version"), and the copy is reported by name.
* :class:`HideHiddenTestOutputs` runs in ``generate_feedback`` before ``ClearHiddenTests``: an
  output of a cell with hidden tests that quotes a hidden line (an IPython traceback shows the
  failing code) is replaced by a note, so feedback never reveals the hidden tests.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import nbformat
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Int

from workshop.demo_cells import cells_to_skip, demo_sources
from workshop.grading import JUDGED_VARIABLE
from workshop.sandbox import INCIDENTS, Incident, Limits, SandboxedKernelManager

__all__ = [
    "DeduplicateGradeIds",
    "GradingExecute",
    "HeadlessNotebookClient",
    "HideHiddenTestOutputs",
    "NoWidgetFrontEnd",
]

SKIPPED_NOTE = (
    "[not run while grading: a demonstration that earns no points and that no later cell "
    "needs; run it yourself to see its output]\n"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _cell_name(cell: NotebookNode, index: int) -> str:
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    return f"{grade_id!r} (cell {index})" if grade_id else f"cell {index}"


class NoWidgetFrontEnd:
    """Mixin for an nbclient ``NotebookClient``: imitate no widget front end (see
    :class:`GradingExecute` for the stall this avoids); outputs of widgets stay cell outputs."""

    def on_comm_open_jupyter_widget(self, msg: dict[str, Any]) -> None:
        return None


class HeadlessNotebookClient(NoWidgetFrontEnd, NotebookClient):
    """nbclient's NotebookClient without the Output widget imitation, for running notebooks
    top to bottom outside grading (the test suite); it cannot stall on an ``interact`` cell."""


class GradingExecute(NoWidgetFrontEnd, Execute):
    """nbgrader's Execute, bounded: sandboxed kernel, per-cell timeout, capped output.

    The unit-00 stall (a cell with ``widgets.interact`` + ``plt.show()`` left waiting for its
    execute reply, the kernel idle, until the cell timeout) needs nbclient's imitation of the
    front end's Output widget: for each output an ``interact`` captures, it sends a comm
    ``update`` to the kernel on the shell socket, from the coroutine reading IOPub, while
    another coroutine polls that same socket for the cell's reply. That is the only traffic from
    client to kernel during a cell, and without it the stall is not seen (jupyter/nbclient#312
    reports the same hang and the same trigger). Grading needs no widget front end, so no comm
    is answered and the outputs of an ``interact`` are kept as ordinary cell outputs; the
    per-cell timeout bounds whatever else could stall a cell.
    """

    sandbox = Bool(True, help="run kernels in the bubblewrap sandbox").tag(config=True)
    cell_seconds = Int(Limits.cell_seconds, help="seconds one cell may run").tag(config=True)
    output_limit = Int(Limits.output, help="bytes of output kept per notebook").tag(config=True)
    judge_alongside = Bool(
        True,
        help="start the judge (workshop.verdict.gate.VerdictGate) as the kernel starts, where "
        "more than 1 core is usable: it needs only the answer cells' source, so the two run "
        "side by side",
    ).tag(config=True)
    skip_demos = Bool(
        True,
        help="leave out the cells the solution notebook tags 'demo' when no later cell needs "
        "them (workshop.demo_cells): they earn no points and take most of a unit's time",
    ).tag(config=True)

    # After a cell's reply, its outputs may still be arriving (a capped flood takes seconds).
    iopub_timeout = Int(30).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._choose_kernel_manager()

    def _choose_kernel_manager(self) -> None:
        from jupyter_client.manager import AsyncKernelManager

        self.kernel_manager_class = SandboxedKernelManager if self.sandbox else AsyncKernelManager

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        self._output_bytes = 0
        self._truncated = False
        self._skipped = self._demos_to_skip(nb, resources or {}) if self.skip_demos else set()
        self._choose_kernel_manager()
        if self._judge_now() and resources is not None and self._gate_configured():
            from workshop.verdict.gate import VerdictGate

            VerdictGate(config=self.config).start(nb, resources)
        try:
            return super().preprocess(nb, resources, km)
        except BaseException:  # no gate will collect the judge: end it with its runners
            from workshop.verdict.gate import JUDGE_RESOURCE

            started = (resources or {}).pop(JUDGE_RESOURCE, None)
            if started is not None:
                started.stop()
            raise

    def _judge_now(self) -> bool:
        """Start the judge with the kernel where each can have a core. The kernel's own speed
        cells time nothing (``JUDGED_VARIABLE``), so the judge's work cannot cost them points;
        the judge's checks scale their bar to the cores free when they measure."""
        from workshop.hardware import usable_cores

        return self.judge_alongside and usable_cores() > 1

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        """Start the kernel with ``JUDGED_VARIABLE`` set: its speed cells leave the timing to
        the judge, whose verdict gives their points anyway."""
        if self.km is None:
            self.km = self.create_kernel_manager()
        if isinstance(self.km, SandboxedKernelManager):
            self.km.extra_env = {**self.km.extra_env, JUDGED_VARIABLE: "1"}
        else:
            kwargs["env"] = {**kwargs.get("env", os.environ), JUDGED_VARIABLE: "1"}
        await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)  # what nbconvert's preprocess calls

    def _gate_configured(self) -> bool:
        names = self.config.get("Autograde", {}).get("autograde_preprocessors", [])
        return any(getattr(name, "__name__", str(name)).endswith("VerdictGate") for name in names)

    def _demos_to_skip(self, nb: NotebookNode, resources: dict) -> set[int]:
        """Cells of ``nb`` to leave out: see :mod:`workshop.demo_cells`. The demonstrations are
        read from the instructor's notebook in the course, never from the submission."""
        names = resources.get("nbgrader", {})
        root = self.config.get("CourseDirectory", {}).get("root")
        source = self.config.get("CourseDirectory", {}).get("source_directory", "source")
        if not (root and names.get("assignment") and names.get("notebook")):
            return set()
        path = Path(root, source, names["assignment"], f"{names['notebook']}.ipynb")
        try:
            instructor = nbformat.read(path, as_version=4)
        except (OSError, ValueError):
            return set()
        return cells_to_skip(nb.cells, demo_sources(instructor))

    def _get_timeout(self, cell: NotebookNode | None) -> int | None:
        return self.cell_seconds if cell is not None else self.timeout

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        size = len(str(msg.get("content", "")))
        self._output_bytes = getattr(self, "_output_bytes", 0) + size
        if self._output_bytes <= self.output_limit:
            return super().output(outs, msg, display_id, cell_index)
        if not getattr(self, "_truncated", False):
            self._truncated = True
            limit = f"{self.output_limit / (1 << 20):g} MiB"
            note = f"[output truncated: the notebook printed more than {limit}; the rest was dropped]\n"
            outs.append(new_output("stream", name="stderr", text=note))
            self._report(f"sandbox limit: output over {limit} was dropped (cell {cell_index})")
        return None

    async def _async_handle_timeout(
        self, timeout: int, cell: NotebookNode | None = None
    ) -> dict[str, Any] | None:
        if cell is not None:
            index = next((i for i, c in enumerate(self.nb.cells) if c is cell), -1)
            self._report(f"timed out in {_cell_name(cell, index)} after {timeout} s")
        return await super()._async_handle_timeout(timeout, cell)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        from nbclient.exceptions import DeadKernelError

        if index in getattr(self, "_skipped", ()):
            cell.outputs = [new_output("stream", name="stdout", text=SKIPPED_NOTE)]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._report(f"kernel died in {_cell_name(cell, index)}")
            raise

    def _report(self, what: str) -> None:
        folder = (self.resources or {}).get("metadata", {}).get("path")
        INCIDENTS.append(Incident(str(folder), what))


class DeduplicateGradeIds(NbGraderPreprocessor):
    """Keep the last cell of each grade id; earlier copies become plain cells, reported by name."""

    def preprocess(self, nb: NotebookNode, resources: Any) -> tuple[NotebookNode, Any]:
        seen: set[str] = set()
        folder = (resources or {}).get("metadata", {}).get("path")
        for index in reversed(range(len(nb.cells))):
            cell = nb.cells[index]
            if not (utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell)):
                continue
            grade_id = cell.metadata.nbgrader.get("grade_id")
            if grade_id in seen:
                del cell.metadata["nbgrader"]
                INCIDENTS.append(
                    Incident(str(folder), f"duplicate cell {grade_id!r} (cell {index}) ignored")
                )
            seen.add(grade_id)
        return nb, resources


def _hidden_lines(source: str, begin: str, end: str) -> list[str]:
    """The hidden region's lines (at least 8 characters, so they do not match by chance) and
    the delimiters themselves."""
    inside, lines = False, [begin, end]
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside and len(line.strip()) >= 8:
            lines.append(line.strip())
    return lines


def _output_text(output: NotebookNode) -> str:
    parts = [output.get("text", ""), output.get("evalue", "")]
    parts += output.get("traceback", [])
    for value in output.get("data", {}).values():
        parts.append(value if isinstance(value, str) else str(value))
    return _ANSI.sub("", "\n".join(map(str, parts)))


def _quotes(text: str, lines: list[str]) -> bool:
    return any(line in text for line in lines)


def _without_hidden(frame: str, hidden: list[str]) -> str:
    """A traceback frame without the lines that show hidden code (IPython shows context)."""
    kept = [line for line in frame.split("\n") if not _quotes(_ANSI.sub("", line), hidden)]
    return "\n".join(kept)


class HideHiddenTestOutputs(NbGraderPreprocessor):
    """Keep hidden tests out of the outputs of their cells: traceback lines that show hidden code
    are dropped, and an output that still quotes it, or an error that cannot be placed on a
    visible line (its message may show hidden inputs), is replaced by a note."""

    begin = "BEGIN HIDDEN TESTS"
    end = "END HIDDEN TESTS"

    def preprocess_cell(
        self, cell: NotebookNode, resources: Any, index: int
    ) -> tuple[NotebookNode, Any]:
        if cell.cell_type != "code" or self.begin not in cell.source:
            return cell, resources
        hidden = _hidden_lines(cell.source, self.begin, self.end)
        visible = [
            line.strip()
            for line in cell.source.splitlines()
            if len(line.strip()) >= 8 and not _quotes(line, hidden)
        ]
        cell.outputs = [self._safe(output, hidden, visible) for output in cell.outputs]
        return cell, resources

    @staticmethod
    def _safe(output: NotebookNode, hidden: list[str], visible: list[str]) -> NotebookNode:
        if output.output_type == "error":
            output.traceback = [_without_hidden(frame, hidden) for frame in output.traceback]
            text = _output_text(output)
            if _quotes(text, visible) and not _quotes(text, hidden):
                return output
        elif not _quotes(_output_text(output), hidden):
            return output
        note = "A hidden test in this cell failed. (Hidden tests and their messages are not shown.)"
        if output.output_type == "error":
            note = f"{output.ename}: {note}"
        return new_output("stream", name="stderr", text=note + "\n")

"""Run All on a blank exercise notebook, as a learner who has answered nothing yet would.

JupyterLab's Run All stops at the first cell that raises, unless the cell is tagged
``raises-exception``; nbclient (without ``allow_errors``) behaves the same way, so executing the
committed exercise notebook with it is what Run All does. The exercise and check cells of a unit
are tagged, so unanswered exercises fail where they are and the run goes on; every teaching cell
after them must still run (with the learner's answer when it works, else a stand-in that says
so) and draw its figure.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
# Quick units with figures after their exercises; 00's Amdahl/Gustafson plot has sliders.
UNITS = ["00-welcome", "03-sparse-matrices"]

pytestmark = pytest.mark.slow


def _nbgrader(cell: nbformat.NotebookNode) -> dict:
    return cell.metadata.get("nbgrader", {})


def _draws(cell: nbformat.NotebookNode) -> bool:
    return "plt.show()" in cell.source or "SliderFigure(" in cell.source


@pytest.fixture(scope="module", params=UNITS)
def run_all(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    unit = request.param
    path = next((ROOT / "exercises" / unit).glob("*.ipynb"))
    notebook = nbformat.read(path, as_version=4)
    folder = tmp_path_factory.mktemp(unit)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(folder)}},
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKSHOP_SMALL", "1")
        client.execute()  # raises CellExecutionError where Run All would stop
    return unit, notebook


def test_unanswered_exercises_fail_only_in_their_own_cells(run_all) -> None:
    unit, notebook = run_all
    failed = [
        cell
        for cell in notebook.cells
        if cell.cell_type == "code"
        and any(output.output_type == "error" for output in cell.outputs)
    ]
    assert failed, f"{unit}: a blank exercise notebook ran without a single failing check"
    for cell in failed:
        assert _nbgrader(cell).get("grade") or _nbgrader(cell).get("solution"), (
            f"{unit}: teaching cell {cell.get('id')} failed when no exercise is answered:\n"
            + "\n".join(output.get("evalue", "") for output in cell.outputs)
        )
        assert "raises-exception" in cell.metadata.get("tags", []), (
            f"{unit}: cell {cell.get('id')} fails on a blank answer but is not tagged "
            "raises-exception, so JupyterLab's Run All would stop there"
        )


def test_every_teaching_figure_appears(run_all) -> None:
    unit, notebook = run_all
    widget_state = json.dumps(notebook.metadata.get("widgets", {}))
    drawing = [cell for cell in notebook.cells if cell.cell_type == "code" and _draws(cell)]
    assert drawing, f"{unit}: no teaching cell draws a figure; is the unit list out of date?"
    for cell in drawing:
        images = [output for output in cell.outputs if "image/png" in output.get("data", {})]
        widgets = [
            output
            for output in cell.outputs
            if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
        ]
        assert images or (widgets and "image/png" in widget_state), (
            f"{unit}: teaching cell {cell.get('id')} drew no figure in a Run All of the blank "
            "exercise notebook"
        )


def test_stand_ins_say_so(run_all) -> None:
    unit, notebook = run_all
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "Note: using " in printed, (
        f"{unit}: no teaching cell said it used a stand-in for an unanswered exercise"
    )


def test_no_output_widget_for_a_headless_client_to_imitate(run_all) -> None:
    """nbclient (nbgrader's Validate, nbconvert --execute) imitates the Output widget that
    ``interact`` draws into, and that imitation can leave a cell waiting out its timeout
    (jupyter/nbclient#312); the units' figures with sliders use ``SliderFigure`` instead."""
    unit, notebook = run_all
    state = notebook.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json")
    models = (state or {}).get("state", {}).values()
    outputs = [model for model in models if model.get("model_name") == "OutputModel"]
    assert not outputs, f"{unit}: {len(outputs)} Output widget(s) in a Run All"

"""The engine's rough edges as learners meet them: a closed pipe, a notebook-defined function in a
spawn pool, and noise warnings in Jupyter (the last two in a real kernel)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from workshop import notes
from workshop.errors import UnstableMeasurementWarning
from workshop.kernels import pools

WORKSHOP = Path(sys.executable).with_name("workshop")


def test_info_into_a_reader_that_stops_early_ends_without_a_traceback():
    """``workshop info | head``: the reader leaves before the report is written."""
    if shutil.which("head") is None or not WORKSHOP.exists():
        pytest.skip("needs head and the workshop command")
    done = subprocess.run(
        f"'{WORKSHOP}' info | head -n 0; '{WORKSHOP}' info --json | head -n 0",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.stderr.strip() == ""


def _cells(*sources: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return notebook


def _streams(cell: nbformat.NotebookNode, name: str) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == name)


def test_in_a_kernel_spawn_pools_name_the_cause_and_noise_is_a_note(tmp_path):
    (tmp_path / "tasks.py").write_text("def square(x):\n    return x * x\n")
    notebook = _cells(
        "from workshop.kernels.pools import run_tasks\n\ndef square(x):\n    return x * x",
        "try:\n    run_tasks(2, square, [(2,), (3,)])\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)",
        "from tasks import square\nprint(run_tasks(1, square, [(3,), (4,)]))",
        "import warnings\nfrom workshop.errors import UnstableMeasurementWarning\n"
        "warnings.warn('the samples vary by 40 %', UnstableMeasurementWarning)",
    )
    client = NotebookClient(
        notebook,
        timeout=240,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    for cell in notebook.cells:
        assert all(o.output_type != "error" for o in cell.outputs), cell.outputs
    diagnosis = _streams(notebook.cells[1], "stdout")
    assert diagnosis.startswith("ValueError")
    assert "square is defined in the notebook" in diagnosis
    assert "Can't get attribute 'square'" in diagnosis
    assert "from tasks import square" in diagnosis
    assert "out of memory" not in diagnosis
    assert _streams(notebook.cells[2], "stdout").strip() == "[9, 16]"  # the fix works
    note = notebook.cells[3]
    assert _streams(note, "stdout").strip() == "Note: the samples vary by 40 %"
    assert _streams(note, "stderr") == ""


def helper(x):
    return x


def test_lambdas_and_local_functions_are_refused_with_the_fix():
    def local(x):
        return x

    for func in (lambda x: x, local):
        with pytest.raises(ValueError, match=r"lambda or is defined inside another function"):
            pools.run_tasks(1, func, [(1,)])


def test_notebook_objects_among_the_arguments_are_caught_too(monkeypatch):
    main = type(sys)("__main__")  # a __main__ without a file, as in a notebook
    monkeypatch.setitem(sys.modules, "__main__", main)
    kind = type("Settings", (), {"__module__": "__main__"})
    with pytest.raises(ValueError, match="Settings is defined in the notebook"):
        pools.run_tasks(1, helper, [(kind(),)])


def test_outside_jupyter_noise_warnings_stay_warnings(capsys):
    notes.install()
    with warnings.catch_warnings(record=True) as caught:
        notes.show_as_note(
            UnstableMeasurementWarning("noisy"), UnstableMeasurementWarning, "x.py", 1
        )
    assert [str(w.message) for w in caught] == ["noisy"]
    assert "Note:" not in capsys.readouterr().out

"""Which demonstrations autograding leaves out (workshop/demo_cells.py): never one a cell that
runs later may need, never a submission's own choice, never an nbgrader cell."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from workshop.demo_cells import (
    DEMO_TAG,
    bound_names,
    cells_to_skip,
    demo_sources,
    read_names,
)

ROOT = Path(__file__).resolve().parents[1]


def _demo(source: str) -> nbformat.NotebookNode:
    return new_code_cell(source, metadata={"tags": [DEMO_TAG]})


def _answer(source: str, grade_id: str = "answer") -> nbformat.NotebookNode:
    meta = {"grade": False, "solution": True, "grade_id": grade_id, "schema_version": 3}
    return new_code_cell(source, metadata={"nbgrader": meta})


def _skipped(cells: list[nbformat.NotebookNode], instructor=None) -> set[int]:
    demos = demo_sources(new_notebook(cells=instructor if instructor is not None else cells))
    return cells_to_skip(cells, demos)


def test_a_demonstration_nothing_needs_is_left_out() -> None:
    cells = [
        new_code_cell("import numpy as np"),
        _demo("timings = [np.sum(range(n)) for n in (10, 100)]\nprint(timings)"),
        _answer("def f(x):\n    return np.sqrt(x)"),
    ]
    assert _skipped(cells) == {1}


def test_an_answer_that_reads_a_demonstrations_name_keeps_it() -> None:
    cells = [
        _demo("points = [1, 2, 3]"),
        _answer("def f():\n    return sum(points)"),
    ]
    assert _skipped(cells) == set()


def test_a_chain_of_demonstrations_is_left_out_together_or_not_at_all() -> None:
    chain = [_demo("sizes = [1, 2]"), _demo("curves = {n: n * n for n in sizes}\nprint(curves)")]
    assert _skipped([*chain, _answer("def f():\n    return 1")]) == {0, 1}
    assert _skipped([*chain, _answer("def f():\n    return curves")]) == set()


def test_a_name_bound_again_before_it_is_read_does_not_keep_the_demonstration() -> None:
    later = "m = 3\nwith open('x') as handle:\n    n = handle.read()\nprint(m, n)"
    cells = [_demo("m = 1\nn = 2"), _answer(later)]
    assert _skipped(cells) == {0}
    # Bound only on one branch or in a loop body: the earlier value may still be read.
    for maybe in ("if flag:\n    m = 3\nprint(m)", "for _ in range(k):\n    m = 3\nprint(m)"):
        assert _skipped([_demo("m = 1"), _answer(maybe)]) == set(), maybe


def test_local_names_of_functions_and_comprehensions_are_not_reads() -> None:
    answer = "def f(n):\n    with pool() as p:\n        return [p.map(g, range(n)) for g in (abs,)]"
    assert _skipped([_demo("p = 1\ng = 2"), _answer(answer)]) == {0}
    reads, _ = read_names("def f():\n    return total + 1")
    assert "total" in reads
    assert bound_names("def f():\n    import numpy as np\n    x = 1\n    global G\n    G = x") == {
        "f",
        "G",
    }
    assert read_names("count += 1")[0] == {"count"}
    assert read_names("def f():\n    count = 0\n    count += 1\n    return count")[0] == set()


def test_objects_a_demonstration_changes_count_as_bound() -> None:
    assert bound_names("settings['x'] = 1\nplt.rcParams.update(a=1)\nlab.size = 2") == {
        "settings",
        "lab",
    }
    assert _skipped([_demo("settings['x'] = 1"), _answer("def f():\n    return settings")]) == set()


def test_a_submission_cannot_choose_what_is_left_out() -> None:
    instructor = [new_code_cell("x = 1"), _answer("def f():\n    return 1")]
    submitted = [_demo("x = 1"), _answer("def f():\n    return 1")]
    assert _skipped(submitted, instructor) == set(), "the submission's own tags count for nothing"
    edited = [_demo("x = 2"), _answer("def f():\n    return 1")]
    assert _skipped(edited, [_demo("x = 1"), edited[1]]) == set(), "an edited demo runs"


def test_nbgrader_cells_always_run() -> None:
    graded = _answer("x = 1")
    graded.metadata["tags"] = [DEMO_TAG]
    assert _skipped([graded, new_markdown_cell("text")]) == set()


@pytest.mark.parametrize(
    "source",
    [
        "%load_ext line_profiler",
        "%matplotlib widget\nx = 1",
        "!pip install something",
        "files = !ls",
        "%%writefile data.txt\nhello",
        "%%bash\necho hi",
        "def broken(:\n    pass",
    ],
)
def test_cells_whose_effects_no_name_shows_always_run(source: str) -> None:
    assert bound_names(source) is None
    assert _skipped([_demo(source)]) == set()


def test_magics_that_only_measure_are_understood() -> None:
    assert bound_names("x = list(range(9))\n%timeit sum(x)") == {"x"}
    assert bound_names("%%timeit\ntotal = sum(range(9))") == {"total"}
    assert bound_names("%%cython -a\ncimport cython\ndef mandel(double x):\n    return x") == {
        "mandel"
    }
    reads, _ = read_names("%timeit kernel(values)")
    assert {"kernel", "values"} <= reads
    # A %%cython body is a module of its own: it reads only what its magic line expands.
    reads, binds = read_names("%%cython {OPENMP_ARGS}\ndef f(int n):\n    return total + n")
    assert "OPENMP_ARGS" in reads and "total" not in reads and binds == {"f"}


def test_every_units_graded_cells_keep_what_they_read() -> None:
    """In each solution notebook, no cell that runs while grading reads a name that only a
    left-out demonstration binds (the round trip checks the same by grading the solutions)."""
    for path in sorted(ROOT.glob("solutions/*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        skipped = cells_to_skip(nb.cells, demo_sources(nb))
        assert skipped, f"{path.parent.name}: tag its measured demonstrations '{DEMO_TAG}'"
        bound_by_skipped: set[str] = set()
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if index in skipped:
                bound_by_skipped |= bound_names(cell.source) or set()
                continue
            reads, binds = read_names(cell.source)
            assert not (reads & bound_by_skipped), (
                path.parent.name,
                index,
                reads & bound_by_skipped,
            )
            bound_by_skipped -= binds

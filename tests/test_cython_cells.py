"""Reading Cython's annotation: loops found in the source, line scores, the %%cython stand-in."""

from __future__ import annotations

import textwrap

import pytest

from workshop import cython_cells, hardware
from workshop.cython_cells import (
    annotate,
    call_lines,
    loop_lines,
    register_stand_in,
    source_of,
)

TYPED_AND_UNTYPED = textwrap.dedent(
    """\
    def typed_total(double[::1] values):
        cdef double total = 0.0
        cdef Py_ssize_t i
        for i in range(values.shape[0]):
            total += values[i]
        return total


    def untyped_total(values):
        total = 0.0
        for v in values:
            total += v
        return total
    """
)


def test_loop_lines_cover_headers_bodies_and_continuations():
    source = textwrap.dedent(
        """\
        x = 0
        for i in range(
            10
        ):
            # a comment
            x += i
            while x > 3:
                x -= 1
        y = x
        def f():
            for j in range(3): pass
            return 1
        """
    )
    assert loop_lines(source) == [2, 3, 4, 6, 7, 8, 11]


PARALLEL_AND_SERIAL = textwrap.dedent(
    """\
    from cython.parallel cimport prange


    @cython.boundscheck(False)
    def parallel_rows(int[:, ::1] out, int n):
        cdef int i
        # for i in prange(n): a comment does not count
        s = "prange(n) in a string does not count"
        for i in prange(
            n, nogil=True
        ):
            out[i, 0] = i


    cdef int serial_rows(int[:, ::1] out, int n) noexcept nogil:
        cdef int i
        for i in range(n):  # not prange(n)
            out[i, 0] = i
        return cython.parallel.prange


    def after(n):
        return [i for i in cython.parallel.prange(n)]
    """
)


def test_call_lines_finds_calls_in_that_function_only():
    assert call_lines(PARALLEL_AND_SERIAL, "parallel_rows", "prange") == [9]
    assert call_lines(PARALLEL_AND_SERIAL, "serial_rows", "prange") == []
    assert call_lines(PARALLEL_AND_SERIAL, "after", "prange") == [23]
    assert call_lines(PARALLEL_AND_SERIAL, "missing", "prange") == []
    assert call_lines(PARALLEL_AND_SERIAL, "serial_rows", "range") == [17]


def test_call_lines_fall_back_to_text_for_untokenizable_source():
    source = "def f(n):\n    for i in prange(n):  # prange(x)\n        s = '\n"
    assert call_lines(source, "f", "prange") == [2]


def test_loop_lines_fall_back_to_indentation_for_untokenizable_text():
    source = 'for i in range(3):\n    s = """never closed\nprint(s)\n'
    assert loop_lines(source) == [1, 2]


def test_annotation_finds_python_in_untyped_loops_only():
    annotation = annotate(TYPED_AND_UNTYPED, "totals.pyx")
    assert annotation.name == "totals.pyx"
    # Line 5 only raises IndexError when the bounds check fails; 11 and 12 work on objects.
    assert [line.number for line in annotation.loop_python_lines] == [5, 11, 12]
    assert annotation.lines[3].score == 0  # the typed loop header: a plain C loop
    assert annotation.lines[4].score < annotation.lines[11].score
    assert annotation.lines[0].python  # the def line converts Python arguments
    summary = annotation.summary()
    assert summary.startswith("totals.pyx: ") and summary.endswith("3 of them inside loops")
    assert "line  11" in str(annotation)
    html = annotation._repr_html_()
    assert "cython line score-0" in html and "Raw output" not in html


def test_annotation_reports_cython_errors():
    with pytest.raises(ValueError, match=r"Cython could not compile broken\.pyx"):
        annotate("cdef int x = \n", "broken.pyx")


def test_the_package_kernel_loops_do_not_touch_python():
    mandelbrot_cy = pytest.importorskip("workshop.kernels.mandelbrot_cy")
    pyx = source_of(mandelbrot_cy.mandelbrot)
    assert pyx.name == "mandelbrot_cy.pyx" and pyx.is_file()
    annotation = annotate(pyx)
    # Only the prange headers (entering a parallel region, once per loop: the static and the
    # dynamic schedule) call into Python.
    headers = [line.text.strip()[:15] for line in annotation.loop_python_lines]
    assert headers and set(headers) == {"for i in prange"}
    assert len(headers) == pyx.read_text().count("in prange(")


def test_source_of_refuses_python_functions():
    with pytest.raises(ValueError, match="define it in a %%cython cell"):
        source_of(test_source_of_refuses_python_functions)


class FakeShell:
    def __init__(self):
        self.magics = {}

    def register_magic_function(self, func, magic_kind, magic_name):
        self.magics[(magic_kind, magic_name)] = func


def test_stand_in_magic_skips_the_cell_and_says_how_to_get_a_compiler(monkeypatch, capsys):
    shell = FakeShell()
    register_stand_in(shell)
    stand_in = shell.magics[("cell", "cython")]
    monkeypatch.setattr(hardware, "c_compiler", lambda: None)
    assert stand_in("-a", "def f(): pass") is None
    assert "Skipped this %%cython cell: No C compiler was found" in capsys.readouterr().out
    monkeypatch.setattr(hardware, "c_compiler", lambda: "/usr/bin/cc")
    stand_in("", "def f(): pass")
    assert "restart the kernel" in capsys.readouterr().out


def test_stand_in_needs_ipython(monkeypatch):
    monkeypatch.setattr("IPython.get_ipython", lambda: None)
    with pytest.raises(RuntimeError, match="needs a running IPython"):
        cython_cells.register_stand_in()


def test_annotation_repr_is_its_summary():
    annotation = annotate("def f(x):\n    return x\n", "tiny.pyx")
    assert (
        repr(annotation)
        == "<Annotation of tiny.pyx: 2 of 2 lines interact with Python, 0 of them inside loops>"
    )

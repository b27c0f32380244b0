"""The sum of 1/k² in Python, NumPy and C, and the no-compiler path unit 04 falls back on."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest

from workshop import hardware
from workshop.errors import MissingCapability
from workshop.examples import inverse_squares

needs_compiler = pytest.mark.skipif(
    hardware.c_compiler() is None, reason="no C compiler (set CC or install gcc/clang)"
)


def test_python_and_numpy_agree():
    assert inverse_squares.python_sum(0) == 0.0 == inverse_squares.numpy_sum(0)
    assert inverse_squares.python_sum(1) == 1.0
    assert math.isclose(
        inverse_squares.python_sum(10_000), inverse_squares.numpy_sum(10_000), rel_tol=1e-12
    )
    assert math.isclose(inverse_squares.numpy_sum(10**6), math.pi**2 / 6, rel_tol=1e-5)


@pytest.mark.parametrize("n", [-1, 2.5, "3"])
def test_bad_term_counts_are_refused(n):
    with pytest.raises(ValueError, match="whole number of terms"):
        inverse_squares.python_sum(n)
    with pytest.raises(ValueError, match="whole number of terms"):
        inverse_squares.numpy_sum(n)


def test_compile_command():
    assert inverse_squares.compile_command("gcc", "out") == [
        "gcc",
        "-O2",
        "-o",
        "out",
        str(inverse_squares.SOURCE),
    ]
    assert inverse_squares.compile_command("C:/VC/cl.exe", "out.exe")[1:3] == ["/nologo", "/O2"]
    assert inverse_squares.SOURCE.is_file()


@pytest.fixture
def no_compiler(monkeypatch, tmp_path):
    """No compiler anywhere: CC names a missing program and PATH holds an empty folder."""
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert hardware.c_compiler() is None


def test_without_a_compiler_build_explains_how_to_get_one(no_compiler, tmp_path):
    reason = inverse_squares.unavailable_reason()
    assert reason is not None and "No C compiler was found" in reason and "CC" in reason
    with pytest.raises(MissingCapability, match="No C compiler was found"):
        inverse_squares.build(tmp_path / "build")


def test_a_compiler_that_cannot_start_is_a_missing_capability(tmp_path):
    with pytest.raises(MissingCapability, match="could not be started"):
        inverse_squares.build(tmp_path, compiler=str(tmp_path / "no-such-cc"))


@needs_compiler
def test_compiled_program_matches_python_to_the_last_bit(tmp_path):
    assert inverse_squares.unavailable_reason() is None
    program = inverse_squares.build(tmp_path)
    for n in (0, 1, 7, 12_345):
        assert inverse_squares.run_program(program, n) == inverse_squares.python_sum(n)
    bad = subprocess.run([str(program), "minus one"], capture_output=True, text=True)
    assert bad.returncode == 2 and "whole number" in bad.stderr
    with pytest.raises(subprocess.CalledProcessError):
        subprocess.run([str(program)], capture_output=True, check=True)


@needs_compiler
def test_a_failed_compile_reports_the_compiler_messages(tmp_path, monkeypatch):
    broken = tmp_path / "broken.c"
    broken.write_text("int main(void) { return undefined_name; }\n")
    monkeypatch.setattr(inverse_squares, "SOURCE", broken)
    monkeypatch.setattr(
        inverse_squares,
        "compile_command",
        lambda compiler, output: [compiler, "-o", str(output), str(broken)],
    )
    with pytest.raises(RuntimeError, match=r"failed \(exit status [1-9]"):
        inverse_squares.build(tmp_path / "out")


@pytest.mark.slow
def test_unit_04_explains_and_skips_its_c_cells_without_a_compiler(no_compiler, tmp_path):
    """The whole 04-subprocess notebook runs with no compiler, skipping only the C cells."""
    import nbformat
    from nbclient import NotebookClient

    root = Path(__file__).resolve().parents[1]
    notebook = nbformat.read(root / "solutions" / "04-subprocess" / "04-subprocess.ipynb", 4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKSHOP_SMALL", "1")
        client.execute()
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"cell {cell.get('id')} failed: {output}"
            texts.append(str(output.get("text", "")) + str(output.get("data", {})))
    shown = "\n".join(texts)
    assert "The C cells below are skipped on this machine" in shown
    assert "No C compiler was found" in shown
    assert "C compiler: " not in shown

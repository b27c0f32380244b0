"""One small computation three ways: a Python loop, NumPy, and a C program run as a subprocess.

The sum of 1/k² for k = 1..n tends to π²/6 (the Basel problem). ``python_sum`` and the C program
``c/inverse_squares.c`` add the terms in the same order, so they agree to the last bit;
``numpy_sum`` adds them pairwise (more accurately), so it differs in the last digits. The C
program is compiled with the system compiler found by ``workshop.hardware``; without one,
``build`` raises ``MissingCapability`` saying how to install one and ``unavailable_reason``
returns that text, so a notebook can explain and skip only its C cells.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from workshop.errors import MissingCapability
from workshop.hardware import c_compiler_reason, require_c_compiler

__all__ = [
    "SOURCE",
    "build",
    "compile_command",
    "numpy_sum",
    "python_sum",
    "run_program",
    "unavailable_reason",
]

SOURCE = Path(__file__).with_name("c") / "inverse_squares.c"


def _check_terms(n: int) -> None:
    if not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be a whole number of terms >= 0, got {n!r}")


def python_sum(n: int) -> float:
    """Sum of 1/k² for k = 1..n with a Python loop."""
    _check_terms(n)
    total = 0.0
    for k in range(1, n + 1):
        total += 1.0 / (k * k)
    return total


def numpy_sum(n: int) -> float:
    """Sum of 1/k² for k = 1..n with NumPy (one array of n terms, summed pairwise)."""
    _check_terms(n)
    k = np.arange(1, n + 1, dtype=np.float64)
    return float(np.sum(1.0 / (k * k)))


def unavailable_reason() -> str | None:
    """Why the C program cannot be built here (no compiler, and how to get one), or None."""
    return c_compiler_reason()


def compile_command(compiler: str, output: Path | str, source: Path | str = SOURCE) -> list[str]:
    """The argument list that compiles ``source`` into the program ``output`` with -O2."""
    if Path(compiler).stem.lower() == "cl":  # MSVC spells its options differently
        return [compiler, "/nologo", "/O2", str(source), f"/Fe:{output}"]
    return [compiler, "-O2", "-o", str(output), str(source)]


def build(directory: Path | str, compiler: str | None = None) -> Path:
    """Compile the C program into ``directory`` and return the program's path.

    Raises ``MissingCapability`` when no C compiler is found (with how to install one) and
    ``RuntimeError`` with the compiler's messages when compiling fails.
    """
    compiler = compiler or require_c_compiler()
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / ("inverse_squares.exe" if sys.platform == "win32" else "inverse_squares")
    command = compile_command(compiler, program)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise MissingCapability(
            f"the C compiler {compiler!r} could not be started; set CC to a working compiler"
        ) from None
    if done.returncode != 0:
        raise RuntimeError(
            f"compiling {SOURCE.name} failed (exit status {done.returncode}) with "
            f"{' '.join(command)}:\n{done.stderr.strip()}"
        )
    return program


def run_program(program: Path | str, n: int, timeout: float = 60.0) -> float:
    """Run the compiled program for ``n`` terms and read its answer from standard output."""
    _check_terms(n)
    done = subprocess.run(
        [str(program), str(n)], capture_output=True, text=True, timeout=timeout, check=True
    )
    return float(done.stdout)

"""Build the Cython kernels as part of the package build (never at import time).

The kernels are compiled for the machine that builds them, like the C reference that they are
compared with: ``-O3`` plus ``-march=native`` (or ``-mcpu=native``, where the compiler spells it
so), falling back to plain ``-O3`` where the compiler refuses both. Set ``WORKSHOP_PORTABLE=1`` to
build for any machine of the architecture instead (an image built on one machine and run on
others, as on Binder). OpenMP is used where the C compiler accepts ``-fopenmp``; otherwise the
kernels build without it and their ``prange`` loops run serially (``workshop info`` reports which).
Each module records the flags it was built with (``CFLAGS``), so ``workshop bench`` can say.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

NATIVE_CHOICES = (("-march=native",), ("-mcpu=native",), ())


def _compiler() -> str | None:
    return (
        os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    )


def _compiles(flags: tuple[str, ...], source: str) -> bool:
    """True when the C compiler builds ``source`` with ``flags`` without an error."""
    cc = _compiler()
    if not cc:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "probe.c")
        src.write_text(source)
        result = subprocess.run(
            [cc.split()[0], *cc.split()[1:], *flags, str(src), "-o", str(Path(tmp, "probe"))],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0


def _compiler_accepts_openmp() -> bool:
    if os.environ.get("WORKSHOP_NO_OPENMP"):
        return False
    if sys.platform == "win32":
        return True  # MSVC: /openmp is handled below
    source = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"
    return _compiles(("-fopenmp",), source)


def _native_flags() -> tuple[str, ...]:
    """``-march=native`` or ``-mcpu=native``, whichever the compiler accepts (or neither)."""
    if os.environ.get("WORKSHOP_PORTABLE") or sys.platform == "win32":
        return ()
    for flags in NATIVE_CHOICES:
        if _compiles(("-O3", *flags), "int main(void){return 0;}\n"):
            return flags
    return ()


def _extensions() -> list[Extension]:
    openmp = _compiler_accepts_openmp()
    if sys.platform == "win32":
        compile_args, link_args = (["/O2", "/openmp"] if openmp else ["/O2"]), []
    else:
        compile_args = ["-O3", *_native_flags()] + (["-fopenmp"] if openmp else [])
        link_args = ["-fopenmp"] if openmp else []
    recorded = '"' + " ".join(compile_args) + '"'
    extensions = []
    for pyx in sorted(Path("workshop/kernels").glob("*.pyx")):
        module = ".".join(pyx.with_suffix("").parts)
        extensions.append(
            Extension(
                module,
                [str(pyx)],
                include_dirs=[numpy.get_include()],
                extra_compile_args=compile_args,
                extra_link_args=link_args,
                define_macros=[
                    ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                    ("WORKSHOP_CFLAGS", recorded),
                ],
            )
        )
    return cythonize(
        extensions,
        compiler_directives={"language_level": "3"},
        compile_time_env={"WORKSHOP_OPENMP": openmp},
    )


setup(ext_modules=_extensions())

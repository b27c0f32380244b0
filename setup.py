"""Build the Cython kernels as part of the package build (never at import time).

OpenMP is used where the C compiler accepts ``-fopenmp``; otherwise the kernels build without it
and their ``prange`` loops run serially (``workshop info`` reports which).
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


def _compiler_accepts_openmp() -> bool:
    if os.environ.get("WORKSHOP_NO_OPENMP"):
        return False
    if sys.platform == "win32":
        return True  # MSVC: /openmp is handled below
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "omp.c")
        src.write_text("#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n")
        result = subprocess.run(
            [cc, "-fopenmp", str(src), "-o", str(Path(tmp, "omp"))],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0


def _extensions() -> list[Extension]:
    openmp = _compiler_accepts_openmp()
    if sys.platform == "win32":
        compile_args, link_args = (["/O2", "/openmp"] if openmp else ["/O2"]), []
    else:
        compile_args = ["-O3"] + (["-fopenmp"] if openmp else [])
        link_args = ["-fopenmp"] if openmp else []
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
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            )
        )
    return cythonize(
        extensions,
        compiler_directives={"language_level": "3"},
        compile_time_env={"WORKSHOP_OPENMP": openmp},
    )


setup(ext_modules=_extensions())

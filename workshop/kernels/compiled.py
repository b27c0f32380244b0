"""Access to the Cython kernels, which exist only once the package has been built.

The ``.pyx`` sources are compiled by ``pip install -e .`` (see ``setup.py``), never at import
time, so a missing or stale build is reported as a missing capability with the command that
builds it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["cython_module", "cython_parallel_reason", "cython_reason"]

BUILD_HINT = (
    "build them from the repository root with `pip install --no-build-isolation -e .` "
    "(or `python setup.py build_ext --inplace`)"
)


def cython_module(name: str) -> ModuleType:
    """The compiled module ``workshop.kernels.<name>``, or ImportError saying how to build it."""
    try:
        return importlib.import_module(f"workshop.kernels.{name}")
    except ImportError as exc:
        raise ImportError(f"the Cython kernels are not built ({exc}); {BUILD_HINT}") from exc


def cython_reason(name: str) -> str | None:
    """Why ``workshop.kernels.<name>`` cannot be used, or None."""
    try:
        cython_module(name)
    except ImportError as exc:
        return str(exc)
    return None


def cython_parallel_reason(name: str) -> str | None:
    """Why the OpenMP ``prange`` kernels of ``<name>`` cannot run in parallel, or None."""
    reason = cython_reason(name)
    if reason is not None:
        return reason
    if not getattr(cython_module(name), "OPENMP", False):
        return (
            "the Cython kernels were built without OpenMP, so prange would run serially; "
            "install a compiler with OpenMP (gcc; on macOS `brew install libomp`) and rebuild: "
            + BUILD_HINT
        )
    return None

"""Notes, not errors: how the workshop's measurement warnings reach a learner in Jupyter.

An unstable measurement is a fact about a busy machine, not a fault in the learner's code. A
Python warning goes to standard error, which Jupyter draws in a red box that reads as an error;
inside a Jupyter kernel the workshop's ``UnstableMeasurementWarning`` is printed instead as one
plain line on standard output, starting with "Note:". Every other warning, and every warning
outside Jupyter (scripts, ``workshop bench``, tests), is shown as Python always shows it, and
warning filters (``-W error``, pytest's ``filterwarnings``) apply as usual.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any, TextIO

__all__ = ["install", "show_as_note"]

_previous: Any = warnings.showwarning  # replaced by install() with the hook it wraps


def _in_jupyter_kernel() -> bool:
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    instance = get() if get else None
    return instance is not None and getattr(instance, "kernel", None) is not None


def show_as_note(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` that prints the workshop's noise warnings as notes in Jupyter."""
    from workshop.errors import UnstableMeasurementWarning

    if issubclass(category, UnstableMeasurementWarning) and _in_jupyter_kernel():
        print(f"Note: {message}", file=sys.stdout, flush=True)
        return
    _previous(message, category, filename, lineno, file, line)


def install() -> None:
    """Route warnings through ``show_as_note`` (once; the previous hook handles the rest)."""
    global _previous
    if warnings.showwarning is not show_as_note:
        _previous = warnings.showwarning
        warnings.showwarning = show_as_note

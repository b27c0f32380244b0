"""Where things are: the course folder, and this interpreter's tools on PATH.

``workshop lab``, ``workshop release`` and ``workshop grade`` all need the course folder (the one
holding ``nbgrader_config.py``), and nbgrader runs ``alembic`` by name, so this interpreter's
bin folder must lead PATH for any command it starts. One rule each, here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["CONFIG_FILE", "find_course_root", "path_with_this_python"]

CONFIG_FILE = "nbgrader_config.py"


def find_course_root(start: Path | str | None = None) -> Path | None:
    """The nearest folder holding ``nbgrader_config.py``, from ``start`` (default: the current
    directory) upwards; None when there is none."""
    here = (Path.cwd() if start is None else Path(start)).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return None


def path_with_this_python(path: str | None = None) -> str:
    """``path`` (default: ``$PATH``) with this interpreter's bin folder first."""
    path = os.environ.get("PATH", "") if path is None else path
    return os.pathsep.join([str(Path(sys.executable).parent), path])

"""The learner's own working copies of the units, kept apart from the committed exercises.

JupyterLab saves outputs and edits into the notebooks it runs. ``exercises/`` is what nbgrader
generates and git tracks, so learners work in copies instead: ``my-work/<unit>/`` at the course
root (git ignores it), made from ``exercises/`` on first use. A file that already exists there is
never overwritten, so a learner's work survives ``git pull``, ``workshop release`` and every later
``workshop lab``; a unit added to the course later is copied in the next time.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "FIRST_NOTEBOOK",
    "WORKSPACE_ENV",
    "Workspace",
    "prepare_workspace",
    "workspace_folder",
]

WORKSPACE_ENV = "WORKSHOP_WORKSPACE"
DEFAULT_FOLDER = "my-work"
# What Binder's link and `workshop lab` open first, relative to the course root.
FIRST_NOTEBOOK = f"{DEFAULT_FOLDER}/00-welcome/00-welcome.ipynb"
_SKIPPED_PARTS = {".ipynb_checkpoints", "__pycache__"}


@dataclass
class Workspace:
    """Where the learner's copies are, and which files this call copied in (new ones only)."""

    folder: Path
    copied: list[Path] = field(default_factory=list)

    def first_notebook(self) -> Path | None:
        """The first unit's first notebook in the workspace, to open when the lab starts."""
        notebooks = sorted(self.folder.glob("*/*.ipynb"))
        return notebooks[0] if notebooks else None


def workspace_folder(root: Path) -> Path:
    """``$WORKSHOP_WORKSPACE`` when set, else ``my-work/`` under the course ``root``."""
    chosen = os.environ.get(WORKSPACE_ENV)
    return Path(chosen).expanduser().resolve() if chosen else root / DEFAULT_FOLDER


def prepare_workspace(root: Path, folder: Path | None = None) -> Workspace:
    """Copy every file of ``root/exercises/`` that is missing from the workspace; keep the rest.

    Existing files are never touched, whatever their content. Raises ``FileNotFoundError`` when
    ``root`` has no ``exercises/`` folder (not a course checkout).
    """
    source = root / "exercises"
    if not source.is_dir():
        raise FileNotFoundError(
            f"{root} has no exercises/ folder: run this from a clone of the workshop repository"
        )
    workspace = Workspace(folder or workspace_folder(root))
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_dir() or _SKIPPED_PARTS.intersection(relative.parts):
            continue
        target = workspace.folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if _copy_if_missing(path, target):
            workspace.copied.append(target)
    return workspace


def _copy_if_missing(source: Path, target: Path) -> bool:
    """Copy ``source`` to ``target`` only if ``target`` does not exist (checked atomically)."""
    try:
        with source.open("rb") as reader, target.open("xb") as writer:
            shutil.copyfileobj(reader, writer)
    except FileExistsError:
        return False
    shutil.copystat(source, target)
    return True

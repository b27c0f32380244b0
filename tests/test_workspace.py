"""Learners' own copies of the exercises: made once, topped up, never overwritten."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workshop.workspace import FIRST_NOTEBOOK, prepare_workspace, workspace_folder

ROOT = Path(__file__).resolve().parents[1]


def _course(tmp_path: Path, units: dict[str, str]) -> Path:
    root = tmp_path / "course"
    for unit, text in units.items():
        (root / "exercises" / unit).mkdir(parents=True)
        (root / "exercises" / unit / f"{unit}.ipynb").write_text(text)
    (root / "exercises" / ".ipynb_checkpoints").mkdir()
    (root / "exercises" / ".ipynb_checkpoints" / "x.ipynb").write_text("checkpoint")
    return root


def test_first_use_copies_every_exercise(tmp_path: Path) -> None:
    root = _course(tmp_path, {"00-welcome": "a", "01-fast-code": "b"})
    workspace = prepare_workspace(root, tmp_path / "mine")
    assert sorted(p.relative_to(workspace.folder).as_posix() for p in workspace.copied) == [
        "00-welcome/00-welcome.ipynb",
        "01-fast-code/01-fast-code.ipynb",
    ]
    assert workspace.first_notebook() == workspace.folder / "00-welcome/00-welcome.ipynb"


def test_learners_work_is_never_overwritten_and_new_units_arrive(tmp_path: Path) -> None:
    root = _course(tmp_path, {"00-welcome": "released"})
    mine = tmp_path / "mine"
    prepare_workspace(root, mine)
    (mine / "00-welcome/00-welcome.ipynb").write_text("my answers")
    (root / "exercises/00-welcome/00-welcome.ipynb").write_text("released again")
    (root / "exercises/02-new").mkdir()
    (root / "exercises/02-new/02-new.ipynb").write_text("new unit")
    again = prepare_workspace(root, mine)
    assert (mine / "00-welcome/00-welcome.ipynb").read_text() == "my answers"
    assert again.copied == [mine / "02-new/02-new.ipynb"]


def test_a_folder_without_exercises_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="has no exercises/ folder"):
        prepare_workspace(tmp_path)


def test_default_folder_is_git_ignored_and_env_moves_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("WORKSHOP_WORKSPACE", raising=False)
    assert workspace_folder(ROOT) == ROOT / FIRST_NOTEBOOK.split("/")[0]
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", FIRST_NOTEBOOK], cwd=ROOT, check=False
    ).returncode
    assert ignored == 0, f"{FIRST_NOTEBOOK} must be ignored by git (.gitignore)"
    monkeypatch.setenv("WORKSHOP_WORKSPACE", str(tmp_path / "elsewhere"))
    assert workspace_folder(ROOT) == tmp_path / "elsewhere"


def test_workspace_command_copies_the_real_course(tmp_path: Path) -> None:
    env = {"WORKSHOP_WORKSPACE": str(tmp_path / "mine"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "workshop", "workspace"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "existing files were kept" in result.stdout
    committed = sorted(
        p.relative_to(ROOT / "exercises") for p in (ROOT / "exercises").rglob("*.ipynb")
    )
    copied = sorted(p.relative_to(tmp_path / "mine") for p in (tmp_path / "mine").rglob("*.ipynb"))
    assert copied == committed

"""Build cheating submissions for the nbgrader round trip (``tests/wrong_answers/<unit>.py``).

A cheat is a wrong answer that used to score; each is registered next to the unit's plausible
wrong answers, in the same round trip, with the test cells that must score 0 for it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHEATS = Path(__file__).resolve().parent


def _answers(notebook: Path) -> dict[str, str]:
    cells = json.loads(notebook.read_text())["cells"]
    return {
        cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"])
        for cell in cells
        if cell["cell_type"] == "code"
        and cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    }


def blank_answers(unit: str) -> dict[str, str]:
    """grade id -> the released (blank) source of each answer cell of ``unit``."""
    return _answers(ROOT / "exercises" / unit / f"{unit}.ipynb")


def solved_answers(unit: str) -> dict[str, str]:
    """grade id -> the solution source of each answer cell, without the solution markers."""
    return {
        key: re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n?", "", source)
        for key, source in _answers(ROOT / "solutions" / unit / f"{unit}.ipynb").items()
    }


def hooks(unit: str, keep: list[str], fails: list[str]) -> dict:
    """Every kernel hook of ``hooks.py`` on top of blank answers, except the ``keep`` cells,
    which are solved (so the submission keeps some points and shows the hooks add none)."""
    blank, solved = blank_answers(unit), solved_answers(unit)
    replace = {key: solved[key] if key in keep else blank[key] for key in blank}
    first = next(key for key, source in blank.items() if not source.lstrip().startswith("%%"))
    replace[first] = (CHEATS / "hooks.py").read_text() + "\n\n" + replace[first]
    return {
        "description": "kernel hooks (AST transformer, exception handlers, patched checks and "
        "validators) over blank answers",
        "replace": replace,
        "fails": fails,
    }


def cheats(specs: list[dict]) -> list[dict]:
    """``specs`` marked as cheats: the round trip grades each for real, through nbgrader."""
    return [{**spec, "kernel": True} for spec in specs]

"""Hostile submissions, graded for real by ``workshop grade`` in its sandbox.

One run grades a folder of students on a tiny unit (one answer cell, one test cell with a hidden
test, a few plain cells), each submission carrying one payload from ``payloads/`` at the top of its
answer cell, the answer itself solved, so a payload that had no effect scores full marks. For
every case the run must grade it or report it with the expected reason, leave every submission's
bytes as they were, write nothing outside ``instructor/``, leave no process behind and end in
bounded time. Interruptions, a second run and LMS zips with bad entries are tried beside it.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from workshop.course import GradingRefused, grade, release
from workshop.sandbox import unavailable

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = Path(__file__).parent / "payloads"
UNIT = "99-tiny"
WORKSHOP = str(Path(sys.executable).parent / "workshop")
CELL_SECONDS, NOTEBOOK_SECONDS = 8, 20
MARKERS = ("sleep 1001", "sleep 1002", "sleep 1003", "ticks-hostile-writer")
HIDDEN_MARKER = "hidden-secret-42"
SOLUTION_MARKER = "return x + x  # the instructor's answer"

pytestmark = [
    pytest.mark.slow,
    # One grading run of every hostile input happens in the first test's set-up.
    pytest.mark.timeout(1800),
    pytest.mark.skipif(unavailable() is not None, reason=f"no sandbox here: {unavailable()}"),
]


# 99-tiny is a unit of the instructor's own: the workshop has no built-in check for it, so its
# test cell is judged by an instructor's private check (as `workshop grade --private-tests DIR`).
PRIVATE_CHECK = """
def check(trial):
    for x in trial.rng.integers(-1000, 1000, size=3).tolist():
        got = trial.value("double", x)
        assert got == 2 * x, f"double({x}) gave {got!r}"
"""


@pytest.fixture(scope="module", autouse=True)
def private_checks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("private")
    (folder / UNIT).mkdir()
    (folder / UNIT / "double-test.py").write_text(PRIVATE_CHECK)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKSHOP_PRIVATE_TESTS", str(folder))
        yield folder


def _meta(grade_id: str, **flags: object) -> dict:
    return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, **flags}}


def _tiny_solution() -> nbformat.NotebookNode:
    answer = new_code_cell(
        "def double(x):\n    ### BEGIN SOLUTION\n    " + SOLUTION_MARKER + "\n    ### END SOLUTION",
        metadata=_meta("double-answer", solution=True, grade=False, locked=False),
    )
    test = new_code_cell(
        "assert double(2) == 4, 'double(2) should be 4'\n### BEGIN HIDDEN TESTS\n"
        f"assert double(21) == 42, '{HIDDEN_MARKER}'\n### END HIDDEN TESTS",
        metadata=_meta("double-test", solution=False, grade=True, locked=True, points=1),
    )
    tail = [new_code_cell(f"print('after the test {n}')") for n in range(4)]
    cells = [new_markdown_cell("# A tiny unit"), new_code_cell("import math"), answer, test]
    notebook = new_notebook(cells=cells + tail)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return notebook


def _course(folder: Path) -> Path:
    (folder / "solutions" / UNIT).mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", folder)
    nbformat.write(_tiny_solution(), folder / "solutions" / UNIT / f"{UNIT}.ipynb")
    release(root=folder)
    return folder


def _submission(course: Path, payload: str = "", solved: bool = True) -> nbformat.NotebookNode:
    notebook = nbformat.read(course / "exercises" / UNIT / f"{UNIT}.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            body = "def double(x):\n    return 2 * x" if solved else cell.source
            cell.source = (payload.rstrip() + "\n\n" + body) if payload else body
    return notebook


def _put(folder: Path, student: str, notebook: object, name: str = f"{UNIT}.ipynb") -> None:
    (folder / student / UNIT).mkdir(parents=True, exist_ok=True)
    path = folder / student / UNIT / name
    if isinstance(notebook, str):
        path.write_text(notebook)
    else:
        nbformat.write(notebook, path)


def _hashes(folder: Path, skip: str | None = None) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not (skip and path.relative_to(folder).parts[0] == skip)
    }


def _leftovers() -> list[str]:
    found = []
    for process in psutil.process_iter(["cmdline", "username"]):
        line = " ".join(process.info["cmdline"] or [])
        if any(marker in line for marker in MARKERS) or "wsk-" in line:
            found.append(f"{process.pid}: {line[:120]}")
    return found


@dataclass
class HostileRun:
    course: Path
    submissions: Path
    outside: Path
    home: Path
    completed: subprocess.CompletedProcess
    seconds: float
    rows: dict[str, dict]  # student -> CSV row (graded submissions and skipped inputs)
    before: dict[str, str]
    course_before: dict[str, str]
    leftovers: list[str]


def _write_payloads(course: Path, submissions: Path, outside: Path) -> None:
    for path in sorted(PAYLOADS.glob("*.py")):
        code = path.read_text()
        code = code.replace("{COURSE}", str(course)).replace("{SUBMISSIONS}", str(submissions))
        code = code.replace("{OUTSIDE}", str(outside / "escaped.txt"))
        _put(submissions, path.stem, _submission(course, code))
    _put(submissions, "solver", _submission(course))
    _put(submissions, "blank", _submission(course, solved=False))
    _put(submissions, "zoë", _submission(course))
    _put(submissions, "o'brien", _submission(course))
    _put(submissions, "carl", _submission(course), name=f"{UNIT} (1).ipynb")
    _put(submissions, "notjson", json.dumps({"hello": "a JSON file, not a notebook"}))
    duplicate = _submission(course)
    test_cell = next(c for c in duplicate.cells if c.metadata.get("nbgrader", {}).get("grade"))
    copy = nbformat.from_dict(json.loads(json.dumps(test_cell)))
    copy.id = "pasted-copy"  # JupyterLab gives a pasted cell a new id, not a new grade id
    duplicate.cells.insert(1, copy)
    _put(submissions, "duplicate", duplicate)
    _put(submissions, "version3", nbformat.writes(_submission(course), version=3))
    (submissions / "stray.ipynb").write_text(nbformat.writes(_submission(course)))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileRun:
    base = tmp_path_factory.mktemp("hostile")
    course = _course(base / "course")
    submissions, outside, home = base / "submissions", base / "outside", base / "home"
    outside.mkdir()
    home.mkdir()
    _write_payloads(course, submissions, outside)
    before, course_before = _hashes(submissions), _hashes(course, skip="instructor")
    env = dict(os.environ, HOME=str(home))
    started = time.perf_counter()
    command = [WORKSHOP, "grade", str(submissions), "--cell-timeout", str(CELL_SECONDS)]
    command += ["--notebook-timeout", str(NOTEBOOK_SECONDS)]
    completed = subprocess.run(
        command, cwd=course, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    seconds = time.perf_counter() - started
    time.sleep(1)  # anything that escaped would still be running, or writing, now
    rows = {row["student_id"] or row["notes"]: row for row in _csv(course)}
    return HostileRun(
        course,
        submissions,
        outside,
        home,
        completed,
        seconds,
        rows,
        before,
        course_before,
        _leftovers(),
    )


def _csv(course: Path) -> list[dict]:
    with (course / "instructor" / "grades.csv").open() as handle:
        return list(csv.DictReader(handle))


def _row(run: HostileRun, student: str) -> dict:
    for key, row in run.rows.items():
        if key == student or f"{student}/" in row["notes"]:
            return row
    raise KeyError(f"{student} is missing from grades.csv: {sorted(run.rows)}")


def _outputs(run: HostileRun, student: str) -> str:
    path = run.course / "instructor" / "autograded" / student / UNIT / f"{UNIT}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    return json.dumps([cell.get("outputs", []) for cell in notebook.cells])


def test_every_input_is_graded_or_reported_with_its_reason(hostile: HostileRun) -> None:
    out = hostile.completed.stdout + hostile.completed.stderr
    assert hostile.completed.returncode == 1, out  # some inputs were not graded
    graded = {s for s, row in hostile.rows.items() if row["status"] == "graded"}
    full = {s for s in graded if float(hostile.rows[s]["score"]) == 1.0}
    assert full >= {
        "solver",
        "zoë",
        "duplicate",
        "huge_output",
        "escape_writes",
        "read_others",
        "detached_writer",
        "orphans",
        "network",
        "resources",
    }, out
    # The payloads of kill_grader and gradebook_rewrite fail in the sandbox before the answer.
    for student in ("blank", "runaway", "kill_grader", "gradebook_rewrite"):
        assert hostile.rows[student]["score"] == "0", hostile.rows[student]
    expected = {
        "exit_kernel": "kernel died in 'double-answer' (cell 2) (exited with status 3)",
        "sigkill_self": "kernel died in 'double-answer' (cell 2) (killed by SIGKILL",
        # It ignores the interrupt: whichever limit ends it first is named.
        "stubborn": "timed out in 'double-answer' (cell 2) after 8 s",
        "slow_cells": f"sandbox limit: the notebook ran past {NOTEBOOK_SECONDS} s",
        "notjson": "not a notebook",
        "o'brien": "is not usable as an id",
        "carl": "misnamed",
    }
    for student, reason in expected.items():
        row = _row(hostile, student)
        assert row["status"] == "not graded" and row["score"] == "", row
        assert reason in row["notes"], row
        assert reason in out
    stray = [row for key, row in hostile.rows.items() if "stray.ipynb" in key]
    assert stray and "not laid out as" in stray[0]["notes"]
    assert "version3" in graded, hostile.rows["version3"]
    for student in ("zoë", "solver"):
        assert student in out


def test_notes_name_the_timeout_the_copy_and_the_cut(hostile: HostileRun) -> None:
    assert (
        f"timed out in 'double-answer' (cell 2) after {CELL_SECONDS} s"
        in hostile.rows["runaway"]["notes"]
    )
    assert "duplicate cell 'double-test'" in hostile.rows["duplicate"]["notes"]
    assert "output over 4 MiB was dropped" in hostile.rows["huge_output"]["notes"]
    size = (hostile.course / "instructor/autograded/huge_output" / UNIT / f"{UNIT}.ipynb").stat()
    assert size.st_size < 8 << 20


def test_nothing_escapes_the_sandbox(hostile: HostileRun) -> None:
    assert _hashes(hostile.submissions) == hostile.before
    assert _hashes(hostile.course, skip="instructor") == hostile.course_before
    assert not any(hostile.outside.iterdir())
    assert not list(hostile.home.rglob("escaped*")) and not list(hostile.home.rglob("ticks*"))
    assert not (hostile.course.parent / "escaped.txt").exists()
    escape = _outputs(hostile, "escape_writes")
    assert "wrote ../../escaped.txt" in escape or "refused ../../escaped.txt" in escape
    assert f"wrote {hostile.course}" not in escape and f"wrote {hostile.outside}" not in escape
    read = _outputs(hostile, "read_others")
    assert "READ" not in read and "hidden" in read
    assert "no network" in _outputs(hostile, "network") and "REACHED" not in _outputs(
        hostile, "network"
    )
    assert "PermissionError" in _outputs(hostile, "kill_grader")  # the grader is out of reach
    resources = _outputs(hostile, "resources")
    assert "memory capped" in resources and "process cap after" in resources


def test_no_process_is_left_behind(hostile: HostileRun) -> None:
    assert hostile.leftovers == []


def test_grading_time_is_bounded(hostile: HostileRun) -> None:
    # 20-odd submissions; the runaway and stubborn ones are bounded by the time limits.
    assert hostile.seconds < 600, hostile.seconds


def test_feedback_never_shows_hidden_tests_or_solutions(hostile: HostileRun) -> None:
    feedback = sorted((hostile.course / "instructor" / "feedback").rglob("*.html"))
    assert len(feedback) >= 10
    for path in feedback:
        text = path.read_text()
        assert HIDDEN_MARKER not in text and "HIDDEN TESTS" not in text, path
        assert SOLUTION_MARKER not in text, path


def test_the_gradebook_is_beyond_reach(hostile: HostileRun) -> None:
    # gradebook_rewrite.py set every grade to full marks when it could reach the gradebook.
    assert hostile.rows["blank"]["score"] == "0"
    assert "StopIteration" in _outputs(hostile, "gradebook_rewrite")


# ------------------------------------------------------------------- interruptions, a second run


def _start(course: Path, submissions: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [WORKSHOP, "grade", str(submissions), *extra],
        cwd=course,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(process: subprocess.Popen, text: str, seen: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line)
        if text in line:
            return
    raise AssertionError(f"never printed {text!r}: {''.join(seen)}")


def test_interrupted_and_killed_runs_are_completed_by_the_next(tmp_path: Path) -> None:
    course = _course(tmp_path / "course")
    submissions = tmp_path / "in"
    _put(submissions, "a_slow", _submission(course, "import time\ntime.sleep(4)"))
    _put(submissions, "b_solver", _submission(course))
    _put(submissions, "c_blank", _submission(course, solved=False))

    first, seen = _start(course, submissions), []
    _wait_for(first, "grading a_slow", seen)
    second = subprocess.run(
        [WORKSHOP, "grade", str(submissions)], cwd=course, capture_output=True, text=True
    )
    assert second.returncode == 2 and "another `workshop grade`" in second.stderr
    first.send_signal(signal.SIGINT)
    rest, _ = first.communicate(timeout=120)
    assert first.returncode == 130, "".join(seen) + rest
    assert "interrupted" in rest and "grading b_solver" not in rest

    killed, seen = _start(course, submissions), []
    _wait_for(killed, "grading b_solver", seen)
    killed.kill()
    killed.wait(timeout=30)
    time.sleep(1)
    assert _leftovers() == []

    final = subprocess.run(
        [WORKSHOP, "grade", str(submissions)], cwd=course, capture_output=True, text=True
    )
    assert final.returncode == 0, final.stdout + final.stderr
    scores = {row["student_id"]: row["score"] for row in _csv(course)}
    assert scores == {"a_slow": "1", "b_solver": "1", "c_blank": "0"}


def test_a_held_course_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    course = tmp_path / "course"
    (course / "solutions" / UNIT).mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    nbformat.write(_tiny_solution(), course / "solutions" / UNIT / f"{UNIT}.ipynb")
    _put(tmp_path / "in", "ada", _tiny_solution())
    (course / "instructor").mkdir(exist_ok=True)
    with (course / "instructor" / "grade.lock").open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write("pid 1, started earlier")
        handle.flush()
        with pytest.raises(GradingRefused, match=r"another `workshop grade` \(pid 1"):
            grade(tmp_path / "in", root=course)


# ---------------------------------------------------------------------------------- LMS zips


def test_zip_entries_that_cannot_be_graded_are_listed_and_the_rest_graded(tmp_path: Path) -> None:
    course = _course(tmp_path / "course")
    notebook = nbformat.writes(_submission(course))
    stamp = "attempt_2026-01-30-15-30-10"
    renamed, traversal = tmp_path / "renamed.zip", tmp_path / "deep" / "er" / "traversal.zip"
    traversal.parent.mkdir(parents=True)
    with zipfile.ZipFile(renamed, "w") as archive:
        archive.writestr(f"{UNIT}_ada_{stamp}_{UNIT}.ipynb", notebook)
        archive.writestr(f"{UNIT}_carl_{stamp}_{UNIT} (1).ipynb", notebook)
    with zipfile.ZipFile(traversal, "w") as archive:
        archive.writestr(f"{UNIT}_bob_{stamp}_{UNIT}.ipynb", notebook)
        archive.writestr("../../outside.ipynb", notebook)
        archive.writestr("notes.txt", "not a notebook")
    hashes = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in (renamed, traversal)}

    summary = grade(renamed, root=course)
    assert not summary.ok and summary.result("ada", UNIT).score == 1
    (carl,) = summary.skipped
    assert carl.student == "carl" and "misnamed" in carl.reason
    assert "carl" in "".join(row["student_id"] for row in _csv(course))

    summary = grade(traversal, root=course)
    assert summary.result("bob", UNIT).score == 1
    reasons = {item.where: item.reason for item in summary.skipped}
    assert "unsafe path" in reasons["../../outside.ipynb"]
    assert "does not follow the LMS naming" in reasons["notes.txt"]
    assert not list(tmp_path.rglob("outside.ipynb"))
    assert all(hashlib.sha256(p.read_bytes()).hexdigest() == h for p, h in hashes.items())

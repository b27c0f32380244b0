"""The nbgrader course: notebook conventions, the committed exercises, and a real grading round trip.

The round trip (marked slow) grades, in a temporary copy of the course, the solutions, the blank
exercises and every cheat (registered with the plausible wrong answers in
``tests/wrong_answers/<unit>.py``), then grades the same folder again and an LMS-style zip. One
session-scoped fixture does all the grading (each notebook is executed once per submission, by
nbgrader, leaving out the measured demonstrations no graded cell needs) and the tests only
inspect it; tests/test_binder_limits.py runs every solution top to bottom. The plausible wrong
answers go to the judge directly, which is what decides their points. While working on one
unit, ``WORKSHOP_TEST_UNITS=00-welcome`` (comma-separated) limits the round trip and the judged
answers to those units.
"""

from __future__ import annotations

import csv
import hashlib
import html
import os
import re
import runpy
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from workshop.autograde import SKIPPED_NOTE
from workshop.course import GradeSummary, course_root, grade, list_units, release
from workshop.demo_cells import DEMO_TAG
from workshop.verdict.gate import judge_notebook

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted(ROOT.glob("solutions/*/*.ipynb"))
EXERCISES = sorted(ROOT.glob("exercises/*/*.ipynb"))
WRONG_ANSWERS = ROOT / "tests" / "wrong_answers"
ZIP_TIMESTAMP = "20250130T153010"


# The session fixture `graded` grades every unit's solutions, blanks, wrong answers and cheats
# (sandboxed kernels and the judge) in the set-up of the first test that uses it.
pytestmark = pytest.mark.timeout(3600)


def _ids(paths: list[Path]) -> list[str]:
    return [path.parent.name for path in paths]


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _grade_cells(notebook: nbformat.NotebookNode) -> dict[str, float]:
    """grade id -> points of the notebook's autograded cells."""
    return {
        cell.metadata["nbgrader"]["grade_id"]: float(cell.metadata["nbgrader"]["points"])
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
    }


def _wrong_submissions(unit: str) -> list[dict]:
    path = WRONG_ANSWERS / f"{unit}.py"
    return runpy.run_path(str(path))["WRONG_SUBMISSIONS"] if path.is_file() else []


def _graded_in_kernel(number: int, spec: dict) -> bool:
    """Whether a wrong answer goes through the whole nbgrader round trip.

    Every cheat does (``"kernel": True``, set by ``tests/cheats/kinds.py``): it attacks the
    grading run itself, so only a real grading run shows what it earns. The others are plausible
    mistakes that differ from the solutions in what they compute, which the judge alone decides;
    ``test_judged_wrong_answers_lose_their_cells_only`` gives them to it directly.
    """
    return bool(spec.get("kernel"))


def _with_answers(notebook: Path, replace: dict[str, str]) -> nbformat.NotebookNode:
    nb = _read(notebook)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in replace:
            cell.source = replace[grade_id].strip("\n")
    return nb


JUDGED_ONLY = [
    pytest.param(unit, number, id=f"{unit}-wrong{number}")
    for unit in list_units(ROOT)
    for number, spec in enumerate(_wrong_submissions(unit), start=1)
    if not _graded_in_kernel(number, spec)
]


def _round_trip_units() -> list[str]:
    chosen = os.environ.get("WORKSHOP_TEST_UNITS", "").replace(" ", "")
    return chosen.split(",") if chosen else list_units(ROOT)


def _new_course(folder: Path, units: list[str]) -> Path:
    """A copy of the course's config and solutions for ``units``, released by nbgrader."""
    folder.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", folder)
    for unit in units:
        shutil.copytree(
            ROOT / "solutions" / unit,
            folder / "solutions" / unit,
            ignore=shutil.ignore_patterns(".ipynb_*"),
        )
    release(root=folder)
    return folder


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


# ----------------------------------------------------------------- conventions (no kernels)


@pytest.mark.parametrize("notebook", SOLUTIONS + EXERCISES, ids=lambda p: "/".join(p.parts[-3:-1]))
def test_notebooks_are_committed_without_outputs(notebook: Path) -> None:
    for index, cell in enumerate(_read(notebook).cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"{notebook}: code cell {index} has outputs; clear them"
            assert cell.execution_count is None, f"{notebook}: code cell {index} has a count"


@pytest.mark.parametrize("notebook", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_notebooks_follow_the_conventions(notebook: Path) -> None:
    nb = _read(notebook)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and "report()" in code[0].source, "the first code cell shows the hardware report"
    grades = [cell for cell in code if cell.metadata.get("nbgrader", {}).get("grade")]
    assert grades, "a unit has at least one autograded test cell"
    assert any("### BEGIN HIDDEN TESTS" in cell.source for cell in grades), (
        "hidden tests (### BEGIN HIDDEN TESTS) must catch answers hard-coded to the visible ones"
    )
    ids = [
        cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells if "nbgrader" in cell.metadata
    ]
    assert len(ids) == len(set(ids)), f"duplicate nbgrader grade ids: {sorted(ids)}"
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        assert meta["schema_version"] == 3, f"{meta['grade_id']}: nbgrader schema_version 3"
        if meta.get("grade"):
            assert meta["locked"] and meta["points"] > 0, f"{meta['grade_id']}: locked, points"
        if meta.get("solution") and cell.cell_type == "code":
            assert "### BEGIN SOLUTION" in cell.source, f"{meta['grade_id']}: solution region"


@pytest.mark.parametrize("unit", list_units(ROOT))
def test_every_unit_registers_a_wrong_answer(unit: str) -> None:
    submissions = _wrong_submissions(unit)
    assert submissions, f"register a plausible wrong answer in tests/wrong_answers/{unit}.py"
    graded = {}
    for notebook in (ROOT / "solutions" / unit).glob("*.ipynb"):
        graded.update(_grade_cells(_read(notebook)))
    for submission in submissions:
        assert set(submission["fails"]) <= graded.keys(), "fails must name autograded cells"
        assert set(submission["fails"]) < graded.keys(), "a wrong answer must keep some points"


def test_committed_exercises_are_what_nbgrader_generates(tmp_path: Path) -> None:
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions", course / "solutions")
    generated = release(root=course)
    assert generated, "release generated no notebooks"
    fresh = {p.relative_to(course / "exercises") for p in (course / "exercises").rglob("*")}
    committed = {p.relative_to(ROOT / "exercises") for p in (ROOT / "exercises").rglob("*")}
    assert fresh == committed, "exercises/ is out of date: run `workshop release` and commit it"
    for relative in sorted(p for p in fresh if p.suffix == ".ipynb"):
        new, old = _read(course / "exercises" / relative), _read(ROOT / "exercises" / relative)
        assert new.metadata == old.metadata, f"{relative}: notebook metadata differs"
        assert len(new.cells) == len(old.cells), f"{relative}: cells differ; run `workshop release`"
        for a, b in zip(new.cells, old.cells, strict=True):
            assert (a.cell_type, a.source, a.metadata) == (b.cell_type, b.source, b.metadata), (
                f"{relative}: cell {b.get('id')} differs from what nbgrader generates; "
                "exercises/ is generated, never edited: run `workshop release`"
            )


# ------------------------------------------------------------- input checks (no grading runs)


def test_course_root_is_found_from_below(tmp_path: Path) -> None:
    assert course_root(ROOT / "solutions") == ROOT
    with pytest.raises(ValueError, match="is not a course folder"):
        release(root=tmp_path)


def test_grade_rejects_bad_input_before_touching_anything(tmp_path: Path) -> None:
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions", course / "solutions")
    with pytest.raises(
        ValueError, match=r"does not exist: expected a folder laid out as <student>"
    ):
        grade(tmp_path / "missing", root=course)
    (tmp_path / "empty" / "ada").mkdir(parents=True)
    with pytest.raises(ValueError, match="holds no submissions: expected notebooks laid out as"):
        grade(tmp_path / "empty", root=course)
    odd = tmp_path / "odd" / "ada" / "99-nope"
    odd.mkdir(parents=True)
    (odd / "x.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="unknown unit '99-nope': the units are "):
        grade(tmp_path / "odd", root=course)
    (tmp_path / "notes.txt").write_text("not a zip")
    with pytest.raises(ValueError, match="is not a zip file"):
        grade(tmp_path / "notes.txt", root=course)
    with pytest.raises(ValueError, match="unknown unit"):
        release(["99-nope"], root=course)
    with zipfile.ZipFile(tmp_path / "mystery.zip", "w") as handle:
        handle.writestr("ada.txt", "hello")
    with pytest.raises(ValueError, match=r"cannot tell which unit mystery\.zip holds"):
        grade(tmp_path / "mystery.zip", root=course)
    assert not (course / "instructor" / "submitted").exists()


def test_grade_explains_zip_names_it_cannot_read(tmp_path: Path) -> None:
    unit = list_units(ROOT)[0]
    course = _new_course(tmp_path / "course", [unit])
    archive = tmp_path / "downloads.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for notebook in (course / "exercises" / unit).glob("*.ipynb"):
            handle.write(notebook, f"ada-{notebook.name}")  # not the LMS naming pattern
    with pytest.raises(
        ValueError, match=r"holds no notebook of unit .* named as the course expects"
    ):
        grade(archive, unit=unit, root=course)
    assert not (course / "instructor" / "submitted").exists()


# ------------------------------------------------------------------- the grading round trip


@dataclass
class GradedCourse:
    course: Path
    submissions: Path
    archive: Path
    first: GradeSummary
    again: GradeSummary
    zipped: GradeSummary
    points: dict[str, dict[str, float]]  # unit -> grade id -> points
    wrong: dict[str, list[dict]]  # student -> [{"unit": ..., "fails": [...]}]
    hashes_before: dict[str, str]
    zip_hash_before: str
    csv_before_zip: str


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory) -> GradedCourse:
    base = tmp_path_factory.mktemp("nbgrader")
    units = _round_trip_units()
    course = _new_course(base / "course", units)
    submissions = base / "submissions"
    points: dict[str, dict[str, float]] = {}
    wrong: dict[str, list[dict]] = {}
    for unit in units:
        points[unit] = {}
        for notebook in sorted((course / "solutions" / unit).glob("*.ipynb")):
            solution = _read(notebook)
            points[unit].update(_grade_cells(solution))
            for student, source in (
                ("solver", notebook),
                ("blank", course / "exercises" / unit / notebook.name),
            ):
                (submissions / student / unit).mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, submissions / student / unit / notebook.name)
        for number, spec in enumerate(_wrong_submissions(unit), start=1):
            if not _graded_in_kernel(number, spec):
                continue
            student = f"wrong{number}"
            for notebook in sorted((course / "solutions" / unit).glob("*.ipynb")):
                nb = _with_answers(notebook, spec["replace"])
                (submissions / student / unit).mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, submissions / student / unit / notebook.name)
            wrong.setdefault(student, []).append({"unit": unit, "fails": spec["fails"]})
    hashes_before = _hashes(submissions)

    first = grade(submissions, root=course)
    again = grade(submissions, root=course)
    csv_before_zip = (course / "instructor" / "grades.csv").read_text()

    # An LMS download for the first unit: "blank" resubmits, now with the solutions.
    unit = units[0]
    archive = base / f"{unit}-downloads.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for notebook in sorted((course / "solutions" / unit).glob("*.ipynb")):
            handle.write(notebook, f"{unit}_blank_attempt_{ZIP_TIMESTAMP}_{notebook.name}")
    zip_hash_before = hashlib.sha256(archive.read_bytes()).hexdigest()
    zipped = grade(archive, root=course)
    return GradedCourse(
        course,
        submissions,
        archive,
        first,
        again,
        zipped,
        points,
        wrong,
        hashes_before,
        zip_hash_before,
        csv_before_zip,
    )


def _cell_scores(summary: GradeSummary, student: str, unit: str) -> dict[str, float]:
    result = summary.result(student, unit)
    assert result.ok, f"{student}/{unit}: {result.error}"
    return {cell.name: cell.score for cell in result.cells}


@pytest.mark.slow
@pytest.mark.parametrize("notebook", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_notebook_grades_without_errors(graded: GradedCourse, notebook: Path) -> None:
    unit = notebook.parent.name
    if unit not in graded.points:
        pytest.skip(f"{unit} is not in WORKSHOP_TEST_UNITS")
    executed = _read(graded.course / "instructor" / "autograded" / "solver" / unit / notebook.name)
    left_out = 0
    for cell in executed.cells:
        if cell.cell_type != "code":
            continue
        if [out.get("text") for out in cell.outputs] == [SKIPPED_NOTE]:
            assert DEMO_TAG in cell.metadata.get("tags", []), f"cell {cell.get('id')} left out"
            left_out += 1
            continue
        assert cell.execution_count is not None, f"cell {cell.get('id')} did not run"
        errors = [out for out in cell.outputs if out.output_type == "error"]
        assert not errors, f"cell {cell.get('id')} failed: {errors[0].ename}: {errors[0].evalue}"
    # Grading leaves out the measured demonstrations no graded cell needs (they run in full in
    # tests/test_binder_limits.py); the feedback says so where it shows them.
    assert left_out, "no demonstration was left out while grading"
    # Speed cells leave the timing to the judge (which may run beside the kernel) and say so.
    for cell in executed.cells:
        if cell.cell_type == "code" and "assert_faster(" in cell.source:
            printed = "".join(out.get("text", "") for out in cell.outputs)
            assert "Not timed in this grading kernel" in printed, (cell.get("id"), printed)
    feedback = graded.course / "instructor" / "feedback" / "solver" / unit
    assert "not run while grading" in (feedback / f"{notebook.stem}.html").read_text()


@pytest.mark.slow
def test_solutions_get_full_marks(graded: GradedCourse) -> None:
    for unit, points in graded.points.items():
        result = graded.first.result("solver", unit)
        assert result.status == "new"
        assert _cell_scores(graded.first, "solver", unit) == points
        assert result.score == result.max_score == sum(points.values())


@pytest.mark.slow
def test_untouched_exercises_score_zero_everywhere(graded: GradedCourse) -> None:
    for unit, points in graded.points.items():
        assert _cell_scores(graded.first, "blank", unit) == dict.fromkeys(points, 0.0)


def _printed_by(course: Path, student: str, unit: str, names: set[str]) -> dict[str, str]:
    """What the autograded cells ``names`` of a submission printed (their verdict messages)."""
    printed = {}
    for notebook in (course / "instructor" / "autograded" / student / unit).glob("*.ipynb"):
        for cell in _read(notebook).cells:
            name = cell.metadata.get("nbgrader", {}).get("grade_id")
            if name in names:
                printed[name] = "".join(
                    out.get("text", "") or f"{out.get('ename')}: {out.get('evalue')}"
                    for out in cell.get("outputs", [])
                )
    return printed


@pytest.mark.slow
def test_wrong_answers_lose_their_cells_only(graded: GradedCourse) -> None:
    for student, cases in graded.wrong.items():
        for case in cases:
            points = graded.points[case["unit"]]
            expected = {name: 0.0 if name in case["fails"] else p for name, p in points.items()}
            scores = _cell_scores(graded.first, student, case["unit"])
            differing = {name for name in expected if scores.get(name) != expected[name]}
            assert scores == expected, (
                case,
                _printed_by(graded.course, student, case["unit"], differing),
            )


@pytest.mark.slow
@pytest.mark.parametrize(("unit", "number"), JUDGED_ONLY)
def test_judged_wrong_answers_lose_their_cells_only(
    unit: str, number: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if unit not in _round_trip_units():
        pytest.skip(f"{unit} is not in WORKSHOP_TEST_UNITS")
    monkeypatch.setenv("WORKSHOP_SMALL", "1")  # the size `workshop grade` uses by default
    spec = _wrong_submissions(unit)[number - 1]
    for notebook in sorted((ROOT / "solutions" / unit).glob("*.ipynb")):
        verdicts = judge_notebook(_with_answers(notebook, spec["replace"]), unit)
        points = _grade_cells(_read(notebook))
        failed = sorted(name for name in points if not verdicts[name]["passed"])
        messages = {name: verdicts[name]["message"] for name in points}
        assert failed == sorted(spec["fails"]), (spec["description"], messages)


@pytest.mark.slow
def test_regrading_the_same_input_changes_nothing(graded: GradedCourse) -> None:
    assert [(r.student, r.unit, r.score, r.cells) for r in graded.again.results] == [
        (r.student, r.unit, r.score, r.cells) for r in graded.first.results
    ]
    assert {r.status for r in graded.again.results} == {"unchanged"}
    assert not graded.again.archived and not graded.first.archived
    assert all(r.seconds is None for r in graded.again.results)


@pytest.mark.slow
def test_lms_zip_is_graded_archived_and_exported(graded: GradedCourse) -> None:
    unit = next(iter(graded.points))
    (result,) = graded.zipped.results
    assert (result.student, result.unit, result.status) == ("blank", unit, "updated")
    assert result.score == result.max_score
    # The earlier (blank) submission is archived, not overwritten.
    (archived,) = graded.zipped.archived
    for notebook in (graded.submissions / "blank" / unit).glob("*.ipynb"):
        assert (archived / notebook.name).read_bytes() == notebook.read_bytes()
    # The CSV has a row for every submission graded, with its score, and none for a student
    # who submitted nothing for a unit (never a 0 nobody earned); the previous CSV is kept.
    rows = list(csv.DictReader(graded.zipped.csv_path.open()))
    assert {row["status"] for row in rows} == {"graded"}
    scores = {(row["student_id"], row["assignment"]): float(row["score"]) for row in rows}
    expected = {}
    for unit_id, points in graded.points.items():
        full = sum(points.values())
        expected[("solver", unit_id)] = full
        expected[("blank", unit_id)] = full if unit_id == unit else 0.0
    for student, cases in graded.wrong.items():
        for case in cases:
            points = graded.points[case["unit"]]
            lost = sum(points[name] for name in case["fails"])
            expected[(student, case["unit"])] = sum(points.values()) - lost
    assert scores == expected
    timestamps = {row["student_id"]: row["timestamp"] for row in rows if row["assignment"] == unit}
    assert timestamps["blank"] == "2025-01-30 15:30:10"
    kept = sorted(graded.course.glob("instructor/grades-*.csv"))
    assert [path.read_text() for path in kept] == [graded.csv_before_zip]


@pytest.mark.slow
def test_a_broken_submission_is_reported_not_fatal(tmp_path: Path) -> None:
    unit = list_units(ROOT)[0]
    course = _new_course(tmp_path / "course", [unit])
    for notebook in (course / "solutions" / unit).glob("*.ipynb"):
        (tmp_path / "in" / "mallory" / unit).mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / "mallory" / unit / notebook.name).write_text("not a notebook")
    summary = grade(tmp_path / "in", root=course)
    assert not summary.ok and not summary.results
    (skipped,) = summary.skipped
    assert skipped.student == "mallory" and "not a notebook (NotJSONError" in skipped.reason
    rows = list(csv.DictReader(summary.csv_path.open()))
    assert [(row["student_id"], row["status"], row["score"]) for row in rows] == [
        ("mallory", "not graded", "")
    ]


@pytest.mark.slow
def test_feedback_never_shows_hidden_tests_or_solutions(graded: GradedCourse) -> None:
    feedback = sorted((graded.course / "instructor" / "feedback").rglob("*.html"))
    assert feedback
    for unit in graded.points:
        for notebook in (graded.course / "solutions" / unit).glob("*.ipynb"):
            released = _read(graded.course / "exercises" / unit / notebook.name)
            exercise = "\n".join(cell.source for cell in released.cells)
            secret = _secret_lines(_read(notebook), exercise)
            for path in feedback:
                if path.parent.name != unit:
                    continue
                student = path.parent.parent.name
                text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))
                submitted = graded.course / "instructor/submitted" / student / unit / notebook.name
                own = "\n".join(cell.source for cell in _read(submitted).cells)
                for kind, lines in secret.items():
                    # What a student submitted (the solver: the solutions) may come back.
                    shown = [line for line in lines if line in text and line not in own]
                    assert not shown, f"{path} shows {kind} lines: {shown[:3]}"


def _secret_lines(solution: nbformat.NotebookNode, exercise: str) -> dict[str, list[str]]:
    """Lines of the solution notebook's hidden tests and solutions that the exercise lacks."""
    found: dict[str, list[str]] = {"hidden test": [], "solution": []}
    regions = {"hidden test": "HIDDEN TESTS", "solution": "SOLUTION"}
    for cell in solution.cells:
        kind = None
        for line in cell.source.splitlines():
            stripped = line.strip()
            for name, word in regions.items():
                if stripped == f"### BEGIN {word}":
                    kind = name
                elif stripped == f"### END {word}":
                    kind = None
            if kind and len(stripped) >= 20 and stripped not in exercise and "###" not in line:
                found[kind].append(stripped)
    return found


@pytest.mark.slow
def test_original_submissions_are_untouched(graded: GradedCourse) -> None:
    assert _hashes(graded.submissions) == graded.hashes_before
    assert hashlib.sha256(graded.archive.read_bytes()).hexdigest() == graded.zip_hash_before

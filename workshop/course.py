"""The nbgrader course: release the exercises and grade submissions, on nbgrader's own machinery.

A thin layer over ``nbgrader.apps.NbGraderAPI`` (and ``nbgrader zip_collect`` for LMS downloads)
configured by the course's ``nbgrader_config.py``: each unit is one nbgrader assignment,
``solutions/<unit>/`` is the source and ``exercises/<unit>/`` the release; everything else
(submissions, autograded copies, feedback, gradebook, grade exports) stays under ``instructor/``.
Grading copies submissions in without touching the originals, archives an earlier, different
submission instead of overwriting it, and only autogrades what is new or changed, so running it
twice on the same input is safe and gives the same result.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from workshop.paths import CONFIG_FILE, find_course_root, path_with_this_python

__all__ = [
    "CONFIG_FILE",
    "CellScore",
    "GradeSummary",
    "UnitResult",
    "course_root",
    "grade",
    "list_units",
    "release",
]

INSTRUCTOR = "instructor"
SUBMISSION_LAYOUT = "<student>/<unit>/<notebook>.ipynb"
ZIP_NAMING = "<unit>_<student>_attempt_<YYYYMMDDTHHMMSS>_<notebook>.ipynb"
_IGNORED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", ".DS_Store")
_IGNORED_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}

Progress = Callable[[str], None]


# --------------------------------------------------------------------------------- course layout


def course_root(start: Path | str | None = None) -> Path:
    """The course folder: the nearest folder holding ``nbgrader_config.py``, from ``start``
    (default: the current directory) upwards, else the checkout this package was installed from."""
    found = find_course_root(start)
    if found is not None:
        return found
    here = (Path.cwd() if start is None else Path(start)).resolve()
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / CONFIG_FILE).is_file():
        return checkout
    raise ValueError(
        f"no {CONFIG_FILE} found in {here} or any folder above it: run this from the workshop "
        "repository (the folder with solutions/, exercises/ and nbgrader_config.py)"
    )


def _root(root: Path | str | None) -> Path:
    if root is None:
        return course_root()
    folder = Path(root).resolve()
    if not (folder / CONFIG_FILE).is_file():
        raise ValueError(f"{folder} is not a course folder: it has no {CONFIG_FILE}")
    return folder


def list_units(root: Path | str | None = None) -> list[str]:
    """The course's units in order: the folders of ``solutions/`` that hold notebooks."""
    source = _root(root) / "solutions"
    if not source.is_dir():
        return []
    return sorted(
        folder.name
        for folder in source.iterdir()
        if folder.is_dir() and any(folder.glob("*.ipynb"))
    )


def _check_units(requested: Sequence[str], known: list[str]) -> list[str]:
    unknown = [unit for unit in requested if unit not in known]
    if unknown:
        raise ValueError(
            f"unknown unit{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: "
            f"the units are {', '.join(known) or '(none: solutions/ has no notebooks)'}"
        )
    return list(requested)


# --------------------------------------------------------------------------------- nbgrader glue


@contextlib.contextmanager
def _environment(small: bool | None = None) -> Iterator[None]:
    """nbgrader runs ``alembic`` by name, so this interpreter's bin folder must lead PATH; grading
    kernels inherit WORKSHOP_SMALL from here. Both are restored afterwards."""
    saved = {name: os.environ.get(name) for name in ("PATH", "WORKSHOP_SMALL")}
    os.environ["PATH"] = path_with_this_python()
    if small is not None:
        os.environ["WORKSHOP_SMALL"] = "1" if small else "0"
    try:
        with warnings.catch_warnings():
            # nbgrader's gradebook trips SQLAlchemy autoflush warnings that mean nothing to a user.
            warnings.filterwarnings("ignore", message="Object of type .* not in session")
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _api(root: Path, **course_directory: str):
    """An ``NbGraderAPI`` configured by the course's nbgrader_config.py (plus overrides)."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    for name, value in course_directory.items():
        config.CourseDirectory[name] = value
    # The API lists the exchange on start-up and logs a critical error if it is missing; this
    # course uses none, so give it an empty one inside instructor/.
    config.Exchange.root = str(root / INSTRUCTOR / "exchange")
    (root / INSTRUCTOR / "exchange").mkdir(parents=True, exist_ok=True)
    return NbGraderAPI(config=config)


_EXCEPTION_LINE = re.compile(r"^\s*(?:[A-Za-z_]\w*\.)*([A-Z]\w*(?:Error|Exception)\b.*)$", re.M)


def _failure(result: dict) -> str | None:
    """None when an NbGraderAPI call succeeded, else what went wrong, in a line.

    nbgrader logs a generic "[ERROR] There was an error processing ..." and the traceback of the
    cause; the summary keeps the first and the cause's exception line.
    """
    if result.get("success"):
        return None
    log = result.get("log") or ""
    errors = [
        line.removeprefix("[ERROR] ")
        for line in log.splitlines()
        if line.startswith("[ERROR] ") and not line.startswith("[ERROR] Traceback")
    ]
    causes = _EXCEPTION_LINE.findall(log) or _EXCEPTION_LINE.findall(result.get("error") or "")
    parts = errors[:1] + causes[-1:]
    return ": ".join(parts) if parts else "unknown error (nbgrader gave no message)"


def _check(result: dict, what: str) -> None:
    problem = _failure(result)
    if problem is not None:
        raise RuntimeError(f"nbgrader could not {what}: {problem}")


# ------------------------------------------------------------------------------------- release


def release(
    units: Sequence[str] | None = None,
    *,
    root: Path | str | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Regenerate ``exercises/<unit>/`` from ``solutions/<unit>/`` with ``nbgrader
    generate_assignment`` (solutions and hidden tests stripped, outputs cleared).

    ``units`` defaults to every unit; then release folders whose unit no longer exists in
    ``solutions/`` are removed too. Returns the generated notebooks.
    """
    folder = _root(root)
    known = list_units(folder)
    if isinstance(units, str):
        units = [units]
    chosen = known if units is None else _check_units(units, known)
    if not chosen:
        raise ValueError(f"nothing to release: {folder / 'solutions'} has no <unit>/*.ipynb")
    with _environment():
        api = _api(folder)
        for unit in chosen:
            if progress:
                progress(f"releasing {unit}")
            _check(api.generate_assignment(unit, force=True, create=True), f"release {unit}")
    exercises = folder / "exercises"
    if units is None:
        for stale in sorted(exercises.iterdir()):
            if stale.is_dir() and stale.name not in known:
                shutil.rmtree(stale)
                if progress:
                    progress(f"removed exercises/{stale.name}: no such unit in solutions/")
    return sorted(path for unit in chosen for path in (exercises / unit).glob("*.ipynb"))


# --------------------------------------------------------------------------------------- grade


@dataclass(frozen=True)
class CellScore:
    """One autograded cell of a submission (its nbgrader grade id)."""

    name: str
    score: float
    max_score: float


@dataclass(frozen=True)
class UnitResult:
    """One student's result for one unit.

    ``status``: "new" (first submission), "updated" (differs from the one graded before, which was
    archived), "unchanged" (same files as before: the earlier grading stands), or "error".
    """

    student: str
    unit: str
    score: float
    max_score: float
    status: str
    cells: tuple[CellScore, ...] = ()
    error: str | None = None
    seconds: float | None = None  # time nbgrader took to autograde it now (None: not regraded)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class GradeSummary:
    """What ``grade`` did: a result per (student, unit) of the input and where things went."""

    results: list[UnitResult]
    csv_path: Path
    feedback_dir: Path
    archived: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def result(self, student: str, unit: str) -> UnitResult:
        for item in self.results:
            if item.student == student and item.unit == unit:
                return item
        raise KeyError(f"no result for student {student!r} and unit {unit!r}")

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.results)

    def __str__(self) -> str:
        rows = [("student", "unit", "score", "status")]
        for item in self.results:
            score = f"{item.score:g} / {item.max_score:g}"
            took = "" if item.seconds is None else f" ({item.seconds:.0f} s)"
            rows.append((item.student, item.unit, score, (item.error or item.status) + took))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
            + "  "
            + row[3]
            for row in rows
        ]
        lines.append(f"grades: {self.csv_path}")
        lines.append(f"feedback: {self.feedback_dir}")
        lines += [f"archived earlier submission: {path}" for path in self.archived]
        lines += [f"warning: {text}" for text in self.warnings]
        return "\n".join(lines)


def _files(folder: Path) -> dict[str, Path]:
    """Relative path -> file, skipping checkpoints and caches."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not _IGNORED_NAMES.intersection(relative.parts):
            found[relative.as_posix()] = path
    return found


def _same_files(a: Path, b: Path) -> bool:
    left, right = _files(a), _files(b)
    return left.keys() == right.keys() and all(
        filecmp.cmp(left[name], right[name], shallow=False) for name in left
    )


def _unique(path: Path) -> Path:
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}-{number}")
    return candidate


def _stamp(seconds: float | None = None) -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.localtime(seconds))


def _folder_submissions(folder: Path, known: list[str]) -> dict[tuple[str, str], Path]:
    """(student, unit) -> the folder holding that submission, from ``<student>/<unit>/*.ipynb``."""
    found: dict[tuple[str, str], Path] = {}
    for notebook in sorted(folder.glob("*/*/*.ipynb")):
        unit_folder = notebook.parent
        if unit_folder.name.startswith("."):
            continue
        found[(unit_folder.parent.name, unit_folder.name)] = unit_folder
    if not found:
        raise ValueError(
            f"{folder} holds no submissions: expected notebooks laid out as {SUBMISSION_LAYOUT} "
            f"(units: {', '.join(known)}), or an LMS .zip download"
        )
    _check_units(sorted({unit for _, unit in found}), known)
    return found


def _zip_unit(archive: Path, known: list[str], root: Path) -> str:
    """The unit an LMS zip belongs to: from its notebook names, else from the zip's file name."""
    with zipfile.ZipFile(archive) as handle:
        names = [Path(name).name for name in handle.namelist()]
    matches = set()
    for unit in known:
        notebooks = [path.name for path in (root / "solutions" / unit).glob("*.ipynb")]
        if any(name == nb or name.endswith("_" + nb) for name in names for nb in notebooks):
            matches.add(unit)
    if len(matches) != 1:
        matches = {unit for unit in known if archive.stem.startswith(unit)}
    if len(matches) != 1:
        raise ValueError(
            f"cannot tell which unit {archive.name} holds (its notebooks match "
            f"{sorted(matches) or 'no unit'}): pass unit=, one of {', '.join(known)}"
        )
    return matches.pop()


def _collect_zip(archive: Path, unit: str, root: Path) -> Path:
    """Run ``nbgrader zip_collect`` on a copy of ``archive``; returns a staging folder laid out
    as ``<student>/<unit>/`` (nbgrader's submitted layout), outside the real submitted folder."""
    base = root / INSTRUCTOR / "downloaded" / unit
    if base.exists():
        shutil.rmtree(base)  # our own working copies from a previous run
    (base / "archive").mkdir(parents=True)
    shutil.copy2(archive, base / "archive" / archive.name)
    staging = base / "collected"
    command = [
        sys.executable,
        "-m",
        "nbgrader",
        "zip_collect",
        unit,
        "--force",
        f"--CourseDirectory.submitted_directory={staging.relative_to(root)}",
    ]
    with _environment():
        done = subprocess.run(
            command, cwd=root, capture_output=True, text=True, env=dict(os.environ), check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader zip_collect failed on {archive}:\n{done.stderr.strip()}")
    if not any(staging.glob(f"*/{unit}/*.ipynb")):
        raise ValueError(
            f"{archive} holds no notebook of unit {unit} named as the course expects "
            f"({ZIP_NAMING}; the pattern is FileNameCollectorPlugin.named_regexp in "
            f"{CONFIG_FILE})"
        )
    return staging


def _copy_in(student: str, unit: str, source: Path, root: Path, archived: list[Path]) -> str:
    """Copy one submission into instructor/submitted; archive a different earlier one first."""
    dest = root / INSTRUCTOR / "submitted" / student / unit
    if dest.exists():
        if _same_files(source, dest):
            return "unchanged"
        when = _stamp(max((p.stat().st_mtime for p in _files(dest).values()), default=None))
        target = _unique(root / INSTRUCTOR / "archive" / student / unit / when)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(dest), str(target))
        archived.append(target)
        status = "updated"
    else:
        status = "new"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, dest, ignore=_IGNORED)
    return status


def _graded(root: Path, student: str, unit: str) -> bool:
    autograded = root / INSTRUCTOR / "autograded" / student / unit
    return autograded.is_dir() and any(autograded.glob("*.ipynb"))


def _result(gradebook, student: str, unit: str, status: str) -> UnitResult:
    from nbgrader.api import MissingEntry

    max_score = float(gradebook.find_assignment(unit).max_score or 0.0)
    try:
        submission = gradebook.find_submission(unit, student)
    except MissingEntry:
        return UnitResult(student, unit, 0.0, max_score, "error", error="not graded")
    cells = tuple(
        CellScore(grade.name, float(grade.score or 0.0), float(grade.max_score or 0.0))
        for notebook in sorted(submission.notebooks, key=lambda nb: nb.name)
        for grade in sorted(notebook.grades, key=lambda g: g.name)
    )
    return UnitResult(student, unit, float(submission.score or 0.0), max_score, status, cells)


def _export_csv(api, root: Path) -> Path:
    """Write instructor/grades.csv with nbgrader's CSV exporter; keep a different older one."""
    from nbgrader.plugins import CsvExportPlugin

    folder = root / INSTRUCTOR
    csv_path = folder / "grades.csv"
    fresh = folder / ".grades-new.csv"
    with api.gradebook as gradebook:
        CsvExportPlugin(to=str(fresh), parent=api).export(gradebook)
    if csv_path.exists():
        if filecmp.cmp(csv_path, fresh, shallow=False):
            fresh.unlink()
            return csv_path
        kept = _unique(folder / f"grades-{_stamp(csv_path.stat().st_mtime)}.csv")
        csv_path.rename(kept)
    fresh.rename(csv_path)
    return csv_path


def grade(
    submissions: Path | str,
    *,
    unit: str | None = None,
    root: Path | str | None = None,
    small: bool = True,
    force: bool = False,
    progress: Progress | None = None,
) -> GradeSummary:
    """Autograde submissions with nbgrader and export the grades.

    ``submissions`` is a folder laid out as ``<student>/<unit>/<notebook>.ipynb`` or an LMS zip
    download of one unit (files named as ``FileNameCollectorPlugin.named_regexp`` in
    nbgrader_config.py expects; ``unit`` names the unit when the zip's contents do not tell).
    The originals are only read. Each submission is copied to ``instructor/submitted/`` (an
    earlier, different one is moved to ``instructor/archive/`` first), autograded unless it is
    unchanged and already graded (``force`` regrades all), given HTML feedback in
    ``instructor/feedback/``, and all grades are exported to ``instructor/grades.csv`` (a
    previous, different CSV is kept as ``grades-<time>.csv``). ``small`` runs the notebooks in
    small mode (``WORKSHOP_SMALL=1``). Raises ``ValueError`` for a missing path or one without
    submissions.
    """
    folder = _root(root)
    known = list_units(folder)
    path = Path(submissions).expanduser()
    if not path.exists():
        raise ValueError(
            f"{path} does not exist: expected a folder laid out as {SUBMISSION_LAYOUT} or an LMS "
            ".zip download"
        )
    path = path.resolve()
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise ValueError(
                f"{path} is not a zip file: expected a folder laid out as {SUBMISSION_LAYOUT} or "
                "an LMS .zip download"
            )
        if unit is None:
            unit = _zip_unit(path, known, folder)
        _check_units([unit], known)
        path = _collect_zip(path, unit, folder)
    elif unit is not None:
        _check_units([unit], known)
    incoming = _folder_submissions(path, known)
    if unit is not None:
        incoming = {key: value for key, value in incoming.items() if key[1] == unit}

    archived: list[Path] = []
    warnings: list[str] = []
    statuses: dict[tuple[str, str], str] = {}
    errors: dict[tuple[str, str], str] = {}
    seconds: dict[tuple[str, str], float] = {}
    for (student, unit_id), source in sorted(incoming.items()):
        statuses[(student, unit_id)] = _copy_in(student, unit_id, source, folder, archived)
        expected = {p.name for p in (folder / "solutions" / unit_id).glob("*.ipynb")}
        for extra in sorted({p.name for p in source.glob("*.ipynb")} - expected):
            warnings.append(
                f"{student}/{unit_id}/{extra} is not a notebook of {unit_id} (expected "
                f"{', '.join(sorted(expected))}): it was not graded"
            )

    with _environment(small=small):
        # Record each unit in the gradebook from solutions/ (the authority for tests and points),
        # writing the release copy inside instructor/ so exercises/ is never touched here.
        api = _api(folder, release_directory=str(Path(INSTRUCTOR) / "release"))
        for unit_id in sorted({unit_id for _, unit_id in incoming}):
            _check(api.generate_assignment(unit_id, force=True, create=True), f"load {unit_id}")
        for (student, unit_id), status in sorted(statuses.items()):
            if status == "unchanged" and not force and _graded(folder, student, unit_id):
                continue
            if progress:
                progress(f"grading {student} / {unit_id}")
            started = time.perf_counter()
            problem = _failure(api.autograde(unit_id, student, force=True, create=True))
            seconds[(student, unit_id)] = time.perf_counter() - started
            if problem is None:
                problem = _failure(api.generate_feedback(unit_id, student, force=True))
            if problem is not None:
                errors[(student, unit_id)] = problem
        csv_path = _export_csv(api, folder)
        with api.gradebook as gradebook:
            results = []
            for key, status in sorted(statuses.items()):
                item = replace(_result(gradebook, *key, status), seconds=seconds.get(key))
                if key in errors:
                    item = replace(item, status="error", error=errors[key])
                results.append(item)
    return GradeSummary(
        results=results,
        csv_path=csv_path,
        feedback_dir=folder / INSTRUCTOR / "feedback",
        archived=archived,
        warnings=warnings,
    )

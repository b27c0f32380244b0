"""What an instructor hands ``workshop grade``: a folder or an LMS zip, sorted into gradable
submissions and entries that cannot be graded, each with the reason.

Nothing here runs student code or writes outside ``instructor/``. A zip is read entry by entry:
an unsafe name (absolute, ``..``, a link), a name that does not follow the LMS naming, or a file
that is not a notebook of the unit is listed as skipped and the rest is still graded.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["Inputs", "Skipped", "gather", "student_name_problem"]

SUBMISSION_LAYOUT = "<student>/<unit>/<notebook>.ipynb"
ZIP_NAMING = "<unit>_<student>_attempt_<YYYYMMDDTHHMMSS>_<notebook>.ipynb"
_IGNORED_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}
_STUDENT = re.compile(r"\w[\w.@+-]{0,99}")
_MAX_NOTEBOOK = 64 << 20  # bytes: a larger file is not a plausible submission


@dataclass(frozen=True)
class Skipped:
    """An input that is not graded: where it was found, whose it seems to be, and why."""

    where: str
    reason: str
    student: str | None = None
    unit: str | None = None


@dataclass
class Inputs:
    """Gradable submissions ((student, unit) -> folder of its notebooks) and skipped entries."""

    submissions: dict[tuple[str, str], Path]
    skipped: list[Skipped]


def student_name_problem(name: str) -> str | None:
    """None when ``name`` can be a student id (a folder name and a gradebook key), else why not."""
    if _STUDENT.fullmatch(name):
        return None
    return (
        f"student name {name!r} is not usable as an id: it must start with a letter, digit or _ "
        "and hold only letters, digits and . _ - @ + (at most 100)"
    )


def notebook_problem(path: Path) -> str | None:
    """None when ``path`` reads as a Jupyter notebook (format 4, or 3 converted), else why not."""
    import nbformat

    try:
        if path.is_symlink() or not path.is_file():
            return "not a regular file"
        if path.stat().st_size > _MAX_NOTEBOOK:
            return f"not a notebook: larger than {_MAX_NOTEBOOK >> 20} MiB"
        with path.open(encoding="utf-8") as handle:
            notebook = nbformat.read(handle, as_version=4)
        nbformat.validate(notebook)
    except (OSError, UnicodeDecodeError) as exc:
        return f"unreadable: {exc}"
    except Exception as exc:  # nbformat raises several kinds for "not a notebook"
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        return f"not a notebook ({type(exc).__name__}: {text})"
    return None


def _expected(root: Path, unit: str) -> set[str]:
    return {path.name for path in (root / "solutions" / unit).glob("*.ipynb")}


def _check_notebooks(
    student: str, unit: str, folder: Path, root: Path, skipped: list[Skipped]
) -> bool:
    """True when ``folder`` holds at least one good notebook of ``unit``; lists the others."""
    expected = _expected(root, unit)
    good = False
    for path in sorted(folder.iterdir()):
        if path.name in _IGNORED_NAMES or path.suffix != ".ipynb":
            continue
        where = f"{student}/{unit}/{path.name}"
        if path.name not in expected:
            reason = f"misnamed: not a notebook of {unit} (expected {', '.join(sorted(expected))})"
            skipped.append(Skipped(where, reason, student, unit))
            continue
        problem = notebook_problem(path)
        if problem:
            skipped.append(Skipped(where, problem, student, unit))
        else:
            good = True
    return good


def _from_folder(folder: Path, known: list[str], root: Path) -> Inputs:
    submissions: dict[tuple[str, str], Path] = {}
    skipped: list[Skipped] = []
    for stray in sorted([*folder.glob("*.ipynb"), *folder.glob("*/*.ipynb")]):
        where = stray.relative_to(folder).as_posix()
        skipped.append(Skipped(where, f"not laid out as {SUBMISSION_LAYOUT}"))
    for student_folder in sorted(p for p in folder.iterdir() if p.is_dir()):
        student = student_folder.name
        if student in _IGNORED_NAMES:
            continue
        for unit_folder in sorted(p for p in student_folder.iterdir() if p.is_dir()):
            unit = unit_folder.name
            if (
                unit in _IGNORED_NAMES
                or unit.startswith(".")
                or not any(unit_folder.glob("*.ipynb"))
            ):
                continue
            where = f"{student}/{unit}/"
            if unit not in known:
                reason = f"unknown unit {unit!r}: the units are {', '.join(known)}"
                skipped.append(Skipped(where, reason, student, unit))
            elif problem := student_name_problem(student):
                skipped.append(Skipped(where, problem, None, unit))
            elif _check_notebooks(student, unit, unit_folder, root, skipped):
                submissions[(student, unit)] = unit_folder
    return Inputs(submissions, skipped)


def _unsafe_entry(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        return "unsafe path (absolute or with ..): skipped, nothing written"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link: skipped"
    if info.file_size > _MAX_NOTEBOOK:
        return f"larger than {_MAX_NOTEBOOK >> 20} MiB: skipped"
    return None


def _zip_timestamp(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return dt.datetime.strptime(text, "%Y%m%dT%H%M%S").strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def _extract_entry(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    pattern: re.Pattern[str],
    unit: str,
    staging: Path,
    root: Path,
) -> Skipped | None:
    name = info.filename
    if problem := _unsafe_entry(info):
        return Skipped(name, problem)
    base = PurePosixPath(name.replace("\\", "/")).name
    match = pattern.match(base)
    if match is None:
        return Skipped(name, f"does not follow the LMS naming {ZIP_NAMING}", None, unit)
    student, file_id = match.group("student_id"), match.group("file_id")
    if problem := student_name_problem(student):
        return Skipped(name, problem, None, unit)
    expected = _expected(root, unit)
    if file_id not in expected:
        reason = f"misnamed: {file_id!r} is not a notebook of {unit} (expected {', '.join(sorted(expected))})"
        return Skipped(name, reason, student, unit)
    target = staging / student / unit / file_id
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(info) as source, target.open("wb") as sink:
        shutil.copyfileobj(source, sink)
    stamp = _zip_timestamp(match.groupdict().get("timestamp"))
    if stamp:
        (target.parent / "timestamp.txt").write_text(stamp)
    return None


def _from_zip(path: Path, unit: str, root: Path, pattern: str, staging: Path) -> list[Skipped]:
    if staging.exists():
        shutil.rmtree(staging)  # our own working copy from an earlier run
    staging.mkdir(parents=True)
    regex = re.compile(pattern)
    skipped = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir() or PurePosixPath(info.filename).name.startswith("."):
                continue
            try:
                problem = _extract_entry(archive, info, regex, unit, staging, root)
            except (OSError, zipfile.BadZipFile, RuntimeError, ValueError) as exc:
                problem = Skipped(info.filename, f"unreadable zip entry: {exc}", None, unit)
            if problem:
                skipped.append(problem)
    return skipped


def zip_unit(archive: Path, known: list[str], root: Path) -> str:
    """The unit an LMS zip belongs to: from its notebook names, else from the zip's file name."""
    with zipfile.ZipFile(archive) as handle:
        names = [PurePosixPath(name.replace("\\", "/")).name for name in handle.namelist()]
    matches = set()
    for unit in known:
        notebooks = _expected(root, unit)
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


def gather(
    path: Path, unit: str | None, known: list[str], root: Path, pattern: str, staging: Path
) -> Inputs:
    """Sort a folder (``<student>/<unit>/*.ipynb``) or an LMS zip of one unit into submissions
    and skipped entries. A zip is extracted, entry by entry, into ``staging``."""
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise ValueError(
                f"{path} is not a zip file: expected a folder laid out as {SUBMISSION_LAYOUT} or "
                "an LMS .zip download"
            )
        unit = unit or zip_unit(path, known, root)
        skipped = _from_zip(path, unit, root, pattern, staging / unit)
        inputs = _from_folder(staging / unit, known, root)
        inputs.skipped[:0] = skipped
        if not inputs.submissions and not any(s.student for s in inputs.skipped):
            raise ValueError(
                f"{path} holds no notebook of unit {unit} named as the course expects "
                f"({ZIP_NAMING}; the pattern is FileNameCollectorPlugin.named_regexp in "
                "nbgrader_config.py)"
            )
        return inputs
    inputs = _from_folder(path, known, root)
    if unit is not None:
        inputs.submissions = {k: v for k, v in inputs.submissions.items() if k[1] == unit}
        inputs.skipped = [s for s in inputs.skipped if s.unit in (None, unit)]
    if not inputs.submissions:
        unknown = [s for s in inputs.skipped if s.reason.startswith("unknown unit")]
        if unknown and len(unknown) == len(inputs.skipped):
            raise ValueError(unknown[0].reason)
        if not inputs.skipped:
            raise ValueError(
                f"{path} holds no submissions: expected notebooks laid out as {SUBMISSION_LAYOUT} "
                f"(units: {', '.join(known)}), or an LMS .zip download"
            )
    return inputs


def dump(skipped: list[Skipped]) -> str:
    """The skipped entries as JSON (kept with the grading records)."""
    return json.dumps([s.__dict__ for s in skipped], indent=1)

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
import csv
import filecmp
import hashlib
import json
import os
import re
import shutil
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from workshop.paths import CONFIG_FILE, find_course_root, path_with_this_python
from workshop.sandbox import INCIDENTS, Limits
from workshop.sandbox import unavailable as sandbox_unavailable
from workshop.submissions import SUBMISSION_LAYOUT, Inputs, Skipped, gather

__all__ = [
    "CONFIG_FILE",
    "CellScore",
    "GradeSummary",
    "GradingRefused",
    "UnitResult",
    "course_root",
    "grade",
    "list_units",
    "release",
]

INSTRUCTOR = "instructor"
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
def _environment(**variables: str) -> Iterator[None]:
    """nbgrader runs ``alembic`` by name, so this interpreter's bin folder must lead PATH; grading
    kernels get the WORKSHOP_* variables set here. All are restored afterwards."""
    saved = {name: os.environ.get(name) for name in ("PATH", *variables)}
    os.environ["PATH"] = path_with_this_python()
    os.environ.update(variables)
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


class GradingRefused(ValueError):
    """``workshop grade`` will not start: no sandbox here, or another run holds the course."""


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
    archived), "unchanged" (same files as before: the earlier grading stands), or "not graded"
    (``error`` says why; ``score`` is then None, never a 0 that nobody earned). ``notes`` are what
    the grader saw on the way (a duplicated test cell, a cell that timed out, output cut).
    """

    student: str
    unit: str
    score: float | None
    max_score: float
    status: str
    cells: tuple[CellScore, ...] = ()
    error: str | None = None
    seconds: float | None = None  # time nbgrader took to autograde it now (None: not regraded)
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class GradeSummary:
    """What ``grade`` did: a result per (student, unit), the inputs it could not grade and why,
    and how it graded (sizes, sandbox, seed)."""

    results: list[UnitResult]
    csv_path: Path
    feedback_dir: Path
    archived: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    size: str = "small"
    sandbox: str = "bubblewrap"
    seed: str = ""
    interrupted: bool = False

    def result(self, student: str, unit: str) -> UnitResult:
        for item in self.results:
            if item.student == student and item.unit == unit:
                return item
        raise KeyError(f"no result for student {student!r} and unit {unit!r}")

    @property
    def ok(self) -> bool:
        """True when every input found was graded and the run was not interrupted."""
        return all(item.ok for item in self.results) and not self.skipped and not self.interrupted

    def __str__(self) -> str:
        rows = [("student", "unit", "score", "status")]
        for item in self.results:
            score = "-" if item.score is None else f"{item.score:g}"
            took = "" if item.seconds is None else f" ({item.seconds:.0f} s)"
            status = f"not graded: {item.error}" if item.error else item.status
            notes = "".join(f"; {note}" for note in item.notes if note not in (item.error or ""))
            rows.append(
                (item.student, item.unit, f"{score} / {item.max_score:g}", status + took + notes)
            )
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
            + "  "
            + row[3]
            for row in rows
        ]
        lines += [f"not graded: {item.where}: {item.reason}" for item in self.skipped]
        lines.append(f"sizes: {self.size}; sandbox: {self.sandbox}; seed: {self.seed}")
        lines.append(f"grades: {self.csv_path}")
        lines.append(f"feedback: {self.feedback_dir}")
        lines += [f"archived earlier submission: {path}" for path in self.archived]
        if self.interrupted:
            lines.append("interrupted: the students marked so were not graded; run again to finish")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Settings:
    """How this run grades: sizes, sandbox, seed, private tests, limits."""

    small: bool
    sandbox: bool
    seed: str
    private_tests: Path | None
    limits: Limits

    def variables(self) -> dict[str, str]:
        found = {"WORKSHOP_SMALL": "1" if self.small else "0", "WORKSHOP_GRADING_SEED": self.seed}
        if self.private_tests:
            found["WORKSHOP_PRIVATE_TESTS"] = str(self.private_tests)
        if not self.sandbox:  # test cells that confine their own runners then do not either
            found["WORKSHOP_UNSAFE_NO_SANDBOX"] = "1"
        return found

    def describe_sandbox(self) -> str:
        if not self.sandbox:
            return "OFF (--unsafe-no-sandbox: student code ran with your permissions)"
        from workshop import memory_ceiling

        why_not = memory_ceiling.unavailable()
        total = (
            f"{self.limits.total_memory / 2**30:g} GiB for the whole kernel"
            if why_not is None
            else f"no cap on the whole kernel's memory: {why_not}"
        )
        return (
            f"bubblewrap (no network; {self.limits.memory >> 30} GiB per process, {total}, "
            f"{self.limits.processes} tasks, {self.limits.cell_seconds} s per cell, "
            f"{self.limits.notebook_seconds} s per notebook)"
        )


def _files(folder: Path) -> dict[str, Path]:
    """Relative path -> file, skipping checkpoints and caches."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not _IGNORED_NAMES.intersection(relative.parts):
            found[relative.as_posix()] = path
    return found


def _digest(folder: Path) -> str:
    """sha256 over the names and contents of a submission's files."""
    digest = hashlib.sha256()
    for name, path in _files(folder).items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _unique(path: Path) -> Path:
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}-{number}")
    return candidate


def _stamp(seconds: float | None = None) -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.localtime(seconds))


def _copy_in(student: str, unit: str, source: Path, root: Path, archived: list[Path]) -> str:
    """Copy one submission into instructor/submitted; archive a different earlier one first."""
    dest = root / INSTRUCTOR / "submitted" / student / unit
    if dest.exists():
        if _digest(source) == _digest(dest):
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
    shutil.copytree(source, dest, ignore=_IGNORED, symlinks=True)
    for link in [p for p in dest.rglob("*") if p.is_symlink()]:
        link.unlink()  # a submission's links are not followed, and not kept
    return status


# ------------------------------------------------------------------- records of what was graded


def _record_path(root: Path, student: str, unit: str) -> Path:
    return root / INSTRUCTOR / "records" / student / f"{unit}.json"


def _read_record(root: Path, student: str, unit: str) -> dict | None:
    """What the last finished grading of this submission said, or None (never finished)."""
    try:
        return json.loads(_record_path(root, student, unit).read_text())
    except (OSError, ValueError):
        return None


def _write_record(root: Path, student: str, unit: str, record: dict) -> None:
    """Written only once a grading finished (graded or not), so a killed run leaves no record
    and the next run grades that submission again."""
    path = _record_path(root, student, unit)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_suffix(".tmp")
    fresh.write_text(json.dumps(record, indent=1))
    fresh.replace(path)


def _needs_grading(root: Path, student: str, unit: str, force: bool) -> bool:
    record = _read_record(root, student, unit)
    submitted = root / INSTRUCTOR / "submitted" / student / unit
    return (
        force
        or record is None
        or not record.get("graded")
        or (record.get("digest") != _digest(submitted))
    )


# ------------------------------------------------------------------------------ one grading run


def _seed(root: Path, seed: int | None) -> str:
    """The grading seed: ``seed`` if given, else the course's own, made once and kept in
    instructor/grading-seed so that grading again reproduces."""
    if seed is not None:
        return str(seed)
    path = root / INSTRUCTOR / "grading-seed"
    try:
        return str(int(path.read_text().strip()))
    except (OSError, ValueError):
        import secrets

        value = str(secrets.randbelow(2**31))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")
        return value


def _check_sandbox(sandbox: bool) -> None:
    if not sandbox:
        return
    problem = sandbox_unavailable()
    if problem:
        raise GradingRefused(
            f"cannot sandbox the grading kernels: {problem}. Grading runs each student's code; "
            "unconfined, it can read and change anything you can (the gradebook, the solutions, "
            "your home). To grade here anyway, at your own risk: workshop grade "
            "--unsafe-no-sandbox ..."
        )


@contextlib.contextmanager
def _grading_lock(root: Path) -> Iterator[None]:
    """One grading run per course at a time: a second one is refused, naming the first."""
    path = root / INSTRUCTOR / "grade.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; grading there is unsandboxed anyway
        yield
        return
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise GradingRefused(
                f"another `workshop grade` ({holder}) is grading {root} now: wait until it has "
                f"finished, then run again (the lock is {path})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _interrupts() -> Iterator[dict]:
    """Ctrl-C ends the whole run: nbgrader swallows KeyboardInterrupt as one student's error,
    so the signal is also remembered here and the run stops after that student."""
    state = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum: int, frame: object) -> None:
        state["stop"] = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


def _unit_network(root: Path, unit: str) -> bool:
    """True when the unit's solution notebook declares that grading needs the host network
    (``"workshop": {"sandbox": {"network": "host"}}`` in its metadata, e.g. a scheduler unit)."""
    for notebook in (root / "solutions" / unit).glob("*.ipynb"):
        meta = json.loads(notebook.read_text()).get("metadata", {})
        if meta.get("workshop", {}).get("sandbox", {}).get("network") == "host":
            return True
    return False


def _grading_api(root: Path, settings: _Settings):
    """The NbGraderAPI for grading: release copies inside instructor/, sandbox configured."""
    api = _api(root, release_directory=str(Path(INSTRUCTOR) / "release"))
    config = api.config
    config.GradingExecute.sandbox = settings.sandbox
    config.GradingExecute.cell_seconds = settings.limits.cell_seconds
    config.VerdictGate.cell_seconds = settings.limits.cell_seconds
    config.GradingExecute.output_limit = settings.limits.output
    manager = config.SandboxedKernelManager
    manager.notebook_seconds = float(settings.limits.notebook_seconds)
    manager.memory = settings.limits.memory
    manager.total_memory = settings.limits.total_memory
    manager.processes = settings.limits.processes
    manager.read_only = [str(settings.private_tests)] if settings.private_tests else []
    return api


def _reason(problem: str | None, notes: list[str], stopped: bool) -> str | None:
    """Why a grading did not give a grade (None: it did), in the instructor's terms."""
    if problem is None:
        return None
    limit = [note for note in notes if note.startswith("sandbox limit: the notebook")]
    if limit:
        return limit[0]
    if stopped:
        return "interrupted (Ctrl-C)"
    timed_out = [note for note in notes if note.startswith("timed out in")]
    if "CellTimeoutError" in problem and timed_out:
        return f"{timed_out[-1]}, and it did not stop when interrupted"
    if "DeadKernelError" in problem or "Kernel died" in problem:
        where = [note for note in notes if note.startswith("kernel died in")]
        how = [note.removeprefix("kernel ") for note in notes if note.startswith("kernel ")]
        how = [text for text in how if not text.startswith("died in")]
        return (where or ["kernel died"])[0] + (f" ({how[0]})" if how else "")
    return problem


class _Run:
    """One ``workshop grade`` run over the gathered inputs."""

    def __init__(self, root: Path, settings: _Settings, progress: Progress | None) -> None:
        self.root, self.settings, self.progress = root, settings, progress
        self.archived: list[Path] = []
        self.statuses: dict[tuple[str, str], str] = {}
        self.seconds: dict[tuple[str, str], float] = {}
        self.stopped = False

    def say(self, text: str) -> None:
        if self.progress:
            self.progress(text)

    def copy_in(self, inputs: Inputs) -> None:
        for (student, unit), source in sorted(inputs.submissions.items()):
            status = _copy_in(student, unit, source, self.root, self.archived)
            self.statuses[(student, unit)] = status

    def grade_all(self, api, force: bool, stop: dict) -> None:
        todo = [key for key in sorted(self.statuses) if _needs_grading(self.root, *key, force)]
        for unit in sorted({unit for _, unit in todo}):
            # solutions/ is the authority for tests and points; its release copy stays inside
            # instructor/, so exercises/ is never touched here.
            _check(api.generate_assignment(unit, force=True, create=True), f"load {unit}")
        for student, unit in todo:
            if stop["stop"]:
                self.stopped = True
                break
            try:
                self.grade_one(api, student, unit, stop)
            except KeyboardInterrupt:
                stop["stop"] = self.stopped = True
                break

    def grade_one(self, api, student: str, unit: str, stop: dict) -> None:
        self.say(f"grading {student} / {unit}")
        _record_path(self.root, student, unit).unlink(missing_ok=True)
        api.config.SandboxedKernelManager.network = _unit_network(self.root, unit)
        INCIDENTS.clear()
        started = time.perf_counter()
        problem = _failure(api.autograde(unit, student, force=True, create=True))
        if problem is None and not stop["stop"]:
            problem = _failure(api.generate_feedback(unit, student, force=True))
        self.seconds[(student, unit)] = time.perf_counter() - started
        notes = list(dict.fromkeys(incident.what for incident in INCIDENTS))
        if stop["stop"]:
            self.stopped = True
            return  # no record: the next run grades it again
        reason = _reason(problem, notes, False)
        if reason is not None:
            shutil.rmtree(self.root / INSTRUCTOR / "feedback" / student / unit, ignore_errors=True)
        digest = _digest(self.root / INSTRUCTOR / "submitted" / student / unit)
        record = {"graded": reason is None, "reason": reason, "notes": notes, "digest": digest}
        _write_record(self.root, student, unit, record)

    def result(self, gradebook, student: str, unit: str) -> UnitResult:
        from nbgrader.api import MissingEntry

        key = (student, unit)
        status = self.statuses.get(key, "unchanged")
        max_score = float(gradebook.find_assignment(unit).max_score or 0.0)
        record = _read_record(self.root, student, unit)
        seconds = self.seconds.get(key)
        if record is None or not record.get("graded"):
            why = "interrupted (Ctrl-C)" if record is None and self.stopped else None
            why = why or (record or {}).get("reason") or "not graded (the run ended first)"
            notes = tuple((record or {}).get("notes", ()))
            return UnitResult(student, unit, None, max_score, "not graded", (), why, seconds, notes)
        try:
            submission = gradebook.find_submission(unit, student)
        except MissingEntry:
            return UnitResult(
                student, unit, None, max_score, "not graded", error="not in gradebook"
            )
        cells = tuple(
            CellScore(grade.name, float(grade.score or 0.0), float(grade.max_score or 0.0))
            for notebook in sorted(submission.notebooks, key=lambda nb: nb.name)
            for grade in sorted(notebook.grades, key=lambda g: g.name)
        )
        score = float(submission.score or 0.0)
        notes = tuple(record.get("notes", ()))
        return UnitResult(student, unit, score, max_score, status, cells, None, seconds, notes)


_CSV_FIELDS = ("student_id", "assignment", "status", "score", "max_score", "timestamp", "notes")


def _csv_rows(root: Path, gradebook, skipped: list[Skipped]) -> list[dict]:
    """A row per submission ever graded or tried (from the records) and per skipped input."""
    rows = []
    for path in sorted((root / INSTRUCTOR / "records").glob("*/*.json")):
        student, unit = path.parent.name, path.stem
        record = _read_record(root, student, unit) or {}
        row = {"student_id": student, "assignment": unit, "status": "not graded"}
        reason = record.get("reason") or ""
        notes = dict.fromkeys(
            filter(None, [reason, *(n for n in record.get("notes", []) if n not in reason)])
        )
        row["notes"] = "; ".join(notes)
        try:
            row["max_score"] = f"{float(gradebook.find_assignment(unit).max_score or 0):g}"
            if record.get("graded"):
                submission = gradebook.find_submission(unit, student)
                row.update(status="graded", score=f"{float(submission.score or 0):g}")
                row["timestamp"] = str(submission.timestamp or "")
        except Exception:  # a unit or student no longer in the gradebook: not graded
            row["notes"] = (row["notes"] + "; missing from the gradebook").lstrip("; ")
        rows.append(row)
    for item in skipped:
        note = f"{item.where}: {item.reason}"
        rows.append(
            {"student_id": item.student or "", "assignment": item.unit or "", "notes": note}
            | {"status": "not graded"}
        )
    return rows


def _export_csv(api, root: Path, skipped: list[Skipped]) -> Path:
    """Write instructor/grades.csv: graded submissions with their score, everything else with
    its reason and no score. A different, older CSV is kept as grades-<time>.csv."""
    folder = root / INSTRUCTOR
    csv_path = folder / "grades.csv"
    fresh = folder / ".grades-new.csv"
    with api.gradebook as gradebook:
        rows = _csv_rows(root, gradebook, skipped)
    with fresh.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=_CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    if csv_path.exists():
        if filecmp.cmp(csv_path, fresh, shallow=False):
            fresh.unlink()
            return csv_path
        kept = _unique(folder / f"grades-{_stamp(csv_path.stat().st_mtime)}.csv")
        csv_path.rename(kept)
    fresh.rename(csv_path)
    return csv_path


def _input_path(submissions: Path | str) -> Path:
    path = Path(submissions).expanduser()
    if not path.exists():
        raise ValueError(
            f"{path} does not exist: expected a folder laid out as {SUBMISSION_LAYOUT} or an LMS "
            ".zip download"
        )
    return path.resolve()


def _zip_pattern(root: Path) -> str:
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    return str(config.FileNameCollectorPlugin.named_regexp)


def _choose_small(small: bool | None) -> bool:
    """Small sizes unless told otherwise, by ``small`` or else by WORKSHOP_SMALL=0."""
    if small is not None:
        return small
    return os.environ.get("WORKSHOP_SMALL", "1").strip().lower() not in {"0", "false", "no"}


def grade(
    submissions: Path | str,
    *,
    unit: str | None = None,
    root: Path | str | None = None,
    small: bool | None = None,
    force: bool = False,
    sandbox: bool = True,
    seed: int | None = None,
    private_tests: Path | str | None = None,
    cell_seconds: int | None = None,
    notebook_seconds: int | None = None,
    progress: Progress | None = None,
) -> GradeSummary:
    """Autograde submissions with nbgrader, each kernel in a sandbox, and export the grades.

    ``submissions`` is a folder laid out as ``<student>/<unit>/<notebook>.ipynb`` or an LMS zip
    download of one unit (``unit`` names it when the zip's contents do not tell). The originals
    are only read. Every input is accounted for: graded, or listed with the reason it was not
    (misnamed, not the LMS naming, not a notebook, kernel died, sandbox limit, interrupted).
    Each submission is copied to ``instructor/submitted/`` (an earlier, different one is moved to
    ``instructor/archive/``), autograded unless already graded as it is (``force`` regrades all),
    given HTML feedback without hidden tests in ``instructor/feedback/``, and ``grades.csv`` is
    written (a previous, different CSV is kept). ``small``: small problem sizes (default: yes,
    unless WORKSHOP_SMALL=0). ``seed`` sets WORKSHOP_GRADING_SEED (default: the course's own,
    kept in ``instructor/grading-seed``); ``private_tests`` is a folder the kernels may read,
    named by WORKSHOP_PRIVATE_TESTS. ``cell_seconds`` and ``notebook_seconds`` override the time
    limits of :class:`workshop.sandbox.Limits`. ``sandbox=False`` runs student code unconfined.
    Raises ``ValueError`` for bad input and :class:`GradingRefused` when it cannot grade safely.
    """
    folder = _root(root)
    _check_sandbox(sandbox)
    path = _input_path(submissions)
    tests = _private_tests(private_tests)
    with _grading_lock(folder):
        small = _choose_small(small)
        limits = _limits(small, cell_seconds, notebook_seconds)
        settings = _Settings(small, sandbox, _seed(folder, seed), tests, limits)
        known = list_units(folder)
        staging = folder / INSTRUCTOR / "downloaded"
        inputs = gather(path, unit, known, folder, _zip_pattern(folder), staging)
        run = _Run(folder, settings, progress)
        run.copy_in(inputs)
        with _environment(**settings.variables()), _interrupts() as stop:
            api = _grading_api(folder, settings)
            run.grade_all(api, force, stop)
            return _summary(run, api, inputs)


def _limits(small: bool, cell_seconds: int | None, notebook_seconds: int | None) -> Limits:
    limits = Limits.for_size(small)
    for name, value in (("cell_seconds", cell_seconds), ("notebook_seconds", notebook_seconds)):
        if value is not None and value <= 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value}")
    return replace(
        limits,
        cell_seconds=cell_seconds or limits.cell_seconds,
        notebook_seconds=notebook_seconds or limits.notebook_seconds,
    )


def _private_tests(private_tests: Path | str | None) -> Path | None:
    if private_tests is None:
        return None
    path = Path(private_tests).expanduser().resolve()
    if not path.is_dir():
        raise ValueError(f"--private-tests {path}: no such folder (give the folder of the tests)")
    return path


def _summary(run: _Run, api, inputs: Inputs) -> GradeSummary:
    csv_path = _export_csv(api, run.root, inputs.skipped)
    with api.gradebook as gradebook:
        results = [run.result(gradebook, *key) for key in sorted(run.statuses)]
    return GradeSummary(
        results=results,
        csv_path=csv_path,
        feedback_dir=run.root / INSTRUCTOR / "feedback",
        archived=run.archived,
        skipped=inputs.skipped,
        size="full" if not run.settings.small else "small (WORKSHOP_SMALL=1)",
        sandbox=run.settings.describe_sandbox(),
        seed=run.settings.seed,
        interrupted=run.stopped,
    )

"""The ``workshop`` command: ``info``, ``lab``, ``workspace``, ``bench``, ``release``, ``grade``,
``scheduler``."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from workshop.paths import find_course_root, path_with_this_python

__all__ = ["find_course_root", "main"]


def _environment_on_path() -> dict[str, str]:
    """os.environ with this Python's bin first on PATH (nbgrader runs `alembic` by name)."""
    env = dict(os.environ)
    env["PATH"] = path_with_this_python(env.get("PATH", ""))
    return env


def _info(args: argparse.Namespace) -> int:
    from workshop.hardware import report

    info = report()
    if args.json:
        import json

        print(json.dumps(info.to_dict(), indent=1))
    else:
        print(info)
    return 0


def _lab(args: argparse.Namespace) -> int:
    root = find_course_root() or Path.cwd()
    lab_root, first = root, None
    if (root / "exercises").is_dir():
        from workshop.workspace import prepare_workspace

        workspace = prepare_workspace(root)
        if workspace.copied:
            print(f"Copied {len(workspace.copied)} new exercise file(s) into {workspace.folder}/")
        print(f"Your work is saved in {workspace.folder}/ (exercises/ stays as committed).")
        if not workspace.folder.is_relative_to(root):
            lab_root = workspace.folder
        first = workspace.first_notebook()
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={lab_root}",
    ]
    if first is not None:
        command.append(f"--LabApp.default_url=/lab/tree/{first.relative_to(lab_root).as_posix()}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        print("Running as root (a container?): passing --allow-root to JupyterLab.")
        command.append("--allow-root")
    command += args.jupyter_args
    print("Starting JupyterLab on 127.0.0.1 with token authentication:", " ".join(command[3:]))
    if os.name == "posix":  # become JupyterLab, so signals and Ctrl-C reach it directly
        sys.stdout.flush()
        os.execve(command[0], command, _environment_on_path())
    return subprocess.call(command, env=_environment_on_path())


def _bench(args: argparse.Namespace) -> int:
    from workshop.bench import run_bench

    report, folder = run_bench(
        Path(args.out), quick=args.quick, problems=args.problem or None, lab=not args.no_lab
    )
    print()
    print(report.markdown())
    print(f"Results written to {folder}/ (results.json, results.md, scaling-*.png)")
    missed = [t for t in report.targets if t.met is False]
    if args.check and missed:
        listed = "; ".join(f"{t.name}: {t.value:.3g}, goal {t.goal}" for t in missed)
        print(f"Targets missed: {listed}", file=sys.stderr)
        return 1
    return 0


def _release(args: argparse.Namespace) -> int:
    from workshop.course import release

    for path in release(args.unit or None, progress=print):
        print(f"wrote {path}")
    return 0


def _workspace(args: argparse.Namespace) -> int:
    from workshop.workspace import prepare_workspace

    workspace = prepare_workspace(find_course_root() or Path.cwd())
    for path in workspace.copied:
        print(f"copied {path}")
    print(f"Your copies of the exercises are in {workspace.folder}/; existing files were kept.")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from workshop.course import grade

    summary = grade(
        Path(args.submissions),
        unit=args.unit,
        force=args.force,
        small=args.small,
        sandbox=not args.unsafe_no_sandbox,
        seed=args.seed,
        private_tests=args.private_tests,
        cell_seconds=args.cell_timeout,
        notebook_seconds=args.notebook_timeout,
        progress=print,
    )
    print(summary)
    if summary.interrupted:
        return 130
    return 0 if summary.ok else 1


def _grade_options(grade: argparse.ArgumentParser) -> None:
    grade.add_argument(
        "submissions", help="folder of <student>/<unit>/*.ipynb, or an LMS zip download"
    )
    grade.add_argument("--unit", help="the unit an LMS zip holds, when its file names do not say")
    grade.add_argument("--force", action="store_true", help="autograde again even if unchanged")
    sizes = grade.add_mutually_exclusive_group()
    sizes.add_argument(
        "--small",
        dest="small",
        action="store_const",
        const=True,
        help="small problem sizes (WORKSHOP_SMALL=1; the default unless WORKSHOP_SMALL=0)",
    )
    sizes.add_argument(
        "--full", dest="small", action="store_const", const=False, help="full problem sizes"
    )
    grade.add_argument(
        "--seed",
        type=int,
        help="WORKSHOP_GRADING_SEED for the test cells (default: the course's own, kept in "
        "instructor/grading-seed, so grading again reproduces)",
    )
    grade.add_argument(
        "--private-tests",
        metavar="DIR",
        help="a folder of tests the grading kernels may read (WORKSHOP_PRIVATE_TESTS)",
    )
    grade.add_argument(
        "--cell-timeout",
        type=int,
        metavar="S",
        help="seconds a cell may run before it is interrupted and fails (default: 60, --full 600)",
    )
    grade.add_argument(
        "--notebook-timeout",
        type=int,
        metavar="S",
        help="seconds a whole notebook may run before its kernel is stopped (default: 600, "
        "--full 3600)",
    )
    grade.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="run student code unconfined, with your permissions (only where no sandbox can be "
        "made: macOS, Windows, no bubblewrap)",
    )


def _scheduler(args: argparse.Namespace) -> int:
    """``workshop scheduler start|stop|status``: the single-node Slurm of unit 09."""
    from workshop import scheduler

    try:
        if args.action == "start":
            print(scheduler.start())
        elif args.action == "stop":
            stopped = scheduler.stop()
            print("Slurm (workshop) stopped." if stopped else "Slurm (workshop) was not running.")
        else:
            current = scheduler.status()
            print(current)
            return 0 if current.running else 3
    except scheduler.SchedulerError as error:
        print(f"workshop scheduler {args.action}: {error}", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workshop",
        description="High-performance Python workshop: tools for learners and instructors.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = commands.add_parser("info", help="what this machine lets the workshop use")
    info.add_argument("--json", action="store_true", help="print the report as JSON")
    info.set_defaults(run=_info)

    lab = commands.add_parser("lab", help="open the workshop in JupyterLab (127.0.0.1, token on)")
    lab.add_argument("jupyter_args", nargs="*", help="options passed on to jupyter lab")
    lab.set_defaults(run=_lab)

    workspace = commands.add_parser(
        "workspace", help="make your own copies of new exercises (my-work/); never overwrites"
    )
    workspace.set_defaults(run=_workspace)

    bench = commands.add_parser("bench", help="benchmark every problem and implementation")
    bench.add_argument(
        "--quick", action="store_true", help="small sizes: finishes in under a minute"
    )
    bench.add_argument("--problem", action="append", help="only this problem (repeatable)")
    bench.add_argument(
        "--out", default="bench-results", help="folder for results (default: %(default)s)"
    )
    bench.add_argument(
        "--no-lab", action="store_true", help="skip the engine cluster and lab latency"
    )
    bench.add_argument(
        "--check", action="store_true", help="exit 1 if a performance target is missed"
    )
    bench.set_defaults(run=_bench)

    release = commands.add_parser(
        "release", help="regenerate exercises/ from solutions/ (nbgrader)"
    )
    release.add_argument("unit", nargs="*", help="units to release (default: all)")
    release.set_defaults(run=_release)

    grade = commands.add_parser("grade", help="autograde submissions and export grades (nbgrader)")
    _grade_options(grade)
    grade.set_defaults(run=_grade)
    scheduler = commands.add_parser(
        "scheduler", help="a single-node Slurm on 127.0.0.1 for unit 09 (start, stop, status)"
    )
    scheduler.add_argument("action", choices=["start", "stop", "status"])
    scheduler.set_defaults(run=_scheduler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if args.command != "lab":
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.jupyter_args += extra
    try:
        code = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit as an ignored exception
        return code
    except BrokenPipeError:
        return _reader_went_away()
    except (ValueError, FileNotFoundError) as exc:
        print(f"workshop {args.command}: {exc}", file=sys.stderr)
        return 2


def _reader_went_away() -> int:
    """The reader of our output closed it early (``workshop info | head``): stop quietly.

    Standard output is pointed at the null device so the interpreter's final flush cannot fail
    again; the exit status is the shell's for a program ended by SIGPIPE.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + getattr(signal, "SIGPIPE", 13)

"""The ``workshop`` command: ``info``, ``lab``, ``workspace``, ``bench``, ``release``, ``grade``."""

from __future__ import annotations

import argparse
import os
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
        print("Targets missed: " + "; ".join(t.name for t in missed), file=sys.stderr)
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

    summary = grade(Path(args.submissions), unit=args.unit, force=args.force, progress=print)
    print(summary)
    return 0 if summary.ok else 1


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
    grade.add_argument(
        "submissions", help="folder of <student>/<unit>/*.ipynb, or an LMS zip download"
    )
    grade.add_argument("--unit", help="the unit an LMS zip holds, when its file names do not say")
    grade.add_argument("--force", action="store_true", help="autograde again even if unchanged")
    grade.set_defaults(run=_grade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if args.command != "lab":
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.jupyter_args += extra
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"workshop {args.command}: {exc}", file=sys.stderr)
        return 2

"""MPI on this machine: which library and ``mpiexec`` the workshop uses, and MPI jobs that
always end.

The ``mpiexec`` is the one installed beside this Python (the MPICH wheel of ``pip install mpich``,
or conda-forge's ``mpich``), not the first on PATH: another MPI's or a scheduler's ``mpiexec``
(Slurm ships one) cannot start ranks for the MPI library mpi4py loads. ``run`` starts a job in a
session of its own under ``python -m mpi4py``, so a rank that raises aborts the whole job, and a
job that outlives its timeout (a deadlock) is killed with every rank: nothing is left running.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from workshop.errors import MissingCapability

__all__ = [
    "INSTALL_HINT",
    "MPIJobError",
    "MPIResult",
    "library_version",
    "mpiexec",
    "require_mpi",
    "run",
    "unavailable_reason",
]

INSTALL_HINT = (
    "install MPI for this Python: `pip install mpi4py mpich` (what `make install` does), or "
    "`conda install -c conda-forge mpi4py mpich`; on Windows `pip install mpi4py impi-rt` "
    "(Intel MPI). Do not mix in the system's MPI packages (e.g. Debian's mpich): the mpi4py "
    "wheel cannot load them"
)


class MPIJobError(RuntimeError):
    """An MPI job failed (a rank raised, or it ran past its timeout); the message has its output."""


@dataclass
class MPIResult:
    """A finished MPI job: its command, exit status, output and wall-clock seconds."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def mpiexec() -> str | None:
    """Path of the ``mpiexec`` that matches this Python's MPI, or None.

    Beside the interpreter first (a venv's or conda's ``bin``, ``Scripts`` on Windows), then
    PATH, but never a scheduler's launcher such as Slurm's ``mpiexec.slurm``.
    """
    here = Path(sys.executable).parent
    for folder in (here, here / "Scripts", here / "Library" / "bin"):
        for name in ("mpiexec", "mpiexec.exe"):
            candidate = folder / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    found = shutil.which("mpiexec")
    if found and "slurm" not in os.path.realpath(found):
        return found
    return None


@functools.lru_cache(maxsize=1)
def library_version() -> str | None:
    """First line of the MPI library's version (e.g. ``MPICH Version: 5.0.2``), or None.

    Asked in a child process with MPI left uninitialised, so the caller's process never
    starts MPI just to print its name.
    """
    code = (
        "import mpi4py; mpi4py.rc.initialize = False; from mpi4py import MPI; "
        "print(MPI.Get_library_version().strip().splitlines()[0])"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    line = " ".join(out.stdout.split())
    return line if out.returncode == 0 and line else None


def unavailable_reason() -> str | None:
    """Why MPI jobs cannot run here (what is missing and how to install it), or None."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return f"mpi4py is not installed: {INSTALL_HINT}"
    if mpiexec() is None:
        return f"no mpiexec was found beside {sys.executable} or on PATH: {INSTALL_HINT}"
    if library_version() is None:
        return f"mpi4py cannot load an MPI library: {INSTALL_HINT}"
    return None


def require_mpi() -> str:
    """The ``mpiexec`` path, or MissingCapability saying what is missing and how to install it."""
    reason = unavailable_reason()
    if reason is not None:
        raise MissingCapability(reason)
    return mpiexec()  # type: ignore[return-value]


#: Set to a fresh token in the environment of every job's ranks, so that they can be found.
JOB_VARIABLE = "WORKSHOP_MPI_JOB"


def _kill_session(process: subprocess.Popen, token: str | None = None) -> None:
    """Kill ``process`` (mpiexec) with every process below it, in its session, or carrying the
    job's ``token`` in ``JOB_VARIABLE``, and reap it.

    Hydra starts each proxy and rank in a session of its own, so the tree below mpiexec is
    collected first. A rank still shutting down after its mpiexec and proxy exited has lost
    both; the token in its environment still finds it.
    """
    import psutil

    members: dict[int, psutil.Process] = {}
    try:
        root = psutil.Process(process.pid)
        members[root.pid] = root
        members.update((child.pid, child) for child in root.children(recursive=True))
    except psutil.NoSuchProcess:
        pass
    for proc in psutil.process_iter(["pid"]):
        with contextlib.suppress(OSError, psutil.Error):
            if os.getsid(proc.pid) in (process.pid, *members) or (
                token is not None and proc.environ().get(JOB_VARIABLE) == token
            ):
                members.setdefault(proc.pid, proc)
    alive = list(members.values())
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)
        alive = psutil.wait_procs(alive, timeout=3)[1]
        if not alive:
            break
    if process.poll() is None:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(
    args: list[str],
    ranks: int = 2,
    *,
    timeout: float = 60.0,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> MPIResult:
    """Run ``python -m mpi4py ARGS`` on ``ranks`` ranks (e.g. ``["script.py"]`` or
    ``["-m", "module"]``) and wait at most ``timeout`` seconds.

    More ranks than cores are allowed (MPICH oversubscribes silently; they take turns). A job
    still running at the timeout is killed with every rank and MPIJobError says so; with
    ``check`` a failed job (a rank raised: mpi4py aborts the others) raises MPIJobError with
    its output. Nothing the job started is left running either way.
    """
    launcher = require_mpi()
    if isinstance(ranks, bool) or int(ranks) != ranks or ranks < 1:
        raise ValueError(f"ranks must be a whole number >= 1, not {ranks!r}")
    command = [launcher, "-n", str(int(ranks)), sys.executable, "-m", "mpi4py", *map(str, args)]
    token = uuid.uuid4().hex
    environment = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {}), JOB_VARIABLE: token}
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=environment,
        start_new_session=True,  # one kill reaches mpiexec, its proxies and every rank
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_session(process, token)
        stdout, stderr = process.communicate()
        raise MPIJobError(
            f"the MPI job did not finish within {timeout:g} s and was killed with all its "
            f"ranks (a deadlock: ranks waiting for messages that never come?)\n"
            f"command: {' '.join(command)}\n{_tail(stdout, stderr)}"
        ) from None
    finally:
        _kill_session(process, token)  # ranks of an aborted job may outlive their mpiexec
    result = MPIResult(command, process.returncode, stdout, stderr, time.perf_counter() - started)
    if check and result.returncode != 0:
        raise MPIJobError(
            f"the MPI job failed (exit status {result.returncode}); a rank raised and the job "
            f"was aborted\ncommand: {' '.join(command)}\n{_tail(stdout, stderr)}"
        )
    return result


def _tail(stdout: str, stderr: str, lines: int = 30) -> str:
    out = "\n".join(stdout.strip().splitlines()[-lines:]) or "(nothing)"
    err = "\n".join(stderr.strip().splitlines()[-lines:]) or "(nothing)"
    return (
        f"--- standard output (last lines) ---\n{out}\n--- standard error (last lines) ---\n{err}"
    )

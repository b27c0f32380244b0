"""A miniature HPC system on this machine: a single-node Slurm on 127.0.0.1, started and stopped here.

``start()`` writes a Slurm configuration under a state folder (``.workshop-slurm/`` at the course
root, which git ignores; ``WORKSHOP_SLURM_DIR`` overrides it), starts ``munged``, ``slurmctld`` and
``slurmd`` bound to loopback only, and waits until the node is idle. Two partitions, as many sites
have: ``compute`` (the default) and ``transfer``, a small one for moving data. ``stop()`` cancels
the jobs and stops every process it started. Nothing else in the workshop knows these files: the
unit and the tests call ``environment()``, ``run()``, ``submit()``, ``wait()`` and ``accounting()``.

Two modes. As root, Slurm authenticates with munge (its own key and socket in the state folder).
As an ordinary user, Slurm can run with ``auth/none``, which lets anyone who reaches the ports act
as you: acceptable only in a single-user container (Binder, CI), so it must be asked for with
``WORKSHOP_SLURM_UNPRIVILEGED=1``. Slurm runs on Linux only.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "JobRecord",
    "SchedulerError",
    "SlurmStatus",
    "accounting",
    "connect",
    "environment",
    "explain",
    "missing",
    "run",
    "start",
    "state_folder",
    "status",
    "stop",
    "submit",
    "wait",
]

FOLDER_VARIABLE = "WORKSHOP_SLURM_DIR"
UNPRIVILEGED_VARIABLE = "WORKSHOP_SLURM_UNPRIVILEGED"
FOLDER_NAME = ".workshop-slurm"
NODE = "localhost"
PARTITIONS = ("compute", "transfer")
MIN_CPUS = 8  # the node advertises at least this many CPUs (see _node_cpus)
_DAEMONS = ("munged", "slurmctld", "slurmd")
_COMMANDS = ("slurmctld", "slurmd", "sbatch", "srun", "squeue", "scontrol", "sinfo")
_INSTALL = (
    "install it with `sudo apt-get install slurm-wlm munge slurm-wlm-torque` "
    "(Debian/Ubuntu; the workshop's tools/install-slurm does this)"
)


class SchedulerError(RuntimeError):
    """The workshop's Slurm cannot start, is not running, or refused a request (says why)."""


@dataclass(frozen=True)
class SlurmStatus:
    """What ``status()`` found: whether the miniature cluster runs, where, and its node's state."""

    folder: Path
    running: bool
    mode: str | None  # "munge" (as root), "unprivileged" (auth/none), None: not configured
    pids: dict[str, int] = field(default_factory=dict)
    node_state: str | None = None
    cpus: int | None = None
    partitions: tuple[str, ...] = ()
    started_now: bool = False
    problem: str | None = None

    def __str__(self) -> str:
        if not self.running:
            why = f": {self.problem}" if self.problem else ""
            return f"Slurm (workshop) is not running{why}. State folder: {self.folder}"
        daemons = ", ".join(f"{name} {pid}" for name, pid in self.pids.items())
        return (
            f"Slurm (workshop) is running on 127.0.0.1 ({self.mode} mode): node {NODE} is "
            f"{self.node_state}, {self.cpus} CPUs; partitions {', '.join(self.partitions)}. "
            f"Daemons: {daemons}. State folder: {self.folder}\n"
            f"To use it from a terminal: export SLURM_CONF={self.folder / 'slurm.conf'}"
        )


# ------------------------------------------------------------------------ where and whether


def state_folder(folder: Path | str | None = None) -> Path:
    """The state folder: ``folder``, else $WORKSHOP_SLURM_DIR, else ``.workshop-slurm`` at the
    course root (found upwards from the working directory), else in the home folder."""
    if folder is not None:
        return Path(folder).resolve()
    if os.environ.get(FOLDER_VARIABLE):
        return Path(os.environ[FOLDER_VARIABLE]).resolve()
    from workshop.paths import find_course_root

    root = find_course_root()
    return (root if root is not None else Path.home()) / FOLDER_NAME


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def missing() -> str | None:
    """None when Slurm can run here, else what is missing, in a sentence that says how to get it."""
    if not sys.platform.startswith("linux"):
        return (
            f"Slurm runs on Linux only, and this is {sys.platform}: read the unit's text, or use "
            "Binder (the badge in README.md) or a Linux machine to run its cells"
        )
    absent = [name for name in _COMMANDS if shutil.which(name, path=_search_path()) is None]
    if absent:
        return f"Slurm is not installed ({', '.join(absent)} not found): {_INSTALL}"
    if _is_root() and shutil.which("munged", path=_search_path()) is None:
        return f"munge is not installed (munged not found): {_INSTALL}"
    if not _is_root() and os.environ.get(UNPRIVILEGED_VARIABLE) != "1":
        return (
            "starting Slurm needs root, or, in a single-user container only (Binder, CI), "
            f"{UNPRIVILEGED_VARIABLE}=1 for its unprivileged mode (no authentication: never set "
            "it on a machine other people use)"
        )
    return None


def _search_path() -> str:
    return os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def _command(name: str) -> str:
    found = shutil.which(name, path=_search_path())
    if found is None:
        raise SchedulerError(f"{name} not found: {_INSTALL}")
    return found


# ------------------------------------------------------------------------------ configuration


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _node_cpus() -> int:
    """CPUs the node advertises: the usable cores, but at least MIN_CPUS. A miniature needs room
    for an ipyparallel job, a throttled array and an MPI job side by side; jobs that wait or sleep
    share the real cores well, and the unit says how many cores the machine really has."""
    from workshop.hardware import usable_cores

    return max(MIN_CPUS, usable_cores())


def _node_memory_mib() -> int:
    import psutil

    return max(1024, int(psutil.virtual_memory().total / 2**20 * 0.75))


def _last_job_id(folder: Path) -> int:
    """The highest job id in the accounting, so a fresh start continues the numbering."""
    ids = [record.job_id for record in accounting(folder=folder)]
    return max(ids, default=0)


def _write_config(folder: Path, mode: str) -> Path:
    """Write slurm.conf for ``mode`` ("munge" or "unprivileged") and return its path."""
    import pwd  # POSIX only, as Slurm is

    user = pwd.getpwuid(os.geteuid()).pw_name
    if mode == "munge":
        auth = (
            f"AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket={_munge_socket(folder)}\n"
        )
    else:
        auth = "AuthType=auth/none\nCredType=cred/none\n"
    cpus, memory = _node_cpus(), _node_memory_mib()
    # A job that does not say how much memory it needs gets this much per CPU (MiB): enough for
    # an ipyparallel engine that compiles a Numba kernel, while every CPU can still get it.
    per_cpu = max(128, min(1024, memory // cpus))
    text = f"""# Written by `workshop scheduler start`; rewritten at every start. Do not edit.
ClusterName=workshop
SlurmctldHost={NODE}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
{auth}SlurmUser={user}
SlurmdUser={user}
StateSaveLocation={folder / "ctld"}
SlurmdSpoolDir={folder / "spool"}
SlurmctldPidFile={folder / "slurmctld.pid"}
SlurmdPidFile={folder / "slurmd.pid"}
SlurmctldLogFile={folder / "log" / "slurmctld.log"}
SlurmdLogFile={folder / "log" / "slurmd.log"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=1
JobAcctGatherParams=OverMemoryKill
JobCompType=jobcomp/filetxt
JobCompLoc={folder / "accounting.txt"}
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
ReturnToService=2
EnforcePartLimits=ALL
FirstJobId={_last_job_id(folder) + 1}
MinJobAge=300
SchedulerParameters=sched_interval=1
KillWait=2
NodeName={NODE} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=compute Nodes={NODE} Default=YES MaxTime=60 DefMemPerCPU={per_cpu} State=UP
PartitionName=transfer Nodes={NODE} MaxTime=30 MaxCPUsPerNode=1 DefMemPerCPU={per_cpu} State=UP
"""
    path = folder / "slurm.conf"
    path.write_text(text)
    return path


def _read_config(folder: Path) -> dict[str, str]:
    path = folder / "slurm.conf"
    if not path.is_file():
        return {}
    pairs = re.findall(r"^(\w+)=(\S+)", path.read_text(), re.M)
    return dict(pairs)


def _mode(folder: Path) -> str | None:
    auth = _read_config(folder).get("AuthType")
    return None if auth is None else ("munge" if auth == "auth/munge" else "unprivileged")


def environment(folder: Path | str | None = None) -> dict[str, str]:
    """os.environ plus SLURM_CONF for the workshop's Slurm: pass it to every Slurm command."""
    env = dict(os.environ)
    env["SLURM_CONF"] = str(state_folder(folder) / "slurm.conf")
    env["PATH"] = _search_path()
    return env


# ---------------------------------------------------------------------------------- processes


def _pid_file(folder: Path, name: str) -> Path:
    return folder / ("munge/munged.pid" if name == "munged" else f"{name}.pid")


def _daemon_pid(folder: Path, name: str) -> int | None:
    """The pid of the workshop's ``name`` daemon for ``folder``, if it runs (checked by its
    command line, so a recycled pid is never taken for it)."""
    import psutil

    try:
        pid = int(_pid_file(folder, name).read_text().split()[0])
        process = psutil.Process(pid)
        cmdline = " ".join(process.cmdline())
        alive = process.status() != psutil.STATUS_ZOMBIE
    except (OSError, ValueError, IndexError, psutil.Error):
        return None
    return pid if alive and name in cmdline and str(folder) in cmdline else None


def _daemon_pids(folder: Path) -> dict[str, int]:
    found = {name: _daemon_pid(folder, name) for name in _DAEMONS}
    return {name: pid for name, pid in found.items() if pid is not None}


def _job_processes(folder: Path) -> list:
    """slurmstepd processes of this Slurm (by SLURM_CONF in their environment) and their
    children: the jobs' processes."""
    import psutil

    conf = str(folder / "slurm.conf")
    steps = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] == "slurmstepd" and process.environ().get("SLURM_CONF") == conf:
                steps.append(process)
        except psutil.Error:
            continue
    children = []
    for step in steps:
        try:
            children += step.children(recursive=True)
        except psutil.Error:
            continue
    return steps + children


def _terminate(processes: list, timeout: float) -> list:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; returns the processes still alive."""
    import psutil

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for process in processes:
            with contextlib.suppress(psutil.Error):
                process.send_signal(sig)
        _, processes = psutil.wait_procs(processes, timeout=timeout)
        if not processes:
            break
    return processes


def _spawn(command: list[str], folder: Path) -> None:
    """Run a daemon's start command (it forks into the background itself); fail with its log."""
    result = subprocess.run(
        command,
        env=environment(folder),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        start_new_session=True,
    )
    if result.returncode != 0:
        name = Path(command[0]).name
        raise SchedulerError(
            f"{name} did not start (exit status {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-600:] or _log_tail(folder, name)}"
        )


def _log_tail(folder: Path, name: str, lines: int = 5) -> str:
    path = folder / "log" / f"{name}.log"
    try:
        return " | ".join(path.read_text().splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def _prepare(folder: Path, mode: str) -> None:
    """Create the state folder's layout; munge's key is made once (1 KiB of random bytes)."""
    for sub in ("", "ctld", "spool", "log", "munge"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(folder / "munge", 0o700)  # the key stays private
    socket_dir = _munge_socket(folder).parent
    if mode == "munge":
        socket_dir.mkdir(mode=0o711, exist_ok=True)
        owner = socket_dir.lstat()
        if socket_dir.is_symlink() or owner.st_uid != os.geteuid():
            raise SchedulerError(f"{socket_dir} belongs to someone else: remove it and start again")
        os.chmod(socket_dir, 0o711)
        for stale in socket_dir.glob("munge.socket*"):
            stale.unlink()
    key = folder / "munge" / "munge.key"
    if mode == "munge" and not key.is_file():
        key.touch(mode=0o600)
        key.write_bytes(os.urandom(1024))
    gitignore = folder / ".gitignore"
    if not gitignore.is_file():
        gitignore.write_text(
            "# Written by `workshop scheduler start`: nothing here is shared.\n*\n"
        )


def _munge_socket(folder: Path) -> Path:
    """munged's socket: in a folder of its own under the temporary folder, because munged wants
    every folder above its socket open to all, and a socket's path must stay short."""
    import hashlib
    import tempfile

    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"workshop-munge-{digest}" / "munge.socket"


def _start_munge(folder: Path) -> None:
    munge = folder / "munge"
    _spawn(
        [
            _command("munged"),
            f"--socket={_munge_socket(folder)}",
            f"--key-file={munge / 'munge.key'}",
            f"--pid-file={munge / 'munged.pid'}",
            f"--seed-file={munge / 'munged.seed'}",
            f"--log-file={folder / 'log' / 'munged.log'}",
        ],
        folder,
    )


# --------------------------------------------------------------------- start, stop and status


def _node_info(folder: Path) -> tuple[str | None, int | None]:
    """The node's state and CPU count as sinfo reports them, or (None, None) if none answers."""
    try:
        result = subprocess.run(
            [_command("sinfo"), "-h", "-N", "-o", "%T %c"],
            env=environment(folder),
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (subprocess.TimeoutExpired, SchedulerError):
        return None, None
    fields = result.stdout.split()
    if result.returncode != 0 or len(fields) < 2:
        return None, None
    return fields[0], int(fields[1])


def status(folder: Path | str | None = None) -> SlurmStatus:
    """Whether the workshop's Slurm runs: its daemons, its node's state (through sinfo)."""
    place = state_folder(folder)
    mode = _mode(place)
    pids = _daemon_pids(place)
    needed = ("munged", "slurmctld", "slurmd") if mode == "munge" else ("slurmctld", "slurmd")
    if mode is None:
        return SlurmStatus(place, False, None, pids, problem="it was never started here")
    absent = [name for name in needed if name not in pids]
    if absent:
        return SlurmStatus(place, False, mode, pids, problem=f"{', '.join(absent)} not running")
    state, cpus = _node_info(place)
    if state is None:
        return SlurmStatus(place, False, mode, pids, problem="slurmctld does not answer")
    return SlurmStatus(place, True, mode, pids, state, cpus, PARTITIONS)


def start(folder: Path | str | None = None, *, timeout: float = 30.0) -> SlurmStatus:
    """Start the single-node Slurm on 127.0.0.1 and wait until its node is idle.

    Idempotent: if it already runs, its status is returned. Leftovers of a run that was killed
    (stale pid files, daemons without a controller) are stopped first. Raises SchedulerError
    saying what is missing (not Linux, not installed, no permission) or which daemon failed.
    """
    place = state_folder(folder)
    current = status(place)
    if current.running:
        return current
    reason = missing()
    if reason:
        raise SchedulerError(f"cannot start Slurm: {reason}")
    _stop_daemons(place, timeout=5.0)
    mode = "munge" if _is_root() else "unprivileged"
    _prepare(place, mode)
    conf = str(_write_config(place, mode))
    try:
        if mode == "munge":
            _start_munge(place)
        _spawn([_command("slurmctld"), "-c", "-f", conf], place)
        _spawn([_command("slurmd"), "-c", "-f", conf, "-N", NODE], place)
        _wait_until_idle(place, time.monotonic() + timeout)
    except BaseException:
        _stop_daemons(place, timeout=5.0)
        raise
    started = status(place)
    return SlurmStatus(**{**started.__dict__, "started_now": True})


def _wait_until_idle(folder: Path, deadline: float) -> None:
    state = None
    while time.monotonic() < deadline:
        state, _ = _node_info(folder)
        if state == "idle":
            return
        time.sleep(0.1)
    raise SchedulerError(
        f"the node did not become idle (state {state or 'unknown'}); slurmctld log: "
        f"{_log_tail(folder, 'slurmctld')}; slurmd log: {_log_tail(folder, 'slurmd')}"
    )


def stop(folder: Path | str | None = None, *, timeout: float = 20.0) -> bool:
    """Cancel every job and stop every daemon this Slurm started; True if anything was running.

    Stopping what is not running succeeds (False). The configuration and the accounting stay.
    """
    return _stop_daemons(state_folder(folder), timeout=timeout)


def _stop_daemons(folder: Path, *, timeout: float) -> bool:
    import psutil

    pids = _daemon_pids(folder)
    jobs = _job_processes(folder)
    if "slurmctld" in pids:
        _cancel_all(folder)
        _slurm_quietly(folder, "scontrol", "shutdown")
    daemons = _processes(pid for name, pid in pids.items() if name != "munged")
    _, alive = psutil.wait_procs(daemons, timeout=timeout / 2)
    left = _terminate(alive + [p for p in jobs if p.is_running()], timeout=timeout / 4)
    if "munged" in pids:
        left += _terminate(_processes([pids["munged"]]), timeout=timeout / 4)
    for name in _DAEMONS:
        _pid_file(folder, name).unlink(missing_ok=True)
    if not left:
        shutil.rmtree(_munge_socket(folder).parent, ignore_errors=True)
    if left:
        raise SchedulerError(f"could not stop processes {[p.pid for p in left]}")
    return bool(pids or jobs)


def _processes(pids: Iterable[int]) -> list[Any]:
    """The processes of ``pids`` still running (a daemon that already exited is left out)."""
    import psutil

    found = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            found.append(psutil.Process(pid))
    return found


def _cancel_all(folder: Path) -> None:
    listing = _slurm_quietly(folder, "squeue", "-h", "-o", "%A")
    ids = listing.split()
    if ids:
        _slurm_quietly(folder, "scancel", *ids)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _slurm_quietly(folder, "squeue", "-h", "-t", "R,CG"):
            time.sleep(0.2)


def _slurm_quietly(folder: Path, *command: str) -> str:
    """Run a Slurm command for stopping; its failure is not an error there (stdout or '')."""
    try:
        result = subprocess.run(
            [_command(command[0]), *command[1:]],
            env=environment(folder),
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (subprocess.TimeoutExpired, SchedulerError):
        return ""
    return result.stdout if result.returncode == 0 else ""


def connect(folder: Path | str | None = None, *, start_if_needed: bool = True) -> SlurmStatus:
    """Point this process's Slurm commands (``!sbatch`` in a notebook) at the workshop's Slurm.

    Sets SLURM_CONF in os.environ; starts Slurm first if it is not running and
    ``start_if_needed``. A Slurm started here (``status.started_now``) is stopped when this
    process exits or its kernel shuts down, if ``stop()`` was not called before. Raises
    SchedulerError with what is missing when it cannot run.
    """
    place = state_folder(folder)
    current = status(place)
    if not current.running:
        if not start_if_needed:
            raise SchedulerError(f"{current}. Start it with `workshop scheduler start`.")
        current = start(place)
        _stop_at_exit(place)
    os.environ["SLURM_CONF"] = str(place / "slurm.conf")
    os.environ["PATH"] = _search_path()
    return current


# ------------------------------------------------------------------------- jobs and accounting


@dataclass(frozen=True)
class JobRecord:
    """One finished job as Slurm's accounting (``sacct -c``) records it.

    ``exit_code`` is the job script's exit status and ``signal`` the signal that ended it (0 for
    none); ``memory_mib`` is the memory it was given, ``cpus`` its processors, ``time_limit`` its
    limit in minutes (None: unlimited). Times are Slurm's, to the second.
    """

    job_id: int
    name: str
    state: str
    exit_code: int
    signal: int
    partition: str
    cpus: int
    memory_mib: int | None
    time_limit: int | None
    start: str
    end: str
    work_dir: str
    array_job_id: int | None = None
    array_task_id: int | None = None
    fields: dict[str, str] = field(default_factory=dict, repr=False, compare=False)


_FIELD = re.compile(r"(\w+)=(.*?)(?= \w+=|\s*$)")


def _memory_mib(tres: str) -> int | None:
    match = re.search(r"mem=([\d.]+)([KMGT]?)", tres)
    if not match:
        return None
    scale = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024**2}[match.group(2)]
    return round(float(match.group(1)) * scale)


def _record(line: str) -> JobRecord | None:
    data = {key: value.strip() for key, value in _FIELD.findall(line)}
    if "JobId" not in data:
        return None
    status_, _, sig = data.get("ExitCode", "0:0").partition(":")
    limit = data.get("TimeLimit", "")
    return JobRecord(
        job_id=int(data["JobId"]),
        name=data.get("Name", ""),
        state=data.get("JobState", "").split()[0] if data.get("JobState") else "",
        exit_code=int(status_ or 0),
        signal=int(sig or 0),
        partition=data.get("Partition", ""),
        cpus=int(data.get("ProcCnt") or 0),
        memory_mib=_memory_mib(data.get("Tres", "")),
        time_limit=int(limit) if limit.isdigit() else None,
        start=data.get("StartTime", ""),
        end=data.get("EndTime", ""),
        work_dir=data.get("WorkDir", ""),
        array_job_id=int(data["ArrayJobId"]) if data.get("ArrayJobId") else None,
        array_task_id=int(data["ArrayTaskId"]) if data.get("ArrayTaskId") else None,
        fields=data,
    )


def accounting(job_id: int | None = None, *, folder: Path | str | None = None) -> list[JobRecord]:
    """Finished jobs from the accounting, oldest first: all, or job ``job_id`` (an array job's
    id gives all its tasks). The same records as ``sacct -c``, as Python objects."""
    path = state_folder(folder) / "accounting.txt"
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    records = [record for record in map(_record, lines) if record is not None]
    if job_id is None:
        return records
    return [r for r in records if job_id in (r.job_id, r.array_job_id)]


def wait(
    job_ids: int | list[int], *, timeout: float = 120.0, folder: Path | str | None = None
) -> list[JobRecord]:
    """Wait until the jobs (array jobs: all their tasks) have finished; return their records.

    Raises SchedulerError naming the jobs still queued and Slurm's reason (for instance a
    dependency that can never be satisfied) if they have not finished after ``timeout`` s.
    """
    ids = [job_ids] if isinstance(job_ids, int) else list(job_ids)
    deadline = time.monotonic() + timeout
    while True:
        queued = run(
            "squeue",
            "-h",
            "-j",
            ",".join(map(str, ids)),
            "-o",
            "%i %T %r",
            check=False,
            folder=folder,
        ).stdout.strip()
        done = {r.job_id for r in accounting(folder=folder)}
        if not queued and all(job in done for job in ids):
            return [r for job in ids for r in accounting(job, folder=folder)]
        if time.monotonic() > deadline:
            raise SchedulerError(
                f"jobs {ids} have not finished after {timeout:g} s; still queued (job, state, "
                f"reason): {'; '.join(queued.splitlines()) or 'none, but not yet accounted'}"
            )
        time.sleep(0.2)


def run(
    *command: str,
    check: bool = True,
    input: str | None = None,
    cwd: Path | str | None = None,
    timeout: float = 60.0,
    folder: Path | str | None = None,
) -> subprocess.CompletedProcess:
    """Run a Slurm command (``run("sinfo")``) against the workshop's Slurm, capturing its output.

    With ``check`` a failure raises SchedulerError with Slurm's reason in plain words.
    """
    if not (state_folder(folder) / "slurm.conf").is_file():
        raise SchedulerError(  # without it, Slurm's commands retry for a minute
            f"the workshop's Slurm was never started for {state_folder(folder)}: start it with "
            "`workshop scheduler start`"
        )
    result = subprocess.run(
        [_command(command[0]), *command[1:]],
        env=environment(folder),
        input=input,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise SchedulerError(explain(command[0], result.stderr or result.stdout))
    return result


def submit(
    script: str | Path,
    *options: str,
    cwd: Path | str | None = None,
    folder: Path | str | None = None,
) -> int:
    """Submit a job script (its text, or a path to it) with ``sbatch``; return the job id.

    ``options`` are passed to sbatch before the script (e.g. ``"--array=1-4%2"``). A refused
    script raises SchedulerError with Slurm's reason in plain words.
    """
    if isinstance(script, Path):
        result = run("sbatch", "--parsable", *options, str(script), cwd=cwd, folder=folder)
    else:
        result = run("sbatch", "--parsable", *options, input=script, cwd=cwd, folder=folder)
    return int(result.stdout.strip().split(";")[0])


# Slurm's refusals, each with what it means and what would be valid.
_REASONS = (
    (
        r"does not look like a batch script",
        "the job script's first line must be an interpreter line such as #!/bin/bash",
    ),
    (
        r"DOS line breaks",
        "the job script has Windows line endings (\\r\\n); save it with Unix ones (\\n)",
    ),
    (
        r"Requested node configuration is not available|Memory specification can not be "
        r"satisfied|More processors requested than permitted|Node count specification invalid",
        "no node here can ever run this: ask for at most the node's CPUs and memory "
        "(`scontrol show node` lists them; the transfer partition gives 1 CPU per job)",
    ),
    (
        r"Invalid partition name|invalid partition specified",
        f"no such partition: the partitions are {', '.join(PARTITIONS)} (the first is the default)",
    ),
    (
        r"time limit is invalid|Invalid --time specification",
        "the time limit is malformed or above the partition's maximum (compute: 60 minutes, "
        "transfer: 30); write it as minutes, MM:SS, HH:MM:SS or D-HH:MM",
    ),
    (
        r"unrecognized option|invalid option|is ambiguous|is not a valid|Invalid numeric value|"
        r"Invalid --\w+ specification",
        "an option (on the command line or an #SBATCH line) is misspelled or has an invalid "
        "value; `sbatch --help` lists them",
    ),
    (
        r"Job dependency problem",
        "the dependency names a job that does not exist or has already failed",
    ),
    (
        r"Unable to contact slurm controller|Connection refused|cannot stat file",
        "the workshop's Slurm is not running: start it with `workshop scheduler start`",
    ),
)


def explain(command: str, message: str) -> str:
    """Slurm's error ``message`` for ``command`` in plain words, with Slurm's own text after it."""
    said = " ".join(
        line.replace(f"{command}: error: ", "").replace(f"{command}: ", "").strip()
        for line in message.strip().splitlines()
        if line.strip() and not line.startswith("Try ")
    )
    for pattern, meaning in _REASONS:
        if re.search(pattern, message):
            return f"{command} refused it: {meaning}. (Slurm said: {said})"
    return f"{command} failed: {said or 'no message'}"


def _stop_at_exit(folder: Path) -> None:
    """Stop a Slurm that this process started when it exits, or when its kernel shuts down."""
    import atexit

    from workshop.kernel_shutdown import on_kernel_shutdown

    def cleanup() -> None:
        with contextlib.suppress(SchedulerError):
            _stop_daemons(folder, timeout=10.0)

    atexit.register(cleanup)
    on_kernel_shutdown(cleanup)

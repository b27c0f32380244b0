"""How a grading kernel is confined: a bubblewrap sandbox around each student's IPython kernel.

A student's notebook is code the instructor runs. ``workshop grade`` therefore starts every grading
kernel inside ``bwrap`` (Debian/Ubuntu package ``bubblewrap``) with

* a file system holding only what the kernel needs: ``/usr`` and a few files of ``/etc``, this
  Python environment and the ``workshop`` package (read-only), the private-tests folder if one is
  given (read-only), and a private writable folder with only that student's notebook, which is
  the kernel's working folder and ``HOME``; ``/tmp`` is a private, size-capped tmpfs. The course
  (``solutions/``, ``instructor/``, other submissions) and the instructor's home are not there;
* its own PID, IPC, UTS and network namespaces (no network but its own loopback; a unit that must
  reach a service on the host, e.g. a scheduler on 127.0.0.1, may declare ``network: "host"``);
* resource limits set inside the sandbox before the kernel starts: address space per process,
  number of processes (threads count), size of any file written, no core files; when grading as
  root the kernel also drops to an unprivileged user (``nobody``), so the process cap applies;
* a wall-clock cap on the whole notebook (the kernel is killed when it is reached);
* every process it starts dies with it: when the kernel ends, its PID namespace ends, and the
  sandbox dies with the grading run (``--die-with-parent``).

The kernel talks to the grader over Unix sockets in a private folder (ZeroMQ's IPC transport),
since it has no network. :class:`SandboxedKernelManager` is the jupyter_client kernel manager that
nbgrader's executor uses for this; :func:`unavailable` says why no sandbox can be made here.
"""

from __future__ import annotations

import functools
import grp
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Dict, Float, Int, List, Unicode

from workshop import memory_ceiling

__all__ = [
    "INCIDENTS",
    "Incident",
    "Limits",
    "SandboxUnavailable",
    "SandboxedKernelManager",
    "sandbox_command",
    "unavailable",
]

GiB = 1 << 30
MiB = 1 << 20
BWRAP = "bwrap"
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install "
    "bubblewrap); it needs Linux with user namespaces, or root"
)
# Files of /etc that programs in the kernel read (loader cache, alternatives, fonts, names, time).
_ETC = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "fonts",
    "localtime",
    "passwd",
    "group",
    "nsswitch.conf",
    "hosts",
    "mpich",
)
# Environment variables passed into the sandbox besides WORKSHOP_*.
_PASSED_ENV = (
    "LANG",
    "LC_ALL",
    "TZ",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)
_UNPRIVILEGED = "nobody"


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made on this machine (no bubblewrap, not Linux, namespaces refused)."""


@dataclass(frozen=True)
class Limits:
    """What one grading kernel may use. Sizes in bytes, times in seconds."""

    memory: int = 4 * GiB  # address space of each process (RLIMIT_AS)
    total_memory: int = 4 * GiB  # memory of the kernel and all it starts, together (cgroup)
    processes: int = 512  # processes and threads of the sandbox's user (RLIMIT_NPROC)
    file_size: int = 256 * MiB  # largest file it may write (RLIMIT_FSIZE)
    tmp_size: int = 512 * MiB  # its private /tmp (a tmpfs)
    output: int = 4 * MiB  # output kept in the graded notebook (the rest is dropped)
    cell_seconds: int = 60  # one cell, then it is interrupted and fails
    notebook_seconds: int = 600  # the whole notebook, then the kernel is killed

    @classmethod
    def for_size(cls, small: bool) -> Limits:
        """Small problem sizes run every cell in seconds; full sizes get more time."""
        return cls() if small else cls(cell_seconds=600, notebook_seconds=3600)


@dataclass
class Incident:
    """Something the sandbox did to a kernel: the notebook's folder and what happened."""

    folder: str
    what: str


# Incidents of this process's grading kernels, newest last; ``workshop.course`` reads and clears it.
INCIDENTS: list[Incident] = []


@functools.cache
def unavailable() -> str | None:
    """None when a sandbox can be made here, else why not (and what would make it work)."""
    if not sys.platform.startswith("linux"):
        return f"the grading sandbox needs Linux (bubblewrap); this is {sys.platform}"
    if shutil.which(BWRAP) is None:
        return f"bubblewrap ({BWRAP}) is not installed: {INSTALL_HINT}"
    command = sandbox_command(["/bin/true"], work=None, read_only=[])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start a sandbox: {exc}"
    if done.returncode != 0:
        return f"bubblewrap could not start a sandbox: {done.stderr.strip()} ({INSTALL_HINT})"
    return None


def environment_paths() -> list[Path]:
    """Folders the kernel needs read-only: this Python (environment and base interpreter) and the
    folder of each package the environment imports from outside it (an editable ``workshop``)."""
    import importlib.util

    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parents[1]}
    for name in ("workshop",):
        spec = importlib.util.find_spec(name)
        for location in (spec.submodule_search_locations or []) if spec else []:
            paths.add(Path(location).resolve())
    return sorted(path for path in paths if path.exists())


def _dirs_for(paths: list[Path]) -> list[str]:
    """bwrap arguments making every ancestor of ``paths`` a 0755 folder (bwrap's own are 0700)."""
    ancestors = sorted({p for path in paths for p in path.parents if p != Path("/")})
    args: list[str] = []
    for folder in ancestors:
        if folder.parts[1] not in {"usr", "bin", "lib", "lib64", "sbin", "proc", "dev"}:
            args += ["--perms", "0755", "--dir", str(folder)]
    return args


def _base_args(network: bool, as_root: bool) -> list[str]:
    namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
    if as_root:  # privileged bwrap: no user namespace, so the kernel can drop to `nobody`
        namespaces += ["--cap-add", "CAP_SETUID,CAP_SETGID"]
    else:
        namespaces += ["--unshare-user"]
    if not network:
        namespaces += ["--unshare-net"]
    system = ["--ro-bind", "/usr", "/usr"]
    for name, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("sbin", "usr/sbin")):
        system += ["--symlink", target, f"/{name}"]
    if Path("/lib64").exists():
        system += ["--symlink", "usr/lib64", "/lib64"]
    system += ["--perms", "0755", "--dir", "/etc"]  # bwrap's own folders are 0700
    for name in _ETC:
        system += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    # The processor topology, read-only: hwloc (Slurm's slurmd, unit 09) and psutil read it.
    # bwrap makes the folders above a bind 0700, which an unprivileged kernel cannot enter.
    # Slurm's slurmd also reads the cgroup tree at start; it writes nothing there unprivileged.
    for folder in ("/sys", "/sys/devices", "/sys/bus", "/sys/fs"):
        system += ["--perms", "0755", "--dir", folder]
    for topology in ("/sys/devices/system", "/sys/bus/cpu", "/sys/bus/node", "/sys/fs/cgroup"):
        system += ["--ro-bind-try", topology, topology]
    return [BWRAP, *namespaces, "--die-with-parent", *system, "--proc", "/proc", "--dev", "/dev"]


def sandbox_command(
    command: list[str],
    *,
    work: Path | None,
    read_only: list[Path],
    writable: list[Path] = (),  # type: ignore[assignment]
    limits: Limits = Limits(),
    network: bool = False,
    env: dict[str, str] | None = None,
) -> list[str]:
    """The command line that runs ``command`` confined: ``work`` is its working folder and HOME
    (read-write), ``read_only`` and ``writable`` are the only other folders it sees, bound at
    their own paths; ``env`` is its whole environment."""
    as_root = os.geteuid() == 0
    binds = sorted({*read_only, *writable, *([work] if work else [])})
    args = _base_args(network, as_root)
    for private in ("/tmp", "/dev/shm"):  # shared memory and semaphores live in /dev/shm
        args += ["--perms", "1777", "--size", str(limits.tmp_size), "--tmpfs", private]
    args += _dirs_for(binds)
    for path in sorted(set(read_only)):
        args += ["--ro-bind", str(path), str(path)]
    for path in [*writable, *([work] if work else [])]:
        args += ["--bind", str(path), str(path)]
    args += ["--chdir", str(work or "/"), "--clearenv"]
    # A sandbox is a single-user machine of its own, so unit 09's Slurm runs there unprivileged
    # (the kernel cannot be root). Its daemons die with the sandbox. Slurm needs a non-loopback
    # address to resolve its host, so that unit's sandbox shares the host's network: during its
    # grading, Slurm listens on random loopback ports without authentication (README).
    env = {**(env or {}), "WORKSHOP_SLURM_UNPRIVILEGED": "1"}
    for name, value in sorted(env.items()):
        args += ["--setenv", name, value]
    settings = {
        "RLIMIT_AS": limits.memory,
        "RLIMIT_NPROC": limits.processes,
        "RLIMIT_FSIZE": limits.file_size,
        "RLIMIT_CORE": 0,
    }
    uid = _unprivileged_ids() if as_root else None
    inside = [sys.executable, "-I", "-c", _INSIDE, json.dumps([settings, uid])]
    if command[0] == "/bin/true":  # the availability probe: no Python needed
        inside = []
    return [*args, "--", *inside, *command]


# Runs first inside the sandbox: set the limits, leave root, become the kernel.
_INSIDE = """
import json, os, resource, sys
limits, ids = json.loads(sys.argv[1])
if ids:
    os.setgroups([])
    os.setgid(ids[1])
    os.setuid(ids[0])
for name, value in limits.items():
    resource.setrlimit(getattr(resource, name), (value, value))
os.execv(sys.argv[2], sys.argv[2:])
"""


def _unprivileged_ids() -> tuple[int, int]:
    try:
        user = pwd.getpwnam(_UNPRIVILEGED)
        return user.pw_uid, user.pw_gid
    except KeyError:
        try:
            return 65534, grp.getgrnam("nogroup").gr_gid
        except KeyError:
            return 65534, 65534


def kernel_environment(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The kernel's whole environment: HOME, PATH of this Python, WORKSHOP_* and thread counts
    from the grader's environment, plus ``extra``."""
    env = {
        "HOME": str(home),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin"]),
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        # The address-space cap counts reserved memory: glibc reserves 64 MiB per thread arena.
        "MALLOC_ARENA_MAX": "4",
        "MPLCONFIGDIR": str(home / ".config" / "matplotlib"),
    }
    for name, value in os.environ.items():
        if name.startswith("WORKSHOP_") or name in _PASSED_ENV:
            env[name] = value
    env.update(extra or {})
    return env


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run in a bubblewrap sandbox, one private folder each.

    nbgrader's executor starts a kernel with ``cwd`` set to the autograded notebook's folder; this
    manager copies that folder into a fresh private folder, runs the kernel there with IPC
    sockets, and removes the private folder when the kernel is shut down. Configured with
    traitlets (``c.SandboxedKernelManager.<name>``) by ``workshop.course``.
    """

    read_only = List(Unicode(), help="extra folders the kernel may read").tag(config=True)
    network = Bool(False, help="share the host's network (for units that need a service)").tag(
        config=True
    )
    extra_env = Dict(help="environment variables for the kernel").tag(config=True)
    memory = Int(Limits.memory).tag(config=True)
    total_memory = Int(
        Limits.total_memory,
        help="bytes the kernel's whole process tree may hold (a control group, where one can "
        "be made: workshop.memory_ceiling); 0 for none",
    ).tag(config=True)
    processes = Int(Limits.processes).tag(config=True)
    file_size = Int(Limits.file_size).tag(config=True)
    tmp_size = Int(Limits.tmp_size).tag(config=True)
    notebook_seconds = Float(Limits.notebook_seconds).tag(config=True)
    font_cache = Unicode("", help="matplotlib cache folder copied into each HOME").tag(config=True)

    _private: Path | None = None
    _ceiling: Any = None
    _source: str | None = None
    _timer: Any = None
    _log: Any = None

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("transport", "ipc")
        super().__init__(**kwargs)
        self.transport = "ipc"

    @property
    def limits(self) -> Limits:
        return Limits(
            memory=self.memory,
            total_memory=self.total_memory,
            processes=self.processes,
            file_size=self.file_size,
            tmp_size=self.tmp_size,
        )

    def _prepare(self, cwd: str | None) -> Path:
        """A private folder: ``home/`` (a copy of the notebook's folder) and ``run/`` (sockets)."""
        private = Path(tempfile.mkdtemp(prefix="wsk-"))
        home, run = private / "home", private / "run"
        if cwd:
            shutil.copytree(cwd, home, symlinks=True, ignore=shutil.ignore_patterns("*.ipynb"))
        home.mkdir(exist_ok=True)
        run.mkdir()
        if self.font_cache and Path(self.font_cache).is_dir():
            shutil.copytree(self.font_cache, home / ".config" / "matplotlib")
        if os.geteuid() == 0:
            uid, gid = _unprivileged_ids()
            for folder, _, files in os.walk(private):
                os.chown(folder, uid, gid)
                for name in files:
                    os.chown(os.path.join(folder, name), uid, gid)
        private.chmod(0o755)
        return private

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        self._source = kw.get("cwd")
        # Interrupt through the control channel: a signal would reach bubblewrap, not the kernel.
        self.kernel_spec.interrupt_mode = "message"
        self._private = self._prepare(self._source)
        self.connection_file = str(self._private / "run" / "kernel.json")
        self.ip = str(self._private / "run" / "k")
        kw["cwd"] = str(self._private / "home")
        # The kernel's own output (start-up notes, crashes) goes to a log beside its folders.
        self._log = (self._private / "kernel.log").open("wb")
        kw["stdout"] = kw["stderr"] = self._log
        return await super()._async_pre_start_kernel(**kw)

    pre_start_kernel = _async_pre_start_kernel  # type: ignore[assignment]

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """``python -m ipykernel_launcher`` of this environment, inside the sandbox."""
        assert self._private is not None
        os.chmod(self.connection_file, 0o644)  # the kernel may run as another user
        kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]
        kernel += list(extra_arguments or [])
        home = self._private / "home"
        command = sandbox_command(
            kernel,
            work=home,
            read_only=[*environment_paths(), *map(Path, self.read_only)],
            writable=[self._private / "run"],
            limits=self.limits,
            network=self.network,
            env=kernel_environment(home, self.extra_env),
        )
        if self.total_memory and memory_ceiling.unavailable() is None:
            self._close_ceiling()
            self._ceiling = memory_ceiling.MemoryCeiling(self.total_memory)
            command = self._ceiling.command(command)
        return command

    def _close_ceiling(self) -> None:
        if self._ceiling is not None:
            if self._ceiling.oom_kills():
                limit = f"{self._ceiling.limit / GiB:g} GiB"
                what = f"sandbox limit: the kernel's processes held over {limit} together"
                INCIDENTS.append(Incident(str(self._source), what))
            self._ceiling.close()
            self._ceiling = None

    async def _async_post_start_kernel(self, **kw: Any) -> None:
        await super()._async_post_start_kernel(**kw)
        import asyncio

        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.notebook_seconds, self._expire)

    post_start_kernel = _async_post_start_kernel  # type: ignore[assignment]

    def _expire(self) -> None:
        what = f"sandbox limit: the notebook ran past {self.notebook_seconds:g} s and was stopped"
        INCIDENTS.append(Incident(str(self._source), what))
        self.log.error(what)
        if self.provisioner is not None and self.provisioner.process is not None:
            self.provisioner.process.kill()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        if self._timer is not None:
            self._timer.cancel()
        code = None
        if self.provisioner is not None and self.provisioner.process is not None:
            code = self.provisioner.process.poll()
        await super()._async_cleanup_resources(restart=restart)
        if code:
            INCIDENTS.append(Incident(str(self._source), _exit_words(code)))
        self._close_ceiling()
        if self._log is not None and not restart:
            self._log.close()
            self._log = None
        if self._private is not None and not restart:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None

    cleanup_resources = _async_cleanup_resources  # type: ignore[assignment]


def _exit_words(code: int) -> str:
    """bubblewrap's exit status in words: it passes on the kernel's, or 128 + a signal."""
    number = -code if code < 0 else code - 128
    if number > 0:
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"kernel killed by {name}" + (" (memory?)" if name == "SIGKILL" else "")
    return f"kernel exited with status {code}"

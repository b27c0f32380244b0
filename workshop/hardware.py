"""What this machine really lets the workshop use: cores, memory, compilers, MPI and thread pools.

Neither Numba nor ipyparallel reads a container's CPU quota, so ``usable_cores()`` is the number
the rest of the package uses: the smallest of the CPU count, the CPU affinity mask and the cgroup
quota (rounded up), unless the ``WORKSHOP_CPUS`` environment variable overrides it.
"""

from __future__ import annotations

import importlib
import math
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "CoreCount",
    "HardwareReport",
    "c_compiler",
    "c_compiler_reason",
    "cgroup_cpu_quota",
    "cgroup_memory_limit",
    "cores_reason",
    "detect_cores",
    "openmp_available",
    "report",
    "require_c_compiler",
    "small_mode",
    "usable_cores",
]

CPUS_VARIABLE = "WORKSHOP_CPUS"
SMALL_VARIABLE = "WORKSHOP_SMALL"
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")

_COMPILER_HELP = (
    "No C compiler was found. Install one (Debian/Ubuntu: `sudo apt-get install build-essential`; "
    "Fedora: `sudo dnf install gcc`; macOS: `xcode-select --install`; Windows: the "
    "'Desktop development with C++' workload of Visual Studio Build Tools; conda: "
    "`conda install -c conda-forge c-compiler`), or set the CC environment variable to its path."
)


@dataclass(frozen=True)
class CoreCount:
    """How many CPUs this process may really use, and why."""

    count: int
    reason: str


def _cgroup_dirs(controller: str, root: Path, proc_cgroup: Path) -> list[Path]:
    """Directories that may hold this process's cgroup files for ``controller`` (v2 and v1)."""
    candidates: list[Path] = []
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        relative = path.lstrip("/")
        if controllers == "":  # cgroup v2 unified hierarchy
            candidates.append(root / relative)
        elif controller in controllers.split(","):
            for mount in (root / controllers, root / controller):
                candidates.append(mount / relative)
    candidates += [root, root / controller]
    if controller == "cpu":
        candidates.append(root / "cpu,cpuacct")
    unique: list[Path] = []
    for directory in candidates:
        if directory not in unique:
            unique.append(directory)
    return unique


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cgroup_cpu_quota(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """The cgroup CPU quota in CPUs (v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``), or None if unlimited."""
    for directory in _cgroup_dirs("cpu", root, proc_cgroup):
        v2 = _read(directory / "cpu.max")
        if v2 is not None:
            quota, _, period = v2.partition(" ")
            if quota == "max":
                return None
            return int(quota) / int(period or 100_000)
        quota_v1 = _read(directory / "cpu.cfs_quota_us")
        period_v1 = _read(directory / "cpu.cfs_period_us")
        if quota_v1 is not None and period_v1 is not None:
            if int(quota_v1) <= 0:
                return None
            return int(quota_v1) / int(period_v1)
    return None


def cgroup_memory_limit(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> int | None:
    """The cgroup memory limit in bytes (v2 ``memory.max`` or v1 ``memory.limit_in_bytes``), or None."""
    for directory in _cgroup_dirs("memory", root, proc_cgroup):
        for name in ("memory.max", "memory.limit_in_bytes"):
            value = _read(directory / name)
            if value is None:
                continue
            if value == "max" or int(value) >= 2**60:  # v1 writes a huge number for "no limit"
                return None
            return int(value)
    return None


def _affinity() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return None


def detect_cores(
    environ: dict[str, str] | None = None,
    root: Path = CGROUP_ROOT,
    proc_cgroup: Path = PROC_CGROUP,
) -> CoreCount:
    """Work out the usable cores from the environment, the affinity mask and the cgroup quota."""
    environ = os.environ if environ is None else environ
    logical = os.cpu_count() or 1
    override = environ.get(CPUS_VARIABLE, "").strip()
    if override:
        try:
            count = int(override)
        except ValueError:
            count = 0
        if count < 1:
            raise ValueError(
                f"{CPUS_VARIABLE}={override!r} is not valid: it must be a whole number of CPUs >= 1."
            )
        return CoreCount(count, f"set by {CPUS_VARIABLE}={count} ({logical} CPUs on this machine)")

    count, reason = logical, f"{logical} CPUs on this machine"
    affinity = _affinity()
    if affinity is not None and affinity < count:
        count, reason = affinity, f"CPU affinity allows {affinity} of {logical} CPUs"
    quota = cgroup_cpu_quota(root, proc_cgroup)
    if quota is not None and math.ceil(quota) < count:
        count = max(1, math.ceil(quota))
        reason = f"cgroup quota {quota:g} of {logical} CPUs"
    return CoreCount(count, reason)


def usable_cores() -> int:
    """The number of CPUs this process may really use (see ``detect_cores``)."""
    return detect_cores().count


def cores_reason() -> str:
    """Why ``usable_cores()`` is what it is, e.g. ``"cgroup quota 1 of 16 CPUs"``."""
    return detect_cores().reason


def small_mode() -> bool:
    """True when ``WORKSHOP_SMALL`` asks for small problem sizes (CI and Binder set it)."""
    return os.environ.get(SMALL_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


def c_compiler() -> str | None:
    """Path of the C compiler: ``$CC`` if set, else the first of cc, gcc, clang on PATH."""
    configured = os.environ.get("CC", "").split()
    names = [*configured[:1], "cc", "gcc", "clang"]
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def require_c_compiler() -> str:
    """Path of the C compiler, or ``MissingCapability`` explaining how to install one."""
    from workshop.errors import MissingCapability

    path = c_compiler()
    if path is None:
        raise MissingCapability(_COMPILER_HELP)
    return path


def c_compiler_reason() -> str | None:
    """Why C programs cannot be built here (no compiler, and how to get one), or None."""
    return None if c_compiler() is not None else _COMPILER_HELP


def openmp_available() -> bool:
    """True when the compiled Cython kernels were built with OpenMP (their prange runs threaded)."""
    try:
        module = importlib.import_module("workshop.kernels.mandelbrot_cy")
    except ImportError:
        return False
    return bool(getattr(module, "OPENMP", False))


def _version(module_name: str) -> str | None:
    try:
        return importlib.import_module(module_name).__version__
    except Exception:
        return None


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        try:
            import psutil

            return int(psutil.virtual_memory().total)
        except Exception:
            return None


def _numba_threading() -> tuple[str | None, str | None, int | None]:
    try:
        import numba
    except ImportError:
        return None, None, None
    layer = numba.config.THREADING_LAYER
    try:
        layer = numba.threading_layer()  # only known once a parallel function has run
    except ValueError:
        layer = f"{layer} (not started yet)"
    return numba.__version__, layer, numba.config.NUMBA_NUM_THREADS


def _thread_pools() -> list[dict[str, object]]:
    try:
        import numpy  # noqa: F401  (loads the BLAS that threadpoolctl should see)
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("user_api", "internal_api", "num_threads", "version")
    return [{key: pool.get(key) for key in keys} for pool in threadpool_info()]


@dataclass
class HardwareReport:
    """Everything ``workshop info`` prints and every notebook shows in its first cell."""

    usable_cores: int
    cores_reason: str
    logical_cpus: int
    memory_limit: int | None
    memory_reason: str
    python: str
    numba: str | None
    numba_threading_layer: str | None
    numba_threads: int | None
    c_compiler: str | None
    cython: str | None
    openmp: bool
    mpi4py: str | None
    mpiexec: str | None
    mpi_library: str | None
    ipyparallel: str | None
    small_mode: bool
    thread_pools: list[dict[str, object]] = field(default_factory=list)

    @property
    def can_show_speedup(self) -> bool:
        """A speed-up needs at least two usable cores."""
        return self.usable_cores >= 2

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) rows, in the order a learner reads them."""

        def gib(n: int | None) -> str:
            return "unknown" if n is None else f"{n / 2**30:.1f} GiB"

        missing = "not found"
        pools = ", ".join(
            f"{p['internal_api']} ({p['user_api']}, {p['num_threads']} threads)"
            for p in self.thread_pools
        )
        rows = [
            ("Usable cores", f"{self.usable_cores} ({self.cores_reason})"),
            ("Memory", f"{gib(self.memory_limit)} ({self.memory_reason})"),
            ("Python", self.python),
            (
                "Numba",
                f"{self.numba}, threading layer {self.numba_threading_layer}, "
                f"{self.numba_threads} threads"
                if self.numba
                else missing,
            ),
            ("C compiler", self.c_compiler or f"{missing}: {_COMPILER_HELP}"),
            (
                "Cython",
                f"{self.cython}, kernels built {'with' if self.openmp else 'without'} OpenMP"
                if self.cython
                else missing,
            ),
            ("MPI", self._mpi_line()),
            ("ipyparallel", self.ipyparallel or missing),
            ("BLAS/OpenMP pools", pools or "none loaded"),
            ("Small mode", "on (WORKSHOP_SMALL)" if self.small_mode else "off"),
        ]
        if not self.can_show_speedup:
            rows.append(
                (
                    "Note",
                    "one usable core cannot show a parallel speed-up: the timings still run, "
                    "but workers take turns on the same core",
                )
            )
        return rows

    def _mpi_line(self) -> str:
        if self.mpi4py and self.mpiexec and self.mpi_library:
            return f"{self.mpi_library} (mpi4py {self.mpi4py}), mpiexec {self.mpiexec}"
        from workshop.mpi import INSTALL_HINT

        found = f"mpi4py {self.mpi4py or 'not found'}, mpiexec {self.mpiexec or 'not found'}"
        return f"{found}, MPI library {self.mpi_library or 'not loadable'}: {INSTALL_HINT}"

    def __str__(self) -> str:
        width = max(len(label) for label, _ in self.lines())
        return "\n".join(f"{label:<{width}}  {value}" for label, value in self.lines())

    def _repr_markdown_(self) -> str:
        rows = "\n".join(f"| {label} | {value} |" for label, value in self.lines())
        return f"**This machine, as the workshop sees it**\n\n| | |\n|---|---|\n{rows}\n"


def report() -> HardwareReport:
    """Detect the machine's resources now (cheap; nothing is cached but the imports)."""
    cores = detect_cores()
    limit = cgroup_memory_limit()
    physical = _physical_memory()
    if limit is not None and (physical is None or limit < physical):
        memory, memory_reason = limit, "cgroup limit"
    else:
        memory, memory_reason = physical, "physical memory"
    numba_version, layer, numba_threads = _numba_threading()
    from workshop import mpi

    mpi4py_version = _version("mpi4py")
    return HardwareReport(
        usable_cores=cores.count,
        cores_reason=cores.reason,
        logical_cpus=os.cpu_count() or 1,
        memory_limit=memory,
        memory_reason=memory_reason,
        python=sys.version.split()[0],
        numba=numba_version,
        numba_threading_layer=layer,
        numba_threads=numba_threads,
        c_compiler=c_compiler(),
        cython=_version("Cython"),
        openmp=openmp_available(),
        mpi4py=mpi4py_version,
        mpiexec=mpi.mpiexec(),
        mpi_library=mpi.library_version() if mpi4py_version else None,
        ipyparallel=_version("ipyparallel"),
        small_mode=small_mode(),
        thread_pools=_thread_pools(),
    )

"""A thin layer over ``ipyparallel.Cluster``: start the engines once, then use views over k of them.

ipyparallel does the launching (``engines="local"``, ``"mpi"``, ``"slurm"``, ``"pbs"``, ...);
this module adds what a workshop needs around it: the number of engines defaults to
``usable_cores()`` (not ``cpu_count()``, which is wrong in containers), the controller listens on
loopback only, ``view(k)`` selects the first k engines so changing the worker count restarts
nothing, engine start-up and results are waited for with timeouts and clear errors instead of
hangs, a dead engine is noticed within a fraction of a second, and every process is stopped and
reaped at the end: at exit, when an IPython kernel is asked to shut down, and, through a guard
process (``workshop.cluster_guard``), when this process is killed.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import logging
import os
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any

from workshop.cluster_guard import start_guard, stop_guard
from workshop.kernel_shutdown import on_kernel_shutdown

__all__ = ["EngineCluster", "engine_launchers", "shared_cluster"]

LOOPBACK = "127.0.0.1"
#: Engines run one task each; their BLAS/OpenMP pools must not compete for the same cores.
ENGINE_ENVIRONMENT = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}
_POLL = 0.05  # seconds between checks while waiting for engines or results
_STOP_GRACE = 10.0  # seconds a stopped process may take before it is killed
_engine_limits: Any = None  # set on each engine by _engine_setup, keeps its thread limits alive


def engine_launchers() -> list[str]:
    """The engine launcher names ipyparallel knows here (its ``engine_launchers`` entry points)."""
    from importlib.metadata import entry_points

    return sorted({ep.name for ep in entry_points(group="ipyparallel.engine_launchers")})


def _check_engines(engines: str) -> str:
    if not isinstance(engines, str):
        raise ValueError(f"engines must be a launcher name, not {engines!r}")
    if "." in engines or ":" in engines:
        return engines  # an importable launcher class, for experts: ipyparallel checks it
    choices = engine_launchers()
    if engines.lower() not in choices:
        raise ValueError(
            f"unknown engine launcher {engines!r}; ipyparallel offers: {', '.join(choices)}"
        )
    return engines.lower()


def _quiet_log() -> logging.Logger:
    log = logging.getLogger("workshop.cluster.ipyparallel")
    log.setLevel(logging.ERROR)
    return log


def _engine_setup() -> tuple[str, int]:
    """Runs once on each engine: one BLAS/OpenMP thread, NumPy imported; returns (host, pid)."""
    global _engine_limits
    import numpy  # noqa: F401  (load the BLAS before limiting it)
    from threadpoolctl import threadpool_limits

    _engine_limits = threadpool_limits(limits=1)
    return socket.gethostname(), os.getpid()


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _last_output(launcher: Any, lines: int = 15) -> str:
    """The end of what a launched process printed (ipyparallel keeps it in a log file)."""
    try:
        text = launcher.get_output()
    except Exception:
        try:
            text = Path(launcher.output_file).read_text(errors="replace")
        except (AttributeError, OSError):
            text = ""
    return "\n".join(text.strip().splitlines()[-lines:]) or "(none)"


def _still_running(processes: Iterable[Any]) -> list[Any]:
    """The psutil processes of ``processes`` that have not exited (a zombie has exited)."""
    import psutil

    running = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
    return running


def _wait_exit(processes: list[Any], timeout: float) -> list[Any]:
    """Wait at most ``timeout`` seconds for ``processes`` to exit; return those still running."""
    deadline = time.monotonic() + timeout
    processes = _still_running(processes)
    while processes and time.monotonic() < deadline:
        time.sleep(_POLL)
        processes = _still_running(processes)
    return processes


def _reap(pids: Iterable[int], grace: float = _STOP_GRACE) -> None:
    """Wait for ``pids`` to exit; terminate, then kill, any that do not.

    Exited is enough: the engines' nanny processes end as zombies of init, which reaps them in
    its own time (``psutil.wait_procs`` would wait for that).
    """
    import psutil

    processes = []
    for pid in set(pids):
        with contextlib.suppress(psutil.NoSuchProcess):
            processes.append(psutil.Process(pid))
    alive = _wait_exit(processes, min(2.0, grace))
    for action in ("terminate", "kill"):
        for process in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                getattr(process, action)()
        alive = _wait_exit(alive, grace / 2)


class _LoopThread:
    """An asyncio loop in a daemon thread, where ipyparallel's launchers run and get callbacks."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._main, name="workshop-cluster", daemon=True)
        self._thread.start()
        self._ready.wait()

    def _main(self) -> None:
        loop = self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            loop.close()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:  # not the builtin TimeoutError before 3.11
            future.cancel()
            raise

    def close(self) -> None:
        if self.loop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)


class EngineCluster:
    """``n`` ipyparallel engines (default: ``usable_cores()``) and a client, started once.

    Use as a context manager, or ``start()`` / ``stop()``. ``engines`` names an ipyparallel
    launcher (``"local"``, ``"mpi"``, ``"slurm"``, ``"pbs"``, ...). The controller listens on
    127.0.0.1 only; engines on other hosts need ``cluster_kwargs={"controller_ip": "*"}``.
    ``cluster_kwargs`` go to ``ipyparallel.Cluster`` unchanged (they win over our defaults).
    """

    def __init__(
        self,
        n: int | None = None,
        *,
        engines: str = "local",
        start_timeout: float = 60.0,
        task_timeout: float = 120.0,
        cluster_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if n is None:
            from workshop.hardware import usable_cores

            n = usable_cores()
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n (the number of engines) must be a whole number >= 1, not {n!r}")
        for name, value in (("start_timeout", start_timeout), ("task_timeout", task_timeout)):
            if not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        self.n = n
        self.engines = _check_engines(engines)
        self.start_timeout = float(start_timeout)
        self.task_timeout = float(task_timeout)
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.cluster: Any = None  # ipyparallel.Cluster
        self.client: Any = None  # ipyparallel.Client
        self._loop: _LoopThread | None = None
        self._engine_ids: list[int] = []
        self._engine_hosts: dict[int, tuple[str, int]] = {}
        self._launched: dict[str, Any] = {}  # every local engine launcher of the current set
        self._lock = threading.RLock()
        self._guard: subprocess.Popen | None = None  # stops the cluster if this process dies
        self.start_seconds: float | None = None  # how long the last successful start() took

    # --- life cycle ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between a successful ``start()`` and ``stop()``."""
        return self.client is not None

    @property
    def engine_ids(self) -> list[int]:
        """ipyparallel ids of this cluster's engines, in the order ``view(k)`` takes them."""
        return list(self._engine_ids)

    @property
    def engine_pids(self) -> dict[int, int]:
        """Process id of each engine, by engine id (for engines on this host)."""
        here = socket.gethostname()
        return {eid: pid for eid, (host, pid) in self._engine_hosts.items() if host == here}

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"EngineCluster(n={self.n}, engines={self.engines!r}, {state})"

    def __enter__(self) -> EngineCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _ipp_cluster(self) -> Any:
        import ipyparallel as ipp
        from traitlets.config import Config

        config = Config()
        config.ControllerLauncher.connection_info_timeout = self.start_timeout
        config.EngineLauncher.environment = dict(ENGINE_ENVIRONMENT)
        if self.engines not in ("local", "mpi"):
            # Batch launchers (Slurm, PBS) write their job script into the working folder, the
            # learner's notebook folder: keep it in a folder of its own instead.
            batch_folder = Path(tempfile.mkdtemp(prefix="workshop-batch-"))
            config.BatchSystemLauncher.batch_file_name = str(batch_folder / "engines.sbatch")
        extra = dict(self.cluster_kwargs)
        if "config" in extra:
            config.merge(extra.pop("config"))
        kwargs: dict[str, Any] = {
            "n": self.n,
            "engines": self.engines,
            "controller_ip": LOOPBACK,
            "delay": 0.0,  # engines wait for the controller's connection info anyway
            # Engines stopped with SIGTERM exit with status 1, which ipyparallel logs as a
            # warning with their whole output: expected here, and our errors carry the output.
            "log": _quiet_log(),
            # Our exit handler stops and reaps everything. ipyparallel's own handler would run
            # first for every cluster but the first (it registers again at each start).
            "shutdown_atexit": False,
        }
        kwargs.update(extra)
        return ipp.Cluster(config=config, **kwargs)

    def start(self) -> EngineCluster:
        """Start the controller and the engines and wait for all of them (``start_timeout``).

        On failure everything started is stopped again and a RuntimeError says what happened.
        """
        with self._lock:
            if self.running:
                return self
            started = time.monotonic()
            deadline = started + self.start_timeout
            self._loop = _LoopThread()
            try:
                self.cluster = self._ipp_cluster()
                if self.cluster.cluster_file:  # where ipyparallel records every process started
                    self._guard = start_guard(self.cluster.cluster_file)
                self._loop.run(self.cluster.start_cluster(), timeout=self.start_timeout + 30)
                self.client = self._loop.run(self.cluster.connect_client(), timeout=30)
                ids = self._wait_for_engines(set(), deadline)
                self._setup_engines(ids, deadline)
            except BaseException as exc:
                self._teardown()
                if isinstance(exc, RuntimeError | KeyboardInterrupt | SystemExit):
                    raise
                late = time.monotonic() > deadline
                within = f" within {self.start_timeout:g} s (start_timeout)" if late else ""
                raise RuntimeError(
                    f"the engine cluster did not start{within}: {exc!r}; "
                    "everything started was stopped"
                ) from exc
            self.start_seconds = time.monotonic() - started
            _track(self)
            return self

    def stop(self) -> None:
        """Stop the client, the engines and the controller, and reap every process."""
        with self._lock:
            self._teardown()

    def _pids(self) -> set[int]:
        """Every local process this cluster started, with their children."""
        import psutil

        pids: set[int] = set()
        if self.cluster is not None:
            controller = self.cluster.controller
            if controller is not None and getattr(controller, "pid", -1) > 0:
                pids.add(controller.pid)
            for engine_set in self.cluster.engines.values():
                for launcher in getattr(engine_set, "launchers", {}).values():
                    if getattr(launcher, "pid", -1) > 0:
                        pids.add(launcher.pid)
        pids.update(launcher.pid for launcher in self._launched.values() if launcher.pid > 0)
        pids.update(self.engine_pids.values())
        for pid in list(pids):
            with contextlib.suppress(psutil.NoSuchProcess):
                pids.update(child.pid for child in psutil.Process(pid).children(recursive=True))
        pids.discard(os.getpid())
        return pids

    def _teardown(self) -> None:
        pids = self._pids()
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close(linger=0)
        if self.cluster is not None and self._loop is not None:
            # Engines first, while the controller still listens: each engine's nanny process
            # reports the engine's exit to it and quits at once instead of retrying for seconds.
            for stop in (self.cluster.stop_engines, self.cluster.stop_controller):
                with contextlib.suppress(Exception):  # whatever is left is killed below
                    self._loop.run(stop(), timeout=_STOP_GRACE + 20)
        _reap(pids)
        if self.cluster is not None:
            _forget_processes(self.cluster)
        if self._loop is not None:
            self._loop.close()
        if self._guard is not None:
            stop_guard(self._guard)
        self.client = self.cluster = self._loop = self._guard = None
        self._engine_ids, self._engine_hosts, self._launched = [], {}, {}

    # --- engines ------------------------------------------------------------------------

    def _note_launchers(self) -> None:
        for engine_set in self.cluster.engines.values():
            for key, launcher in getattr(engine_set, "launchers", {}).items():
                self._launched.setdefault(f"{id(engine_set)}-{key}", launcher)

    def _launch_failure(self) -> str | None:
        """A message if the controller or a local engine process has exited, else None."""
        controller = self.cluster.controller
        pid = getattr(controller, "pid", -1)
        if pid > 0 and not _alive(pid):
            output = _last_output(controller)
            return f"the ipyparallel controller (pid {pid}) exited; its last output:\n{output}"
        self._note_launchers()
        dead = [launcher for launcher in self._launched.values() if not _alive(launcher.pid)]
        if not dead:
            return None
        launcher = dead[0]
        code = (getattr(launcher, "stop_data", None) or {}).get("exit_code", "unknown")
        return (
            f"an engine process exited during start-up (pid {launcher.pid}, exit status {code}, "
            f"command {' '.join(launcher.args)!r}); its last output:\n{_last_output(launcher)}"
        )

    def _wait_for_engines(self, known: set[int], deadline: float) -> list[int]:
        """Wait until ``n`` engines not in ``known`` have registered; return their ids."""
        while True:
            new = sorted(set(self.client.ids) - known)
            if len(new) >= self.n:
                return new[: self.n]
            failure = self._launch_failure()
            if failure is not None:
                raise RuntimeError(f"the engine cluster did not start: {failure}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"only {len(new)} of {self.n} engines registered within "
                    f"{self.start_timeout:g} s (start_timeout); the machine may be overloaded, "
                    "or the engines cannot reach the controller. Everything started was stopped."
                )
            time.sleep(_POLL)

    def _setup_engines(self, ids: list[int], deadline: float) -> None:
        results = [self.client[eid].apply_async(_engine_setup) for eid in ids]
        timeout = max(1.0, deadline - time.monotonic())
        hosts = self.gather(results, targets=ids, timeout=timeout)
        self._engine_ids = list(ids)
        self._engine_hosts = dict(zip(ids, hosts, strict=True))

    def restart_engines(self) -> None:
        """Stop all engines and start ``n`` fresh ones (e.g. after one was killed)."""
        with self._lock:
            if not self.running:
                self.start()
                return
            known = set(self.client.ids) | set(self._engine_ids)
            deadline = time.monotonic() + self.start_timeout
            try:
                self._launched = {}
                self._engine_ids, self._engine_hosts = [], {}
                self._loop.run(self.cluster.restart_engines(), timeout=self.start_timeout + 30)
                ids = self._wait_for_engines(known, deadline)
                self._setup_engines(ids, deadline)
            except BaseException as exc:
                self._teardown()
                if isinstance(exc, RuntimeError | KeyboardInterrupt | SystemExit):
                    raise
                raise RuntimeError(f"restarting the engines failed: {exc!r}") from exc

    def view(self, workers: int, *, balanced: bool = False) -> Any:
        """A DirectView (or LoadBalancedView) over the first ``workers`` engines."""
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= self.n:
            raise ValueError(
                f"workers must be in [1, {self.n}] (this cluster has {self.n} engines), "
                f"not {workers!r}"
            )
        if not self.running:
            self.start()
        targets = self._engine_ids[:workers]
        if balanced:
            return self.client.load_balanced_view(targets)
        return self.client.direct_view(targets)

    # --- results ------------------------------------------------------------------------

    def _dead_engines(self, targets: Sequence[int]) -> list[str]:
        here = socket.gethostname()
        dead = []
        for eid in targets:
            if eid in self._engine_hosts:
                host, pid = self._engine_hosts[eid]
                if host == here and not _alive(pid):
                    dead.append(f"engine {eid} (pid {pid})")
        if not self._engine_hosts and self._launched:  # still starting: ids not mapped yet
            dead += [f"engine pid {el.pid}" for el in self._launched.values() if not _alive(el.pid)]
        return dead

    def gather(
        self,
        results: Sequence[Any],
        *,
        targets: Sequence[int] | None = None,
        timeout: float | None = None,
    ) -> list[Any]:
        """The values of ipyparallel ``AsyncResult``s, waiting at most ``timeout`` seconds.

        Raises RuntimeError as soon as one of ``targets`` (default: all engines) has died and
        TimeoutError after ``timeout`` (default ``task_timeout``): never waits forever.
        """
        from ipyparallel.error import EngineError

        timeout = self.task_timeout if timeout is None else timeout
        targets = self._engine_ids if targets is None else list(targets)
        deadline = time.monotonic() + timeout
        pending = list(results)
        while pending:
            pending[0].wait(_POLL)
            pending = [result for result in pending if not result.ready()]
            if not pending:
                break
            dead = self._dead_engines(targets)
            if dead:
                raise RuntimeError(
                    f"{', '.join(dead)} died while computing, so its results will never come; "
                    "call restart_engines() on the cluster (shared_cluster().restart_engines()) "
                    "to start fresh engines"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(pending)} of {len(results)} engine tasks did not finish within "
                    f"{timeout:g} s (task_timeout); the engines may be stuck or overloaded: "
                    "restart_engines() starts fresh ones"
                )
        try:
            return [result.get() for result in results]
        except EngineError as exc:
            raise RuntimeError(
                f"an engine died while computing ({exc}); call restart_engines() to start "
                "fresh engines"
            ) from exc


def _forget_processes(cluster: Any) -> None:
    """Make ipyparallel's ``Cluster`` forget processes that ``_reap`` has already stopped.

    ipyparallel has no public call for this: left as they are, its own exit handler and
    ``__del__`` would try to stop the same (gone) controller and engines again, logging errors
    at interpreter exit, and its cluster file would stay behind. These are the only places this
    module writes ipyparallel's attributes; check them when upgrading ipyparallel.
    """
    with contextlib.suppress(Exception):
        cluster.shutdown_atexit = False
        cluster.controller = None
        cluster.engines = {}
        cluster.remove_cluster_file()


# --- one cluster per process, and cleanup at exit ------------------------------------------

_running: weakref.WeakSet[EngineCluster] = weakref.WeakSet()
_atexit_registered = False
_shared: EngineCluster | None = None
_shared_lock = threading.Lock()


def _stop_all() -> None:
    for cluster in list(_running):
        with contextlib.suppress(Exception):
            cluster.stop()


def _track(cluster: EngineCluster) -> None:
    """Stop ``cluster`` at exit, or as soon as the IPython kernel running it is asked to stop."""
    global _atexit_registered
    _running.add(cluster)
    if not _atexit_registered:
        atexit.register(_stop_all)
        _atexit_registered = True
    on_kernel_shutdown(_stop_all)


def shared_cluster(n: int | None = None, *, engines: str | None = None) -> EngineCluster:
    """The process-wide cluster the ``engines`` implementations use, started on first use.

    ``n`` defaults to ``usable_cores()`` and ``engines`` (the launcher) to ``"local"``; asking
    for a different ``n`` or launcher than the running cluster has restarts it so. Unit 09 starts
    it with ``engines="slurm"``, and the lab then measures engines running as a Slurm job. It is
    stopped when the interpreter exits.
    """
    global _shared
    with _shared_lock:
        other_n = n is not None and _shared is not None and n != _shared.n
        other_launcher = engines is not None and _shared is not None and engines != _shared.engines
        if _shared is not None and (other_n or other_launcher):
            _shared.stop()
            _shared = None
        if _shared is None:
            _shared = EngineCluster(n, engines=engines or "local")
        if not _shared.running:
            _shared.start()
        return _shared

"""The one door to the shared ipyparallel engines, for kernels, the lab and the bench.

Kernels send work with ``run_static`` or ``run_balanced``; the lab and ``workshop bench`` start
and restart the engines with ``start`` and ``restart``. Nothing user-facing reaches
``workshop.cluster`` itself, so a different kind of engine (MPI ranks, a Slurm allocation) is
one change here. The functions sent must be module-level functions of ``workshop.kernels``: the
engines share this virtual environment and import them by name. Results are collected through
``EngineCluster.gather``, which turns a dead engine or a timeout into a clear error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "mpi_engines",
    "restart",
    "round_trip",
    "run_balanced",
    "run_static",
    "start",
    "unavailable_reason",
]


def unavailable_reason() -> str | None:
    """Why engines cannot be used here, or None."""
    try:
        import ipyparallel  # noqa: F401
    except ImportError:
        return "ipyparallel is not installed: `pip install ipyparallel`"
    return None


def _cluster() -> Any:
    from workshop.cluster import shared_cluster

    return shared_cluster()


def mpi_engines() -> Any:
    """The shared MPI engines (``ipp.Cluster(engines="mpi")``), started on first use: the
    ranks of the ``mpi`` implementations (``workshop.kernels.mpi_engines.MPIEngines``)."""
    from workshop.kernels.mpi_engines import shared_mpi_engines

    return shared_mpi_engines()


def start(backend: str = "engines") -> float:
    """Start the shared engines of ``backend`` ("engines" or "mpi") if they are not running;
    seconds their start took."""
    if backend == "mpi":
        return mpi_engines().cluster.start_seconds
    return _cluster().start_seconds


def restart(backend: str = "engines") -> int:
    """Replace every shared engine of ``backend`` by a fresh one (after one died or hangs);
    the engine count."""
    if backend == "mpi":
        ranks = mpi_engines()
        ranks.stop()
        return ranks.start().n
    cluster = _cluster()
    cluster.restart_engines()
    return cluster.n


def run_static(func: Callable[..., Any], tasks: Sequence[tuple], workers: int) -> list[Any]:
    """Task ``k`` runs on engine ``k % workers``: a fixed, contiguous share per engine."""
    cluster = _cluster()
    targets = cluster.view(workers).targets
    results = [
        cluster.client[targets[k % workers]].apply_async(func, *args)
        for k, args in enumerate(tasks)
    ]
    return cluster.gather(results, targets=targets)


def run_balanced(func: Callable[..., Any], tasks: Sequence[tuple], workers: int) -> list[Any]:
    """Tasks go to whichever of the first ``workers`` engines is free (LoadBalancedView)."""
    cluster = _cluster()
    view = cluster.view(workers, balanced=True)
    results = [view.apply_async(func, *args) for args in tasks]
    return cluster.gather(results, targets=list(view.targets))


def nothing() -> None:
    """An empty task: sending it to an engine and back costs the messaging and nothing else."""


def round_trip(workers: int, *, repeat: int = 20) -> float:
    """Median seconds to send one empty task to each of the first ``workers`` engines and
    collect the replies, as ``run_static`` does: the messaging every engine call pays on top
    of its work (client, controller, engine and back, through ZeroMQ)."""
    import statistics
    import time

    run_static(nothing, [()] * workers, workers)  # the first call sets up the views
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        run_static(nothing, [()] * workers, workers)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)

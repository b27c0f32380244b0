"""MPI programs on ipyparallel MPI engines (``ipp.Cluster(engines="mpi")``), started once.

Every engine is one rank of one ``COMM_WORLD``. At start-up each splits it into the
communicators of its first ``k`` ranks (``Comm.Split``), so a run on ``k`` workers uses ranks
``0 .. k-1`` and changing the worker count restarts nothing. Engine ids are ipyparallel's
numbering and are not MPI ranks: the map between them is asked of the engines.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = ["MPIEngines", "mpi_cluster", "shared_mpi_engines"]


class MPIEngines:
    """``n`` MPI engines (default: at least 2, at least the usable cores) and their rank map."""

    def __init__(self, n: int | None = None, **kwargs: Any) -> None:
        from workshop.hardware import usable_cores

        self.n = max(2, usable_cores()) if n is None else n
        self._kwargs = kwargs
        self.cluster: Any = None  # workshop.cluster.EngineCluster
        self.engine_of_rank: dict[int, int] = {}

    @property
    def running(self) -> bool:
        return self.cluster is not None and self.cluster.running

    def start(self) -> MPIEngines:
        """Start the engines under ``mpiexec`` and split their communicators (about 10 s)."""
        from workshop.kernels import heat_mpi

        if self.running:
            return self
        self.cluster = mpi_cluster(self.n, **self._kwargs).start()
        try:
            ids = self.cluster.engine_ids
            results = [self.cluster.client[eid].apply_async(heat_mpi.engine_setup) for eid in ids]
            ranks = self.cluster.gather(results, targets=ids)
            self.engine_of_rank = {rank: eid for eid, rank in zip(ids, ranks, strict=True)}
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the engines and their ``mpiexec``; nothing is left running."""
        if self.cluster is not None:
            self.cluster.stop()
        self.cluster = None
        self.engine_of_rank = {}

    def __enter__(self) -> MPIEngines:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def check_workers(self, workers: int) -> int:
        if isinstance(workers, bool) or int(workers) != workers or not 1 <= workers <= self.n:
            raise ValueError(
                f"workers must be in [1, {self.n}]: there are {self.n} MPI engines, not {workers!r}"
            )
        return int(workers)

    def run(self, func: Any, *args: Any, workers: int | None = None) -> list[Any]:
        """``func(comm, *args)`` on ranks ``0 .. workers-1`` (default: all), where ``comm`` is the
        communicator of exactly those ranks; returns the results in rank order.

        ``func`` may be defined in a notebook (ipyparallel sends its code). A rank that raises
        raises here with that rank's error; waiting is bounded by the cluster's task timeout.
        """
        from workshop.kernels import heat_mpi

        workers = self.n if workers is None else self.check_workers(workers)
        self.start()
        targets = [self.engine_of_rank[rank] for rank in range(workers)]
        results = [
            self.cluster.client[eid].apply_async(heat_mpi.on_subcomm, workers, func, *args)
            for eid in targets
        ]
        return self._collect(results, targets)

    def _collect(self, results: list[Any], targets: list[int]) -> list[Any]:
        """Results in rank order. A rank that raises makes every rank abort (its partners would
        wait for it forever): its error is raised here, the engines are stopped, and the next
        call starts fresh ones."""
        import time

        deadline = time.monotonic() + self.cluster.task_timeout
        while not all(r.ready() for r in results) and time.monotonic() < deadline:
            failed = [rank for rank, r in enumerate(results) if r.ready() and not r.successful()]
            if failed:
                rank = failed[0]
                try:
                    results[rank].get()
                except Exception as error:
                    self.stop()
                    raise RuntimeError(
                        f"MPI rank {rank} raised {error}; the other ranks could only wait for "
                        "it, so the MPI engines were stopped (the next call starts new ones)"
                    ) from error
            results[0].wait(0.05)
        return self.cluster.gather(results, targets=targets)

    def heat(
        self, u0: np.ndarray, steps: int, workers: int, dims: tuple[int, int] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """The heat equation on ranks ``0 .. workers-1``; returns ``(grid, measured split)``."""
        from workshop.kernels import heat_mpi

        workers = self.check_workers(workers)
        heat_mpi.decompose(u0.shape[0], workers, dims)  # refuse here, before any rank waits
        self.start()
        targets = [self.engine_of_rank[rank] for rank in range(workers)]
        results = [
            self.cluster.client[eid].apply_async(
                heat_mpi.engine_heat, workers, u0 if rank == 0 else None, steps, dims
            )
            for rank, eid in enumerate(targets)
        ]
        grid, run = self._collect(results, targets)[0]
        return grid, run


def mpi_cluster(n: int = 2, **kwargs: Any) -> Any:
    """An ``EngineCluster`` of ``n`` ipyparallel engines started by this MPI's ``mpiexec``
    (``ipp.Cluster(engines="mpi")``): engine ``i`` is not necessarily MPI rank ``i``."""
    from traitlets.config import Config

    from workshop import mpi
    from workshop.cluster import EngineCluster

    config = Config()
    config.MPILauncher.mpi_cmd = [mpi.require_mpi()]
    cluster_kwargs = dict(kwargs.pop("cluster_kwargs", {}) or {})
    if "config" in cluster_kwargs:
        config.merge(cluster_kwargs.pop("config"))
    cluster_kwargs["config"] = config
    return EngineCluster(n, engines="mpi", cluster_kwargs=cluster_kwargs, **kwargs)


_shared: MPIEngines | None = None
_lock = threading.Lock()


def shared_mpi_engines(n: int | None = None) -> MPIEngines:
    """The process-wide MPI engines the ``mpi`` implementations use, started on first use
    (stopped at exit with every other cluster)."""
    global _shared
    with _lock:
        if _shared is not None and n is not None and n != _shared.n:
            _shared.stop()
            _shared = None
        if _shared is None:
            _shared = MPIEngines(n)
        return _shared.start()

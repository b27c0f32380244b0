"""Process pools for the ``processes`` implementations: one per worker count, started once.

Pools use the ``spawn`` start method, so a worker never inherits a half-initialised thread pool
from its parent and a killed worker makes the pool raise ``BrokenProcessPool`` instead of hanging.
Each worker limits BLAS/OpenMP pools to one thread and loads the compiled kernels as it starts,
so repeated timing calls pay neither process start nor JIT compilation. A broken pool is
discarded and rebuilt on the next call; every pool is shut down when the interpreter exits, or
as soon as the IPython kernel running it is asked to shut down (``workshop.kernel_shutdown``).
As with any ``spawn`` pool, a script (not a notebook) that uses them needs the usual
``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import atexit
import importlib
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from workshop.kernel_shutdown import on_kernel_shutdown

__all__ = ["get_pool", "run_tasks", "shutdown_pools", "warm_in_workers"]

_lock = threading.Lock()
_pools: dict[int, ProcessPoolExecutor] = {}
_warmups: list[str] = []
_limits: Any = None  # keeps the worker's threadpoolctl limits alive


def warm_in_workers(target: str) -> None:
    """Call ``"module:function"`` in every new worker as it starts (e.g. to load a JIT cache)."""
    if target not in _warmups:
        _warmups.append(target)


def _initialize(warmups: Sequence[str]) -> None:
    """Runs once in each worker process."""
    global _limits
    from threadpoolctl import threadpool_limits

    _limits = threadpool_limits(limits=1)
    for target in warmups:
        module, _, name = target.partition(":")
        getattr(importlib.import_module(module), name)()


def get_pool(workers: int) -> ProcessPoolExecutor:
    """The pool of ``workers`` processes, created on first use (``run_tasks`` renews a broken one)."""
    with _lock:
        pool = _pools.get(workers)
        if pool is None:
            pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_initialize,
                initargs=(tuple(_warmups),),
            )
            _pools[workers] = pool
            on_kernel_shutdown(shutdown_pools)
        return pool


def _discard(workers: int, pool: ProcessPoolExecutor) -> None:
    with _lock:
        if _pools.get(workers) is pool:
            del _pools[workers]
    pool.shutdown(wait=False, cancel_futures=True)


def run_tasks(
    workers: int,
    func: Callable[..., Any],
    tasks: Sequence[tuple],
    *,
    timeout: float | None = None,
) -> list[Any]:
    """``[func(*args) for args in tasks]`` computed by the pool of ``workers`` processes.

    ``func`` must be a module-level function (it is pickled by name). A worker that dies
    (killed, out of memory) gives a RuntimeError saying so; the next call gets a fresh pool.
    """
    pool = get_pool(workers)
    try:
        try:
            futures = [pool.submit(func, *args) for args in tasks]
        except BrokenProcessPool:  # it broke between two calls (a worker was killed): renew it
            _discard(workers, pool)
            pool = get_pool(workers)
            futures = [pool.submit(func, *args) for args in tasks]
        return [future.result(timeout=timeout) for future in futures]
    except BrokenProcessPool as exc:
        _discard(workers, pool)
        raise RuntimeError(
            f"a worker of the {workers}-process pool died while computing (killed, or out of "
            "memory?); the pool was discarded and the next call starts a fresh one"
        ) from exc


def shutdown_pools() -> None:
    """Stop every pool and wait for its processes to exit."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_pools)

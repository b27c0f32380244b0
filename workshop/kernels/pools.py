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
import sys
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


def _defined_where_workers_cannot_see(obj: Any) -> str | None:
    """Why a spawned worker could not unpickle ``obj`` (pickled by module and name), or None."""
    target = obj if callable(obj) and hasattr(obj, "__qualname__") else type(obj)
    module = getattr(target, "__module__", None)
    name = getattr(target, "__qualname__", repr(target))
    if "<lambda>" in name or "<locals>" in name:
        return (
            f"{name} is a lambda or is defined inside another function, so worker processes "
            "cannot look it up by name; define it at the top level of a .py module and import it"
        )
    main = sys.modules.get("__main__")
    if module == "__main__" and not str(getattr(main, "__file__", "") or "").endswith(".py"):
        return (
            f"{name} is defined in the notebook (module __main__), which a worker process "
            "started with spawn never sees: it fails with \"Can't get attribute "
            f"'{name}' on <module '__main__'>\". Move it into a .py module next to the "
            f"notebook (e.g. tasks.py) and use `from tasks import {name}`"
        )
    return None


def _check_importable(func: Callable[..., Any], tasks: Sequence[tuple]) -> None:
    """ValueError naming the cause and the fix when workers could not load the work."""
    for obj in (func, *(tasks[0] if tasks else ())):
        problem = _defined_where_workers_cannot_see(obj)
        if problem:
            raise ValueError(f"the process pool cannot run this: {problem}")


def run_tasks(
    workers: int,
    func: Callable[..., Any],
    tasks: Sequence[tuple],
    *,
    timeout: float | None = None,
) -> list[Any]:
    """``[func(*args) for args in tasks]`` computed by the pool of ``workers`` processes.

    ``func`` must be a module-level function of an importable module (it is pickled by name):
    one defined in a notebook or inside a function gives a ValueError saying how to fix it,
    before any worker is bothered. A worker that dies (killed, out of memory) gives a
    RuntimeError saying so; the next call gets a fresh pool.
    """
    _check_importable(func, tasks)
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

"""Running kernel pieces on the shared ipyparallel engines (``engines`` implementations).

The functions sent must be module-level functions of ``workshop.kernels``: the engines share
this virtual environment and import them by name. Results are collected through
``EngineCluster.gather``, which turns a dead engine or a timeout into a clear error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["run_balanced", "run_static", "unavailable_reason"]


def unavailable_reason() -> str | None:
    """Why engines cannot be used here, or None."""
    try:
        import ipyparallel  # noqa: F401
    except ImportError:
        return "ipyparallel is not installed: `pip install ipyparallel`"
    return None


def run_static(func: Callable[..., Any], tasks: Sequence[tuple], workers: int) -> list[Any]:
    """Task ``k`` runs on engine ``k % workers``: a fixed, contiguous share per engine."""
    from workshop.cluster import shared_cluster

    cluster = shared_cluster()
    targets = cluster.view(workers).targets
    results = [
        cluster.client[targets[k % workers]].apply_async(func, *args)
        for k, args in enumerate(tasks)
    ]
    return cluster.gather(results, targets=targets)


def run_balanced(func: Callable[..., Any], tasks: Sequence[tuple], workers: int) -> list[Any]:
    """Tasks go to whichever of the first ``workers`` engines is free (LoadBalancedView)."""
    from workshop.cluster import shared_cluster

    cluster = shared_cluster()
    view = cluster.view(workers, balanced=True)
    results = [view.apply_async(func, *args) for args in tasks]
    return cluster.gather(results, targets=list(view.targets))

"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


class ClusterFactory:
    """Starts ``EngineCluster``s on demand and stops every one it started at teardown."""

    def __init__(self) -> None:
        self.clusters: list[Any] = []

    def __call__(self, n: int = 2, **kwargs: Any) -> Any:
        from workshop.cluster import EngineCluster

        cluster = EngineCluster(n, **kwargs)
        self.clusters.append(cluster)
        return cluster.start()

    def stop_all(self) -> None:
        while self.clusters:
            self.clusters.pop().stop()


@pytest.fixture
def engine_cluster() -> Iterator[ClusterFactory]:
    """``engine_cluster(n=2, **kwargs)`` starts a cluster that is always stopped afterwards."""
    factory = ClusterFactory()
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope="session")
def shared_engines() -> Iterator[Any]:
    """``shared_cluster(2)``, the cluster the ``engines`` kernels use; stopped after the session."""
    from workshop.cluster import shared_cluster

    cluster = shared_cluster(2)
    try:
        yield cluster
    finally:
        cluster.stop()

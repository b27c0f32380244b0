"""Exceptions and warnings that the workshop package raises on purpose."""

from __future__ import annotations

__all__ = ["MissingCapability", "UnstableMeasurementWarning", "WorkshopWarning"]


class WorkshopWarning(UserWarning):
    """Base class of every warning the workshop package emits."""


class UnstableMeasurementWarning(WorkshopWarning):
    """A measurement's spread is so large that its median should not be trusted."""


class MissingCapability(RuntimeError):
    """An optional capability (a C compiler, MPI, OpenMP, more cores) is not available.

    The message says what is missing and how to get it.
    """

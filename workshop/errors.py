"""Exceptions and warnings that the workshop package raises on purpose."""

from __future__ import annotations

__all__ = [
    "MissingCapability",
    "UnstableMeasurementWarning",
    "WorkshopWarning",
    "WrongResult",
    "describe",
]


class WorkshopWarning(UserWarning):
    """Base class of every warning the workshop package emits."""


class UnstableMeasurementWarning(WorkshopWarning):
    """A measurement's spread is so large that its median should not be trusted."""


class MissingCapability(RuntimeError):
    """An optional capability (a C compiler, MPI, OpenMP, more cores) is not available.

    The message says what is missing and how to get it.
    """


class WrongResult(AssertionError):
    """A measured callable's first result failed its check, so its timing means nothing."""


def describe(exc: BaseException) -> str:
    """``"ValueError: what went wrong"``: an exception as one line a learner reads in a status."""
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__

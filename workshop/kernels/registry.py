"""What a problem and an implementation are: the shape every timing, sweep and notebook reads.

A problem owns an input generator over a size axis, a trusted reference, a validator and the name
of its baseline implementation (the one every ratio is taken against); each way of computing it
is one function registered with ``@problem.register(...)``, so the diff between two speed-up
steps is the diff between two short functions. This module knows no problem: the list of
problems lives in ``workshop.kernels``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from workshop.errors import MissingCapability

__all__ = ["BACKENDS", "ENGINE_BACKENDS", "Implementation", "Problem", "check_worker_count"]

#: How an implementation computes; "engines" and "mpi" run on ipyparallel engines (see
#: ``workshop.kernels.engines``), "mpi" on engines that are MPI ranks of one communicator.
BACKENDS = ("python", "numpy", "numba", "cython", "c", "processes", "engines", "mpi")
ENGINE_BACKENDS = ("engines", "mpi")


def choices(names: Iterable[str]) -> str:
    """``'a', 'b', 'c'``: the valid names, for an error message."""
    return ", ".join(repr(name) for name in names)


def check_worker_count(workers: int) -> int:
    """``workers`` as an int >= 1, or ValueError: the rule for one worker count.

    How many workers this machine can run is ``workshop.scaling.check_workers``'s business;
    an implementation itself accepts any count (oversubscribing is a lesson, not an error).
    """
    try:
        count = operator.index(workers)  # ints and NumPy integers, not floats or bools
    except TypeError:
        count = None
    if count is None or isinstance(workers, bool) or count < 1:
        raise ValueError(f"workers must be a whole number >= 1, not workers={workers!r}")
    return count


@dataclass(eq=False)
class Implementation:
    """One way of computing a problem; call it with the problem's inputs (and ``workers``)."""

    name: str
    title: str
    backend: str
    func: Callable[..., Any] = field(repr=False)
    parallel: bool = False
    threaded: bool = False
    requires: Callable[[], str | None] | None = field(default=None, repr=False)
    problem: str = ""

    def unavailable_reason(self) -> str | None:
        """Why this implementation cannot run here (e.g. no C compiler), or None when it can."""
        return None if self.requires is None else self.requires()

    @property
    def available(self) -> bool:
        return self.unavailable_reason() is None

    @property
    def on_engines(self) -> bool:
        """True when it runs on the shared ipyparallel engines (which a learner may restart)."""
        return self.backend in ENGINE_BACKENDS

    def __call__(self, *inputs: Any, workers: int = 1) -> Any:
        workers = check_worker_count(workers)
        reason = self.unavailable_reason()
        if reason is not None:
            raise MissingCapability(f"{self.problem}/{self.name} cannot run here: {reason}")
        if self.parallel:
            return self.func(*inputs, workers=workers)
        return self.func(*inputs)


@dataclass(eq=False)
class Problem:
    """A benchmark problem: inputs over a size axis, a reference, a validator, implementations."""

    name: str
    title: str
    size_label: str
    min_size: int
    max_size: int
    default_size: int
    small_size: int
    make_input_func: Callable[[int], tuple] = field(repr=False)
    reference_func: Callable[..., Any] = field(repr=False)
    validate_func: Callable[..., None] = field(repr=False)
    work_exponent: float = 1.0  # work grows like size ** work_exponent (weak scaling)
    baseline: str = "c"  # the implementation every ratio is taken against
    implementations: dict[str, Implementation] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.min_size <= self.small_size <= self.default_size <= self.max_size:
            raise ValueError(f"{self.name}: sizes must satisfy min <= small <= default <= max")

    def register(
        self,
        name: str,
        title: str,
        backend: str,
        *,
        parallel: bool = False,
        threaded: bool = False,
        requires: Callable[[], str | None] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: register ``func`` as the implementation ``name`` (teaching order = order).

        ``backend`` is one of ``BACKENDS``; a ``parallel`` one is called with ``workers=``
        (threads, processes, engines or MPI ranks); ``requires`` returns why it cannot run here
        (or None), e.g. ``engines.unavailable_reason``.
        """
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r} is not one of {choices(BACKENDS)}")
        if name in self.implementations:
            raise ValueError(f"{self.name} already has an implementation named {name!r}")

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            self.implementations[name] = Implementation(
                name=name,
                title=title,
                backend=backend,
                func=func,
                parallel=parallel,
                threaded=threaded,
                requires=requires,
                problem=self.name,
            )
            return func

        return decorator

    def implementation(self, name: str) -> Implementation:
        """The implementation called ``name``; ValueError listing the choices otherwise."""
        try:
            return self.implementations[name]
        except (KeyError, TypeError):
            raise ValueError(
                f"{self.name} has no implementation {name!r}; "
                f"choose one of {choices(self.implementations)}"
            ) from None

    def check_size(self, size: int) -> int:
        """``size`` as an int in [min_size, max_size]; ValueError naming the range otherwise."""
        valid = f"{self.size_label} must be a whole number in [{self.min_size}, {self.max_size}]"
        try:
            as_int = int(size)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{self.name}: {valid}, not {size!r}") from None
        if isinstance(size, bool) or as_int != size:
            raise ValueError(f"{self.name}: {valid}, not {size!r}")
        if not self.min_size <= as_int <= self.max_size:
            raise ValueError(f"{self.name}: {valid}, not {size!r}")
        return as_int

    def make_input(self, size: int) -> tuple:
        """Positional arguments for every implementation at ``size``."""
        return self.make_input_func(self.check_size(size))

    def reference(self, inputs: tuple) -> Any:
        """The trusted serial answer for ``inputs``."""
        return self.reference_func(*inputs)

    def validate(self, result: Any, inputs: tuple) -> None:
        """Raise AssertionError with a useful message when ``result`` is wrong for ``inputs``."""
        self.validate_func(result, inputs)

    def weak_size(self, base_size: int, workers: int) -> int:
        """The size whose work is ``workers`` times the work at ``base_size`` (weak scaling)."""
        base_size = self.check_size(base_size)
        workers = check_worker_count(workers)
        size = round(base_size * workers ** (1.0 / self.work_exponent))
        if size > self.max_size:
            raise ValueError(
                f"{self.name}: weak scaling from {base_size} to {workers} workers needs "
                f"{self.size_label} = {size}, above the maximum {self.max_size}; "
                f"use a base size <= {int(self.max_size / workers ** (1.0 / self.work_exponent))}"
            )
        return size

    def available_implementations(self) -> dict[str, Implementation]:
        """The implementations that can run here."""
        return {k: v for k, v in self.implementations.items() if v.available}

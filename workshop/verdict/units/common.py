"""Steps the unit checks share: exceptions expected, speed against a pristine reference,
memory under a hard limit, and parallel work seen on the workers."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from workshop.grading import parallel_capacity
from workshop.hardware import usable_cores
from workshop.memory import format_bytes
from workshop.timing import format_seconds
from workshop.verdict.evidence import Work, observe
from workshop.verdict.judge import Trial
from workshop.verdict.runners import Raised, RunnerProcess

MEMORY_SLACK = 24 * 2**20  # what the allocator and a few small buffers may map besides
BUSY_CAPACITY = 1.3  # reference threads below this speed-up: no core is really free


def expect_raises(trial: Trial, kind: str, target: str, *args: Any, **kwargs: Any) -> None:
    """Fail unless ``target(*args, **kwargs)`` raised ``kind`` (or a subclass) in the runner."""
    outcome = trial.runner.call(target, *args, **kwargs)
    shown = ", ".join([*(repr(a) for a in args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    if not isinstance(outcome, Raised):
        raise AssertionError(
            f"{target}({shown}) should raise {kind}, but it returned {outcome.value!r}"
        )
    if not outcome.is_a(kind):
        raise AssertionError(f"{target}({shown}) should raise {kind}, but it raised {outcome}")


def _per_call(runner: RunnerProcess, target: str, key: str, number: int) -> float:
    seconds = runner.repeat(target, key, number)
    if isinstance(seconds, Raised):
        raise AssertionError(f"{target} raised {seconds} while it was timed")
    return seconds / number


def _calibrate(runner: RunnerProcess, target: str, key: str, min_time: float) -> int:
    number = 1
    if min_time <= 0:  # long calls (pools, engines): the observed call already warmed up
        return number
    _per_call(runner, target, key, 1)  # warm-up: JIT compiles, caches fill
    while True:
        per_call = _per_call(runner, target, key, number)
        if per_call * number >= min_time or number >= 1 << 16:
            return number
        number = min(1 << 16, max(2 * number, int(min_time / max(per_call, 1e-7)) + 1))


def speedup(
    fast: tuple[RunnerProcess, str],
    slow: tuple[RunnerProcess, str],
    args: tuple,
    *,
    slow_args: tuple | None = None,
    repeat: int = 5,
    min_time: float = 0.05,
) -> tuple[float, float, float]:
    """(speed-up, fast seconds, slow seconds) of two targets on ``args`` (``slow_args`` for the
    slow one if given), timed by the judge from outside the runners, interleaved so drift
    cancels; medians of ``repeat``."""
    numbers = []
    # One stored key per side: both sides may share a runner (a function on 2 threads against
    # itself on 1), and one key would time both on the slow side's arguments.
    keys = ("timed-fast", "timed-slow")
    for key, (runner, target), arguments in zip(
        keys, (fast, slow), (args, args if slow_args is None else slow_args), strict=True
    ):
        runner.store(key, *arguments)
        numbers.append(_calibrate(runner, target, key, min_time))
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for index, (runner, target) in enumerate((fast, slow)):
            samples[index].append(_per_call(runner, target, keys[index], numbers[index]))
    fast_s, slow_s = statistics.median(samples[0]), statistics.median(samples[1])
    return slow_s / fast_s, fast_s, slow_s


def assert_speedup(
    trial: Trial,
    fast: str,
    slow: str,
    args: tuple,
    min_speedup: float,
    *,
    slow_runner: RunnerProcess | None = None,
    tries: int = 2,
) -> str:
    """Fail unless the learner's ``fast`` beats the pristine ``slow`` by ``min_speedup``."""
    best = None
    for _ in range(tries):
        measured = speedup((trial.runner, fast), (slow_runner or trial.reference, slow), args)
        best = measured if best is None or measured[0] > best[0] else best
        if best[0] >= min_speedup:
            break
    ratio, fast_s, slow_s = best
    measured = (
        f"{fast} took {format_seconds(fast_s)} per call, {slow} {format_seconds(slow_s)}: "
        f"a speed-up of {ratio:.2f}x"
    )
    if ratio < min_speedup:
        raise AssertionError(
            f"{fast} is not fast enough: {measured}, expected at least {min_speedup:g}x"
        )
    return measured


def memory_within(trial: Trial, target: str, args: tuple, budget: int, warm: tuple) -> Any:
    """The value ``target(*args)`` returns when its runner may map at most ``budget`` bytes
    (plus a little slack) more than before the call: a hard limit set by the operating system,
    in a runner used for nothing else. Fails naming the budget when the call needs more."""
    runner = trial.fresh_runner()
    try:
        warmed = runner.call(target, *warm)
        if isinstance(warmed, Raised):
            raise AssertionError(f"{target} raised {warmed}")
        runner.store("memory", *args)
        reply = runner.memory(target, "memory", budget + MEMORY_SLACK)
    finally:
        runner.close()
    if reply.get("over"):
        raise AssertionError(
            f"{target} needed more than {format_bytes(budget)} (plus "
            f"{format_bytes(MEMORY_SLACK)} of slack) beyond what was in use before the call: "
            "something in it is dense"
        )
    if "raised" in reply:
        raise AssertionError(f"{target} raised {reply['raised']}: {reply.get('message', '')}")
    from workshop.verdict import wire

    return wire.decode(reply["value"])


def quiet_cores(workers: int) -> float:
    """How many of ``workers`` cores are free right now (1 on one core or a busy machine)."""
    effective = min(workers, usable_cores())
    if effective < 2:
        return 1.0
    capacity = parallel_capacity(effective)
    return capacity if capacity >= BUSY_CAPACITY else 1.0


def observed(trial: Trial, target: str, *args: Any, runner: RunnerProcess | None = None):
    """(value, Work) of one call of ``target`` in the runner, watched from outside."""
    runner = runner or trial.runner
    outcome, work = observe(runner, lambda: runner.call(target, *args, timeout=300))
    return Trial.returned(outcome, target), work


def require_workers(
    work: Work, count: int, what: str, kind: str = "processes", named: str | None = None
) -> None:
    """Fail unless ``count`` workers each did a real share of the work of the observed call."""
    # A small share suffices: on a loaded machine a work-stealing scheduler hands most of the
    # work to whichever worker gets a core, but serial code leaves the others at nothing at all.
    if kind == "processes":
        busy = work.busy_processes(share=0.1, names=named)
    else:
        busy = work.busy_threads(share=0.02)
    if busy < count:
        raise AssertionError(
            f"{what}: the work was not shared: {busy} of the {count} workers asked for did a "
            f"real share of it ({work.describe()}). Run the pieces in parallel workers."
        )


#: Observations of a call before its work counts as not shared (see ``assert_parallel``).
EVIDENCE_TRIES = 3


def _require_shared_work(
    work: Work,
    workers: int,
    what: str,
    kind: str,
    workers_named: str | None,
    balance: float | None,
) -> None:
    require_workers(work, workers, what, kind, workers_named)
    if kind == "processes" and work.worker_cpu < 0.5 * (work.worker_cpu + work.runner_cpu):
        raise AssertionError(
            f"{what}: most of the work ran in the calling process, not in its workers "
            f"({work.describe()})"
        )
    if balance is not None and work.balance(workers, workers_named) < balance:
        raise AssertionError(
            f"{what}: the workers' shares of the work are uneven ({work.describe()}); the "
            f"least busy did {work.balance(workers, workers_named):.0%} of what the busiest "
            f"did, expected at least {balance:.0%}: hand out smaller pieces as workers free up"
        )


def assert_parallel(
    trial: Trial,
    call: tuple[str, tuple],
    serial: tuple[str, tuple],
    workers: int,
    *,
    kind: str = "processes",
    what: str,
    serial_runner: RunnerProcess | None = None,
    min_speedup: float | None = None,
    workers_named: str | None = None,
    balance: float | None = None,
    verify: Callable[[Any], None] | None = None,
) -> tuple[Any, str]:
    """Parallel points for parallel work only: the call's work must show on ``workers`` worker
    processes (or threads), each with a real share, and most of it off the calling thread,
    whatever the load. Where cores are free right now, it must also beat ``serial`` (run in the
    pristine reference runner) by the bar of ``1 + 0.3 * (free cores - 1)``; on one core or a
    busy machine, at most 1.5x slower. Returns (the call's value, a message); check the value.
    """
    target, args = call
    for attempt in range(1, EVIDENCE_TRIES + 1):
        value, work = observed(trial, target, *args)
        if verify is not None:  # the result first: a fast wrong answer earns nothing
            verify(value)
        try:
            _require_shared_work(work, workers, what, kind, workers_named, balance)
            break
        except AssertionError:
            # A worker's CPU time is read from outside, every few milliseconds; on a busy
            # machine a short-lived worker can end between two reads, or start late and get
            # little. Serial work fails every try; parallel work shows on another.
            if attempt == EVIDENCE_TRIES:
                raise
    message = f"work seen on {workers} workers ({work.describe()})"
    return (
        value,
        f"{message}; {_faster(trial, call, serial, workers, what, serial_runner, min_speedup)}",
    )


def _faster(
    trial: Trial,
    call: tuple[str, tuple],
    serial: tuple[str, tuple],
    workers: int,
    what: str,
    serial_runner: RunnerProcess | None,
    min_speedup: float | None,
) -> str:
    """The speed part of ``assert_parallel``: the bar scales with the cores free right now.

    At the small sizes (``WORKSHOP_SMALL``) a run is too short to show a speed-up, so there the
    evidence of work on every worker decides and the bar is the one-core bar (at most 1.5x slower
    than serial)."""
    from workshop.hardware import small_mode

    target, args = call
    small = small_mode()
    for _ in range(2):
        free = 1.0 if small else quiet_cores(workers)
        gain = 0.3 * (workers - 1) if min_speedup is None else min_speedup - 1
        required = 1 + gain * (free - 1) / (workers - 1) if free > 1 else 1 / 1.5
        ratio, fast_s, slow_s = speedup(
            (trial.runner, target),
            (serial_runner or trial.reference, serial[0]),
            args,
            slow_args=serial[1],
            repeat=3,
            min_time=0,
        )
        after = 1.0 if small else quiet_cores(workers)  # the load may have changed: take the lower
        if after < free:
            free = after
            required = 1 + gain * (free - 1) / (workers - 1) if free > 1 else 1 / 1.5
        if ratio >= required:
            break
    shown = (
        f"{format_seconds(fast_s)} against {format_seconds(slow_s)} serial: {ratio:.2f}x, "
        f"needed {required:.2f}x with {free:.2f} free cores"
    )
    if ratio < required:
        raise AssertionError(f"{what} is parallel but too slow: {shown}")
    return shown


FORBIDDEN = (
    "workshop",
    "mandelbrot",
    "get_problem",
    "importlib",
    "__import__",
    "sys",
    "eval",
    "exec",
)


def assert_own_code(
    trial: Trial, answer: str, what: str, forbidden: tuple[str, ...] = FORBIDDEN
) -> None:
    """Fail if the submitted answer cell reaches for the course's own implementations (the
    workshop package, its kernels, or ways around a plain import), read from the submitted
    source, not from the kernel."""
    import ast
    import re

    source = trial.answer_source(answer)
    code = "\n".join("" if line.lstrip().startswith("%") else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:  # Cython: fall back to the names it uses
        used = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", re.sub(r"#.*", "", code)))
    else:
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                used.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                used.add(node.module.split(".")[0])
    reached = sorted(used & set(forbidden))
    if reached:
        raise AssertionError(
            f"{what} uses {', '.join(reached)}: write the computation yourself rather than "
            "calling the course's own implementations"
        )

"""The lab's status lines: what is being measured, what was, and what it means, in words."""

from __future__ import annotations

from collections.abc import Sequence

from workshop.lab.figure import LAWS
from workshop.lab.jobs import Job
from workshop.scaling import ScalingPoint, ScalingResult
from workshop.timing import format_seconds

__all__ = ["ONE_CORE_NOTE", "point_text", "progress_text", "summary", "workers_text"]

ONE_CORE_NOTE = (
    "One usable core cannot show a speed-up: the workers take turns on the same core. "
    "The measurements still run, and show what parallelism costs (overhead)."
)


def workers_text(count: int) -> str:
    """``"1 worker"``, ``"3 workers"``."""
    return f"{count} worker" if count == 1 else f"{count} workers"


def point_text(point: ScalingPoint) -> str:
    """A point's median time (and a warning when unstable), or why it failed."""
    if not point.ok:
        return f"failed: {point.error}"
    m = point.measurement
    text = format_seconds(point.time)
    if m is not None and not m.stable:
        text += f" (unstable: spread {m.spread:.0%})"
    return text


def progress_text(job: Job, done: int, last: ScalingPoint | None, on_engines: bool) -> str:
    """While ``job`` runs: the last point measured and the one being measured now."""
    text = ""
    if last is not None:
        text = f"{workers_text(last.workers)}: {point_text(last)}. "
    where = " on the engines (the first use starts them)" if on_engines else ""
    if len(job.workers) == 1:
        return f"{text}Measuring {workers_text(job.workers[0])}{where}…"
    return (
        f"{text}Sweep: measuring {workers_text(job.workers[done])} ({done + 1} of "
        f"{len(job.workers)}){where}…"
    )


def summary(result: ScalingResult, measured: Sequence[ScalingPoint]) -> str:
    """After a job: what was measured, the speed-up and efficiency reached, the fitted law."""
    parts = []
    ok = [p for p in measured if p.ok]
    if len(measured) == 1:
        parts.append(f"{workers_text(measured[0].workers)}: {point_text(measured[0])}.")
    elif ok:
        parts.append(f"Measured at {', '.join(str(p.workers) for p in ok)} workers.")
    if len(set(result.workers)) >= 2 and ok and measured[-1].ok:
        index = list(result.workers).index(measured[-1].workers)
        word = "speed-up" if result.mode == "strong" else "scaled speed-up"
        parts.append(
            f"{word.capitalize()} at {workers_text(measured[-1].workers)}: "
            f"{result.speedup[index]:.2f}×, efficiency {result.efficiency[index]:.0%}."
        )
    fraction = result.serial_fraction
    if fraction is not None:
        parts.append(f"{LAWS[result.mode]} fit: serial fraction {fraction:.3f}.")
    failed = [p for p in measured if not p.ok]
    if failed and len(measured) > 1:
        parts.append(
            "Failed: " + "; ".join(f"{workers_text(p.workers)}: {p.error}" for p in failed)
        )
    return " ".join(parts)

"""The lab's status lines: what is being measured, what was, and what it means, in words.

Every figure comes with its uncertainty; points not to be read at face value are named with the
reason (``ScalingResult.notes``); other programs using the CPUs are mentioned (``workshop.load``);
and a law is quoted only when three worker counts allow a fit, the Karp-Flatt metric before.
"""

from __future__ import annotations

from collections.abc import Sequence

from workshop.lab.jobs import Job
from workshop.load import LoadReading
from workshop.scaling import FIT_MIN_COUNTS, ScalingPoint, ScalingResult
from workshop.timing import format_seconds

__all__ = [
    "ONE_CORE_NOTE",
    "karp_flatt_text",
    "load_text",
    "notes_text",
    "point_text",
    "progress_text",
    "summary",
    "workers_text",
]

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
    if m is not None:
        if m.stdev > 0:
            text += f" ± {format_seconds(m.stdev)}"
        if not m.stable:
            text += f" (unstable: spread {m.spread:.0%})"
        load = m.metadata.get("load") or {}
        if load.get("busy"):
            text += f" (other programs used {load.get('other_cores', 0.0):.1f} cores meanwhile)"
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


def karp_flatt_text(result: ScalingResult) -> str | None:
    """Below three worker counts: the Karp-Flatt metric at each count, and what it lumps together."""
    if result.fit is not None or len(set(result.workers)) < 2:
        return None
    values = [
        f"{metric:.3f} ± {error:.3f} at {workers_text(int(w))}"
        for w, metric, error in zip(
            result.workers, result.karp_flatt, result.karp_flatt_error, strict=True
        )
        if w > 1
    ]
    name = "Karp-Flatt metric" if result.mode == "strong" else "Serial fraction (Gustafson)"
    return (
        f"{name} e = {', '.join(values)}: the serial fraction that would explain this speed-up "
        "alone; it lumps together serial work, overhead and load imbalance. A fit of "
        f"{'Amdahl' if result.mode == 'strong' else 'Gustafson'}'s law needs {FIT_MIN_COUNTS} or "
        "more worker counts."
    )


def notes_text(result: ScalingResult) -> str | None:
    """The measured points not to read at face value, and why (failures are listed apart)."""
    notes = [note.text for note in result.notes if note.kind != "failed"]
    return "Doubtful: " + "; ".join(notes) + "." if notes else None


def load_text(reading: LoadReading | None, when: str) -> str | None:
    """A sentence on other programs' CPU use ``when`` (e.g. "before this sweep"), if busy."""
    if reading is None or not reading.busy:
        return None
    return (
        f"Other programs used {reading.other_cores:.1f} of the {reading.usable_cores} usable "
        f"cores {when}: expect slower, noisier timings; close them or wait, then measure again."
    )


def summary(result: ScalingResult, measured: Sequence[ScalingPoint]) -> str:
    """After a job: what was measured, the speed-up and efficiency reached with their spread,
    the fitted law with its uncertainty (or Karp-Flatt), and the points not to trust."""
    parts = []
    ok = [p for p in measured if p.ok]
    if len(measured) == 1:
        parts.append(f"{workers_text(measured[0].workers)}: {point_text(measured[0])}.")
    elif ok:
        parts.append(f"Measured at {', '.join(str(p.workers) for p in ok)} workers.")
    if len(set(result.workers)) >= 2 and ok and measured[-1].ok:
        i = list(result.workers).index(measured[-1].workers)
        word = "speed-up" if result.mode == "strong" else "scaled speed-up"
        parts.append(
            f"{word.capitalize()} at {workers_text(measured[-1].workers)}: "
            f"{result.speedup[i]:.2f}× ± {result.speedup_error[i]:.2f}, efficiency "
            f"{result.efficiency[i]:.0%} ± {result.efficiency_error[i]:.0%}."
        )
    fit = result.fit
    extra = [f"{fit.text()}." if fit else karp_flatt_text(result), notes_text(result)]
    parts += [text for text in extra if text]
    failed = [p for p in measured if not p.ok]
    if failed and len(measured) > 1:
        parts.append(
            "Failed: " + "; ".join(f"{workers_text(p.workers)}: {p.error}" for p in failed)
        )
    return " ".join(parts)

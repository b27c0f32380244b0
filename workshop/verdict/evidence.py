"""What the judge sees of a call in the runner from outside it: wall time and where the CPU went.

A busy machine slows parallel work down but cannot make serial work show up on two threads or
two worker processes at once, and cannot move work done in the runner's own thread onto the
engines. So parallel checks ask for CPU time observed on each worker (thread, process or
engine), read by the operating system (``/proc`` through psutil), which the runner's code can
neither fake nor hide.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from workshop.verdict.runners import RunnerProcess

SAMPLE_SECONDS = 0.005


def _cpu(process: psutil.Process) -> float | None:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


def _thread_cpu(process: psutil.Process) -> dict[int, float]:
    try:
        return {t.id: t.user_time + t.system_time for t in process.threads()}
    except psutil.Error:
        return {}


@dataclass
class Work:
    """CPU seconds spent during one observed call, by the runner's threads and by the processes
    below it (pool workers, engines), and the wall time the judge saw."""

    wall: float = 0.0
    threads: dict[int, float] = field(default_factory=dict)
    processes: dict[int, float] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    alive: list[set[int]] = field(default_factory=list)  # descendants seen at each sample

    @property
    def runner_cpu(self) -> float:
        return sum(self.threads.values())

    @property
    def worker_cpu(self) -> float:
        return sum(self.processes.values())

    def busy_threads(self, share: float = 0.2) -> int:
        """Threads of the runner that each did at least ``share`` of its CPU time."""
        total = self.runner_cpu
        return sum(cpu >= share * total for cpu in self.threads.values()) if total > 0 else 0

    def busy_processes(self, share: float = 0.2, names: str | None = None) -> int:
        """Processes below the runner that each did at least ``share`` of their CPU time."""
        chosen = {
            pid: cpu
            for pid, cpu in self.processes.items()
            if names is None or names in self.names.get(pid, "")
        }
        total = sum(chosen.values())
        return sum(cpu >= share * total for cpu in chosen.values()) if total > 0 else 0

    def balance(self, count: int, names: str | None = None) -> float:
        """Least over most CPU time among the ``count`` busiest processes (1: even work)."""
        chosen = sorted(
            (
                cpu
                for pid, cpu in self.processes.items()
                if names is None or names in self.names.get(pid, "")
            ),
            reverse=True,
        )[:count]
        return chosen[-1] / chosen[0] if len(chosen) == count and chosen[0] > 0 else 0.0

    def most_at_once(self, names: str) -> int:
        """The most processes whose command line contains ``names`` seen alive at one sample."""
        return max(
            (sum(names in self.names.get(pid, "") for pid in sample) for sample in self.alive),
            default=0,
        )

    def describe(self) -> str:
        threads = ", ".join(f"{cpu:.2f}" for cpu in sorted(self.threads.values(), reverse=True)[:4])
        workers = ", ".join(
            f"{cpu:.2f}" for cpu in sorted(self.processes.values(), reverse=True)[:4]
        )
        return (
            f"{self.wall:.2f} s of wall time; CPU seconds in the calling process's busiest "
            f"threads [{threads}], in its worker processes [{workers or 'none'}]"
        )


def observe(runner: RunnerProcess, action: Callable[[], Any]) -> tuple[Any, Work]:
    """Run ``action`` (a request to ``runner``) and record the CPU its process tree spent.

    Worker processes that start and end during the call are sampled every few milliseconds, so
    what they did is counted up to their last sample.
    """
    work = Work()
    before_threads = _thread_cpu(runner.psutil)
    start_cpu: dict[int, float] = {}
    last_cpu: dict[int, float] = {}
    handles: dict[int, psutil.Process] = {}
    for child in runner.descendants():
        cpu = _cpu(child)
        if cpu is not None:
            start_cpu[child.pid] = last_cpu[child.pid] = cpu
            handles[child.pid] = child
    stop = threading.Event()

    def sample() -> None:
        alive = set()
        for child in runner.descendants():
            handles.setdefault(child.pid, child)
            start_cpu.setdefault(child.pid, 0.0)  # born during the call
            # Read the command line at every sample: a child caught between fork and exec still
            # shows its parent's, and would never count as the program it is about to run. An
            # exiting process shows an empty one, which keeps the name it had.
            try:
                command = " ".join(child.cmdline())
            except psutil.Error:
                command = ""
            if command:
                work.names[child.pid] = command
            elif child.pid not in work.names:
                continue
            alive.add(child.pid)
        work.alive.append(alive)
        for pid, child in list(handles.items()):
            cpu = _cpu(child)
            if cpu is not None:
                last_cpu[pid] = cpu

    def monitor() -> None:
        while not stop.wait(SAMPLE_SECONDS):
            sample()

    watcher = threading.Thread(target=monitor, daemon=True)
    watcher.start()
    started = time.perf_counter()
    try:
        outcome = action()
    finally:
        work.wall = time.perf_counter() - started
        stop.set()
        watcher.join()
    sample()
    after_threads = _thread_cpu(runner.psutil)
    work.threads = {tid: cpu - before_threads.get(tid, 0.0) for tid, cpu in after_threads.items()}
    work.processes = {pid: last_cpu.get(pid, 0.0) - start for pid, start in start_cpu.items()}
    return outcome, work

"""The lab's job queue: one worker thread, and the newest measurement request wins.

A request either measures some worker counts (through ``workshop.scaling.sweep``) or restarts
the engines (through ``workshop.kernels.engines``). A new measurement supersedes the ones still
waiting and stops the one running after its current point, so a learner who moves a slider
twice waits for one measurement, not two. ``new_generation`` drops every measurement of the
current curve. The queue times nothing and draws nothing: it reports through a ``Listener``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Literal, Protocol

from workshop import scaling
from workshop.errors import describe
from workshop.kernels import engines
from workshop.scaling import ScalingPoint

__all__ = ["Job", "JobQueue", "Listener"]


@dataclass
class Job:
    """One request: measure ``workers`` with these settings, or restart the engines."""

    kind: Literal["measure", "restart"]
    requested_at: float = field(default_factory=time.perf_counter)
    workers: list[int] = field(default_factory=list)
    implementation: str = ""
    size: int = 0
    mode: str = "strong"
    oversubscribe: bool = False
    generation: int = 0  # set by ``JobQueue.submit``
    cancel: threading.Event = field(default_factory=threading.Event)


class Listener(Protocol):
    """What the queue reports, from its worker thread."""

    def job_started(self, job: Job) -> None: ...

    def job_point(self, job: Job, point: ScalingPoint, done: int) -> bool:
        """Take the ``done``-th measured point of ``job``; False stops the job (stale curve)."""

    def job_finished(self, job: Job, points: list[ScalingPoint]) -> None: ...

    def job_restarted(self, job: Job, engines: int) -> None: ...

    def job_failed(self, job: Job, message: str) -> None: ...


class JobQueue:
    """Runs ``Job``s for one problem on a daemon thread, started on the first ``submit``."""

    def __init__(self, problem: str, listener: Listener, *, repeat: int, min_time: float) -> None:
        self.problem = problem
        self.listener = listener
        self.repeat, self.min_time = repeat, min_time
        self.thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._pending: list[Job] = []
        self._running: Job | None = None
        self._closed = False
        self._generation = 0

    @property
    def busy(self) -> bool:
        with self._cond:
            return bool(self._pending) or self._running is not None

    def current(self, job: Job) -> bool:
        """True while ``job`` belongs to the current curve and the queue is open."""
        with self._cond:
            return job.generation == self._generation and not self._closed

    def submit(self, job: Job) -> None:
        """Queue ``job``; a new measurement supersedes waiting ones and stops a running one."""
        with self._cond:
            if self._closed:
                raise RuntimeError("this speed-up lab was closed; create a new SpeedupLab")
            job.generation = self._generation
            self._pending = [queued for queued in self._pending if queued.kind != job.kind]
            self._pending.append(job)
            self._cancel_running()
            if self.thread is None:
                self.thread = threading.Thread(target=self._serve, name="SpeedupLab", daemon=True)
                self.thread.start()
            self._cond.notify_all()

    def new_generation(self) -> None:
        """Forget every measurement asked so far: drop the waiting ones, stop the running one."""
        with self._cond:
            self._generation += 1
            self._pending = [job for job in self._pending if job.kind != "measure"]
            self._cancel_running()

    def wait(self, timeout: float | None) -> bool:
        """Block until nothing waits or runs; False if still busy after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending or self._running is not None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def close(self, timeout: float) -> None:
        """Stop the thread after the point it is measuring; later ``submit`` calls fail."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            if self._running is not None:
                self._running.cancel.set()
            self._cond.notify_all()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _cancel_running(self) -> None:
        if self._running is not None and self._running.kind == "measure":
            self._running.cancel.set()

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    self._cond.notify_all()
                    return
                job = self._running = self._pending.pop(0)
            try:
                self.listener.job_started(job)
                if job.kind == "restart":
                    self.listener.job_restarted(job, engines.restart(self._backend(job)))
                else:
                    self.listener.job_finished(job, self._measure(job))
            except Exception as exc:  # the thread must survive and the learner must see it
                self.listener.job_failed(job, describe(exc))
            finally:
                with self._cond:
                    self._running = None
                    self._cond.notify_all()

    def _backend(self, job: Job) -> str:
        """The kind of engines ``job``'s implementation runs on ("engines" or "mpi")."""
        from workshop.kernels import get_problem

        if not job.implementation:
            return "engines"
        return get_problem(self.problem).implementation(job.implementation).backend

    def _measure(self, job: Job) -> list[ScalingPoint]:
        done: list[ScalingPoint] = []

        def on_point(point: ScalingPoint) -> None:
            if not self.listener.job_point(job, point, len(done) + 1):
                job.cancel.set()
                return
            done.append(point)

        scaling.sweep(
            self.problem,
            job.implementation,
            job.workers,
            job.size,
            mode=job.mode,
            repeat=self.repeat,
            min_time=self.min_time,
            oversubscribe=job.oversubscribe,
            on_point=on_point,
            cancel=job.cancel,
            warn=False,  # the status line names unstable points; no stray notes in other cells
        )
        return done

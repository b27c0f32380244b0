"""The speed-up lab's three parts on their own: the job queue, the figure, the status texts."""

from __future__ import annotations

import threading

import ipywidgets as widgets
import numpy as np
import pytest

from workshop import scaling
from workshop.lab import jobs as jobs_module
from workshop.lab.figure import ONE_CORE_TITLE, ScalingFigure, plot_lines
from workshop.lab.jobs import Job, JobQueue
from workshop.lab.text import point_text, progress_text, summary, workers_text
from workshop.scaling import ScalingPoint, ScalingResult
from workshop.timing import Measurement

WAIT = 30.0


@pytest.fixture(autouse=True)
def _headless(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")


def _point(workers: int, seconds: float) -> ScalingPoint:
    return ScalingPoint(workers, 1000, Measurement("t", [seconds] * 3, 1, seconds))


def _result(mode: str = "strong", times: dict[int, float] | None = None) -> ScalingResult:
    times = {1: 1.0, 2: 0.55, 4: 0.3} if times is None else times
    points = [_point(w, t) for w, t in times.items()]
    return ScalingResult("pi", "numba-parallel", mode, points, usable_cores=4)


# --- the job queue -----------------------------------------------------------------------------


class Recorder:
    """A listener that writes down what the queue reports."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def job_started(self, job):
        self.events.append(("started", job.workers))

    def job_point(self, job, point, done):
        self.events.append(("point", point.workers, done))
        return True

    def job_finished(self, job, points):
        self.events.append(("finished", [p.workers for p in points]))

    def job_restarted(self, job, engines):
        self.events.append(("restarted", engines))

    def job_failed(self, job, message):
        self.events.append(("failed", message))


@pytest.fixture
def fake_sweep(monkeypatch):
    """``scaling.sweep`` replaced: each call waits for ``gate``, then reports one point per count."""
    gate = threading.Event()
    calls: list[list[int]] = []

    def sweep(problem, implementation, workers, size, *, on_point, cancel, **options):
        calls.append(list(workers))
        gate.wait(WAIT)
        for count in workers:
            if cancel.is_set():
                break
            on_point(_point(count, 1.0 / count))

    monkeypatch.setattr(scaling, "sweep", sweep)
    return gate, calls


def _queue(listener) -> JobQueue:
    return JobQueue("pi", listener, repeat=1, min_time=0.0)


def test_the_newest_request_wins(fake_sweep):
    gate, calls = fake_sweep
    recorder = Recorder()
    queue = _queue(recorder)
    try:
        queue.submit(Job("measure", workers=[1]))  # starts running, waits at the gate
        while not calls:
            threading.Event().wait(0.01)
        queue.submit(Job("measure", workers=[2]))  # superseded by the next one
        queue.submit(Job("measure", workers=[3, 4]))
        assert queue.busy
        gate.set()
        assert queue.wait(WAIT)
    finally:
        queue.close(WAIT)
    assert calls == [[1], [3, 4]]  # the running one was stopped, [2] never ran
    assert ("point", 3, 1) in recorder.events and ("point", 4, 2) in recorder.events
    assert recorder.events[-1] == ("finished", [3, 4])
    assert not queue.thread.is_alive()


def test_a_new_generation_drops_the_waiting_measurements(fake_sweep):
    gate, calls = fake_sweep
    queue = _queue(Recorder())
    try:
        queue.submit(Job("measure", workers=[1]))
        while not calls:
            threading.Event().wait(0.01)
        old = Job("measure", workers=[2])
        queue.submit(old)
        queue.new_generation()
        assert not queue.current(old)
        gate.set()
        assert queue.wait(WAIT)
    finally:
        queue.close(WAIT)
    assert calls == [[1]]


def test_restart_goes_through_the_engines_door_and_errors_are_reported(monkeypatch):
    recorder = Recorder()
    # The door restarts the kind of engines asked for ("engines" unless the job runs on MPI).
    monkeypatch.setattr(jobs_module.engines, "restart", lambda backend="engines": 3)
    queue = _queue(recorder)
    try:
        queue.submit(Job("restart"))
        assert queue.wait(WAIT)

        def broken(*args, **kwargs):
            raise RuntimeError("the sweep itself failed")

        monkeypatch.setattr(scaling, "sweep", broken)
        queue.submit(Job("measure", workers=[1]))
        assert queue.wait(WAIT)
    finally:
        queue.close(WAIT)
    assert ("restarted", 3) in recorder.events
    assert recorder.events[-1] == ("failed", "RuntimeError: the sweep itself failed")
    with pytest.raises(RuntimeError, match="closed"):
        queue.submit(Job("restart"))


def test_wait_reports_a_busy_queue(fake_sweep):
    gate, _ = fake_sweep
    queue = _queue(Recorder())
    try:
        queue.submit(Job("measure", workers=[1]))
        assert not queue.wait(0.1)
        gate.set()
        assert queue.wait(WAIT)
    finally:
        queue.close(WAIT)


# --- the figure ----------------------------------------------------------------------------------


def test_the_lines_are_the_results_numbers():
    result = _result()
    lines = plot_lines(result, highest=6)
    np.testing.assert_allclose(lines["time"][2], result.times)
    np.testing.assert_allclose(lines["speed-up"][2], result.speedup)
    np.testing.assert_allclose(lines["efficiency"][2], result.efficiency)
    np.testing.assert_allclose(lines["ideal speed-up"][1], [1, 6])
    x, y = lines["Amdahl fit"][1:]
    np.testing.assert_allclose(y, result.model(x))
    weak = plot_lines(_result("weak"), highest=4)
    assert "scaled speed-up" in weak and "Gustafson fit" in weak
    assert "Amdahl fit" not in plot_lines(_result(times={2: 1.0}), highest=4)


def test_the_figure_draws_a_png_headless_and_shades_oversubscription():
    figure = ScalingFigure(cores=2)
    try:
        assert isinstance(figure.widget, widgets.Output)
        figure.draw(_result(), "a title", highest=4)
        assert figure.widget.outputs[0]["data"]["image/png"]
        assert figure.figure.get_suptitle() == "a title"
        assert figure.axes[0].get_xlim() == (0.5, 4.5)
        assert figure.axes[1].patches  # workers 3..4 share the two cores: shaded
    finally:
        figure.close()
    lonely = ScalingFigure(cores=1)
    lonely.draw(_result(times={1: 1.0}), "t", highest=1)
    assert ONE_CORE_TITLE in lonely.figure.get_suptitle()


def test_drawing_waits_for_the_lock():
    figure = ScalingFigure(cores=2)
    drawn = threading.Event()
    with figure.lock:
        threading.Thread(target=lambda: (figure.figure.canvas.draw(), drawn.set())).start()
        assert not drawn.wait(0.2)
    assert drawn.wait(WAIT)


# --- the status texts ----------------------------------------------------------------------------


def test_status_texts_say_what_was_measured():
    assert (workers_text(1), workers_text(3)) == ("1 worker", "3 workers")
    failed = ScalingPoint(2, 1000, error="EngineError: engine 1 died")
    assert point_text(failed) == "failed: EngineError: engine 1 died"
    assert point_text(_point(1, 0.002)) == "2 ms"
    job = Job("measure", workers=[1, 2, 4], implementation="engines")
    assert progress_text(job, 0, None, on_engines=True) == (
        "Sweep: measuring 1 worker (1 of 3) on the engines (the first use starts them)…"
    )
    assert progress_text(job, 1, _point(1, 0.002), on_engines=False).startswith(
        "1 worker: 2 ms. Sweep: measuring 2 workers (2 of 3)"
    )
    result = _result()
    text = summary(result, [*result.points, failed])
    assert "Measured at 1, 2, 4 workers." in text
    assert "serial fraction" in text and "Failed: 2 workers: EngineError" in text

"""The lab tells the truth about its numbers: spread, doubtful points, other programs, limits.

Sweeps are replaced by synthetic points with known noise, so what the lab says is checked
against what it was given, on any machine.
"""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from workshop import scaling
from workshop.kernels import threads
from workshop.lab import SpeedupLab
from workshop.lab.controls import NO_WIDGETS_TEXT
from workshop.lab.figure import ScalingFigure
from workshop.load import LoadMonitor
from workshop.plots import FLAGGED_LABEL
from workshop.scaling import ScalingPoint, ScalingResult
from workshop.timing import Measurement

WAIT = 60.0


@pytest.fixture(autouse=True)
def _headless(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("WORKSHOP_CPUS", "2")


def noisy_point(workers: int, seconds: float, spread: float) -> ScalingPoint:
    times = [seconds * (1 - spread), seconds, seconds * (1 + spread)]
    return ScalingPoint(workers, 20_000, Measurement("t", times, 1, seconds))


@pytest.fixture
def synthetic(monkeypatch):
    """``scaling.sweep`` reports the points of ``synthetic[workers]`` instead of measuring."""
    table: dict[int, ScalingPoint] = {}

    def sweep(problem, implementation, workers, size, *, on_point, cancel, **options):
        for count in workers:
            if cancel.is_set():
                break
            on_point(table[count])

    monkeypatch.setattr(scaling, "sweep", sweep)
    return table


@pytest.fixture
def lab():
    made = SpeedupLab("pi", "numba-parallel", size=20_000, repeat=1, min_time=0.0)
    yield made
    made.close()


def test_noise_above_ideal_is_named_in_words_and_ringed_in_the_figure(synthetic, lab):
    """The '620 % efficiency on 2 cores' case: it reads as noise, not as a result."""
    synthetic.update({1: noisy_point(1, 1.0, 0.3), 2: noisy_point(2, 0.16, 0.3)})
    lab.run_button.click()
    lab.wait(WAIT)
    status = lab.status.value
    assert "Doubtful:" in status and "read it as noise" in status
    assert "unstable, its samples vary by" in status
    assert "color:#b00020" not in status  # noise is a note, not an error
    assert "Karp-Flatt metric e = " in status and "Amdahl fit" not in status
    speed_ax = lab.figure.axes[1]
    ringed = [line for line in speed_ax.get_lines() if line.get_label() == FLAGGED_LABEL]
    assert ringed and list(ringed[0].get_xdata()) == [1.0, 2.0]
    assert any(c.has_yerr for c in speed_ax.containers)  # error bars on the speed-ups


def test_a_fit_with_its_uncertainty_only_from_three_counts(synthetic, monkeypatch):
    monkeypatch.setenv("WORKSHOP_CPUS", "3")
    monkeypatch.setattr(threads, "thread_limit", lambda: 3)
    synthetic.update({p: noisy_point(p, 0.2 + 0.8 / p, 0.02) for p in (1, 2, 3)})
    lab = SpeedupLab("pi", "numba-parallel", size=20_000, repeat=1, min_time=0.0)
    try:
        lab.run_button.click()
        lab.wait(WAIT)
        status = lab.status.value
        assert "Amdahl fit: serial fraction 0.2" in status and "± " in status
        assert "(3 worker counts)" in status and "Karp-Flatt" not in status
        assert len(lab.figure.axes[1].collections) >= 1  # the fit's band
    finally:
        lab.close()


def test_other_programs_before_a_measurement_are_mentioned(synthetic, lab):
    clock = {"t": 0.0, "busy": 0.0}
    lab._load = LoadMonitor(
        busy_seconds=lambda: clock["busy"],
        own_seconds=lambda: 0.0,
        cpus=2,
        usable_cores=2,
        clock=lambda: clock["t"],
    )
    clock.update(t=2.0, busy=2.4)  # others kept 1.2 cores busy while the lab sat idle
    synthetic.update({1: noisy_point(1, 1.0, 0.01)})
    lab.workers.value = 1
    lab.wait(WAIT)
    assert "Other programs used 1.2 of the 2 usable cores just before" in lab.status.value


def test_the_numba_slider_stops_at_numba_threads(monkeypatch):
    monkeypatch.setattr(threads, "thread_limit", lambda: 3)
    lab = SpeedupLab("pi", "numba-parallel", size=20_000)
    try:
        assert lab.workers.max == 2
        lab.oversubscribe.value = True
        assert lab.workers.max == 3  # not 8: Numba started 3 threads in this process
        assert "NUMBA_NUM_THREADS=3" in lab.help.value
        lab.implementation.value = "processes"
        assert lab.workers.max == 2 * scaling.OVERSUBSCRIBE_FACTOR
        lab.implementation.value = "numba-parallel"
        assert lab.workers.max == 3
    finally:
        lab.close()
    with pytest.raises(ValueError, match="NUMBA_NUM_THREADS=3"):
        SpeedupLab("pi", "numba-parallel", workers=4, oversubscribe=True)


def test_a_frontend_without_widgets_reads_a_sentence(lab):
    bundle = lab._repr_mimebundle_()
    assert bundle["text/plain"] == NO_WIDGETS_TEXT
    assert "needs a frontend that shows Jupyter widgets" in NO_WIDGETS_TEXT
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "VBox(" not in bundle["text/plain"]


class LazyCanvas(FigureCanvasAgg):
    """A canvas that, like ipympl's, draws only when asked later (by the browser)."""

    def draw_idle(self, *args, **kwargs):
        pass


def test_the_status_waits_for_the_drawing_it_describes():
    figure = ScalingFigure(cores=2)
    canvas = LazyCanvas(figure.figure)
    figure._canvas = canvas
    canvas.mpl_connect("draw_event", figure._drawn)
    said: list[str] = []
    result = ScalingResult("pi", "numba-parallel", "strong", [noisy_point(1, 1.0, 0.0)])
    figure.draw(result, "t", highest=2, then=lambda: said.append("first"))
    assert said == []  # nothing drawn yet: the text must not run ahead
    figure.draw(result, "t", highest=2, then=lambda: said.append("second"))
    canvas.draw()  # the browser asks for the drawing
    assert said == ["second"]  # the newest text, once, after its drawing
    canvas.draw()
    assert said == ["second"]
    figure.draw(result, "t", highest=2, then=lambda: said.append("third"))
    figure.flush()
    assert said == ["second", "third"]
    np.testing.assert_allclose(figure.axes[0].get_lines()[0].get_xdata(), [1.0])


def test_other_programs_during_a_point_are_mentioned_as_it_lands():
    from workshop.lab.text import point_text

    point = noisy_point(2, 0.5, 0.01)
    assert "other programs" not in point_text(point)
    point.measurement.metadata["load"] = {"busy": True, "other_cores": 0.9}
    assert point_text(point).endswith("(other programs used 0.9 cores meanwhile)")

"""The speed-up lab driven headless: sweeps, slider points, new curves, one core, faults.

Only what the lab shows is checked (its result, status and plot data), never how fast it is:
the slider latency target is reported by ``workshop bench``.
"""

from __future__ import annotations

import os
import signal
import threading

import ipywidgets as widgets
import numpy as np
import pytest

from workshop import scaling
from workshop.kernels import get_problem
from workshop.lab import ONE_CORE_NOTE, SpeedupLab, size_choices, sweep_counts

SIZE = 20_000  # pi samples: a few microseconds per call
FAST = {"repeat": 2, "min_time": 0.005}
WAIT = 90.0  # seconds; generous, the lab is only ever this slow on a starved machine


@pytest.fixture(autouse=True)
def _headless(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # for anything importing matplotlib from here on


@pytest.fixture
def two_cores(monkeypatch):
    """Pretend two usable cores, so every machine sweeps 1 and 2 workers."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba started with one thread here (NUMBA_NUM_THREADS=1)")
    monkeypatch.setenv("WORKSHOP_CPUS", "2")


@pytest.fixture
def make_lab():
    labs: list[SpeedupLab] = []

    def make(**options) -> SpeedupLab:
        settings = {"problem": "pi", "implementation": "numba-parallel", "size": SIZE, **FAST}
        settings.update(options)
        lab = SpeedupLab(**settings)
        labs.append(lab)
        return lab

    yield make
    for lab in labs:
        lab.close()


@pytest.fixture
def sweeps(monkeypatch):
    """Every worker list the lab hands to ``scaling.sweep``, in order."""
    calls: list[list[int]] = []
    real = scaling.sweep

    def spy(problem, implementation, workers, *args, **kwargs):
        calls.append(list(workers))
        return real(problem, implementation, workers, *args, **kwargs)

    monkeypatch.setattr(scaling, "sweep", spy)
    return calls


def assert_plot_matches(lab: SpeedupLab) -> dict:
    """The plotted numbers are exactly the result's, and the fit is the result's model."""
    result = lab.result
    data = lab.plot_data()
    np.testing.assert_allclose(data["time"][0], result.workers)
    np.testing.assert_allclose(data["time"][1], result.times)
    np.testing.assert_allclose(data["speed-up"][0], result.workers)
    np.testing.assert_allclose(data["speed-up"][1], result.speedup)
    np.testing.assert_allclose(data["efficiency"][1], result.efficiency)
    x, y = data["ideal speed-up"]
    np.testing.assert_allclose(y, x)
    assert x[0] == 1 and x[-1] >= result.workers.max()
    if len(set(result.workers)) >= scaling.FIT_MIN_COUNTS:
        x, y = data["Amdahl fit"]
        np.testing.assert_allclose(y, result.model(x))
    else:
        assert "Amdahl fit" not in data
    return data


def test_run_sweeps_one_to_the_slider_and_plots_the_result(two_cores, make_lab):
    lab = make_lab()
    assert (lab.workers.min, lab.workers.max, lab.workers.value) == (1, 2, 2)
    assert lab.restart_button.layout.display == "none"  # engines only
    lab.run_button.click()
    result = lab.wait(timeout=WAIT)
    assert list(result.workers) == [1, 2]
    assert result.errors == []
    assert set(result.sizes) == {SIZE}
    assert_plot_matches(lab)
    # two worker counts: no fit through them, the Karp-Flatt metric and what it lumps together
    assert "Karp-Flatt metric e = " in lab.status.value and "imbalance" in lab.status.value
    assert "serial fraction" in lab.status.value and "Amdahl fit" not in lab.status.value
    # headless: the figure is a static image in an Output widget, redrawn after each point
    assert isinstance(lab._plot, widgets.Output)
    assert lab._plot.outputs[0]["data"]["image/png"]
    assert lab._plot in lab.widget.children


def test_slider_adds_and_replaces_points_without_a_new_sweep(two_cores, make_lab, sweeps):
    lab = make_lab()
    lab.workers.value = 1
    lab.wait(timeout=WAIT)
    assert list(lab.result.workers) == [1]
    assert_plot_matches(lab)  # one worker count: no fit yet
    lab.workers.value = 2
    lab.wait(timeout=WAIT)
    assert sweeps == [[1], [2]]
    assert list(lab.result.workers) == [1, 2]
    assert "Amdahl fit" not in assert_plot_matches(lab)  # two counts: no fit yet

    lab.run_button.click()
    lab.wait(timeout=WAIT)
    assert sweeps[-1] == [1, 2]
    before = {point.workers: point for point in lab.result.points}
    lab.workers.value = 1
    lab.wait(timeout=WAIT)
    assert sweeps[-1] == [1]  # one point, not a sweep
    after = {point.workers: point for point in lab.result.points}
    assert sorted(after) == [1, 2]
    assert after[1] is not before[1] and after[2] is before[2]
    assert_plot_matches(lab)
    assert lab.last_start_latency is not None and lab.last_start_latency >= 0


def test_changing_size_implementation_or_mode_starts_a_new_curve(two_cores, make_lab):
    lab = make_lab()
    lab.workers.value = 1
    lab.wait(timeout=WAIT)
    assert len(lab.result.points) == 1

    bigger = lab.size.options[lab.size.options.index(SIZE) + 1]
    lab.size.value = bigger
    assert lab.result.points == []
    assert "New curve" in lab.status.value
    lab.workers.value = 2
    lab.wait(timeout=WAIT)
    assert [point.size for point in lab.result.points] == [bigger]

    lab.mode.value = "weak"
    assert (lab.result.points, lab.result.mode) == ([], "weak")
    lab.implementation.value = "processes"
    assert (lab.result.points, lab.result.implementation) == ([], "processes")
    assert not lab.busy  # a new curve waits for the slider or Run


def test_processes_sweep(two_cores, make_lab):
    from workshop.kernels import pools

    lab = make_lab(implementation="processes")
    try:
        lab.run_button.click()
        result = lab.wait(timeout=WAIT)
    finally:
        lab.close()
        pools.shutdown_pools()
    assert list(result.workers) == [1, 2], result.errors
    assert_plot_matches(lab)


@pytest.fixture
def ipympl_backend():
    """The ``%matplotlib widget`` backend (ipympl), as in JupyterLab; restored afterwards."""
    import matplotlib.pyplot as plt

    previous = plt.get_backend()  # before importing ipympl, which makes itself the backend
    pytest.importorskip("ipympl")
    plt.switch_backend("module://ipympl.backend_nbagg")
    yield
    plt.switch_backend(previous)


def test_ipympl_canvas_is_drawn_only_when_the_browser_asks(
    two_cores, make_lab, ipympl_backend, monkeypatch
):
    # An ipympl canvas drawn before the browser shows it stays blank inside the lab's box, so
    # the lab never calls draw(): draw_idle() lets the browser ask for the drawing when ready.
    from ipympl.backend_nbagg import Canvas

    calls: list[str] = []
    monkeypatch.setattr(Canvas, "draw", lambda self: calls.append("draw"))
    monkeypatch.setattr(Canvas, "draw_idle", lambda self: calls.append("draw_idle"))
    lab = make_lab()
    assert isinstance(lab._plot, Canvas) and lab._plot in lab.widget.children
    lab.workers.value = 1
    lab.wait(timeout=WAIT)
    assert lab.result.points[0].ok
    assert calls and set(calls) == {"draw_idle"}


def test_drawing_waits_while_the_lab_changes_the_axes(make_lab):
    # ipympl renders on the kernel's main thread while the lab's thread changes the axes.
    lab = make_lab()
    drawn = threading.Event()
    with lab._draw_lock:
        threading.Thread(target=lambda: (lab.figure.canvas.draw(), drawn.set())).start()
        assert not drawn.wait(0.2)
    assert drawn.wait(WAIT)


def test_one_core_says_it_cannot_show_a_speedup(monkeypatch, make_lab):
    monkeypatch.setenv("WORKSHOP_CPUS", "1")
    lab = make_lab()
    assert (lab.workers.max, lab.workers.value) == (1, 1)
    assert "cannot show a speed-up" in lab.status.value
    assert "cannot show a speed-up" in lab.figure.get_suptitle()
    lab.run_button.click()  # the measurement still runs
    result = lab.wait(timeout=WAIT)
    assert list(result.workers) == [1]
    assert ONE_CORE_NOTE.split(":")[0] in lab.status.value


def test_oversubscribe_extends_the_slider(monkeypatch, make_lab, sweeps):
    monkeypatch.setenv("WORKSHOP_CPUS", "2")
    lab = make_lab(implementation="processes")  # Numba's own limit: test_lab_honest.py
    assert lab.workers.max == 2
    lab.oversubscribe.value = True
    assert lab.workers.max == 2 * scaling.OVERSUBSCRIBE_FACTOR
    assert "share" in lab.oversubscribe_note.value
    lab.oversubscribe.value = False
    assert lab.workers.max == 2 and lab.oversubscribe_note.value == ""
    assert sweeps == [] and not lab.busy  # toggling measures nothing


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"problem": "tau"}, "'pi'"),
        ({"implementation": "fortran"}, "'numba-parallel'"),
        ({"implementation": "numpy"}, "parallel implementation"),
        ({"size": 10}, "1000"),
        ({"mode": "sideways"}, "strong, weak"),
        ({"workers": 0}, "valid is 1 to"),
        ({"repeat": 0}, "repeat"),
    ],
)
def test_bad_input_names_the_choices(make_lab, options, names):
    with pytest.raises(ValueError, match=names):
        make_lab(**options)


def test_an_error_in_a_measurement_shows_and_the_lab_goes_on(two_cores, make_lab, monkeypatch):
    lab = make_lab()
    impl = get_problem("pi").implementation("numba-parallel")

    def broken(*inputs, workers):
        raise RuntimeError("the kernel broke")

    with monkeypatch.context() as patch:
        patch.setattr(impl, "func", broken)
        lab.workers.value = 1
        lab.wait(timeout=WAIT)
    assert "the kernel broke" in lab.status.value
    assert "the kernel broke" in lab.result.points[0].error
    assert "the kernel broke" in lab.last_error

    def exploding(*args, **kwargs):
        raise RuntimeError("the sweep itself failed")

    with monkeypatch.context() as patch:
        patch.setattr(scaling, "sweep", exploding)
        lab.workers.value = 2
        lab.wait(timeout=WAIT)
    assert "the sweep itself failed" in lab.status.value

    lab.workers.value = 1  # the thread survived: measuring works again
    lab.wait(timeout=WAIT)
    assert lab.result.points[0].ok
    assert "Error" not in lab.status.value


def test_wait_times_out_with_a_clear_message(two_cores, make_lab, monkeypatch):
    lab = make_lab()
    impl = get_problem("pi").implementation("numba-parallel")
    release = threading.Event()
    real = impl.func

    def blocked(*inputs, workers):
        release.wait(WAIT)
        return real(*inputs, workers=workers)

    monkeypatch.setattr(impl, "func", blocked)
    lab.workers.value = 1
    with pytest.raises(TimeoutError, match="still measuring"):
        lab.wait(timeout=0.2)
    release.set()
    lab.wait(timeout=WAIT)
    lab.close()
    assert not lab._thread.is_alive()


def test_size_and_worker_choices():
    pi = get_problem("pi")
    sizes = size_choices(pi, 123_456)
    assert sizes[0] == pi.min_size and sizes[-1] == pi.max_size
    assert {pi.default_size, pi.small_size, 123_456, 2_000, 5_000_000} <= set(sizes)
    assert sizes == sorted(set(sizes))
    assert sweep_counts(1) == [1]
    assert sweep_counts(4) == [1, 2, 3, 4]
    assert sweep_counts(20) == [1, 2, 3, 4, 5, 6, 7, 8, 16, 20]


@pytest.fixture
def engines_cluster(monkeypatch):
    """The shared two-engine cluster, stopped afterwards (one start for this module)."""
    pytest.importorskip("ipyparallel")
    monkeypatch.setenv("WORKSHOP_CPUS", "2")
    from workshop.cluster import shared_cluster

    cluster = shared_cluster(2)
    yield cluster
    cluster.stop()


@pytest.mark.slow
def test_killed_engine_fails_its_point_and_restart_recovers(engines_cluster, make_lab):
    lab = make_lab(implementation="engines")
    assert lab.restart_button.layout.display is None
    lab.workers.value = 1
    lab.wait(timeout=WAIT)
    assert lab.result.points[0].ok, lab.status.value

    victim = engines_cluster.engine_ids[1]
    os.kill(engines_cluster.engine_pids[victim], signal.SIGKILL)
    lab.workers.value = 2
    lab.wait(timeout=WAIT)  # bounded: the dead engine is noticed, no hang
    failed = {point.workers: point for point in lab.result.points}[2]
    assert not failed.ok and "died" in failed.error
    assert "died" in lab.status.value

    lab.restart_button.click()
    lab.wait(timeout=WAIT)
    assert "restarted" in lab.status.value
    lab.workers.value = 1
    lab.workers.value = 2
    lab.wait(timeout=WAIT)
    assert list(lab.result.workers) == [1, 2], lab.result.errors

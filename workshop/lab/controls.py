"""``SpeedupLab``: the lab's controls and status line, joined to its figure and its job queue.

Moving the workers slider measures that one worker count and adds it to the current curve;
changing the size, the implementation or the scaling mode starts a new curve, because points
measured under different settings are not comparable. The lab only draws what
``workshop.scaling`` returns (``ScalingFigure``) and never times anything itself: its
``JobQueue`` measures on a worker thread, so the notebook stays usable while a sweep runs, and
errors land in the status line, never lost.
"""

from __future__ import annotations

import html
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ipywidgets as widgets
import numpy as np

from workshop import scaling
from workshop.errors import MissingCapability
from workshop.hardware import cores_reason, small_mode, usable_cores
from workshop.kernels import Implementation, Problem, get_problem
from workshop.lab.figure import ScalingFigure, plot_lines
from workshop.lab.jobs import Job, JobQueue
from workshop.lab.text import ONE_CORE_NOTE, load_text, progress_text, summary, workers_text
from workshop.load import start_monitor
from workshop.scaling import OVERSUBSCRIBE_FACTOR, ScalingPoint, ScalingResult
from workshop.slider_figure import widget_bundle

__all__ = ["NO_WIDGETS_TEXT", "SpeedupLab", "size_choices", "sweep_counts"]

NO_WIDGETS_TEXT = (
    "The speed-up lab is interactive: it needs a frontend that shows Jupyter widgets "
    "(JupyterLab 4 or Jupyter Notebook 7, with ipywidgets 8), and this one shows text only. "
    "Open the notebook with `workshop lab`, or drive the lab from code: "
    "lab.run_button.click(); lab.wait(); print(lab.status.value)."
)


def size_choices(problem: Problem, *include: int) -> list[int]:
    """Sizes for the size slider: 1-2-5 steps between the problem's limits, plus ``include``."""
    low, high = problem.min_size, problem.max_size
    values = {low, high, problem.default_size, problem.small_size, *include}
    decade = 10 ** math.floor(math.log10(low))
    while decade <= high:
        values.update(m * decade for m in (1, 2, 5) if low <= m * decade <= high)
        decade *= 10
    return sorted(int(problem.check_size(value)) for value in values)


def sweep_counts(highest: int) -> list[int]:
    """Worker counts a Run sweeps up to ``highest``: every count to 8, then powers of two."""
    counts = set(range(1, min(highest, 8) + 1))
    power = 16
    while power < highest:
        counts.add(power)
        power *= 2
    counts.add(highest)
    return sorted(counts)


def _parallel_implementations(problem: Problem) -> tuple[dict[str, Implementation], dict[str, str]]:
    """The problem's parallel implementations that can run here, and why the others cannot."""
    usable: dict[str, Implementation] = {}
    unavailable: dict[str, str] = {}
    for name, impl in problem.implementations.items():
        if not impl.parallel:
            continue
        reason = impl.unavailable_reason()
        if reason:
            unavailable[name] = reason
        else:
            usable[name] = impl
    return usable, unavailable


def _thread_limit(impl: Implementation) -> int | None:
    """The most threads a Numba ``prange`` implementation may use here, or None (no limit)."""
    if impl.backend != "numba" or not impl.parallel:
        return None
    from workshop.kernels.threads import thread_limit

    return thread_limit()


def _check_timing_options(mode: str, repeat: int, min_time: float) -> None:
    if mode not in scaling.MODES:
        raise ValueError(f"mode must be one of {', '.join(scaling.MODES)}, got {mode!r}")
    if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 1:
        raise ValueError(f"repeat must be a whole number >= 1, got {repeat!r}")
    if not isinstance(min_time, int | float) or not min_time >= 0:
        raise ValueError(f"min_time must be a number of seconds >= 0, got {min_time!r}")


class SpeedupLab:
    """Interactive strong/weak scaling of one problem's parallel implementations.

    Drive it from code as well as by hand: set ``.value`` on ``workers``, ``size``,
    ``implementation``, ``mode`` or ``oversubscribe``, call ``run_button.click()``, then
    ``wait()``; read ``result``, ``status.value`` and ``plot_data()``. ``close()`` stops it.
    """

    def __init__(
        self,
        problem: str = "pi",
        implementation: str | None = None,
        mode: str = "strong",
        size: int | None = None,
        *,
        workers: int | None = None,
        oversubscribe: bool = False,
        repeat: int = 3,
        min_time: float = 0.05,
    ) -> None:
        spec = get_problem(problem)
        _check_timing_options(mode, repeat, min_time)
        self._problem = spec
        self._cores = usable_cores()
        self._usable, self._unavailable = _parallel_implementations(spec)
        chosen = self._choose_implementation(implementation)
        if size is None:
            size = spec.small_size if small_mode() else spec.default_size
        size = spec.check_size(size)
        oversubscribe = bool(oversubscribe)
        self._chosen = chosen
        workers = min(self._cores, self._highest(oversubscribe)) if workers is None else workers
        workers = scaling.check_workers([workers], oversubscribe=oversubscribe)[0]
        if workers > self._highest(oversubscribe):
            raise ValueError(self._limit_text(workers))

        self.last_start_latency: float | None = None
        self.last_error: str | None = None
        self._status_text = ""
        self._quiet = False
        self._result_lock = threading.Lock()
        self._result = ScalingResult(spec.name, chosen, mode, usable_cores=self._cores)
        self._jobs = JobQueue(spec.name, self, repeat=repeat, min_time=float(min_time))
        self._load = start_monitor()  # other programs' CPU use between and during measurements
        self._load_before: str | None = None
        self._figure = ScalingFigure(self._cores)
        self._build_widgets(chosen, mode, size, workers, oversubscribe)
        self.widget = self._layout()
        self._update_oversubscribe_note()
        self._update_restart_button()
        self._set_status(self._ready_text())
        self._redraw()

    # --- construction ----------------------------------------------------------------------

    def _choose_implementation(self, name: str | None) -> str:
        spec = self._problem
        if name is None:
            if not self._usable:
                reasons = "; ".join(f"{k}: {v}" for k, v in self._unavailable.items())
                raise MissingCapability(
                    f"no parallel implementation of {spec.name} can run here ({reasons})"
                )
            return next(iter(self._usable))
        impl = spec.implementation(name)  # ValueError listing every implementation
        if not impl.parallel:
            parallel = ", ".join(repr(k) for k, v in spec.implementations.items() if v.parallel)
            raise ValueError(
                f"{spec.name}/{name} is serial; the lab compares worker counts, so choose a "
                f"parallel implementation: one of {parallel}"
            )
        if name in self._unavailable:
            raise MissingCapability(
                f"{spec.name}/{name} cannot run here: {self._unavailable[name]}"
            )
        return name

    def _build_widgets(
        self, implementation: str, mode: str, size: int, workers: int, oversubscribe: bool
    ) -> None:
        spec = self._problem
        wide = {"description_width": "initial"}
        self.implementation = widgets.Dropdown(
            options=[(f"{impl.title} ({name})", name) for name, impl in self._usable.items()],
            value=implementation,
            description="implementation",
            style=wide,
            layout=widgets.Layout(width="420px"),
        )
        self.mode = widgets.ToggleButtons(
            options=list(scaling.MODES),
            value=mode,
            description="scaling",
            tooltips=["fixed size (Amdahl)", "size grows with the workers (Gustafson)"],
            style=wide,
        )
        self.size = widgets.SelectionSlider(
            options=size_choices(spec, size),
            value=size,
            description=f"size ({spec.size_label})",
            continuous_update=False,
            readout=False,
            style=wide,
            layout=widgets.Layout(width="420px"),
        )
        self._size_text = widgets.HTML()
        self.workers = widgets.IntSlider(
            value=workers,
            min=1,
            max=self._highest(oversubscribe),
            description="workers",
            continuous_update=False,
            style=wide,
        )
        self._build_buttons(oversubscribe)
        self._update_size_text()
        self._observe()

    def _build_buttons(self, oversubscribe: bool) -> None:
        self.oversubscribe = widgets.Checkbox(
            value=oversubscribe,
            description=f"oversubscribe (up to {OVERSUBSCRIBE_FACTOR}× the cores)",
            indent=False,
            layout=widgets.Layout(width="auto"),
        )
        self.oversubscribe_note = widgets.HTML()
        self.run_button = widgets.Button(
            description="Run sweep",
            icon="play",
            button_style="primary",
            tooltip="measure every worker count from 1 to the slider's value, as a new curve",
        )
        self.restart_button = widgets.Button(
            description="Restart engines",
            icon="refresh",
            button_style="warning",
            tooltip="restart the ipyparallel engines (after one died or hangs)",
        )
        self.status = widgets.HTML()
        self.help = widgets.HTML(self._help_text())

    def _observe(self) -> None:
        self.workers.observe(self._on_workers, names="value")
        self.oversubscribe.observe(self._on_oversubscribe, names="value")
        for control in (self.size, self.implementation, self.mode):
            control.observe(self._on_curve_setting, names="value")
        self.run_button.on_click(self._on_run)
        self.restart_button.on_click(self._on_restart)

    def _layout(self) -> widgets.VBox:
        return widgets.VBox(
            [
                widgets.HBox([self.implementation, self.mode]),
                widgets.HBox([self.size, self._size_text]),
                widgets.HBox(
                    [self.workers, self.oversubscribe, self.run_button, self.restart_button]
                ),
                self.oversubscribe_note,
                self.status,
                self._plot,
                self.help,
            ]
        )

    def _highest(self, oversubscribe: bool) -> int:
        """The workers slider's maximum: the usable cores (or more, oversubscribed), but never
        more threads than Numba may use in this process."""
        highest = self._cores * OVERSUBSCRIBE_FACTOR if oversubscribe else self._cores
        name = getattr(getattr(self, "implementation", None), "value", self._chosen)
        limit = _thread_limit(self._problem.implementation(name))
        return highest if limit is None else max(1, min(highest, limit))

    def _limit_text(self, workers: int) -> str:
        name = getattr(getattr(self, "implementation", None), "value", self._chosen)
        limit = _thread_limit(self._problem.implementation(name))
        return (
            f"workers={workers} is more than Numba may use here: this process started Numba "
            f"with NUMBA_NUM_THREADS={limit} threads; set NUMBA_NUM_THREADS before Python starts "
            "to allow more"
        )

    def _help_text(self) -> str:
        lines = [f"Usable cores: {self._cores} ({cores_reason()})."]
        limits = {_thread_limit(impl) for impl in self._usable.values()} - {None}
        if limits and min(limits) < self._cores * OVERSUBSCRIBE_FACTOR:
            limit = min(limits)
            lines.append(
                f"Numba may use at most {limit} threads in this kernel (NUMBA_NUM_THREADS="
                f"{limit}), so its workers slider stops there."
            )
        if self._unavailable:
            missing = "; ".join(f"{name}: {why}" for name, why in self._unavailable.items())
            lines.append(f"Not available here: {missing}")
        return "<br>".join(html.escape(line, quote=False) for line in lines)

    # --- public API --------------------------------------------------------------------------

    @property
    def problem(self) -> Problem:
        return self._problem

    @property
    def figure(self) -> Any:
        """The matplotlib Figure the lab draws in."""
        return self._figure.figure

    @property
    def result(self) -> ScalingResult:
        """A snapshot of the current curve (its failed points included)."""
        with self._result_lock:
            r = self._result
            return ScalingResult(
                r.problem, r.implementation, r.mode, list(r.points), r.usable_cores
            )

    @property
    def busy(self) -> bool:
        return self._jobs.busy

    def wait(self, timeout: float | None = 120.0) -> ScalingResult:
        """Block until every request is measured; TimeoutError when still busy after ``timeout``."""
        if not self._jobs.wait(timeout):
            raise TimeoutError(
                f"the speed-up lab is still measuring after {timeout:g} s "
                f"(status: {self._status_text}); wait longer, or call close() to stop it"
            )
        self._figure.flush()  # code that waits reads the final status, drawn or not yet
        return self.result

    def plot_data(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The numbers behind every plotted line, as ``{label: (x, y)}``."""
        lines = plot_lines(self.result, self.workers.max)
        return {label: (x, y) for label, (_, x, y) in lines.items()}

    def close(self, timeout: float = 30.0) -> None:
        """Stop the worker thread (after the point it is measuring) and close the widgets."""
        self._jobs.close(timeout)
        self._figure.close()
        self._close_widgets()

    def _close_widgets(self) -> None:
        """Close every widget of the lab, containers and their children alike."""
        stack: list[widgets.Widget] = [self.widget]
        while stack:
            widget = stack.pop()
            stack.extend(getattr(widget, "children", ()))
            for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
                if isinstance(part, widgets.Widget):
                    part.close()
            widget.close()

    def __enter__(self) -> SpeedupLab:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The widget where the frontend shows widgets; a sentence saying what the lab needs
        where it shows text only (instead of a raw ``VBox(...)``)."""
        data = widget_bundle(self.widget, include, exclude)
        data["text/plain"] = NO_WIDGETS_TEXT
        return data

    def __repr__(self) -> str:
        r = self.result
        return (
            f"SpeedupLab({r.problem!r}, {r.implementation!r}, mode={r.mode!r}, "
            f"size={self.size.value}, points={len(r.points)})"
        )

    # --- the parts, for tests and for the curious -------------------------------------------

    @property
    def _plot(self) -> widgets.DOMWidget:
        return self._figure.widget

    @property
    def _draw_lock(self) -> threading.RLock:
        return self._figure.lock

    @property
    def _thread(self) -> threading.Thread | None:
        return self._jobs.thread

    # --- control callbacks (main thread) -----------------------------------------------------

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        """Change controls from code without their callbacks starting measurements."""
        previous, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = previous

    def _on_workers(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        self._jobs.submit(self._measure_job([int(change["new"])], time.perf_counter()))

    def _on_run(self, _button: Any = None) -> None:
        requested = time.perf_counter()
        self._new_curve()
        self._jobs.submit(self._measure_job(sweep_counts(self.workers.value), requested))

    def _on_restart(self, _button: Any = None) -> None:
        self._jobs.submit(Job("restart", implementation=self.implementation.value))

    def _on_oversubscribe(self, change: dict[str, Any]) -> None:
        self._update_workers_max()
        self._update_oversubscribe_note()
        self._redraw()

    def _update_workers_max(self) -> None:
        with self._quietly():
            self.workers.max = self._highest(bool(self.oversubscribe.value))

    def _on_curve_setting(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        self._update_size_text()
        self._update_restart_button()
        self._update_workers_max()
        self._new_curve()
        self._set_status(self._ready_text(prefix="New curve. "))
        self._redraw()

    def _new_curve(self) -> None:
        """Forget the current points: stop measuring them and start an empty curve."""
        with self._result_lock:
            self._jobs.new_generation()
            self._result = ScalingResult(
                self._problem.name,
                self.implementation.value,
                self.mode.value,
                usable_cores=self._cores,
            )

    def _measure_job(self, workers: list[int], requested_at: float) -> Job:
        return Job(
            "measure",
            requested_at,
            workers=workers,
            implementation=self.implementation.value,
            size=int(self.size.value),
            mode=self.mode.value,
            oversubscribe=bool(self.oversubscribe.value),
        )

    # --- what the job queue reports (its worker thread) ---------------------------------------

    def job_started(self, job: Job) -> None:
        if job.kind == "restart":
            self._set_status("Restarting the engines…")
            return
        self.last_start_latency = time.perf_counter() - job.requested_at
        reading = self._load.reading() if self._load is not None else None
        self._load_before = load_text(reading, "just before this measurement")
        text = progress_text(job, 0, None, self._on_engines(job))
        self._set_status(f"{text} {self._load_before}" if self._load_before else text)

    def job_point(self, job: Job, point: ScalingPoint, done: int) -> bool:
        if not self._merge(job, point):
            return False
        if done < len(job.workers):
            text = progress_text(job, done, point, self._on_engines(job))
            self._redraw(then=lambda: self._set_status(text))
        return True

    def job_finished(self, job: Job, points: list[ScalingPoint]) -> None:
        if self._jobs.current(job) and points:
            result = self.result
            text = summary(result, points)
            if self._load_before:
                text += f" {self._load_before}"
            failed = any(not point.ok for point in points)
            if failed and self._on_engines(job):
                text += " Press Restart engines if an engine died or hangs."
            # the text describes this drawing, so it appears once the drawing does
            self._redraw(result, then=lambda: self._set_status(text, error=failed))

    def job_restarted(self, job: Job, engines: int) -> None:
        self._set_status(
            f"Engines restarted ({engines} engines). Move the workers slider or press Run "
            "to measure again."
        )

    def job_failed(self, job: Job, message: str) -> None:
        self.last_error = message
        if job.kind == "restart" or self._jobs.current(job):
            self._set_status(f"Error: {message}", error=True)

    def _merge(self, job: Job, point: ScalingPoint) -> bool:
        """Put ``point`` in the current curve (replacing one at the same worker count)."""
        with self._result_lock:
            if not self._jobs.current(job):
                return False
            points = [p for p in self._result.points if p.workers != point.workers]
            points.append(point)
            points.sort(key=lambda p: p.workers)
            self._result.points = points
            if point.error:
                self.last_error = f"{workers_text(point.workers)}: {point.error}"
            return True

    # --- text and drawing --------------------------------------------------------------------

    def _set_status(self, text: str, error: bool = False) -> None:
        self._status_text = text
        body = html.escape(text, quote=False)
        if error:
            body = f'<span style="color:#b00020">{body}</span>'
        if self._cores < 2:
            body += f"<br><b>{html.escape(ONE_CORE_NOTE, quote=False)}</b>"
        self.status.value = body

    def _ready_text(self, prefix: str = "") -> str:
        impl = self._problem.implementation(self.implementation.value)
        return (
            f"{prefix}{impl.title}, {self.size.value:,} {self._problem.size_label}, "
            f"{self.mode.value} scaling. Move the workers slider to measure one worker count, "
            f"or press Run to sweep 1 to {self.workers.value}."
        )

    def _on_engines(self, job: Job) -> bool:
        return self._problem.implementation(job.implementation).on_engines

    def _update_size_text(self) -> None:
        self._size_text.value = f"{self.size.value:,} {self._problem.size_label}"

    def _update_oversubscribe_note(self) -> None:
        if self.oversubscribe.value:
            self.oversubscribe_note.value = html.escape(
                f"Oversubscribed: workers above {self._cores} share the {self._cores} usable "
                "core(s) and take turns, so they cannot add speed; expect overhead instead.",
                quote=False,
            )
            self.oversubscribe_note.layout.display = None
        else:
            self.oversubscribe_note.value = ""
            self.oversubscribe_note.layout.display = "none"

    def _update_restart_button(self) -> None:
        impl = self._problem.implementation(self.implementation.value)
        self.restart_button.layout.display = None if impl.on_engines else "none"

    def _redraw(
        self, result: ScalingResult | None = None, then: Callable[[], None] | None = None
    ) -> None:
        """Draw ``result`` (default: the current curve), then call ``then`` (a status line that
        describes it); called after each point, from the thread that measured it."""
        result = self.result if result is None else result
        impl = self._problem.implementation(result.implementation)
        title = (
            f"{self._problem.title}: {impl.title}, {result.mode} scaling, "
            f"{self.size.value:,} {self._problem.size_label}"
        )
        self._figure.draw(result, title, self.workers.max, then=then)

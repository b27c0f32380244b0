"""The speed-up lab: move a slider, watch time, speed-up and efficiency change, measured live.

``SpeedupLab`` is a set of ipywidgets controls and a three-panel matplotlib figure. It only draws
what ``workshop.scaling`` returns and never times anything itself. Measuring runs on a worker
thread fed by a queue of requests (the newest request supersedes the ones still waiting), so the
notebook stays usable while a sweep runs; errors land in the status line, never lost.

Moving the workers slider measures that one worker count and adds it to the current curve;
changing the size, the implementation or the scaling mode starts a new curve, because points
measured under different settings are not comparable.
"""

from __future__ import annotations

import base64
import html
import io
import math
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from workshop import scaling
from workshop.errors import MissingCapability
from workshop.hardware import cores_reason, small_mode, usable_cores
from workshop.kernels import Implementation, Problem, get_problem
from workshop.scaling import OVERSUBSCRIBE_FACTOR, ScalingPoint, ScalingResult
from workshop.timing import format_seconds

__all__ = ["ONE_CORE_NOTE", "SpeedupLab", "size_choices", "sweep_counts"]

ONE_CORE_NOTE = (
    "One usable core cannot show a speed-up: the workers take turns on the same core. "
    "The measurements still run, and show what parallelism costs (overhead)."
)
_ONE_CORE_TITLE = "one usable core cannot show a speed-up: workers take turns on it"
_FIT_POINTS = 100
_LAWS = {"strong": "Amdahl", "weak": "Gustafson"}


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


@dataclass
class _Job:
    """One request for the worker thread: measure worker counts, or restart the engines."""

    kind: str  # "measure" or "restart"
    requested_at: float
    generation: int = 0
    workers: list[int] = field(default_factory=list)
    implementation: str = ""
    size: int = 0
    mode: str = "strong"
    oversubscribe: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)


def _workers(count: int) -> str:
    return f"{count} worker" if count == 1 else f"{count} workers"


def _describe(exc: BaseException) -> str:
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


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


def _widget_backend_active() -> bool:
    """True when ``%matplotlib widget`` (ipympl) is the current backend."""
    import matplotlib

    backend = str(dict.__getitem__(matplotlib.rcParams, "backend")).lower()  # no auto-resolution
    return "ipympl" in backend or backend == "widget"


class _LockedFigure(Figure):
    """A figure that draws only while holding ``lock``.

    With ipympl the browser asks for each drawing and the kernel's main thread renders it, while
    the lab changes the axes from its worker thread: Matplotlib is not thread-safe, so both
    hold the lab's lock.
    """

    def __init__(self, *args: Any, lock: threading.RLock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock = lock

    def draw(self, renderer: Any) -> None:
        with self.lock:
            super().draw(renderer)


def _new_figure(lock: threading.RLock) -> tuple[Figure, widgets.DOMWidget | None]:
    """A three-panel figure, and its canvas when that canvas is itself a widget (ipympl).

    Nothing may draw an ipympl canvas (``canvas.draw()``) before the browser has started its
    view: until then ipympl (0.10) sends raw pixels where the browser expects a PNG, the browser's
    image breaks, and the figure stays blank inside the lab's box. ``canvas.draw_idle()`` only
    asks the browser to request a drawing, which it does once it shows the canvas.
    """
    size = (11.0, 3.6)
    if _widget_backend_active():
        import matplotlib.pyplot as plt

        with plt.ioff():
            figure = plt.figure(figsize=size, FigureClass=_LockedFigure, lock=lock)
        if isinstance(figure.canvas, widgets.DOMWidget):
            figure.canvas.header_visible = False
            return figure, figure.canvas
        plt.close(figure)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = _LockedFigure(figsize=size, lock=lock)
    FigureCanvasAgg(figure)
    return figure, None


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
        if mode not in scaling.MODES:
            raise ValueError(f"mode must be one of {', '.join(scaling.MODES)}, got {mode!r}")
        if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 1:
            raise ValueError(f"repeat must be a whole number >= 1, got {repeat!r}")
        if not isinstance(min_time, int | float) or not min_time >= 0:
            raise ValueError(f"min_time must be a number of seconds >= 0, got {min_time!r}")
        self._problem = spec
        self._cores = usable_cores()
        self._usable, self._unavailable = _parallel_implementations(spec)
        chosen = self._choose_implementation(implementation)
        if size is None:
            size = spec.small_size if small_mode() else spec.default_size
        size = spec.check_size(size)
        oversubscribe = bool(oversubscribe)
        if workers is None:
            workers = self._cores
        workers = scaling.check_workers([workers], oversubscribe=oversubscribe)[0]
        self._repeat, self._min_time = repeat, float(min_time)

        self.last_start_latency: float | None = None
        self.last_error: str | None = None
        self._cond = threading.Condition()
        self._draw_lock = threading.RLock()
        self._pending: list[_Job] = []
        self._running: _Job | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._quiet = False
        self._generation = 0
        self._result = ScalingResult(spec.name, chosen, mode, usable_cores=self._cores)

        self._build_widgets(chosen, mode, size, workers, oversubscribe)
        self.figure, self._canvas = _new_figure(self._draw_lock)
        self._axes = self.figure.subplots(1, 3)
        self.figure.set_layout_engine("constrained")
        self._plot = self._canvas if self._canvas is not None else widgets.Output()
        self.widget = widgets.VBox(
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
        highest = self._highest(oversubscribe)
        self.workers = widgets.IntSlider(
            value=workers,
            min=1,
            max=highest,
            description="workers",
            continuous_update=False,
            style=wide,
        )
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
        self._update_size_text()

        self.workers.observe(self._on_workers, names="value")
        self.oversubscribe.observe(self._on_oversubscribe, names="value")
        for control in (self.size, self.implementation, self.mode):
            control.observe(self._on_curve_setting, names="value")
        self.run_button.on_click(self._on_run)
        self.restart_button.on_click(self._on_restart)

    def _highest(self, oversubscribe: bool) -> int:
        return self._cores * OVERSUBSCRIBE_FACTOR if oversubscribe else self._cores

    def _help_text(self) -> str:
        lines = [f"Usable cores: {self._cores} ({cores_reason()})."]
        if self._unavailable:
            missing = "; ".join(f"{name}: {why}" for name, why in self._unavailable.items())
            lines.append(f"Not available here: {missing}")
        return "<br>".join(html.escape(line, quote=False) for line in lines)

    # --- public API --------------------------------------------------------------------------

    @property
    def problem(self) -> Problem:
        return self._problem

    @property
    def result(self) -> ScalingResult:
        """A snapshot of the current curve (its failed points included)."""
        with self._cond:
            r = self._result
            return ScalingResult(
                r.problem, r.implementation, r.mode, list(r.points), r.usable_cores
            )

    @property
    def busy(self) -> bool:
        with self._cond:
            return bool(self._pending) or self._running is not None

    def wait(self, timeout: float | None = 120.0) -> ScalingResult:
        """Block until every request is measured; TimeoutError when still busy after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending or self._running is not None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(
                        f"the speed-up lab is still measuring after {timeout:g} s "
                        f"(status: {self._status_text}); wait longer, or call close() to stop it"
                    )
                self._cond.wait(remaining)
        return self.result

    def plot_data(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The numbers behind every plotted line, as ``{label: (x, y)}``."""
        return {label: (x, y) for label, (_, x, y) in self._lines(self.result).items()}

    def close(self, timeout: float = 30.0) -> None:
        """Stop the worker thread (after the point it is measuring) and close the widgets."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            if self._running is not None:
                self._running.cancel.set()
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if self._canvas is not None:
            import matplotlib.pyplot as plt

            plt.close(self.figure)
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

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        r = self.result
        return (
            f"SpeedupLab({r.problem!r}, {r.implementation!r}, mode={r.mode!r}, "
            f"size={self.size.value}, points={len(r.points)})"
        )

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
        self._submit(self._measure_job([int(change["new"])], time.perf_counter()))

    def _on_run(self, _button: Any = None) -> None:
        requested = time.perf_counter()
        self._new_curve()
        self._submit(self._measure_job(sweep_counts(self.workers.value), requested))

    def _on_restart(self, _button: Any = None) -> None:
        self._submit(_Job("restart", time.perf_counter()))

    def _on_oversubscribe(self, change: dict[str, Any]) -> None:
        with self._quietly():
            self.workers.max = self._highest(bool(change["new"]))
        self._update_oversubscribe_note()
        self._redraw()

    def _on_curve_setting(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        self._update_size_text()
        self._update_restart_button()
        self._new_curve()
        self._set_status(self._ready_text(prefix="New curve. "))
        self._redraw()

    def _new_curve(self) -> None:
        """Forget the current points: stop measuring them and start an empty curve."""
        with self._cond:
            self._generation += 1
            self._result = ScalingResult(
                self._problem.name,
                self.implementation.value,
                self.mode.value,
                usable_cores=self._cores,
            )
            self._pending = [job for job in self._pending if job.kind != "measure"]
            if self._running is not None and self._running.kind == "measure":
                self._running.cancel.set()

    def _measure_job(self, workers: list[int], requested_at: float) -> _Job:
        return _Job(
            "measure",
            requested_at,
            generation=self._generation,
            workers=workers,
            implementation=self.implementation.value,
            size=int(self.size.value),
            mode=self.mode.value,
            oversubscribe=bool(self.oversubscribe.value),
        )

    def _submit(self, job: _Job) -> None:
        """Queue ``job``; a new measurement supersedes waiting ones and stops a running one."""
        with self._cond:
            if self._closed:
                raise RuntimeError("this speed-up lab was closed; create a new SpeedupLab")
            if job.kind == "measure":
                self._pending = [queued for queued in self._pending if queued.kind != "measure"]
            else:
                self._pending = [queued for queued in self._pending if queued.kind != job.kind]
            self._pending.append(job)
            if self._running is not None and self._running.kind == "measure":
                self._running.cancel.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="SpeedupLab", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    # --- the worker thread ------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    self._cond.notify_all()
                    return
                job = self._pending.pop(0)
                self._running = job
            try:
                if job.kind == "restart":
                    self._restart_engines()
                else:
                    self._measure(job)
            except Exception as exc:  # the thread must survive and the learner must see it
                self._fail(job, _describe(exc))
            finally:
                with self._cond:
                    self._running = None
                    self._cond.notify_all()

    def _current(self, job: _Job) -> bool:
        with self._cond:
            return job.generation == self._generation and not self._closed

    def _fail(self, job: _Job, message: str) -> None:
        self.last_error = message
        if job.kind == "restart" or self._current(job):
            self._set_status(f"Error: {message}", error=True)

    def _measure(self, job: _Job) -> None:
        self.last_start_latency = time.perf_counter() - job.requested_at
        total = len(job.workers)
        self._set_status(self._progress_text(job, done=0))
        done: list[ScalingPoint] = []

        def on_point(point: ScalingPoint) -> None:
            if not self._merge(job, point):
                job.cancel.set()
                return
            done.append(point)
            self._redraw()
            if len(done) < total:
                self._set_status(self._progress_text(job, len(done), point))

        scaling.sweep(
            self._problem.name,
            job.implementation,
            job.workers,
            job.size,
            mode=job.mode,
            repeat=self._repeat,
            min_time=self._min_time,
            oversubscribe=job.oversubscribe,
            on_point=on_point,
            cancel=job.cancel,
        )
        if self._current(job) and done:
            text = self._summary(done)
            failed = any(not point.ok for point in done)
            if failed and self._engines(job):
                text += " Press Restart engines if an engine died or hangs."
            self._set_status(text, error=failed)

    def _merge(self, job: _Job, point: ScalingPoint) -> bool:
        """Put ``point`` in the current curve (replacing one at the same worker count)."""
        with self._cond:
            if job.generation != self._generation or self._closed:
                return False
            points = [p for p in self._result.points if p.workers != point.workers]
            points.append(point)
            points.sort(key=lambda p: p.workers)
            self._result.points = points
            if point.error:
                self.last_error = f"{_workers(point.workers)}: {point.error}"
            return True

    def _restart_engines(self) -> None:
        from workshop.cluster import shared_cluster

        self._set_status("Restarting the engines…")
        cluster = shared_cluster()
        cluster.restart_engines()
        self._set_status(
            f"Engines restarted ({cluster.n} engines). Move the workers slider or press Run "
            "to measure again."
        )

    # --- text ---------------------------------------------------------------------------------

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

    def _progress_text(self, job: _Job, done: int, last: ScalingPoint | None = None) -> str:
        text = ""
        if last is not None:
            text = f"{_workers(last.workers)}: {self._point_text(last)}. "
        where = " on the engines (the first use starts them)" if self._engines(job) else ""
        if len(job.workers) == 1:
            return f"{text}Measuring {_workers(job.workers[0])}{where}…"
        return (
            f"{text}Sweep: measuring {_workers(job.workers[done])} ({done + 1} of "
            f"{len(job.workers)}){where}…"
        )

    def _engines(self, job: _Job) -> bool:
        return self._problem.implementation(job.implementation).backend == "engines"

    @staticmethod
    def _point_text(point: ScalingPoint) -> str:
        if not point.ok:
            return f"failed: {point.error}"
        m = point.measurement
        text = format_seconds(point.time)
        if m is not None and not m.stable:
            text += f" (unstable: spread {m.spread:.0%})"
        return text

    def _summary(self, measured: Sequence[ScalingPoint]) -> str:
        result = self.result
        parts = []
        ok = [p for p in measured if p.ok]
        if len(measured) == 1:
            point = measured[0]
            parts.append(f"{_workers(point.workers)}: {self._point_text(point)}.")
        elif ok:
            parts.append(f"Measured at {', '.join(str(p.workers) for p in ok)} workers.")
        if len(set(result.workers)) >= 2 and ok and measured[-1].ok:
            index = list(result.workers).index(measured[-1].workers)
            word = "speed-up" if result.mode == "strong" else "scaled speed-up"
            parts.append(
                f"{word.capitalize()} at {_workers(measured[-1].workers)}: "
                f"{result.speedup[index]:.2f}×, efficiency {result.efficiency[index]:.0%}."
            )
        fraction = result.serial_fraction
        if fraction is not None:
            parts.append(f"{_LAWS[result.mode]} fit: serial fraction {fraction:.3f}.")
        failed = [p for p in measured if not p.ok]
        if failed and len(measured) > 1:
            parts.append(
                "Failed: " + "; ".join(f"{_workers(p.workers)}: {p.error}" for p in failed)
            )
        return " ".join(parts)

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
        self.restart_button.layout.display = None if impl.backend == "engines" else "none"

    # --- figure ------------------------------------------------------------------------------

    def _lines(self, result: ScalingResult) -> dict[str, tuple[int, np.ndarray, np.ndarray]]:
        """``{label: (panel, x, y)}`` for every line drawn, from ``result`` alone."""
        workers = result.workers.astype(float)
        highest = float(max(self.workers.max, int(workers.max()) if workers.size else 1))
        ends = np.array([1.0, highest])
        word = "speed-up" if result.mode == "strong" else "scaled speed-up"
        lines: dict[str, tuple[int, np.ndarray, np.ndarray]] = {
            "time": (0, workers, result.times),
            word: (1, workers, result.speedup),
            f"ideal {word}": (1, ends, ends.copy()),
        }
        if result.serial_fraction is not None:
            grid = np.linspace(1.0, highest, _FIT_POINTS)
            lines[f"{_LAWS[result.mode]} fit"] = (1, grid, np.asarray(result.model(grid)))
        lines["efficiency"] = (2, workers, result.efficiency)
        lines["ideal efficiency"] = (2, ends, np.ones(2))
        return lines

    def _redraw(self) -> None:
        """Draw the current curve; called after each point, from the thread that measured it.

        With ipympl this only changes the axes and asks the browser to request a drawing
        (``draw_idle``), which the kernel's main thread renders (see ``_LockedFigure``).
        """
        result = self.result
        lines = self._lines(result)
        size = self.size.value
        impl = self._problem.implementation(result.implementation)
        with self._draw_lock:
            for ax in self._axes:
                ax.clear()
            for label, (panel, x, y) in lines.items():
                ax = self._axes[panel]
                if label.startswith("ideal"):
                    ax.plot(x, y, "k--", lw=1, label=label)
                elif label.endswith("fit"):
                    fraction = result.serial_fraction or 0.0
                    ax.plot(x, y, "-", color="tab:orange", label=f"{label} (s = {fraction:.3f})")
                else:
                    ax.plot(x, y, "o-", color="tab:blue", label=label)
            time_ax, speed_ax, eff_ax = self._axes
            word = "speed-up" if result.mode == "strong" else "scaled speed-up"
            time_ax.set(
                xlabel="workers",
                ylabel="seconds per run",
                title="time" if result.mode == "strong" else "time (size grows with workers)",
            )
            speed_ax.set(xlabel="workers", ylabel=word, title=word)
            eff_ax.set(xlabel="workers", ylabel="efficiency", title="efficiency")
            time_ax.set_ylim(bottom=0)
            speed_ax.set_ylim(bottom=0)
            eff_ax.set_ylim(0, 1.2 if not len(result.efficiency) else max(1.2, *result.efficiency))
            highest = lines["efficiency"][1].max(initial=1.0)
            highest = max(highest, self.workers.max)
            for ax in self._axes:
                ax.set_xlim(0.5, highest + 0.5)
                if highest > self._cores:
                    ax.axvspan(self._cores + 0.5, highest + 0.5, color="0.92", zorder=0)
                ax.grid(alpha=0.3)
            speed_ax.legend(loc="upper left", fontsize="small")
            title = (
                f"{self._problem.title}: {impl.title}, {result.mode} scaling, "
                f"{size:,} {self._problem.size_label}"
            )
            if self._cores < 2:
                title += f"\n{_ONE_CORE_TITLE}"
            self.figure.suptitle(title, fontsize="medium")
            if self._canvas is not None:
                self.figure.canvas.draw_idle()  # the browser asks for the drawing
            else:
                self._show_png()

    def _show_png(self) -> None:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=80)
        self._plot.outputs = (
            {
                "output_type": "display_data",
                "data": {
                    "image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                    "text/plain": f"<speed-up lab figure: {self.figure.get_suptitle()}>",
                },
                "metadata": {},
            },
        )

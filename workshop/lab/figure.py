"""The lab's figure: time, speed-up and efficiency of one ``ScalingResult``, and nothing else.

Three panels drawn from the result alone (plus the ideal lines and the fitted law), shown
either as an ipympl canvas (``%matplotlib widget``) or, headless, as a PNG in an ``Output``
widget. Every measured point carries its error bar, doubtful points (``ScalingResult.notes``)
are ringed in red, and the law is drawn, with its uncertainty band, only once three worker
counts allow a fit; before that each point is labelled with its Karp-Flatt metric. Drawing is
guarded by a lock, because ipympl renders on the kernel's main thread while the lab redraws
from its worker thread. ``draw(..., then=...)`` calls ``then`` once the figure has really been
drawn, so the status line describing it never runs ahead of it.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from workshop.plots import draw_fit, draw_measured
from workshop.scaling import ScalingResult
from workshop.slider_figure import png_bytes

__all__ = ["ONE_CORE_TITLE", "ScalingFigure", "plot_lines"]

ONE_CORE_TITLE = "one usable core cannot show a speed-up: workers take turns on it"
LAWS = {"strong": "Amdahl", "weak": "Gustafson"}
_FIT_POINTS = 100
_SIZE = (11.0, 3.6)  # inches


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
    """A figure, and its canvas when that canvas is itself a widget (ipympl).

    Nothing may draw an ipympl canvas (``canvas.draw()``) before the browser has started its
    view: until then ipympl (0.10) sends raw pixels where the browser expects a PNG, the browser's
    image breaks, and the figure stays blank inside the lab's box. ``canvas.draw_idle()`` only
    asks the browser to request a drawing, which it does once it shows the canvas.
    """
    if _widget_backend_active():
        import matplotlib.pyplot as plt

        with plt.ioff():
            figure = plt.figure(figsize=_SIZE, FigureClass=_LockedFigure, lock=lock)
        if isinstance(figure.canvas, widgets.DOMWidget):
            figure.canvas.header_visible = False
            return figure, figure.canvas
        plt.close(figure)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = _LockedFigure(figsize=_SIZE, lock=lock)
    FigureCanvasAgg(figure)
    return figure, None


def _speedup_word(result: ScalingResult) -> str:
    return "speed-up" if result.mode == "strong" else "scaled speed-up"


def plot_lines(
    result: ScalingResult, highest: int
) -> dict[str, tuple[int, np.ndarray, np.ndarray]]:
    """``{label: (panel, x, y)}`` for every line drawn, from ``result`` alone.

    ``highest`` is the largest worker count the axes must show (the slider's maximum).
    """
    workers = result.workers.astype(float)
    highest_f = float(max(highest, int(workers.max()) if workers.size else 1))
    ends = np.array([1.0, highest_f])
    word = _speedup_word(result)
    lines: dict[str, tuple[int, np.ndarray, np.ndarray]] = {
        "time": (0, workers, result.times),
        word: (1, workers, result.speedup),
        f"ideal {word}": (1, ends, ends.copy()),
    }
    if result.serial_fraction is not None:
        grid = np.linspace(1.0, highest_f, _FIT_POINTS)
        lines[f"{LAWS[result.mode]} fit"] = (1, grid, np.asarray(result.model(grid)))
    lines["efficiency"] = (2, workers, result.efficiency)
    lines["ideal efficiency"] = (2, ends, np.ones(2))
    return lines


class ScalingFigure:
    """Three panels (time, speed-up, efficiency) of a ``ScalingResult``, redrawn on demand.

    ``widget`` is what to put in a layout: the ipympl canvas, or an ``Output`` holding a PNG.
    ``cores`` (the usable cores) shades the oversubscribed part of the worker axis.
    """

    def __init__(self, cores: int) -> None:
        self.cores = cores
        self.lock = threading.RLock()
        self.figure, self._canvas = _new_figure(self.lock)
        self.axes = self.figure.subplots(1, 3)
        self.figure.set_layout_engine("constrained")
        self.widget = self._canvas if self._canvas is not None else widgets.Output()
        self._then: Callable[[], None] | None = None
        if self._canvas is not None:
            self.figure.canvas.mpl_connect("draw_event", self._drawn)

    def draw(
        self,
        result: ScalingResult,
        title: str,
        highest: int,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Draw ``result`` under ``title``, with worker axes up to at least ``highest``, then
        call ``then`` (for the status line that describes this drawing).

        With ipympl this only changes the axes and asks the browser to request a drawing
        (``draw_idle``), which the kernel's main thread renders (see ``_LockedFigure``); ``then``
        runs when that drawing is done (``flush`` runs it at once, for code that waits).
        """
        lines = plot_lines(result, highest)
        with self.lock:
            for ax in self.axes:
                ax.clear()
            self._plot(result, lines)
            self._decorate(result, max(lines["efficiency"][1].max(initial=1.0), highest))
            if self.cores < 2:
                title += f"\n{ONE_CORE_TITLE}"
            self.figure.suptitle(title, fontsize="medium")
            self._then = then
            if self._canvas is not None:
                self.figure.canvas.draw_idle()  # the browser asks for the drawing
                return
            self._show_png()
        self.flush()

    def flush(self) -> None:
        """Run the pending ``then`` of the last ``draw`` now (at most once)."""
        with self.lock:
            then, self._then = self._then, None
        if then is not None:
            then()

    def _drawn(self, _event: Any) -> None:
        self.flush()

    def close(self) -> None:
        """Release the figure (pyplot keeps ipympl figures until closed)."""
        if self._canvas is not None:
            import matplotlib.pyplot as plt

            plt.close(self.figure)

    def _plot(self, result: ScalingResult, lines: dict) -> None:
        errors = {
            "time": result.time_error,
            _speedup_word(result): result.speedup_error,
            "efficiency": result.efficiency_error,
        }
        flagged = result.flagged
        for label, (panel, x, y) in lines.items():
            ax = self.axes[panel]
            if label.startswith("ideal"):
                ax.plot(x, y, "k--", lw=1, label=label)
            elif label.endswith("fit"):
                draw_fit(ax, result, x)
            else:
                draw_measured(ax, x, y, errors[label], flagged, label=label)
        if result.fit is None:
            self._label_karp_flatt(result)

    def _label_karp_flatt(self, result: ScalingResult) -> None:
        """Below three worker counts: each point's Karp-Flatt metric beside it, not a fit."""
        ax = self.axes[1]
        for workers, speedup, metric in zip(
            result.workers, result.speedup, result.karp_flatt, strict=True
        ):
            if np.isfinite(metric):
                ax.annotate(
                    f"e = {metric:.3f}",
                    (workers, speedup),
                    textcoords="offset points",
                    xytext=(6, -12),
                    fontsize="small",
                    color="tab:purple",
                )

    def _decorate(self, result: ScalingResult, highest: float) -> None:
        time_ax, speed_ax, eff_ax = self.axes
        word = _speedup_word(result)
        time_ax.set(
            xlabel="workers",
            ylabel="seconds per run",
            title="time" if result.mode == "strong" else "time (size grows with workers)",
        )
        speed_ax.set(xlabel="workers", ylabel=word, title=word)
        eff_ax.set(xlabel="workers", ylabel="efficiency", title="efficiency")
        time_ax.set_ylim(bottom=0)
        speed_ax.set_ylim(bottom=0)
        tops = result.efficiency + result.efficiency_error
        eff_ax.set_ylim(0, max(1.2, *tops) if len(tops) else 1.2)
        for ax in self.axes:
            ax.set_xlim(0.5, highest + 0.5)
            if highest > self.cores:
                ax.axvspan(self.cores + 0.5, highest + 0.5, color="0.92", zorder=0)
            ax.grid(alpha=0.3)
        speed_ax.legend(loc="upper left", fontsize="small")

    def _show_png(self) -> None:
        self.widget.outputs = (
            {
                "output_type": "display_data",
                "data": {
                    "image/png": base64.b64encode(png_bytes(self.figure, dpi=80)).decode("ascii"),
                    "text/plain": f"<speed-up lab figure: {self.figure.get_suptitle()}>",
                },
                "metadata": {},
            },
        )

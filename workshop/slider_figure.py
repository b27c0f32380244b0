"""Sliders that redraw a Matplotlib figure, for teaching cells that run anywhere.

``ipywidgets.interact`` shows its figure through an Output widget. Clients that run a notebook
without a browser (nbgrader's Validate button and ``nbgrader validate``, ``jupyter nbconvert
--execute``) use nbclient, which imitates that widget by sending messages to the kernel while it
waits for the cell's reply; now and then the reply never comes and the cell waits out its whole
timeout (jupyter/nbclient#312). A ``SliderFigure`` draws into an Image widget instead, which
needs no message back to the kernel, and its current picture doubles as a plain PNG where the
frontend shows no widgets.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure

__all__ = ["SliderFigure", "png_bytes", "widget_bundle"]

NO_WIDGETS_TEXT = (
    "The sliders of this figure need a frontend that shows Jupyter widgets (JupyterLab 4 or "
    "Jupyter Notebook 7, with ipywidgets 8); here only the figure for the values {values} shows."
)


def png_bytes(figure: Figure, dpi: int = 100) -> bytes:
    """``figure`` rendered as PNG (``dpi`` dots per inch), without pyplot's figure manager."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def widget_bundle(widget: widgets.Widget, include: Any = None, exclude: Any = None) -> dict:
    """The MIME bundle ``widget`` displays with (its data only, as a dict to add to)."""
    bundle = widget._repr_mimebundle_(include=include, exclude=exclude) or {}
    return dict(bundle[0] if isinstance(bundle, tuple) else bundle)


class SliderFigure:
    """A figure that ``draw(**values)`` makes and redraws whenever one of ``sliders`` moves.

    ``draw`` gets each slider's value by its keyword and returns a new
    ``matplotlib.figure.Figure`` (made with ``Figure(...)``, not ``plt.figure``, so nothing else
    displays it). ``caption(**values)``, if given, is the line of text shown under the figure.
    Raises ``TypeError`` if a slider is not an ipywidgets value widget.
    """

    def __init__(
        self,
        draw: Callable[..., Figure],
        caption: Callable[..., str] | None = None,
        **sliders: widgets.ValueWidget,
    ) -> None:
        for name, slider in sliders.items():
            if not isinstance(slider, widgets.ValueWidget):
                raise TypeError(
                    f"slider {name!r} must be an ipywidgets value widget such as "
                    f"widgets.FloatSlider(...), got {type(slider).__name__}"
                )
        self.draw = draw
        self.caption = caption
        self.sliders = sliders
        self.image = widgets.Image(format="png")
        self.note = widgets.Label()
        self.widget = widgets.VBox([*sliders.values(), self.image, self.note])
        for slider in sliders.values():
            slider.observe(self.redraw, names="value")
        self.redraw()

    @property
    def values(self) -> dict[str, Any]:
        """Each slider's current value, by its keyword."""
        return {name: slider.value for name, slider in self.sliders.items()}

    def redraw(self, change: Any = None) -> None:
        """Draw the figure for the sliders' current values, and its caption."""
        values = self.values
        self.image.value = png_bytes(self.draw(**values))
        self.note.value = self.caption(**values) if self.caption else ""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The widget where the frontend shows widgets; else the current figure as PNG, and a
        sentence saying what the sliders need where only text shows."""
        data = widget_bundle(self.widget, include, exclude)
        data["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        shown = ", ".join(f"{name}={value!r}" for name, value in self.values.items())
        data["text/plain"] = NO_WIDGETS_TEXT.format(values=shown)
        if self.note.value:
            data["text/plain"] += "\n" + self.note.value
        return data

"""SliderFigure: sliders that redraw a figure without an Output widget."""

from __future__ import annotations

import base64

import ipywidgets as widgets
import pytest
from matplotlib.figure import Figure

from workshop.slider_figure import SliderFigure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _line(slope: float = 1.0, points: int = 3) -> Figure:
    figure = Figure(figsize=(2, 2))
    figure.subplots().plot(range(points), [slope * x for x in range(points)])
    return figure


def test_moving_a_slider_redraws_the_figure_and_its_caption() -> None:
    calls = []

    def draw(slope, points):
        calls.append((slope, points))
        return _line(slope, points)

    slope = widgets.FloatSlider(value=1.0, min=0.0, max=2.0)
    points = widgets.IntSlider(value=3, min=2, max=10)
    shown = SliderFigure(
        draw, caption=lambda slope, points: f"{points} points", slope=slope, points=points
    )
    first = bytes(shown.image.value)
    assert first.startswith(PNG_SIGNATURE)
    assert shown.note.value == "3 points"
    points.value = 7
    assert calls == [(1.0, 3), (1.0, 7)]
    assert bytes(shown.image.value) != first and shown.note.value == "7 points"


def test_without_widgets_the_current_figure_and_a_sentence_show() -> None:
    shown = SliderFigure(_line, slope=widgets.FloatSlider(value=0.5))
    bundle = shown._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]) == bytes(shown.image.value)
    assert "need a frontend that shows Jupyter widgets" in bundle["text/plain"]
    assert "slope=0.5" in bundle["text/plain"]


def test_a_slider_that_is_not_a_widget_is_refused_with_what_would_do() -> None:
    with pytest.raises(TypeError, match=r"slider 'slope' must be an ipywidgets value widget"):
        SliderFigure(_line, slope=0.5)

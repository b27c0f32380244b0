"""The speed-up lab: move a slider, watch time, speed-up and efficiency change, measured live.

Three parts, joined by composition:

- ``controls.SpeedupLab``: the ipywidgets controls and the status line (texts in ``text``);
- ``figure.ScalingFigure``: draws one ``ScalingResult`` in three panels, and nothing else;
- ``jobs.JobQueue``: a worker thread where the newest request wins; it calls
  ``workshop.scaling.sweep`` (or restarts the engines) and reports back through a listener.
"""

from __future__ import annotations

from workshop.lab.controls import SpeedupLab, size_choices, sweep_counts
from workshop.lab.text import ONE_CORE_NOTE

__all__ = ["ONE_CORE_NOTE", "SpeedupLab", "size_choices", "sweep_counts"]

"""The engine behind the HPC-in-Python workshop: cores, timing, scaling, kernels and the speed-up lab.

The public names below are imported on first use, so ``import workshop`` stays cheap in engines
and worker processes that only need a kernel.
"""

from __future__ import annotations

import importlib
from typing import Any

from workshop import notes as _notes

_notes.install()  # noise warnings read as notes, not red error boxes, in Jupyter

__all__ = [
    "EngineCluster",
    "SpeedupLab",
    "compare",
    "get_problem",
    "measure",
    "problems",
    "report",
    "shared_cluster",
    "strong_scaling",
    "sweep",
    "usable_cores",
    "weak_scaling",
]

_HOMES = {
    "EngineCluster": "workshop.cluster",
    "shared_cluster": "workshop.cluster",
    "SpeedupLab": "workshop.lab",
    "compare": "workshop.timing",
    "measure": "workshop.timing",
    "get_problem": "workshop.kernels",
    "problems": "workshop.kernels",
    "report": "workshop.hardware",
    "usable_cores": "workshop.hardware",
    "strong_scaling": "workshop.scaling",
    "sweep": "workshop.scaling",
    "weak_scaling": "workshop.scaling",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'workshop' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

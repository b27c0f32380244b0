"""Drawing measured points honestly: each with its spread, and the doubtful ones told apart.

Shared by the speed-up lab's figure, ``workshop bench``'s plots and the notebooks. A measured
point is drawn with an error bar of one standard deviation of its samples; a point that a note
says not to read at face value (``ScalingResult.notes``: unstable samples, a busy machine,
faster than ideal) is drawn hollow with a red ring, so the eye does not take it as fact. A
fitted law is drawn with the band its uncertainty allows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workshop.scaling import COVERAGE, ScalingResult, amdahl_speedup, gustafson_speedup

__all__ = ["FLAGGED_LABEL", "draw_fit", "draw_measured"]

FLAGGED_LABEL = "doubtful (see the notes)"
ERROR_LABEL = "± 1 standard deviation"


def draw_measured(
    ax: Any,
    x: np.ndarray,
    y: np.ndarray,
    error: np.ndarray,
    flagged: np.ndarray,
    *,
    color: str = "tab:blue",
    label: str | None = None,
) -> None:
    """Points ``(x, y)`` joined by a line, with error bars; ``flagged`` ones hollow, ringed red."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    error = np.nan_to_num(np.asarray(error, dtype=float))
    flagged = np.asarray(flagged, dtype=bool)
    if not x.size:
        ax.plot([], [], "o-", color=color, label=label)
        return
    ax.errorbar(
        x, y, yerr=error, fmt="-", color=color, ecolor=color, elinewidth=1, capsize=3, label=label
    )
    trusted = ~flagged
    ax.plot(x[trusted], y[trusted], "o", color=color)
    if flagged.any():
        ax.plot(
            x[flagged],
            y[flagged],
            "o",
            markerfacecolor="white",
            markeredgecolor="tab:red",
            markeredgewidth=2,
            markersize=9,
            label=FLAGGED_LABEL,
        )


def draw_fit(ax: Any, result: ScalingResult, grid: np.ndarray, *, color: str = "tab:orange"):
    """The fitted law through ``grid`` with its uncertainty band; nothing below three counts."""
    fit = result.fit
    if fit is None:
        return
    law = amdahl_speedup if result.mode == "strong" else gustafson_speedup
    ax.plot(
        grid,
        law(grid, fit.serial_fraction),
        "-",
        color=color,
        label=f"{fit.law} fit (s = {fit.serial_fraction:.3f} ± {COVERAGE * fit.stderr:.3f})",
    )
    ax.fill_between(grid, law(grid, fit.low), law(grid, fit.high), color=color, alpha=0.2, lw=0)

"""The heat equation's stencil and its NumPy reference, shared by every implementation.

Kept apart from ``heat`` (the problem and its implementations) so that the MPI ranks, which
import this, need nothing of the registry or the engines.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ALPHA",
    "FLOPS_PER_POINT",
    "STEPS",
    "bytes_moved",
    "flops",
    "heat_numpy",
    "make_input",
    "step_numpy",
]

#: Diffusion number ``D dt / dx**2``; the explicit scheme is stable for ALPHA <= 0.25.
ALPHA = 0.2
#: Time steps per run: enough that one run is dominated by the stencil, not by set-up.
STEPS = 20
SEED = 20261130
FLOPS_PER_POINT = 7  # 3 adds, 1 multiply and 1 subtract in the bracket, then * ALPHA, + u


def make_input(size: int, steps: int = STEPS) -> tuple[np.ndarray, int]:
    """``(u0, steps)``: a ``size`` x ``size`` float64 grid and the number of time steps.

    The interior is seeded noise in [0, 1); the boundary is fixed: the top row hot (1.0),
    the bottom row cold (0.0), the sides 0.5.
    """
    if size < 3:
        raise ValueError(f"the heat grid needs at least 3 x 3 points, not {size} x {size}")
    u0 = np.random.default_rng(SEED).random((size, size))
    u0[0, :] = 1.0
    u0[-1, :] = 0.0
    u0[1:-1, 0] = 0.5
    u0[1:-1, -1] = 0.5
    return u0, int(steps)


def step_numpy(u: np.ndarray, new: np.ndarray) -> None:
    """One time step from ``u`` into ``new`` (interior only; ``new``'s boundary is left as is)."""
    new[1:-1, 1:-1] = u[1:-1, 1:-1] + ALPHA * (
        u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] - 4.0 * u[1:-1, 1:-1]
    )


def heat_numpy(u0: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` steps with NumPy slicing: the reference every other implementation matches."""
    u, new = u0.copy(), u0.copy()
    for _ in range(steps):
        step_numpy(u, new)
        u, new = new, u
    return u


def bytes_moved(size: int, steps: int) -> int:
    """The least memory traffic of ``steps`` steps on a ``size`` x ``size`` grid, in bytes:
    each step reads one grid of float64 and writes the other (caches hold the neighbours)."""
    return 2 * 8 * size * size * steps


def flops(size: int, steps: int) -> int:
    """Floating-point operations of ``steps`` steps on a ``size`` x ``size`` grid."""
    return FLOPS_PER_POINT * (size - 2) ** 2 * steps

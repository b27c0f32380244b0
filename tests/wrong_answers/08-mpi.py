"""Plausible wrong answers to unit 08-mpi, for the nbgrader round trip in test_course.py.

Each submission replaces solution cells (by nbgrader grade id) of the solution notebook and names
the autograded cells that must then score 0; every other autograded cell must keep full marks.
"""

WRONG_SUBMISSIONS = [
    {
        "description": "halo rows swapped; reduce where every rank needs the answer",
        "replace": {
            # Each rank receives the neighbour's far row instead of its near one: the exchange
            # runs and never hangs, but the grid drifts from serial from the first step on.
            "halo-solution": """
def exchange_rows(comm, u):
    from mpi4py import MPI

    up = comm.rank - 1 if comm.rank > 0 else MPI.PROC_NULL
    down = comm.rank + 1 if comm.rank < comm.size - 1 else MPI.PROC_NULL
    comm.Sendrecv(u[-2], dest=up, recvbuf=u[-1], source=down)
    comm.Sendrecv(u[1], dest=down, recvbuf=u[0], source=up)
""",
            # reduce, not allreduce: right on rank 0, None everywhere else.
            "reduce-solution": """
def grid_stats(comm, block):
    from mpi4py import MPI

    total = comm.reduce(float(block.sum()), op=MPI.SUM, root=0)
    hottest = comm.reduce(float(block.max()), op=MPI.MAX, root=0)
    return total, hottest
""",
        },
        "fails": ["halo-test", "reduce-test"],
    },
    {
        "description": "no exchange at all; the squarest layout, even where it does not fit",
        "replace": {
            "halo-solution": """
def exchange_rows(comm, u):
    pass
""",
            # Right bytes; the layout is the squarest, even where it does not fit the grid.
            "layout-solution": """
def halo_bytes_per_step(n, dims):
    rows, columns = dims
    return 2 * 8 * n * ((rows - 1) + (columns - 1))


def best_dims(n, ranks):
    rows = max(r for r in range(1, int(ranks**0.5) + 1) if ranks % r == 0)
    return (rows, ranks // rows)
""",
        },
        "fails": ["halo-test", "layout-test"],
    },
]

# Cheats: answers that used to score without solving (tests/cheats/), graded for real in the same
# round trip. Each must score 0 on the cells listed.

import runpy as _runpy  # noqa: E402
from pathlib import Path as _Path  # noqa: E402

_kinds = _runpy.run_path(str(_Path(__file__).resolve().parents[1] / "cheats" / "kinds.py"))

CHEATS = [
    _kinds["hooks"]("08-mpi", keep=["reduce-solution", "layout-solution"], fails=["halo-test"]),
    {
        "description": "the course's strips_with replaced by serial NumPy; no exchange written",
        "replace": {
            # The test cell imports strips_with after the answers ran, so in the kernel it gets
            # the serial stand-in and passes; the judge runs the course's own under MPI.
            "halo-solution": """
import workshop.kernels.heat_mpi as _heat_mpi
from workshop.kernels.stencil import heat_numpy as _serial

_heat_mpi.strips_with = lambda comm, u0, steps, exchange: (
    _serial(u0, steps) if comm.rank == 0 else None
)


def exchange_rows(comm, u):
    pass
""",
        },
        "fails": ["halo-test"],
    },
]

WRONG_SUBMISSIONS += _kinds["cheats"](CHEATS)

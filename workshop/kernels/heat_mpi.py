"""The heat equation by domain decomposition over MPI ranks: a Cartesian grid of blocks,
one halo row or column exchanged with each neighbour per step (``Sendrecv``), the blocks
scattered from and gathered to rank 0 (``Scatterv``/``Gatherv``).

Splits need not divide the grid: block sizes differ by at most one row or column. Each rank
updates its block with the very NumPy expression of ``stencil.step_numpy``, so the assembled result
is bitwise identical to the serial NumPy one for every rank count. Run it under MPI with::

    mpiexec -n 4 python -m mpi4py -m workshop.kernels.heat_mpi --size 500 --check

(``-m mpi4py`` makes a rank that raises abort the whole job instead of leaving the others
waiting for its messages.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from workshop.kernels.chunks import blocks
from workshop.kernels.stencil import ALPHA, STEPS, heat_numpy, make_input

__all__ = [
    "Decomposition",
    "HeatRun",
    "decompose",
    "engine_heat",
    "engine_setup",
    "exchange_halos",
    "heat_mpi",
    "main",
    "on_subcomm",
    "row_block_of",
    "strips_with",
    "with_row_block",
]


@dataclass(frozen=True)
class Decomposition:
    """How an ``n`` x ``n`` grid is cut into ``dims[0]`` x ``dims[1]`` blocks, one per rank."""

    n: int
    dims: tuple[int, int]
    row_blocks: list[tuple[int, int]]
    col_blocks: list[tuple[int, int]]

    def block(self, coords: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
        """``((row_start, row_stop), (col_start, col_stop))`` of the rank at ``coords``."""
        return self.row_blocks[coords[0]], self.col_blocks[coords[1]]

    def halo_bytes_per_step(self) -> int:
        """Bytes all ranks send together in one halo exchange (float64, no corners)."""
        px, py = self.dims
        cuts_across_rows = (px - 1) * self.n  # each horizontal cut: a row each way
        cuts_across_cols = (py - 1) * self.n
        return 2 * 8 * (cuts_across_rows + cuts_across_cols)


def decompose(n: int, ranks: int, dims: tuple[int, int] | None = None) -> Decomposition:
    """Cut an ``n`` x ``n`` grid among ``ranks`` ranks.

    ``dims`` fixes the process grid, e.g. ``(ranks, 1)`` for 1-D strips of rows; by default
    MPI's ``Compute_dims`` picks the squarest 2-D grid. ValueError if a rank would get no row
    or no column, naming the most ranks this grid allows.
    """
    from mpi4py import MPI

    if isinstance(ranks, bool) or int(ranks) != ranks or ranks < 1:
        raise ValueError(f"ranks must be a whole number >= 1, not {ranks!r}")
    if dims is None:
        dims = tuple(MPI.Compute_dims(ranks, 2))
    dims = (int(dims[0]), int(dims[1]))
    if dims[0] * dims[1] != ranks or min(dims) < 1:
        raise ValueError(f"dims {dims} must multiply to the number of ranks, {ranks}")
    if max(dims) > n:
        limit = n if min(dims) == 1 else n * n
        raise ValueError(
            f"a {n} x {n} grid cannot be split {dims[0]} x {dims[1]} among {ranks} ranks: "
            f"each rank needs at least one row and one column, so at most {n} ranks along "
            f"a side (at most {limit} ranks in all with this layout); use fewer ranks or a "
            "larger grid"
        )
    return Decomposition(n, dims, blocks(n, dims[0]), blocks(n, dims[1]))


@dataclass
class HeatRun:
    """What one MPI run measured: seconds (slowest rank) and bytes of halo sent (all ranks)."""

    ranks: int
    dims: tuple[int, int]
    size: int
    steps: int
    compute_seconds: float = 0.0
    halo_seconds: float = 0.0
    total_seconds: float = 0.0
    halo_bytes: int = 0
    per_rank: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def exchange_halos(cart: Any, u: np.ndarray) -> int:
    """Fill ``u``'s halo (its outermost rows and columns) from the four neighbours of ``cart``.

    Each exchange is one ``Sendrecv``: send my edge one way while receiving the neighbour's
    from the other, so no pair of ranks can wait on each other (no deadlock). Returns the
    bytes this rank sent.
    """
    from mpi4py import MPI

    up, down = cart.Shift(0, 1)
    left, right = cart.Shift(1, 1)
    sent = 0
    # Rows are contiguous: send and receive straight from and into the array.
    cart.Sendrecv(u[1, 1:-1], dest=up, sendtag=0, recvbuf=u[-1, 1:-1], source=down, recvtag=0)
    cart.Sendrecv(u[-2, 1:-1], dest=down, sendtag=1, recvbuf=u[0, 1:-1], source=up, recvtag=1)
    sent += u[1, 1:-1].nbytes * ((up != MPI.PROC_NULL) + (down != MPI.PROC_NULL))
    # Columns are strided: copy them into contiguous buffers.
    incoming = np.empty(u.shape[0] - 2)
    for edge, dest, halo, source, tag in ((1, left, -1, right, 2), (-2, right, 0, left, 3)):
        outgoing = np.ascontiguousarray(u[1:-1, edge])
        cart.Sendrecv(
            outgoing, dest=dest, sendtag=tag, recvbuf=incoming, source=source, recvtag=tag
        )
        if source != MPI.PROC_NULL:
            u[1:-1, halo] = incoming
        if dest != MPI.PROC_NULL:
            sent += outgoing.nbytes
    return sent


def _interior(start: int, stop: int, n: int) -> slice:
    """Local indices (halo at 0) of the points of ``start .. stop - 1`` that the stencil updates."""
    lo = 1 + (start == 0)
    hi = 1 + (stop - start) - (stop == n)
    return slice(lo, max(lo, hi))


def _step(u: np.ndarray, new: np.ndarray, rows: slice, cols: slice) -> None:
    """``stencil.step_numpy`` on a block with halo: the same expression, the same rounding."""
    r0, r1, c0, c1 = rows.start, rows.stop, cols.start, cols.stop
    new[r0:r1, c0:c1] = u[r0:r1, c0:c1] + ALPHA * (
        u[r0 - 1 : r1 - 1, c0:c1]
        + u[r0 + 1 : r1 + 1, c0:c1]
        + u[r0:r1, c0 - 1 : c1 - 1]
        + u[r0:r1, c0 + 1 : c1 + 1]
        - 4.0 * u[r0:r1, c0:c1]
    )


def _scatter(cart: Any, plan: Decomposition, u0: np.ndarray | None) -> np.ndarray:
    """Rank 0's grid cut into blocks; returns this rank's block inside a one-point halo."""
    from mpi4py import MPI

    pieces = [plan.block(tuple(cart.Get_coords(r))) for r in range(cart.size)]
    counts = [(r1 - r0) * (c1 - c0) for (r0, r1), (c0, c1) in pieces]
    send = None
    if cart.rank == 0:
        flat = np.concatenate([u0[r0:r1, c0:c1].ravel() for (r0, r1), (c0, c1) in pieces])
        send = [flat, counts, np.cumsum([0, *counts[:-1]]), MPI.DOUBLE]
    (r0, r1), (c0, c1) = pieces[cart.rank]
    mine = np.empty((r1 - r0, c1 - c0))
    cart.Scatterv(send, mine, root=0)
    u = np.zeros((r1 - r0 + 2, c1 - c0 + 2))
    u[1:-1, 1:-1] = mine
    return u


def _gather(cart: Any, plan: Decomposition, u: np.ndarray) -> np.ndarray | None:
    """The blocks gathered into the whole grid on rank 0 (None on the other ranks)."""
    from mpi4py import MPI

    pieces = [plan.block(tuple(cart.Get_coords(r))) for r in range(cart.size)]
    counts = [(r1 - r0) * (c1 - c0) for (r0, r1), (c0, c1) in pieces]
    flat = np.empty(sum(counts)) if cart.rank == 0 else None
    recv = [flat, counts, np.cumsum([0, *counts[:-1]]), MPI.DOUBLE] if cart.rank == 0 else None
    cart.Gatherv(np.ascontiguousarray(u[1:-1, 1:-1]), recv, root=0)
    if cart.rank != 0:
        return None
    grid = np.empty((plan.n, plan.n))
    offset = 0
    for ((r0, r1), (c0, c1)), count in zip(pieces, counts, strict=True):
        grid[r0:r1, c0:c1] = flat[offset : offset + count].reshape(r1 - r0, c1 - c0)
        offset += count
    return grid


def heat_mpi(
    comm: Any,
    u0: np.ndarray | None,
    steps: int,
    dims: tuple[int, int] | None = None,
    exchange: Callable[[Any, np.ndarray], Any] | None = None,
) -> tuple[np.ndarray | None, HeatRun]:
    """Run the heat equation on every rank of ``comm`` (collective: all ranks must call it).

    ``u0`` is read on rank 0 only (the others may pass None). Returns ``(grid, run)``: the final
    grid on rank 0 (None elsewhere) and the measured split of time into compute and halo
    exchange. ``exchange(cart, u)`` replaces ``exchange_halos`` (e.g. a learner's own; the
    bytes it sends are then not counted). Raises the same ValueError on every rank for a grid too small for the ranks.
    """
    from mpi4py import MPI

    n, steps = comm.bcast(
        (None if u0 is None else u0.shape[0], int(steps)) if comm.rank == 0 else None
    )
    plan = decompose(n, comm.size, dims)
    cart = comm.Create_cart(plan.dims, periods=[False, False], reorder=False)
    try:
        started = time.perf_counter()
        u = _scatter(cart, plan, u0 if cart.rank == 0 else None)
        new = u.copy()
        (r0, r1), (c0, c1) = plan.block(tuple(cart.Get_coords(cart.rank)))
        rows, cols = _interior(r0, r1, n), _interior(c0, c1, n)
        compute = halo = 0.0
        sent = 0
        for _ in range(steps):
            t0 = time.perf_counter()
            if exchange is None:
                sent += exchange_halos(cart, u)
            else:
                exchange(cart, u)
            t1 = time.perf_counter()
            _step(u, new, rows, cols)
            compute += time.perf_counter() - t1
            halo += t1 - t0
            u, new = new, u
        grid = _gather(cart, plan, u)
        total = time.perf_counter() - started
        mine = {"compute_seconds": compute, "halo_seconds": halo, "total_seconds": total}
        per_rank = cart.gather(mine, root=0)
        run = HeatRun(comm.size, plan.dims, n, steps, halo_bytes=cart.allreduce(sent, op=MPI.SUM))
        if per_rank is not None:
            for key in mine:
                setattr(run, key, max(r[key] for r in per_rank))
            run.per_rank = per_rank
        return grid, run
    finally:
        cart.Free()


def main(argv: list[str] | None = None) -> int:
    """Command line for ``mpiexec``: run, print the measured split as JSON on rank 0."""
    from mpi4py import MPI

    parser = argparse.ArgumentParser(prog="python -m workshop.kernels.heat_mpi")
    parser.add_argument("--size", type=int, default=256, help="grid points per side")
    parser.add_argument("--steps", type=int, default=STEPS, help="time steps")
    parser.add_argument(
        "--layout",
        choices=("1d", "2d"),
        default="2d",
        help="strips of rows (1d) or MPI's squarest grid of blocks (2d)",
    )
    parser.add_argument(
        "--dims",
        type=int,
        nargs=2,
        metavar=("ROWS", "COLUMNS"),
        help="the process grid, e.g. 4 1 (overrides --layout)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare bitwise with serial NumPy on rank 0 (exit 1 if not equal)",
    )
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    dims = (comm.size, 1) if args.layout == "1d" else None
    if args.dims:
        dims = tuple(args.dims)
    u0 = make_input(args.size, args.steps)[0] if comm.rank == 0 else None
    grid, run = heat_mpi(comm, u0, args.steps, dims)
    if comm.rank != 0:
        return 0
    report = run.to_dict()
    if args.check:
        report["bitwise_equal"] = bool(np.array_equal(grid, heat_numpy(u0, args.steps)))
    print(json.dumps(report))
    return 0 if report.get("bitwise_equal", True) else 1


if __name__ == "__main__":
    sys.exit(main())


# --- on ipyparallel MPI engines: sub-communicators of the first k ranks -----------------------

_SUBCOMMS: dict[int, Any] = {}


def engine_setup() -> int:
    """Run once on every MPI engine at the same time: split ``COMM_WORLD`` into the
    communicators of its first ``k`` ranks, for every ``k``, so that any worker count can be
    used later without restarting anything. Returns this engine's MPI rank."""
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    for k in range(1, world.size + 1):
        _SUBCOMMS[k] = world.Split(0 if world.rank < k else MPI.UNDEFINED, key=world.rank)
    return world.rank


def on_subcomm(workers: int, func: Any, *args: Any) -> Any:
    """``func(comm, *args)`` with the communicator of the first ``workers`` ranks.

    If it raises, the error goes back to the client first, then this rank aborts the whole MPI
    job (two seconds later): its partners would otherwise wait for its messages forever.
    """
    try:
        return func(_SUBCOMMS[workers], *args)
    except BaseException:
        import threading

        from mpi4py import MPI

        threading.Timer(2.0, MPI.COMM_WORLD.Abort, args=(1,)).start()
        raise


def strips_with(
    comm: Any, u0: np.ndarray, steps: int, exchange: Callable[[Any, np.ndarray], Any]
) -> np.ndarray | None:
    """The heat equation in strips of rows (``dims = (ranks, 1)``) with the halo exchange
    ``exchange(comm, u)`` of a learner: the whole grid on rank 0, None elsewhere."""
    return heat_mpi(comm, u0 if comm.rank == 0 else None, steps, (comm.size, 1), exchange)[0]


def row_block_of(comm: Any, grid: np.ndarray) -> np.ndarray:
    """This rank's strip of rows of ``grid`` (sizes differ by at most one row)."""
    start, stop = blocks(grid.shape[0], comm.size)[comm.rank]
    return grid[start:stop].copy()


def with_row_block(comm: Any, grid: np.ndarray, func: Callable[[Any, np.ndarray], Any]) -> Any:
    """``func(comm, block)`` with this rank's strip of rows of ``grid``."""
    return func(comm, row_block_of(comm, grid))


def engine_heat(
    workers: int, u0: np.ndarray | None, steps: int, dims: tuple[int, int] | None = None
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """``heat_mpi`` on the first ``workers`` ranks; call it on exactly those engines."""
    return on_subcomm(workers, _heat_dict, u0, steps, dims)


def _heat_dict(comm: Any, u0: Any, steps: int, dims: Any) -> tuple[Any, dict[str, Any]]:
    grid, run = heat_mpi(comm, u0, steps, dims)
    return grid, run.to_dict()

"""08-mpi: a halo exchange bitwise equal to serial, allreduce statistics the same on every rank,
and halo volumes and layouts, on grids, rank counts and layouts drawn now."""

from __future__ import annotations

import numpy as np

from workshop.grading import check_close, check_equal
from workshop.kernels import heat
from workshop.kernels.heat_mpi import decompose
from workshop.verdict.judge import Trial
from workshop.verdict.units.common import expect_raises

PREAMBLE = '''
import numpy as np

from workshop import mpi
from workshop.kernels import heat
from workshop.kernels.heat_mpi import strips_with, with_row_block

ENGINES = 2


class _Started:
    """The MPI engines, started on first use (the layout check needs none)."""

    def __getattr__(self, name):
        from workshop.kernels.engines import mpi_engines

        return getattr(mpi_engines(), name)


engines = _Started()


def _halo(u0, steps, workers):
    return engines.run(strips_with, u0, steps, exchange_rows, workers=workers)[0]


def _stats(grid, workers):
    answers = engines.run(with_row_block, grid, grid_stats, workers=workers)
    return [[float(total), float(hottest)] for total, hottest in answers]
'''


def check_halo(trial: Trial) -> str:
    rng = trial.rng
    cases = [
        (int(rng.integers(3, 9)), 2),
        (int(rng.integers(10, 40)), 2),
        (int(rng.integers(3, 20)), 1),
    ]
    for size, workers in cases:
        u0, _ = heat.make_input(size)
        u0[1:-1, 1:-1] = rng.random((size - 2, size - 2))
        steps = int(rng.integers(1, 9))
        grid = trial.value("_halo", u0, steps, workers, timeout=300)
        check_equal(
            np.asarray(grid),
            heat.heat_numpy(u0, steps),
            f"{size} x {size}, {steps} steps, {workers} ranks",
        )
    return "bitwise equal to serial NumPy on grids and rank counts drawn now"


def check_reduce(trial: Trial) -> str:
    rng = trial.rng
    for workers in (2, 1):
        size = int(rng.integers(4, 40))
        grid = rng.random((size, size)) * 100
        hot = float(rng.uniform(200, 1000))
        grid[int(rng.integers(size // 2, size)), 0] = hot  # on the last rank's rows, often
        answers = trial.value("_stats", grid, workers, timeout=300)
        check_equal(len(answers), workers, "one answer per rank")
        for rank, (total, hottest) in enumerate(answers):
            check_close(total, grid.sum(), f"total on rank {rank}", rtol=1e-12)
            check_close(hottest, hot, f"hottest on rank {rank}", rtol=0)
    return "the same global total and maximum on every rank"


def check_layout(trial: Trial) -> str:
    rng = trial.rng
    for _ in range(5):
        n = int(rng.integers(8, 2000))
        dims = (int(rng.integers(1, 8)), int(rng.integers(1, 8)))
        check_equal(
            trial.value("halo_bytes_per_step", n, dims),
            decompose(n, dims[0] * dims[1], dims).halo_bytes_per_step(),
            f"halo_bytes_per_step({n}, {dims})",
        )
    for n, ranks, allowed in [
        (100, 12, {(3, 4), (4, 3)}),
        (100, 7, {(7, 1), (1, 7)}),
        (3, 4, {(2, 2)}),
        (100, 16, {(4, 4)}),
        (5, 1, {(1, 1)}),
    ]:
        chosen = tuple(trial.value("best_dims", n, ranks))
        if chosen not in allowed:
            raise AssertionError(f"best_dims({n}, {ranks}) gave {chosen}, not one of {allowed}")
    expect_raises(trial, "ValueError", "best_dims", 2, 6)
    return "halo volumes and layouts right for grids drawn now"


CHECKS = {
    "halo-test": check_halo,
    "reduce-test": check_reduce,
    "layout-test": check_layout,
}

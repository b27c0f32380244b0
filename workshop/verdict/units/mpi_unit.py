"""08-mpi: a halo exchange equal to serial bit for bit, an allreduce, a layout from halo bytes.

The learner's MPI functions run for real: the judge writes a driver script and runs it under
``mpiexec`` (``workshop.mpi.run``) from a runner that holds only the course's set-up, so no
answer cell ran in the process that starts the job. The driver splits ``COMM_WORLD`` into the
communicators of its first 1, 2, ... ranks, as the notebook's engines do, runs the course's
``strips_with`` / ``with_row_block`` with the one submitted function on each, and rank 0 writes
the results as JSON. The judge computes the serial NumPy answers itself and compares; grids,
step counts and rank counts (with splits that do not divide the grid) are drawn from the seed.
"""

from __future__ import annotations

import json

import numpy as np

from workshop.grading import check_close, check_equal
from workshop.kernels import heat
from workshop.kernels.heat_mpi import decompose
from workshop.verdict.judge import Trial
from workshop.verdict.units.common import FORBIDDEN, assert_own_code

RANKS = 3  # the largest communicator: 1, 2 and 3 ranks all split the grids unevenly
MPI_TIMEOUT = 180.0  # seconds for one job (a deadlocked exchange is killed with its ranks)
OWN_CODE = (*FORBIDDEN, "heat", "heat_mpi", "strips_with", "with_row_block", "builtins")

PREAMBLE = """
import json
from pathlib import Path

import numpy as np

from workshop import mpi
from workshop.hardware import small_mode

SMALL = small_mode()
"""

DRIVER = """
import json
import sys

import numpy as np
from mpi4py import MPI

from workshop.kernels.heat_mpi import strips_with, with_row_block

_world, _open, _dumps, _array = MPI.COMM_WORLD, open, json.dumps, np.array
with _open(sys.argv[1]) as _handle:
    _case = json.load(_handle)
_namespace = {"__name__": "__answer__"}
exec(compile(_case["source"], "<answer cell>", "exec"), _namespace)
_func = _namespace[_case["function"]]


def _plain(value):
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return [[float(x) for x in row] for row in value]
    try:
        return [float(x) for x in value]
    except Exception:
        return repr(value)[:200]


_results = []
for _ranks, _task in _case["runs"]:
    _comm = _world.Split(0 if _world.rank < _ranks else MPI.UNDEFINED, key=_world.rank)
    _value = None
    if _comm != MPI.COMM_NULL:
        if _case["function"] == "exchange_rows":
            _value = _plain(strips_with(_comm, _array(_task["u0"]), _task["steps"], _func))
        else:
            _value = _plain(with_row_block(_comm, _array(_task["grid"]), _func))
    _everyone = _world.gather(_value, root=0)
    if _world.rank == 0:
        _results.append(_everyone[0] if _case["function"] == "exchange_rows" else _everyone[:_ranks])
if _world.rank == 0:
    with _open(sys.argv[2], "w") as _handle:
        _handle.write(_dumps(_results))
"""


def _mpi_runs(trial: Trial, answer: str, function: str, runs: list) -> list:
    """Each run's result from ``function`` of the submitted ``answer`` cell under MPI."""
    assert_own_code(trial, answer, f"the {answer} cell", OWN_CODE)
    source = "\n".join(
        "" if line.lstrip().startswith("%") else line
        for line in trial.answer_source(answer).splitlines()
    )
    case = json.dumps({"source": source, "function": function, "runs": runs})
    code = (
        f"Path('driver.py').write_text({DRIVER!r})\n"
        f"Path('case.json').write_text({case!r})\n"
        "Path('results.json').unlink(missing_ok=True)\n"
        "try:\n"
        f"    mpi.run(['driver.py', 'case.json', 'results.json'], ranks={RANKS}, "
        f"timeout={MPI_TIMEOUT})\n"
        "    _results = json.loads(Path('results.json').read_text())\n"
        "except mpi.MPIJobError as error:\n"
        "    _results = str(error)[-1500:]\n"
    )
    results = trial.evaluate(code, "_results", timeout=MPI_TIMEOUT + 60)
    if isinstance(results, str):
        raise AssertionError(f"{function} failed under MPI: {results}")
    return results


def _grid(rng: np.random.Generator, size: int) -> np.ndarray:
    u0, _ = heat.make_input(size)
    u0[1:-1, 1:-1] = rng.random((size - 2, size - 2)) * 100
    return u0


def check_halo(trial: Trial) -> str:
    rng = trial.rng
    runs, grids = [], []
    for ranks in (2, 3, 1, 3, 2):
        size = int(rng.integers(3, 26))
        while ranks > 1 and (size - 2) % ranks == 0:  # an uneven split of the rows
            size += 1
        steps = int(rng.integers(1, 9))
        grids.append((_grid(rng, size), steps))
        runs.append((ranks, {"u0": grids[-1][0].tolist(), "steps": steps}))
    results = _mpi_runs(trial, "halo-solution", "exchange_rows", runs)
    for (ranks, _), (u0, steps), got in zip(runs, grids, results, strict=True):
        shown = f"{len(u0)} x {len(u0)} grid drawn now, {steps} steps, {ranks} rank(s)"
        assert got is not None and not isinstance(got, str), f"{shown}: rank 0 got {got!r}"
        check_equal(np.array(got, dtype=float), heat.heat_numpy(u0, steps), shown)
    return f"bitwise equal to serial NumPy on {len(runs)} grids drawn now, 1 to {RANKS} ranks"


def check_reduce(trial: Trial) -> str:
    rng = trial.rng
    runs, grids = [], []
    for ranks in (3, 2, 1):
        size = int(rng.integers(4, 30))
        grid = rng.random((size, size)) * 100
        grid[int(rng.integers(size)), int(rng.integers(size))] = float(rng.uniform(200, 900))
        grids.append(grid)
        runs.append((ranks, {"grid": grid.tolist()}))
    results = _mpi_runs(trial, "reduce-solution", "grid_stats", runs)
    for (ranks, _), grid, answers in zip(runs, grids, results, strict=True):
        for rank, answer in enumerate(answers):
            shown = f"rank {rank} of {ranks}, {len(grid)} x {len(grid)} grid drawn now"
            assert isinstance(answer, list) and len(answer) == 2, (
                f"grid_stats on {shown} returned {answer!r}, not (total, hottest)"
            )
            check_close(answer[0], float(grid.sum()), f"total on {shown}", rtol=1e-12)
            check_close(answer[1], float(grid.max()), f"hottest on {shown}", rtol=0)
    return "the whole grid's total and maximum on every rank, for grids drawn now"


def _best(n: int, ranks: int) -> set[tuple[int, int]]:
    layouts = [(r, ranks // r) for r in range(1, ranks + 1) if ranks % r == 0]
    fits = [(r, c) for r, c in layouts if r <= n and c <= n]
    if not fits:
        return set()
    least = min(decompose(n, ranks, dims).halo_bytes_per_step() for dims in fits)
    return {dims for dims in fits if decompose(n, ranks, dims).halo_bytes_per_step() == least}


def check_layout(trial: Trial) -> str:
    rng = trial.rng
    for _ in range(6):
        n = int(rng.integers(8, 3000))
        dims = (int(rng.integers(1, 8)), int(rng.integers(1, 8)))
        check_equal(
            trial.value("halo_bytes_per_step", n, dims),
            decompose(n, dims[0] * dims[1], dims).halo_bytes_per_step(),
            f"halo_bytes_per_step({n}, {dims})",
        )
    cases = [
        (int(rng.integers(10, 500)), int(rng.choice([4, 6, 8, 9, 12, 16, 18, 24, 7, 11])))
        for _ in range(5)
    ]
    small = int(rng.integers(2, 5))
    cases += [(small, int(rng.choice([q for q in (5, 7, 11, 13) if q > small]))), (3, 4), (5, 1)]
    for n, ranks in cases:
        allowed = _best(n, ranks)
        if not allowed:
            outcome = trial.runner.call("best_dims", n, ranks)
            assert getattr(outcome, "is_a", lambda kind: False)("ValueError"), (
                f"best_dims({n}, {ranks}): no layout of {ranks} ranks fits a {n} x {n} grid, "
                f"so it should raise ValueError, but it gave {getattr(outcome, 'value', outcome)!r}"
            )
            continue
        chosen = trial.value("best_dims", n, ranks)
        chosen = tuple(chosen) if isinstance(chosen, list | tuple) else chosen
        assert chosen in allowed, f"best_dims({n}, {ranks}) gave {chosen}, not one of {allowed}"
    return "halo bytes and the cheapest layout right for grids and rank counts drawn now"


CHECKS = {
    "halo-test": check_halo,
    "reduce-test": check_reduce,
    "layout-test": check_layout,
}

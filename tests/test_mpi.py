"""Real MPI with 2 ranks (the MPICH wheel's mpiexec): the domain-decomposed heat equation is
bitwise equal to serial NumPy, uneven splits included; a deadlock ends at its timeout and its
Sendrecv fix finishes; a rank that raises ends the job with its error shown; nothing is left
running; ipyparallel MPI engines run collectives and the heat equation on any worker count."""

from __future__ import annotations

import json
import textwrap
import uuid

import numpy as np
import psutil
import pytest

from workshop import mpi

NO_MPI = mpi.unavailable_reason()
needs_mpi = pytest.mark.skipif(NO_MPI is not None, reason=f"no MPI here: {NO_MPI}")
MARK = "WORKSHOP_TEST_MPI_JOB"


def _mpi_processes(token: str) -> list[str]:
    """mpiexec, its proxies and ranks started by this test (they inherit its marker variable)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:  # exited; init reaps it in its own time
            continue
        try:
            if proc.environ().get(MARK) == token:
                found.append(f"{proc.info['pid']} {' '.join(proc.info['cmdline'] or [])}")
        except psutil.Error:
            continue
    return found


@pytest.fixture
def nothing_left(monkeypatch):
    """After the test, no process that it started through MPI is running."""
    token = uuid.uuid4().hex
    monkeypatch.setenv(MARK, token)
    yield
    left = _mpi_processes(token)
    assert not left, f"MPI processes left running: {left}"


@needs_mpi
def test_info_names_the_library_and_mpiexec():
    from workshop.hardware import report

    line = dict(report().lines())["MPI"]
    assert "MPICH" in line or "Intel" in line or "Open MPI" in line, line
    assert mpi.mpiexec() in line
    assert "slurm" not in mpi.mpiexec()


@needs_mpi
@pytest.mark.parametrize(("ranks", "layout", "size"), [(2, "1d", 11), (2, "2d", 10), (3, "2d", 13)])
def test_heat_mpi_is_bitwise_serial(ranks, layout, size, nothing_left):
    result = mpi.run(
        ["-m", "workshop.kernels.heat_mpi", "--size", size, "--steps", 7,
         "--layout", layout, "--check"],
        ranks,
        timeout=120,
    )  # fmt: skip
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["bitwise_equal"] is True
    assert report["ranks"] == ranks and report["halo_bytes"] > 0


@needs_mpi
def test_too_many_ranks_names_the_limit(nothing_left):
    with pytest.raises(mpi.MPIJobError, match=r"at most 3 ranks along a side"):
        mpi.run(["-m", "workshop.kernels.heat_mpi", "--size", 3, "--layout", "1d"], 4, timeout=60)


DEADLOCK = """
import os
import sys
import numpy as np
from mpi4py import MPI
comm = MPI.COMM_WORLD
other = 1 - comm.rank
mine, theirs = np.full(1_000_000, comm.rank, dtype=float), np.empty(1_000_000)
if sys.argv[1] == "send-first":  # both ranks send first: each waits for the other to receive
    comm.Send(mine, dest=other)
    comm.Recv(theirs, source=other)
else:
    comm.Sendrecv(mine, dest=other, recvbuf=theirs, source=other)
assert theirs[0] == other
os.write(1, f"exchanged {comm.rank}\\n".encode())  # one write: the ranks' lines never interleave
"""


@needs_mpi
def test_deadlock_ends_at_timeout_and_sendrecv_fixes_it(tmp_path, nothing_left):
    script = tmp_path / "exchange.py"
    script.write_text(textwrap.dedent(DEADLOCK))
    with pytest.raises(mpi.MPIJobError, match="did not finish within 5 s"):
        mpi.run([script, "send-first"], 2, timeout=5)
    fixed = mpi.run([script, "sendrecv"], 2, timeout=60)
    assert sorted(fixed.stdout.split("\n")[:2]) == ["exchanged 0", "exchanged 1"]


@needs_mpi
def test_a_rank_that_raises_ends_the_job_with_its_error(tmp_path, nothing_left):
    script = tmp_path / "fails.py"
    script.write_text(
        "from mpi4py import MPI\n"
        "comm = MPI.COMM_WORLD\n"
        "if comm.rank == 1:\n"
        "    raise ValueError('rank 1 found a negative temperature')\n"
        "comm.recv(source=1)  # rank 0 would wait forever without the abort\n"
    )
    with pytest.raises(mpi.MPIJobError, match="rank 1 found a negative temperature"):
        mpi.run([script], 2, timeout=60)


@pytest.fixture(scope="module")
def mpi_engines():
    """The shared MPI engines (two ranks here), stopped after this module's tests."""
    from workshop.kernels import engines
    from workshop.kernels.mpi_engines import shared_mpi_engines

    ranks = shared_mpi_engines(2)
    assert engines.mpi_engines() is ranks  # the registry's implementations use these
    try:
        yield ranks
    finally:
        pids = []
        if ranks.cluster is not None:  # still running: note the mpiexec that started the ranks
            sets = ranks.cluster.cluster.engines.values()
            pids = [el.pid for es in sets for el in getattr(es, "launchers", {}).values()]
        ranks.stop()
        assert not [pid for pid in pids if psutil.pid_exists(pid) and _running(pid)]


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@needs_mpi
@pytest.mark.slow
def test_mpi_engines_run_collectives_and_heat(mpi_engines):
    from workshop.kernels import get_problem, heat

    assert sorted(mpi_engines.engine_of_rank) == [0, 1]
    view = mpi_engines.cluster.client[:]  # what %%px runs on: code sent as text
    view.execute(
        "from mpi4py import MPI; total = MPI.COMM_WORLD.allreduce(MPI.COMM_WORLD.rank + 1)",
        block=True,
    )
    assert view.pull("total", block=True) == [3, 3]
    u0, steps = heat.make_input(23, 4)
    expected = heat.heat_numpy(u0, steps)
    for workers in (2, 1, 2):  # changing the worker count restarts nothing
        grid, run = mpi_engines.heat(u0, steps, workers)
        assert np.array_equal(grid, expected) and run["ranks"] == workers
    with pytest.raises(ValueError, match=r"workers must be in \[1, 2\]"):
        mpi_engines.heat(u0, steps, 3)
    implementation = get_problem("heat").implementation("mpi")
    assert implementation.on_engines and implementation.parallel
    assert np.array_equal(implementation(u0, steps, workers=2), expected)


@needs_mpi
@pytest.mark.slow
def test_lab_sweeps_the_mpi_implementation(mpi_engines):
    from workshop.lab import SpeedupLab

    lab = SpeedupLab(problem="heat", implementation="mpi", size=64, workers=2, oversubscribe=True)
    try:
        lab.run_button.click()
        result = lab.wait(timeout=240)
    finally:
        lab.close()
    assert list(result.workers) == [1, 2], result
    assert all(t > 0 for t in result.times)
    assert mpi_engines.running, "the lab's sweep must not restart or stop the MPI engines"


def test_without_mpiexec_everything_says_how_to_install_it(monkeypatch):
    from workshop.errors import MissingCapability
    from workshop.hardware import report
    from workshop.kernels import get_problem

    monkeypatch.setattr(mpi, "mpiexec", lambda: None)
    reason = mpi.unavailable_reason()
    assert "no mpiexec" in reason and "pip install mpi4py mpich" in reason
    with pytest.raises(MissingCapability, match="conda install -c conda-forge mpi4py mpich"):
        mpi.run(["-c", "pass"], 2)
    implementation = get_problem("heat").implementation("mpi")
    assert not implementation.available
    with pytest.raises(MissingCapability, match="pip install mpi4py mpich"):
        implementation(*get_problem("heat").make_input(8), workers=2)
    assert "pip install mpi4py mpich" in dict(report().lines())["MPI"]


def _fails_on_rank_one(comm):
    if comm.rank == 1:
        raise ValueError("rank 1 found a negative temperature")
    return comm.recv(source=1)  # rank 0 would wait forever


# Sent by value, as a notebook's function is (the engines cannot import this test module).
_fails_on_rank_one.__module__ = "__main__"


@needs_mpi
@pytest.mark.slow
def test_a_rank_that_raises_on_the_engines_ends_the_job_with_its_error(mpi_engines):
    """Last in this module: it leaves the engines stopped, as a learner would find them."""
    with pytest.raises(RuntimeError, match=r"rank 1 raised .*negative temperature"):
        mpi_engines.run(_fails_on_rank_one, workers=2)
    assert not mpi_engines.running

"""The engine cluster: views over k engines, dead engines, failed starts, no processes left over."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import psutil
import pytest
from threadpoolctl import threadpool_info

from workshop.cluster import EngineCluster, engine_launchers
from workshop.kernels import get_problem


def _processes_of(cluster_id: str) -> list[psutil.Process]:
    """Live processes that ipyparallel started for ``cluster_id`` (it sets IPP_CLUSTER_ID)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE or process.pid == os.getpid():
                continue
            if process.environ().get("IPP_CLUSTER_ID") == cluster_id:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="slurm"):
        EngineCluster(2, engines="carrier-pigeon")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=">= 1"):
            EngineCluster(bad)
    with pytest.raises(ValueError, match="start_timeout"):
        EngineCluster(2, start_timeout=0)
    assert {"local", "mpi", "slurm", "pbs"} <= set(engine_launchers())
    assert EngineCluster(engines="MPI").engines == "mpi"


def test_engine_count_defaults_to_usable_cores(monkeypatch):
    monkeypatch.setenv("WORKSHOP_CPUS", "3")
    assert EngineCluster().n == 3


@pytest.mark.slow
def test_views_over_the_first_engines(shared_engines):
    cluster = shared_engines
    assert cluster.running and cluster.n == 2
    first, second = cluster.engine_ids
    assert cluster.view(1).targets == [first]
    assert cluster.view(2).targets == [first, second]
    pids = cluster.view(2).apply_sync(os.getpid)
    assert sorted(pids) == sorted(cluster.engine_pids.values()) and len(set(pids)) == 2
    assert cluster.view(1, balanced=True).apply_sync(os.getpid) == cluster.engine_pids[first]
    for bad in (0, 3, -1):
        with pytest.raises(ValueError, match=r"\[1, 2\]"):
            cluster.view(bad)
    # Results are waited for with a timeout, never forever.
    sleeping = cluster.client[first].apply_async(time.sleep, 1.0)
    with pytest.raises(TimeoutError, match="task_timeout"):
        cluster.gather([sleeping], timeout=0.1)
    sleeping.wait(10)
    # The messaging an engine call pays on top of its work, as the bench measures it.
    from workshop.kernels import engines

    trips = [engines.round_trip(k, repeat=3) for k in (1, 2)]
    assert all(0 < trip < 5 for trip in trips), trips
    # BLAS pools on the engines were limited to one thread.
    for pools in cluster.view(2).apply_sync(threadpool_info):
        assert all(pool["num_threads"] == 1 for pool in pools)


@pytest.mark.slow
def test_killed_engine_gives_clear_error_then_restart_recovers(shared_engines):
    cluster = shared_engines
    problem = get_problem("pi")
    engines = problem.implementation("engines")
    victim = cluster.engine_pids[cluster.engine_ids[-1]]
    inputs = problem.make_input(6_000_000_000)  # about a second per engine, or more
    killer = threading.Timer(0.3, os.kill, (victim, signal.SIGKILL))
    started = time.monotonic()
    killer.start()
    try:
        with pytest.raises(RuntimeError, match="died") as info:
            engines(*inputs, workers=2)
    finally:
        killer.cancel()
    assert time.monotonic() - started < 30
    assert "restart_engines()" in str(info.value)

    old_ids = cluster.engine_ids
    cluster.restart_engines()
    assert len(cluster.engine_ids) == 2 and not set(cluster.engine_ids) & set(old_ids)
    assert not psutil.pid_exists(victim) or psutil.Process(victim).status() == "zombie"
    small = problem.make_input(problem.small_size)
    problem.validate(engines(*small, workers=2), small)


@pytest.mark.slow
def test_engines_that_exit_give_clear_error_and_leave_nothing(engine_cluster):
    from traitlets.config import Config

    cluster_id = f"workshop-test-{uuid.uuid4().hex[:8]}"
    config = Config()
    config.LocalEngineLauncher.engine_cmd = [
        sys.executable,
        "-c",
        "import sys; print('engine refuses to start'); sys.exit(3)",
    ]
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="exited during start-up") as info:
        engine_cluster(
            2, start_timeout=60, cluster_kwargs={"config": config, "cluster_id": cluster_id}
        )
    assert time.monotonic() - started < 30  # noticed at once, not at the timeout
    assert "engine refuses to start" in str(info.value)
    assert _processes_of(cluster_id) == []
    assert not engine_cluster.clusters[-1].running


@pytest.mark.slow
def test_start_timeout_gives_clear_error_and_leaves_nothing(engine_cluster):
    cluster_id = f"workshop-test-{uuid.uuid4().hex[:8]}"
    with pytest.raises(RuntimeError, match=r"within 0\.5 s \(start_timeout\)"):
        engine_cluster(2, start_timeout=0.5, cluster_kwargs={"cluster_id": cluster_id})
    assert _processes_of(cluster_id) == []


# A process that uses a spawn process pool (it starts multiprocessing's resource tracker) and an
# engine cluster, then waits. argv[1] is the cluster id.
_OWNER = """
import os, sys, time
from workshop.cluster import EngineCluster
from workshop.kernels import pools
pools.run_tasks(1, os.getpid, [()])
cluster = EngineCluster(2, cluster_kwargs={"cluster_id": sys.argv[1]}).start()
print("ready", flush=True)
"""


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _left_running(processes: list[psutil.Process], cluster_id: str, within: float) -> list[str]:
    """Wait up to ``within`` s for ``processes`` and those of ``cluster_id`` to exit; kill and
    name the ones that did not."""
    deadline = time.monotonic() + within
    while True:
        left = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        left += _processes_of(cluster_id)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    names = []
    for process in left:
        with contextlib.suppress(psutil.Error):
            names.append(" ".join(process.cmdline()[1:3]))
            process.kill()
    return names


@pytest.mark.slow
def test_a_kernel_asked_to_shut_down_exits_by_itself_and_leaves_nothing():
    # Asked to shut down, ipykernel waits (up to about 15 s) for every child in its process group
    # to go, and multiprocessing's resource tracker ignores SIGTERM. The kernel manager sends
    # SIGTERM after half its shutdown_wait_time, and then nothing registered with atexit runs.
    jupyter_client = pytest.importorskip("jupyter_client")
    cluster_id = f"workshop-test-{uuid.uuid4().hex[:8]}"
    manager = jupyter_client.KernelManager(kernel_name="python3", shutdown_wait_time=20.0)
    manager.start_kernel()
    kernel = manager.provisioner.process
    family: list[psutil.Process] = []
    try:
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(60)
        code = f"import sys; sys.argv[1:] = [{cluster_id!r}]\n{_OWNER}"
        reply = client.execute_interactive(code, timeout=120)
        assert reply["content"]["status"] == "ok", reply["content"]
        client.stop_channels()
        family = _descendants(kernel.pid)
        assert _processes_of(cluster_id)
    finally:
        manager.shutdown_kernel(now=False)
    left = _left_running(family, cluster_id, within=30)
    assert kernel.returncode == 0, "the kernel did not exit by itself: it had to be terminated"
    assert not left, f"still running after the kernel exited: {left}"


@pytest.mark.slow
def test_a_terminated_owner_leaves_no_engines():
    # SIGTERM to the owner's process group, as Jupyter does: the owner dies without running
    # atexit, and the guard process stops the cluster.
    cluster_id = f"workshop-test-{uuid.uuid4().hex[:8]}"
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER + "time.sleep(300)", cluster_id],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    family: list[psutil.Process] = []
    try:
        assert owner.stdout.readline().strip() == "ready"
        family = _descendants(owner.pid)
        assert _processes_of(cluster_id)
    finally:
        os.killpg(owner.pid, signal.SIGTERM)
        owner.wait(30)
    left = _left_running(family, cluster_id, within=60)
    assert owner.returncode == -signal.SIGTERM
    assert not left, f"still running after their owner was terminated: {left}"

"""The workshop's single-node Slurm, for real: daemons on 127.0.0.1, jobs, accounting, clean stop.

One Slurm serves the module (a session fixture in a temporary state folder, stopped at the end);
the start/stop edge cases use a second one of their own. Skipped, saying why, where Slurm cannot
run (not Linux, not installed: tools/install-slurm installs it, or no permission).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from workshop import scheduler
from workshop.scheduler import SchedulerError

needs_slurm = pytest.mark.skipif(
    scheduler.missing() is not None, reason=f"Slurm cannot run here: {scheduler.missing()}"
)
DAEMONS = {"munged", "slurmctld", "slurmd", "slurmstepd"}


def _processes_of(folder: Path) -> list[str]:
    """Daemons and job steps of the Slurm in ``folder`` that still run."""
    conf = str(folder / "slurm.conf")
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        try:
            if process.info["name"] not in DAEMONS:
                continue
            mine = str(folder) in " ".join(process.info["cmdline"] or [])
            if mine or process.environ().get("SLURM_CONF") == conf:
                found.append(f"{process.info['name']} {process.pid}")
        except psutil.Error:
            continue
    return found


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A running Slurm for the module; SLURM_CONF and WORKSHOP_SLURM_DIR point at it."""
    folder = tmp_path_factory.mktemp("slurm") / "state"
    saved = {name: os.environ.get(name) for name in ("WORKSHOP_SLURM_DIR", "SLURM_CONF", "PATH")}
    os.environ["WORKSHOP_SLURM_DIR"] = str(folder)
    try:
        status = scheduler.connect(folder)
        assert status.running and status.started_now
        yield folder
    finally:
        scheduler.stop(folder)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    assert not _processes_of(folder), "Slurm processes left running after stop()"


@pytest.fixture
def jobs(tmp_path: Path, slurm: Path) -> Path:
    """A working folder for job scripts and their output."""
    return tmp_path


# ------------------------------------------------------------------------------ the cluster


@needs_slurm
def test_status_reports_an_idle_node_on_loopback_with_two_partitions(slurm: Path) -> None:
    status = scheduler.status(slurm)
    assert status.running and status.node_state == "idle" and status.cpus >= 2
    assert status.partitions == ("compute", "transfer")
    partitions = scheduler.run("sinfo", "-h", "-o", "%P %a").stdout.split()
    assert partitions == ["compute*", "up", "transfer", "up"]
    daemons = set(status.pids.values())
    for connection in psutil.net_connections("tcp"):
        if connection.pid in daemons and connection.status == psutil.CONN_LISTEN:
            assert connection.laddr.ip == "127.0.0.1", f"{connection} listens beyond loopback"
    assert "running on 127.0.0.1" in str(status)


@needs_slurm
def test_cli_reports_status(slurm: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "workshop", "scheduler", "status"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "node localhost is idle" in result.stdout and "SLURM_CONF=" in result.stdout


# ------------------------------------------------------------------------------------ jobs


@needs_slurm
def test_batch_job_runs_and_is_accounted(jobs: Path) -> None:
    script = "#!/bin/bash\n#SBATCH --job-name=hello\n#SBATCH --ntasks=2\n#SBATCH --mem=100M\n"
    script += "echo hello from job $SLURM_JOB_ID on $SLURM_NTASKS tasks\n"
    job = scheduler.submit(script, cwd=jobs)
    (record,) = scheduler.wait(job)
    assert (record.name, record.state, record.exit_code, record.cpus) == (
        "hello",
        "COMPLETED",
        0,
        2,
    )
    assert record.memory_mib == 100 and record.partition == "compute"
    assert (jobs / f"slurm-{job}.out").read_text() == f"hello from job {job} on 2 tasks\n"
    accounted = scheduler.run("sacct", "-c", "-j", str(job), "-n", "-o", "jobid,state").stdout
    assert accounted.split() == [str(job), "COMPLETED"]


@needs_slurm
def test_array_with_throttle_and_dependent_gather(jobs: Path) -> None:
    task = (
        "#!/bin/bash\nsleep 1\necho $((SLURM_ARRAY_TASK_ID ** 2)) > square-$SLURM_ARRAY_TASK_ID\n"
    )
    array = scheduler.submit(task, "--array=1-4%2", cwd=jobs)
    gather = "#!/bin/bash\ncat square-* | paste -sd+ | bc > total\n"
    after = scheduler.submit(gather, f"--dependency=afterok:{array}", cwd=jobs)
    records = scheduler.wait([array, after])
    tasks = [r for r in records if r.array_job_id == array]
    assert sorted(r.array_task_id for r in tasks) == [1, 2, 3, 4]
    assert all(r.state == "COMPLETED" for r in records)
    assert (jobs / "total").read_text().strip() == "30"
    (gathered,) = [r for r in records if r.job_id == after]
    assert gathered.start >= max(r.end for r in tasks)
    for moment in {r.start for r in tasks}:  # the throttle: never more than 2 tasks at once
        assert sum(r.start <= moment < r.end for r in tasks) <= 2


@needs_slurm
def test_exceeding_memory_kills_the_job_and_the_accounting_says_so(jobs: Path) -> None:
    hog = "#!/bin/bash\n#SBATCH --mem=40M\n"
    hog += f'{sys.executable} -c "b = bytearray(400 * 2**20); import time; time.sleep(10)"\n'
    job = scheduler.submit(hog, cwd=jobs)
    (record,) = scheduler.wait(job, timeout=60)
    assert record.state == "FAILED" and record.signal == 9
    assert "Exceeded job memory limit" in (jobs / f"slurm-{job}.out").read_text()


@needs_slurm
def test_impossible_and_malformed_requests_get_slurms_reason_in_plain_words(jobs: Path) -> None:
    cases = {
        ("--ntasks=999",): "no node here can ever run this",
        ("--partition=gpu",): "no such partition: the partitions are compute, transfer",
        ("--time=9:00:00",): "above the partition's maximum",
        ("--partition=transfer", "--cpus-per-task=4"): "no node here can ever run this",
    }
    for options, meaning in cases.items():
        with pytest.raises(SchedulerError, match=meaning):
            scheduler.submit("#!/bin/bash\nhostname\n", *options, cwd=jobs)
    with pytest.raises(SchedulerError, match="first line must be an interpreter line"):
        scheduler.submit("echo no shebang\n", cwd=jobs)
    with pytest.raises(
        SchedulerError, match=r"misspelled.*Slurm said: option '--cpus=2' is ambiguous"
    ):
        scheduler.submit("#!/bin/bash\n#SBATCH --cpus=2\nhostname\n", cwd=jobs)


@needs_slurm
def test_interactive_srun_and_the_transfer_partition(jobs: Path) -> None:
    result = scheduler.run("srun", "--ntasks=2", "--label", "hostname", cwd=jobs)
    assert sorted(result.stdout.split()) == ["0:", "1:", *sorted([os.uname().nodename] * 2)]
    moved = scheduler.run("srun", "--partition=transfer", "cp", "/etc/hostname", "copy", cwd=jobs)
    assert moved.returncode == 0 and (jobs / "copy").is_file()
    # --pty needs a terminal; the unit shows it as text, here a pseudo-terminal runs it.
    script = shutil.which("script")
    if script:
        pty = subprocess.run(
            [script, "-qec", "srun --pty bash -c 'tty; echo ok'", "/dev/null"],
            env=scheduler.environment(),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=jobs,
        )
        assert pty.returncode == 0 and "/dev/pts/" in pty.stdout and "ok" in pty.stdout


@needs_slurm
def test_pbs_script_through_qsub_and_its_workdir_caveat(jobs: Path) -> None:
    if shutil.which("qsub") is None:
        pytest.skip("qsub (slurm-wlm-torque) is not installed: tools/install-slurm installs it")
    script = jobs / "pbs.sh"
    script.write_text(
        "#!/bin/bash\n#PBS -N pbsdemo\n#PBS -l select=1:ncpus=2:mem=100mb\n"
        "#PBS -l walltime=00:05:00\n"
        'echo "workdir=[$PBS_O_WORKDIR] cpus=$SLURM_CPUS_ON_NODE"\n'
        'cd "${PBS_O_WORKDIR:-$SLURM_SUBMIT_DIR}" && pwd\n'
    )
    result = scheduler.run("qsub", str(script), cwd=jobs)
    job = int(result.stdout.strip().split(".")[0])
    (record,) = scheduler.wait(job)
    assert (record.name, record.state, record.cpus) == ("pbsdemo", "COMPLETED", 2)
    output = (jobs / f"pbs.sh.o{job}").read_text().splitlines()
    assert output[0] == "workdir=[] cpus=2", "the wrapper leaves PBS_O_WORKDIR unset"
    assert output[1] == str(jobs)


@needs_slurm
def test_mpi_job_with_srun_pmi2(jobs: Path) -> None:
    pytest.importorskip("mpi4py.MPI", reason="mpi4py (and the mpich wheel) are not installed")
    program = jobs / "allreduce.py"
    program.write_text(
        "from mpi4py import MPI\ncomm = MPI.COMM_WORLD\n"
        "total = comm.allreduce(comm.rank + 1)\n"
        "print(comm.rank, comm.size, total, flush=True)\n"
    )
    script = f"#!/bin/bash\n#SBATCH --ntasks=3\nsrun --mpi=pmi2 {sys.executable} {program}\n"
    job = scheduler.submit(script, cwd=jobs)
    (record,) = scheduler.wait(job, timeout=90)
    output = (jobs / f"slurm-{job}.out").read_text()
    assert record.state == "COMPLETED", output
    lines = sorted(line.split() for line in output.splitlines() if line[:1].isdigit())
    assert lines == [[str(rank), "3", "6"] for rank in range(3)], output


@needs_slurm
def test_ipyparallel_engines_started_through_slurm(
    slurm: Path, jobs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipyparallel as ipp

    monkeypatch.chdir(jobs)  # ipyparallel writes its job script into the working folder
    cluster = ipp.Cluster(
        n=2, engines="slurm", controller_ip="127.0.0.1", profile_dir=str(jobs / "profile")
    )
    try:
        client = cluster.start_and_connect_sync(activate=False)
        client.wait_for_engines(2, timeout=90)
        hosts = client[:].apply_sync(os.getenv, "SLURM_JOB_ID")
        assert len(hosts) == 2 and all(hosts), "engines run inside a Slurm job"
        assert client.load_balanced_view().apply_sync(pow, 2, 10) == 1024
    finally:
        cluster.stop_cluster_sync()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and scheduler.run("squeue", "-h").stdout.strip():
        time.sleep(0.2)
    assert not scheduler.run("squeue", "-h").stdout.strip(), "the engines' job is still queued"


# ------------------------------------------------------------------------- start and stop


@needs_slurm
def test_start_twice_stop_twice_and_recover_from_a_killed_run(tmp_path: Path) -> None:
    folder = tmp_path / "own"
    try:
        first = scheduler.start(folder)
        again = scheduler.start(folder)
        assert first.started_now and not again.started_now and first.pids == again.pids
        job = scheduler.submit("#!/bin/bash\nsleep 300\n", folder=folder, cwd=tmp_path)
        scheduler.run("squeue", "-h", "-j", str(job), folder=folder)
        assert scheduler.stop(folder) is True
        assert not _processes_of(folder), "stop() left daemons or the job's sleep running"
        assert scheduler.stop(folder) is False
        assert not scheduler.status(folder).running
        # A killed run: daemons gone without a word, pid files and sockets left behind.
        killed = scheduler.start(folder)
        for pid in killed.pids.values():
            psutil.Process(pid).kill()
        psutil.wait_procs([psutil.Process(p) for p in killed.pids.values()], timeout=10)
        recovered = scheduler.start(folder)
        assert recovered.running and recovered.started_now
        later = scheduler.submit("#!/bin/bash\ntrue\n", folder=folder, cwd=tmp_path)
        assert later > job, "job ids continue after a restart, so the accounting stays unique"
        assert scheduler.wait(later, folder=folder)[0].state == "COMPLETED"
    finally:
        scheduler.stop(folder)
    assert not _processes_of(folder)


def test_commands_without_a_started_slurm_say_how_to_start_it(tmp_path: Path) -> None:
    with pytest.raises(SchedulerError, match="workshop scheduler start"):
        scheduler.run("sinfo", folder=tmp_path / "never")
    assert "never started" in str(scheduler.status(tmp_path / "never"))


def test_missing_says_what_is_missing_and_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert "Slurm runs on Linux only, and this is darwin" in scheduler.missing()
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(shutil, "which", lambda name, path=None: None)
    reason = scheduler.missing()
    assert "Slurm is not installed (slurmctld" in reason and "apt-get install slurm-wlm" in reason
    monkeypatch.setattr(shutil, "which", lambda name, path=None: f"/usr/bin/{name}")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.delenv("WORKSHOP_SLURM_UNPRIVILEGED", raising=False)
    assert "needs root, or, in a single-user container only" in scheduler.missing()
    monkeypatch.setenv("WORKSHOP_SLURM_UNPRIVILEGED", "1")
    assert scheduler.missing() is None
    with pytest.raises(SchedulerError, match="cannot start Slurm: Slurm runs on Linux only"):
        monkeypatch.setattr(sys, "platform", "win32")
        scheduler.start(Path("/nonexistent/state"))

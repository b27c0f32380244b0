"""09-scheduler: a job script asking for exactly what is asked, an array with a dependent
gather, and why a job ended, read from Slurm's accounting.

The unit declares ``network: "host"`` (its solution notebook's metadata): as in its grading
kernel, the runner starts its own unprivileged Slurm inside its sandbox (Slurm needs the host's
network to resolve its host), in the runner's folder. Jobs are submitted there and run as the
runner's user; the judge reads what happened to them from that Slurm's accounting file and the
files they wrote from the runner's folder on disk. Names, resources, values, exit codes and
signals are drawn from the seed, so a hard-coded answer fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workshop import scheduler
from workshop.grading import check_equal
from workshop.verdict.judge import Trial
from workshop.verdict.runners import Raised

JOB_TIMEOUT = 120.0  # seconds a job or pipeline may take to finish

PREAMBLE = """
import json
import os
import subprocess
import tempfile
from pathlib import Path

# This runner's own Slurm, in its own folder (whatever Slurm the grader's environment names).
os.environ["WORKSHOP_SLURM_DIR"] = str(Path.cwd() / ".workshop-slurm")

from workshop import scheduler

SLURM = scheduler.connect()
JOBS = Path.cwd()
"""


def _slurm(trial: Trial) -> Path:
    """The runner's Slurm state folder, as the judge sees it on disk."""
    return Path(trial.runner.folder) / ".workshop-slurm"


def _submit(trial: Trial, script: str, *options: str, folder: str = ".") -> int:
    """Submit ``script`` with sbatch in the runner (as its user); the job id."""
    job = trial.runner.run(
        f"_job = scheduler.submit({script!r}, *{options!r}, cwd={folder!r})", "_job"
    )
    return int(Trial.returned(job, "sbatch"))


def _wait(trial: Trial, ids: list[int]) -> list[scheduler.JobRecord]:
    try:
        return scheduler.wait(ids, timeout=JOB_TIMEOUT, folder=_slurm(trial))
    except scheduler.SchedulerError as error:
        raise AssertionError(str(error)) from None


def _read(trial: Trial, relative: str) -> str:
    """A file a job wrote in the runner's folder, read here (never through a symbolic link)."""
    path = Path(trial.runner.folder) / relative
    assert not path.is_symlink() and path.is_file(), f"the job wrote no file {relative}"
    return path.read_text(errors="replace")[:10_000]


def _script_case(trial: Trial, name: str, tasks: int, memory: int, minutes: int, part: str):
    token = f"{trial.rng.integers(1 << 40):x}"
    command = f'test "$SLURM_NTASKS" = {tasks} && echo {token} > job-{token}.txt'
    script = trial.value("job_script", name, tasks, memory, minutes, command, part)
    assert isinstance(script, str), f"job_script(...) should return a str, not {script!r}"
    tested = trial.runner.run(
        f"_t = scheduler.run('sbatch', '--test-only', input={script!r}, check=False)",
        "(_t.returncode, _t.stderr)",
    )
    code, stderr = Trial.returned(tested, "sbatch --test-only")
    assert code == 0, f"sbatch --test-only refused the script for {name!r}: {stderr.strip()}"
    (record,) = _wait(trial, [_submit(trial, script)])
    asked = (record.name, record.partition, record.cpus, record.memory_mib, record.time_limit)
    check_equal(
        asked,
        (name, part, tasks, memory, minutes),
        f"job {name!r}'s (name, partition, CPUs, memory MB, time limit minutes)",
    )
    check_equal(record.state, "COMPLETED", f"the state of job {record.job_id} ({name!r})")
    check_equal(_read(trial, f"job-{token}.txt"), f"{token}\n", "what it wrote")


def check_script(trial: Trial) -> str:
    rng = trial.rng
    _script_case(
        trial,
        f"run_{rng.integers(1000)}",
        int(rng.integers(2, 4)),
        int(rng.integers(100, 700)),
        int(rng.integers(2, 60)),
        "compute",
    )
    _script_case(
        trial,
        f"stage{rng.integers(100)}",
        1,
        int(rng.integers(50, 400)),
        int(rng.integers(1, 30)),
        "transfer",
    )
    return "job scripts drawn now asked for exactly their resources and ran"


def check_pipeline(trial: Trial) -> str:
    rng = trial.rng
    values = [int(v) for v in rng.integers(-20, 30, size=int(rng.integers(4, 7)))]
    throttle = int(rng.integers(2, 4))
    made = trial.runner.run(
        "_folder = Path(tempfile.mkdtemp(dir=Path.cwd(), prefix='pipeline-'))\n"
        "_folder.chmod(0o777)\n"
        f"(_folder / 'values.txt').write_text(''.join(f'{{v}}\\n' for v in {values!r}))\n"
        f"_ids = submit_pipeline({values!r}, {throttle}, _folder)\n",
        "(_folder.name, _ids)",
    )
    folder, ids = Trial.returned(made, "submit_pipeline(...)")
    assert isinstance(ids, tuple) and len(ids) == 2 and all(type(i) is int for i in ids), (
        f"submit_pipeline should return (array job id, gather job id), not {ids!r}"
    )
    array, gather = ids
    records = _wait(trial, [array, gather])
    tasks = sorted((r for r in records if r.array_job_id == array), key=lambda r: r.array_task_id)
    check_equal([r.array_task_id for r in tasks], list(range(1, len(values) + 1)), "array indices")
    for moment in {r.start for r in tasks}:
        running = sum(r.start <= moment < r.end for r in tasks)
        assert running <= throttle, f"{running} tasks ran at once; the throttle was {throttle}"
    gathered = [r for r in records if r.job_id == gather]
    assert gathered, f"job {gather} is not the gather job of array {array}"
    assert gathered[0].start >= max(r.end for r in tasks), (
        "the gather job started before the array's tasks ended: make it depend on the array"
    )
    check_equal(gathered[0].state, "COMPLETED", "the gather job's state")
    total = _read(trial, f"{folder}/total.txt").strip()
    check_equal(total, str(sum(v**3 for v in values)), f"total.txt for values {values}")
    return f"{len(values)} cubes drawn now, at most {throttle} at a time, then the gather"


def _reason(trial: Trial, job: int) -> Any:
    outcome = trial.runner.call("failure_reason", job)
    if isinstance(outcome, Raised):
        raise AssertionError(f"failure_reason({job}) raised {outcome}")
    return outcome.value


def check_reason(trial: Trial) -> str:
    rng = trial.rng
    code = int(rng.integers(1, 120))
    signal_name, number = [("TERM", 15), ("USR1", 10), ("HUP", 1)][int(rng.integers(3))]
    cases = {
        "completed": "#!/bin/bash\ntrue\n",
        f"exit code {code}": f"#!/bin/bash\nexit {code}\n",
        f"killed by signal {number}": f"#!/bin/bash\nkill -{signal_name} $$\n",
    }
    submitted = {reason: _submit(trial, script) for reason, script in cases.items()}
    held = _submit(trial, "#!/bin/bash\nsleep 60\n", "--hold")
    trial.runner.run(f"scheduler.run('scancel', '{held}')", "None")
    _wait(trial, [*submitted.values(), held])
    for reason, job in submitted.items():
        check_equal(_reason(trial, job), reason, f"failure_reason({job})")
    check_equal(_reason(trial, held), "cancelled", f"failure_reason({held}), a cancelled job")
    missing = int(rng.integers(10**8, 10**9))
    outcome = trial.runner.call("failure_reason", missing)
    assert isinstance(outcome, Raised) and outcome.is_a("ValueError"), (
        f"failure_reason({missing}), a job that never ran, should raise ValueError"
    )
    return "why jobs drawn now ended, read from the accounting"


CHECKS = {
    "script-test": check_script,
    "pipeline-test": check_pipeline,
    "reason-test": check_reason,
}

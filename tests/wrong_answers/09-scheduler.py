"""Plausible wrong answers to unit 09-scheduler, for the nbgrader round trip in test_course.py.

Each submission replaces solution cells (by nbgrader grade id) of the solution notebook and names
the autograded cells that must then score 0; every other autograded cell must keep full marks.
"""

WRONG_SUBMISSIONS = [
    {
        "description": "memory per CPU instead of per job; a gather job without its dependency",
        "replace": {
            # Asks for memory_mb per CPU: right for one task, twice too much for the visible
            # check's two tasks, so the accounting shows the wrong total.
            "script-solution": """
def job_script(name, tasks, memory_mb, minutes, command, partition="compute"):
    return (
        "#!/bin/bash\\n"
        f"#SBATCH --job-name={name}\\n"
        f"#SBATCH --partition={partition}\\n"
        f"#SBATCH --ntasks={tasks}\\n"
        f"#SBATCH --mem-per-cpu={memory_mb}M\\n"
        f"#SBATCH --time={minutes}\\n"
        f"{command}\\n"
    )
""",
            # The gather job does not wait for the array (no dependency): it sums too early.
            "pipeline-solution": """
def submit_pipeline(values, throttle, folder):
    cube = (
        "#!/bin/bash\\n"
        'v=$(sed -n "${SLURM_ARRAY_TASK_ID}p" values.txt)\\n'
        "echo $(( v * v * v )) > cube-$SLURM_ARRAY_TASK_ID.txt\\n"
    )
    array = scheduler.submit(cube, f"--array=1-{len(values)}%{throttle}", cwd=folder)
    total = "#!/bin/bash\\ncat cube-*.txt | awk '{ s += $1 } END { print s }' > total.txt\\n"
    gather = scheduler.submit(total, cwd=folder)
    return array, gather
""",
        },
        "fails": ["script-test", "pipeline-test"],
    },
]

# Cheats: answers that used to score without solving (tests/cheats/), graded for real in the same
# round trip. Each must score 0 on the cells listed.

import runpy as _runpy  # noqa: E402
from pathlib import Path as _Path  # noqa: E402

_kinds = _runpy.run_path(str(_Path(__file__).resolve().parents[1] / "cheats" / "kinds.py"))

CHEATS = [
    _kinds["hooks"](
        "09-scheduler", keep=["reason-solution"], fails=["script-test", "pipeline-test"]
    ),
    {
        "description": "the total written by the notebook itself; one plain job's id twice",
        "replace": {
            # total.txt is right, and the ids are of a job that really ran, but no array ran.
            "pipeline-solution": """
def submit_pipeline(values, throttle, folder):
    (Path(folder) / "total.txt").write_text(f"{sum(v**3 for v in values)}\\n")
    job = scheduler.submit("#!/bin/bash\\ntrue\\n", cwd=folder)
    return job, job
""",
        },
        "fails": ["pipeline-test"],
    },
]

WRONG_SUBMISSIONS += _kinds["cheats"](CHEATS)

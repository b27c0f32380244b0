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

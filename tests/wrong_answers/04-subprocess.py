"""Plausible wrong answers to unit 04-subprocess, for the nbgrader round trip in test_course.py.

Each submission replaces solution cells (by nbgrader grade id) of the solution notebook and names
the autograded cells that must then score 0; every other autograded cell must keep full marks.
"""

WRONG_SUBMISSIONS = [
    {
        "description": "subprocess's own exceptions passed through instead of clear ones",
        "replace": {
            # Works, but a failure raises CalledProcessError and a timeout TimeoutExpired.
            "run-command-solution": '''
def run_command(command, timeout=60.0):
    return subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=timeout
    ).stdout
''',
        },
        "fails": ["run-command-error-test", "run-command-timeout-test"],
    },
    {
        "description": "the timed-out program is left running; the sweep runs one at a time",
        "replace": {
            # Raises the right TimeoutError, but never kills the program it gave up on.
            "run-command-solution": '''
def run_command(command, timeout=60.0):
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        output, errors = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"{shlex.join(command)} took longer than {timeout} s") from None
    if process.returncode != 0:
        raise CommandError(command, process.returncode, errors)
    return output
''',
            # Right records in the right order, but each run waits for the one before.
            "sweep-solution": '''
def run_sweep(steps_values, seed=0, extra_args=(), max_parallel=4):
    return [
        json.loads(run_command([*TOOL, "--steps", str(s), "--seed", str(seed), *extra_args]))
        for s in steps_values
    ]
''',
        },
        "fails": ["run-command-timeout-test", "sweep-parallel-test"],
    },
]

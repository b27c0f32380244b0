"""The random-walk command-line tool that unit 04 drives through subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from workshop.examples import random_walk

COMMAND = [sys.executable, "-m", "workshop.examples.random_walk"]


def test_simulate_is_reproducible():
    assert random_walk.simulate(100, seed=1) == random_walk.simulate(100, seed=1)
    assert random_walk.simulate(0, seed=1, walkers=3) == 0.0
    # a fair walk's mean squared distance is about the number of steps
    assert 50 < random_walk.simulate(100, seed=2, walkers=400) < 200


@pytest.mark.parametrize(("args", "message"), [((-1,), "steps"), ((5, 0, 0), "walkers")])
def test_simulate_validates(args, message):
    with pytest.raises(ValueError, match=message):
        random_walk.simulate(*args)


def test_main_prints_one_json_line(capsys):
    assert random_walk.main(["--steps", "50", "--seed", "7", "--walkers", "2"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["mean_squared_distance"] == random_walk.simulate(50, 7, 2)
    assert record["steps"] == 50 and record["seed"] == 7 and record["walkers"] == 2
    assert record["started"] <= record["finished"]


@pytest.mark.parametrize(
    "argv",
    [["--steps", "-1"], ["--steps", "3", "--walkers", "0"], ["--steps", "3", "--delay", "-1"]],
)
def test_main_rejects_bad_arguments_with_status_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        random_walk.main(argv)
    assert exit_info.value.code == 2
    assert "must be >=" in capsys.readouterr().err


def test_runs_as_a_program():
    done = subprocess.run(
        [*COMMAND, "--steps", "10", "--seed", "1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(done.stdout)["mean_squared_distance"] == random_walk.simulate(10, 1)
    failed = subprocess.run([*COMMAND, "--steps", "-5"], capture_output=True, text=True, timeout=60)
    assert failed.returncode == 2
    assert "--steps must be >= 0, got -5" in failed.stderr

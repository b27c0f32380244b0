"""The ``workshop`` command: info, bench and lab, run as a user runs them."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from workshop.cli import main

REPO = Path(__file__).resolve().parents[1]


def workshop(*args: str, timeout: float = 300, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "workshop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )


def test_info_prints_the_report():
    result = workshop("info", env={"WORKSHOP_CPUS": "1"})
    assert result.returncode == 0, result.stderr
    assert re.search(r"Usable cores\s+1 \(set by WORKSHOP_CPUS=1", result.stdout)
    data = json.loads(workshop("info", "--json").stdout)
    assert data["usable_cores"] >= 1
    assert "cores_reason" in data


def test_bad_input_is_a_clear_error(capsys):
    assert main(["bench", "--problem", "nope", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err
    assert "'pi'" in err and "'mandelbrot'" in err


@pytest.mark.slow
def test_quick_bench_writes_results_without_overwriting(tmp_path):
    args = ("bench", "--quick", "--problem", "pi", "--no-lab", "--out", str(tmp_path))
    first = workshop(*args, env={"WORKSHOP_SMALL": "1"})
    assert first.returncode == 0, first.stderr[-3000:]
    folders = sorted(tmp_path.iterdir())
    assert len(folders) == 1
    results = json.loads((folders[0] / "results.json").read_text())
    names = {row["implementation"] for row in results["rows"]}
    assert {"python", "numpy", "numba", "numba-parallel", "processes", "engines"} <= names
    measured = [row for row in results["rows"] if row["measurement"]]
    assert measured, "no implementation was measured"
    assert all(row["error"] is None for row in measured)
    if any(row["implementation"] == "c" for row in measured):
        numba = next(row for row in measured if row["implementation"] == "numba")
        assert numba["ratio_to_reference"] > 0
    assert {sweep["implementation"] for sweep in results["sweeps"]} >= {"numba-parallel", "engines"}
    assert (folders[0] / "scaling-pi.png").stat().st_size > 0
    table = (folders[0] / "results.md").read_text()
    assert "| pi | numba |" in table
    assert "## Targets" in table

    first_files = {path.name: path.read_bytes() for path in folders[0].iterdir()}
    second = workshop(*args, env={"WORKSHOP_SMALL": "1"})
    assert second.returncode == 0, second.stderr[-3000:]
    assert len(list(tmp_path.iterdir())) == 2  # a new folder for the second run
    assert {path.name: path.read_bytes() for path in folders[0].iterdir()} == first_files, (
        "the second run changed the first run's results"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
def test_lab_listens_on_loopback_with_a_token(tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path),
        "JUPYTER_TOKEN": token,
        "WORKSHOP_WORKSPACE": str(tmp_path / "my-work"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "workshop", "lab", "--no-browser", f"--ServerApp.port={port}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline:
            try:
                status = get(f"http://127.0.0.1:{port}/api/status?token={token}")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert status == 200, "JupyterLab did not answer on 127.0.0.1"
        assert get(f"http://127.0.0.1:{port}/api/status") == 403  # no token, no access
        listening = {
            conn.laddr.ip
            for conn in __import__("psutil").Process(server.pid).net_connections()
            if conn.status == "LISTEN"
        }
        assert listening and listening <= {"127.0.0.1"}, listening
        # The lab opens the learner's own copy of the first unit, not the committed exercise.
        assert (tmp_path / "my-work/00-welcome/00-welcome.ipynb").is_file()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def test_release_and_grade_reject_bad_input(tmp_path, capsys):
    assert main(["release", "no-such-unit"]) == 2
    assert "the units are 00-welcome" in capsys.readouterr().err
    assert main(["grade", str(tmp_path / "missing")]) == 2
    assert "<student>/<unit>/<notebook>.ipynb" in capsys.readouterr().err

"""The grading sandbox on its own: what a confined process sees and may do, and the refusal to
grade without one. (tests/hostile/ attacks it through real grading runs.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workshop import memory_ceiling, sandbox
from workshop.course import GradingRefused, grade
from workshop.sandbox import Limits, environment_paths, kernel_environment, sandbox_command

ROOT = Path(__file__).resolve().parents[1]
needs_bwrap = pytest.mark.skipif(
    sandbox.unavailable() is not None, reason=f"no sandbox here: {sandbox.unavailable()}"
)

PROBE = r"""
import json, os, pathlib, subprocess, sys
def can_write(path):
    try:
        pathlib.Path(path).write_text("x")
        return True
    except OSError:
        return False
child = subprocess.run([sys.executable, "-I", "-c", "print(6 * 7)"], capture_output=True, text=True)
print(json.dumps({
    "cwd": os.getcwd(),
    "home": os.environ["HOME"],
    "env": {k: v for k, v in os.environ.items() if k.startswith("WORKSHOP_")},
    "private": pathlib.Path(sys.argv[1], "t.txt").read_text(),
    "private_writable": can_write(pathlib.Path(sys.argv[1], "new.txt")),
    "home_writable": can_write("mine.txt"),
    "tmp_writable": can_write("/tmp/scratch.txt"),
    "solutions": pathlib.Path(sys.argv[2]).exists(),
    "child": child.stdout.strip(),
    "home_listing": sorted(os.listdir(sys.argv[3])) if os.path.isdir(sys.argv[3]) else [],
}))
"""


@needs_bwrap
def test_a_confined_process_sees_only_what_it_needs(tmp_path: Path, monkeypatch) -> None:
    work, private = tmp_path / "work", tmp_path / "private"
    work.mkdir()
    private.mkdir()
    (private / "t.txt").write_text("private tests")
    os.chmod(work, 0o777)  # grading as root drops to `nobody`
    monkeypatch.setenv("WORKSHOP_GRADING_SEED", "7")
    command = sandbox_command(
        [sys.executable, "-c", PROBE, str(private), str(ROOT / "solutions"), str(Path.home())],
        work=work,
        read_only=[*environment_paths(), private],
        env=kernel_environment(work),
    )
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["cwd"] == seen["home"] == str(work)
    assert seen["env"]["WORKSHOP_GRADING_SEED"] == "7"
    assert seen["private"] == "private tests" and not seen["private_writable"]
    assert seen["home_writable"] and seen["tmp_writable"]
    assert not seen["solutions"], "the course's solutions are visible"
    assert seen["child"] == "42", "a kernel may start child processes"
    # Of the instructor's home, only folders holding this Python environment are there.
    bound = {
        path.relative_to(Path.home()).parts[0]
        for path in environment_paths()
        if path.is_relative_to(Path.home())
    }
    assert set(seen["home_listing"]) <= bound
    assert not (tmp_path / "scratch.txt").exists()


def test_network_is_unshared_unless_a_unit_asks_for_the_host_network(tmp_path: Path) -> None:
    closed = sandbox_command(["/bin/true"], work=tmp_path, read_only=[])
    shared = sandbox_command(["/bin/true"], work=tmp_path, read_only=[], network=True)
    assert "--unshare-net" in closed and "--unshare-net" not in shared
    assert "--die-with-parent" in closed and "--unshare-pid" in closed


def test_limits_grow_with_the_full_sizes() -> None:
    small, full = Limits.for_size(True), Limits.for_size(False)
    assert small.cell_seconds < full.cell_seconds and small.notebook_seconds < full.notebook_seconds


def test_no_bubblewrap_means_a_clear_reason(monkeypatch) -> None:
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    sandbox.unavailable.cache_clear()
    try:
        reason = sandbox.unavailable()
    finally:
        sandbox.unavailable.cache_clear()
    assert reason is not None and "apt-get install bubblewrap" in reason


def test_grading_without_a_sandbox_is_refused_unless_said_unsafe(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr("workshop.course.sandbox_unavailable", lambda: "bwrap is missing")
    with pytest.raises(GradingRefused, match=r"bwrap is missing.*--unsafe-no-sandbox"):
        grade(tmp_path / "anything", root=ROOT)
    from workshop.cli import main

    assert main(["grade", str(tmp_path / "missing")]) == 2


SPREAD_OUT = """
import subprocess, sys
hold = "b = bytearray(150 * 2**20); import time; time.sleep(2)"
children = [subprocess.Popen([sys.executable, "-c", hold]) for _ in range(4)]
print("exit codes", [child.wait() for child in children])
"""


@needs_bwrap
@pytest.mark.skipif(
    memory_ceiling.unavailable() is not None,
    reason=f"no memory control group here: {memory_ceiling.unavailable()}",
)
def test_a_kernels_processes_together_stay_under_its_memory_ceiling(tmp_path: Path) -> None:
    """Four children of 150 MiB each are each far under the per-process limit; together they
    pass a 256 MiB ceiling, so the ceiling ends some, and the run is told why."""
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook
    from traitlets.config import Config

    sandbox.INCIDENTS.clear()
    notebook = new_notebook(cells=[new_code_cell(SPREAD_OUT)])
    ceiling = Config({"SandboxedKernelManager": {"total_memory": 256 * 2**20}})
    groups_before = set(_ceiling_groups())
    client = NotebookClient(
        notebook, kernel_manager_class=sandbox.SandboxedKernelManager, config=ceiling, timeout=120
    )
    client.execute(cwd=str(tmp_path))  # starts the kernel, runs the cell, shuts it down
    printed = "".join(output.get("text", "") for output in notebook.cells[0].outputs)
    codes = json.loads(printed.split("exit codes", 1)[1].strip())
    assert -9 in codes and 0 in codes, codes  # some were ended, the rest ran
    assert any("held over 0.25 GiB together" in i.what for i in sandbox.INCIDENTS), (
        sandbox.INCIDENTS
    )
    assert set(_ceiling_groups()) == groups_before, "the control group was left behind"


def _ceiling_groups() -> list[str]:
    found = memory_ceiling._own_group()
    return [] if found is None else [p.name for p in found[0].glob("workshop-*")]

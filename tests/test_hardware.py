"""Usable cores from fake cgroup files, the environment override, and the report."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workshop import hardware
from workshop.errors import MissingCapability


def fake_cgroup(tmp_path: Path, files: dict[str, str], proc: str) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    proc_file = tmp_path / "proc_self_cgroup"
    proc_file.write_text(proc)
    return root, proc_file


def test_cgroup_v2_quota_is_read_and_rounded_up(tmp_path, monkeypatch):
    root, proc = fake_cgroup(
        tmp_path, {"user.slice/job/cpu.max": "150000 100000\n"}, "0::/user.slice/job\n"
    )
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    monkeypatch.setattr(hardware, "_affinity", lambda: 16)
    assert hardware.cgroup_cpu_quota(root, proc) == pytest.approx(1.5)
    cores = hardware.detect_cores({}, root, proc)
    assert cores.count == 2
    assert cores.reason == "cgroup quota 1.5 of 16 CPUs"


def test_cgroup_v2_unlimited(tmp_path):
    root, proc = fake_cgroup(tmp_path, {"cpu.max": "max 100000\n"}, "0::/\n")
    assert hardware.cgroup_cpu_quota(root, proc) is None


def test_cgroup_v1_quota(tmp_path, monkeypatch):
    root, proc = fake_cgroup(
        tmp_path,
        {"cpu,cpuacct/cpu.cfs_quota_us": "100000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
        "4:memory:/\n2:cpu,cpuacct:/\n",
    )
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    monkeypatch.setattr(hardware, "_affinity", lambda: 16)
    assert hardware.detect_cores({}, root, proc) == hardware.CoreCount(
        1, "cgroup quota 1 of 16 CPUs"
    )


def test_cgroup_v1_no_quota(tmp_path):
    root, proc = fake_cgroup(
        tmp_path,
        {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"},
        "2:cpu:/\n",
    )
    assert hardware.cgroup_cpu_quota(root, proc) is None


def test_affinity_smaller_than_quota_wins(tmp_path, monkeypatch):
    root, proc = fake_cgroup(tmp_path, {"cpu.max": "400000 100000\n"}, "0::/\n")
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(hardware, "_affinity", lambda: 3)
    assert hardware.detect_cores({}, root, proc) == hardware.CoreCount(
        3, "CPU affinity allows 3 of 8 CPUs"
    )


def test_no_cgroup_files_means_cpu_count(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(hardware, "_affinity", lambda: None)
    cores = hardware.detect_cores({}, tmp_path / "missing", tmp_path / "missing-proc")
    assert cores == hardware.CoreCount(4, "4 CPUs on this machine")


def test_environment_override(tmp_path):
    cores = hardware.detect_cores({"WORKSHOP_CPUS": "3"}, tmp_path, tmp_path / "none")
    assert cores.count == 3
    assert "WORKSHOP_CPUS=3" in cores.reason


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_bad_override_names_the_variable(value):
    with pytest.raises(ValueError, match="WORKSHOP_CPUS"):
        hardware.detect_cores({"WORKSHOP_CPUS": value})


def test_cgroup_memory_limits(tmp_path):
    root, proc = fake_cgroup(tmp_path, {"memory.max": "2147483648\n"}, "0::/\n")
    assert hardware.cgroup_memory_limit(root, proc) == 2 * 2**30
    root, proc = fake_cgroup(
        tmp_path / "v1", {"memory/memory.limit_in_bytes": str(2**63 - 4096)}, "4:memory:/\n"
    )
    assert hardware.cgroup_memory_limit(root, proc) is None


def test_small_mode(monkeypatch):
    monkeypatch.setenv("WORKSHOP_SMALL", "1")
    assert hardware.small_mode()
    monkeypatch.setenv("WORKSHOP_SMALL", "0")
    assert not hardware.small_mode()


def test_missing_compiler_says_how_to_get_one(monkeypatch):
    monkeypatch.setattr(hardware.shutil, "which", lambda name: None)
    monkeypatch.delenv("CC", raising=False)
    assert hardware.c_compiler() is None
    with pytest.raises(MissingCapability, match="apt-get install build-essential"):
        hardware.require_c_compiler()


def test_report_mentions_one_core(monkeypatch):
    monkeypatch.setenv("WORKSHOP_CPUS", "1")
    info = hardware.report()
    assert info.usable_cores == 1
    assert not info.can_show_speedup
    text = str(info)
    assert "set by WORKSHOP_CPUS=1" in text
    assert "one usable core cannot show a parallel speed-up" in text
    assert "| Usable cores | 1" in info._repr_markdown_()


def test_package_exports_its_public_names():
    import workshop

    for name in workshop.__all__:
        assert callable(getattr(workshop, name)), name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        workshop.nope  # noqa: B018

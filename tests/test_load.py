"""The load monitor: CPU time used by other programs, told apart from our own."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from workshop import load
from workshop.load import LoadMonitor, LoadReading


class FakeCounters:
    """Busy and own CPU seconds that a test advances by hand, with a clock to match."""

    def __init__(self) -> None:
        self.now = self.busy = self.own = 0.0

    def advance(self, seconds: float, busy_cores: float, own_cores: float) -> None:
        self.now += seconds
        self.busy += busy_cores * seconds
        self.own += own_cores * seconds

    def monitor(self, cpus: int = 2, usable: int = 2) -> LoadMonitor:
        return LoadMonitor(
            busy_seconds=lambda: self.busy,
            own_seconds=lambda: self.own,
            cpus=cpus,
            usable_cores=usable,
            clock=lambda: self.now,
        )


def test_other_programs_are_busy_minus_our_own_time():
    counters = FakeCounters()
    monitor = counters.monitor()
    counters.advance(2.0, busy_cores=2.0, own_cores=1.2)  # we used 1.2 cores, others 0.8
    reading = monitor.reading()
    assert reading.seconds == pytest.approx(2.0)
    assert reading.other_cores == pytest.approx(0.8)
    assert reading.busy
    note = reading.note()
    assert "Other programs used 0.8 of the 2 usable cores" in note
    assert "2.0 s" in note


def test_our_own_work_alone_reads_as_quiet():
    counters = FakeCounters()
    monitor = counters.monitor()
    counters.advance(1.0, busy_cores=2.0, own_cores=2.0)
    reading = monitor.reading()
    assert reading.other_cores == pytest.approx(0.0)
    assert not reading.busy
    assert reading.note() is None


def test_each_reading_covers_the_time_since_the_last():
    counters = FakeCounters()
    monitor = counters.monitor()
    counters.advance(1.0, busy_cores=1.0, own_cores=0.0)
    assert monitor.reading().busy
    counters.advance(1.0, busy_cores=0.05, own_cores=0.0)
    second = monitor.reading()
    assert second.other_cores == pytest.approx(0.05)
    assert not second.busy


def test_too_short_an_interval_says_nothing_and_keeps_counting():
    counters = FakeCounters()
    monitor = counters.monitor()
    counters.advance(0.01, busy_cores=2.0, own_cores=0.0)
    assert monitor.reading() is None
    counters.advance(1.0, busy_cores=0.0, own_cores=0.0)
    assert monitor.reading().seconds == pytest.approx(1.01)


def test_cpus_beyond_the_quota_may_be_busy_without_harm():
    """A cgroup quota of 2 cores on 8 CPUs: others may use 6 of them before we wait."""
    counters = FakeCounters()
    monitor = counters.monitor(cpus=8, usable=2)
    counters.advance(1.0, busy_cores=5.0, own_cores=0.0)
    assert not monitor.reading().busy
    counters.advance(1.0, busy_cores=7.0, own_cores=0.0)
    assert monitor.reading().busy


def test_reading_round_trips_as_plain_data():
    reading = LoadReading(seconds=1.0, busy_cores=1.5, own_cores=1.0, cpus=2, usable_cores=2)
    data = reading.to_dict()
    assert data["other_cores"] == pytest.approx(0.5) and data["busy"] is True


def test_measure_load_checks_its_interval():
    with pytest.raises(ValueError, match=r"at least 0\.05 s"):
        load.measure_load(0.0)


BUSY_LOOP = "import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass\n"


def _detached_busy_program(seconds: float) -> None:
    """Start a busy program that is not our child (its parent exits at once): 'another program'."""
    launcher = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {BUSY_LOOP.format(seconds=seconds)!r}],"
        " start_new_session=True)\n"
    )
    subprocess.run([sys.executable, "-c", launcher], check=True)


def test_a_real_busy_program_outside_our_process_tree_is_noticed():
    monitor = load.start_monitor()
    if monitor is None:
        pytest.skip("psutil cannot read the CPU counters here")
    _detached_busy_program(1.5)
    time.sleep(1.2)
    reading = monitor.reading()
    assert reading is not None
    assert reading.other_cores >= 0.3, reading
    assert reading.note() is None or "Other programs used" in reading.note()


def test_a_busy_child_of_ours_counts_as_our_own():
    import psutil

    monitor = load.start_monitor()
    if monitor is None:
        pytest.skip("psutil cannot read the CPU counters here")
    child = subprocess.Popen([sys.executable, "-c", BUSY_LOOP.format(seconds=1.0)])
    time.sleep(0.8)
    times = psutil.Process(child.pid).cpu_times()
    reading = monitor.reading()
    child.wait(timeout=30)
    # however little CPU a loaded machine gave the child, all of it counts as ours
    assert reading.own_cores * reading.seconds >= 0.9 * (times.user + times.system), reading

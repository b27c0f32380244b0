"""A memory ceiling for a whole process tree: a grading kernel and everything it starts.

Per-process limits (``RLIMIT_AS``) do not bound a kernel that starts many processes, each under
its own limit. A Linux control group does: every process started inside it stays inside, and
when their memory together passes the ceiling the kernel's out-of-memory killer ends one of
them. The group is made below this process's own (cgroup v2, or v1's ``memory`` hierarchy), so
it needs write access there, and under v2 the memory controller enabled for that group's
children (``cgroup.subtree_control``): root in a container, or a group delegated to the grader.
Where there is none, :func:`unavailable` says why and grading goes on with the per-process limits
only.

Sources: the kernel's cgroup documentation, ``Documentation/admin-guide/cgroup-v2.rst``
(``memory.max``, ``memory.events``) and ``cgroup-v1/memory.rst`` (``memory.limit_in_bytes``,
``memory.oom_control``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
import uuid
from pathlib import Path

__all__ = ["MemoryCeiling", "unavailable"]

ROOT = Path("/sys/fs/cgroup")


def _own_group() -> tuple[Path, str] | None:
    """(folder of this process's memory cgroup, "v2" or "v1"), or None where there is none."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        number, controllers, path = line.split(":", 2)
        if number == "0" and controllers == "":
            unified = ROOT / "unified" if (ROOT / "unified").is_dir() else ROOT
            folder = unified / path.lstrip("/")
            if "memory" in _read(folder / "cgroup.controllers").split():
                return folder, "v2"
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return ROOT / "memory" / path.lstrip("/"), "v1"
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


@functools.cache
def unavailable() -> str | None:
    """None when a memory ceiling can be set here, else why not."""
    found = _own_group()
    if found is None:
        return "this system has no memory control group for this process"
    folder, _ = found
    if not os.access(folder, os.W_OK):
        return f"no write access to {folder} (grade as root, or delegate that control group)"
    try:
        probe = MemoryCeiling(64 * 2**20)
    except OSError as error:
        return f"a control group could not be made in {folder}: {error}"
    probe.close()
    return None


class MemoryCeiling:
    """A fresh control group whose processes may hold ``limit`` bytes of memory together.

    Start a process inside it with :meth:`command` (race-free: it joins before it runs), read
    :meth:`oom_kills` to know whether the ceiling ended a process, and :meth:`close` it (any
    process still inside is killed). Raises ``OSError`` where it cannot be made."""

    def __init__(self, limit: int) -> None:
        found = _own_group()
        if found is None:
            raise OSError("no memory control group for this process")
        parent, self.version = found
        self.limit = limit
        self.folder = parent / f"workshop-{uuid.uuid4().hex[:12]}"
        self.folder.mkdir()
        try:
            if self.version == "v2":
                (self.folder / "memory.max").write_text(str(limit))
                swap = self.folder / "memory.swap.max"
                if swap.exists():
                    swap.write_text("0")
            else:
                (self.folder / "memory.limit_in_bytes").write_text(str(limit))
                swap = self.folder / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    swap.write_text(str(limit))
        except OSError:
            self.folder.rmdir()
            raise

    def command(self, command: list[str]) -> list[str]:
        """``command`` run by a shell that first moves itself into this group."""
        procs = self.folder / "cgroup.procs"
        return ["/bin/sh", "-c", f'echo $$ > "{procs}" && exec "$@"', "sh", *command]

    def oom_kills(self) -> int:
        """How many processes the ceiling has ended so far."""
        name = "memory.events" if self.version == "v2" else "memory.oom_control"
        for line in _read(self.folder / name).splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def pids(self) -> list[int]:
        return [int(pid) for pid in _read(self.folder / "cgroup.procs").split()]

    def close(self) -> None:
        """Kill what is still inside and remove the group."""
        for _ in range(50):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)
        with contextlib.suppress(OSError):  # a process its parent has not reaped yet
            self.folder.rmdir()

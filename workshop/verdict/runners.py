"""The judge's handle on a runner process: start it, send the submission, call, stop it.

Every reply is checked against a deadline, so an answer that hangs fails its check instead of
stalling the grading run, and ``close`` ends the runner with everything it started (pool
workers, engines), which live in the runner's own session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from workshop.verdict import wire

DEFAULT_TIMEOUT = 120.0  # seconds one request may take


@dataclass(frozen=True)
class Returned:
    """What a call in the runner returned, as plain data, and its type's name."""

    value: Any
    type: str


@dataclass(frozen=True)
class Raised:
    """The exception a call in the runner raised: its class name, its classes' names, message."""

    name: str
    classes: tuple[str, ...]
    message: str

    def is_a(self, name: str) -> bool:
        return name in self.classes

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


class RunnerGone(AssertionError):
    """The runner died or missed its deadline: the answer under test failed."""


class RunnerProcess:
    """A fresh ``python -I -m workshop.verdict.runner`` in its own session and folder."""

    def __init__(self, env: dict[str, str] | None = None, network: bool = False) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="workshop-runner-"))
        self.log = open(self.folder / "runner.log", "w+b")  # noqa: SIM115 (closed in close())
        environment = {**(os.environ if env is None else env), **runner_threads()}
        command, environment = _confined(
            [sys.executable, "-I", "-m", "workshop.verdict.runner"],
            self.folder,
            environment,
            network,
        )
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=self.folder,
            env=environment,
            start_new_session=True,
        )
        self.psutil = _runner_process(psutil.Process(self.process.pid))

    # ------------------------------------------------------------------ requests

    def request(self, *request: Any, timeout: float = DEFAULT_TIMEOUT) -> dict:
        if self.process.poll() is not None:
            raise RunnerGone(f"the process running the answers has ended{self._tail()}")
        wire.send_request(self.process.stdin, request)
        box: dict[str, Any] = {}

        def read() -> None:
            try:
                box["reply"] = wire.receive_reply(self.process.stdout)
            except Exception as error:
                box["error"] = error

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if reader.is_alive():
            self.close()
            raise RunnerGone(
                f"the answer did not finish {request[0]!r} within {timeout:g} s and was stopped"
            )
        if "error" in box:
            self.close()
            raise RunnerGone(
                f"the process running the answers failed: {box['error']}{self._tail()}"
            )
        return box["reply"]

    def cells(self, sources: list[str], timeout: float = 600.0) -> list[dict]:
        """Run cells (set-up, then answers) in order; the errors they raised."""
        return self.request("cells", list(sources), timeout=timeout)["errors"]

    def call(self, target: str, *args: Any, timeout: float = DEFAULT_TIMEOUT, **kwargs: Any):
        """``target(*args, **kwargs)`` in the runner: ``Returned`` or ``Raised``."""
        return _outcome(self.request("call", target, args, kwargs, timeout=timeout))

    def run(self, code: str, expression: str, timeout: float = DEFAULT_TIMEOUT):
        """Execute ``code`` (the judge's) in the runner, then return ``expression``'s value."""
        return _outcome(self.request("run", code, expression, timeout=timeout))

    def store(self, key: str, *args: Any, **kwargs: Any) -> None:
        self.request("store", key, args, kwargs)

    def repeat(self, target: str, key: str, number: int, timeout: float = DEFAULT_TIMEOUT):
        """Call ``target`` on the stored arguments ``number`` times; the wall time the judge saw,
        or ``Raised``."""
        started = time.perf_counter()
        reply = self.request("repeat", target, key, number, timeout=timeout)
        seconds = time.perf_counter() - started
        return _outcome(reply) if "raised" in reply else seconds

    def memory(self, target: str, key: str, budget: int, timeout: float = DEFAULT_TIMEOUT) -> dict:
        return self.request("memory", target, key, budget, timeout=timeout)

    # ------------------------------------------------------------------ the process tree

    def descendants(self) -> list[psutil.Process]:
        try:
            return self.psutil.children(recursive=True)
        except psutil.Error:
            return []

    def close(self) -> None:
        """Stop the runner and everything it started; safe to call twice."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        doomed = [self.psutil, *self.descendants()]
        try:
            if self.process.poll() is None:
                wire.send_request(self.process.stdin, ("exit",))
                self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # its session: pool workers, engines
        for process in doomed:  # and any that left the session
            with contextlib.suppress(psutil.Error):
                process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        self.log.close()

    def _tail(self) -> str:
        try:
            self.log.flush()
            text = (self.folder / "runner.log").read_bytes()[-800:].decode(errors="replace")
        except OSError:
            return ""
        return f"; it wrote: {text.strip()}" if text.strip() else ""

    def __enter__(self) -> RunnerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def runner_threads() -> dict[str, str]:
    """A runner's thread settings: BLAS on one thread (the checks time the learner's code, not
    OpenBLAS's pool), and Numba allowed at least 2 threads, which the checks of parallel answers
    ask for even on a one-CPU machine (where the threads share the CPU: slower, still right).
    Numba's own default is the number of usable CPUs, or ``NUMBA_NUM_THREADS`` when set."""
    chosen = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = int(chosen) if chosen.isdigit() else usable or 1
    return {"OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": str(max(2, threads))}


def _confined(
    command: list[str], folder: Path, env: dict[str, str], network: bool = False
) -> tuple[list[str], dict[str, str]]:
    """``command`` inside the grading sandbox (``workshop.sandbox``, bubblewrap) where the
    package has one and it works here; as it is otherwise (the learner's own machine). The
    runner runs submitted code, so it gets the same confinement as a grading kernel, and the
    host's network only for a unit whose notebook declares it (``network: "host"``)."""
    from workshop import sandbox

    if os.environ.get("WORKSHOP_UNSAFE_NO_SANDBOX") or sandbox.unavailable():
        return command, env
    folder.chmod(0o777)  # the sandbox may run it as an unprivileged user
    confined = sandbox.sandbox_command(
        command,
        work=folder,
        read_only=sandbox.environment_paths(),
        network=network,
        env={**sandbox.kernel_environment(folder), **runner_threads()},
    )
    return confined, env


def _runner_process(started: psutil.Process, wait: float = 30.0) -> psutil.Process:
    """The runner's own Python process: ``started`` itself, or below it in a sandbox."""
    deadline = time.monotonic() + wait
    while True:
        for process in [started, *_children(started)]:
            if _is_runner(process):
                return process
        if time.monotonic() > deadline:
            return started
        time.sleep(0.02)


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


def _is_runner(process: psutil.Process) -> bool:
    try:
        return process.name() != "bwrap" and process.cmdline()[-2:] == [
            "-m",
            "workshop.verdict.runner",
        ]
    except psutil.Error:
        return False


def _outcome(reply: dict):
    if "raised" in reply:
        return Raised(reply["raised"], tuple(reply.get("mro", ())), reply.get("message", ""))
    return Returned(wire.decode(reply["value"]), reply["type"])

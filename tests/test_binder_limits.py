"""The workshop under Binder's limits: one CPU, small mode, and a memory ceiling of 1.5 GB.

Every kernel here is started from a thread pinned to one CPU, so the kernel and everything it
starts (engines, the controller, process pools) inherit that affinity, as in a Binder container;
the environment is what ``binder/start`` exports there. The solution notebooks run side by side,
one per usable CPU, each kernel on its own CPU (as two Binder containers on one host would).
Memory is the sum over this process (standing in for the Jupyter server) and the kernel with all
its descendants, sampled while the cells run: RSS counts shared pages once per process, PSS
shares them out and is what the container really holds, USS is what each process holds alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nbformat
import psutil
import pytest

from workshop.autograde import HeadlessNotebookClient as NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted(ROOT.glob("solutions/*/*.ipynb"))
MEMORY_LIMIT = 1.5e9  # bytes: what the workshop may use on Binder (which gives 1-2 GB)
CELL_TIMEOUT = 300  # seconds, as nbgrader_config.py allows a cell
MAX_SIDE_BY_SIDE = 4  # solution notebooks run at once, one per CPU (each may take 1.5 GB)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity to pin one CPU"
    ),
]


@contextmanager
def pinned(cpu: int) -> Iterator[int]:
    """Pin this thread (so every process it starts from now on) to ``cpu``; restore after."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, before)


def one_cpu() -> AbstractContextManager[int]:
    """Pin this thread to the first CPU it may use."""
    return pinned(min(os.sched_getaffinity(0)))


@cache
def binder_variables() -> dict[str, str]:
    """The variables ``binder/start`` exports under one CPU (thread counts and small mode)."""
    env = {k: v for k, v in os.environ.items() if k != "WORKSHOP_CPUS"}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    with one_cpu():
        out = subprocess.run(
            [str(ROOT / "binder" / "start"), "env"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=60,
        ).stdout
    exported = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    names = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "LOKY_MAX_CPU_COUNT", "WORKSHOP_SMALL")
    return {name: exported[name] for name in names}


def binder_overrides(folder: Path) -> dict[str, str]:
    """What a kernel run from ``folder`` gets on top of this process's environment: the
    variables ``binder/start`` exports, and IPython and runtime folders of its own there (its
    cluster and connection files stay out of the user's ~/.ipython)."""
    return {
        **binder_variables(),
        "IPYTHONDIR": str(folder / ".ipython"),
        "JUPYTER_RUNTIME_DIR": str(folder / ".runtime"),
    }


def kernel_environment(folder: Path) -> dict[str, str]:
    """This process's environment as ``binder/start`` leaves it, for a kernel run from
    ``folder``."""
    env = {k: v for k, v in os.environ.items() if k != "WORKSHOP_CPUS"}
    env.update(binder_overrides(folder))
    return env


@pytest.fixture
def binder_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The variables ``binder/start`` exports under one CPU, set for kernels started here."""
    monkeypatch.delenv("WORKSHOP_CPUS", raising=False)
    for name, value in binder_overrides(tmp_path).items():
        monkeypatch.setenv(name, value)
    return binder_variables()


def _describe_process(process: psutil.Process, words: int = 6) -> str:
    try:
        return f"{process.pid} {' '.join(process.cmdline()[:words])}"
    except psutil.Error:
        return str(process.pid)


@dataclass
class Peak:
    """The largest memory total seen across one sampling run, in bytes."""

    rss: int = 0
    pss: int | None = None
    uss: int | None = None
    processes: int = 0
    breakdown: tuple[str, ...] = ()  # "<what> <MB>" per process at the peak, largest first

    def __str__(self) -> str:
        def mb(n: int | None) -> str:
            return "n/a" if n is None else f"{n / 1e6:.0f} MB"

        return (
            f"RSS {mb(self.rss)}, PSS {mb(self.pss)}, USS {mb(self.uss)} "
            f"over {self.processes} processes"
        )

    @property
    def charged(self) -> int:
        """What a container is charged: PSS where Linux reports it, else RSS (an overcount)."""
        return self.pss if self.pss is not None else self.rss


class MemorySampler(threading.Thread):
    """Samples this process, and the kernel of ``client`` with all its descendants once it has
    started, every ``interval`` seconds until stopped."""

    def __init__(self, client: NotebookClient, interval: float = 0.1) -> None:
        super().__init__(name="MemorySampler", daemon=True)
        self.client = client
        self.interval = interval
        self.peak = Peak()
        self.seen: dict[int, psutil.Process] = {}
        self._stop_event = threading.Event()
        self._kernel: psutil.Process | None = None

    def kernel(self) -> psutil.Process | None:
        """The client's kernel process, once started (None before)."""
        if self._kernel is None:
            manager = getattr(self.client, "km", None)
            pid = getattr(getattr(manager, "provisioner", None), "pid", None)
            if pid is not None:
                try:
                    self._kernel = psutil.Process(pid)
                except psutil.Error:
                    return None
        return self._kernel

    def sample(self) -> None:
        me = psutil.Process()
        processes = [me]
        kernel = self.kernel()
        if kernel is not None:
            with suppress(psutil.Error):  # the kernel has exited
                processes += [kernel, *kernel.children(recursive=True)]
        rss, pss, uss, counted = 0, 0, 0, 0
        full = True
        parts: list[tuple[int, str]] = []
        for process in processes:
            try:
                info = process.memory_full_info()
            except psutil.AccessDenied:
                full = False
                try:
                    info = process.memory_info()
                except psutil.Error:
                    continue
            except psutil.Error:  # exited between listing and reading
                continue
            self.seen.setdefault(process.pid, process)
            counted += 1
            parts.append((getattr(info, "pss", info.rss), _describe_process(process, 3)))
            rss += info.rss
            pss += getattr(info, "pss", 0)
            uss += getattr(info, "uss", 0)
            full = full and hasattr(info, "pss")
        peak = self.peak
        if (pss if full else rss) > peak.charged:
            breakdown = tuple(f"{what} {n / 1e6:.0f} MB" for n, what in sorted(parts)[::-1])
            self.peak = Peak(rss, pss if full else None, uss if full else None, counted, breakdown)

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> Peak:
        self._stop_event.set()
        self.join(10)
        self.sample()
        return self.peak

    def survivors(self) -> list[psutil.Process]:
        """Processes it saw (other than this one) that are still running."""
        alive = []
        for pid, process in self.seen.items():
            try:
                if pid != os.getpid() and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except psutil.Error:  # gone
                continue
        return alive


@dataclass
class Run:
    """One notebook run top to bottom in a kernel pinned to one CPU."""

    nb: nbformat.NotebookNode
    peak: Peak
    left: list[str]  # processes that outlived the kernel (stopped after it, then reported)
    error: BaseException | None  # what stopped the run (a cell's error, a timeout), if anything
    seconds: float

    def check(self) -> tuple[nbformat.NotebookNode, Peak]:
        """Raise what stopped the run, or fail for processes left behind; else the results."""
        if self.error is not None:
            raise self.error
        assert not self.left, "processes outlived the kernel: " + "; ".join(self.left)
        return self.nb, self.peak


def run_pinned(
    nb: nbformat.NotebookNode, folder: Path, cpu: int, env: dict[str, str] | None = None
) -> Run:
    """Run ``nb`` from ``folder`` in a kernel pinned to ``cpu`` (with ``env``, default this
    process's), sampling its memory, and stop whatever the kernel left running."""
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    sampler = MemorySampler(client)
    error: BaseException | None = None
    started = time.perf_counter()
    with pinned(cpu):
        sampler.start()
        try:
            client.execute(**({} if env is None else {"env": env}))
        except Exception as failure:  # reported by the test that reads this run
            error = failure
        finally:
            peak = sampler.stop()
            _, alive = psutil.wait_procs(sampler.survivors(), timeout=15)
            left = [_describe_process(process) for process in alive]
            for process in alive:  # stop what the kernel left behind, then fail for it
                process.kill()
    return Run(nb, peak, left, error, time.perf_counter() - started)


def execute(nb: nbformat.NotebookNode, folder: Path) -> tuple[nbformat.NotebookNode, Peak]:
    """Run ``nb`` in a kernel pinned to one CPU, from ``folder``; its peak memory with it.

    Fails if any process the kernel started outlives it (a cluster or pool left running).
    """
    return run_pinned(nb, folder, min(os.sched_getaffinity(0))).check()


@pytest.fixture(scope="module")
def solution_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Run]:
    """Every solution notebook run top to bottom on one CPU, side by side on the usable CPUs.

    Each kernel has a CPU of its own, its own copy of the unit's folder and its own IPython and
    runtime folders; a queue hands the next notebook to whichever CPU is free first.
    """
    base = tmp_path_factory.mktemp("binder")
    queue = list(SOLUTIONS)
    runs: dict[Path, Run] = {}
    lock = threading.Lock()

    def lane(cpu: int) -> None:
        while True:
            with lock:
                if not queue:
                    return
                notebook = queue.pop(0)
            folder = base / notebook.parent.name
            shutil.copytree(notebook.parent, folder)
            nb = nbformat.read(folder / notebook.name, as_version=4)
            runs[notebook] = run_pinned(nb, folder, cpu, kernel_environment(folder))

    cpus = sorted(os.sched_getaffinity(0))[:MAX_SIDE_BY_SIDE]
    lanes = [threading.Thread(target=lane, args=(cpu,), name=f"cpu{cpu}") for cpu in cpus]
    for thread in lanes:
        thread.start()
    for thread in lanes:
        thread.join()
    return runs


def report_memory(capsys: pytest.CaptureFixture[str], what: str, peak: Peak) -> None:
    with capsys.disabled():
        print(f"\n[binder limits] peak memory of {what}: {peak}")
        for line in peak.breakdown:
            print(f"    {line}")


def _stream_text(nb: nbformat.NotebookNode, marker: str) -> dict:
    """The JSON a probe cell printed after ``marker``."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(marker + " "):
                    return json.loads(line[len(marker) + 1 :])
    raise AssertionError(f"no {marker} line in the probe's outputs")


@pytest.mark.parametrize(
    "notebook",
    SOLUTIONS or [pytest.param(None, marks=pytest.mark.skip(reason="no solution notebooks yet"))],
    ids=[path.parent.name for path in SOLUTIONS] or ["none"],
)
@pytest.mark.timeout(1800)  # the first test waits for all the notebooks (solution_runs)
def test_solution_runs_on_one_cpu(notebook: Path, solution_runs: dict[Path, Run], capsys):
    """Every solution notebook passes its own tests on one CPU, in small mode, within memory."""
    run = solution_runs[notebook]
    _, peak = run.check()
    report_memory(capsys, f"{notebook.parent.name} on one CPU ({run.seconds:.0f} s)", peak)
    assert peak.charged < MEMORY_LIMIT, f"{notebook.name} used {peak} (limit 1.5 GB)"


def test_info_names_the_one_cpu(binder_env):
    with one_cpu():
        out = subprocess.run(
            [sys.executable, "-m", "workshop", "info", "--json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
    info = json.loads(out)
    assert info["usable_cores"] == 1
    logical = os.cpu_count() or 1
    if logical > 1:
        assert info["cores_reason"] == f"CPU affinity allows 1 of {logical} CPUs"
    assert info["small_mode"] is True
    assert info["numba_threads"] == 1, "NUMBA_NUM_THREADS from binder/start"


PROBE = [
    # What `workshop info` says, from inside the kernel.
    """\
import json
from workshop.hardware import report

info = report()
print("REPORT " + json.dumps({"cores": info.usable_cores, "reason": info.cores_reason,
                              "text": str(info)}))""",
    # The grading helper's speed-up check, with a parallel implementation on one core.
    """\
from functools import partial

from workshop.grading import assert_faster
from workshop.kernels import get_problem

pi = get_problem("pi")
inputs = pi.make_input(pi.small_size)
name = next(n for n in ("cython-parallel", "numba-parallel", "processes")
            if pi.implementation(n).unavailable_reason() is None)
try:
    check = assert_faster(partial(pi.implementation(name), workers=2), pi.implementation("numba"),
                          *inputs, workers=2, time_limit=10, names=(name, "numba"))
    outcome = {"mode": check.mode, "message": check.message}
except AssertionError as error:
    outcome = {"mode": "failed", "message": str(error)}
print("GRADING " + json.dumps(outcome))""",
    # The speed-up lab on the engines: the cluster starts with usable_cores() engines.
    """\
from workshop.cluster import shared_cluster
from workshop.lab import SpeedupLab

lab = SpeedupLab(problem="pi", implementation="engines")
lab.run_button.click()
result = lab.wait(240)
print("LAB " + json.dumps({
    "engines": shared_cluster().n,
    "max_workers": lab.workers.max,
    "status": lab.status.value,
    "title": lab.figure.get_suptitle(),
    "errors": [p.error for p in result.points if p.error],
    "plot": {label: [list(map(float, x)), list(map(float, y))]
             for label, (x, y) in lab.plot_data().items()},
}))""",
    "lab.close()\nshared_cluster().stop()",
]


def test_lab_grading_and_memory_on_one_cpu(binder_env, tmp_path, capsys):
    """In a kernel on one CPU: `workshop info`, the grading helper and the speed-up lab adapt,
    and the kernel with its engine cluster (1 engine, as on Binder) stays within 1.5 GB."""
    pytest.importorskip("workshop.lab", reason="workshop.lab (the speed-up lab) is not written yet")
    pytest.importorskip("workshop.cluster", reason="workshop.cluster is not written yet")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in PROBE]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb, peak = execute(nb, tmp_path)
    report_memory(capsys, "a kernel with its engine cluster (1 engine) during a sweep", peak)

    info = _stream_text(nb, "REPORT")
    assert info["cores"] == 1
    if (os.cpu_count() or 1) > 1:
        assert "CPU affinity allows 1 of" in info["reason"]
    assert "one usable core cannot show a parallel speed-up" in info["text"]

    grading = _stream_text(nb, "GRADING")
    if grading["mode"] == "failed":  # too much overhead: the message must still say why
        assert "too slow even allowing for no free core" in grading["message"], grading["message"]
    else:
        assert grading["mode"] == "overhead", grading
    assert "only 1 usable core" in grading["message"]
    assert "no speed-up can show here" in grading["message"]

    lab = _stream_text(nb, "LAB")
    assert lab["engines"] == 1
    assert lab["max_workers"] == 1
    assert not lab["errors"], lab["errors"]
    assert "cannot show a speed-up" in lab["status"], lab["status"]
    assert "cannot show a speed-up" in lab["title"], lab["title"]
    workers, times = lab["plot"]["time"]
    assert workers == [1.0] and times[0] > 0

    assert peak.charged < MEMORY_LIMIT, f"the workshop used {peak} (limit 1.5 GB)"
    assert peak.processes >= 4, f"expected test, kernel, controller and engine: {peak}"

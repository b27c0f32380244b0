"""Numba's process-wide state: concurrent parallel calls, the thread limit, the cache folder.

Each case runs in a fresh interpreter, because Numba picks its threading layer and its cache
folder once per process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from workshop.kernels import threads

ROOT = Path(__file__).resolve().parents[1]
NO_LAYER = 3  # exit status of the script below when Numba has no such threading layer here

TWO_THREADS = textwrap.dedent(
    """
    import sys
    import threading

    import numba

    from workshop.kernels import get_problem

    problem = get_problem("pi")
    parallel = problem.implementations["numba-parallel"]
    inputs = problem.make_input(200_000)
    try:
        parallel(*inputs, workers=2)  # loads the threading layer asked for
    except ValueError as exc:
        if "threading layer" in str(exc):
            print(exc)
            sys.exit({no_layer})
        raise
    print("layer", numba.threading_layer())


    def sweep():
        for _ in range(30):
            parallel(*inputs, workers=2)


    worker = threading.Thread(target=sweep)
    worker.start()
    for _ in range(30):
        parallel(*inputs, workers=2)
    worker.join()
    print("survived")
    """
).format(no_layer=NO_LAYER)


def run_python(code: str, env: dict[str, str], **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
        check=False,
        **options,
    )


@pytest.mark.parametrize("layer", ["workqueue", "omp", "tbb"])
def test_parallel_calls_from_two_threads_never_kill_the_process(layer):
    """The lab sweeps in its thread while the notebook calls the same kernel (case: engine/)."""
    env = {**os.environ, "NUMBA_THREADING_LAYER": layer, "NUMBA_NUM_THREADS": "2"}
    env.pop("NUMBA_CACHE_DIR", None)
    done = run_python(TWO_THREADS, env)
    if done.returncode == NO_LAYER:
        pytest.skip(f"Numba has no {layer} threading layer here: {done.stdout.strip()}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"layer {layer}" in done.stdout and "survived" in done.stdout


FIRST_LAYER = textwrap.dedent(
    """
    import numba

    from workshop.kernels import get_problem

    problem = get_problem("mandelbrot")
    problem.implementations["numba-dynamic"](*problem.make_input(64), workers=1)
    print(numba.threading_layer())
    """
)


@pytest.mark.skipif(
    not (Path(sys.prefix) / "lib" / "libtbb.so.12").is_file(),
    reason="no TBB in this environment's lib folder (pip install tbb)",
)
def test_numba_finds_the_tbb_that_pip_installed():
    """Unhelped, Numba's TBB layer does not load from pip's wheel and Numba falls back to
    OpenMP, where the dynamic schedule's chunk size does nothing."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("NUMBA_THREADING_LAYER", "LD_LIBRARY_PATH")
    }
    done = subprocess.run(
        [sys.executable, "-c", FIRST_LAYER], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "tbb", done.stdout + done.stderr
    assert threads.load_pip_tbb(Path(tempfile.mkdtemp())) is None  # nothing there to load


def test_the_lock_is_reentrant_and_released():
    import numba

    with threads.numba_threads(1), threads.numba_threads(1):
        assert numba.get_num_threads() == 1
    assert threads.PARALLEL_LOCK.acquire(blocking=False)
    threads.PARALLEL_LOCK.release()


def test_more_workers_than_numba_threads_says_how_to_allow_more():
    limit = threads.thread_limit()
    too_many = threads.numba_threads(limit + 1)
    with pytest.raises(ValueError, match=rf"\[1, {limit}\].*NUMBA_NUM_THREADS"), too_many:
        pass


def test_cache_folder_falls_back_when_sources_and_home_are_read_only(monkeypatch, tmp_path):
    import numba

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    seen: list[Path] = []

    def read_only_but_temporary(folder: Path) -> bool:
        seen.append(folder)
        return "workshop-numba-cache" in folder.name

    folder = threads.ensure_cache_dir(
        tmp_path / "site-packages" / "workshop" / "kernels",
        writable=read_only_but_temporary,
        user_cache=lambda: tmp_path / "home" / ".cache" / "numba",
    )
    assert folder is not None and "workshop-numba-cache" in folder.name
    assert os.environ["NUMBA_CACHE_DIR"] == str(folder) == numba.config.CACHE_DIR
    assert seen[:2] == [
        tmp_path / "site-packages" / "workshop" / "kernels" / "__pycache__",
        tmp_path / "home" / ".cache" / "numba",
    ]


def test_cache_folder_is_left_alone_when_numba_can_write(monkeypatch, tmp_path):
    import numba

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    assert threads.ensure_cache_dir(tmp_path, user_cache=lambda: tmp_path / "home") is None
    assert "NUMBA_CACHE_DIR" not in os.environ
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert threads.ensure_cache_dir(tmp_path, writable=lambda _: False) is None


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to become another user"
)
def test_kernels_import_for_a_user_who_can_write_neither_install_nor_home():
    """A shared install and a read-only home: the import used to fail with 'no locator'."""
    nobody = 65534
    tmp_path = Path(tempfile.mkdtemp(prefix="numba-cache-test-"))  # reachable by nobody
    become = ["setpriv", f"--reuid={nobody}", f"--regid={nobody}", "--clear-groups"]
    probe = subprocess.run(
        [*become, sys.executable, "-c", "import numba, workshop"],
        capture_output=True,
        cwd="/",
        timeout=120,
        check=False,
    )
    if probe.returncode != 0:  # e.g. a checkout under /root: nobody cannot even read it
        pytest.skip("the checkout or its environment is not readable by other users")
    code = (
        "import numba, os\n"
        "from workshop.kernels import get_problem\n"
        "p = get_problem('pi')\n"
        "print(p.implementations['numba'](*p.make_input(1000)))\n"
        "print('cache', numba.config.CACHE_DIR)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(HOME="/nonexistent", TMPDIR=str(tmp_path), PYTHONDONTWRITEBYTECODE="1")
    tmp_path.chmod(0o777)
    try:
        done = subprocess.run(
            [*become, sys.executable, "-c", code],
            capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"cache {tmp_path}" in done.stdout

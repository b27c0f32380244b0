"""Numba's process-wide state for the ``numba-parallel`` implementations: threads, a lock, a cache.

* Numba starts ``NUMBA_NUM_THREADS`` threads once per process; a call may use fewer, never more
  (``thread_limit``).
* Numba's ``workqueue`` threading layer, the one it falls back to without OpenMP or TBB (as on
  many macOS installs), aborts the whole process when two threads call parallel code at once,
  which in Jupyter is a dead kernel: the speed-up lab measures in a worker thread while the
  learner runs cells. Every parallel call of the workshop's kernels therefore holds one
  process-wide lock (``PARALLEL_LOCK``); learners may hold it around their own ``prange`` calls.
* ``cache=True`` kernels need a writable cache folder: next to the sources, else the user's cache
  folder. Where both are read-only (a shared install, a read-only home), ``ensure_cache_dir``
  points Numba at a private temporary folder instead of letting the import fail with "no locator
  available". The kernel modules import this module before they define a kernel.
* Numba's TBB threading layer is the one that honours ``parallel_chunksize`` (rows handed out a
  few at a time, for uneven work such as Mandelbrot's) and lets threads call parallel code at
  once. pip's ``tbb`` wheel puts ``libtbb.so.12`` in the environment's ``lib`` folder, where the
  dynamic loader does not look, so Numba silently falls back to OpenMP; ``load_pip_tbb`` loads
  it by path first, on import of this module.
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PARALLEL_LOCK", "ensure_cache_dir", "load_pip_tbb", "numba_threads", "thread_limit"]

#: Held by every parallel Numba call the workshop makes (re-entrant: nesting is fine).
PARALLEL_LOCK = threading.RLock()
CACHE_VARIABLE = "NUMBA_CACHE_DIR"


def thread_limit() -> int:
    """The most threads a Numba parallel call may use in this process (``NUMBA_NUM_THREADS``)."""
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)


@contextmanager
def numba_threads(workers: int) -> Iterator[None]:
    """Run the body alone (``PARALLEL_LOCK``) with ``workers`` Numba threads, then restore.

    ValueError when ``workers`` is above ``thread_limit()``, saying how to allow more.
    """
    import numba

    limit = thread_limit()
    if not 1 <= workers <= limit:
        raise ValueError(
            f"workers must be in [1, {limit}] for Numba: this process started Numba with "
            f"NUMBA_NUM_THREADS={limit} threads; set the NUMBA_NUM_THREADS environment variable "
            "before Python starts to allow more"
        )
    with PARALLEL_LOCK:
        previous = numba.get_num_threads()
        numba.set_num_threads(workers)
        try:
            yield
        finally:
            numba.set_num_threads(previous)


def _writable(folder: Path) -> bool:
    """True when a file can be created in ``folder`` (made if missing), as Numba will try."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


def _user_cache_dir() -> Path:
    from numba.misc.appdirs import user_cache_dir

    return Path(user_cache_dir(appname="numba", appauthor=False))


def _private_temporary_folder() -> Path:
    """``<tmp>/workshop-numba-cache-<uid>``, owned by this user (kept between sessions), or a
    fresh folder where that name is taken by someone else."""
    if hasattr(os, "getuid"):
        folder = Path(tempfile.gettempdir()) / f"workshop-numba-cache-{os.getuid()}"
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            info = folder.lstat()
            if info.st_uid == os.getuid() and not folder.is_symlink() and _writable(folder):
                return folder
        except OSError:
            pass
    return Path(tempfile.mkdtemp(prefix="workshop-numba-cache-"))


def ensure_cache_dir(
    sources: Path | None = None,
    *,
    writable: Callable[[Path], bool] = _writable,
    user_cache: Callable[[], Path] = _user_cache_dir,
) -> Path | None:
    """Give Numba a writable cache folder when neither of its own choices is writable.

    Numba caches next to the sources (``sources/__pycache__``), else in the user's cache folder.
    When ``NUMBA_CACHE_DIR`` is unset and neither is writable, set it (for this process and the
    workers it starts) to a private folder under the temporary directory, and return that folder;
    otherwise return None and change nothing.
    """
    import numba

    if os.environ.get(CACHE_VARIABLE) or numba.config.CACHE_DIR:
        return None
    sources = sources or Path(__file__).parent
    if writable(sources / "__pycache__") or writable(user_cache()):
        return None
    folder = _private_temporary_folder()
    os.environ[CACHE_VARIABLE] = str(folder)
    numba.config.CACHE_DIR = str(folder)
    return folder


ensure_cache_dir()


def load_pip_tbb(prefix: Path | None = None) -> Path | None:
    """Load ``<prefix>/lib/libtbb.so.12`` (default: this environment's), so that Numba's TBB
    threading layer finds it where pip's ``tbb`` wheel put it; return its path, or None where
    there is none (no TBB from pip or conda here, not Linux, or the library does not load).

    Numba picks its threading layer at the first parallel call, TBB first when it loads
    (numba.readthedocs.io, "The Threading Layers"); this must run before that call.
    """
    if not sys.platform.startswith("linux"):
        return None
    path = Path(prefix or sys.prefix) / "lib" / "libtbb.so.12"
    if not path.is_file():
        return None
    try:
        ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    except OSError:
        return None
    return path


load_pip_tbb()
